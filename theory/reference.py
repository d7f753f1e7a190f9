"""Reference values that the computed counts and constructions are checked against.

These come from the literature or from hand derivations written out below, and the list of orders
below 1000 from ``theory/data/orders_below_1000.txt``; nothing here was obtained by running this
package.
"""

from __future__ import annotations

from .tables import table_lines

HADAMARD_COUNTS_A206712: dict[int, int] = {
    1: 2,
    2: 8,
    4: 768,
    8: 4_954_521_600,
    12: 20_251_509_535_014_912_000,
    16: 88_526_812_916_367_202_104_587_059_200_000,
}
"""The number of n×n Hadamard matrices, OEIS A206712 (https://oeis.org/A206712); 0 for the
orders 3, 5, 6, 7, … that are not 1, 2 or a multiple of 4."""

ORDERS_TABLE = "orders_below_1000.txt"
OPEN = "open"
"""The word ``theory/data/orders_below_1000.txt`` writes for an order with no known matrix."""


def expected_orders() -> dict[int, str]:
    """Order → the construction the registry is expected to use (its ``str``), or ``"open"``, for
    every order below 1000 for which a Hadamard matrix may exist; read from
    ``theory/data/orders_below_1000.txt``, which was written independently of the registry."""
    expected: dict[int, str] = {}
    for line, fields in table_lines(ORDERS_TABLE):
        order, description = int(fields[0]), " ".join(fields[1:])
        if order in expected or not description:
            raise ValueError(f"{ORDERS_TABLE}:{line}: malformed or repeated order {order}")
        expected[order] = description
    return expected

WEIGHING_COUNTS: dict[int, tuple[int, ...]] = {
    1: (1, 2),
    2: (1, 8, 8),
    3: (1, 48, 0, 0),
    4: (1, 384, 1152, 3072, 768),
    5: (1, 3840, 0, 0, 0, 0),
    6: (1, 46080, 691200, 0, 5529600, 8847360, 0),
}
"""WEIGHING_COUNTS[n][w] = the number of W(n, w), i.e. {0, ±1} matrices with W Wᵀ = w I.

Derivations (all counts are of matrices, not of equivalence classes):

- w = 0: only the zero matrix.
- w = 1: the signed permutation matrices, 2^n·n!.
- w = 2, n even: the support is a disjoint union of n/2 blocks 1_{2×2} (two rows meeting in one
  column would have inner product ±1). Pairings of the rows and of the columns, a bijection
  between them, and a Hadamard matrix of order 2 (8 of them) in each block:
  (n!/(2^{n/2}(n/2)!))²·(n/2)!·8^{n/2}, i.e. 1152 at n = 4 and 691200 at n = 6.
- n odd: det(W)² = det(W Wᵀ) = w^n must be a square, so w must be a square: W(3, 2), W(5, 2),
  W(5, 3) = 0. W(3, 3) = W(5, 5) = W(6, 6) = 0: a Hadamard order is 1, 2 or a multiple of 4.
- W(5, 4) = 0: each row has one zero, and after normalising, row (0, 1, 1, 1, 1) against a row
  (1, 0, ±1, ±1, ±1) needs three signs summing to 0.
- W(6, 3) = 0: for n ≡ 2 mod 4, w must be a sum of two squares (Geramita–Seberry).
- w = n − 1 (conference matrices), n = 4, 6: the zeros form a permutation matrix (n! ways). For the
  diagonal pattern, sign changes D₁ W D₂ act with orbits of size 2^{2n−1}, and each orbit holds two
  normalised matrices (first row and column +1 off the diagonal), with cores C and −C. At n = 4
  the core is [[0, a, −a], [−a, 0, a], [a, −a, 0]], a = ±1: one orbit, 4!·2^7 = 3072. At n = 6 the
  normalised core is symmetric, J − I − 2A for A the adjacency matrix of a labelled pentagon
  (the only strongly regular graph with these parameters): 12 cores, 6 orbits, 6!·6·2^11.
- W(6, 4): two rows' zero pairs are equal or disjoint (their supports meet in 2 + |Z_i ∩ Z_j|
  columns, an even number), so rows and columns are split into three pairs, matched
  (15·15·6 = 1350 patterns). With the zero blocks on the diagonal, the six 2×2 ±1 blocks are rank
  one (B Dᵀ = A Fᵀ = C Eᵀ = 0), each αβᵀ, with constraints fixing three row-type and three
  column-type parities: 2³·2³·2⁶ = 4096 matrices per pattern, 1350·4096 = 5529600.
- w = n: the Hadamard counts above.
"""
