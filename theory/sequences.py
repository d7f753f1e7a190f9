"""Sequences of ±1 (and of 0, ±1) and the circulant matrices they define, computed exactly.

A sequence is a tuple of Python ints. For a sequence a of length n:

- its non-periodic autocorrelation at shift s is N_a(s) = Σ_{0 ≤ i < n − s} a_i a_{i+s};
- its periodic autocorrelation is P_a(s) = Σ_{0 ≤ i < n} a_i a_{(i+s) mod n}, and
  P_a(s) = N_a(s) + N_a(n − s) for 0 < s < n;
- its circulant matrix is C[i][j] = a_{(j − i) mod n}: row i is a turned right by i places.

Then (C Cᵀ)[i][k] = P_a(k − i), so circulant matrices C_1, …, C_r satisfy Σ C_l C_lᵀ = c·I exactly
when Σ_l P_{a_l}(s) = 0 for every shift 0 < s < n. A family is *complementary* when
Σ_l N_{a_l}(s) = 0 for every s ≥ 1; a complementary family padded with zeros to a common length n
is then periodically complementary too.
"""

from __future__ import annotations

from typing import Sequence

from .matrices import Matrix

Signs = tuple[int, ...]
"""A sequence of ints, usually ±1 (base sequences) or 0, ±1 (T-sequences)."""

_SIGN_OF_CHARACTER = {"+": 1, "-": -1}


def signs_from_text(text: str) -> Signs:
    """``"+-+"`` → ``(1, -1, 1)``; any other character raises ``ValueError``."""
    try:
        return tuple(_SIGN_OF_CHARACTER[character] for character in text)
    except KeyError as bad:
        raise ValueError(f"a sign sequence is written with + and -, got {bad.args[0]!r}") from None


def signs_to_text(signs: Sequence[int]) -> str:
    """``(1, -1, 1)`` → ``"+-+"``."""
    return "".join("+" if x == 1 else "-" for x in signs)


def negated(a: Sequence[int]) -> Signs:
    """−a."""
    return tuple(-x for x in a)


def nonperiodic_autocorrelation(a: Sequence[int], shift: int) -> int:
    """N_a(s) = Σ a_i a_{i+s} over 0 ≤ i < len(a) − s."""
    return sum(x * y for x, y in zip(a, a[shift:]))


def periodic_autocorrelation(a: Sequence[int], shift: int) -> int:
    """P_a(s) = Σ a_i a_{(i+s) mod n}."""
    n = len(a)
    return sum(a[i] * a[(i + shift) % n] for i in range(n))


def is_complementary(sequences: Sequence[Sequence[int]]) -> bool:
    """Whether Σ N(s) = 0 over the family for every shift s ≥ 1 (lengths may differ)."""
    longest = max(map(len, sequences))
    return all(
        sum(nonperiodic_autocorrelation(a, shift) for a in sequences) == 0
        for shift in range(1, longest)
    )


def is_periodically_complementary(sequences: Sequence[Sequence[int]]) -> bool:
    """Whether sequences of one length n have Σ P(s) = 0 for every shift 0 < s < n."""
    n = len(sequences[0])
    if any(len(a) != n for a in sequences):
        return False
    return all(
        sum(periodic_autocorrelation(a, shift) for a in sequences) == 0 for shift in range(1, n)
    )


def circulant(a: Sequence[int]) -> Matrix:
    """The circulant matrix C[i][j] = a_{(j − i) mod n}."""
    row = tuple(a)
    n = len(row)
    return tuple(row[n - i :] + row[: n - i] for i in range(n))


def back_identity(n: int) -> Matrix:
    """R, the n×n matrix with ones on the anti-diagonal (R[i][j] = 1 iff i + j = n − 1).

    For a circulant C, C·R is symmetric (entry (i, j) is a_{(n − 1 − j − i) mod n}) and R·C·R = Cᵀ:
    the two facts the Goethals–Seidel array rests on.
    """
    return tuple(tuple(1 if i + j == n - 1 else 0 for j in range(n)) for i in range(n))
