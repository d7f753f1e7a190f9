"""Paley's constructions of Hadamard matrices from the quadratic character of GF(q).

The Jacobsthal matrix of GF(q) is Q[a][b] = χ(a − b). It satisfies Q Qᵀ = q I − J and
Q J = J Q = 0, and Qᵀ = χ(−1) Q, where χ(−1) = +1 if q ≡ 1 mod 4 and −1 if q ≡ 3 mod 4. Bordering
Q gives a conference matrix C (zero diagonal, C Cᵀ = q I) of order q + 1:

- Paley I, q ≡ 3 mod 4: C = [[0, 1ᵀ], [−1, Q]] is skew, and H = I + C has order q + 1.
- Paley II, q ≡ 1 mod 4: C = [[0, 1ᵀ], [1, Q]] is symmetric, and
  H = C ⊗ [[1, 1], [1, −1]] + I ⊗ [[1, −1], [−1, −1]] has order 2(q + 1).
"""

from __future__ import annotations

from itertools import chain

from .errors import ConstructionError
from .finite_field import GaloisField, prime_power
from .matrices import Matrix


def jacobsthal(field: GaloisField) -> Matrix:
    """Q[a][b] = χ(a − b), indexed by the field's element encoding."""
    chi = [field.quadratic_character(a) for a in field.elements]
    if field.degree == 1:
        # In a prime field a − b is (a − b) mod q, so row a is row 0 rotated right by a places.
        first = tuple(chi[-b % field.order] for b in field.elements)
        return tuple(first[-a:] + first[:-a] if a else first for a in field.elements)
    return tuple(tuple(chi[field.sub(a, b)] for b in field.elements) for a in field.elements)


def paley_i(q: int) -> Matrix:
    """The Paley I Hadamard matrix of order q + 1, for a prime power q ≡ 3 mod 4."""
    _require_prime_power(q, residue=3, construction="Paley I")
    q_matrix = jacobsthal(GaloisField(q))
    first_row = (1,) * (q + 1)
    # H = I + C: the diagonal of Q is χ(0) = 0, so adding I puts a 1 there.
    rows = tuple((-1,) + q_row[:a] + (1,) + q_row[a + 1 :] for a, q_row in enumerate(q_matrix))
    return (first_row,) + rows


def paley_ii(q: int) -> Matrix:
    """The Paley II Hadamard matrix of order 2(q + 1), for a prime power q ≡ 1 mod 4."""
    _require_prime_power(q, residue=1, construction="Paley II")
    conference = _symmetric_conference(q)
    on_entry = {1: ((1, 1), (1, -1)), -1: ((-1, -1), (-1, 1)), 0: ((1, -1), (-1, -1))}
    return tuple(
        tuple(chain.from_iterable(on_entry[c][half] for c in c_row))
        for c_row in conference
        for half in (0, 1)
    )


def _symmetric_conference(q: int) -> Matrix:
    """C = [[0, 1ᵀ], [1, Q]], the symmetric conference matrix of order q + 1 (q ≡ 1 mod 4)."""
    q_matrix = jacobsthal(GaloisField(q))
    return ((0,) + (1,) * q,) + tuple((1,) + row for row in q_matrix)


def _require_prime_power(q: int, residue: int, construction: str) -> None:
    if prime_power(q) is None or q % 4 != residue:
        raise ConstructionError(
            f"{construction} needs a prime power q ≡ {residue} mod 4, got q={q}"
        )
