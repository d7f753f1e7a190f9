"""The fast Walsh–Hadamard transform (FWHT) as a reference, and its factorisation.

S_n = Π_{j=0}^{k−1} F_j with F_j = I_{2^j} ⊗ S_2 ⊗ I_{n/2^{j+1}}, n = 2^k. Each F_j is one
butterfly stage: n/2 pairs (a, b) ↦ (a + b, a − b), i.e. n additions or subtractions and no
multiplication, so S_n x costs n·log2(n) of them. Stopping after the first log2(m) stages (the
strides 1, 2, …, m/2) gives (I_q ⊗ S_m) x, the Block-HadamRNN product, in n·log2(m).
"""

from __future__ import annotations

from typing import Any, Sequence

from .kronecker import kronecker
from .matrices import Matrix, identity
from .sylvester import is_power_of_two, sylvester


def fwht(x: Sequence[Any], block_size: int | None = None) -> tuple[list[Any], int]:
    """(S_m-blockwise transform of x, number of additions and subtractions used).

    With ``block_size=None`` the result is S_n x; with m it is (I_{n/m} ⊗ S_m) x. Entries may be
    anything with + and − (ints, Fractions, sympy expressions): the transform never multiplies.
    """
    values = list(x)
    n = len(values)
    m = n if block_size is None else block_size
    if not is_power_of_two(n) or not is_power_of_two(m) or n % m:
        raise ValueError(f"need powers of two with block_size | n, got n={n}, block_size={m}")
    operations = 0
    stride = 1
    while stride < m:
        for start in range(0, n, 2 * stride):
            for i in range(start, start + stride):
                a, b = values[i], values[i + stride]
                values[i], values[i + stride] = a + b, a - b
                operations += 2
        stride *= 2
    return values, operations


def butterfly_factors(n: int) -> list[Matrix]:
    """[F_0, …, F_{k−1}] with F_j = I_{2^j} ⊗ S_2 ⊗ I_{n/2^{j+1}} and n = 2^k."""
    if not is_power_of_two(n):
        raise ValueError(f"n must be a power of two, got {n}")
    k = n.bit_length() - 1
    return [
        kronecker(kronecker(identity(2**j), sylvester(2)), identity(n // 2 ** (j + 1)))
        for j in range(k)
    ]
