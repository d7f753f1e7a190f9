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
    "hadamard_recurrence_reversible_reference",
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


def hadamard_recurrence_reversible_reference(
    x: torch.Tensor,
    h0: torch.Tensor,
    signs: torch.Tensor,
    weight_ih: torch.Tensor,
    bias: torch.Tensor | None,
    block_size: int,
    *,
    output: str = "last",
    readout_weight: torch.Tensor | None = None,
    readout_bias: torch.Tensor | None = None,
    checkpoint_interval: int | None = None,
) -> torch.Tensor:
    r"""The linear recurrence with the reversible backward, in pure torch: the readable definition of
    the native kernels' ``memory="reversible"`` and ``"checkpointed"``.

    The forward keeps only ``h_T`` and, with ``checkpoint_interval=k``, every ``h_t`` with ``t``
    a multiple of ``k``. The backward walks time downwards; since ``W`` is invertible
    (orthogonal for ``u = ±1``) and the step linear, it recomputes each state from the next,

    .. math:: h_{t-1} = W^{-1}(h_t - U x_t - b) = H^\top\bigl((h_t - U x_t - b) / u\bigr)/\sqrt m ,

    re-anchoring on the kept states, and back-propagates through one step at a time (autograd of
    that step). Memory ``O(B n)`` (``O(B n T / k)`` with checkpoints) instead of ``O(B n T)``.

    Args:
        x, h0, signs, weight_ih, bias, block_size: as in :func:`hadamard_recurrence_reference`.
        output: ``"last"`` (``h_T``, ``(B, n)``) or ``"logits"`` (``V ReLU(h_t) + c``, ``(B, T, k)``).
        readout_weight, readout_bias: ``V`` ``(k, n)`` and ``c`` ``(k,)`` or None, with ``"logits"``.
        checkpoint_interval: ``k``, or None to keep ``h_T`` alone.
    """
    if output not in ("last", "logits"):
        raise ValueError(f"output must be 'last' or 'logits', got {output!r}")
    steps = x.shape[1]
    if steps == 0:
        if output == "last":
            return h0
        return x.new_zeros(x.shape[0], 0, readout_weight.shape[0])
    interval = steps if checkpoint_interval is None else checkpoint_interval
    return _ReversibleRecurrence.apply(
        x, h0, signs, weight_ih, bias, readout_weight, readout_bias, block_size, output, interval
    )


def _kept(step: int, steps: int, interval: int) -> bool:
    """Whether the forward keeps ``h_{step+1}`` (steps counted from 0): every ``interval``-th, and the last."""
    return step % interval == interval - 1 or step == steps - 1


class _ValueOf(torch.autograd.Function):
    """``value`` in the forward, the identity to ``tensor`` in the backward: a value known more
    accurately than ``tensor`` computes it, in ``tensor``'s place in the graph."""

    @staticmethod
    def forward(ctx, tensor, value):
        return value.clone()

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _ReversibleRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x, h0, signs, weight_ih, bias, readout_weight, readout_bias, block_size, output, interval):
        gain = signs * hadamard_scale(block_size)
        projected = torch.nn.functional.linear(x, weight_ih, bias)
        kept, logits = {}, []
        h = h0
        for t, projected_t in enumerate(projected.unbind(dim=1)):
            h = fwht(h, block_size) * gain + projected_t
            if output == "logits":
                logits.append(torch.nn.functional.linear(torch.relu(h), readout_weight, readout_bias))
            if _kept(t, x.shape[1], interval):
                kept[t] = h
        ctx.save_for_backward(x, h0, signs, weight_ih, bias, readout_weight, readout_bias, *kept.values())
        ctx.kept_steps = list(kept)
        ctx.block_size, ctx.output, ctx.interval = block_size, output, interval
        return h if output == "last" else torch.stack(logits, dim=1)

    @staticmethod
    def backward(ctx, grad_output):
        x, h0, signs, weight_ih, bias, readout_weight, readout_bias, *kept_states = ctx.saved_tensors
        kept = dict(zip(ctx.kept_steps, kept_states))
        m, steps = ctx.block_size, x.shape[1]
        scale = hadamard_scale(m)
        leaves = [value.detach().requires_grad_() if value is not None else None
                  for value in (signs, weight_ih, bias, readout_weight, readout_bias)]
        signs_, weight_ih_, bias_, readout_weight_, readout_bias_ = leaves
        totals = [None] * len(leaves)
        grad_x = torch.zeros_like(x) if ctx.needs_input_grad[0] else None
        carry = grad_output if ctx.output == "last" else torch.zeros_like(h0)
        state = kept[steps - 1]
        for t in range(steps - 1, -1, -1):
            x_t = x[:, t].detach()
            with torch.no_grad():
                difference = None  # H h_{t-1} / √m where h_{t-1} is recomputed from it
                if t == 0:
                    previous = h0.detach()
                elif t - 1 in kept:
                    previous = kept[t - 1]  # re-anchor on a kept state
                else:
                    drive = torch.nn.functional.linear(x_t, weight_ih, bias)
                    difference = (state - drive) / signs
                    previous = fwht(difference, m, transpose=True) * scale
            with torch.enable_grad():
                previous_ = previous.detach().requires_grad_()
                x_t_ = x_t.requires_grad_(grad_x is not None)
                transformed = fwht(previous_, m) * scale
                if difference is not None:
                    # H h_{t-1}/√m = H Hᵀ(difference)/m = difference exactly in exact arithmetic: the
                    # gradient of the signs takes that value instead of transforming the recomputed
                    # state again (as the kernels do); the gradient to h_{t-1} still flows through
                    # the transform.
                    transformed = _ValueOf.apply(transformed, difference)
                h = transformed * signs_ + torch.nn.functional.linear(x_t_, weight_ih_, bias_)
                outputs, grads = [h], [carry]
                if ctx.output == "logits":
                    logits = torch.nn.functional.linear(torch.relu(h), readout_weight_, readout_bias_)
                    outputs.append(logits)
                    grads.append(grad_output[:, t])
                wanted = [previous_, x_t_ if grad_x is not None else previous_]
                wanted += [leaf for leaf in leaves if leaf is not None]
                found = torch.autograd.grad(outputs, wanted, grads, allow_unused=True)
            carry, grad_x_t, rest = found[0], found[1], iter(found[2:])
            if grad_x is not None and grad_x_t is not None:
                grad_x[:, t] = grad_x_t
            for i, leaf in enumerate(leaves):
                if leaf is None:
                    continue
                value = next(rest)
                if value is not None:
                    totals[i] = value if totals[i] is None else totals[i] + value
            state = previous
        return (grad_x, carry, *totals, None, None, None)
