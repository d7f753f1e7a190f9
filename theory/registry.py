"""The registry: a verified Hadamard matrix of every order this library can construct.

For each order n the registry tries its rules in a fixed order and uses the first that applies:

1. Sylvester (n = 2^k);
2. Paley I (n = q + 1, q ≡ 3 mod 4 a prime power);
3. Paley II (n = 2(q + 1), q ≡ 1 mod 4 a prime power);
4. Kronecker products H_a ⊗ H_b of two orders the registry reaches (the smallest a ≥ 2); with
   a = 2 this is the doubling [[H, H], [H, −H]];
5. Williamson matrices of order m = n/4 in the Williamson array (:mod:`theory.williamson`);
6. T-sequences of length t = n/4 in the Goethals–Seidel array (:mod:`theory.goethals_seidel`);
7. a Baumert–Hall array from T-sequences of length t filled with Williamson matrices of order w,
   n = 4tw (:mod:`theory.baumert_hall`; the smallest t that works);
8. Miyamoto's construction, n = 4q with q ≡ 1 mod 4 a prime power and q − 1 reached
   (:mod:`theory.miyamoto`);
9. supplementary difference sets in Z_v, v = n/4, in the Goethals–Seidel array
   (:mod:`theory.difference_sets`).

A Hadamard matrix of order n > 2 needs 4 | n; whether one exists for every multiple of 4 is the
Hadamard conjecture. Below 1000 these rules reach every multiple of 4 except 668, 716 and 892,
the three orders below 1000 for which no Hadamard matrix is known (668 is the smallest).
``theory/data/orders_below_1000.txt`` records, independently of this module, how each order below
1000 is expected to be built; the claims ``registry.coverage`` and ``registry.orders`` compare the
registry with it.

Sizes are bounded before anything is computed: :func:`construction_for` and :func:`orders_below`
answer for orders up to :data:`SEARCH_LIMIT`, and :func:`hadamard` builds matrices up to
:data:`BUILD_LIMIT`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from math import isqrt
from typing import Callable

from .base_sequences import t_sequence_sources
from .baumert_hall import baumert_hall_hadamard
from .difference_sets import difference_family_table, difference_set_hadamard
from .errors import HadamardOrderError, require_at_most, require_int
from .finite_field import prime_power
from .goethals_seidel import t_sequence_hadamard
from .kronecker import kronecker
from .matrices import Matrix
from .miyamoto import miyamoto
from .paley import paley_i, paley_ii
from .predicates import is_hadamard
from .sylvester import is_power_of_two, sylvester
from .williamson import williamson_hadamard, williamson_table

SMALLEST_OPEN_ORDER = 668
"""The smallest multiple of 4 for which no Hadamard matrix is known (as of 2025)."""

KNOWN_OPEN_ORDERS = (668, 716, 892)
"""The multiples of 4 below :data:`TRACKED_BELOW` for which no Hadamard matrix is known (as of
2025; D. Ž. Đoković, "Hadamard matrices of order 764 exist", Combinatorica 28 (2008), left these
three open below 1000)."""

TRACKED_BELOW = 1000
"""Below this order the registry knows, for every multiple of 4, whether a Hadamard matrix is known
to exist; above it, an order it does not reach is reported without that knowledge."""

SEARCH_LIMIT = 10_000
"""The largest order :func:`construction_for` answers for, and the largest ``limit`` of
:func:`orders_below`: the search for a rule is cheap, but not free."""

BUILD_LIMIT = 4096
"""The largest order :func:`hadamard` builds (a 4096×4096 matrix of Python ints)."""

SYLVESTER, PALEY_I, PALEY_II, KRONECKER = "Sylvester", "Paley I", "Paley II", "Kronecker"
WILLIAMSON = "Williamson"
T_SEQUENCES = "Goethals-Seidel T-sequences"
BAUMERT_HALL = "Baumert-Hall"
MIYAMOTO = "Miyamoto"
DIFFERENCE_SETS = "Goethals-Seidel difference sets"


@dataclass(frozen=True)
class Construction:
    """How the registry builds its Hadamard matrix of one order."""

    order: int
    method: str
    q: int | None = None
    """The prime power of a Paley or Miyamoto construction."""
    factors: tuple[int, int] | None = None
    """The orders (a, b) of a Kronecker product H_a ⊗ H_b."""
    m: int | None = None
    """The order of the Williamson matrices (Williamson array, Baumert–Hall array)."""
    t: int | None = None
    """The length of the T-sequences (Goethals–Seidel array, Baumert–Hall array)."""
    v: int | None = None
    """The order of the cyclic group of the supplementary difference sets."""

    def __str__(self) -> str:
        if self.method == BAUMERT_HALL:
            return f"{self.method}, t={self.t} x Williamson m={self.m}"
        if self.q is not None:
            return f"{self.method}, q={self.q}"
        if self.factors is not None:
            a, b = self.factors
            return f"{self.method}, {a} x {b}"
        for name in ("m", "t", "v"):
            value = getattr(self, name)
            if value is not None:
                return f"{self.method}, {name}={value}"
        return self.method


Rule = Callable[[int], "Construction | None"]


def _sylvester_rule(n: int) -> Construction | None:
    return Construction(n, SYLVESTER) if is_power_of_two(n) else None


def _paley_i_rule(n: int) -> Construction | None:
    # n − 1 ≡ 3 mod 4 because 4 | n.
    return Construction(n, PALEY_I, q=n - 1) if prime_power(n - 1) is not None else None


def _paley_ii_rule(n: int) -> Construction | None:
    q = n // 2 - 1
    return Construction(n, PALEY_II, q=q) if q % 4 == 1 and prime_power(q) else None


def _kronecker_rule(n: int) -> Construction | None:
    for a in range(2, isqrt(n) + 1):
        if n % a == 0 and construction_for(a) and construction_for(n // a):
            return Construction(n, KRONECKER, factors=(a, n // a))
    return None


def _williamson_rule(n: int) -> Construction | None:
    return Construction(n, WILLIAMSON, m=n // 4) if n // 4 in williamson_table() else None


def _t_sequences_rule(n: int) -> Construction | None:
    return Construction(n, T_SEQUENCES, t=n // 4) if n // 4 in t_sequence_sources() else None


def _baumert_hall_rule(n: int) -> Construction | None:
    quarter = n // 4
    for t in t_sequence_sources():
        if quarter % t == 0 and quarter // t in williamson_table():
            return Construction(n, BAUMERT_HALL, t=t, m=quarter // t)
    return None


def _miyamoto_rule(n: int) -> Construction | None:
    q = n // 4
    if q % 4 == 1 and prime_power(q) and construction_for(q - 1):
        return Construction(n, MIYAMOTO, q=q)
    return None


def _difference_sets_rule(n: int) -> Construction | None:
    return Construction(n, DIFFERENCE_SETS, v=n // 4) if n // 4 in difference_family_table() else None


RULES: tuple[Rule, ...] = (
    _sylvester_rule,
    _paley_i_rule,
    _paley_ii_rule,
    _kronecker_rule,
    _williamson_rule,
    _t_sequences_rule,
    _baumert_hall_rule,
    _miyamoto_rule,
    _difference_sets_rule,
)
"""The rules for multiples of 4 (and, for Sylvester, 1 and 2), tried in this order."""


# typed: construction_for(True) and construction_for(4.0) must not hit the cache entries of 1 and 4.
@lru_cache(maxsize=None, typed=True)
def construction_for(n: int) -> Construction | None:
    """The construction the registry uses for order n, or None if it reaches no matrix.

    Raises ``TypeError`` unless n is an int, and :class:`~theory.errors.SizeLimitError` if
    n > :data:`SEARCH_LIMIT`.
    """
    require_int("n", n)
    require_at_most("n", n, SEARCH_LIMIT, "the largest order the registry searches")
    if n < 1:
        return None
    if n % 4 and not is_power_of_two(n):
        return None
    for rule in RULES:
        construction = rule(n)
        if construction is not None:
            return construction
    return None


def clear_caches() -> None:
    """Forget every construction found and matrix built (after :data:`RULES` changed)."""
    construction_for.cache_clear()
    hadamard.cache_clear()


@lru_cache(maxsize=8, typed=True)
def hadamard(n: int) -> Matrix:
    """A Hadamard matrix of order n, verified exactly (H Hᵀ = n I) before it is returned.

    Raises ``TypeError`` unless n is an int, :class:`~theory.errors.SizeLimitError` if
    n > :data:`BUILD_LIMIT`, and :class:`~theory.errors.HadamardOrderError` with the reason when
    no matrix can be returned: n is not 1, 2 or a multiple of 4 (none exists), the order is open,
    or no construction here reaches it.
    """
    require_int("n", n)
    require_at_most("n", n, BUILD_LIMIT, "the largest order theory.hadamard builds")
    construction = construction_for(n)
    if construction is None:
        raise HadamardOrderError(why_none(n))
    matrix = build(construction)
    if not is_hadamard(matrix):
        raise RuntimeError(f"bug: {construction} did not produce a Hadamard matrix of order {n}")
    return matrix


def build(construction: Construction) -> Matrix:
    """The matrix a construction describes (not verified: :func:`hadamard` verifies)."""
    method = construction.method
    if method == SYLVESTER:
        return sylvester(construction.order)
    if method == PALEY_I:
        return paley_i(construction.q)
    if method == PALEY_II:
        return paley_ii(construction.q)
    if method == KRONECKER:
        a, b = construction.factors
        return kronecker(build(construction_for(a)), build(construction_for(b)))  # type: ignore[return-value]
    if method == WILLIAMSON:
        return williamson_hadamard(construction.m)
    if method == T_SEQUENCES:
        return t_sequence_hadamard(construction.t)
    if method == BAUMERT_HALL:
        return baumert_hall_hadamard(construction.t, construction.m)
    if method == MIYAMOTO:
        q = construction.q
        return miyamoto(q, build(construction_for(q - 1)))
    if method == DIFFERENCE_SETS:
        return difference_set_hadamard(construction.v)
    raise ValueError(f"unknown construction method {method!r}")


def orders_below(limit: int) -> list[tuple[int, Construction | None]]:
    """Every order below ``limit`` for which a Hadamard matrix may exist (1, 2 and the multiples
    of 4), each with the registry's construction or None.

    Raises ``TypeError`` unless ``limit`` is an int and
    :class:`~theory.errors.SizeLimitError` if it exceeds :data:`SEARCH_LIMIT`.
    """
    require_int("limit", limit)
    require_at_most("limit", limit, SEARCH_LIMIT, "the largest order the registry searches")
    candidates = [n for n in (1, 2) if n < limit] + list(range(4, limit, 4))
    return [(n, construction_for(n)) for n in candidates]


def is_open(n: int) -> bool:
    """Whether n is one of :data:`KNOWN_OPEN_ORDERS`: no Hadamard matrix of order n is known."""
    return n in KNOWN_OPEN_ORDERS


def why_none(n: int) -> str:
    """Why the registry returns no matrix of order n (for an n it returns none for)."""
    if n < 1:
        return f"n must be a positive integer, got {n}"
    if n % 4 and n not in (1, 2):
        return f"n must be 1, 2 or a multiple of 4, got {n}"
    reason = f"no construction known to this library for n={n}"
    if is_open(n):
        smallest = (
            f"; {n} is the smallest order for which existence is open"
            if n == SMALLEST_OPEN_ORDER
            else ""
        )
        return (
            f"{reason}: the order is open, no Hadamard matrix of order {n} is known (the open "
            f"orders below {TRACKED_BELOW} are {', '.join(map(str, KNOWN_OPEN_ORDERS))}){smallest}"
        )
    if n < TRACKED_BELOW:
        return (
            f"{reason}: its rules do not reach it, although a Hadamard matrix of order {n} is "
            "known to exist"
        )
    return (
        f"{reason}: its rules do not reach it, and above {TRACKED_BELOW} this library does not "
        "record which orders are open"
    )
