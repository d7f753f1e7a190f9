"""The Hadamard recurrence as a function of its tensors (the reference path, pure torch).

``hadamard_recurrence`` computes, for ``t = 1..T`` (with ``x`` batch-first),

    h_t = W h_{t-1} + U x_t + b                 (recurrence="linear")
    h_t = ReLU(W h_{t-1} + U x_t + b)           (recurrence="relu")

with ``W h = u ⊙ FWHT_m(h) / √m`` applied matrix-free (``FWHT_m h = (I_{n/m} ⊗ H_m) h``,
:func:`hadamrnn.hadamard.fwht`: Walsh–Hadamard butterflies, and for ``m = r · 2^j`` the small
``r × r`` base product; autograd applies its transpose in the backward). It takes the ±1 sign vector ``u`` and the
(already quantized) ``U``, so the straight-through estimators stay with their quantizers and every
backend computes the same function with the same gradients.
"""

from __future__ import annotations

import torch

from .core import hadamard_scale
from .hadamard import fwht

__all__ = [
    "hadamard_recurrence_reference",
    "hadamard_recurrence_reference_with_last",
    "dense_recurrence",
    "dense_recurrence_with_last",
]


def hadamard_recurrence_reference_with_last(
    x: torch.Tensor,
    h0: torch.Tensor,
    signs: torch.Tensor,
    weight_ih: torch.Tensor,
    bias: torch.Tensor | None,
    block_size: int,
    recurrence: str = "linear",
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`hadamard_recurrence_reference` that also returns ``h_T`` ``(B, n)`` as a tensor of
    its own (``h0`` when ``T = 0``), with its own path in the autograd graph."""
    gain = signs * hadamard_scale(block_size)
    return _loop_with_last(x, h0, weight_ih, bias, recurrence, lambda h: fwht(h, block_size) * gain)


def dense_recurrence_with_last(
    x: torch.Tensor,
    h0: torch.Tensor,
    weight_hh: torch.Tensor,
    weight_ih: torch.Tensor,
    bias: torch.Tensor | None,
    recurrence: str = "linear",
) -> tuple[torch.Tensor, torch.Tensor]:
    """:func:`dense_recurrence` that also returns ``h_T`` as a tensor of its own."""
    weight_t = weight_hh.T
    return _loop_with_last(x, h0, weight_ih, bias, recurrence, lambda h: h @ weight_t)


def hadamard_recurrence_reference(
    x: torch.Tensor,
    h0: torch.Tensor,
    signs: torch.Tensor,
    weight_ih: torch.Tensor,
    bias: torch.Tensor | None,
    block_size: int,
    recurrence: str = "linear",
) -> torch.Tensor:
    """Run the recurrence with autograd through a Python loop of pure-torch FWHTs.

    Args:
        x: ``(B, T, d)`` inputs.
        h0: ``(B, n)`` initial state.
        signs: ``(n,)`` the ±1 vector ``u``.
        weight_ih: ``(n, d)`` the input matrix ``U``.
        bias: ``(n,)`` or None.
        block_size: ``m`` (``n`` for full HadamRNN).
        recurrence: ``"linear"`` or ``"relu"``.

    Returns:
        ``(B, T, n)``: every ``h_t``.
    """
    gain = signs * hadamard_scale(block_size)
    return _loop(x, h0, weight_ih, bias, recurrence, lambda h: fwht(h, block_size) * gain)


def dense_recurrence(
    x: torch.Tensor,
    h0: torch.Tensor,
    weight_hh: torch.Tensor,
    weight_ih: torch.Tensor,
    bias: torch.Tensor | None,
    recurrence: str = "linear",
) -> torch.Tensor:
    """The same recurrence with ``W`` materialised (``h @ Wᵀ``), as the paper's code computes it."""
    weight_t = weight_hh.T
    return _loop(x, h0, weight_ih, bias, recurrence, lambda h: h @ weight_t)


def _loop(x, h, weight_ih, bias, recurrence, apply_w) -> torch.Tensor:
    return _loop_with_last(x, h, weight_ih, bias, recurrence, apply_w)[0]


def _loop_with_last(x, h, weight_ih, bias, recurrence, apply_w) -> tuple[torch.Tensor, torch.Tensor]:
    """Every state ``(B, T, n)`` and ``h_T`` ``(B, n)`` (``h0`` when ``T = 0``) as separate tensors:
    ``h_T`` is the loop's own last tensor, not a view of the stacked states, so a loss on it alone
    back-propagates without the ``(B, T, n)`` gradient of the stack."""
    projected = torch.nn.functional.linear(x, weight_ih, bias)
    relu = recurrence == "relu"
    states = []
    # unbind, not projected[:, t]: the backward of T selects would allocate T full-size zeros.
    for projected_t in projected.unbind(dim=1):
        h = apply_w(h) + projected_t
        if relu:
            h = torch.relu(h)
        states.append(h)
    if not states:
        return x.new_zeros(x.shape[0], 0, h.shape[-1]), h
    return torch.stack(states, dim=1), h
