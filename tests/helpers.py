"""Shared test helpers: the tolerance policy lives here, once.

(A plain module, not conftest: ``tests/`` and ``property_tests/`` each have a conftest, and only
one module can be called ``conftest`` in a session.)

* ±1, integer and packed results: exact (``torch.equal``).
* Float orthogonality: ``10 · n · eps(dtype)`` absolute, ``rtol = 0``.
"""

import torch


def orthogonality_atol(n: int, dtype: torch.dtype) -> float:
    return 10 * n * torch.finfo(dtype).eps


def assert_orthogonal(weight: torch.Tensor) -> None:
    n = weight.shape[0]
    eye = torch.eye(n, dtype=weight.dtype)
    atol = orthogonality_atol(n, weight.dtype)
    torch.testing.assert_close(weight.T @ weight, eye, rtol=0.0, atol=atol)
    torch.testing.assert_close(weight @ weight.T, eye, rtol=0.0, atol=atol)


def sylvester_by_recursion(n: int) -> torch.Tensor:
    """The textbook recursion, independent of the library's closed form."""
    matrix = torch.ones(1, 1, dtype=torch.int64)
    while matrix.shape[0] < n:
        matrix = torch.cat([torch.cat([matrix, matrix], 1), torch.cat([matrix, -matrix], 1)], 0)
    return matrix


def shared_data_dir():
    """The real data sets: ``$HADAMRNN_DATA``, else a ``shared/data`` folder beside the repository
    or beside one of its parent folders (the nearest one), else None."""
    import os
    from pathlib import Path

    if os.environ.get("HADAMRNN_DATA"):
        return Path(os.environ["HADAMRNN_DATA"])
    repository = Path(__file__).resolve().parent.parent
    for folder in repository.parents:
        candidate = folder / "shared" / "data"
        if candidate.is_dir():
            return candidate
    return None
