"""Exact predicates and exact matrix arithmetic."""

from __future__ import annotations

from fractions import Fraction

import pytest
import sympy

from hadamrnn_theory import (
    determinant,
    is_binary_orthogonal,
    is_hadamard,
    is_weighing,
    matmul,
    sylvester,
    trace,
)
from hadamrnn_theory.matrices import sign_mask

S2 = ((1, 1), (1, -1))
# A conference matrix W(4, 3), written out from its normal form (see theory.reference).
CONFERENCE_4 = ((0, 1, 1, 1), (1, 0, 1, -1), (1, -1, 0, 1), (1, 1, -1, 0))
# W(4, 2) = S_2 ⊕ S_2.
W42 = ((1, 1, 0, 0), (1, -1, 0, 0), (0, 0, 1, 1), (0, 0, 1, -1))


class TestIsHadamard:
    def test_positive(self):
        assert is_hadamard(((1,),))
        assert is_hadamard(((-1,),))
        assert is_hadamard(S2)
        assert is_hadamard([[1, 1], [-1, 1]])

    @pytest.mark.parametrize(
        "matrix",
        [
            ((1, 1), (1, 1)),
            ((1, 1, 1), (1, -1, 1), (1, 1, -1)),
            ((1, 0), (0, 1)),
            ((2, 2), (2, -2)),
            ((1, 1),),
            (),
        ],
    )
    def test_negative(self, matrix):
        assert not is_hadamard(matrix)

    def test_one_wrong_entry_in_a_large_matrix(self):
        h = [list(row) for row in sylvester(64)]
        h[37][11] = -h[37][11]
        assert not is_hadamard(h)

    def test_exact_non_int_entries(self):
        assert is_hadamard([[Fraction(1), Fraction(1)], [Fraction(1), Fraction(-1)]])
        assert is_hadamard([[sympy.Integer(1), 1], [1, sympy.Integer(-1)]])

    @pytest.mark.parametrize("bad", [1.0, True])
    def test_refuses_floats_and_bools(self, bad):
        with pytest.raises(TypeError, match="exact numbers"):
            is_hadamard([[bad, 1], [1, -1]])


class TestIsWeighing:
    def test_examples(self):
        assert is_weighing(CONFERENCE_4, 3)
        assert is_weighing(W42, 2)
        assert is_weighing(sylvester(8), 8)
        assert is_weighing(((0, 0), (0, 0)), 0)

    def test_counterexamples(self):
        assert not is_weighing(CONFERENCE_4, 2)
        assert not is_weighing(((1, 1, 0), (0, 1, 1), (1, 0, 1)), 2)
        assert not is_weighing(((2, 0), (0, 2)), 4)


class TestIsBinaryOrthogonal:
    def test_rational_scale(self):
        assert is_binary_orthogonal([[Fraction(x, 2) for x in row] for row in sylvester(4)])
        assert is_binary_orthogonal([[Fraction(x, 4) for x in row] for row in sylvester(16)])

    def test_irrational_scale(self):
        root = sympy.sqrt(2)
        assert is_binary_orthogonal([[x / root for x in row] for row in S2])
        assert is_binary_orthogonal([[x * root / 2 for x in row] for row in S2])

    def test_wrong_scale_or_pattern(self):
        assert not is_binary_orthogonal(S2)
        assert not is_binary_orthogonal([[Fraction(x, 4) for x in row] for row in sylvester(4)])
        assert not is_binary_orthogonal([[Fraction(1, 2)] * 4] * 4)
        half, third = Fraction(1, 2), Fraction(1, 3)
        assert not is_binary_orthogonal([[half, third], [half, -half]])
        assert not is_binary_orthogonal([[0, 0], [0, 0]])

    def test_refuses_floats(self):
        with pytest.raises(TypeError):
            is_binary_orthogonal([[0.5, 0.5], [0.5, -0.5]])


class TestExactArithmetic:
    def test_determinant_by_hand(self):
        assert determinant(((2, 1), (1, 3))) == 5
        assert determinant(((0, 1), (1, 0))) == -1
        assert determinant(((1, 2, 3), (4, 5, 6), (7, 8, 10))) == -3
        assert determinant(((1, 2), (2, 4))) == 0
        assert determinant(((0, 0, 1), (0, 1, 0), (1, 0, 0))) == -1
        assert determinant(((Fraction(1, 2), 0), (0, Fraction(2, 3)))) == Fraction(1, 3)
        assert determinant(()) == 1

    @pytest.mark.parametrize("n", [2, 4, 8, 16, 32])
    def test_sylvester_determinant(self, n):
        # Eigenvalues ±√n, n/2 each (trace 0): det = (−1)^{n/2} n^{n/2}.
        assert determinant(sylvester(n)) == (-1) ** (n // 2) * n ** (n // 2)
        assert trace(sylvester(n)) == 0

    def test_matmul_by_hand(self):
        assert matmul(((1, 2), (3, 4)), ((5, 6), (7, 8))) == ((19, 22), (43, 50))
        assert matmul(((1, 0, 2),), ((1,), (5,), (Fraction(1, 2),))) == ((2,),)

    def test_sign_mask(self):
        assert sign_mask((1, -1, -1, 1)) == 0b0110
        with pytest.raises(ValueError):
            sign_mask((1, 0))
        with pytest.raises(ValueError):
            sign_mask((True, 1))
