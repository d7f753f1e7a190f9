r"""Searching the signs of ``W`` before training: flips kept only when a re-fitted read-out gains.

The gradient methods (:mod:`hadamrnn.optim`) flip signs one step at a time, and each flip costs
more than it gains once ``U``, ``V`` and ``b`` have fitted ``W`` (:doc:`/guides/signs`). The
search instead scores a sign vector by what it lets a read-out learn, with the read-out fitted
afresh for every candidate:

1. the features are ``ReLU(h_T)`` of the model as it is (its initial ``U``, ``b`` and embedding)
   on ``fit`` sequences and on ``score`` sequences, which the model never trains on during the
   search;
2. a ridge regression from the standardised features to the one-hot classes is solved in closed
   form on the ``fit`` features (float64), and its mean squared error on the ``score`` features
   is the score (lower is better; the accuracy is reported beside it);
3. each proposal flips ``flips`` random signs; it is kept if the score improves, else undone.

With the linear recurrence ``h_T = \sum_k W^k (U x_{T-k} + b)``, the signs decide which
frequencies the state keeps (the eigenvalues of ``W``), so the random-feature score differs
markedly between sign vectors, and a short search moves it. Training then keeps the signs found
(``train.sign_optimizer = "search"``, the signs frozen afterwards).

Each evaluation is one forward pass of the recurrence over ``fit + score`` sequences, without
gradients, and one ``(n + 1) x (n + 1)`` solve.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from .errors import ConfigError, HadamRNNError, ShapeError
from .layers import HadamRNN

__all__ = [
    "ReadoutScore", "SignSearchResult", "check_searchable", "last_state_features", "ridge_readout_score", "search_signs",
]


@dataclass(frozen=True)
class ReadoutScore:
    """How well a ridge read-out fitted on one set of features predicts the classes of another."""

    mse: float  #: mean over samples of the squared error against the one-hot class vector
    accuracy: float  #: fraction of samples whose largest prediction is their class


@dataclass(frozen=True)
class SignSearchResult:
    """What :func:`search_signs` did."""

    evaluations: int  #: proposals scored
    accepted: int  #: proposals kept
    changed: int  #: signs that differ from the initial ones at the end
    initial: ReadoutScore  #: the score of the initial signs
    final: ReadoutScore  #: the score of the signs kept
    mse_history: list[float] = field(default_factory=list)  #: the kept score after each evaluation

    def as_dict(self) -> dict:
        return {
            "evaluations": self.evaluations,
            "accepted": self.accepted,
            "changed": self.changed,
            "initial": vars(self.initial),
            "final": vars(self.final),
            "mse_history": list(self.mse_history),
        }


def _cell_of(model: nn.Module) -> HadamRNN:
    cell = getattr(model, "rnn", None)
    if not isinstance(cell, HadamRNN) or getattr(model, "many_to_many", True):
        raise HadamRNNError(
            "the sign search scores the last state: it needs a many-to-one head with a HadamRNN cell "
            f"(a SequenceClassifier), got {type(model).__name__}"
        )
    if not cell.is_parametrized:
        raise HadamRNNError(
            "the sign search needs the Hadamard parametrization of weight_hh (latent signs), which was removed"
        )
    return cell


def check_searchable(model: nn.Module, task, options: dict) -> None:
    """Refuse, before any training, a search that cannot run: the head, the targets, the sizes.

    ``task`` is anything with ``num_batches``, ``batch`` and ``output_size`` (a
    :class:`~hadamrnn.tasks.base.Task`); ``options`` are ``TrainConfig.search_options()``.
    """
    try:
        _cell_of(model)
    except HadamRNNError as error:
        raise ConfigError(f"train.sign_optimizer='search': {error}") from None
    targets = task.batch("train", 0, 1, 0).targets
    if targets.dim() != 1 or targets.is_floating_point():
        raise ConfigError(
            "train.sign_optimizer='search' scores a classifier: it needs one integer class per sequence, "
            f"got targets of dtype {targets.dtype} and shape {tuple(targets.shape)} per batch of 1"
        )
    available = task.num_batches("train", 1)
    wanted = options["fit_sequences"] + options["score_sequences"]
    if wanted > available:
        raise ConfigError(
            f"train.search_fit_sequences + train.search_score_sequences must be at most the {available} "
            f"training sequences, got {options['fit_sequences']} + {options['score_sequences']} = {wanted}"
        )
    if options["flips"] > model.rnn.hidden_size:
        raise ConfigError(f"train.search_flips must be at most hidden_size={model.rnn.hidden_size}, got {options['flips']}")


def last_state_features(model: nn.Module, inputs: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """``ReLU(h_T)`` of a many-to-one head for every sequence of ``inputs``, float64, ``(N, n)``.

    The head's own front end (embedding) is applied; dropout is off; no gradient is formed.
    """
    cell = _cell_of(model)
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            parts = [
                torch.relu(cell.last_state(model.embed(inputs[start:start + batch_size]))).double()
                for start in range(0, inputs.shape[0], batch_size)
            ]
    finally:
        model.train(was_training)
    return torch.cat(parts)


def ridge_readout_score(
    fit_features: torch.Tensor,
    fit_targets: torch.Tensor,
    score_features: torch.Tensor,
    score_targets: torch.Tensor,
    num_classes: int,
    ridge: float = 1e-2,
) -> ReadoutScore:
    """Fit ``[standardised features, 1] -> one-hot class`` by ridge regression on the ``fit`` set
    and score it on the ``score`` set.

    The features are standardised with the ``fit`` set's mean and standard deviation, and the
    penalty is ``ridge`` times the number of ``fit`` samples (so it does not fade as the set
    grows); the bias column is penalised too, which keeps the system positive definite.
    """
    for name, features, targets in (("fit", fit_features, fit_targets), ("score", score_features, score_targets)):
        if features.dim() != 2 or targets.shape != (features.shape[0],):
            raise ShapeError(
                f"{name} features must be (N, n) with targets (N,), got {tuple(features.shape)} and {tuple(targets.shape)}"
            )
    if fit_features.shape[1] != score_features.shape[1]:
        raise ShapeError(f"fit and score features must have the same width, got {fit_features.shape[1]} and {score_features.shape[1]}")
    fit_features, score_features = fit_features.double(), score_features.double()
    mean = fit_features.mean(0)
    scale = fit_features.std(0).clamp_min(1e-12)

    def design(features: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(features.shape[0], 1, dtype=torch.float64)
        return torch.cat([(features - mean) / scale, ones], dim=1)

    fit_design, score_design = design(fit_features), design(score_features)
    one_hot = nn.functional.one_hot(fit_targets.long(), num_classes).double()
    gram = fit_design.T @ fit_design
    gram.diagonal().add_(ridge * fit_design.shape[0])
    weights = torch.linalg.solve(gram, fit_design.T @ one_hot)
    predictions = score_design @ weights
    expected = nn.functional.one_hot(score_targets.long(), num_classes).double()
    mse = (predictions - expected).pow(2).sum(1).mean().item()
    accuracy = predictions.argmax(1).eq(score_targets.long()).double().mean().item()
    return ReadoutScore(mse=mse, accuracy=accuracy)


def _flip_(latent: torch.Tensor, positions: torch.Tensor) -> None:
    """Flip ``sign(ũ)`` at ``positions``; a latent exactly 0 (whose sign is +1) becomes -1."""
    values = latent[positions]
    latent[positions] = torch.where(values == 0, torch.full_like(values, -1.0), -values)


def search_signs(
    model: nn.Module,
    fit_inputs: torch.Tensor,
    fit_targets: torch.Tensor,
    score_inputs: torch.Tensor,
    score_targets: torch.Tensor,
    *,
    num_classes: int,
    evaluations: int,
    flips: int = 4,
    ridge: float = 1e-2,
    generator: torch.Generator | None = None,
    batch_size: int = 500,
    progress: Callable[[int, ReadoutScore], None] | None = None,
) -> SignSearchResult:
    """Search the signs of the model's HadamRNN cell in place; everything else stays as it is.

    Args:
        model: a many-to-one head (:class:`~hadamrnn.models.SequenceClassifier`).
        fit_inputs, fit_targets: sequences whose features fit the ridge read-out, and their classes.
        score_inputs, score_targets: sequences the fitted read-out is scored on.
        num_classes: number of classes.
        evaluations: proposals to score.
        flips: signs flipped by each proposal.
        ridge: the ridge penalty per ``fit`` sample.
        generator: draws the proposals (seed it for a reproducible search).
        batch_size: sequences per forward pass.
        progress: called after each evaluation with its number (from 1) and the kept score.

    Returns:
        :class:`SignSearchResult`; the model's latent signs hold the signs kept.
    """
    cell = _cell_of(model)
    n = cell.hidden_size
    if not 1 <= flips <= n:
        raise HadamRNNError(f"flips must be in 1..hidden_size={n}, got {flips}")
    if evaluations < 0:
        raise HadamRNNError(f"evaluations must be >= 0, got {evaluations}")
    latent = cell.latent_signs
    initial_signs = cell.signs().detach().clone()

    def score() -> ReadoutScore:
        return ridge_readout_score(
            last_state_features(model, fit_inputs, batch_size), fit_targets,
            last_state_features(model, score_inputs, batch_size), score_targets,
            num_classes, ridge,
        )

    initial = kept = score()
    accepted, history = 0, []
    for evaluation in range(1, evaluations + 1):
        positions = torch.randperm(n, generator=generator)[:flips]
        with torch.no_grad():
            _flip_(latent, positions)
        candidate = score()
        if candidate.mse < kept.mse:
            kept, accepted = candidate, accepted + 1
        else:
            with torch.no_grad():
                _flip_(latent, positions)
        history.append(kept.mse)
        if progress is not None:
            progress(evaluation, kept)
    changed = int((cell.signs().detach() != initial_signs).sum())
    return SignSearchResult(evaluations, accepted, changed, initial, kept, history)
