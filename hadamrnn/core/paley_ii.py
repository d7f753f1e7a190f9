r"""Paley's second construction: a Hadamard matrix of order ``2(q + 1)`` for a prime ``q ≡ 1 mod 4``.

With the Jacobsthal matrix ``Q`` of ``Z/qZ`` (:mod:`hadamrnn.core.jacobsthal`), which is symmetric
for ``q ≡ 1 mod 4``, ``C = [[0, 1ᵀ], [1, Q]]`` is a symmetric conference matrix of order ``q + 1``
(``C Cᵀ = q I``), and

.. math:: H = C \otimes \begin{pmatrix} 1 & 1 \\ 1 & -1 \end{pmatrix}
          + I \otimes \begin{pmatrix} 1 & -1 \\ -1 & -1 \end{pmatrix}

satisfies ``H Hᵀ = 2(q + 1) I``: each entry ``c`` of ``C`` becomes a ``2 × 2`` block, ``c A`` off
the diagonal and ``B`` on it (``C`` has a zero diagonal). Rows and columns are indexed by the pairs
``(x, s)``, ``x`` in ``∞, 0, 1, ..., q - 1`` and ``s`` in ``0, 1``, in that order. ``H`` is
symmetric, and so is its normal form (:func:`hadamrnn.core.base_matrices.normalize` negates row
and column 1 only), the canonical base matrix of the library.
"""

from __future__ import annotations

import numpy as np

from ..errors import HadamRNNError
from .jacobsthal import is_prime, jacobsthal_matrix

__all__ = ["paley_ii"]

_OFF_DIAGONAL = np.array([[1, 1], [1, -1]], dtype=np.int64)  # A
_ON_DIAGONAL = np.array([[1, -1], [-1, -1]], dtype=np.int64)  # B


def paley_ii(q: int) -> np.ndarray:
    """The Paley II Hadamard matrix of order ``2(q + 1)`` (int64, textbook form, module docstring).

    Example:
        >>> h = paley_ii(5)
        >>> h.shape, bool((h @ h.T == 12 * np.eye(12)).all()), bool((h == h.T).all())
        ((12, 12), True, True)

    Raises:
        HadamRNNError: ``q`` is not a prime ``≡ 1 mod 4``.
    """
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not is_prime(int(q)) or q % 4 != 1:
        raise HadamRNNError(f"Paley II needs a prime q ≡ 1 mod 4, got q={q!r}")
    size = int(q) + 1
    conference = np.zeros((size, size), dtype=np.int64)
    conference[0, 1:] = 1
    conference[1:, 0] = 1
    conference[1:, 1:] = jacobsthal_matrix(int(q))
    return np.kron(conference, _OFF_DIAGONAL) + np.kron(np.eye(size, dtype=np.int64), _ON_DIAGONAL)
