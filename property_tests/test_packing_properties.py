"""Property tests of ``hadamrnn.packing``: round trips, the packed GEMM against integer matmul,
and the block-ternary dense form against an independent ``numpy.kron`` construction."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from hadamrnn.packing import (
    PackedBinaryHadamard,
    PackedBlockTernary,
    binary_matmul_packed,
    binary_matmul_reference,
    binary_matvec_packed,
    pack_int,
    pack_signs,
    unpack_int,
    unpack_signs,
)

from strategies import power_of_two_st, sign_vector_st, sizes_and_block_st


# Lengths up to 200 cross the 64- and 128-bit word boundaries.
def length_st(max_length: int = 200) -> st.SearchStrategy[int]:
    return st.integers(1, max_length)


def pm1_array_st(shape: tuple[int, ...]) -> st.SearchStrategy[np.ndarray]:
    return arrays(np.int8, shape, elements=st.sampled_from([-1, 1]))


def batched_signs_st() -> st.SearchStrategy[np.ndarray]:
    """±1 int8 arrays of shape (*leading, K) with 0 to 2 small leading axes."""
    shapes = st.tuples(st.lists(st.integers(1, 3), max_size=2), length_st())
    return shapes.flatmap(lambda s: pm1_array_st((*s[0], s[1])))


def int_fields_st() -> st.SearchStrategy[tuple[int, np.ndarray]]:
    """``(p, values)`` with 1 <= p <= 8 and values in the p-bit two's-complement range."""
    return st.integers(1, 8).flatmap(
        lambda bits: st.tuples(
            st.just(bits),
            arrays(
                np.int64,
                st.integers(0, 100),
                elements=st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1),
            ),
        )
    )


def sylvester_by_recursion(m: int) -> np.ndarray:
    s = np.ones((1, 1), dtype=np.int64)
    while s.shape[0] < m:
        s = np.kron(np.array([[1, 1], [1, -1]], dtype=np.int64), s)
    return s


@given(batched_signs_st())
def test_sign_round_trip(signs):
    words = pack_signs(signs)
    assert words.shape == (*signs.shape[:-1], -(-signs.shape[-1] // 64))
    assert np.array_equal(unpack_signs(words, signs.shape[-1]), signs)


@given(batched_signs_st())
def test_sign_bits_count_minus_ones(signs):
    # a set bit means -1 and padding bits are 0, so the popcount is the number of -1 entries
    popcounts = np.bitwise_count(pack_signs(signs)).sum(axis=-1)
    assert np.array_equal(popcounts, (signs == -1).sum(axis=-1))


@given(length_st().flatmap(sign_vector_st))
def test_sign_round_trip_torch_vector(signs):
    assert np.array_equal(unpack_signs(pack_signs(signs), len(signs)), signs.numpy())


@given(int_fields_st())
def test_int_round_trip(case):
    bits, values = case
    buf = pack_int(values, bits)
    assert buf.shape == (-(-len(values) * bits // 8),)
    assert np.array_equal(unpack_int(buf, bits, len(values)), values)


@given(
    st.tuples(st.integers(1, 6), st.integers(1, 6), length_st()).flatmap(
        lambda s: st.tuples(st.just(s[2]), pm1_array_st((s[0], s[2])), pm1_array_st((s[1], s[2])))
    )
)
def test_packed_matmul_equals_integer_reference(case):
    k, a, b = case
    packed = binary_matmul_packed(pack_signs(a), pack_signs(b), k)
    assert np.array_equal(packed, binary_matmul_reference(a, b))
    assert np.array_equal(packed, a.astype(np.int64) @ b.astype(np.int64).T)


@given(
    st.tuples(st.integers(1, 6), length_st()).flatmap(
        lambda s: st.tuples(st.just(s[1]), pm1_array_st(s), pm1_array_st((s[1],)))
    )
)
def test_packed_matvec_equals_integer_reference(case):
    k, matrix, vector = case
    packed = binary_matvec_packed(pack_signs(matrix), pack_signs(vector), k)
    assert np.array_equal(packed, matrix.astype(np.int64) @ vector.astype(np.int64))


@given(
    st.tuples(sizes_and_block_st(max_exponent=7), st.integers(1, 3)).flatmap(
        # q = n / m blocks need not be a power of two, so scale n by 1, 2 or 3
        lambda s: st.tuples(st.just(s[0][1]), sign_vector_st(s[0][0] * s[1]))
    )
)
def test_block_ternary_dense_equals_kron(case):
    block_size, u = case
    n = len(u)
    packed = PackedBlockTernary.from_signs(u, block_size)
    u_int = u.numpy().astype(np.int64)
    expected = np.diag(u_int) @ np.kron(
        np.eye(n // block_size, dtype=np.int64), sylvester_by_recursion(block_size)
    )
    assert np.array_equal(packed.to_dense_int(), expected)
    assert packed.nbytes == -(-n // 64) * 8
    assert np.array_equal(packed.signs(), u_int)


@given(power_of_two_st(0, 7).flatmap(sign_vector_st))
def test_binary_hadamard_dense_equals_diag_sylvester(u):
    n = len(u)
    packed = PackedBinaryHadamard.from_signs(u)
    expected = np.diag(u.numpy().astype(np.int64)) @ sylvester_by_recursion(n)
    assert np.array_equal(packed.to_dense_int(), expected)
