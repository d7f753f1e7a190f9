"""Hypothesis strategies shared by the property tests (every strategy is named ``*_st``).

Powers of two are drawn as exponents rather than by filtering integers, so no example is wasted.
"""

from __future__ import annotations

import torch
from hypothesis import strategies as st


def power_of_two_st(min_exponent: int = 0, max_exponent: int = 9) -> st.SearchStrategy[int]:
    return st.integers(min_exponent, max_exponent).map(lambda k: 1 << k)


def sizes_and_block_st(max_exponent: int = 9) -> st.SearchStrategy[tuple[int, int]]:
    """``(n, m)`` with ``n = 2^k`` and ``m = 2^j`` a block size dividing it (``j <= k``)."""
    return st.integers(0, max_exponent).flatmap(
        lambda k: st.tuples(st.just(1 << k), st.integers(0, k).map(lambda j: 1 << j))
    )


def sign_vector_st(n: int) -> st.SearchStrategy[torch.Tensor]:
    """A ±1 float32 vector of length ``n``."""
    return st.lists(st.sampled_from([-1.0, 1.0]), min_size=n, max_size=n).map(
        lambda values: torch.tensor(values, dtype=torch.float32)
    )


def seed_st() -> st.SearchStrategy[int]:
    return st.integers(0, 2**31 - 1)


def bits_st() -> st.SearchStrategy[int]:
    return st.integers(1, 16)


def base_order_st(max_order: int = 60) -> st.SearchStrategy[int]:
    """A base order ``r`` of :data:`hadamrnn.core.orders.BASE_ORDERS` (1 is Sylvester alone), at most
    ``max_order``: small bases keep the dense products of the tests cheap."""
    from hadamrnn.core import BASE_ORDERS

    return st.sampled_from([r for r in BASE_ORDERS if r <= max_order])


def supported_order_st(max_exponent: int = 5, max_base: int = 60) -> st.SearchStrategy[int]:
    """A supported order ``n = r · 2^k``: ``r`` from :func:`base_order_st`, ``k`` drawn as an exponent."""
    return st.tuples(base_order_st(max_base), st.integers(0, max_exponent)).map(lambda rk: rk[0] << rk[1])


def order_and_block_st(max_exponent: int = 5, max_base: int = 60) -> st.SearchStrategy[tuple[int, int]]:
    """``(n, m)``: ``n = r · 2^k`` from :func:`supported_order_st` and ``m`` one of the block sizes it
    allows (a supported order dividing it, :func:`hadamrnn.core.orders.block_sizes`)."""
    from hadamrnn.core import block_sizes

    return supported_order_st(max_exponent, max_base).flatmap(
        lambda n: st.tuples(st.just(n), st.sampled_from(block_sizes(n)))
    )
