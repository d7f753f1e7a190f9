"""Tests of ``hadamrnn.packing``: exact round trips, the documented bit layout, the packed GEMM
against integer matmul, and the block-ternary format against an independent construction.

Expected values are derived by hand from the convention in the module docstring, or built here
with Python integers and ``numpy.kron``; none comes from running the code under test.
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

from hadamrnn import core
from hadamrnn.packing import (
    WORD_BITS,
    PackedBinaryHadamard,
    PackedBlockTernary,
    PackingError,
    binary_matmul_packed,
    binary_matmul_reference,
    binary_matvec_packed,
    num_words,
    pack_int,
    pack_signs,
    sylvester_int,
    unpack_int,
    unpack_signs,
)

# Both sides of the 32- and 64-bit word boundaries.
BOUNDARY_SIZES = [1, 3, 31, 32, 33, 63, 64, 65, 128]
ALL_BITS = list(range(1, 9))
MASK64 = (1 << 64) - 1


def random_signs(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    return rng.choice(np.array([-1, 1], dtype=np.int8), size=shape)


def words_from_python_ints(signs_row: np.ndarray) -> list[int]:
    """Independent packing: element i sets bit i of one big Python int, cut into 64-bit words."""
    big = sum(1 << i for i, s in enumerate(signs_row.tolist()) if s == -1)
    return [(big >> (64 * w)) & MASK64 for w in range(-(-len(signs_row) // 64))]


def bytes_from_python_ints(values: list[int], bits: int) -> bytes:
    """Independent p-bit packing: field j's bit i is stream bit j*bits + i (LSB-first bytes).

    Python's ``>>`` on a negative int behaves as infinite two's complement, so ``(v >> i) & 1`` is
    bit i of v's two's-complement code.
    """
    stream = 0
    for j, value in enumerate(values):
        for i in range(bits):
            stream |= ((value >> i) & 1) << (j * bits + i)
    return stream.to_bytes(-(-len(values) * bits // 8), "little")


def sylvester_by_recursion(m: int) -> np.ndarray:
    """S_1 = [1], S_2k = [[S_k, S_k], [S_k, -S_k]], independent of the popcount formula."""
    s = np.ones((1, 1), dtype=np.int64)
    while s.shape[0] < m:
        s = np.kron(np.array([[1, 1], [1, -1]], dtype=np.int64), s)
    return s


def block_ternary_by_kron(u: np.ndarray, m: int) -> np.ndarray:
    q = len(u) // m
    blocks = np.kron(np.eye(q, dtype=np.int64), sylvester_by_recursion(m))
    return np.diag(u.astype(np.int64)) @ blocks


# --------------------------------------------------------------------------------------------


class TestSignLayout:
    def test_hand_example_one_word(self):
        # elements 0 and 3 are -1 -> bits 0 and 3 -> 0b1001
        words = pack_signs(np.array([-1, 1, 1, -1]))
        assert words.dtype == np.uint64
        assert words.shape == (1,)
        assert int(words[0]) == 0b1001 == 9

    def test_all_plus_one_is_zero(self):
        assert np.array_equal(pack_signs(np.ones(65)), np.zeros(2, dtype=np.uint64))

    def test_full_word_and_one_more(self):
        words = pack_signs(-np.ones(65))
        assert [int(w) for w in words] == [MASK64, 1]

    def test_last_element_of_word_is_top_bit(self):
        signs = np.ones(64)
        signs[63] = -1
        assert int(pack_signs(signs)[0]) == 1 << 63

    def test_element_64_is_bit_0_of_second_word(self):
        signs = np.ones(128)
        signs[64] = -1
        assert [int(w) for w in pack_signs(signs)] == [0, 1]

    def test_serialised_bytes_little_endian(self):
        # elements 0..7 and 15 are -1: byte 0 = 0xFF, byte 1 = 0x80, the other six bytes 0
        signs = np.ones(16)
        signs[:8] = -1
        signs[15] = -1
        words = pack_signs(signs)
        assert int(words[0]) == 0x80FF
        assert words.astype("<u8").tobytes() == bytes([0xFF, 0x80, 0, 0, 0, 0, 0, 0])

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_matches_python_int_packing(self, k):
        rng = np.random.default_rng(k)
        signs = random_signs(rng, (3, k))
        words = pack_signs(signs)
        assert words.shape == (3, -(-k // 64))
        for row in range(3):
            assert [int(w) for w in words[row]] == words_from_python_ints(signs[row])

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_byte_stream_equals_lsb_first_bit_stream(self, k):
        rng = np.random.default_rng(100 + k)
        signs = random_signs(rng, (k,))
        bits = np.zeros(64 * num_words(k), dtype=np.uint8)
        bits[:k] = signs == -1
        expected = np.packbits(bits, bitorder="little").tobytes()
        assert pack_signs(signs).astype("<u8").tobytes() == expected

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_padding_bits_are_zero(self, k):
        # all -1 sets every element bit, so any set bit above k - 1 would be padding
        words = pack_signs(-np.ones((2, k)))
        used = k - 64 * (num_words(k) - 1)
        expected_last = (1 << used) - 1
        assert all(int(w) == expected_last for w in words[:, -1])
        assert all(int(w) == MASK64 for w in words[:, :-1].reshape(-1))


class TestSignRoundTrip:
    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_vector(self, k):
        signs = random_signs(np.random.default_rng(k), (k,))
        out = unpack_signs(pack_signs(signs), k)
        assert out.dtype == np.int8
        assert np.array_equal(out, signs)

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_batched_matrix(self, k):
        signs = random_signs(np.random.default_rng(k), (2, 3, k))
        words = pack_signs(signs)
        assert words.shape == (2, 3, num_words(k))
        assert np.array_equal(unpack_signs(words, k), signs)

    def test_float_and_torch_inputs(self):
        signs = np.array([1.0, -1.0, -1.0, 1.0, -1.0], dtype=np.float32)
        tensor = torch.tensor(signs, requires_grad=True)
        assert np.array_equal(pack_signs(tensor), pack_signs(signs))
        assert np.array_equal(pack_signs(signs), pack_signs(signs.astype(np.int64)))
        assert int(pack_signs(signs)[0]) == 0b10110

    def test_zero_length(self):
        words = pack_signs(np.ones((2, 0)))
        assert words.shape == (2, 0)
        assert unpack_signs(words, 0).shape == (2, 0)


class TestSignErrors:
    @pytest.mark.parametrize("bad", [0, 2, 0.5, -3, np.nan])
    def test_non_pm1_value(self, bad):
        with pytest.raises(PackingError, match=r"\+1 and -1.*at index 2"):
            pack_signs(np.array([1.0, -1.0, bad, 1.0]))

    def test_error_is_value_error(self):
        with pytest.raises(ValueError):
            pack_signs([1, 0])

    def test_scalar_rejected(self):
        with pytest.raises(PackingError, match="scalar"):
            pack_signs(np.float32(1.0))

    def test_bool_rejected(self):
        with pytest.raises(PackingError, match="dtype bool"):
            pack_signs(np.array([True, False]))

    @pytest.mark.parametrize("n, given", [(64, 2), (65, 1), (1, 0), (128, 3)])
    def test_wrong_word_count(self, n, given):
        message = rf"{n} signs need {num_words(n)} uint64 word.*got {given}"
        with pytest.raises(PackingError, match=message):
            unpack_signs(np.zeros(given, dtype=np.uint64), n)

    def test_wrong_dtype(self):
        with pytest.raises(PackingError, match="uint64.*int64"):
            unpack_signs(np.zeros(1, dtype=np.int64), 3)

    def test_padding_bit_set(self):
        with pytest.raises(PackingError, match="padding"):
            unpack_signs(np.array([1 << 3], dtype=np.uint64), 3)

    def test_negative_n(self):
        with pytest.raises(PackingError, match="n must be >= 0, got -1"):
            unpack_signs(np.zeros(1, dtype=np.uint64), -1)


# --------------------------------------------------------------------------------------------


class TestIntLayout:
    def test_nibbles(self):
        # 1 -> 0001 in the low nibble, -1 -> 1111 in the high nibble
        assert pack_int(np.array([1, -1]), 4).tobytes() == bytes([0xF1])

    def test_nibble_extremes(self):
        # -8 -> 1000 (low), 7 -> 0111 (high)
        assert pack_int([-8, 7], 4).tobytes() == bytes([0x78])

    def test_three_bit_fields_straddle_bytes(self):
        # 1 = 001, 2 = 010, 3 = 011 at stream bits 0-2, 3-5, 6-8:
        # byte 0 = bits 0, 4, 6, 7 = 0xD1; byte 1 = stream bit 8 = 0
        assert pack_int([1, 2, 3], 3).tobytes() == bytes([0xD1, 0x00])

    def test_five_bit_fields(self):
        # -16 = 10000, 15 = 01111: stream bits 4, 5, 6, 7, 8 -> 0xF0, 0x01
        assert pack_int([-16, 15], 5).tobytes() == bytes([0xF0, 0x01])

    def test_one_bit_fields(self):
        # p = 1 holds {-1, 0}; -1 -> 1
        assert pack_int([-1, 0, 0, -1, 0, 0, 0, 0, -1], 1).tobytes() == bytes([0b1001, 0b1])

    def test_bytes(self):
        assert pack_int([-1, 127, -128, 0], 8).tobytes() == bytes([0xFF, 0x7F, 0x80, 0x00])

    def test_padding_bits_are_zero(self):
        # one 3-bit -1 sets bits 0-2 only
        buf = pack_int([-1], 3)
        assert buf.dtype == np.uint8
        assert buf.tobytes() == bytes([0b111])

    @pytest.mark.parametrize("bits", ALL_BITS)
    @pytest.mark.parametrize("count", BOUNDARY_SIZES)
    def test_matches_python_int_packing(self, bits, count):
        rng = np.random.default_rng(bits * 1000 + count)
        values = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=count)
        buf = pack_int(values, bits)
        assert buf.shape == (-(-count * bits // 8),)
        assert buf.tobytes() == bytes_from_python_ints(values.tolist(), bits)


class TestIntRoundTrip:
    @pytest.mark.parametrize("bits", ALL_BITS)
    @pytest.mark.parametrize("count", BOUNDARY_SIZES)
    def test_random(self, bits, count):
        rng = np.random.default_rng(bits * 1000 + count)
        values = rng.integers(-(1 << (bits - 1)), 1 << (bits - 1), size=count)
        out = unpack_int(pack_int(values, bits), bits, count)
        assert out.dtype == np.int8
        assert np.array_equal(out, values)

    @pytest.mark.parametrize("bits", ALL_BITS)
    def test_every_value_in_range(self, bits):
        values = np.arange(-(1 << (bits - 1)), 1 << (bits - 1))
        assert np.array_equal(unpack_int(pack_int(values, bits), bits, len(values)), values)

    def test_integral_floats_and_torch(self):
        values = torch.tensor([[-2.0, 1.0], [0.0, -1.0]])
        assert np.array_equal(pack_int(values, 2), pack_int(np.array([-2, 1, 0, -1]), 2))

    def test_zero_count(self):
        assert pack_int(np.zeros(0, dtype=np.int8), 4).shape == (0,)
        assert unpack_int(np.zeros(0, dtype=np.uint8), 4, 0).shape == (0,)


class TestIntErrors:
    @pytest.mark.parametrize("bits", [0, 9, -1])
    def test_bits_outside_1_to_8(self, bits):
        with pytest.raises(PackingError, match=rf"bits must be from 1 to 8, got {bits}"):
            pack_int([0], bits)
        with pytest.raises(PackingError, match=rf"got {bits}"):
            unpack_int(np.zeros(1, dtype=np.uint8), bits, 1)

    def test_bits_not_integer(self):
        with pytest.raises(PackingError, match="got 4.0"):
            pack_int([0], 4.0)

    @pytest.mark.parametrize(
        "bits, bad, low, high", [(1, 1, -1, 0), (4, 8, -8, 7), (4, -9, -8, 7), (8, 128, -128, 127)]
    )
    def test_out_of_range(self, bits, bad, low, high):
        message = rf"{bits}-bit.*\[{low}, {high}\].*the first {bad} at index 1"
        with pytest.raises(PackingError, match=message):
            pack_int([0, bad, 0], bits)

    def test_non_integral_float(self):
        with pytest.raises(PackingError, match="integers.*0.5"):
            pack_int([0.0, 0.5], 4)

    def test_wrong_byte_count(self):
        with pytest.raises(PackingError, match="3 fields of 4 bits need 2 bytes, got 1"):
            unpack_int(np.zeros(1, dtype=np.uint8), 4, 3)

    def test_wrong_dtype(self):
        with pytest.raises(PackingError, match="uint8.*int64"):
            unpack_int(np.zeros(2, dtype=np.int64), 4, 3)

    def test_padding_bit_set(self):
        with pytest.raises(PackingError, match="padding"):
            unpack_int(np.array([0xF1, 0x10], dtype=np.uint8), 4, 3)


# --------------------------------------------------------------------------------------------


class TestBinaryMatmul:
    def test_hand_example(self):
        # dot([+1, -1, +1], [+1, +1, -1]) = 1 - 1 - 1 = -1; XOR = 0b110, popcount 2, 3 - 4 = -1
        a = pack_signs(np.array([[1, -1, 1]]))
        b = pack_signs(np.array([[1, 1, -1], [1, -1, 1], [-1, 1, -1]]))
        assert binary_matmul_packed(a, b, 3).tolist() == [[-1, 3, -3]]

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_equals_integer_matmul_over_boundary_sizes(self, k):
        rng = np.random.default_rng(k)
        for m in BOUNDARY_SIZES:
            for n in BOUNDARY_SIZES:
                a = random_signs(rng, (m, k))
                b = random_signs(rng, (n, k))
                expected = a.astype(np.int64) @ b.astype(np.int64).T
                packed = binary_matmul_packed(pack_signs(a), pack_signs(b), k)
                assert packed.shape == (m, n)
                assert np.array_equal(packed, expected), (m, n, k)

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_reference_equals_integer_matmul(self, k):
        rng = np.random.default_rng(k)
        a, b = random_signs(rng, (5, k)), random_signs(rng, (4, k))
        expected = [
            [sum(int(x) * int(y) for x, y in zip(row_a, row_b)) for row_b in b] for row_a in a
        ]
        assert binary_matmul_reference(a, b).tolist() == expected

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_identical_and_opposite_rows(self, k):
        a = random_signs(np.random.default_rng(k), (1, k))
        words = pack_signs(np.concatenate([a, -a]))
        assert binary_matmul_packed(words[:1], words, k).tolist() == [[k, -k]]

    @pytest.mark.parametrize("k", BOUNDARY_SIZES)
    def test_matvec(self, k):
        rng = np.random.default_rng(k)
        matrix, vector = random_signs(rng, (7, k)), random_signs(rng, (k,))
        expected = matrix.astype(np.int64) @ vector.astype(np.int64)
        packed = binary_matvec_packed(pack_signs(matrix), pack_signs(vector), k)
        assert np.array_equal(packed, expected)

    def test_chunked_rows(self, monkeypatch):
        # force one row per chunk so the chunk loop is exercised
        import hadamrnn.packing as packing

        monkeypatch.setattr(packing, "_GEMM_CHUNK_WORDS", 1)
        rng = np.random.default_rng(0)
        a, b = random_signs(rng, (5, 70)), random_signs(rng, (3, 70))
        expected = a.astype(np.int64) @ b.astype(np.int64).T
        assert np.array_equal(binary_matmul_packed(pack_signs(a), pack_signs(b), 70), expected)

    def test_padding_bit_set_is_rejected(self):
        with pytest.raises(PackingError, match="b_words has padding bits"):
            binary_matmul_packed(
                np.zeros((1, 1), dtype=np.uint64), np.array([[1 << 5]], dtype=np.uint64), 5
            )

    def test_word_count_mismatch(self):
        message = r"a_words must have shape \(rows, 2\) for k = 65, got \(3, 1\)"
        with pytest.raises(PackingError, match=message):
            binary_matmul_packed(
                np.zeros((3, 1), dtype=np.uint64), np.zeros((2, 2), dtype=np.uint64), 65
            )

    def test_not_2d(self):
        with pytest.raises(PackingError, match=r"b_words must have shape"):
            binary_matmul_packed(np.zeros((3, 1), dtype=np.uint64), np.zeros(1, dtype=np.uint64), 3)

    def test_reference_shape_mismatch(self):
        with pytest.raises(PackingError, match=r"\(2, 3\) and \(2, 4\)"):
            binary_matmul_reference(np.ones((2, 3)), np.ones((2, 4)))


# --------------------------------------------------------------------------------------------

BLOCK_CASES = [
    (n, m) for n in [1, 2, 4, 8, 32, 64, 128] for m in [1 << j for j in range(8)] if n % m == 0
]
# n need not be a power of two: q = n / m blocks of any count
BLOCK_CASES += [(12, 4), (96, 32), (65, 1), (3, 1), (192, 64)]


class TestSylvester:
    @pytest.mark.parametrize("m", [1, 2, 4, 8, 16, 64])
    def test_equals_recursive_construction(self, m):
        assert np.array_equal(sylvester_int(m), sylvester_by_recursion(m))

    def test_hand_example(self):
        expected = [[1, 1, 1, 1], [1, -1, 1, -1], [1, 1, -1, -1], [1, -1, -1, 1]]
        assert sylvester_int(4).tolist() == expected

    def test_not_power_of_two(self):
        with pytest.raises(PackingError, match=r"m must be a power of two \(.*\), got 6"):
            sylvester_int(6)


class TestBlockTernary:
    @pytest.mark.parametrize("n, m", BLOCK_CASES)
    def test_dense_equals_kron(self, n, m):
        u = random_signs(np.random.default_rng(n * 31 + m), (n,))
        packed = PackedBlockTernary.from_signs(u, m)
        dense = packed.to_dense_int()
        assert dense.dtype == np.int8
        assert np.array_equal(dense, block_ternary_by_kron(u, m))

    @pytest.mark.parametrize("n, m", BLOCK_CASES)
    def test_nonzeros_per_row_and_orthogonality(self, n, m):
        u = random_signs(np.random.default_rng(n + m), (n,))
        dense = PackedBlockTernary.from_signs(u, m).to_dense_int().astype(np.int64)
        assert np.array_equal(np.count_nonzero(dense, axis=1), np.full(n, m))
        assert np.array_equal(dense @ dense.T, m * np.eye(n, dtype=np.int64))

    @pytest.mark.parametrize("n", BOUNDARY_SIZES + [192])
    def test_nbytes_and_signs(self, n):
        u = random_signs(np.random.default_rng(n), (n,))
        packed = PackedBlockTernary.from_signs(u, 1)
        assert packed.nbytes == -(-n // 64) * 8
        assert packed.sign_words.shape == (-(-n // 64),)
        assert np.array_equal(packed.signs(), u)

    def test_hand_example(self):
        # u = [+1, -1, +1, -1], m = 2: rows u_r * S_2[r % 2] in block r // 2
        packed = PackedBlockTernary.from_signs([1, -1, 1, -1], 2)
        assert int(packed.sign_words[0]) == 0b1010
        assert packed.num_blocks == 2
        assert packed.to_dense_int().tolist() == [
            [1, 1, 0, 0],
            [-1, 1, 0, 0],
            [0, 0, 1, 1],
            [0, 0, -1, 1],
        ]

    def test_accepts_torch_signs(self):
        u = torch.tensor([1.0, -1.0, -1.0, 1.0])
        assert PackedBlockTernary.from_signs(u, 2) == PackedBlockTernary.from_signs(u.numpy(), 2)

    def test_frozen_and_read_only(self):
        words = pack_signs(np.array([1, -1, 1, 1]))
        packed = PackedBlockTernary(4, 2, words)
        with pytest.raises(dataclasses.FrozenInstanceError):
            packed.n = 8
        with pytest.raises(ValueError):
            packed.sign_words[0] = 0
        words[0] = 0  # the instance kept its own copy
        assert int(packed.sign_words[0]) == 0b10

    def test_equality_and_hash(self):
        a = PackedBlockTernary.from_signs([1, -1, 1, 1], 2)
        b = PackedBlockTernary.from_signs(np.array([1, -1, 1, 1]), 2)
        c = PackedBlockTernary.from_signs([1, -1, 1, 1], 4)
        assert a == b and hash(a) == hash(b)
        assert a != c

    @pytest.mark.parametrize(
        "n, m, message",
        [
            (12, 3, r"block_size must be a supported Hadamard order dividing hidden_size=12 \(1, 2, 4, 12\), got 3"),
            (12, 8, r"block_size must be a supported Hadamard order dividing hidden_size=12 \(1, 2, 4, 12\), got 8"),
            (4, 0, "block_size must be >= 1, got 0"),
            (64, 128, r"block_size must be a supported Hadamard order dividing hidden_size=64 \(1, 2, 4, 8, 16, 32, 64\), got 128"),
        ],
    )
    def test_bad_block_size(self, n, m, message):
        with pytest.raises(PackingError, match=message):
            PackedBlockTernary.from_signs(np.ones(n), m)

    def test_bad_signs(self):
        with pytest.raises(PackingError, match=r"\+1 and -1"):
            PackedBlockTernary.from_signs([1, 0], 2)
        with pytest.raises(PackingError, match=r"shape \(n,\), got shape \(2, 2\)"):
            PackedBlockTernary.from_signs(np.ones((2, 2)), 2)

    def test_wrong_word_count(self):
        with pytest.raises(PackingError, match=r"n = 65 must have shape \(2,\), got \(1,\)"):
            PackedBlockTernary(65, 1, np.zeros(1, dtype=np.uint64))

    def test_padding_bit_set(self):
        with pytest.raises(PackingError, match="padding"):
            PackedBlockTernary(4, 2, np.array([1 << 4], dtype=np.uint64))


class TestBinaryHadamard:
    @pytest.mark.parametrize("n", [1, 2, 4, 32, 64, 128])
    def test_is_block_case_with_block_size_n(self, n):
        u = random_signs(np.random.default_rng(n), (n,))
        packed = PackedBinaryHadamard.from_signs(u)
        assert isinstance(packed, PackedBlockTernary)
        assert packed.block_size == n
        expected = np.diag(u.astype(np.int64)) @ sylvester_by_recursion(n)
        assert np.array_equal(packed.to_dense_int(), expected)
        assert np.count_nonzero(packed.to_dense_int()) == n * n
        assert packed.nbytes == -(-n // 64) * 8

    def test_unsupported_order(self):
        with pytest.raises(PackingError, match=r"n must be a supported Hadamard order .*, got 100"):
            PackedBinaryHadamard.from_signs(np.ones(100))

    @pytest.mark.parametrize(("n", "m"), [(12, 12), (96, 96), (48, 24), (96, 12)])
    def test_base_orders_are_the_core_matrices(self, n, m):
        u = random_signs(np.random.default_rng(n + m), (n,))
        cls = PackedBinaryHadamard if m == n else PackedBlockTernary
        packed = cls.from_signs(u, m)
        assert np.array_equal(packed.to_dense_int(), np.diag(u.astype(np.int64)) @ core.block_hadamard(n, m))
        assert np.count_nonzero(packed.to_dense_int()) == n * m

    def test_block_size_other_than_n(self):
        with pytest.raises(PackingError, match="block_size = n, got block_size 2 and n 4"):
            PackedBinaryHadamard.from_signs(np.ones(4), 2)


def test_word_bits_and_num_words():
    assert WORD_BITS == 64
    assert [num_words(k) for k in [0, 1, 63, 64, 65, 128, 129]] == [0, 1, 1, 1, 2, 2, 3]


def test_module_does_not_import_torch():
    # The numpy-only runtime must be able to use this module: the package imports lazily.
    code = (
        "import sys\n"
        "from hadamrnn.packing import pack_signs\n"
        "assert int(pack_signs([-1, 1, 1, -1])[0]) == 9\n"
        "assert 'torch' not in sys.modules, 'torch was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_popcount_fallback_without_bitwise_count(monkeypatch):
    # numpy < 2.0 has no bitwise_count; the byte lookup table must give the same products
    monkeypatch.delattr(np, "bitwise_count")
    rng = np.random.default_rng(7)
    a, b = random_signs(rng, (4, 130)), random_signs(rng, (3, 130))
    expected = a.astype(np.int64) @ b.astype(np.int64).T
    assert np.array_equal(binary_matmul_packed(pack_signs(a), pack_signs(b), 130), expected)
    assert sylvester_int(8).tolist() == sylvester_by_recursion(8).tolist()
