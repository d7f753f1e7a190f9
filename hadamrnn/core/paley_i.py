r"""Paley's first construction: a Hadamard matrix of order ``q + 1`` for a prime ``q ≡ 3 mod 4``.

With the Jacobsthal matrix ``Q`` of ``Z/qZ`` (:mod:`hadamrnn.core.jacobsthal`), which is skew for
``q ≡ 3 mod 4``, ``C = [[0, 1ᵀ], [-1, Q]]`` is a skew conference matrix and

.. math:: H = I + C = \begin{pmatrix} 1 & \mathbf 1^\top \\ -\mathbf 1 & I + Q \end{pmatrix}

satisfies ``H Hᵀ = (q + 1) I``. Rows and columns are indexed by ``∞, 0, 1, ..., q - 1``. This
module returns that textbook form; the canonical base matrix of the library is its normal form
(:func:`hadamrnn.core.base_matrices.normalize`), in which entry ``(1 + a, 1 + b)`` is ``χ(b - a)``
off the diagonal and ``-1`` on it.
"""

from __future__ import annotations

import numpy as np

from ..errors import HadamRNNError
from .jacobsthal import is_prime, jacobsthal_matrix

__all__ = ["paley_i"]


def paley_i(q: int) -> np.ndarray:
    """The Paley I Hadamard matrix of order ``q + 1`` (int64, textbook form, module docstring).

    Example:
        >>> paley_i(3)
        array([[ 1,  1,  1,  1],
               [-1,  1, -1,  1],
               [-1,  1,  1, -1],
               [-1, -1,  1,  1]])

    Raises:
        HadamRNNError: ``q`` is not a prime ``≡ 3 mod 4``.
    """
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not is_prime(int(q)) or q % 4 != 3:
        raise HadamRNNError(f"Paley I needs a prime q ≡ 3 mod 4, got q={q!r}")
    order = int(q) + 1
    matrix = np.empty((order, order), dtype=np.int64)
    matrix[0, :] = 1
    matrix[1:, 0] = -1
    matrix[1:, 1:] = np.eye(q, dtype=np.int64) + jacobsthal_matrix(int(q))
    return matrix
