"""The model kinds: HadamRNN and the baselines it is compared with, and the options each one takes.

This is the one list of kinds. The config schema (:mod:`hadamrnn.config`), the heads
(:mod:`hadamrnn.models`, :mod:`hadamrnn.baselines`) and the results page read it. It imports
neither torch nor pydantic, so that anything may read it.

Every kind takes ``hidden_size``, ``output_bits``, ``embedding_dim``, ``embedding_dropout`` and ``embedding_init_std``.
The options of :data:`KIND_OPTIONS` apply to some kinds only; a kind that does not take one
accepts it only at its neutral value (the value that means "not used").

Example:
    >>> MODEL_KINDS
    ('hadamrnn', 'ornn', 'qornn', 'lstm', 'gru')
    >>> model_kind("qornn").required
    ('recurrent_bits',)
    >>> kind_label("hadamrnn", hidden_size=128, block_size=8)
    'Block-HadamRNN'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import ConfigError

__all__ = [
    "ModelKind",
    "KINDS",
    "MODEL_KINDS",
    "HADAMRNN",
    "BASELINE_KINDS",
    "KIND_OPTIONS",
    "BLOCK_LABEL",
    "model_kind",
    "check_kind_options",
    "kind_label",
    "recurrent_weight_bits",
]

#: The options that only some kinds take, each with its neutral value and what it sets.
KIND_OPTIONS: dict[str, tuple[Any, str]] = {
    "block_size": (None, "m, the block size of Block-HadamRNN"),
    "sign_clip": (None, "the clip of the sign STE gradient"),
    "sign_seed": (None, "the seed of the initial signs of W, apart from the training seed"),
    "backend": ("auto", "how W h is computed"),
    "recurrence": ("linear", "linear or ReLU recurrence"),
    "input_bits": (None, "the bit-width p of U"),
    "recurrent_bits": (None, "the bit-width p of W"),
}


@dataclass(frozen=True)
class ModelKind:
    """One model kind.

    Attributes:
        name: the value of ``model.kind``.
        label: the name shown in tables and figures.
        description: one line on what its recurrent cell is.
        cell: ``"hadamard"`` (:class:`~hadamrnn.layers.HadamRNN`), ``"orthogonal"``
            (:class:`~hadamrnn.baselines.OrthogonalRNN`) or ``"gated"``
            (:class:`~hadamrnn.baselines.GatedRNN`).
        options: the options of :data:`KIND_OPTIONS` that it takes.
        required: the options it cannot do without.
        float_by_default: whether ``U`` and ``V`` default to float (else to ``recurrent_bits``
            when it takes them, else to the schema's default).
        hadamard_sizes: whether ``hidden_size`` must be the order of a Hadamard matrix the library
            builds (:func:`hadamrnn.hadamard.check_hidden_size`); other kinds take any positive size.
        recurrent_bits: the bit-width of ``W`` when it is fixed (1 for the signs of HadamRNN);
            None when ``W`` is float or its bit-width is the option ``recurrent_bits``.
    """

    name: str
    label: str
    description: str
    cell: str
    options: tuple[str, ...]
    required: tuple[str, ...] = ()
    float_by_default: bool = False
    hadamard_sizes: bool = False
    recurrent_bits: int | None = None

    def takes(self, option: str) -> bool:
        """Whether ``option`` (a key of :data:`KIND_OPTIONS`) applies to this kind."""
        return option in self.options


HADAMRNN = "hadamrnn"

#: Every kind, in the order tables list them.
KINDS: dict[str, ModelKind] = {
    kind.name: kind
    for kind in (
        ModelKind(
            HADAMRNN,
            "HadamRNN",
            "binary W = diag(u) S_n/sqrt(n), or Block-HadamRNN with block_size",
            "hadamard",
            ("block_size", "sign_clip", "sign_seed", "backend", "recurrence", "input_bits"),
            hadamard_sizes=True,
            recurrent_bits=1,
        ),
        ModelKind("ornn", "ORNN", "float orthogonal W", "orthogonal", ("recurrence", "input_bits"), float_by_default=True),
        ModelKind(
            "qornn",
            "QORNN",
            "p-bit quantized orthogonal W",
            "orthogonal",
            ("recurrence", "input_bits", "recurrent_bits"),
            required=("recurrent_bits",),
        ),
        ModelKind("lstm", "LSTM", "one float LSTM layer, with its own gates", "gated", (), float_by_default=True),
        ModelKind("gru", "GRU", "one float GRU layer, with its own gates", "gated", (), float_by_default=True),
    )
}
MODEL_KINDS = tuple(KINDS)
BASELINE_KINDS = tuple(name for name in KINDS if name != HADAMRNN)

#: The label of HadamRNN with a block size below the hidden size.
BLOCK_LABEL = "Block-HadamRNN"


def model_kind(name: str, kinds: tuple[str, ...] = MODEL_KINDS) -> ModelKind:
    """The kind called ``name``; raises :class:`ConfigError` unless it is one of ``kinds``."""
    if name not in kinds:
        raise ConfigError(f"kind must be one of {kinds}, got {name!r}")
    return KINDS[name]


def _kinds_taking(option: str) -> str:
    names = [f"{name!r}" for name, kind in KINDS.items() if kind.takes(option)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"


def _how_to_leave_out(neutral: Any) -> str:
    # A config file cannot write None: there, leaving the key out is the only way to say it.
    return "omit it" if neutral is None else f"omit it or set it to {neutral!r}"


def check_kind_options(kind: str, options: Mapping[str, Any], prefix: str = "") -> None:
    """Refuse an option that ``kind`` does not take unless it is neutral, and a required one left out.

    ``options`` maps keys of :data:`KIND_OPTIONS` to values (any subset); ``prefix`` goes before
    each key in the message (``"model."`` for a config).

    Raises:
        ConfigError: naming the key, its value and the kinds it applies to.
    """
    spec = model_kind(kind)
    for option, value in options.items():
        neutral, meaning = KIND_OPTIONS[option]
        if option in spec.required and value is None:
            raise ConfigError(f"{prefix}{option} is required with kind={kind!r} ({meaning}), got None")
        if not spec.takes(option) and value != neutral:
            raise ConfigError(
                f"{prefix}{option}={value!r} applies only to kind {_kinds_taking(option)}, got kind={kind!r} "
                f"({spec.description}); {_how_to_leave_out(neutral)}"
            )


def kind_label(kind: str, hidden_size: int, block_size: int | None = None) -> str:
    """The name of a model in tables: its kind's label, or ``Block-HadamRNN`` for ``m < n``."""
    spec = KINDS.get(kind)
    if spec is None:
        return kind
    if spec.takes("block_size") and block_size is not None and block_size < hidden_size:
        return BLOCK_LABEL
    return spec.label


def recurrent_weight_bits(kind: str, options: Mapping[str, Any]) -> int | None:
    """The bit-width of ``W`` for a model of ``kind`` with ``options`` (a model config); None for float."""
    spec = KINDS[kind]
    if spec.takes("recurrent_bits"):
        return options.get("recurrent_bits")
    return spec.recurrent_bits
