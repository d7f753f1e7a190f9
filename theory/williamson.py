"""Williamson matrices and the Williamson array.

Four symmetric circulant ±1 matrices A, B, C, D of odd order m are *Williamson matrices* if
A² + B² + C² + D² = 4m·I. Circulant matrices commute, and symmetric ones are their own transposes,
so every product X Yᵀ = X Y is symmetric; with that, the Williamson array

    [[ A,  B,  C,  D],
     [−B,  A, −D,  C],
     [−C,  D,  A, −B],
     [−D, −C,  B,  A]]

is a Hadamard matrix of order 4m (Williamson 1944): the off-diagonal block products cancel in
pairs, and each diagonal block is A² + B² + C² + D² = 4m·I.

The quadruples are data: ``theory/data/williamson.txt`` names its published sources. Each one is
checked when the table is read: four rows of length m, each symmetric (a_j = a_{m−j}), and
Σ P(s) = 0 over the four rows at every shift s ≠ 0 (which is A² + B² + C² + D² = 4m·I, see
:mod:`theory.sequences`).
"""

from __future__ import annotations

from functools import cache

from .errors import ConstructionError, DataTableError
from .matrices import Matrix
from .sequences import Signs, circulant, is_periodically_complementary, negated, signs_from_text
from .tables import table_lines

WILLIAMSON_TABLE = "williamson.txt"

Quadruple = tuple[Signs, Signs, Signs, Signs]
"""The first rows of A, B, C, D."""


@cache
def williamson_table() -> dict[int, Quadruple]:
    """Order m → the first rows of Williamson matrices A, B, C, D of order m, each checked."""
    table: dict[int, Quadruple] = {}
    for line, fields in table_lines(WILLIAMSON_TABLE):
        where = f"{WILLIAMSON_TABLE}:{line}"
        if len(fields) != 5:
            raise DataTableError(f"{where}: expected m and four sign rows, got {len(fields)} fields")
        m = int(fields[0])
        rows = tuple(signs_from_text(text) for text in fields[1:])
        problem = williamson_defect(m, rows)
        if problem:
            raise DataTableError(f"{where}: m={m}: {problem}")
        if m in table:
            raise DataTableError(f"{where}: m={m} appears twice")
        table[m] = rows  # type: ignore[assignment]
    return table


def williamson_defect(m: int, rows: tuple[Signs, ...]) -> str | None:
    """Why ``rows`` are not the first rows of Williamson matrices of order m, or None."""
    if len(rows) != 4:
        return f"expected four rows, got {len(rows)}"
    if any(len(row) != m for row in rows):
        return f"rows of lengths {[len(row) for row in rows]}, expected {m}"
    for name, row in zip("ABCD", rows):
        if any(row[j] != row[-j % m] for j in range(m)):
            return f"{name} is not symmetric"
    if not is_periodically_complementary(rows):
        return "the periodic autocorrelations do not add up to zero, so A² + B² + C² + D² ≠ 4m·I"
    return None


def williamson_orders() -> list[int]:
    """The orders m of the table, increasing."""
    return sorted(williamson_table())


def williamson_matrices(m: int) -> tuple[Matrix, Matrix, Matrix, Matrix]:
    """The circulant Williamson matrices A, B, C, D of order m from the table."""
    table = williamson_table()
    if m not in table:
        raise ConstructionError(
            f"no Williamson matrices of order m={m} in {WILLIAMSON_TABLE}; "
            f"it has m = {', '.join(map(str, sorted(table)))}"
        )
    a, b, c, d = (circulant(row) for row in table[m])
    return a, b, c, d


def williamson_array(a: Matrix, b: Matrix, c: Matrix, d: Matrix) -> Matrix:
    """The Williamson array of four m×m matrices (a Hadamard matrix when they are Williamson)."""
    block_rows = (
        (a, b, c, d),
        (_neg(b), a, _neg(d), c),
        (_neg(c), d, a, _neg(b)),
        (_neg(d), _neg(c), b, a),
    )
    return tuple(
        sum((block[i] for block in blocks), ()) for blocks in block_rows for i in range(len(a))
    )


def williamson_hadamard(m: int) -> Matrix:
    """The Hadamard matrix of order 4m given by the Williamson array of the table's quadruple."""
    return williamson_array(*williamson_matrices(m))


def _neg(matrix: Matrix) -> Matrix:
    return tuple(negated(row) for row in matrix)
