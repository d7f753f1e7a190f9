"""Miyamoto's construction and the supplementary difference sets of Đoković.

Expected values are written by hand or taken from the literature.
"""

from __future__ import annotations

import random

import pytest

from theory import tables
from theory.difference_sets import (
    difference_family_defect,
    difference_family_table,
    difference_set_hadamard,
    sign_rows,
)
from theory.errors import ConstructionError, DataTableError
from theory.finite_field import GaloisField
from theory.goethals_seidel import goethals_seidel_hadamard
from theory.miyamoto import miyamoto
from theory.predicates import is_hadamard
from theory.registry import hadamard
from theory.sylvester import sylvester


class TestMiyamoto:
    @pytest.mark.parametrize("q", [5, 9, 13, 17, 25, 29, 37, 41, 49])
    def test_hadamard_of_order_4q(self, q):
        h = miyamoto(q, hadamard(q - 1))
        assert len(h) == 4 * q and is_hadamard(h)

    @pytest.mark.parametrize("seed", [1, 2, 3])
    def test_independent_of_the_orders_and_of_k(self, seed):
        rng = random.Random(seed)
        q = 13
        field = GaloisField(q)
        squares = [x for x in range(1, q) if field.quadratic_character(x) == 1]
        others = [x for x in range(1, q) if field.quadratic_character(x) == -1]
        rng.shuffle(squares)
        rng.shuffle(others)
        # Another Hadamard matrix of order 12: rows permuted, columns negated.
        k = [list(row) for row in hadamard(12)]
        rng.shuffle(k)
        signs = [rng.choice((1, -1)) for _ in range(12)]
        k = [[x * s for x, s in zip(row, signs)] for row in k]
        h = miyamoto(q, k, square_order=squares, non_square_order=others)
        assert is_hadamard(h)

    def test_a_matrix_k_that_is_not_hadamard_gives_no_hadamard_matrix(self):
        k = [list(row) for row in sylvester(4)]
        k[0][0] = -k[0][0]
        assert not is_hadamard(miyamoto(5, k))

    @pytest.mark.parametrize("q", [3, 7, 15, 21])
    def test_refuses_q(self, q):
        with pytest.raises(ConstructionError, match=f"q ≡ 1 mod 4, got q={q}"):
            miyamoto(q, sylvester(2))

    def test_refuses_the_wrong_size_of_k(self):
        with pytest.raises(ConstructionError, match="order q − 1 = 12"):
            miyamoto(13, sylvester(8))

    def test_refuses_a_wrong_split(self):
        with pytest.raises(ConstructionError, match="squares and non-squares"):
            miyamoto(5, sylvester(4), square_order=[2, 3], non_square_order=[1, 4])

    @pytest.mark.parametrize("n", [292, 404, 436, 452, 596, 772, 932, 964])
    def test_the_registry_uses_it_where_only_it_reaches(self, n):
        # n/4 is a prime ≡ 1 mod 4 and n/4 − 1 = 72, 100, 108, 112, 148, 192, 232, 240 is an order
        # the registry reaches; Sylvester, Paley, Kronecker products and the data tables do not
        # reach n (hand-checked: n − 1 and n/2 − 1 are not prime powers; n = 4p).
        from theory.registry import construction_for

        assert str(construction_for(n)) == f"Miyamoto, q={n // 4}"


class TestDifferenceSets:
    def test_small_family_by_hand(self):
        # In Z_3: S_1 = S_2 = S_3 = {0}, S_4 = {}: no non-zero differences, λ = 0 = 3 − 3.
        sets = (frozenset({0}), frozenset({0}), frozenset({0}), frozenset())
        assert difference_family_defect(3, sets) is None
        rows = [(-1, 1, 1), (-1, 1, 1), (-1, 1, 1), (1, 1, 1)]
        assert is_hadamard(goethals_seidel_hadamard(rows))
        # S_4 = {0} too: λ would be 1, but no non-zero difference occurs.
        assert "occurs 0 times, not λ = 1" in difference_family_defect(3, sets[:3] + (frozenset({0}),))

    def test_the_table(self):
        # The group orders of the file, and the sizes k_i found by expanding the published
        # records by hand-written code outside this package (λ = Σ k_i − v).
        sizes = {
            67: (33, 30, 30, 27),
            103: (51, 51, 57, 60),
            127: (63, 70, 70, 70),
            151: (75, 65, 80, 80),
            163: (81, 72, 81, 90),
            191: (85, 90, 90, 100),
            219: (109, 100, 101, 117),
            239: (112, 119, 119, 133),
        }
        table = difference_family_table()
        assert {v: family.sizes for v, family in table.items()} == sizes
        assert table[191].lam == 85 + 90 + 90 + 100 - 191

    def test_skew_first_set(self):
        # Đoković's families for v = 67, 103, 127, 151, 163, 219 have a skew first set:
        # S_1 and −S_1 partition the non-zero elements.
        for v in (67, 103, 127, 151, 163, 219):
            s1 = difference_family_table()[v].sets[0]
            assert s1 | {-x % v for x in s1} == set(range(1, v)) and len(s1) == (v - 1) // 2

    @pytest.mark.parametrize("v", [67, 103, 127])
    def test_hadamard(self, v):
        h = difference_set_hadamard(v)
        assert len(h) == 4 * v and is_hadamard(h)

    def test_rows_are_minus_on_the_sets(self):
        family = difference_family_table()[67]
        rows = sign_rows(family)
        assert all((rows[i][j] == -1) == (j in family.sets[i]) for i in range(4) for j in range(67))

    def test_unknown_order(self):
        with pytest.raises(ConstructionError, match="Z_71"):
            difference_set_hadamard(71)

    def test_a_corrupted_record_is_refused(self, tmp_path, monkeypatch):
        text = (tables.DATA_DIR / "supplementary_difference_sets.txt").read_text()
        corrupted = text.replace("S4 2 4 6 8 9 11 14 17 19\n", "S4 2 4 6 8 9 11 14 17 18\n")
        assert corrupted != text
        (tmp_path / "supplementary_difference_sets.txt").write_text(corrupted)
        monkeypatch.setattr(tables, "DATA_DIR", tmp_path)
        with pytest.raises(DataTableError, match="v=67"):
            difference_family_table.__wrapped__()
