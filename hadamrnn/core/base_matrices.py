r"""The canonical base matrices ``H_r``, one per order ``r`` in :data:`~hadamrnn.core.orders.BASE_ORDERS`.

The Hadamard matrix of a supported order ``n = r · 2^k`` is ``H_r ⊗ S_{2^k}``
(:func:`hadamrnn.core.matrices.hadamard`). ``H_r`` is fixed once and for all, so that a sign
vector ``u`` means the same ``W`` in every version of the library (a checkpoint stores ``u`` only):

* ``r = 1``: ``H_1 = [1]`` (the powers of two are Sylvester's matrices alone);
* ``r - 1`` prime: Paley I with ``q = r - 1`` (:mod:`hadamrnn.core.paley_i`);
* otherwise ``r/2 - 1`` prime (then ``r ≡ 4 mod 8``): Paley II with ``q = r/2 - 1``
  (:mod:`hadamrnn.core.paley_ii`);

each in the textbook form of its module (rows and columns in the order of the field elements
``∞, 0, 1, ..., q - 1``), then brought to **normal form** by :func:`normalize`: every column is
multiplied by the sign of its entry in row 0, then every row by the sign of its entry in column 0,
so that the first row and the first column are all ``+1``. Negating rows and columns keeps
``H Hᵀ = r I``; negating rows does not even change the family ``{diag(u) H}`` (``u`` absorbs it).

``H_12`` is Paley I of ``q = 11`` (Paley II of ``q = 5`` would also give order 12: the rule above
takes Paley I whenever it applies). Paley I matrices are not symmetric, so the transforms apply
``H_r`` in the forward pass and ``H_rᵀ`` in the backward pass; Paley II matrices are symmetric.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np

from ..errors import HiddenSizeError, ShapeError
from .jacobsthal import is_prime
from . import orders
from .paley_i import paley_i
from .paley_ii import paley_ii

__all__ = ["base_construction", "normalize", "base_matrix"]


def base_construction(r: Any) -> tuple[str, int | None]:
    """The construction of ``H_r``: ``("Sylvester", None)``, ``("Paley I", q)`` or ``("Paley II", q)``.

    Example:
        >>> base_construction(12), base_construction(28), base_construction(1)
        (('Paley I', 11), ('Paley II', 13), ('Sylvester', None))

    Raises:
        HiddenSizeError: ``r`` is not in :data:`~hadamrnn.core.orders.BASE_ORDERS`.
    """
    if isinstance(r, bool) or not isinstance(r, (int, np.integer)) or int(r) not in orders.BASE_ORDERS:
        raise HiddenSizeError(
            f"the base order must be one of BASE_ORDERS ({', '.join(map(str, orders.BASE_ORDERS))}), got {r!r}"
        )
    r = int(r)
    if r == 1:
        return "Sylvester", None
    if is_prime(r - 1):
        return "Paley I", r - 1
    if r % 8 == 4 and is_prime(r // 2 - 1):
        return "Paley II", r // 2 - 1
    raise HiddenSizeError(f"no construction of this library builds the base order {r} (BASE_ORDERS lists it)")


def normalize(matrix: Any) -> np.ndarray:
    """The normal form of a ±1 square matrix: first row and first column all ``+1``.

    Every column is multiplied by the sign of its entry in row 0, then every row by the sign of its
    entry in column 0; the dtype is kept.

    Example:
        >>> normalize(np.array([[1, -1], [-1, -1]]))
        array([[ 1,  1],
               [ 1, -1]])

    Raises:
        ShapeError: ``matrix`` is not a square matrix with ±1 in its first row and column.
    """
    matrix = np.asarray(matrix)
    if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1] or matrix.shape[0] == 0:
        raise ShapeError(f"normalize expects a non-empty square matrix, got shape {matrix.shape}")
    if not (np.isin(matrix[0], (1, -1)).all() and np.isin(matrix[:, 0], (1, -1)).all()):
        raise ShapeError("normalize expects ±1 entries in the first row and column")
    columns_fixed = matrix * matrix[0][None, :]
    return columns_fixed * columns_fixed[:, 0][:, None]


@lru_cache(maxsize=None)
def _canonical(r: int) -> np.ndarray:
    name, q = base_construction(r)
    if name == "Sylvester":
        matrix = np.ones((1, 1), dtype=np.int64)
    else:
        matrix = normalize(paley_i(q) if name == "Paley I" else paley_ii(q))
    # Every construction is checked once, exactly: a wrong base matrix would break orthogonality.
    if not np.array_equal(matrix @ matrix.T, r * np.eye(r, dtype=np.int64)):
        raise AssertionError(f"{name} did not give a Hadamard matrix of order {r}")
    frozen = matrix.astype(np.int8)
    frozen.flags.writeable = False
    return frozen


def base_matrix(r: Any, dtype: Any = np.int64) -> np.ndarray:
    """The canonical base matrix ``H_r`` (module docstring), a new ``(r, r)`` array of ``dtype``.

    Example:
        >>> h = base_matrix(12)
        >>> h[0].tolist() == h[:, 0].tolist() == [1] * 12, bool((h @ h.T == 12 * np.eye(12)).all())
        (True, True)
        >>> h[1].tolist()  # element 0 of Z/11Z: column ∞, the diagonal -1, then χ(b), b = 1, ..., 10
        [1, -1, 1, -1, 1, 1, 1, -1, -1, -1, 1, -1]

    Raises:
        HiddenSizeError: ``r`` is not in :data:`~hadamrnn.core.orders.BASE_ORDERS`.
    """
    base_construction(r)  # checks r
    return _canonical(int(r)).astype(dtype)
