r"""The quadratic character of a prime field and its Jacobsthal matrix, shared by Paley's constructions.

For an odd prime ``q``, the quadratic character of ``GF(q) = Z/qZ`` is ``χ(0) = 0``, ``χ(a) = 1``
when ``a`` is a non-zero square mod ``q`` and ``χ(a) = -1`` otherwise. The Jacobsthal matrix is
``Q[a, b] = χ(a - b)``, rows and columns indexed by ``0, 1, ..., q - 1``. It satisfies
``Q Qᵀ = q I - J`` and ``Q J = J Q = 0``, and ``Qᵀ = χ(-1) Q`` with ``χ(-1) = 1`` for
``q ≡ 1 mod 4`` and ``-1`` for ``q ≡ 3 mod 4``: the facts behind :mod:`hadamrnn.core.paley_i` and
:mod:`hadamrnn.core.paley_ii`.

Only prime ``q``: a prime power would need the arithmetic of ``GF(p^k)``, which the library does not
implement (the ``theory`` package does, for its own checks).
"""

from __future__ import annotations

import numpy as np

from ..errors import HadamRNNError

__all__ = ["is_prime", "quadratic_character", "jacobsthal_matrix"]


def is_prime(q: int) -> bool:
    """Whether the integer ``q`` is prime, by trial division (``q`` is at most a few hundred here).

    Example:
        >>> [q for q in range(20) if is_prime(q)]
        [2, 3, 5, 7, 11, 13, 17, 19]
    """
    if q < 2:
        return False
    divisor = 2
    while divisor * divisor <= q:
        if q % divisor == 0:
            return False
        divisor += 1
    return True


def _check_odd_prime(q: int) -> int:
    if isinstance(q, bool) or not isinstance(q, (int, np.integer)) or not is_prime(int(q)) or q == 2:
        raise HadamRNNError(f"q must be an odd prime, got {q!r}")
    return int(q)


def quadratic_character(q: int) -> np.ndarray:
    """``χ`` of ``Z/qZ`` as an int64 vector: entry ``a`` is ``χ(a)``.

    Example:
        >>> quadratic_character(7)  # the squares mod 7 are 1, 2 and 4
        array([ 0,  1,  1, -1,  1, -1, -1])

    Raises:
        HadamRNNError: ``q`` is not an odd prime.
    """
    q = _check_odd_prime(q)
    character = -np.ones(q, dtype=np.int64)
    character[0] = 0
    character[[(a * a) % q for a in range(1, q)]] = 1
    return character


def jacobsthal_matrix(q: int) -> np.ndarray:
    """``Q[a, b] = χ(a - b)``, an int64 ``(q, q)`` matrix with zero diagonal and entries ±1 elsewhere.

    Raises:
        HadamRNNError: ``q`` is not an odd prime.
    """
    character = quadratic_character(q)
    index = np.arange(q)
    return character[(index[:, None] - index[None, :]) % q]
