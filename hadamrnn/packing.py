r"""Packed storage of binary, p-bit and block-ternary weights, and a packed binary GEMM.

The bit convention (the only place it is written down)
------------------------------------------------------
A ±1 vector of length ``K`` is stored as ``W = ceil(K / 64)`` words of type ``numpy.uint64``:

* **little-endian within a word**: bit ``i`` of word ``w`` (the bit of value ``2**i``) holds
  element ``64 * w + i``;
* **a set bit means −1**, a clear bit means +1;
* **padding bits are 0**: the ``64 * W - K`` bits above element ``K - 1`` in the last word are
  clear, so they read as +1 in *both* operands of a product and cancel;
* therefore, for two packed ±1 vectors ``a`` and ``b`` of unpadded length ``K``::

      dot(a, b) = K - 2 * popcount(a XOR b)

  because every differing element contributes −1 instead of +1.

Matrices are packed **row-wise along the last axis**: shape ``(..., K)`` becomes
``(..., ceil(K / 64))``, and no word holds elements of two rows.

**Serialised byte order.** When words are written to bytes (a file, a safetensors blob) they are
written little-endian (``words.astype("<u8").tobytes()``). The byte stream then equals the bit
stream packed LSB-first, ``numpy.packbits(bits, bitorder="little")``, whatever the host's byte
order, so a reader may treat the buffer as bytes, 32-bit words or 64-bit words alike.

**p-bit signed fields** (``1 <= p <= 8``) use the same LSB-first bit stream, in a ``uint8`` buffer:
field ``j`` is the p-bit two's-complement code of value ``j`` and occupies stream bits
``[j * p, (j + 1) * p)``, least significant bit first; fields straddle byte boundaries freely and
the padding bits of the last byte are 0. For ``p = 4`` this is nibbles with the even element in
the low nibble, e.g. ``[1, -1] -> bytes([0xF1])``.

**Block-ternary weights.** ``W = diag(u) (I_q ⊗ H_m) / sqrt(m)`` with ``n = q * m``, ``u`` a ±1
vector and ``H_m`` the Hadamard matrix of the core (:func:`hadamrnn.core.matrices.hadamard`): the
Sylvester–Hadamard matrix ``S_m[i, j] = (-1) ** popcount(i & j)`` for ``m = 2^j``, and
``H_r ⊗ S_{2^j}`` with the canonical base matrix ``H_r`` for ``m = r * 2^j``. Only the ``n`` sign
bits of ``u`` are stored; the block structure is implicit in ``(n, block_size)``, so the non-zero
plane of a general sparse-ternary format is not needed. The binary Hadamard ``W`` of HadamRNN is
the case ``block_size = n``.

Everything here is numpy. Functions accept numpy arrays, sequences or torch tensors and return
numpy arrays; torch is never imported, so a numpy-only runtime can use this module.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from .core import check_block_size, check_hidden_size, check_sylvester_order, signed_block_hadamard, sylvester
from .errors import HadamRNNError

__all__ = [
    "WORD_BITS",
    "PackingError",
    "num_words",
    "pack_signs",
    "unpack_signs",
    "pack_int",
    "unpack_int",
    "sylvester_int",
    "PackedBlockTernary",
    "PackedBinaryHadamard",
    "binary_matmul_packed",
    "binary_matmul_reference",
    "binary_matvec_packed",
]

WORD_BITS = 64
"""Bits per packed word; words are ``numpy.uint64``."""

_WORD_DTYPE = np.dtype(np.uint64)
# Little-endian view of the word type: the serialised layout, and the byte order in which
# ``numpy.packbits(..., bitorder="little")`` output must be read to give the convention above.
_WORD_DTYPE_LE = np.dtype("<u8")

# Fields unpacked at a time by ``unpack_int`` (a multiple of 8): 2**18 fields of up to 8 bits
# keep its temporaries under 8 MiB whatever the size of the buffer.
_UNPACK_CHUNK_FIELDS = 1 << 18

# Upper bound on the temporary (rows, N, words) XOR block of ``binary_matmul_packed``: 2**22 words
# is 32 MiB, small enough to stay out of swap, large enough to amortise the Python loop.
_GEMM_CHUNK_WORDS = 1 << 22


class PackingError(HadamRNNError):
    """A value, shape, dtype or size does not fit a packed format."""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _to_numpy(x: Any) -> np.ndarray:
    """``x`` as a numpy array; torch tensors are detached and moved to the CPU first."""
    if hasattr(x, "detach"):  # a torch tensor, recognised without importing torch
        x = x.detach().cpu()
    return np.asarray(x)


def _check_count(name: str, value: Any, minimum: int = 0) -> int:
    """``value`` as a Python int ``>= minimum``; bools and non-integers are rejected."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise PackingError(
            f"{name} must be an integer, got {value!r} of type {type(value).__name__}"
        )
    if value < minimum:
        raise PackingError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def num_words(length: int) -> int:
    """Number of uint64 words that hold ``length`` packed bits: ``ceil(length / 64)``."""
    length = _check_count("length", length)
    return -(-length // WORD_BITS)


def _popcount(words: np.ndarray) -> np.ndarray:
    """Per-element population count of an unsigned integer array (uint8 result)."""
    if hasattr(np, "bitwise_count"):  # numpy >= 2.0
        return np.bitwise_count(words)
    # numpy < 2.0: count the bits of each byte with a lookup table, then add the bytes of a word.
    table = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
    as_bytes = np.ascontiguousarray(words).view(np.uint8).reshape(*words.shape, words.itemsize)
    return table[as_bytes].sum(axis=-1, dtype=np.uint8)


def _describe_first(mask: np.ndarray, values: np.ndarray) -> str:
    """'N invalid entries, the first <value> at index <idx>' for the True entries of ``mask``."""
    count = int(mask.sum())
    bad_index = tuple(int(i) for i in np.argwhere(mask)[0])
    index = bad_index[0] if len(bad_index) == 1 else bad_index
    noun = "entry" if count == 1 else "entries"
    return f"{count} invalid {noun}, the first {values[bad_index].item()!r} at index {index}"


def _check_words(name: str, words: Any) -> np.ndarray:
    """``words`` as a uint64 array with at least one axis; any other dtype is rejected."""
    array = _to_numpy(words)
    if array.dtype != _WORD_DTYPE:
        raise PackingError(f"{name} must be an array of uint64 words, got dtype {array.dtype}")
    if array.ndim == 0:
        raise PackingError(f"{name} must have at least one axis (the word axis), got a scalar")
    return array


def _padding_mask(length: int) -> np.uint64:
    """The bits of the last word that lie beyond element ``length - 1`` (0 if none)."""
    used = length % WORD_BITS
    if used == 0:
        return np.uint64(0)
    return np.uint64(~((1 << used) - 1) & ((1 << WORD_BITS) - 1))


def _check_padding_clear(name: str, words: np.ndarray, length: int) -> None:
    """Raise if any padding bit of the last word is set (the dot-product identity needs them 0)."""
    mask = _padding_mask(length)
    if mask and words.size and np.any(words[..., -1] & mask):
        raise PackingError(
            f"{name} has padding bits set above element {length - 1}; "
            "the packed format requires them to be 0"
        )


# --------------------------------------------------------------------------------------------
# ±1 signs <-> uint64 words
# --------------------------------------------------------------------------------------------


def _check_signs(name: str, signs: Any) -> np.ndarray:
    """``signs`` as a numpy array whose entries are all exactly +1 or −1."""
    array = _to_numpy(signs)
    if array.ndim == 0:
        raise PackingError(f"{name} must have at least one axis, got a scalar {array.item()!r}")
    if array.dtype.kind not in "iuf":
        raise PackingError(f"{name} must hold numbers equal to +1 or -1, got dtype {array.dtype}")
    bad = (array != 1) & (array != -1)  # NaN compares unequal to both, so it is caught too
    if bad.any():
        raise PackingError(
            f"{name} must contain only +1 and -1, got {_describe_first(bad, array)} "
            f"(dtype {array.dtype})"
        )
    return array


def pack_signs(signs: Any) -> np.ndarray:
    """Pack ±1 values into uint64 words along the last axis.

    Parameters
    ----------
    signs : array_like or torch.Tensor, shape (..., K)
        Entries exactly +1 or −1, any integer or float dtype.

    Returns
    -------
    numpy.ndarray of uint64, shape (..., ceil(K / 64))
        Bit ``i`` of word ``w`` is set iff ``signs[..., 64 * w + i] == -1``; padding bits are 0.

    Raises
    ------
    PackingError
        If an entry is not ±1 or ``signs`` is a scalar.
    """
    array = _check_signs("signs", signs)
    length = array.shape[-1]
    words = num_words(length)
    bits = np.zeros((*array.shape[:-1], words * WORD_BITS), dtype=np.uint8)
    bits[..., :length] = array == -1
    packed_bytes = np.packbits(bits, axis=-1, bitorder="little")
    # packbits fills bytes LSB-first; read 8 consecutive bytes as a little-endian word so that
    # byte b, bit j becomes word bit 8*b + j, then convert to the native uint64 type.
    return packed_bytes.view(_WORD_DTYPE_LE).astype(_WORD_DTYPE)


def unpack_signs(words: Any, n: int) -> np.ndarray:
    """Unpack uint64 words into ±1 values along the last axis (inverse of :func:`pack_signs`).

    Parameters
    ----------
    words : numpy.ndarray of uint64, shape (..., ceil(n / 64))
    n : int
        Unpadded number of elements per row.

    Returns
    -------
    numpy.ndarray of int8, shape (..., n)
        −1 where the bit is set, +1 where it is clear.

    Raises
    ------
    PackingError
        On a dtype other than uint64, a word count other than ``ceil(n / 64)`` or a set
        padding bit.
    """
    n = _check_count("n", n)
    array = _check_words("words", words)
    expected = num_words(n)
    if array.shape[-1] != expected:
        raise PackingError(
            f"{n} signs need {expected} uint64 word{'' if expected == 1 else 's'} "
            "on the last axis, "
            f"got {array.shape[-1]} (shape {array.shape})"
        )
    _check_padding_clear("words", array, n)
    as_bytes = np.ascontiguousarray(array, dtype=_WORD_DTYPE_LE).view(np.uint8)
    bits = np.unpackbits(as_bytes, axis=-1, count=n, bitorder="little")
    return (1 - 2 * bits.astype(np.int8)).astype(np.int8)


# --------------------------------------------------------------------------------------------
# p-bit signed integers <-> packed two's-complement fields
# --------------------------------------------------------------------------------------------


def _check_bits(bits: Any) -> int:
    if isinstance(bits, (bool, np.bool_)) or not isinstance(bits, (int, np.integer)):
        raise PackingError(f"bits must be an integer from 1 to 8, got {bits!r}")
    if not 1 <= bits <= 8:
        raise PackingError(f"bits must be from 1 to 8, got {bits}")
    return int(bits)


def _packed_int_nbytes(count: int, bits: int) -> int:
    return -(-count * bits // 8)


def pack_int(values: Any, bits: int) -> np.ndarray:
    """Pack signed integers into contiguous ``bits``-wide two's-complement fields.

    Parameters
    ----------
    values : array_like or torch.Tensor, any shape, ``count`` elements
        Integers in ``[-2**(bits-1), 2**(bits-1) - 1]``; a float array is accepted when every
        entry is integral. Flattened in C (row-major) order.
    bits : int
        Field width ``p``, 1 to 8.

    Returns
    -------
    numpy.ndarray of uint8, shape (ceil(count * bits / 8),)
        Field ``j`` occupies stream bits ``[j * bits, (j + 1) * bits)``, LSB first, where stream
        bit ``b`` is bit ``b % 8`` of byte ``b // 8``. Padding bits of the last byte are 0.

    Raises
    ------
    PackingError
        If ``bits`` is not in 1..8, or a value is non-integral or out of range.
    """
    bits = _check_bits(bits)
    array = _to_numpy(values).reshape(-1)
    if array.dtype.kind not in "iuf":
        raise PackingError(f"values must be integers, got dtype {array.dtype}")
    if array.dtype.kind == "f":
        non_integral = ~np.isfinite(array) | (array != np.round(array))
        if non_integral.any():
            raise PackingError(
                f"values must be integers, got {_describe_first(non_integral, array)}"
            )
    low, high = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    out_of_range = (array < low) | (array > high)
    if out_of_range.any():
        raise PackingError(
            f"values do not fit {bits}-bit two's complement, allowed range [{low}, {high}]: "
            f"got {_describe_first(out_of_range, array)}"
        )
    # Masking with 2**p - 1 turns a negative value into its p-bit two's-complement code.
    codes = (array.astype(np.int16) & ((1 << bits) - 1)).astype(np.uint8)
    field_bits = np.unpackbits(codes[:, None], axis=1, bitorder="little")[:, :bits]
    return np.packbits(field_bits.reshape(-1), bitorder="little")


def unpack_int(buf: Any, bits: int, count: int) -> np.ndarray:
    """Unpack ``count`` signed ``bits``-wide fields (inverse of :func:`pack_int`).

    Parameters
    ----------
    buf : numpy.ndarray of uint8, shape (ceil(count * bits / 8),)
    bits : int
        Field width ``p``, 1 to 8.
    count : int
        Number of fields.

    Returns
    -------
    numpy.ndarray of int8, shape (count,)
        Values in ``[-2**(bits-1), 2**(bits-1) - 1]``.

    Raises
    ------
    PackingError
        If ``bits`` is not in 1..8, ``buf`` is not a 1-D uint8 array of exactly
        ``ceil(count * bits / 8)`` bytes, or a padding bit is set.
    """
    bits = _check_bits(bits)
    count = _check_count("count", count)
    array = _to_numpy(buf)
    if array.dtype != np.uint8 or array.ndim != 1:
        raise PackingError(
            f"buf must be a 1-D uint8 array, got dtype {array.dtype} with shape {array.shape}"
        )
    expected = _packed_int_nbytes(count, bits)
    if array.size != expected:
        raise PackingError(
            f"{count} fields of {bits} bits need {expected} bytes, got {array.size}"
        )
    used_bits = (count * bits) % 8
    if used_bits and int(array[-1]) >> used_bits:
        raise PackingError(
            f"buf has padding bits set after field {count - 1}; "
            "the packed format requires them to be 0"
        )
    values = np.empty(count, dtype=np.int8)
    weights = np.int16(1) << np.arange(bits, dtype=np.int16)
    # In chunks of _UNPACK_CHUNK_FIELDS fields (a multiple of 8, so each chunk starts on a byte):
    # the bit-level temporaries are 16 bytes per packed bit, and must not scale with the buffer.
    for start in range(0, count, _UNPACK_CHUNK_FIELDS):
        stop = min(start + _UNPACK_CHUNK_FIELDS, count)
        chunk = array[start * bits // 8 : -(-stop * bits // 8)]
        stream = np.unpackbits(chunk, bitorder="little", count=(stop - start) * bits)
        codes = stream.reshape(stop - start, bits).astype(np.int16) @ weights
        # Sign extension: a code with the top bit set stands for code - 2**p.
        values[start:stop] = codes - ((codes >> (bits - 1)) << bits)
    return values


# --------------------------------------------------------------------------------------------
# Block-ternary W = diag(u) (I_q ⊗ H_m) / sqrt(m) as sign bits plus implicit structure
# --------------------------------------------------------------------------------------------


def sylvester_int(m: int) -> np.ndarray:
    """The Sylvester–Hadamard matrix ``S_m[i, j] = (-1) ** popcount(i & j)`` as int8
    (:func:`hadamrnn.core.matrices.sylvester`).

    Parameters
    ----------
    m : int
        A power of two.

    Returns
    -------
    numpy.ndarray of int8, shape (m, m)
        Entries ±1; ``S_m @ S_m.T == m * I``.

    Raises
    ------
    PackingError
        If ``m`` is not a power of two.
    """
    return sylvester(check_sylvester_order(m, "m", error=PackingError), dtype=np.int8)


@dataclass(frozen=True, eq=False)
class PackedBlockTernary:
    """A block-ternary ``W = diag(u) (I_q ⊗ H_m) / sqrt(m)`` stored as its ``n`` sign bits.

    ``n = q * m`` with ``m = block_size`` a supported order (a power of two, or ``r * 2^j`` with a
    base order ``r``); ``q`` may be any positive integer. Each row of ``sqrt(m) * W`` has exactly
    ``m`` non-zeros, all ±1, in its own diagonal block. The block structure is implied by
    ``(n, block_size)``, so storage is ``ceil(n / 64)`` uint64 words.

    Attributes
    ----------
    n : int
        Size of the square matrix.
    block_size : int
        ``m``, a supported order dividing ``n``.
    sign_words : numpy.ndarray of uint64, shape (ceil(n / 64),)
        ``u`` packed by :func:`pack_signs`; a read-only copy is kept.
    """

    n: int
    block_size: int
    sign_words: np.ndarray

    def __post_init__(self) -> None:
        n = _check_count("n", self.n, minimum=1)
        block_size = _check_count("block_size", self.block_size, minimum=1)
        block_size = check_block_size(n, block_size, error=PackingError)
        words = _check_words("sign_words", self.sign_words)
        if words.shape != (num_words(n),):
            raise PackingError(
                f"sign_words for n = {n} must have shape ({num_words(n)},), got {words.shape}"
            )
        _check_padding_clear("sign_words", words, n)
        # A private read-only copy keeps the frozen instance immutable even if the caller's
        # array changes later.
        words = words.copy()
        words.flags.writeable = False
        object.__setattr__(self, "n", n)
        object.__setattr__(self, "block_size", block_size)
        object.__setattr__(self, "sign_words", words)

    @classmethod
    def from_signs(cls, signs: Any, block_size: int) -> PackedBlockTernary:
        """Pack the sign vector ``u`` (shape ``(n,)``, entries ±1) with ``block_size`` blocks."""
        array = _check_signs("signs", signs)
        if array.ndim != 1:
            raise PackingError(f"signs must be a vector of shape (n,), got shape {array.shape}")
        return cls(n=array.shape[0], block_size=block_size, sign_words=pack_signs(array))

    @property
    def num_blocks(self) -> int:
        """``q = n / block_size``."""
        return self.n // self.block_size

    @property
    def nbytes(self) -> int:
        """Bytes of packed storage: ``ceil(n / 64) * 8`` (the structure costs nothing)."""
        return int(self.sign_words.nbytes)

    def signs(self) -> np.ndarray:
        """The sign vector ``u``, int8 of shape ``(n,)``."""
        return unpack_signs(self.sign_words, self.n)

    def to_dense_int(self) -> np.ndarray:
        """``sqrt(m) * W = diag(u) (I_q ⊗ H_m)`` as an int8 matrix of shape ``(n, n)``.

        Entries are in {−1, 0, +1}; row ``r`` is ``u[r]`` times row ``r % m`` of ``H_m``,
        placed in diagonal block ``r // m``.
        """
        return signed_block_hadamard(self.signs(), self.block_size, dtype=np.int8)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackedBlockTernary):
            return NotImplemented
        return (
            type(self) is type(other)
            and self.n == other.n
            and self.block_size == other.block_size
            and np.array_equal(self.sign_words, other.sign_words)
        )

    def __hash__(self) -> int:
        return hash((type(self), self.n, self.block_size, self.sign_words.tobytes()))


class PackedBinaryHadamard(PackedBlockTernary):
    """The binary ``W = diag(u) H_n / sqrt(n)`` of HadamRNN: :class:`PackedBlockTernary` with
    ``block_size = n`` (so ``n`` must be a supported order)."""

    def __post_init__(self) -> None:
        check_hidden_size(_check_count("n", self.n, minimum=1), "n", error=PackingError)
        super().__post_init__()
        if self.block_size != self.n:
            raise PackingError(
                f"a binary Hadamard matrix has block_size = n, got block_size {self.block_size} "
                f"and n {self.n}"
            )

    @classmethod
    def from_signs(cls, signs: Any, block_size: int | None = None) -> PackedBinaryHadamard:
        """Pack ``u`` (shape ``(n,)``, ±1, ``n`` a supported order); ``block_size`` defaults to n."""
        array = _check_signs("signs", signs)
        n = array.shape[-1] if block_size is None else block_size
        return super().from_signs(array, n)  # type: ignore[return-value]


# --------------------------------------------------------------------------------------------
# Packed binary GEMM / GEMV
# --------------------------------------------------------------------------------------------


def binary_matmul_packed(a_words: Any, b_words: Any, k: int) -> np.ndarray:
    """Dot products of packed ±1 rows by XOR and popcount.

    Parameters
    ----------
    a_words : numpy.ndarray of uint64, shape (M, ceil(k / 64))
        Packed ±1 rows (:func:`pack_signs` of an (M, k) matrix).
    b_words : numpy.ndarray of uint64, shape (N, ceil(k / 64))
        Packed ±1 rows (:func:`pack_signs` of an (N, k) matrix, e.g. a weight matrix).
    k : int
        The unpadded row length.

    Returns
    -------
    numpy.ndarray of int64, shape (M, N)
        ``out[i, j] = dot(a[i], b[j]) = k - 2 * popcount(a[i] XOR b[j])``, i.e. ``a @ b.T`` of the
        unpacked ±1 matrices; see :func:`binary_matmul_reference`.

    Raises
    ------
    PackingError
        On a dtype other than uint64, operands that are not 2-D, a word count other than
        ``ceil(k / 64)``, or a set padding bit (it would not cancel and the result would be wrong).
    """
    k = _check_count("k", k)
    a = _check_words("a_words", a_words)
    b = _check_words("b_words", b_words)
    expected = num_words(k)
    for name, operand in (("a_words", a), ("b_words", b)):
        if operand.ndim != 2 or operand.shape[1] != expected:
            raise PackingError(
                f"{name} must have shape (rows, {expected}) for k = {k}, got {operand.shape}"
            )
        _check_padding_clear(name, operand, k)
    rows, cols = a.shape[0], b.shape[0]
    differing = np.empty((rows, cols), dtype=np.int64)
    # Chunk over the rows of a so the (chunk, N, words) XOR temporary stays bounded.
    chunk = max(1, _GEMM_CHUNK_WORDS // max(1, cols * expected))
    for start in range(0, rows, chunk):
        xor = a[start : start + chunk, None, :] ^ b[None, :, :]
        differing[start : start + chunk] = _popcount(xor).sum(axis=-1, dtype=np.int64)
    return k - 2 * differing


def binary_matvec_packed(matrix_words: Any, vector_words: Any, k: int) -> np.ndarray:
    """Packed ±1 matrix times a packed ±1 vector.

    Parameters
    ----------
    matrix_words : numpy.ndarray of uint64, shape (M, ceil(k / 64))
    vector_words : numpy.ndarray of uint64, shape (ceil(k / 64),)
    k : int
        The unpadded length.

    Returns
    -------
    numpy.ndarray of int64, shape (M,)
        ``matrix @ vector`` of the unpacked ±1 operands.
    """
    vector = _check_words("vector_words", vector_words)
    if vector.ndim != 1:
        raise PackingError(f"vector_words must be 1-D, got shape {vector.shape}")
    return binary_matmul_packed(matrix_words, vector[None, :], k)[:, 0]


def binary_matmul_reference(a_pm1: Any, b_pm1: Any) -> np.ndarray:
    """Slow, readable reference of :func:`binary_matmul_packed` on unpacked ±1 matrices.

    Parameters
    ----------
    a_pm1 : array_like, shape (M, K), entries ±1
    b_pm1 : array_like, shape (N, K), entries ±1

    Returns
    -------
    numpy.ndarray of int64, shape (M, N)
        ``a_pm1 @ b_pm1.T`` in exact integer arithmetic.
    """
    a = _check_signs("a_pm1", a_pm1)
    b = _check_signs("b_pm1", b_pm1)
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[1]:
        raise PackingError(
            f"expected a_pm1 of shape (M, K) and b_pm1 of shape (N, K), got {a.shape} and {b.shape}"
        )
    return a.astype(np.int64) @ b.astype(np.int64).T
