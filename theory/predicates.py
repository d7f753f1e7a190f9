"""Exact predicates on matrices: Hadamard, weighing and binary orthogonal.

Entries must be exact numbers: Python ``int`` (not ``bool``), ``fractions.Fraction`` or exact
sympy numbers. A float or a bool raises ``TypeError``, because a float equal to 1.0 proves nothing
about exact orthogonality. An exact matrix that lacks the property gives ``False``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any, Sequence

from .matrices import sign_mask


def is_hadamard(h: Sequence[Sequence[Any]]) -> bool:
    """Whether h is a Hadamard matrix: square, entries ±1 and H Hᵀ = n I.

    The rows are packed into bit masks, so the test of each of the n(n−1)/2 pairs of rows is one
    XOR and one popcount: rows a and b are orthogonal iff popcount(a ^ b) = n / 2.
    """
    n = _square_size(h)
    if n is None:
        return False
    masks = []
    for row in h:
        try:
            masks.append(sign_mask(row))
        except ValueError:  # an entry is not an int, or not ±1
            try:
                masks.append(sign_mask(_as_int_row(row)))
            except ValueError:
                return False
    if n % 2 and n > 1:
        return False  # the inner product of two ±1 rows of odd length is odd, never 0
    half = {n // 2}
    return all(
        set(map(int.bit_count, map(a.__xor__, masks[i + 1 :]))) <= half
        for i, a in enumerate(masks)
    )


def is_weighing(w_matrix: Sequence[Sequence[Any]], weight: int) -> bool:
    """Whether W is a weighing matrix W(n, w): entries in {0, ±1} and W Wᵀ = w I.

    Each row is packed into a support mask and a sign mask; two rows are orthogonal iff, on their
    common support, the entries that differ in sign are exactly half.
    """
    n = _square_size(w_matrix)
    if n is None:
        return False
    rows = []
    for row in w_matrix:
        try:
            entries = _as_int_row(row)
        except ValueError:  # a non-integer entry
            return False
        if not set(entries) <= {0, 1, -1}:
            return False
        support = sum(1 << j for j, x in enumerate(entries) if x)
        negative = sum(1 << j for j, x in enumerate(entries) if x == -1)
        if support.bit_count() != weight:
            return False
        rows.append((support, negative))
    return all(
        (s & t).bit_count() == 2 * (s & t & (g ^ h)).bit_count()
        for i, (s, g) in enumerate(rows)
        for t, h in rows[i + 1 :]
    )


def is_binary_orthogonal(w_matrix: Sequence[Sequence[Any]]) -> bool:
    """Whether W ∈ {−a, +a}^{n×n} for some a > 0 and W Wᵀ = I, decided exactly.

    Write W = a·H with H the sign pattern. Then W Wᵀ = a² H Hᵀ and the diagonal of H Hᵀ is n, so
    W Wᵀ = I holds iff n·a² = 1 and H Hᵀ = n I: W is orthogonal iff a = 1/√n and √n·W = H is
    Hadamard. This function decides exactly that, with a² computed exactly (a may be irrational,
    e.g. the sympy number 1/√2, but a² must then simplify to a rational).
    """
    n = _square_size(w_matrix)
    if n is None:
        return False
    for row in w_matrix:
        _require_exact(row)
    a = abs(w_matrix[0][0])
    if a == 0:
        return False
    signs = _sign_pattern(w_matrix, a)
    if signs is None:
        return False
    a_squared = _exact_square(a)
    return a_squared is not None and n * a_squared == 1 and is_hadamard(signs)


def _sign_pattern(w_matrix: Sequence[Sequence[Any]], a: Any) -> list[tuple[int, ...]] | None:
    """The matrix H with W = a·H, or None if an entry is neither a nor −a."""
    if all(set(map(type, row)) <= {int, Fraction} for row in w_matrix):
        # Rationals compare by numerator and denominator: hashing Fractions is slow.
        numerator, denominator = a.numerator, a.denominator
        sign_of = {numerator: 1, -numerator: -1}
        pattern = []
        for row in w_matrix:
            if any(x.denominator != denominator or x.numerator not in sign_of for x in row):
                return None
            pattern.append(tuple(sign_of[x.numerator] for x in row))
        return pattern
    sign_of = {a: 1, -a: -1}
    try:
        return [tuple(map(sign_of.__getitem__, row)) for row in w_matrix]
    except KeyError:
        return None


def _square_size(matrix: Sequence[Sequence[Any]]) -> int | None:
    n = len(matrix)
    if n == 0 or any(len(row) != n for row in matrix):
        return None
    return n


def _as_int_row(row: Sequence[Any]) -> tuple[int, ...]:
    """The row as Python ints, if every entry is an exact integer; ``ValueError`` otherwise."""
    if set(map(type, row)) <= {int}:
        return tuple(row)
    _require_exact(row)
    if any(x != int(x) for x in row):
        raise ValueError("entries are not integers")
    return tuple(int(x) for x in row)


def _require_exact(row: Sequence[Any]) -> None:
    """Raise ``TypeError`` if an entry is not an exact number (floats and bools are refused)."""
    if set(map(type, row)) <= {int, Fraction}:
        return
    for x in row:
        if type(x) in (int, Fraction):
            continue
        if not _is_exact_sympy_number(x):
            raise TypeError(f"matrix entries must be exact numbers, got {type(x).__name__} {x!r}")


def _is_exact_sympy_number(x: Any) -> bool:
    if not type(x).__module__.startswith("sympy"):
        return False
    import sympy

    return bool(x.is_number) and not x.has(sympy.Float)


def _exact_square(a: Any) -> Fraction | None:
    """a² as a Fraction, or None if it is not rational."""
    if type(a) in (int, Fraction):
        return Fraction(a) ** 2
    import sympy

    squared = sympy.expand(sympy.sympify(a) ** 2)
    if not squared.is_Rational:
        return None
    return Fraction(int(squared.p), int(squared.q))
