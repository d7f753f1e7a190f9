"""Exact dense matrices as tuples of tuples.

A matrix is a tuple of rows and a row is a tuple of exact numbers: Python ``int`` (never
``bool``) or ``fractions.Fraction``. Tuples make matrices immutable and hashable, so families of
matrices can be collected in sets and counted.

Bit convention for ±1 rows, used by every fast check in this package (the same as larq's): bit j
of a row's mask is entry j, and a set bit means −1. The inner product of two ±1 rows of length n
is then ``n - 2 * popcount(a ^ b)``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Sequence, TypeAlias, Union

Number: TypeAlias = Union[int, Fraction]
Matrix: TypeAlias = tuple[tuple[int, ...], ...]
"""An integer matrix."""

ExactMatrix: TypeAlias = tuple[tuple[Number, ...], ...]
"""A matrix of ints and Fractions."""


def identity(n: int) -> Matrix:
    """The n×n identity matrix."""
    return tuple(tuple(1 if i == j else 0 for j in range(n)) for i in range(n))


def transpose(a: Sequence[Sequence[Number]]) -> ExactMatrix:
    """The transpose of ``a``."""
    return tuple(zip(*a))


def matmul(a: Sequence[Sequence[Number]], b: Sequence[Sequence[Number]]) -> ExactMatrix:
    """The product ``a @ b``, computed exactly.

    Zero entries are skipped, so a product with a sparse factor (a block-diagonal matrix, a
    butterfly stage of the FWHT) costs only its non-zero terms.
    """
    width = len(b[0]) if b else 0
    sparse_b = [[(j, y) for j, y in enumerate(row) if y] for row in b]
    product_rows = []
    for row in a:
        accumulated: list[Number] = [0] * width
        for x, b_row in zip(row, sparse_b):
            if x:
                for j, y in b_row:
                    accumulated[j] += x * y
        product_rows.append(tuple(accumulated))
    return tuple(product_rows)


def scalar_matrix(n: int, c: Number) -> ExactMatrix:
    """The matrix c·I of size n."""
    return tuple(tuple(c if i == j else 0 for j in range(n)) for i in range(n))


def scale_rows(signs: Sequence[int], a: Sequence[Sequence[int]]) -> Matrix:
    """``diag(signs) @ a``: row i multiplied by ``signs[i]``."""
    return tuple(tuple(s * x for x in row) for s, row in zip(signs, a, strict=True))


def scale_columns(a: Sequence[Sequence[int]], signs: Sequence[int]) -> Matrix:
    """``a @ diag(signs)``: column j multiplied by ``signs[j]``."""
    return tuple(tuple(x * s for x, s in zip(row, signs, strict=True)) for row in a)


def trace(a: Sequence[Sequence[Number]]) -> Number:
    """The sum of the diagonal of ``a``."""
    return sum(row[i] for i, row in enumerate(a))


def determinant(a: Sequence[Sequence[Number]]) -> Number:
    """The determinant of a square matrix, by fraction-free (Bareiss) elimination.

    For integer input every intermediate value is an integer: Bareiss's divisions are exact,
    which ``divmod`` confirms at each step, so no rounding can ever happen.
    """
    m = [list(row) for row in a]
    n = len(m)
    sign = 1
    previous_pivot: Number = 1
    for k in range(n - 1):
        if m[k][k] == 0:
            swap = next((i for i in range(k + 1, n) if m[i][k] != 0), None)
            if swap is None:
                return 0
            m[k], m[swap] = m[swap], m[k]
            sign = -sign
        pivot = m[k][k]
        for i in range(k + 1, n):
            for j in range(k + 1, n):
                m[i][j] = _exact_quotient(m[i][j] * pivot - m[i][k] * m[k][j], previous_pivot)
        previous_pivot = pivot
    return sign * m[n - 1][n - 1] if n else 1


def _exact_quotient(numerator: Number, denominator: Number) -> Number:
    """``numerator / denominator``, which Bareiss guarantees to be exact."""
    if isinstance(numerator, int) and isinstance(denominator, int):
        quotient, remainder = divmod(numerator, denominator)
        if remainder:
            raise ArithmeticError("Bareiss division was not exact; the input is not integral")
        return quotient
    return Fraction(numerator) / denominator


def sign_mask(row: Sequence[int]) -> int:
    """The bit mask of a ±1 row: bit j is set iff ``row[j] == -1``.

    Raises ``ValueError`` if an entry is not the integer 1 or −1 (``True`` is rejected: a bool is
    not a matrix entry).
    """
    types = set(map(type, row))
    if not types <= {int}:
        raise ValueError(f"entries must be Python ints, got {sorted(t.__name__ for t in types)}")
    try:
        bits = "".join(map(_SIGN_BITS.__getitem__, reversed(row)))
    except KeyError as missing:
        raise ValueError(f"entries must be +1 or -1, got {missing.args[0]}") from None
    return int(bits, 2) if bits else 0


_SIGN_BITS = {1: "0", -1: "1"}
