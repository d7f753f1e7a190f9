"""Constructions: Sylvester, Paley I and II, Kronecker, equivalence and the registry.

Expected matrices are written out by hand from the definitions, not produced by the code.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from hadamrnn_theory import (
    ConstructionError,
    HadamardOrderError,
    block_sylvester,
    construction_for,
    hadamard,
    is_hadamard,
    is_normalised,
    kronecker,
    negate_columns,
    negate_rows,
    normalise,
    orders_below,
    paley_i,
    paley_ii,
    permute_columns,
    permute_rows,
    sylvester,
    transpose,
)
from hadamrnn_theory.sylvester import sylvester_entry

S4 = ((1, 1, 1, 1), (1, -1, 1, -1), (1, 1, -1, -1), (1, -1, -1, 1))


class TestSylvester:
    def test_small_orders_by_hand(self):
        assert sylvester(1) == ((1,),)
        assert sylvester(2) == ((1, 1), (1, -1))
        assert sylvester(4) == S4

    @pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 32, 64])
    def test_hadamard_symmetric_and_closed_form(self, n):
        s = sylvester(n)
        assert is_hadamard(s)
        assert s == transpose(s)
        assert all(s[i][j] == sylvester_entry(i, j) for i in range(n) for j in range(n))

    @pytest.mark.parametrize("n", [0, 3, 6, 12])
    def test_rejects_other_orders(self, n):
        with pytest.raises(ConstructionError, match=f"power of two, got {n}"):
            sylvester(n)

    def test_block_sylvester_by_hand(self):
        assert block_sylvester(4, 2) == (
            (1, 1, 0, 0),
            (1, -1, 0, 0),
            (0, 0, 1, 1),
            (0, 0, 1, -1),
        )
        assert block_sylvester(4, 4) == S4
        assert block_sylvester(3, 1) == ((1, 0, 0), (0, 1, 0), (0, 0, 1))

    @pytest.mark.parametrize(("n", "m"), [(4, 3), (6, 4), (2, 4), (0, 1)])
    def test_block_sylvester_rejects(self, n, m):
        with pytest.raises(ConstructionError, match=f"got n={n}, block_size={m}"):
            block_sylvester(n, m)


class TestPaley:
    def test_paley_i_order_4_by_hand(self):
        # GF(3): χ(0) = 0, χ(1) = 1, χ(2) = −1; Q[a][b] = χ(a − b); H = I + [[0, 1ᵀ], [−1, Q]].
        assert paley_i(3) == (
            (1, 1, 1, 1),
            (-1, 1, -1, 1),
            (-1, 1, 1, -1),
            (-1, -1, 1, 1),
        )

    @pytest.mark.parametrize("q", [3, 7, 11, 19, 23, 27, 31, 43, 47, 59, 243])
    def test_paley_i_is_hadamard(self, q):
        h = paley_i(q)
        assert len(h) == q + 1
        assert is_hadamard(h)

    @pytest.mark.parametrize("q", [5, 9, 13, 17, 25, 29, 37, 49, 81, 125])
    def test_paley_ii_is_hadamard(self, q):
        h = paley_ii(q)
        assert len(h) == 2 * (q + 1)
        assert is_hadamard(h)

    @pytest.mark.parametrize("q", [5, 9, 15, 35, 1])
    def test_paley_i_rejects(self, q):
        expected = f"Paley I needs a prime power q ≡ 3 mod 4, got q={q}"
        with pytest.raises(ConstructionError, match=expected):
            paley_i(q)

    @pytest.mark.parametrize("q", [3, 7, 21, 45])
    def test_paley_ii_rejects(self, q):
        expected = f"Paley II needs a prime power q ≡ 1 mod 4, got q={q}"
        with pytest.raises(ConstructionError, match=expected):
            paley_ii(q)


class TestKronecker:
    def test_by_hand(self):
        assert kronecker(((1, 2), (3, 4)), ((0, 5), (6, 7))) == (
            (0, 5, 0, 10),
            (6, 7, 12, 14),
            (0, 15, 0, 20),
            (18, 21, 24, 28),
        )

    def test_rectangular_and_fractions(self):
        assert kronecker(((1, Fraction(1, 2)),), ((2,), (3,))) == ((2, 1), (3, Fraction(3, 2)))

    def test_values_equal_but_of_different_types_stay_apart(self):
        product = kronecker(((1, Fraction(1)),), ((1,),))
        assert [type(x) for x in product[0]] == [int, Fraction]

    def test_sylvester_is_a_kronecker_power(self):
        assert kronecker(sylvester(2), sylvester(2)) == S4
        assert kronecker(sylvester(4), sylvester(8)) == sylvester(32)

    @pytest.mark.parametrize(("a", "b"), [(2, 12), (12, 12), (4, 20), (20, 28)])
    def test_products_of_hadamard_are_hadamard(self, a, b):
        assert is_hadamard(kronecker(hadamard(a), hadamard(b)))


class TestEquivalence:
    def test_operations_by_hand(self):
        m = ((1, 2), (3, 4))
        assert permute_rows(m, [1, 0]) == ((3, 4), (1, 2))
        assert permute_columns(m, [1, 0]) == ((2, 1), (4, 3))
        assert negate_rows(m, [1, -1]) == ((1, 2), (-3, -4))
        assert negate_columns(m, [-1, 1]) == ((-1, 2), (-3, 4))

    def test_operations_keep_hadamard(self):
        h = hadamard(12)
        column_order = [5, 3, 1, 0, 2, 4, 6, 8, 10, 11, 9, 7]
        shuffled = permute_columns(permute_rows(h, list(range(11, -1, -1))), column_order)
        signed = negate_columns(negate_rows(h, [1, -1] * 6), [-1] * 12)
        assert is_hadamard(shuffled) and is_hadamard(signed)

    def test_normalise(self):
        h = negate_columns(negate_rows(S4, [-1, 1, -1, 1]), [1, 1, -1, -1])
        assert not is_normalised(h)
        assert normalise(h) == S4
        assert is_normalised(normalise(paley_i(11)))

    def test_rejects_bad_permutation_and_signs(self):
        with pytest.raises(ValueError, match="permutation of range"):
            permute_rows(S4, [0, 0, 1, 2])
        with pytest.raises(ValueError, match="signs in"):
            negate_rows(S4, [1, 2, 1, 1])
        with pytest.raises(ValueError, match="signs in"):
            negate_columns(S4, [True, 1, 1, 1])


class TestRegistry:
    @pytest.mark.parametrize(
        ("n", "description"),
        [
            (1, "Sylvester"),
            (64, "Sylvester"),
            (12, "Paley I, q=11"),
            (28, "Paley I, q=27"),
            (36, "Paley II, q=17"),
            (52, "Paley II, q=25"),
            (100, "Paley II, q=49"),
            (40, "Kronecker, 2 x 20"),
            (144, "Kronecker, 2 x 72"),
        ],
    )
    def test_construction_choice(self, n, description):
        assert str(construction_for(n)) == description
        h = hadamard(n)
        assert len(h) == n and is_hadamard(h)

    def test_returns_python_int_tuples(self):
        h = hadamard(20)
        assert type(h) is tuple and all(type(row) is tuple for row in h)
        assert {type(x) for row in h for x in row} == {int}

    @pytest.mark.parametrize("n", [3, 5, 6, 10, 14, 18, 102])
    def test_not_a_hadamard_order(self, n):
        expected = f"^n must be 1, 2 or a multiple of 4, got {n}$"
        with pytest.raises(HadamardOrderError, match=expected):
            hadamard(n)

    @pytest.mark.parametrize("n", [0, -4])
    def test_not_positive(self, n):
        with pytest.raises(HadamardOrderError, match=f"^n must be a positive integer, got {n}$"):
            hadamard(n)

    @pytest.mark.parametrize("n", [92, 116, 156, 172, 184, 188])
    def test_orders_beyond_sylvester_paley_and_kronecker(self, n):
        # 92: 91 = 7·13 and 45 = 3²·5 are not prime powers, and 92 = 2·46 = 4·23 has no two
        # constructible factors, so Sylvester, Paley and Kronecker products cannot reach it; the
        # Williamson array and the other arrays do. The others are the next such orders.
        h = hadamard(n)
        assert len(h) == n and is_hadamard(h)

    def test_668(self):
        expected = "668 is the smallest order for which existence is open"
        with pytest.raises(HadamardOrderError, match=expected):
            hadamard(668)

    def test_error_is_a_value_error(self):
        with pytest.raises(ValueError):
            hadamard(6)

    @pytest.mark.parametrize("n", [4.0, True, "4"])
    def test_rejects_non_int(self, n):
        with pytest.raises(TypeError, match="n must be an int"):
            hadamard(n)

    def test_orders_below(self):
        listed = orders_below(30)
        assert [n for n, _ in listed] == [1, 2, 4, 8, 12, 16, 20, 24, 28]
        assert all(construction is not None for _, construction in listed)
        left_out = {n for n, construction in orders_below(1000) if construction is None}
        assert left_out == {668, 716, 892}
        # 947, 983 and 991 are primes ≡ 3 mod 4, so Paley I reaches 948, 984 and 992.
        assert not left_out & {948, 984, 992}
