r"""Quantizers with straight-through estimators (STE).

Each quantizer is a pure function backed by a :class:`torch.autograd.Function`, wrapped in a small
module that carries its ``bits`` and its options.

``ste_sign``
    forward :math:`q(x) = +1` if :math:`x \ge 0` else :math:`-1` (zero maps to +1, never to 0);
    pseudo-gradient :math:`\partial q/\partial x = 1`, or :math:`\mathbb{1}_{|x| \le c}` with a clip
    :math:`c`.

``uniform_quantize``
    symmetric, per-tensor, uniform, recomputed from the latent weight at every call:
    :math:`\alpha = \max|w|` (:math:`\alpha = 1` if :math:`w = 0`),
    :math:`q_p(w) = \frac{\alpha}{2^{p-1}}\,\mathrm{clamp}(\mathrm{round}(w\,2^{p-1}/\alpha),
    -2^{p-1}, 2^{p-1}-1)`; pseudo-gradient the identity (optionally clipped to :math:`|w| \le c`).
"""

from __future__ import annotations

import torch
from torch import nn

from .errors import BitsError

__all__ = [
    "ste_sign",
    "uniform_quantize",
    "quantize_to_int",
    "check_bits",
    "SignQuantizer",
    "UniformQuantizer",
    "flip_ratio",
    "MAX_BITS",
]

MAX_BITS = 16


def check_bits(bits: int, name: str = "bits") -> int:
    if isinstance(bits, bool) or not isinstance(bits, int) or not 1 <= bits <= MAX_BITS:
        raise BitsError(f"{name} must be an integer in 1..{MAX_BITS}, got {bits!r}")
    return bits


def _check_clip(clip: float | None) -> float | None:
    if clip is not None and not clip > 0:
        raise ValueError(f"clip must be a positive number or None, got {clip!r}")
    return clip


def _straight_through(grad: torch.Tensor, x: torch.Tensor, clip: float | None) -> torch.Tensor:
    if clip is None:
        return grad
    return grad * (x.abs() <= clip).to(grad.dtype)


class _SignSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, clip: float | None) -> torch.Tensor:
        ctx.clip = clip
        if clip is not None:
            ctx.save_for_backward(x)
        one = torch.ones((), dtype=x.dtype, device=x.device)
        return torch.where(x >= 0, one, -one)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x = ctx.saved_tensors[0] if ctx.clip is not None else None
        return _straight_through(grad, x, ctx.clip), None


def ste_sign(x: torch.Tensor, clip: float | None = None) -> torch.Tensor:
    """Sign with a straight-through gradient; exact zeros map to +1.

    Args:
        x: floating-point tensor.
        clip: if given, the gradient is zeroed where ``|x| > clip``.

    Example:
        >>> ste_sign(torch.tensor([-2.0, -0.0, 0.0, 3.0]))
        tensor([-1.,  1.,  1.,  1.])
    """
    return _SignSTE.apply(x, _check_clip(clip))


def quantize_to_int(
    w: torch.Tensor, bits: int, alpha: torch.Tensor | float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer codes and step of the symmetric uniform quantizer (no gradient).

    Args:
        w: the tensor to quantize.
        bits: ``p``, in 1..16.
        alpha: the range ``α``; None computes ``max |w|`` (``1`` for an all-zero ``w``), as the
            forward pass does. A fixed ``α`` is what a calibrated deployment uses.

    Returns:
        ``(codes, step)`` with ``codes`` an int32 tensor in ``[-2^(p-1), 2^(p-1) - 1]`` and ``step``
        the 0-d tensor ``α / 2^(p-1)``, so that ``uniform_quantize(w, p) == codes * step``.
    """
    check_bits(bits)
    with torch.no_grad():
        levels = 2 ** (bits - 1)
        if alpha is None:
            alpha = w.abs().max() if w.numel() else torch.zeros((), dtype=w.dtype, device=w.device)
            alpha = torch.where(alpha == 0, torch.ones_like(alpha), alpha)
        else:
            alpha = torch.as_tensor(alpha, dtype=w.dtype, device=w.device)
            if not bool(alpha > 0):
                raise ValueError(f"alpha must be positive, got {float(alpha)}")
        codes = torch.clamp(torch.round(w * levels / alpha), -levels, levels - 1)
        return codes.to(torch.int32), alpha / levels


class _UniformQuantizeSTE(torch.autograd.Function):
    @staticmethod
    def forward(ctx, w: torch.Tensor, bits: int, clip: float | None) -> torch.Tensor:
        ctx.clip = clip
        if clip is not None:
            ctx.save_for_backward(w)
        codes, step = quantize_to_int(w, bits)
        return codes.to(w.dtype) * step

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        w = ctx.saved_tensors[0] if ctx.clip is not None else None
        return _straight_through(grad, w, ctx.clip), None, None


def uniform_quantize(w: torch.Tensor, bits: int, clip: float | None = None) -> torch.Tensor:
    """Symmetric per-tensor uniform quantization to ``bits`` bits, with an identity STE.

    Example:
        >>> uniform_quantize(torch.tensor([-1.0, -0.3, 0.0, 0.6, 1.0]), bits=2)
        tensor([-1.0000, -0.5000,  0.0000,  0.5000,  0.5000])
    """
    return _UniformQuantizeSTE.apply(w, check_bits(bits), _check_clip(clip))


class SignQuantizer(nn.Module):
    """Module form of :func:`ste_sign` (1 bit)."""

    bits = 1

    def __init__(self, clip: float | None = None):
        super().__init__()
        self.clip = _check_clip(clip)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return ste_sign(x, self.clip)

    def extra_repr(self) -> str:
        return f"bits=1, clip={self.clip}"


class UniformQuantizer(nn.Module):
    """Module form of :func:`uniform_quantize`."""

    def __init__(self, bits: int, clip: float | None = None):
        super().__init__()
        self.bits = check_bits(bits)
        self.clip = _check_clip(clip)

    def forward(self, w: torch.Tensor) -> torch.Tensor:
        return uniform_quantize(w, self.bits, self.clip)

    def extra_repr(self) -> str:
        return f"bits={self.bits}, clip={self.clip}"


def flip_ratio(before: torch.Tensor, after: torch.Tensor) -> float:
    """Fraction of signs that changed between two ±1 tensors of the same shape."""
    if before.shape != after.shape:
        raise ValueError(f"shapes differ: {tuple(before.shape)} and {tuple(after.shape)}")
    if before.numel() == 0:
        return 0.0
    return float((before != after).sum()) / before.numel()
