"""Counts by search against OEIS A206712 and against hand-derived closed forms."""

from __future__ import annotations

from fractions import Fraction
from math import factorial

import pytest

from hadamrnn_theory import (
    all_hadamard_matrices,
    block_hadamrnn_family,
    count_hadamard,
    count_weighing,
    determinant,
    hadamrnn_family,
    hadamrnn_share,
    is_hadamard,
    is_weighing,
    sylvester,
    two_sided_family,
)
from hadamrnn_theory.enumeration import count_cliques, count_normalised_hadamard

# OEIS A206712: the number of n×n Hadamard matrices.
A206712 = {1: 2, 2: 8, 4: 768, 8: 4_954_521_600, 12: 20_251_509_535_014_912_000}


class TestHadamardCounts:
    @pytest.mark.parametrize("n", [1, 2, 3, 4])
    def test_brute_force(self, n):
        matrices = all_hadamard_matrices(n)
        assert len(matrices) == A206712.get(n, 0)
        assert len(set(matrices)) == len(matrices)
        assert all(is_hadamard(m) for m in matrices)

    def test_brute_force_limit(self):
        with pytest.raises(ValueError, match="n <= 4, got 5"):
            all_hadamard_matrices(5)

    @pytest.mark.parametrize("n", [1, 2, 4, 8, 12])
    def test_oeis(self, n):
        assert count_hadamard(n) == A206712[n]

    @pytest.mark.parametrize("n", [1, 2, 4, 8])
    def test_without_the_transitivity_reduction(self, n):
        assert count_hadamard(n, use_transitivity=False) == A206712[n]

    def test_normalised_counts(self):
        # Order 4: the three rows below the all-ones row in any order, 3! = 6.
        assert count_normalised_hadamard(4) == 6
        # Order 8: A206712(8) / 2^15 = 151200 = 7! · 30.
        assert count_normalised_hadamard(8) == 151_200

    @pytest.mark.parametrize("n", [3, 5, 6, 7, 9, 10, 11, 14, 15, 18])
    def test_no_matrix_unless_1_2_or_4k(self, n):
        assert count_hadamard(n) == 0

    @pytest.mark.parametrize("n", [0, 20, 24, 25])
    def test_count_limits(self, n):
        with pytest.raises(ValueError, match=f"got {n}"):
            count_hadamard(n)


class TestCliques:
    def test_complete_graph(self):
        k5 = [0b11111 & ~(1 << v) for v in range(5)]
        assert [count_cliques(k5, 0b11111, size) for size in range(7)] == [1, 5, 10, 10, 5, 1, 0]

    def test_pentagon(self):
        c5 = [(1 << (v + 1) % 5) | (1 << (v - 1) % 5) for v in range(5)]
        assert [count_cliques(c5, 0b11111, size) for size in range(4)] == [1, 5, 5, 0]


# Literal values, derived by hand in theory/reference.py's notes and re-derived here:
# W(n, 1) = 2^n n!; W(n, 2) = (n!/(2^{n/2}(n/2)!))²·(n/2)!·8^{n/2} for even n, 0 for odd n;
# W(4, 3) = 4!·2^7; W(6, 5) = 6!·6·2^11; W(6, 4) = 1350·4096; the rest vanish by the
# determinant (odd n needs a square w), conference-matrix parity and sum-of-two-squares conditions.
WEIGHING = {
    1: [1, 2],
    2: [1, 8, 8],
    3: [1, 48, 0, 0],
    4: [1, 384, 1152, 3072, 768],
    5: [1, 3840, 0, 0, 0, 0],
    6: [1, 46080, 691200, 0, 5529600, 8847360, 0],
}


class TestWeighingCounts:
    @pytest.mark.parametrize("n", sorted(WEIGHING))
    def test_table(self, n):
        assert [count_weighing(n, w) for w in range(n + 1)] == WEIGHING[n]

    @pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 6, 7, 8])
    def test_signed_permutations(self, n):
        assert count_weighing(n, 1) == 2**n * factorial(n)

    @pytest.mark.parametrize("n", [2, 4, 6, 8])
    def test_weight_two(self, n):
        half = n // 2
        pairings = factorial(n) // (2**half * factorial(half))
        assert count_weighing(n, 2) == pairings**2 * factorial(half) * 8**half

    def test_weight_above_order(self):
        assert count_weighing(3, 4) == 0

    def test_limit(self):
        with pytest.raises(ValueError, match="got 9"):
            count_weighing(9, 4)

    def test_examples_are_weighing(self):
        assert is_weighing(sylvester(4), 4)


class TestHadamrnnFamilies:
    @pytest.mark.parametrize("n", [1, 2, 4, 8])
    def test_family_size_and_determinants(self, n):
        family = hadamrnn_family(n)
        assert len(family) == 2**n
        assert sum(1 for m in family if determinant(m) > 0) == 2 ** (n - 1)
        assert all(is_hadamard(m) for m in family)

    def test_share(self):
        assert hadamrnn_share(4) == Fraction(1, 48)
        assert hadamrnn_share(8) == Fraction(256, 4_954_521_600)

    @pytest.mark.parametrize("n", [1, 2, 4])
    def test_two_sided(self, n):
        assert len(two_sided_family(n)) == 2 ** (2 * n - 1)

    @pytest.mark.parametrize(("n", "m"), [(2, 1), (4, 2), (8, 2), (8, 4), (8, 8)])
    def test_block_family_size(self, n, m):
        assert len(block_hadamrnn_family(n, m)) == 2**n
