"""The checks behind the claims about the constructions beyond Sylvester and Paley, and about the
registry that combines them.

Each check takes the claim's range limit, raises :class:`~theory.errors.ClaimFailed` (through
:func:`~theory.errors.require`) on the first counterexample, and returns a short detail for the
table. Its docstring names its claim id. Every matrix is checked by the same exact test,
H Hᵀ = n I over the integers (:func:`theory.predicates.is_hadamard`).
"""

from __future__ import annotations

import random

from .base_sequences import (
    base_sequences_table,
    is_t_sequences,
    t_sequence_sources,
    t_sequences,
    turyn_type_table,
)
from .baumert_hall import baumert_hall_hadamard, baumert_hall_units, units_defect
from .difference_sets import difference_family_defect, difference_family_table, difference_set_hadamard
from .errors import HadamardOrderError, SizeLimitError, require
from .finite_field import GaloisField, prime_power
from .goethals_seidel import t_sequence_hadamard
from .miyamoto import miyamoto
from .predicates import is_hadamard
from .reference import OPEN, expected_orders
from .registry import (
    BAUMERT_HALL,
    BUILD_LIMIT,
    DIFFERENCE_SETS,
    MIYAMOTO,
    SMALLEST_OPEN_ORDER,
    T_SEQUENCES,
    WILLIAMSON,
    build,
    construction_for,
    hadamard,
)
from .williamson import williamson_defect, williamson_hadamard, williamson_table

SEED = 20250201
"""Seed of the shuffles that vary Miyamoto's inputs, so runs are repeatable."""

DIRECT_METHODS = (WILLIAMSON, T_SEQUENCES, BAUMERT_HALL, MIYAMOTO, DIFFERENCE_SETS)
"""The rules that build a matrix from data or from a smaller order other than by a product."""

REFERENCE_BELOW = 1000
"""The reference list covers the orders below this."""


def check_williamson(limit: int) -> str:
    """Claim: ``williamson.hadamard``."""
    table = williamson_table()
    orders = [m for m in sorted(table) if 4 * m < limit]
    for m in orders:
        problem = williamson_defect(m, table[m])
        require(problem is None, f"m={m}: {problem}")
        h = williamson_hadamard(m)
        require(len(h) == 4 * m and is_hadamard(h), f"the Williamson array of m={m} is not Hadamard")
    return f"{len(orders)} quadruples, orders 4m = {4 * orders[0]} … {4 * orders[-1]}"


def check_t_sequences(limit: int) -> str:
    """Claim: ``goethals_seidel.t_sequences``."""
    rows = len(base_sequences_table()) + len(turyn_type_table())  # each row checked on reading
    lengths = [t for t in t_sequence_sources() if 4 * t < limit]
    for t in lengths:
        require(is_t_sequences(t_sequences(t)), f"t={t}: not T-sequences")
        h = t_sequence_hadamard(t)
        require(len(h) == 4 * t and is_hadamard(h), f"the Goethals–Seidel array at t={t} is not Hadamard")
    return f"{rows} table rows; {len(lengths)} lengths t = {lengths[0]} … {lengths[-1]}"


def check_baumert_hall(limit: int) -> str:
    """Claim: ``baumert_hall.hadamard``."""
    lengths = [t for t in t_sequence_sources() if 4 * t < limit]
    for t in lengths:
        problem = units_defect(baumert_hall_units(t), t)
        require(problem is None, f"t={t}: {problem}")
    pairs = [
        (t, w) for t in lengths for w in sorted(williamson_table()) if w > 1 and 4 * t * w < limit
    ]
    for t, w in pairs:
        h = baumert_hall_hadamard(t, w)
        require(len(h) == 4 * t * w and is_hadamard(h), f"t={t}, w={w}: not Hadamard")
    return f"units for {len(lengths)} lengths t; {len(pairs)} arrays filled, 4tw < {limit}"


def check_miyamoto(limit: int) -> str:
    """Claim: ``miyamoto.hadamard``."""
    rng = random.Random(SEED)
    qs = [
        q for q in range(5, limit // 4 + 1, 4)
        if 4 * q < limit and prime_power(q) and construction_for(q - 1) is not None
    ]
    for q in qs:
        k = hadamard(q - 1)
        h = miyamoto(q, k)
        require(len(h) == 4 * q and is_hadamard(h), f"q={q}: not Hadamard")
        # The matrix must not depend on the order of the squares and non-squares, nor on K.
        field = GaloisField(q)
        squares = [x for x in range(1, q) if field.quadratic_character(x) == 1]
        others = [x for x in range(1, q) if field.quadratic_character(x) == -1]
        rng.shuffle(squares)
        rng.shuffle(others)
        shuffled_k = tuple(reversed(k))
        varied = miyamoto(q, shuffled_k, square_order=squares, non_square_order=others)
        require(is_hadamard(varied), f"q={q}: not Hadamard for another order of GF(q)* or K")
    return f"{len(qs)} prime powers q = {qs[0]} … {qs[-1]}"


def check_difference_sets(limit: int) -> str:
    """Claim: ``difference_sets.hadamard``."""
    table = difference_family_table()
    for v, family in table.items():
        problem = difference_family_defect(v, family.sets)
        require(problem is None, f"v={v}: {problem}")
    built = [v for v in sorted(table) if 4 * v < limit]
    for v in built:
        h = difference_set_hadamard(v)
        require(len(h) == 4 * v and is_hadamard(h), f"v={v}: not Hadamard")
    return f"{len(table)} families; orders 4v = {', '.join(str(4 * v) for v in built)}"


def check_registry_coverage(limit: int) -> str:
    """Claim: ``registry.coverage``."""
    expected = {n: c for n, c in expected_orders().items() if n < limit}
    for n, description in expected.items():
        construction = construction_for(n)
        found = OPEN if construction is None else str(construction)
        require(found == description, f"n={n}: the registry has {found!r}, the reference list {description!r}")
    open_orders = [n for n, c in expected.items() if c == OPEN]
    return (
        f"{len(expected) - len(open_orders)} of {len(expected)} orders built as listed; "
        f"open: {', '.join(map(str, open_orders)) or 'none'}"
    )


def orders_to_build(limit: int) -> list[int]:
    """The orders ``registry.orders`` builds at this limit: every listed order below ``limit``,
    and every order below 1000 that the list builds directly by rules 5–9."""
    expected = expected_orders()
    return sorted(
        n for n, description in expected.items()
        if description != OPEN
        and (n < limit or description.split(",")[0] in DIRECT_METHODS)
    )


def check_registry_orders(limit: int) -> str:
    """Claim: ``registry.orders``."""
    expected = expected_orders()
    orders = orders_to_build(limit)
    for n in orders:
        construction = construction_for(n)
        require(construction is not None, f"the registry reaches no matrix of order {n}")
        require(str(construction) == expected[n], f"n={n}: built by {construction}, not {expected[n]}")
        h = build(construction)
        require(len(h) == n and is_hadamard(h), f"{construction} is not Hadamard of order {n}")
    return f"{len(orders)} orders built and verified, up to {orders[-1]}"


def check_registry_errors(limit: int) -> str:
    """Claim: ``registry.errors``."""
    open_orders = [n for n, c in expected_orders().items() if c == OPEN and n < limit]
    expected_reasons = {
        6: "n must be 1, 2 or a multiple of 4, got 6",
        0: "n must be a positive integer, got 0",
        SMALLEST_OPEN_ORDER: f"{SMALLEST_OPEN_ORDER} is the smallest order for which existence is open",
    }
    expected_reasons.update({n: f"n={n}: the order is open" for n in open_orders})
    for n, reason in expected_reasons.items():
        message = _hadamard_error(n)
        require(message is not None, f"hadamard({n}) did not raise")
        require(reason in message, f"hadamard({n}) said {message!r}, which lacks {reason!r}")
    too_large = BUILD_LIMIT + 4
    message = _hadamard_error(too_large, SizeLimitError)
    require(message is not None and str(BUILD_LIMIT) in message, f"hadamard({too_large}) was not refused")
    return f"{len(expected_reasons) + 1} orders refused with their reason; open: {', '.join(map(str, open_orders))}"


def _hadamard_error(n: int, error: type[Exception] = HadamardOrderError) -> str | None:
    try:
        hadamard(n)
    except error as raised:
        return str(raised)
    return None
