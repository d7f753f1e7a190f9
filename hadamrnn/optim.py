r"""Learning the signs of ``W``: parameter groups, the Bop optimizer and sign-gradient transforms.

HadamRNN learns only the ``n`` signs ``u = \mathrm{sign}(\tilde u)`` of
``W(u) = \mathrm{diag}(u) S/\sqrt n``. Their straight-through gradient
``g_i = \partial L/\partial u_i`` has two parts:

* the **radial** part ``(\langle g, u\rangle / n)\, u``: ``\langle g, u\rangle = \frac{d}{ds} L(sW)|_{s=1}``
  asks to rescale ``W``, which no choice of signs can do;
* the **tangential** part ``g - (\langle g, u\rangle / n)\, u``, the rest.

A plain PyTorch loop gives the signs their own optimizer with :func:`sign_parameter_groups` (or
:func:`sign_parameters`); the trainer does the same from ``train.sign_optimizer``.

Example:
    >>> import hadamrnn
    >>> model = hadamrnn.SequenceClassifier(1, 16, 10)
    >>> signs, rest = sign_parameter_groups(model)
    >>> [p.shape for p in signs["params"]]
    [torch.Size([16])]
    >>> optimizer = torch.optim.Adam([rest], lr=1e-3)
    >>> sign_optimizer = Bop(signs["params"], gamma=1e-3, threshold=1e-6)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import torch
from torch import nn

from .layers import HadamRNN

__all__ = [
    "sign_parameters",
    "sign_parameter_groups",
    "radial_part",
    "remove_radial_",
    "Bop",
    "SIGN_OPTIMIZERS",
    "SIGN_GRADIENTS",
]

#: How the trainer updates the latent signs: ``adam`` (the paper: Adam on ``ũ`` through the STE,
#: with ``sign_lr``), ``bop`` (:class:`Bop`) or ``frozen`` (the signs keep their initial values).
SIGN_OPTIMIZERS = ("adam", "bop", "frozen")
#: What the sign optimizer receives: ``ste`` (the straight-through gradient) or ``radial_free``
#: (its tangential part, :func:`remove_radial_`).
SIGN_GRADIENTS = ("ste", "radial_free")


def sign_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The latent sign vectors ``ũ`` of every :class:`~hadamrnn.layers.HadamRNN` in ``model``."""
    return [module.latent_signs for module in model.modules() if isinstance(module, HadamRNN)]


def sign_parameter_groups(model: nn.Module, **sign_options: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(signs, rest)``: two optimizer parameter groups, the latent signs and every other parameter.

    ``sign_options`` (e.g. ``lr=1e-4``) go into the signs' group, so that one optimizer can give
    the signs their own rate: ``torch.optim.Adam([rest, signs], lr=1e-3)``; or the groups can go to
    two optimizers (e.g. :class:`Bop` for the signs).
    """
    signs = sign_parameters(model)
    ids = {id(p) for p in signs}
    return {"params": signs, **sign_options}, {"params": [p for p in model.parameters() if id(p) not in ids]}


def _signs(latent: torch.Tensor) -> torch.Tensor:
    # The sign of the forward pass: 0 maps to +1 (ste_sign), never to 0.
    return torch.where(latent >= 0, 1.0, -1.0).to(latent.dtype)


def radial_part(grad: torch.Tensor, latent: torch.Tensor) -> torch.Tensor:
    r"""``\langle g, u\rangle / n``: the derivative of the loss along ``W \mapsto sW`` at ``s = 1``, over ``n``.

    Shapes:
        ``grad``, ``latent``: ``(n,)``. Returns a 0-d tensor.
    """
    return (grad * _signs(latent)).sum() / grad.numel()


@torch.no_grad()
def remove_radial_(latent: torch.Tensor) -> torch.Tensor:
    r"""Replace ``latent.grad`` by its tangential part ``g - (\langle g, u\rangle/n)\, u``; returns it.

    The radial part only asks to rescale ``W``; ``\langle g', u\rangle = 0`` afterwards.

    Example:
        >>> latent = torch.tensor([0.5, -0.1, 0.2, 0.0], requires_grad=True)
        >>> latent.grad = torch.tensor([1.0, 1.0, 3.0, -1.0])
        >>> remove_radial_(latent)
        tensor([ 0.5000,  1.5000,  2.5000, -1.5000])
    """
    if latent.grad is None:
        raise ValueError("remove_radial_ needs latent.grad; call it after backward()")
    latent.grad.sub_(radial_part(latent.grad, latent) * _signs(latent))
    return latent.grad


class Bop(torch.optim.Optimizer):
    r"""Bop (Helwegen et al., NeurIPS 2019): flips signs directly, with no latent weight.

    For each sign ``u_i`` with gradient ``g_i``, an exponential moving average

    .. math:: m_i \leftarrow (1 - \gamma)\, m_i + \gamma\, g_i

    is kept, and ``u_i`` flips when ``|m_i| > \tau`` and ``\mathrm{sign}(m_i) = u_i`` (the gradient
    keeps pushing ``u_i`` towards ``-u_i``). With ``max_flips = k`` only the ``k`` largest ``|m_i|``
    among those may flip in one step (a flip budget). The parameter holds ``±1`` after the first
    step (``0`` reads as ``+1``, as in the forward pass).

    Args:
        params: the latent sign vectors (e.g. ``sign_parameter_groups(model)[0]["params"]``).
        gamma: ``γ`` in ``(0, 1]``, the adaptivity rate of the moving average.
        threshold: ``τ ≥ 0``.
        max_flips: the flip budget per parameter and step; None for no budget.

    Both ``gamma`` and ``threshold`` are per-group hyperparameters, so a schedule can change them
    between steps (``group["threshold"] *= factor``).
    """

    def __init__(
        self, params: Iterable[torch.Tensor] | Iterable[dict], gamma: float = 1e-4, threshold: float = 1e-8,
        max_flips: int | None = None,
    ):
        if not 0 < gamma <= 1:
            raise ValueError(f"gamma must be in (0, 1], got {gamma!r}")
        if not threshold >= 0:
            raise ValueError(f"threshold must be >= 0, got {threshold!r}")
        if max_flips is not None and (isinstance(max_flips, bool) or not isinstance(max_flips, int) or max_flips < 1):
            raise ValueError(f"max_flips must be a positive integer or None, got {max_flips!r}")
        super().__init__(params, {"gamma": gamma, "threshold": threshold, "max_flips": max_flips})

    @torch.no_grad()
    def step(self, closure=None):
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                state = self.state[p]
                if "exp_avg" not in state:
                    state["exp_avg"] = torch.zeros_like(p)
                m = state["exp_avg"]
                m.mul_(1 - group["gamma"]).add_(p.grad, alpha=group["gamma"])
                u = _signs(p)
                flip = (m.abs() > group["threshold"]) & (torch.sign(m) == u)
                budget = group["max_flips"]
                if budget is not None and int(flip.sum()) > budget:
                    strength = torch.where(flip, m.abs(), torch.zeros_like(m))
                    keep = torch.zeros(flip.numel(), dtype=torch.bool, device=flip.device)
                    keep[torch.topk(strength.flatten(), budget).indices] = True
                    flip = keep.view_as(flip)
                p.copy_(torch.where(flip, -u, u))
        return loss
