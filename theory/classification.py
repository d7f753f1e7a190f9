"""The number of Hadamard matrices of order 16, from their five equivalence classes.

**The formula.** The group G of pairs (P, Q) of signed permutation matrices of order n acts on the
Hadamard matrices of order n by H ↦ P H Qᵀ; its orbits are the equivalence classes, and the
stabiliser of H is the automorphism group Aut(H). |G| = (2^n n!)², so by the orbit–stabiliser
theorem the class of H has (2^n n!)² / |Aut(H)| members and

    A(n) = Σ over the classes (2^n n!)² / |Aut(H_i)|    (H_i one matrix of each class).

**The classes.** Hall (M. Hall Jr., "Hadamard matrices of order 16", JPL Research Summary 36-10,
1961) showed that the Hadamard matrices of order 16 fall into exactly five classes. This module
finds five pairwise inequivalent matrices of order 16 itself — Sylvester's S_16, then matrices from
a seeded random search and their transposes — and tells the classes apart by an invariant (the
*pair profile* below): matrices with different invariants are inequivalent, so five distinct
invariants prove five distinct classes, and by Hall's theorem there are no others.

**The pair profile.** For rows a ≠ b and a pair {c, d} of other rows, the number
|Σ_j h_aj h_bj h_cj h_dj| does not change when rows are negated (absolute value), columns negated
(each column contributes a product of four entries of one column, and (±1)⁴ = 1) or permuted; a
row permutation only relabels a, b, c, d. So the multiset, over ordered pairs (a, b), of the
multisets {|Σ_j h_aj h_bj h_cj h_dj| : {c, d}} is an invariant of the class. It refines the
4-profile of Cooper, Milas and Wallis, which does not separate the two classes of order 16 that are
each other's transposes.

**Automorphism groups.** |Aut(H)| is computed along a chain of stabilisers. Let G_L be the
automorphisms that fix rows 0, …, L − 1 of H, signs included (an automorphism moves row i to
± row π(i) and the columns accordingly). By orbit–stabiliser |G_L| = |orbit of row L under G_L|·
|G_{L+1}|, and G_n is trivial (once every row is fixed, H Qᵀ = H forces Q = I because H is
invertible), so |Aut(H)| = Π_L |orbit_L|. The orbit of row L is found by trying each image ± row r
(r ≥ L) and searching for an automorphism that extends it: rows are assigned one by one, and a
partial assignment survives only if

- the pair profile entries of the assigned rows match those of their images, and
- the columns of the image, restricted to the assigned rows and normalised by their first entry,
  form the same multiset as the columns of H restricted to the same rows (a column permutation
  with signs must map one onto the other).

When all rows are assigned, the second condition says that the columns of the image are those of
H up to order and sign, i.e. a Q exists. The search is exhaustive, so an orbit element is never
missed.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations
from math import factorial
from typing import Sequence

from .errors import require_int
from .matrices import Matrix, sign_mask
from .sylvester import sylvester

CLASS_COUNTS: dict[int, int] = {1: 1, 2: 1, 4: 1, 8: 1, 12: 1, 16: 5}
"""The number of equivalence classes of Hadamard matrices of order n: one for n ≤ 12 (for 12,
Todd 1933), five for n = 16 (Hall 1961)."""

SEED = 16
"""Seed of the random search for class representatives, so every run finds the same matrices."""

MAX_SEARCHES = 400
"""Random matrices to draw at most while looking for the classes (order 16 needs a few dozen)."""


@dataclass(frozen=True)
class HadamardClass:
    """One equivalence class: a representative, its invariant and its automorphism group order."""

    representative: Matrix
    invariant: tuple
    automorphisms: int
    found_as: str
    """How the representative was found: "Sylvester", "search #k" or "transpose of search #k"."""

    @property
    def size(self) -> int:
        """The number of matrices in the class, (2^n n!)² / |Aut(H)|."""
        n = len(self.representative)
        return group_order(n) // self.automorphisms


def group_order(n: int) -> int:
    """|G| = (2^n n!)², the number of pairs of signed permutation matrices of order n."""
    return (2**n * factorial(n)) ** 2


def pair_profile_table(h: Sequence[Sequence[int]]) -> list[list[tuple]]:
    """W[a][b] = the sorted counts of |Σ_j h_aj h_bj h_cj h_dj| over pairs {c, d} of other rows
    (W[a][a] = ()). Computed with row bit masks: the sum is n − 2·popcount(r_a ^ r_b ^ r_c ^ r_d)."""
    n = len(h)
    masks = [sign_mask(row) for row in h]
    table: list[list[tuple]] = [[() for _ in range(n)] for _ in range(n)]
    for a, b in combinations(range(n), 2):
        ab = masks[a] ^ masks[b]
        others = [masks[c] for c in range(n) if c not in (a, b)]
        counts = Counter(
            abs(n - 2 * (ab ^ x ^ y).bit_count()) for x, y in combinations(others, 2)
        )
        table[a][b] = table[b][a] = tuple(sorted(counts.items()))
    return table


def pair_profile(h: Sequence[Sequence[int]]) -> tuple:
    """The class invariant: the sorted multiset of W[a][b] over ordered pairs a ≠ b."""
    table = pair_profile_table(h)
    n = len(h)
    return tuple(sorted(Counter(table[a][b] for a in range(n) for b in range(n) if a != b).items()))


def four_profile(h: Sequence[Sequence[int]]) -> tuple:
    """The 4-profile: counts of |Σ_j h_aj h_bj h_cj h_dj| over 4-sets of rows."""
    n = len(h)
    masks = [sign_mask(row) for row in h]
    counts = Counter(
        abs(n - 2 * (a ^ b ^ c ^ d).bit_count()) for a, b, c, d in combinations(masks, 4)
    )
    return tuple(sorted(counts.items()))


def automorphism_group_order(h: Sequence[Sequence[int]]) -> int:
    """|Aut(H)| for a Hadamard matrix H, by the stabiliser chain of the module docstring."""
    n = len(h)
    search = _AutomorphismSearch(h)
    order = 1
    for level in range(n):
        orbit = sum(
            1 for row in range(level, n) for sign in (1, -1) if search.extends(level, row, sign)
        )
        order *= orbit
    return order


class _AutomorphismSearch:
    """Backtracking search for automorphisms of H that fix rows 0 … L − 1 and move row L."""

    def __init__(self, h: Sequence[Sequence[int]]) -> None:
        self.n = len(h)
        self.rows = [sign_mask(row) for row in h]
        self.profile = pair_profile_table(h)
        self.all_columns = (1 << self.n) - 1

    def extends(self, level: int, row: int, sign: int) -> bool:
        """Whether some automorphism maps rows i < level to themselves and row ``level`` to
        sign·row ``row``."""
        images = [(i, 1) for i in range(level)] + [(row, sign)]
        if any(self.profile[i][level] != self.profile[i][row] for i in range(level)):
            return False
        blocks: list[tuple[int, int]] | None = [(self.all_columns, self.all_columns)]
        for depth in range(1, level + 1):
            blocks = self._refine(blocks, depth, images)
            if blocks is None:
                return False
        used = set(range(level)) | {row}
        return self._complete(level + 1, blocks, images, used)

    def _complete(self, depth: int, blocks, images, used) -> bool:
        if depth == self.n:
            return True
        for row in range(self.n):
            if row in used:
                continue
            if any(self.profile[i][depth] != self.profile[image][row] for i, (image, _) in enumerate(images)):
                continue
            for sign in (1, -1):
                images.append((row, sign))
                refined = self._refine(blocks, depth, images)
                found = refined is not None and self._complete(depth + 1, refined, images, used | {row})
                images.pop()
                if found:
                    return True
        return False

    def _refine(self, blocks, depth: int, images):
        """Split each pair (columns of H, columns of the image) with equal signatures so far by
        the new row; None if the two sides of a split differ in size.

        A column's signature is its entries in the assigned rows, divided by its entry in row 0:
        bit set where row ``depth`` differs from row 0 (of H, or of the image with its signs).
        """
        first, first_sign = images[0]
        row, sign = images[depth]
        in_h = self.rows[depth] ^ self.rows[0]
        in_image = self.rows[row] ^ self.rows[first]
        if sign != first_sign:
            in_image ^= self.all_columns
        refined = []
        for h_columns, image_columns in blocks:
            h_set, image_set = h_columns & in_h, image_columns & in_image
            if h_set.bit_count() != image_set.bit_count():
                return None
            if h_set:
                refined.append((h_set, image_set))
            h_rest, image_rest = h_columns & ~in_h, image_columns & ~in_image
            if h_rest:
                refined.append((h_rest, image_rest))
        return refined


def random_hadamard(n: int, rng: random.Random) -> Matrix:
    """A normalised Hadamard matrix of order n (a multiple of 4), by randomised backtracking over
    the rows that start with +1 and have n/2 entries −1."""
    candidates = [sum(1 << j for j in minus) for minus in combinations(range(1, n), n // 2)]
    rng.shuffle(candidates)
    chosen: list[int] = []

    def extend(pool: list[int]) -> bool:
        if len(chosen) == n - 1:
            return True
        for index, mask in enumerate(pool):
            rest = [other for other in pool[index + 1 :] if (mask ^ other).bit_count() == n // 2]
            if len(rest) >= n - 2 - len(chosen):
                chosen.append(mask)
                if extend(rest):
                    return True
                chosen.pop()
        return False

    if not extend(candidates):
        raise AssertionError(f"no Hadamard matrix of order {n} found")
    return tuple(tuple(-1 if mask >> j & 1 else 1 for j in range(n)) for mask in [0] + chosen)


@lru_cache(maxsize=None, typed=True)
def hadamard_classes(n: int) -> tuple[HadamardClass, ...]:
    """One representative of each equivalence class of Hadamard matrices of order n, for the
    orders of :data:`CLASS_COUNTS` that are multiples of 4, with invariants and |Aut|.

    Raises ``ValueError`` for other orders, and ``AssertionError`` if the search finds a
    different number of classes than :data:`CLASS_COUNTS` says (which would contradict the
    published classification or this module).
    """
    require_int("n", n)
    if n not in CLASS_COUNTS or n % 4:
        raise ValueError(f"the classification is available for n in {{4, 8, 12, 16}}, got {n}")
    expected = CLASS_COUNTS[n]
    found: dict[tuple, tuple[Matrix, str]] = {}

    def consider(matrix: Matrix, label: str) -> None:
        found.setdefault(pair_profile(matrix), (matrix, label))

    if n & (n - 1) == 0:
        consider(sylvester(n), "Sylvester")
    rng = random.Random(SEED)
    searches = 0
    while len(found) < expected and searches < MAX_SEARCHES:
        searches += 1
        matrix = random_hadamard(n, rng)
        consider(matrix, f"search #{searches}")
        # The transpose of a Hadamard matrix is Hadamard, and may lie in another class.
        consider(tuple(zip(*matrix)), f"transpose of search #{searches}")
    if len(found) != expected:
        raise AssertionError(
            f"found {len(found)} classes of order {n} in {searches} searches, expected {expected}"
        )
    return tuple(
        HadamardClass(matrix, invariant, automorphism_group_order(matrix), label)
        for invariant, (matrix, label) in found.items()
    )


def count_by_classification(n: int) -> int:
    """A(n) = Σ (2^n n!)² / |Aut(H_i)| over the classes of :func:`hadamard_classes`."""
    total = 0
    for cls in hadamard_classes(n):
        size, remainder = divmod(group_order(n), cls.automorphisms)
        if remainder:
            raise ArithmeticError(f"|Aut| = {cls.automorphisms} does not divide |G| at n={n}")
        total += size
    return total
