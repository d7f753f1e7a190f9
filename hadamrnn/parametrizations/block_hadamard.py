"""Block-HadamRNN: ``W(u) = diag(u) (I_q ⊗ H_m) / √m``, a sparse ternary orthogonal matrix.

Only the latent sign vector ``ũ`` (shape ``(n,)``) is stored; ``u = ste_sign(ũ)``. The pattern
``I_q ⊗ S_m`` and ``W`` itself are built only when asked for (``n²`` entries each), never kept: a
layer costs ``O(n)`` memory, and the recurrence applies ``W`` matrix-free. The entries of
``W`` lie in ``{0, ±1/√m}``, each row and column has ``m`` non-zeros (density ``m/n``), and ``W`` is
orthogonal for every ``u`` because ``(I_q ⊗ H_m)(I_q ⊗ H_m)ᵀ = m I``. ``H_m`` is the Hadamard
matrix of the core (:func:`hadamrnn.core.matrices.hadamard`): the Sylvester ``S_m`` for ``m = 2^j``,
``H_r ⊗ S_{2^j}`` with a Paley base matrix ``H_r`` for ``m = r · 2^j`` (``24 = 12 · 2``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.nn.utils import parametrize

from ..errors import ShapeError
from ..core import base_construction, check_block_size, check_hidden_size, hadamard_scale, split_order
from ..hadamard import block_hadamard
from ..quantizers import ste_sign

__all__ = ["BlockHadamard", "block_hadamard_"]


def orthogonality_tolerance(n: int, dtype: torch.dtype) -> float:
    """The float tolerance policy of the library: ``10 · n · eps(dtype)``, used with rtol = 0."""
    return 10 * n * torch.finfo(dtype).eps


class BlockHadamard(nn.Module):
    """Parametrization ``ũ ↦ diag(ste_sign(ũ)) (I_{n/m} ⊗ H_m) / √m``.

    Args:
        n: hidden size, a supported order ``r · 2^k`` (:func:`hadamrnn.core.orders.check_hidden_size`).
        block_size: ``m``, the size of each Hadamard block, a supported order dividing ``n``
            (:func:`hadamrnn.core.orders.check_block_size`); None means ``m = n``.
        clip: optional clip of the sign's straight-through gradient.

    Shapes:
        latent ``(n,)`` → weight ``(n, n)``.
    """

    def __init__(self, n: int, block_size: int | None = None, clip: float | None = None):
        super().__init__()
        # The one check of n and m: HadamRNN and the registrars below pass them on unchecked.
        self.n = check_hidden_size(n)
        self.block_size = check_block_size(n, block_size)
        self.clip = clip
        self.scale = hadamard_scale(self.block_size)
        # r and 2^j of m = r · 2^j: each block is H_r ⊗ S_{2^j} (r = 1: Sylvester alone).
        self.base_order, self.sylvester_order = split_order(self.block_size, "block_size")

    def pattern_like(self, reference: torch.Tensor) -> torch.Tensor:
        """``I_{n/m} ⊗ H_m`` (entries 0, ±1), ``(n, n)``, in the dtype and on the device of ``reference``.

        Built on each call and not kept: ``n²`` entries are 1 GiB of int32 at ``n = 16384``, and
        neither training nor inference needs them (they apply ``W`` matrix-free).
        """
        return block_hadamard(self.n, self.block_size, dtype=reference.dtype, device=reference.device)

    @property
    def pattern(self) -> torch.Tensor:
        """``I_{n/m} ⊗ H_m`` as an int8 ``(n, n)`` tensor on the CPU, built on demand."""
        return block_hadamard(self.n, self.block_size, dtype=torch.int8)

    def signs(self, latent: torch.Tensor) -> torch.Tensor:
        """The ±1 sign vector ``u = ste_sign(ũ)`` (differentiable through the STE)."""
        return ste_sign(latent, self.clip)

    def matrix_from_signs(self, u: torch.Tensor) -> torch.Tensor:
        return u[:, None] * (self.pattern_like(u) * self.scale)

    def forward(self, latent: torch.Tensor) -> torch.Tensor:
        if latent.shape != (self.n,):
            raise ShapeError(f"expected a latent sign vector of shape ({self.n},), got {tuple(latent.shape)}")
        return self.matrix_from_signs(self.signs(latent))

    @torch.no_grad()
    def right_inverse(self, weight: torch.Tensor) -> torch.Tensor:
        """Latent ``±1`` signs of the closest member of the family to ``weight``.

        ``argmax_u ⟨W, diag(u) P⟩ = sign(diag(W Pᵀ))`` with ``P`` the block pattern, so this is the
        exact Frobenius projection onto the family, and ``forward(right_inverse(W)) == W`` for
        every ``W`` in it.

        A latent vector of shape ``(n,)`` is returned as it is: that is what
        :class:`~hadamrnn.layers.HadamRNN` registers, so that no ``(n, n)`` weight is ever allocated.
        """
        if weight.shape == (self.n,):
            return weight
        if weight.shape != (self.n, self.n):
            raise ShapeError(f"expected a weight of shape ({self.n}, {self.n}), got {tuple(weight.shape)}")
        correlation = (weight * self.pattern_like(weight)).sum(dim=1)
        return ste_sign(correlation).detach()

    @torch.no_grad()
    def in_manifold(self, weight: torch.Tensor, eps: float | None = None) -> bool:
        """Whether ``weight`` is ``diag(u) (I ⊗ S_m)/√m`` for some ``u``: exact zero pattern, entries
        ``±1/√m`` within ``eps`` and ``WᵀW = I`` within ``eps`` (default ``10·n·eps(dtype)``)."""
        if weight.shape != (self.n, self.n) or not weight.is_floating_point():
            return False
        tol = orthogonality_tolerance(self.n, weight.dtype) if eps is None else eps
        pattern = self.pattern_like(weight)
        if not torch.equal(weight == 0, pattern == 0):
            return False
        u = self.right_inverse(weight)
        if not torch.allclose(weight, self.matrix_from_signs(u), rtol=0.0, atol=tol):
            return False
        eye = torch.eye(self.n, dtype=weight.dtype, device=weight.device)
        return torch.allclose(weight.T @ weight, eye, rtol=0.0, atol=tol)

    @torch.no_grad()
    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """A uniformly random member of the family."""
        device = generator.device if generator is not None else None
        bits = torch.randint(0, 2, (self.n,), generator=generator, device=device)
        return self.matrix_from_signs((2 * bits - 1).to(torch.get_default_dtype()))

    def base_repr(self) -> str:
        """``""``, or, for a block of order ``m = r · 2^j`` with ``r > 1``, how the block is built:
        ``", H_24=H_12 ⊗ S_2 (Paley I, q=11)"``."""
        if self.base_order == 1:
            return ""
        name, q = base_construction(self.base_order)
        return f", H_{self.block_size}=H_{self.base_order} ⊗ S_{self.sylvester_order} ({name}, q={q})"

    def extra_repr(self) -> str:
        return f"n={self.n}, block_size={self.block_size}{self.base_repr()}, clip={self.clip}"


def _register(
    module: nn.Module, name: str, make: Callable[[int], BlockHadamard]
) -> nn.Module:
    weight = getattr(module, name, None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"{type(module).__name__} has no tensor attribute {name!r}")
    if weight.ndim != 2 or weight.shape[0] != weight.shape[1]:
        raise ShapeError(
            f"{type(module).__name__}.{name} must be a square matrix, got shape {tuple(weight.shape)}"
        )
    parametrization = make(weight.shape[0]).to(weight.device)  # it checks the size
    parametrize.register_parametrization(module, name, parametrization, unsafe=True)
    return module


def block_hadamard_(
    module: nn.Module, name: str = "weight", *, block_size: int, clip: float | None = None
) -> nn.Module:
    """Constrain ``module.<name>`` (square, ``n×n``) to Block-HadamRNN matrices; returns ``module``.

    The stored parameter becomes the latent sign vector (``module.parametrizations.<name>.original``,
    shape ``(n,)``), initialised to the signs of the closest member of the family.
    """
    return _register(module, name, lambda n: BlockHadamard(n, block_size, clip))
