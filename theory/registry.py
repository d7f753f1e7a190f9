"""The registry: a verified Hadamard matrix of every order this library can construct.

Orders are reached by Sylvester (2^k), Paley I (q + 1, q ≡ 3 mod 4 a prime power), Paley II
(2(q + 1), q ≡ 1 mod 4 a prime power) and Kronecker products of these. A Hadamard matrix of order
n > 2 needs 4 | n; whether one exists for every multiple of 4 is the Hadamard conjecture, and 668
is the smallest order for which it is open.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache, lru_cache
from math import isqrt

from .errors import HadamardOrderError
from .finite_field import prime_power
from .kronecker import kronecker
from .matrices import Matrix
from .paley import paley_i, paley_ii
from .predicates import is_hadamard
from .sylvester import is_power_of_two, sylvester

SMALLEST_OPEN_ORDER = 668
"""The smallest multiple of 4 for which no Hadamard matrix is known (as of 2025)."""

SYLVESTER, PALEY_I, PALEY_II, KRONECKER = "Sylvester", "Paley I", "Paley II", "Kronecker"


@dataclass(frozen=True)
class Construction:
    """How the registry builds its Hadamard matrix of one order."""

    order: int
    method: str
    q: int | None = None
    """The prime power of a Paley construction."""
    factors: tuple[int, int] | None = None
    """The orders (a, b) of a Kronecker product H_a ⊗ H_b."""

    def __str__(self) -> str:
        if self.q is not None:
            return f"{self.method}, q={self.q}"
        if self.factors is not None:
            a, b = self.factors
            return f"{self.method}, {a} x {b}"
        return self.method


@cache
def construction_for(n: int) -> Construction | None:
    """The construction the registry uses for order n, or None if it reaches no matrix.

    Preference: Sylvester, then Paley I, then Paley II, then the Kronecker product H_a ⊗ H_b with
    the smallest constructible factor a ≥ 2.
    """
    if n < 1:
        return None
    if is_power_of_two(n):
        return Construction(n, SYLVESTER)
    if n % 4:
        return None
    if prime_power(n - 1) is not None:
        return Construction(n, PALEY_I, q=n - 1)  # n − 1 ≡ 3 mod 4 because 4 | n
    q = n // 2 - 1
    if q % 4 == 1 and prime_power(q) is not None:
        return Construction(n, PALEY_II, q=q)
    for a in range(2, isqrt(n) + 1):
        if n % a == 0 and construction_for(a) and construction_for(n // a):
            return Construction(n, KRONECKER, factors=(a, n // a))
    return None


@lru_cache(maxsize=8)
def hadamard(n: int) -> Matrix:
    """A Hadamard matrix of order n, verified exactly (H Hᵀ = n I) before it is returned.

    Raises :class:`HadamardOrderError` with the reason when no matrix can be returned: n is not
    1, 2 or a multiple of 4 (none exists), or no construction here reaches n.
    """
    if type(n) is not int:
        raise TypeError(f"n must be an int, got {type(n).__name__}")
    construction = construction_for(n)
    if construction is None:
        raise HadamardOrderError(_why_none(n))
    matrix = build(construction)
    if not is_hadamard(matrix):
        raise RuntimeError(f"bug: {construction} did not produce a Hadamard matrix of order {n}")
    return matrix


def build(construction: Construction) -> Matrix:
    """The matrix a construction describes (not verified: :func:`hadamard` verifies)."""
    if construction.method == SYLVESTER:
        return sylvester(construction.order)
    if construction.method == PALEY_I:
        return paley_i(construction.q)
    if construction.method == PALEY_II:
        return paley_ii(construction.q)
    a, b = construction.factors
    return kronecker(build(construction_for(a)), build(construction_for(b)))


def orders_below(limit: int) -> list[tuple[int, Construction | None]]:
    """Every order below ``limit`` for which a Hadamard matrix may exist (1, 2 and the multiples
    of 4), each with the registry's construction or None."""
    candidates = [n for n in (1, 2) if n < limit] + list(range(4, limit, 4))
    return [(n, construction_for(n)) for n in candidates]


def _why_none(n: int) -> str:
    if n < 1:
        return f"n must be a positive integer, got {n}"
    if n % 4:
        return f"n must be 1, 2 or a multiple of 4, got {n}"
    reason = f"no construction known to this library for n={n}"
    if n == SMALLEST_OPEN_ORDER:
        return f"{reason}: {n} is the smallest order for which existence is open"
    reach = "Sylvester, Paley I, Paley II and their Kronecker products do not reach it"
    if n < SMALLEST_OPEN_ORDER:
        return (
            f"{reason} ({reach}); Hadamard matrices of every multiple of 4 below "
            f"{SMALLEST_OPEN_ORDER} are known to exist, by other constructions"
        )
    return f"{reason} ({reach})"
