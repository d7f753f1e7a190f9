"""Williamson matrices, base and T-sequences, the Goethals–Seidel array and Baumert–Hall arrays.

Expected values are written out by hand from the definitions (or taken from the data files, which
come from the literature), never produced by the code under test.
"""

from __future__ import annotations

import pytest

from theory import tables
from theory.base_sequences import (
    base_sequences_table,
    decode_turyn_type,
    is_t_sequences,
    is_turyn_type,
    t_sequence_sources,
    t_sequences,
    t_sequences_from_base_sequences,
    turyn_type_table,
)
from theory.baumert_hall import (
    baumert_hall_hadamard,
    baumert_hall_units,
    baumert_hall_units_from_t_sequences,
    fill_baumert_hall,
    units_defect,
)
from theory.errors import ConstructionError, DataTableError
from theory.goethals_seidel import (
    goethals_seidel_array,
    goethals_seidel_hadamard,
    plus_minus_rows_from_t_sequences,
    t_sequence_hadamard,
)
from theory.predicates import is_hadamard
from theory.sequences import (
    circulant,
    is_complementary,
    nonperiodic_autocorrelation,
    periodic_autocorrelation,
    signs_from_text,
)
from theory.williamson import (
    williamson_defect,
    williamson_hadamard,
    williamson_matrices,
    williamson_table,
)


def rows_of(path) -> list[list[str]]:
    return [line.split() for line in path.read_text().splitlines() if line and not line.startswith("#")]


class TestSequences:
    def test_signs_and_autocorrelations_by_hand(self):
        a = signs_from_text("++-")
        assert a == (1, 1, -1)
        assert nonperiodic_autocorrelation(a, 1) == 1 * 1 + 1 * -1
        assert nonperiodic_autocorrelation(a, 2) == -1
        assert periodic_autocorrelation(a, 1) == 1 * 1 + 1 * -1 + -1 * 1
        with pytest.raises(ValueError, match="written with"):
            signs_from_text("+0-")

    def test_circulant_by_hand(self):
        assert circulant((1, 2, 3)) == ((1, 2, 3), (3, 1, 2), (2, 3, 1))

    def test_golay_pair_is_complementary(self):
        # The Golay pair of length 2: N(1) = 1 and −1.
        assert is_complementary([(1, 1), (1, -1)])
        assert not is_complementary([(1, 1), (1, 1)])


class TestWilliamson:
    def test_table_orders_are_those_of_the_file(self):
        listed = sorted(int(row[0]) for row in rows_of(tables.DATA_DIR / "williamson.txt"))
        assert listed == sorted(williamson_table())
        assert 23 in listed and 45 not in listed and 35 not in listed

    def test_order_12_by_hand(self):
        # m = 3: A = circ(+++), B = C = D = circ(+−−). Row 0 of the array is (A, B, C, D) row 0.
        assert williamson_hadamard(3)[0] == (1, 1, 1, 1, -1, -1, 1, -1, -1, 1, -1, -1)
        # Row 3 (block row 1, first row) is (−B, A, −D, C) row 0.
        assert williamson_hadamard(3)[3] == (-1, 1, 1, 1, 1, 1, -1, 1, 1, 1, -1, -1)

    @pytest.mark.parametrize("m", [1, 3, 5, 23, 29, 39, 43, 63])
    def test_arrays_are_hadamard(self, m):
        h = williamson_hadamard(m)
        assert len(h) == 4 * m and is_hadamard(h)

    def test_defects_are_found(self):
        a, b, c, d = williamson_table()[5]
        assert williamson_defect(5, (a, b, c, d)) is None
        assert williamson_defect(5, (a, b, c, (1, 1, 1, -1, 1))) == "D is not symmetric"
        assert "do not add up" in williamson_defect(5, (a, b, c, (1, 1, 1, 1, 1)))
        assert "lengths" in williamson_defect(5, (a, b, c, d[:4]))

    def test_a_corrupted_table_is_refused(self, tmp_path, monkeypatch):
        text = (tables.DATA_DIR / "williamson.txt").read_text()
        corrupted = text.replace("5 +-++- ++--+ +---- +----", "5 +-++- ++--+ +---- +++++")
        assert corrupted != text
        (tmp_path / "williamson.txt").write_text(corrupted)
        monkeypatch.setattr(tables, "DATA_DIR", tmp_path)
        with pytest.raises(DataTableError, match="williamson.txt:.*m=5"):
            williamson_table.__wrapped__()

    def test_unknown_order(self):
        with pytest.raises(ConstructionError, match="m=35"):
            williamson_matrices(35)


class TestBaseAndTSequences:
    def test_turyn_type_record_by_hand(self):
        # "01": digit 0 = 0000 gives X, Y, Z, W = +; the last digit 1 = 001 gives X, Y = +, Z = −.
        x, y, z, w = decode_turyn_type("01")
        assert (x, y, z, w) == ((1, 1), (1, 1), (1, -1), (1,))
        # N_X(1) + N_Y(1) + 2 N_Z(1) + 2 N_W(1) = 1 + 1 − 2 + 0.
        assert is_turyn_type((x, y, z, w))
        assert not is_turyn_type(((1, 1), (1, 1), (1, 1), (1,)))

    def test_t_sequences_from_bs_2_1_by_hand(self):
        # BS(2, 1) = (+−, ++, +, +): ½(A + B) = (1, 0), ½(A − B) = (0, −1), ½(C + D) = (1).
        base = base_sequences_table()[1]
        assert base == ((1, -1), (1, 1), (1,), (1,))
        assert t_sequences_from_base_sequences(base) == ((1, 0, 0), (0, -1, 0), (0, 0, 1), (0, 0, 0))

    def test_lengths_are_those_the_files_give(self):
        bs = [int(row[0]) for row in rows_of(tables.DATA_DIR / "base_sequences.txt")]
        tt = [int(row[0]) for row in rows_of(tables.DATA_DIR / "turyn_type.txt")]
        assert set(t_sequence_sources()) == {2 * n + 1 for n in bs} | {3 * n - 1 for n in tt}
        # TT(36) is the record of Kharaghani and Tayfeh-Rezaie: 3·36 − 1 = 107, order 428.
        assert 107 in t_sequence_sources() and 36 in turyn_type_table()

    @pytest.mark.parametrize("t", sorted(t_sequence_sources()))
    def test_every_length_gives_t_sequences(self, t):
        sequences = t_sequences(t)
        assert all(len(s) == t for s in sequences) and is_t_sequences(sequences)

    def test_not_t_sequences(self):
        assert not is_t_sequences(((1, 1, 0), (0, 0, 1), (0, 0, 0), (0, 0, 0)))  # N(1) = 1
        assert not is_t_sequences(((1, 0), (1, 0), (0, 1), (0, 0)))  # two non-zeros at 0

    def test_a_corrupted_turyn_type_record_is_refused(self, tmp_path, monkeypatch):
        text = (tables.DATA_DIR / "turyn_type.txt").read_text()
        (tmp_path / "turyn_type.txt").write_text(text.replace("\n8 06e5c4d1\n", "\n8 06e5c4d3\n"))
        monkeypatch.setattr(tables, "DATA_DIR", tmp_path)
        with pytest.raises(DataTableError, match="n=8"):
            turyn_type_table.__wrapped__()


class TestGoethalsSeidel:
    def test_order_4_by_hand(self):
        # A = B = C = D = [1], R = [1]: the array itself.
        one = ((1,),)
        assert goethals_seidel_array(one, one, one, one) == (
            (1, 1, 1, 1),
            (-1, 1, 1, -1),
            (-1, -1, 1, 1),
            (-1, 1, -1, 1),
        )

    @pytest.mark.parametrize("t", [3, 5, 7, 13, 47, 59])
    def test_t_sequences_give_hadamard(self, t):
        h = t_sequence_hadamard(t)
        assert len(h) == 4 * t and is_hadamard(h)

    def test_plus_minus_rows_are_signs(self):
        rows = plus_minus_rows_from_t_sequences(t_sequences(5))
        assert all(x in (1, -1) for row in rows for x in row)

    def test_refuses_rows_that_are_not_complementary(self):
        with pytest.raises(ValueError, match="4n I"):
            goethals_seidel_hadamard([(1, 1, 1)] * 4)


class TestBaumertHall:
    def test_units_of_length_1_by_hand(self):
        # T-sequences ((1), (0), (0), (0)); the coefficient of b in (A, B, C, D) is (0, −1, 0, 0),
        # so E_2 is the Goethals–Seidel array with B = [−1] and A = C = D = [0].
        units = baumert_hall_units_from_t_sequences(((1,), (0,), (0,), (0,)))
        assert units[0] == ((1, 0, 0, 0), (0, 1, 0, 0), (0, 0, 1, 0), (0, 0, 0, 1))
        assert units[1] == ((0, -1, 0, 0), (1, 0, 0, 0), (0, 0, 0, -1), (0, 0, 1, 0))
        assert units_defect(units, 1) is None

    @pytest.mark.parametrize("t", [3, 5, 7, 11, 13, 17])
    def test_units(self, t):
        assert units_defect(baumert_hall_units(t), t) is None

    def test_a_changed_unit_is_found(self):
        units = list(baumert_hall_units(3))
        units[0] = tuple(tuple(-x if (i, j) == (0, 0) else x for j, x in enumerate(row)) for i, row in enumerate(units[0]))
        assert "E_1 E_1ᵀ" in units_defect(units, 3)
        assert "covered" in units_defect((units[0], units[0], units[2], units[3]), 3)

    def test_filling_with_ones_is_the_goethals_seidel_matrix(self):
        for t in (3, 5, 7):
            ones = tuple(((1,),) for _ in range(4))
            assert fill_baumert_hall(baumert_hall_units(t), ones) == t_sequence_hadamard(t)

    @pytest.mark.parametrize(("t", "w"), [(3, 27), (3, 31), (7, 17), (5, 3), (3, 3)])
    def test_filled_with_williamson_matrices(self, t, w):
        h = baumert_hall_hadamard(t, w)
        assert len(h) == 4 * t * w and is_hadamard(h)

    def test_amicability_is_needed(self):
        # Four circulants with Σ X Xᵀ = 12 I that are not symmetric, so X Yᵀ ≠ Y Xᵀ for some pair:
        # the filled array is not Hadamard. The hypothesis of the theorem matters.
        circulants = [circulant(row) for row in plus_minus_rows_from_t_sequences(t_sequences(3))]
        assert not is_hadamard(fill_baumert_hall(baumert_hall_units(3), circulants))
