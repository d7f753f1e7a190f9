"""The HadamRNN heads: :class:`~hadamrnn.heads.SequenceHead` with a :class:`~hadamrnn.layers.HadamRNN` cell.

Both heads read out ``o = V · ReLU(h) + c`` with a p-bit ``V``; :func:`build_model` builds them,
or a baseline of :mod:`hadamrnn.baselines`, from a model config.
"""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from .baselines import BaselineClassifier, BaselineTagger
from .errors import ConfigError
from .heads import SequenceHead
from .kinds import HADAMRNN, model_kind
from .layers import HadamRNN
from .size import ModelSize, planned_size

__all__ = ["SequenceClassifier", "SequenceTagger", "build_model", "planned_model_size"]


# The options of both heads, written once: each public class puts them in its own docstring, so
# that help(SequenceClassifier) and the API pages list them where a user looks first.
_HEAD_OPTIONS = """
    Args:
        input_size: features of ``x``; None with ``vocab_size``.
        hidden_size: ``n``, a power of two.
        num_classes: outputs of the read-out.
        vocab_size: token ids of the embedding; None for feature inputs (no embedding).
        embedding_dim: size of the learned embedding (required with ``vocab_size``).
        embedding_dropout: dropout on the embedding output during training.
        embedding_init_std: standard deviation of the initial embedding; None keeps
            ``nn.Embedding``'s N(0, 1).
        block_size: ``m`` for Block-HadamRNN (a power of two dividing ``n``); None for full.
        recurrence: ``"linear"`` (the paper) or ``"relu"`` (vanilla ORNN).
        input_bits: bit-width ``p`` of ``U``; None keeps ``U`` in float.
        output_bits: bit-width ``p`` of ``V``; None keeps ``V`` in float.
        backend: how ``W h`` is computed: ``"auto"``, ``"reference"``, ``"dense"`` or ``"native"``
            (see :class:`~hadamrnn.layers.HadamRNN`).
        sign_clip: clip of the straight-through gradient of the signs; None for none.
        sign_seed: draws the initial signs of ``W`` from a generator of their own, seeded with
            it, after every other weight (which then stay those of the global seed); None draws
            them from the global generator with the rest.

    The latent signs are ``model.rnn.latent_signs``; to give them their own learning rate, put
    them in their own optimizer group (the trainer's ``train.sign_lr`` does).
"""


class _HadamRNNHead(SequenceHead):
    def __init__(
        self,
        input_size: int | None,
        hidden_size: int,
        num_classes: int,
        *,
        vocab_size: int | None = None, embedding_dim: int | None = None, embedding_dropout: float = 0.0,
        embedding_init_std: float | None = None,
        block_size: int | None = None,
        recurrence: str = "linear",
        input_bits: int | None = 4,
        output_bits: int | None = 4,
        backend: str = "auto",
        sign_clip: float | None = None,
        sign_seed: int | None = None,
    ):
        """A head around a :class:`~hadamrnn.layers.HadamRNN` layer; the options are those of
        :class:`SequenceClassifier` and :class:`SequenceTagger`, documented there."""
        super().__init__(
            lambda size: HadamRNN(size, hidden_size, block_size, recurrence, input_bits, backend=backend, sign_clip=sign_clip),
            input_size, hidden_size, num_classes,
            vocab_size=vocab_size, embedding_dim=embedding_dim, embedding_dropout=embedding_dropout,
            embedding_init_std=embedding_init_std, output_bits=output_bits,
        )
        if sign_seed is not None:
            self.rnn.reset_signs(torch.Generator().manual_seed(sign_seed))


class SequenceClassifier(_HadamRNNHead):
    __doc__ = f"""Many-to-one: ``o = V · ReLU(h_T) + c``, with ``h_T`` from the fused ``HadamRNN.last_state``.
{_HEAD_OPTIONS}
    Shapes:
        ``x``: ``(B, T, input_size)`` floats, or ``(B, T)`` token ids with ``vocab_size``.
        returns ``(B, num_classes)``.
    """

    many_to_many = False


class SequenceTagger(_HadamRNNHead):
    __doc__ = f"""Many-to-many: ``o_t = V · ReLU(h_t) + c`` at every step (the copy task), fused by ``HadamRNN.readout``.
{_HEAD_OPTIONS}
    Shapes:
        ``x``: ``(B, T, input_size)`` floats, or ``(B, T)`` token ids with ``vocab_size``.
        returns ``(B, T, num_classes)``.
    """

    many_to_many = True


def _recurrence_input(config, task) -> tuple[int | None, int]:
    """``(vocab_size, input size of the recurrence)`` of the head ``config`` builds for ``task``,
    after the checks that the two fit together."""
    vocab_size = getattr(task, "vocab_size", None)
    for option, neutral in (("embedding_dropout", 0.0), ("embedding_init_std", None)):
        if vocab_size is None and getattr(config, option) != neutral:
            raise ConfigError(
                f"model.{option} applies to token tasks only; task {task.name!r} has no vocabulary, "
                f"got {option}={getattr(config, option)}"
            )
    if vocab_size is not None and config.embedding_dim is None:
        raise ConfigError(f"task {task.name!r} reads token ids: model.embedding_dim is required, got None")
    return vocab_size, (config.embedding_dim if vocab_size is not None else task.input_size)


def build_model(config, task) -> nn.Module:
    """The head that fits ``task`` (tagger for many-to-many, classifier otherwise), per ``config``.

    ``config`` is a model config (:class:`~hadamrnn.config.ModelConfig`): ``config.kind`` picks
    HadamRNN or a baseline of :mod:`hadamrnn.baselines`, and each head receives the options of
    :mod:`hadamrnn.kinds` that its kind takes. Tasks with token inputs expose ``vocab_size`` and get
    an embedding of ``config.embedding_dim``.
    """
    vocab_size, _ = _recurrence_input(config, task)
    kind = model_kind(config.kind)
    if kind.name == HADAMRNN:
        head = SequenceTagger if task.many_to_many else SequenceClassifier
    else:
        head = partial(BaselineTagger if task.many_to_many else BaselineClassifier, kind.name)
    return head(
        None if vocab_size is not None else task.input_size,
        config.hidden_size,
        task.output_size,
        vocab_size=vocab_size,
        embedding_dim=config.embedding_dim if vocab_size is not None else None,
        embedding_dropout=config.embedding_dropout,
        embedding_init_std=config.embedding_init_std,
        output_bits=config.output_bits,
        **{option: getattr(config, option) for option in kind.options},
    )


def planned_model_size(config, task) -> ModelSize:
    """The size table of ``build_model(config, task)`` without building it (no tensor at all):
    :func:`hadamrnn.size.planned_size` of the config's dimensions."""
    vocab_size, input_size = _recurrence_input(config, task)
    kind = model_kind(config.kind)
    options = {option: getattr(config, option) for option in ("block_size", "input_bits", "recurrent_bits") if option in kind.options}
    return planned_size(
        kind.name,
        hidden_size=config.hidden_size,
        input_size=input_size,
        output_size=task.output_size,
        output_bits=config.output_bits,
        vocab_size=vocab_size,
        **options,
    )
