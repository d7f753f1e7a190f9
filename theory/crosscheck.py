"""Cross-checks of the PyTorch library ``hadamrnn`` against the exact matrices of this package.

torch and hadamrnn are imported inside the checks. If hadamrnn cannot be imported the claims are
SKIPPED, never passed.

This is the one module of :mod:`theory` that touches floating point, because a layer's weight is a
float tensor: √n·W is formed in float64, required to lie within 1e-9 of an integer, rounded, and
from then on compared exactly, as Python ints, with diag(u)·S.
"""

from __future__ import annotations

import math
from typing import Any

from .errors import ClaimSkipped, require
from .families import block_hadamrnn_matrix, hadamrnn_matrix
from .checks import SEED
from .sylvester import block_sylvester, powers_of_two, sylvester

ROUNDING_SLACK = 1e-9
"""How far √n·W may sit from an integer before it is rounded: float64 rounding of ±1/√n."""


def _import_library() -> Any:
    try:
        import hadamrnn
    except ImportError as error:
        raise ClaimSkipped(f"hadamrnn is not importable: {error}") from None
    return hadamrnn


def check_library_sylvester(limit: int) -> str:
    """Claim: ``crosscheck.sylvester``."""
    library = _import_library()
    for n in powers_of_two(limit):
        tensor = library.sylvester(n)
        require(str(tensor.dtype) == "torch.int64", f"sylvester({n}) has dtype {tensor.dtype}")
        require(tensor.tolist() == [list(row) for row in sylvester(n)], f"sylvester({n}) differs")
    return f"n = 1 … {max(powers_of_two(limit))}"


def check_library_block_sylvester(limit: int) -> str:
    """Claim: ``crosscheck.block_sylvester``."""
    library = _import_library()
    pairs = [(n, m) for n in powers_of_two(limit) for m in powers_of_two(n)]
    for n, m in pairs:
        tensor = library.block_sylvester(n, m)
        call = f"block_sylvester({n}, {m})"
        require(str(tensor.dtype) == "torch.int64", f"{call} has dtype {tensor.dtype}")
        require(tensor.tolist() == [list(row) for row in block_sylvester(n, m)], f"{call} differs")
    return f"{len(pairs)} pairs (n, m)"


def check_library_weight(limit: int) -> str:
    """Claim: ``crosscheck.hadamrnn_weight``."""
    library = _import_library()
    import torch

    generator = torch.Generator().manual_seed(SEED)
    # Block sizes 2 … n/2 besides the full matrix (None): m = 1, W = diag(u), is a degenerate
    # case that a library may refuse.
    cases = [
        (n, m)
        for n in powers_of_two(limit)
        if n >= 2
        for m in [None, *(m for m in powers_of_two(n // 2) if m >= 2)]
    ]
    for n, block_size in cases:
        # float64 so that √n·W lands within 1e-16 of the integers; float32 would leave ~1e-8.
        layer = library.HadamRNN(input_size=3, hidden_size=n, block_size=block_size).double()
        latent = layer.parametrizations.weight_hh.original
        with torch.no_grad():
            latent.copy_(torch.randn(latent.shape, generator=generator, dtype=latent.dtype))
        u = [int(x) for x in torch.where(latent >= 0, 1, -1).reshape(-1).tolist()]
        scale = n if block_size is None else block_size
        label = f"n={n}, block_size={block_size}"
        integers = _scaled_to_integers(layer.weight_hh, scale, label)
        if block_size is None:
            expected = hadamrnn_matrix(u)
        else:
            expected = block_hadamrnn_matrix(u, block_size)
        require(integers == [list(row) for row in expected], f"{label}: √m·W ≠ diag(u)·S")
    return f"{len(cases)} layers, full and block"


def _scaled_to_integers(weight: Any, scale: int, label: str) -> list[list[int]]:
    """√scale·W as Python ints, after requiring that it is within ROUNDING_SLACK of them."""
    scaled = weight.detach().double() * math.sqrt(scale)
    rounded = scaled.round()
    distance = (scaled - rounded).abs().max().item()
    require(distance < ROUNDING_SLACK, f"{label}: √m·W is {distance} away from an integer matrix")
    return rounded.long().tolist()
