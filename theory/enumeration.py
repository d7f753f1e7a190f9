"""Enumeration and counting, computed by search and never looked up.

Rows of ±1 matrices are bit masks (bit j set iff entry j is −1; see :mod:`theory.matrices`), so
two rows of length n are orthogonal iff popcount(a ^ b) = n/2. Sets of mutually orthogonal rows
are cliques of the "orthogonality graph", which :func:`count_cliques` counts with adjacency bit
sets.

Counting Hadamard matrices of order n (OEIS A206712) goes through normalised matrices (first row
and column all +1):

- The pairs (D₁, D₂) of diagonal ±1 matrices act on Hadamard matrices by H ↦ D₁ H D₂. Only
  (I, I) and (−I, −I) fix H: d₁ᵢ d₂ⱼ hᵢⱼ = hᵢⱼ with hᵢⱼ ≠ 0 forces d₁ᵢ = d₂ⱼ for all i, j. So each
  orbit has 2^{2n}/2 = 2^{2n−1} members. Exactly one is normalised: D₂ is fixed by the first row
  and D₁ by the first column, up to the common sign that does not act.
- A normalised matrix is the all-ones row followed by an ordered (n−1)-tuple of mutually
  orthogonal rows from the set V of rows that start with +1 and are orthogonal to the all-ones
  row (n/2 entries −1). Ordered tuples are (n−1)! times as many as sets, i.e. cliques.

Hence #Hadamard(n) = 2^{2n−1} · (n−1)! · #{(n−1)-cliques of V}.
"""

from __future__ import annotations

from fractions import Fraction
from itertools import combinations, product
from math import factorial
from typing import Sequence

from .classification import count_by_classification
from .errors import SizeLimitError, require_int
from .families import block_hadamrnn_matrix, hadamrnn_matrix, sign_vectors, two_sided_matrix
from .matrices import Matrix
from .predicates import is_hadamard

BRUTE_FORCE_MAX_ORDER = 4
"""Brute force visits all 2^{n²} sign matrices: 65,536 at n = 4, 2^25 at n = 5."""

COUNT_MAX_ORDER = 16
"""The largest multiple of 4 that :func:`count_hadamard` counts."""

SEARCH_MAX_ORDER = 12
"""The largest multiple of 4 counted by clique search: order 16 has about 3·10^10 cliques, so it is
counted from its equivalence classes instead (:mod:`theory.classification`)."""

CLASSIFICATION_ORDERS = (16,)
"""The orders :func:`count_hadamard` counts from the classification into equivalence classes."""

COUNT_MAX_ZERO_ORDER = 23
"""The largest order not divisible by 4 that :func:`count_hadamard` searches (the count is 0,
but the candidate rows number C(n−1, n/2))."""

WEIGHING_MAX_ORDER = 8
"""The largest order :func:`count_weighing` searches (a few seconds at n = 8)."""


def all_hadamard_matrices(n: int) -> list[Matrix]:
    """Every Hadamard matrix of order n ≤ 4, by testing all 2^{n²} ±1 matrices."""
    require_int("n", n)
    if not 1 <= n <= BRUTE_FORCE_MAX_ORDER:
        raise ValueError(f"brute force is limited to 1 <= n <= {BRUTE_FORCE_MAX_ORDER}, got {n}")
    rows = list(product((1, -1), repeat=n))
    return [matrix for matrix in product(rows, repeat=n) if is_hadamard(matrix)]


def count_cliques(adjacency: Sequence[int], candidates: int, size: int) -> int:
    """The number of ``size``-subsets of ``candidates`` whose members are pairwise adjacent.

    Vertices are indices; ``candidates`` and ``adjacency[v]`` are bit sets of them. Each clique
    is counted once, from its lowest vertex: after v is tried it leaves the candidates.
    """
    if size == 0:
        return 1
    if size == 1:
        return candidates.bit_count()
    total = 0
    while candidates.bit_count() >= size:
        lowest = candidates & -candidates
        candidates ^= lowest
        vertex = lowest.bit_length() - 1
        total += count_cliques(adjacency, candidates & adjacency[vertex], size - 1)
    return total


def normalised_row_candidates(n: int) -> list[int]:
    """The masks of the ±1 rows of length n that start with +1 and have n/2 entries −1."""
    if n % 2:
        return []
    return [sum(1 << j for j in minus) for minus in combinations(range(1, n), n // 2)]


def count_normalised_hadamard(n: int, *, use_transitivity: bool = True) -> int:
    """The number of normalised Hadamard matrices of order n, by clique counting.

    With ``use_transitivity`` the search is fixed on one vertex v₀ of V. The permutations of
    columns 1 … n−1 map V onto V, keep orthogonality and act transitively on V (any two n/2-subsets
    of those columns are related by one), so every vertex lies in the same number c of k-cliques,
    k = n − 1. Counting vertex–clique incidences both ways gives |V|·c = k·#cliques, and c is the
    number of (k−1)-cliques among the neighbours of v₀. Without it every clique is enumerated;
    the two agree, which is a claim checked in ``verify``.
    """
    require_int("n", n)
    _require_countable(n, SEARCH_MAX_ORDER)
    rows_needed = n - 1
    if rows_needed == 0:
        return 1  # the matrix [1]
    if n % 2:
        return 0  # a ±1 row of odd length has an odd inner product with the all-ones row
    vertices = normalised_row_candidates(n)
    if not use_transitivity:
        adjacency = _orthogonality_graph(vertices, n)
        cliques = count_cliques(adjacency, (1 << len(vertices)) - 1, rows_needed)
    else:
        neighbours = _orthogonal_rows(vertices[0], vertices, n)
        adjacency = _orthogonality_graph(neighbours, n)
        through_first = count_cliques(adjacency, (1 << len(neighbours)) - 1, rows_needed - 1)
        cliques, remainder = divmod(len(vertices) * through_first, rows_needed)
        if remainder:
            raise ArithmeticError(f"transitivity argument failed at n={n}: remainder {remainder}")
    return factorial(rows_needed) * cliques


def _require_countable(n: int, multiple_of_4_limit: int) -> None:
    """Refuse an order outside the counted range before anything is computed."""
    limit = multiple_of_4_limit if n % 4 == 0 else COUNT_MAX_ZERO_ORDER
    if not 1 <= n <= limit:
        error = SizeLimitError if n > limit else ValueError
        raise error(
            f"counting is limited to 1 <= n <= {multiple_of_4_limit} for multiples of 4 and to "
            f"n <= {COUNT_MAX_ZERO_ORDER} otherwise, got {n}"
        )


def count_hadamard(n: int, *, use_transitivity: bool = True) -> int:
    """The number of Hadamard matrices of order n (OEIS A206712).

    For n ≤ 12, and every n ≤ 23 that is not a multiple of 4, by clique search:
    #H(n) = 2^{2n−1} · #normalised(n), see the module docstring. For n = 16 from the five
    equivalence classes and their automorphism groups (:mod:`theory.classification`).
    :func:`counting_method` says which. Raises ``TypeError`` unless n is an int (a bool or a
    float is refused) and ``ValueError`` outside the range, before anything is computed.
    """
    require_int("n", n)
    _require_countable(n, COUNT_MAX_ORDER)
    if n in CLASSIFICATION_ORDERS:
        return count_by_classification(n)
    return 2 ** (2 * n - 1) * count_normalised_hadamard(n, use_transitivity=use_transitivity)


def counting_method(n: int) -> str:
    """How :func:`count_hadamard` counts order n, in words."""
    require_int("n", n)
    _require_countable(n, COUNT_MAX_ORDER)
    if n in CLASSIFICATION_ORDERS:
        return (
            f"classification into the 5 equivalence classes of order {n} (Hall 1961): the sum of "
            f"(2^{n}·{n}!)²/|Aut(H)| over one matrix of each class; the classes are found by a "
            "seeded search and told apart by their pair profile, and each |Aut(H)| is computed by "
            "a stabiliser-chain search"
        )
    if n % 2 and n > 1:
        return "parity: a ±1 row of odd length is never orthogonal to the all-ones row"
    return (
        "clique search: 2^(2n−1)·(n−1)!·(the number of (n−1)-cliques of mutually orthogonal "
        "normalised rows)"
    )


def _orthogonal_rows(mask: int, candidates: Sequence[int], n: int) -> list[int]:
    """The candidates orthogonal to the ±1 row ``mask`` (they differ in exactly n/2 places)."""
    half = n // 2
    return [other for other in candidates if (mask ^ other).bit_count() == half]


def _orthogonality_graph(vertices: Sequence[int], n: int) -> list[int]:
    """Adjacency bit sets: i ~ j iff the ±1 rows with masks vertices[i], vertices[j] are
    orthogonal."""
    half = n // 2
    return [
        sum(1 << j for j, other in enumerate(vertices) if (mask ^ other).bit_count() == half)
        for mask in vertices
    ]


def count_weighing(n: int, weight: int) -> int:
    """The number of weighing matrices W(n, w): entries in {0, ±1} with W Wᵀ = w I.

    For w ≥ 1 the rows are distinct (two equal non-zero rows have inner product w ≠ 0), so a
    W(n, w) is an ordered n-tuple of mutually orthogonal rows of weight w. Each row is ± a row
    whose first non-zero entry is +1, so #W(n, w) = n! · 2^n · #{n-cliques of those rows}.
    Raises ``TypeError`` unless n and w are ints (bools and floats are refused).
    """
    require_int("n", n)
    require_int("weight", weight)
    if not 1 <= n <= WEIGHING_MAX_ORDER:
        raise ValueError(
            f"counting weighing matrices is limited to 1 <= n <= {WEIGHING_MAX_ORDER}, got {n}"
        )
    if weight == 0:
        return 1  # W Wᵀ = 0 forces every row to be zero
    if not 0 < weight <= n:
        return 0
    rows = _weighing_row_candidates(n, weight)
    adjacency = [
        sum(1 << j for j, other in enumerate(rows) if _ternary_orthogonal(row, other))
        for row in rows
    ]
    cliques = count_cliques(adjacency, (1 << len(rows)) - 1, n)
    return factorial(n) * 2**n * cliques


def _weighing_row_candidates(n: int, weight: int) -> list[tuple[int, int]]:
    """(support mask, negative-entry mask) of every row of weight w whose first non-zero
    entry is +1."""
    rows = []
    for support in range(1 << n):
        if support.bit_count() != weight:
            continue
        first = support & -support
        rest = support ^ first
        negative = rest
        while True:  # every subset of ``rest``, by the standard submask walk
            rows.append((support, negative))
            if negative == 0:
                break
            negative = (negative - 1) & rest
    return rows


def _ternary_orthogonal(a: tuple[int, int], b: tuple[int, int]) -> bool:
    """On the common support, the entries of opposite sign must be exactly half."""
    common = a[0] & b[0]
    return common.bit_count() == 2 * (common & (a[1] ^ b[1])).bit_count()


def hadamrnn_family(n: int) -> frozenset[Matrix]:
    """{√n·W(u) = diag(u)·S_n : u ∈ {±1}^n}, all members, as a set."""
    return frozenset(hadamrnn_matrix(u) for u in sign_vectors(n))


def block_hadamrnn_family(n: int, block_size: int) -> frozenset[Matrix]:
    """{√m·W(u) = diag(u)·(I_q ⊗ S_m) : u ∈ {±1}^n}, as a set."""
    return frozenset(block_hadamrnn_matrix(u, block_size) for u in sign_vectors(n))


def two_sided_family(n: int) -> frozenset[Matrix]:
    """{diag(u)·S_n·diag(v) : u, v ∈ {±1}^n}, as a set."""
    return frozenset(two_sided_matrix(u, v) for u in sign_vectors(n) for v in sign_vectors(n))


def hadamrnn_share(n: int) -> Fraction:
    """The share of the HadamRNN family among all binary orthogonal matrices of order n.

    Binary orthogonal matrices are exactly H/√n with H Hadamard (see
    :func:`theory.predicates.is_binary_orthogonal`), so there are #Hadamard(n) of them.
    """
    return Fraction(len(hadamrnn_family(n)), count_hadamard(n))
