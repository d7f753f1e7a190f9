"""GF(p^k): field axioms, the quadratic character and prime powers."""

from __future__ import annotations

from itertools import product

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hadamrnn_theory import FieldOrderError, GaloisField, prime_power
from hadamrnn_theory.finite_field import find_irreducible, is_prime

SMALL_FIELDS = [2, 3, 4, 5, 7, 8, 9, 16, 27]


@pytest.mark.parametrize("q", SMALL_FIELDS)
def test_field_axioms(q):
    f = GaloisField(q)
    elements = list(f.elements)
    for a, b, c in product(elements, repeat=3):
        assert f.add(f.add(a, b), c) == f.add(a, f.add(b, c))
        assert f.mul(f.mul(a, b), c) == f.mul(a, f.mul(b, c))
        assert f.mul(a, f.add(b, c)) == f.add(f.mul(a, b), f.mul(a, c))
    for a, b in product(elements, repeat=2):
        assert f.add(a, b) == f.add(b, a)
        assert f.mul(a, b) == f.mul(b, a)
        assert f.add(f.sub(a, b), b) == a
    for a in elements:
        assert f.add(a, 0) == a and f.mul(a, 1) == a and f.mul(a, 0) == 0
        assert f.add(a, f.neg(a)) == 0
        if a:
            assert f.mul(a, f.inverse(a)) == 1


@pytest.mark.parametrize("q", SMALL_FIELDS)
def test_multiplicative_group_is_cyclic(q):
    f = GaloisField(q)
    orders = []
    for a in range(1, q):
        power, order = a, 1
        while power != 1:
            power, order = f.mul(power, a), order + 1
        orders.append(order)
    assert max(orders) == q - 1
    assert all((q - 1) % order == 0 for order in orders)


def test_gf4_multiplication_by_hand():
    # Elements 0, 1, x, x + 1 are encoded 0, 1, 2, 3; the modulus is x² + x + 1, so x² = x + 1.
    f = GaloisField(4)
    assert f.modulus == (1, 1, 1)
    assert f.mul(2, 2) == 3  # x·x = x + 1
    assert f.mul(2, 3) == 1  # x(x + 1) = x² + x = 1
    assert f.mul(3, 3) == 2  # (x + 1)² = x² + 1 = x
    assert f.add(2, 3) == 1  # x + (x + 1) = 1


@pytest.mark.parametrize(("p", "k"), [(2, 2), (2, 3), (3, 2), (3, 3), (5, 2), (7, 3)])
def test_irreducible_polynomial_has_no_root(p, k):
    # For degree 2 and 3, irreducible over GF(p) is the same as having no root in GF(p).
    modulus = find_irreducible(p, k)
    assert len(modulus) == k + 1 and modulus[-1] == 1
    for x in range(p):
        assert sum(c * x**i for i, c in enumerate(modulus)) % p != 0


@pytest.mark.parametrize("q", [3, 5, 7, 9, 11, 13, 25, 27, 49])
def test_quadratic_character(q):
    f = GaloisField(q)
    chi = [f.quadratic_character(a) for a in f.elements]
    assert chi[0] == 0
    assert chi.count(1) == chi.count(-1) == (q - 1) // 2
    assert f.quadratic_character(f.neg(1)) == (1 if q % 4 == 1 else -1)
    for a, b in product(f.elements, repeat=2):
        assert f.quadratic_character(f.mul(a, b)) == chi[a] * chi[b]


@pytest.mark.parametrize(
    ("q", "expected"),
    [(2, (2, 1)), (9, (3, 2)), (27, (3, 3)), (128, (2, 7)), (343, (7, 3)), (997, (997, 1))],
)
def test_prime_power(q, expected):
    assert prime_power(q) == expected


@pytest.mark.parametrize("q", [0, 1, 6, 12, 45, 100, 1000])
def test_not_prime_power(q):
    assert prime_power(q) is None
    with pytest.raises(FieldOrderError, match=f"prime power order, got {q}"):
        GaloisField(q)


def test_is_prime():
    assert [n for n in range(30) if is_prime(n)] == [2, 3, 5, 7, 11, 13, 17, 19, 23, 29]


@settings(max_examples=50, deadline=None)
@given(st.sampled_from([9, 25, 27, 49, 121]), st.data())
def test_frobenius_is_additive(q, data):
    # (a + b)^p = a^p + b^p in characteristic p.
    f = GaloisField(q)
    a = data.draw(st.integers(0, q - 1))
    b = data.draw(st.integers(0, q - 1))
    p = f.characteristic
    assert f.power(f.add(a, b), p) == f.add(f.power(a, p), f.power(b, p))
