"""Finite fields GF(p^k), exactly, for the Paley constructions.

An element is encoded as an integer 0 ≤ a < q whose base-p digits are the coefficients of a
polynomial of degree < k (digit i is the coefficient of x^i). Arithmetic is polynomial arithmetic
mod p and mod a monic irreducible polynomial of degree k, found by search. Every finite field of
order q is isomorphic to every other, so which irreducible polynomial is found does not matter.
Prime fields (k = 1) are the integers mod p.
"""

from __future__ import annotations

from itertools import product
from typing import Sequence

from .errors import FieldOrderError

Polynomial = tuple[int, ...]
"""Coefficients over GF(p), lowest degree first."""


def is_prime(n: int) -> bool:
    """Whether n is prime, by trial division."""
    if n < 2:
        return False
    divisor = 2
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 1
    return True


def prime_power(q: int) -> tuple[int, int] | None:
    """(p, k) with q = p^k and p prime, or None if q is not a prime power."""
    if q < 2:
        return None
    p = next(d for d in range(2, q + 1) if q % d == 0)
    k = 0
    while q % p == 0:
        q //= p
        k += 1
    return (p, k) if q == 1 else None


def find_irreducible(p: int, k: int) -> Polynomial:
    """The first monic irreducible polynomial of degree k over GF(p), in lexicographic order of
    its coefficients (lowest degree first)."""
    for lower in product(range(p), repeat=k):
        candidate = tuple(reversed(lower)) + (1,)
        if _is_irreducible(candidate, p):
            return candidate
    raise AssertionError(f"GF({p}) has irreducible polynomials of every degree; none found for {k}")


def _is_irreducible(f: Polynomial, p: int) -> bool:
    """Whether the monic f has no monic factor of degree 1 … deg(f) // 2."""
    degree = len(f) - 1
    for d in range(1, degree // 2 + 1):
        for lower in product(range(p), repeat=d):
            if not any(_poly_remainder(f, lower + (1,), p)):
                return False
    return True


def _poly_remainder(f: Sequence[int], monic: Polynomial, p: int) -> list[int]:
    """The remainder of f divided by a monic polynomial, over GF(p)."""
    rest = list(f)
    d = len(monic) - 1
    for top in range(len(rest) - 1, d - 1, -1):
        coefficient = rest[top]
        if coefficient:
            for i, c in enumerate(monic):
                rest[top - d + i] = (rest[top - d + i] - coefficient * c) % p
    return rest[:d]


class GaloisField:
    """GF(q) for a prime power q = p^k, with elements ``range(q)`` (0 is zero, 1 is one)."""

    def __init__(self, q: int) -> None:
        factored = prime_power(q)
        if factored is None:
            raise FieldOrderError(f"a finite field needs a prime power order, got {q}")
        self.order = q
        self.characteristic, self.degree = factored
        self.modulus = find_irreducible(self.characteristic, self.degree)
        self._digits = [self._to_digits(a) for a in range(q)]
        self._nonzero_squares = frozenset(self.mul(x, x) for x in range(1, q))

    def __repr__(self) -> str:
        return f"GaloisField({self.order})"

    @property
    def elements(self) -> range:
        """All q elements."""
        return range(self.order)

    def add(self, a: int, b: int) -> int:
        """a + b."""
        p = self.characteristic
        if self.degree == 1:
            return (a + b) % p
        return self._from_digits([(x + y) % p for x, y in zip(self._digits[a], self._digits[b])])

    def neg(self, a: int) -> int:
        """−a."""
        p = self.characteristic
        if self.degree == 1:
            return -a % p
        return self._from_digits([-x % p for x in self._digits[a]])

    def sub(self, a: int, b: int) -> int:
        """a − b."""
        p = self.characteristic
        if self.degree == 1:
            return (a - b) % p
        return self._from_digits([(x - y) % p for x, y in zip(self._digits[a], self._digits[b])])

    def mul(self, a: int, b: int) -> int:
        """a · b: the polynomial product reduced mod p and mod the irreducible modulus."""
        p = self.characteristic
        if self.degree == 1:
            return a * b % p
        coefficients = [0] * (2 * self.degree - 1)
        for i, x in enumerate(self._digits[a]):
            if x:
                for j, y in enumerate(self._digits[b]):
                    coefficients[i + j] += x * y
        return self._from_digits(_poly_remainder([c % p for c in coefficients], self.modulus, p))

    def power(self, a: int, exponent: int) -> int:
        """a^exponent for exponent ≥ 0, by repeated squaring."""
        result, base = 1, a
        while exponent:
            if exponent & 1:
                result = self.mul(result, base)
            base = self.mul(base, base)
            exponent >>= 1
        return result

    def inverse(self, a: int) -> int:
        """a^{−1} = a^{q−2} (Lagrange: a^{q−1} = 1 for a ≠ 0)."""
        if a == 0:
            raise ZeroDivisionError("0 has no inverse in a field")
        return self.power(a, self.order - 2)

    def quadratic_character(self, a: int) -> int:
        """χ(a): 0 for a = 0, +1 for a non-zero square, −1 otherwise."""
        if a == 0:
            return 0
        return 1 if a in self._nonzero_squares else -1

    def _to_digits(self, a: int) -> tuple[int, ...]:
        digits = []
        for _ in range(self.degree):
            a, digit = divmod(a, self.characteristic)
            digits.append(digit)
        return tuple(digits)

    def _from_digits(self, digits: Sequence[int]) -> int:
        value = 0
        for digit in reversed(digits):
            value = value * self.characteristic + digit
        return value
