"""Symbolic proofs (at small sizes; ``verify`` runs them to n = 64) and the reference FWHT."""

from __future__ import annotations

import random

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from hadamrnn_theory import block_sylvester, butterfly_factors, fwht, matmul, sylvester
from hadamrnn_theory.errors import ClaimFailed
from hadamrnn_theory.matrices import identity
from hadamrnn_theory.symbolic import (
    AdditionOnly,
    check_block_hadamrnn_orthogonal,
    check_fwht_operation_count,
    check_fwht_self_adjoint,
    check_hadamrnn_orthogonal,
    check_kronecker_closure,
    column_gram,
    reduce_sign_powers,
    sign_symbols,
    signed_block_is_orthogonal,
)


def test_reduce_sign_powers():
    u1, u2 = sign_symbols(2)
    matrix = sympy.Matrix([[u1**2 + 3 * u2**3, u1**-1 * u2**4], [u1**5 * u2, 7]])
    assert reduce_sign_powers(matrix, (u1, u2)) == sympy.Matrix([[1 + 3 * u2, u1], [u1 * u2, 7]])


def test_the_gram_detects_a_non_orthogonal_matrix():
    u = sign_symbols(3)
    rows = [[u[0], u[0], 0], [u[1], -u[1], u[1]], [0, u[2], u[2]]]
    gram = reduce_sign_powers(column_gram(rows), u)
    assert (gram - 2 * sympy.eye(3)).is_zero_matrix is False


@pytest.mark.parametrize(("n", "m"), [(1, 1), (2, 2), (8, 2), (16, 16), (16, 4)])
def test_signed_blocks_are_orthogonal(n, m):
    assert signed_block_is_orthogonal(n, m)


@pytest.mark.parametrize(
    "check",
    [
        check_hadamrnn_orthogonal,
        check_block_hadamrnn_orthogonal,
        check_fwht_operation_count,
        check_fwht_self_adjoint,
    ],
)
def test_checks_pass_at_small_sizes(check):
    check(16)


def test_kronecker_closure_for_2x2():
    check_kronecker_closure(2)


# Powers of two are drawn as exponents, not by filtering integers.
power_of_two_vectors_st = st.integers(0, 7).flatmap(
    lambda k: st.lists(st.integers(-9, 9), min_size=2**k, max_size=2**k)
)


class TestFWHT:
    def test_by_hand(self):
        assert fwht([1, 0, 0, 0]) == ([1, 1, 1, 1], 8)
        assert fwht([1, 2, 3, 4]) == ([10, -2, -4, 0], 8)
        assert fwht([1, 2, 3, 4], block_size=2) == ([3, -1, 7, -1], 4)
        assert fwht([5]) == ([5], 0)

    @settings(max_examples=25, deadline=None)
    @given(power_of_two_vectors_st)
    def test_equals_dense_product(self, x):
        n = len(x)
        dense = [sum(s * v for s, v in zip(row, x)) for row in sylvester(n)]
        transformed, operations = fwht(x)
        assert transformed == dense
        assert operations == n * (n.bit_length() - 1)

    @pytest.mark.parametrize(("n", "m"), [(8, 2), (16, 4), (32, 32)])
    def test_block_equals_dense_product(self, n, m):
        x = [random.Random(n * m).randint(-5, 5) for _ in range(n)]
        dense = [sum(s * v for s, v in zip(row, x)) for row in block_sylvester(n, m)]
        assert fwht(x, block_size=m)[0] == dense

    @pytest.mark.parametrize(("n", "m"), [(6, None), (8, 3), (4, 8)])
    def test_rejects(self, n, m):
        with pytest.raises(ValueError, match="powers of two"):
            fwht([0] * n, block_size=m)

    @pytest.mark.parametrize("n", [1, 2, 4, 8, 16, 64])
    def test_factorisation(self, n):
        product = identity(n)
        for factor in butterfly_factors(n):
            product = matmul(product, factor)
        assert product == sylvester(n)

    def test_factors_for_4_by_hand(self):
        assert butterfly_factors(4) == [
            ((1, 0, 1, 0), (0, 1, 0, 1), (1, 0, -1, 0), (0, 1, 0, -1)),
            ((1, 1, 0, 0), (1, -1, 0, 0), (0, 0, 1, 1), (0, 0, 1, -1)),
        ]


def test_claim_failed_is_raised_on_a_wrong_identity(monkeypatch):
    # If S_n were replaced by a non-Hadamard matrix, the symbolic check must fail, not pass.
    import hadamrnn_theory.symbolic as symbolic

    signed_block_is_orthogonal.cache_clear()
    monkeypatch.setattr(symbolic, "block_sylvester", lambda n, m: tuple((1,) * n for _ in range(n)))
    try:
        with pytest.raises(ClaimFailed):
            check_hadamrnn_orthogonal(4)
    finally:
        signed_block_is_orthogonal.cache_clear()


def test_addition_only_values_refuse_multiplication():
    counter = [0]
    x, y = (AdditionOnly(s, counter) for s in sign_symbols(2, "x"))
    assert (x + y).expression == sum(sign_symbols(2, "x"))
    assert (x - y - y).expression == sign_symbols(2, "x")[0] - 2 * sign_symbols(2, "x")[1]
    assert counter == [3]
    with pytest.raises(TypeError):
        x * -1
    with pytest.raises(TypeError):
        -x
