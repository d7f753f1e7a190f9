"""Miyamoto's construction: a Hadamard matrix of order 4q from one of order q − 1.

Theorem (M. Miyamoto, "A construction of Hadamard matrices", J. Combin. Theory Ser. A 57 (1991)
86–108). If q ≡ 1 (mod 4) is a prime power and there is a Hadamard matrix of order q − 1, then
there is a Hadamard matrix of order 4q.

The matrix built here, with m = (q − 1)/2:

- χ is the quadratic character of GF(q) and Q[x][y] = χ(x − y) its (symmetric) Jacobsthal
  matrix. P is the set of the m non-zero squares and N that of the m non-squares, each in any
  order. C_1 = −Q[P, P], C_2 = Q[P, N], C_4 = Q[N, N] (m×m blocks; Q[N, P] = C_2ᵀ).
- K is the given Hadamard matrix of order 2m = q − 1, cut into m×m blocks
  K = [[K_1, K_2], [−K_3, K_4]] (the lower-left block is taken with a minus sign).
- U and V are 4m×4m matrices of m×m blocks U_ij, V_ij (i, j = 0 … 3):

      U = [[C_1, C_2, 0, 0], [C_2ᵀ, C_4, 0, 0], [0, 0, C_1, C_2], [0, 0, C_2ᵀ, C_4]],
      V = [[I, 0, K_1, K_2], [0, I, K_3, K_4], [K_1ᵀ, K_3ᵀ, I, 0], [K_2ᵀ, K_4ᵀ, 0, I]].

  U and V have complementary supports, so U ± V has entries ±1.
- T_ij = [[U_ij + V_ij, U_ij − V_ij], [U_ij − V_ij, U_ij + V_ij]], of order 2m = q − 1, and
  X_ij = [[1, σ e], [σ eᵀ, T_ij]] of order q, with e the all-ones row of length q − 1, σ = −1 if
  i = j and σ = +1 otherwise.
- H = [ε_ij X_ij] (i, j = 0 … 3), where ε = [[1, 1, 1, 1], [−1, 1, 1, −1], [−1, −1, 1, 1],
  [−1, 1, −1, 1]] is a Hadamard matrix of order 4 with constant diagonal.

Two facts carry the proof: T_ij = J_2 ⊗ U_ij + B_2 ⊗ V_ij with J_2 = [[1, 1], [1, 1]] and
B_2 = [[1, −1], [−1, 1]], and J_2 B_2 = 0, so in H Hᵀ the U part and the V part never meet; and
the cyclotomy of GF(q) gives the row sums of the C blocks (C_1 and C_4 have row sums 1, C_2 and
C_2ᵀ row sums 0), which the borders of the X_ij balance. The rest is Miyamoto's computation; the
claim ``miyamoto.hadamard`` checks H Hᵀ = 4q·I exactly for every q in its range, and the matrix
does not depend on the orders chosen for P and N or on which Hadamard matrix K is used (the tests
vary both).
"""

from __future__ import annotations

from typing import Sequence

from .errors import ConstructionError
from .finite_field import GaloisField, prime_power
from .matrices import Matrix

SIGNS = ((1, 1, 1, 1), (-1, 1, 1, -1), (-1, -1, 1, 1), (-1, 1, -1, 1))
"""ε: the sign of the block X_ij in block row i, block column j."""


def miyamoto(
    q: int,
    k: Sequence[Sequence[int]],
    *,
    square_order: Sequence[int] | None = None,
    non_square_order: Sequence[int] | None = None,
) -> Matrix:
    """The Hadamard matrix of order 4q built from a Hadamard matrix ``k`` of order q − 1.

    ``square_order`` and ``non_square_order`` list the non-zero squares and non-squares of GF(q)
    (element codes of :class:`~theory.finite_field.GaloisField`) in the order to use; by default
    increasing. The result is not verified here; :func:`theory.hadamard` verifies it.
    """
    if prime_power(q) is None or q % 4 != 1:
        raise ConstructionError(
            f"Miyamoto's construction needs a prime power q ≡ 1 mod 4, got q={q}"
        )
    if len(k) != q - 1 or any(len(row) != q - 1 for row in k):
        raise ConstructionError(
            f"Miyamoto's construction needs a matrix of order q − 1 = {q - 1}"
        )
    field = GaloisField(q)
    chi = field.quadratic_character
    m = (q - 1) // 2
    squares = [x for x in range(1, q) if chi(x) == 1] if square_order is None else list(square_order)
    others = (
        [x for x in range(1, q) if chi(x) == -1]
        if non_square_order is None
        else list(non_square_order)
    )
    if sorted(squares + others) != list(range(1, q)) or any(chi(x) != 1 for x in squares):
        raise ConstructionError(
            "square_order and non_square_order must split GF(q)* into squares and non-squares"
        )

    def jacobsthal_block(rows: list[int], columns: list[int], sign: int) -> Matrix:
        return tuple(tuple(sign * chi(field.sub(x, y)) for y in columns) for x in rows)

    c1 = jacobsthal_block(squares, squares, -1)
    c2 = jacobsthal_block(squares, others, 1)
    c2t = _transpose(c2)
    c4 = jacobsthal_block(others, others, 1)
    k1 = tuple(tuple(row[:m]) for row in k[:m])
    k2 = tuple(tuple(row[m:]) for row in k[:m])
    k3 = tuple(tuple(-x for x in row[:m]) for row in k[m:])
    k4 = tuple(tuple(row[m:]) for row in k[m:])
    zero = tuple((0,) * m for _ in range(m))
    one = tuple(tuple(1 if i == j else 0 for j in range(m)) for i in range(m))
    u = ((c1, c2, zero, zero), (c2t, c4, zero, zero), (zero, zero, c1, c2), (zero, zero, c2t, c4))
    v = (
        (one, zero, k1, k2),
        (zero, one, k3, k4),
        (_transpose(k1), _transpose(k3), one, zero),
        (_transpose(k2), _transpose(k4), zero, one),
    )
    rows: list[tuple[int, ...]] = []
    for i in range(4):
        border: list[int] = []
        body: list[list[int]] = [[] for _ in range(2 * m)]
        for j in range(4):
            epsilon = SIGNS[i][j]
            sigma = -epsilon if i == j else epsilon
            border += [epsilon] + [sigma] * (2 * m)
            for r in range(m):
                plus = [x + y for x, y in zip(u[i][j][r], v[i][j][r])]
                minus = [x - y for x, y in zip(u[i][j][r], v[i][j][r])]
                body[r] += [sigma] + [epsilon * x for x in plus + minus]
                body[m + r] += [sigma] + [epsilon * x for x in minus + plus]
        rows.append(tuple(border))
        rows.extend(tuple(row) for row in body)
    return tuple(rows)


def _transpose(matrix: Matrix) -> Matrix:
    return tuple(zip(*matrix))
