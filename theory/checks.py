"""The checks behind the exact-construction and enumeration claims of ``verify``.

Each check takes the claim's range limit, raises :class:`~theory.errors.ClaimFailed` (through
:func:`~theory.errors.require`) on the first counterexample, and returns a short detail for the
table. Its docstring names its claim id. The symbolic checks are in :mod:`theory.symbolic`, the
checks of the constructions beyond Sylvester and Paley and of the registry in
:mod:`theory.construction_checks`, and the cross-checks with the PyTorch library in
:mod:`theory.crosscheck`.
"""

from __future__ import annotations

import random
from fractions import Fraction
from itertools import product
from math import isqrt
from typing import Any

from .classification import (
    CLASS_COUNTS,
    count_by_classification,
    four_profile,
    group_order,
    hadamard_classes,
)
from .enumeration import (
    all_hadamard_matrices,
    block_hadamrnn_family,
    count_hadamard,
    count_weighing,
    hadamrnn_family,
    hadamrnn_share,
    two_sided_family,
)
from .equivalence import (
    is_normalised,
    negate_columns,
    negate_rows,
    normalise,
    permute_columns,
    permute_rows,
)
from .errors import require
from .families import block_hadamrnn_matrix, sign_vectors
from .finite_field import GaloisField, prime_power
from .fwht import butterfly_factors
from .kronecker import kronecker
from .matrices import Matrix, determinant, identity, matmul, scalar_matrix, trace, transpose
from .paley import jacobsthal, paley_i, paley_ii
from .predicates import is_binary_orthogonal, is_hadamard, is_weighing
from .reference import HADAMARD_COUNTS_A206712, WEIGHING_COUNTS
from .registry import hadamard, orders_below
from .sylvester import powers_of_two, sylvester, sylvester_entry

SEED = 20250201
"""Seed of the pseudo-random equivalence operations and sign vectors, so runs are repeatable."""


def check_sylvester_hadamard(limit: int) -> str:
    """Claim: ``sylvester.hadamard``."""
    for n in powers_of_two(limit):
        s = sylvester(n)
        require(is_hadamard(s), f"S_{n} is not Hadamard")
        require(s == transpose(s), f"S_{n} is not symmetric")
        closed_form = tuple(tuple(sylvester_entry(i, j) for j in range(n)) for i in range(n))
        require(s == closed_form, f"S_{n} differs from (−1)^popcount(i & j)")
    return f"{len(powers_of_two(limit))} orders"


def check_sylvester_spectrum(limit: int) -> str:
    """Claim: ``sylvester.spectrum``."""
    for n in powers_of_two(limit):
        s = sylvester(n)
        require(matmul(s, s) == scalar_matrix(n, n), f"S_{n}² ≠ {n}·I")
        require(trace(s) == (1 if n == 1 else 0), f"trace S_{n} = {trace(s)}")
        expected = 1 if n == 1 else (-1) ** (n // 2) * n ** (n // 2)
        require(determinant(s) == expected, f"det S_{n} = {determinant(s)}, expected {expected}")
    return "eigenvalues ±√n, n/2 each (n ≥ 2)"


def check_finite_field_axioms(limit: int) -> str:
    """Claim: ``finite_field.axioms``."""
    orders = [q for q in range(2, limit + 1) if prime_power(q)]
    for q in orders:
        field = GaloisField(q)
        _require_field_axioms(field)
        _require_quadratic_character(field)
    return f"q = {', '.join(map(str, orders))}"


def _require_field_axioms(f: GaloisField) -> None:
    elements = f.elements
    for a in elements:
        require(f.add(a, 0) == a and f.mul(a, 1) == a, f"{f}: identities fail at {a}")
        require(f.add(a, f.neg(a)) == 0, f"{f}: a + (−a) ≠ 0 at {a}")
        require(a == 0 or f.mul(a, f.inverse(a)) == 1, f"{f}: a·a⁻¹ ≠ 1 at {a}")
        for b in elements:
            require(f.add(a, b) == f.add(b, a), f"{f}: + not commutative")
            require(f.mul(a, b) == f.mul(b, a), f"{f}: · not commutative")
            require(f.sub(a, b) == f.add(a, f.neg(b)), f"{f}: a − b ≠ a + (−b)")
            for c in elements:
                require(f.add(f.add(a, b), c) == f.add(a, f.add(b, c)), f"{f}: + not associative")
                require(f.mul(f.mul(a, b), c) == f.mul(a, f.mul(b, c)), f"{f}: · not associative")
                require(
                    f.mul(a, f.add(b, c)) == f.add(f.mul(a, b), f.mul(a, c)),
                    f"{f}: not distributive",
                )


def _require_quadratic_character(f: GaloisField) -> None:
    chi = f.quadratic_character
    for a in f.elements:
        for b in f.elements:
            require(chi(f.mul(a, b)) == chi(a) * chi(b), f"{f}: χ is not multiplicative")
    if f.characteristic != 2:
        squares = sum(1 for a in f.elements if chi(a) == 1)
        require(squares == (f.order - 1) // 2, f"{f}: {squares} non-zero squares")
        require(chi(f.neg(1)) == (-1) ** ((f.order - 1) // 2), f"{f}: χ(−1) is wrong")


def check_paley_i(limit: int) -> str:
    """Claim: ``paley1.hadamard``."""
    qs = [q for q in range(3, limit - 1) if q % 4 == 3 and prime_power(q)]  # q + 1 < limit
    for q in qs:
        q_matrix = jacobsthal(GaloisField(q))
        require(all(sum(row) == 0 for row in q_matrix), f"q={q}: a row of Q does not sum to 0")
        negated = tuple(tuple(-x for x in row) for row in q_matrix)
        require(transpose(q_matrix) == negated, f"q={q}: Q is not skew-symmetric")
        h = paley_i(q)
        require(len(h) == q + 1 and is_hadamard(h), f"Paley I fails at q={q}")
    return f"{len(qs)} prime powers q"


def check_paley_ii(limit: int) -> str:
    """Claim: ``paley2.hadamard``."""
    qs = [q for q in range(5, limit) if q % 4 == 1 and 2 * (q + 1) < limit and prime_power(q)]
    for q in qs:
        q_matrix = jacobsthal(GaloisField(q))
        require(all(sum(row) == 0 for row in q_matrix), f"q={q}: a row of Q does not sum to 0")
        require(transpose(q_matrix) == q_matrix, f"q={q}: Q is not symmetric")
        h = paley_ii(q)
        require(len(h) == 2 * (q + 1) and is_hadamard(h), f"Paley II fails at q={q}")
    return f"{len(qs)} prime powers q"


def check_kronecker_hadamard(limit: int) -> str:
    """Claim: ``kronecker.hadamard``."""
    orders = [n for n, construction in orders_below(limit // 2 + 1) if construction and n >= 2]
    pairs = [(a, b) for a in orders for b in orders if a * b <= limit]
    for a, b in pairs:
        product_ = kronecker(hadamard(a), hadamard(b))
        require(is_hadamard(product_), f"H_{a} ⊗ H_{b} is not Hadamard")
    return f"{len(pairs)} pairs"


def check_equivalence_invariance(limit: int) -> str:
    """Claim: ``equivalence.invariance``."""
    rng = random.Random(SEED)
    orders = [n for n, construction in orders_below(limit + 1) if construction]
    for n in orders:
        h = hadamard(n)
        rows, columns = list(range(n)), list(range(n))
        rng.shuffle(rows)
        rng.shuffle(columns)
        row_signs, column_signs = _random_signs(rng, n), _random_signs(rng, n)
        moved = permute_columns(permute_rows(h, rows), columns)
        signed = negate_columns(negate_rows(h, row_signs), column_signs)
        for name, image in (("permuted", moved), ("negated", signed)):
            require(is_hadamard(image), f"n={n}: a {name} Hadamard matrix is not Hadamard")
        normal = normalise(h)
        require(is_normalised(normal) and is_hadamard(normal), f"n={n}: normalise failed")
        require(normalise(signed) == normal, f"n={n}: normal form depends on the signs")
    return f"{len(orders)} orders"


def _random_signs(rng: random.Random, n: int) -> tuple[int, ...]:
    return tuple(rng.choice((1, -1)) for _ in range(n))


def check_order_condition(limit: int) -> str:
    """Claim: ``hadamard.order_condition``."""
    orders = [n for n in range(3, limit + 1) if n % 4]
    for n in orders:
        require(count_hadamard(n) == 0, f"found a Hadamard matrix of order {n}")
    return f"n = {orders[0]} … {orders[-1]}, {len(orders)} orders"


def check_small_hadamard(limit: int) -> str:
    """Claim: ``count.hadamard.small``."""
    counts = []
    for n in range(1, limit + 1):
        matrices = all_hadamard_matrices(n)
        expected = HADAMARD_COUNTS_A206712.get(n, 0)
        found = len(matrices)
        require(found == expected, f"brute force found {found} at n={n}, expected {expected}")
        require(count_hadamard(n) == expected, f"the clique count differs at n={n}")
        if matrices:
            canonical = normalise(sylvester(n))
            normal_forms = {normalise(h) for h in matrices}
            canonical_rows = sorted(canonical)
            require(
                all(sorted(form) == canonical_rows for form in normal_forms),
                f"a Hadamard matrix of order {n} is not equivalent to S_{n}",
            )
        counts.append(f"{n}→{len(matrices)}")
    return ", ".join(counts) + "; each equivalent to S_n"


def check_count_8(limit: int) -> str:
    """Claim: ``count.hadamard.8``."""
    return _require_count(8)


def check_count_12(limit: int) -> str:
    """Claim: ``count.hadamard.12``."""
    return _require_count(12)


def _require_count(n: int) -> str:
    count = count_hadamard(n)
    expected = HADAMARD_COUNTS_A206712[n]
    require(count == expected, f"counted {count:,} of order {n}, OEIS A206712 has {expected:,}")
    return f"{count:,}"


def check_count_16(limit: int) -> str:
    """Claim: ``count.hadamard.16``."""
    classes = hadamard_classes(16)
    require(len(classes) == CLASS_COUNTS[16], f"{len(classes)} classes, expected {CLASS_COUNTS[16]}")
    invariants = {cls.invariant for cls in classes}
    require(len(invariants) == len(classes), "two representatives share their pair profile")
    for cls in classes:
        require(is_hadamard(cls.representative), f"the representative {cls.found_as} is not Hadamard")
        require(group_order(16) % cls.automorphisms == 0, f"|Aut| = {cls.automorphisms} ∤ |G|")
    count = count_hadamard(16)
    expected = HADAMARD_COUNTS_A206712[16]
    require(count == expected, f"counted {count:,} of order 16, OEIS A206712 has {expected:,}")
    orders = ", ".join(f"{cls.automorphisms:,}" for cls in sorted(classes, key=lambda c: -c.automorphisms))
    return f"{count:,}; |Aut| of the five classes: {orders}"


def check_classification(limit: int) -> str:
    """Claim: ``count.hadamard.classification``."""
    orders = [n for n in (4, 8, 12) if n <= limit]
    for n in orders:
        by_classes = count_by_classification(n)
        by_search = count_hadamard(n)
        require(by_classes == by_search, f"n={n}: {by_classes} from the classes, {by_search} by search")
    # The pair profile refines the 4-profile, which cannot tell the two transposed classes apart.
    profiles = {four_profile(cls.representative) for cls in hadamard_classes(16)}
    require(len(profiles) == 4, f"the 4-profile takes {len(profiles)} values on the classes of order 16")
    return f"n = {', '.join(map(str, orders))}; the 4-profile alone separates 4 of the 5 classes of order 16"


def check_transitivity(limit: int) -> str:
    """Claim: ``count.hadamard.transitivity``."""
    orders = [n for n in (1, 2, 4, 8, 12) if n <= limit]
    for n in orders:
        reduced = count_hadamard(n, use_transitivity=True)
        direct = count_hadamard(n, use_transitivity=False)
        require(reduced == direct, f"n={n}: {reduced} with the reduction, {direct} without")
    return f"n = {', '.join(map(str, orders))}"


def check_binary_orthogonal(limit: int) -> str:
    """Claim: ``binary_orthogonal.scaled_hadamard``."""
    counts = []
    for n in range(1, limit + 1):
        a = _inverse_square_root(n)
        sign_rows = list(product((1, -1), repeat=n))
        scaled_rows = {row: tuple(a * x for x in row) for row in sign_rows}
        orthogonal = 0
        for h in product(sign_rows, repeat=n):
            is_orthogonal = is_binary_orthogonal(tuple(scaled_rows[row] for row in h))
            require(is_orthogonal == is_hadamard(h), f"n={n}: a·H orthogonal ≠ H Hadamard")
            if is_orthogonal:
                orthogonal += 1
                # Any other scale fails: with a = 1 the rows have norm √n ≠ 1.
                require(n == 1 or not is_binary_orthogonal(h), f"n={n}: H itself passed")
        expected = HADAMARD_COUNTS_A206712.get(n, 0)
        require(orthogonal == expected, f"n={n}: {orthogonal} are orthogonal, expected {expected}")
        counts.append(f"{n}→{orthogonal}")
    return ", ".join(counts)


def _inverse_square_root(n: int) -> Any:
    """1/√n exactly: a Fraction when n is a perfect square, a sympy number otherwise."""
    root = isqrt(n)
    if root * root == n:
        return Fraction(1, root)
    import sympy

    return 1 / sympy.sqrt(n)


def check_weighing_counts(limit: int) -> str:
    """Claim: ``count.weighing``."""
    for n in range(1, limit + 1):
        counts = tuple(count_weighing(n, w) for w in range(n + 1))
        expected = WEIGHING_COUNTS[n]
        require(counts == expected, f"W({n}, w) counts {counts}, expected {expected}")
        require(counts[n] == count_hadamard(n), f"W({n}, {n}) differs from the Hadamard count")
    return f"W({limit}, w) for w = 0 … {limit}: {', '.join(map(str, WEIGHING_COUNTS[limit]))}"


def check_hadamrnn_family(limit: int) -> str:
    """Claim: ``hadamrnn.family_size``."""
    for n in powers_of_two(limit):
        family = hadamrnn_family(n)
        require(len(family) == 2**n, f"n={n}: {len(family)} distinct W(u), expected 2^n")
        require(all(is_hadamard(m) for m in family), f"n={n}: a √n·W(u) is not Hadamard")
        positive = sum(1 for m in family if determinant(m) > 0)
        require(positive == 2 ** (n - 1), f"n={n}: {positive} with det > 0, expected 2^(n−1)")
    return f"n = {', '.join(map(str, powers_of_two(limit)))}"


def check_hadamrnn_share(limit: int) -> str:
    """Claim: ``hadamrnn.share``."""
    shares = []
    for n in (4, 8):
        if n > limit:
            continue
        share = hadamrnn_share(n)
        expected = Fraction(2**n, HADAMARD_COUNTS_A206712[n])
        require(share == expected, f"n={n}: share {share}, expected {expected}")
        shares.append(f"{n}: {share}")
    return "; ".join(shares)


def check_two_sided_family(limit: int) -> str:
    """Claim: ``hadamrnn.two_sided_family``."""
    for n in powers_of_two(limit):
        family = two_sided_family(n)
        size = len(family)
        require(size == 2 ** (2 * n - 1), f"n={n}: {size} members, expected 2^(2n−1)")
        require(all(is_hadamard(m) for m in family), f"n={n}: a member is not Hadamard")
    return f"n = {', '.join(map(str, powers_of_two(limit)))}"


def check_block_family(limit: int) -> str:
    """Claim: ``block_hadamrnn.family_size``."""
    pairs = [(n, m) for n in powers_of_two(limit) for m in powers_of_two(n)]
    for n, m in pairs:
        size = len(block_hadamrnn_family(n, m))
        require(size == 2**n, f"n={n}, m={m}: {size} distinct matrices, expected 2^n")
    return f"{len(pairs)} pairs (n, m)"


EXHAUSTIVE_SIGNS_MAX_ORDER = 8
"""Up to this order the sparsity claim visits every sign vector; above it, a seeded sample."""


def check_block_sparsity(limit: int) -> str:
    """Claim: ``block_hadamrnn.sparsity``."""
    rng = random.Random(SEED)
    for n in powers_of_two(limit):
        if n <= EXHAUSTIVE_SIGNS_MAX_ORDER:
            vectors = list(sign_vectors(n))
        else:
            vectors = [(1,) * n, (-1,) * n] + [_random_signs(rng, n) for _ in range(4)]
        for m in powers_of_two(n):
            for u in vectors:
                _require_block_structure(block_hadamrnn_matrix(u, m), n, m)
    return "every u up to n = 8, 6 sign vectors above"


def _require_block_structure(w: Matrix, n: int, m: int) -> None:
    """√m·W has m non-zeros per row and column, on the zeros of I_q ⊗ J_m, and is orthogonal."""
    label = f"n={n}, m={m}"
    for name, lines in (("row", w), ("column", transpose(w))):
        require(all(sum(1 for x in line if x) == m for line in lines), f"{label}: a {name} has ≠ m")
    support = tuple(tuple(1 if x else 0 for x in row) for row in w)
    ones_blocks = tuple(tuple(1 if i // m == j // m else 0 for j in range(n)) for i in range(n))
    require(support == ones_blocks, f"{label}: the zero pattern is not I_q ⊗ 1_(m×m)")
    require(is_weighing(w, m), f"{label}: (√m·W)(√m·W)ᵀ ≠ m I")
    density = Fraction(sum(map(sum, support)), n * n)
    require(density == Fraction(m, n), f"{label}: density {density}, expected m/n")


def check_fwht_factorisation(limit: int) -> str:
    """Claim: ``fwht.factorisation``."""
    for n in powers_of_two(limit):
        factors = butterfly_factors(n)
        require(len(factors) == n.bit_length() - 1, f"n={n}: {len(factors)} stages, not log2 n")
        for factor in factors:
            butterfly = all(sum(1 for x in row if x) == 2 for row in factor)
            require(butterfly, f"n={n}: a stage is not a butterfly")
        product_ = identity(n)
        for factor in factors:
            product_ = matmul(product_, factor)
        require(product_ == sylvester(n), f"n={n}: the product of the stages is not S_n")
    return "each stage: n/2 butterflies, 2 non-zeros per row"
