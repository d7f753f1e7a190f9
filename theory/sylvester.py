"""Sylvester's Hadamard matrices and their block-diagonal (Block-HadamRNN) form.

S_1 = [1] and S_{2m} = [[S_m, S_m], [S_m, −S_m]], so S_n = S_2^{⊗k} for n = 2^k and
S[i][j] = (−1)^{popcount(i & j)}. The block form is I_q ⊗ S_m with m = ``block_size``, q = n/m.
"""

from __future__ import annotations

from .errors import ConstructionError
from .matrices import Matrix


def is_power_of_two(n: int) -> bool:
    """Whether n = 2^k for some k ≥ 0."""
    return n >= 1 and n & (n - 1) == 0


def powers_of_two(limit: int) -> list[int]:
    """1, 2, 4, … up to ``limit``."""
    return [1 << k for k in range(limit.bit_length()) if 1 << k <= limit]


def sylvester(n: int) -> Matrix:
    """S_n by the doubling recursion S_{2m} = [[S_m, S_m], [S_m, −S_m]].

    Raises :class:`ConstructionError` unless n is a power of two.
    """
    if not is_power_of_two(n):
        raise ConstructionError(f"Sylvester's construction needs n to be a power of two, got {n}")
    s: Matrix = ((1,),)
    while len(s) < n:
        top = tuple(row + row for row in s)
        bottom = tuple(row + tuple(-x for x in row) for row in s)
        s = top + bottom
    return s


def sylvester_entry(i: int, j: int) -> int:
    """S[i][j] = (−1)^{popcount(i & j)}, the closed form of the recursion."""
    return -1 if (i & j).bit_count() % 2 else 1


def block_sylvester(n: int, block_size: int) -> Matrix:
    """I_q ⊗ S_m with m = ``block_size`` and q = n/m: q copies of S_m on the diagonal.

    Raises :class:`ConstructionError` unless m is a power of two that divides n.
    """
    if not is_power_of_two(block_size) or n < 1 or n % block_size:
        raise ConstructionError(
            f"block_size must be a power of two dividing n, got n={n}, block_size={block_size}"
        )
    block = sylvester(block_size)
    zeros = (0,) * block_size
    return tuple(
        zeros * b + row + zeros * (n // block_size - b - 1)
        for b in range(n // block_size)
        for row in block
    )
