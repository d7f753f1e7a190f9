r"""The integer model and its packed file format, ``.hrnn`` (versions 1 and 2). Numpy-only.

A :class:`QuantizedModel` holds everything the integer step of :mod:`hadamrnn.export.fixed_point`
needs: the sign vector ``u``, the p-bit codes of ``U`` and ``V``, the integer biases, the input
rescale and the bit-widths, plus the float scales that map codes to real values at the edges (input
quantization, output logits). :meth:`QuantizedModel.to_bytes` and :meth:`QuantizedModel.from_bytes`
write and read the file; :func:`write_model` writes it atomically.

File layout
-----------
All integers are little-endian; floats are IEEE-754 binary32, little-endian. The file is an
88-byte header followed by the payload; there is no padding anywhere.

Two versions share this layout. **Version 1** holds the models whose hidden size is a power of two
(every block a Sylvester matrix); **version 2** holds the other supported sizes ``n = r · 2^k``
(:mod:`hadamrnn.core.orders`), and adds the base order at offset 46 (reserved, 0, in version 1) and
the base matrix ``H_r`` to the payload, so that a file keeps its meaning whatever the library's
canonical matrices. The writer uses version 1 whenever it can, so a power-of-two model is written
byte for byte as before and older readers still read it; the reader takes both versions.

======  ====  ======================  ===========================================================
offset  type  field                   meaning and bound checked by the loader
======  ====  ======================  ===========================================================
0       8s    magic                   ``89 48 52 4E 4E 0D 0A 1A`` (``\x89HRNN\r\n\x1a``)
8       u16   version                 1 (``n`` a power of two) or 2 (any other ``n``)
10      u16   header_size             88
12      u32   flags                   bit 0: ReLU recurrence; bit 1: read-out at every step
                                      (tagger) instead of the last step only; bit 2: an
                                      embedding section is present; other bits 0
16      u32   hidden_size             ``n``, 1 .. 2**20: a power of two (version 1), or any other
                                      supported order ``r · 2^k`` (version 2)
20      u32   block_size              ``m``, a supported order dividing ``n`` (``m = n``: full W)
24      u32   input_size              ``d``, 1 .. 2**20 (the embedding width with an embedding)
28      u32   output_size             ``o``, 1 .. 2**20
32      u32   vocab_size              embedding rows, 1 .. 2**24 with flag bit 2, else 0
36      u8    input_bits              ``b_x``, 2 .. 8: input codes
37      u8    hidden_bits             ``b_h``, 2 .. 16: hidden-state codes
38      u8    input_weight_bits       ``p_U``, 1 .. 8
39      u8    output_weight_bits      ``p_V``, 1 .. 8
40      u32   input_multiplier        ``M_in``, 1 .. 2**31 - 1
44      u8    input_shift             ``s_in``, 0 .. 62
45      u8    calibration_method      0: max; 1: percentile
46      u16   base_order              version 1: 0 (reserved). Version 2: ``r``, the base order of
                                      ``m`` (``m = r · 2^j``, :func:`~hadamrnn.core.orders.split_order`)
48      f32   input_scale             ``s_x``, finite and > 0 (real input = ``s_x`` * code)
52      f32   hidden_scale            ``s_h``, finite and > 0
56      f32   input_weight_scale      ``s_U``, finite and > 0
60      f32   output_weight_scale     ``s_V``, finite and > 0 (logits = ``s_V s_h`` * y)
64      f32   calibration_percentile  in (0, 100]; 100 for the max method
68      u32   calibration_sequences   number of sequences the scales were calibrated on
72      u64   payload_size            bytes after the header; must equal the size the fields imply
80      u32   payload_crc32           CRC-32 (zlib) of the payload
84      u32   header_crc32            CRC-32 (zlib) of header bytes 0 .. 83
======  ====  ======================  ===========================================================

The payload is, in this order and with these exact sizes (so it needs no table of offsets):

1. ``u``: ``ceil(n/8)`` bytes, the sign vector in the bit convention of :mod:`hadamrnn.packing`
   (bit ``i`` of the LSB-first stream is element ``i``, a set bit means −1, padding bits 0);
2. version 2 with ``r > 1`` only, ``H_r``: ``ceil(r*r/8)`` bytes, the ``(r, r)`` base matrix of
   every block in the same bit convention, row-major (entry ``(a, b)`` is stream bit ``a r + b``);
   it must satisfy ``H_r H_rᵀ = r I`` exactly. Each block of ``W`` is ``H_r ⊗ S_{2^j}``;
3. ``U`` codes: ``ceil(n*d*p_U/8)`` bytes, :func:`hadamrnn.packing.pack_int` of the ``(n, d)``
   matrix in row-major order (p-bit two's complement, LSB-first, padding bits 0);
4. ``b_in``: ``n`` int32, the input bias in units of ``s_U s_x``;
5. ``V`` codes: ``ceil(o*n*p_V/8)`` bytes, ``pack_int`` of the ``(o, n)`` matrix;
6. ``c_q``: ``o`` int32, the output bias in units of ``s_V s_h``;
7. with flag bit 2 only, the embedding: ``ceil(vocab*d*b_x/8)`` bytes, ``pack_int`` of the
   ``(vocab, d)`` matrix of input codes (each in ``[-(2**(b_x-1) - 1), 2**(b_x-1) - 1]``).

The recurrent rescale ``1/sqrt(m)`` and the input-term clip ``Z`` are not stored: they follow from
``m`` and ``b_h`` (:func:`~hadamrnn.export.fixed_point.inverse_sqrt_rescale`; not a pure shift
unless ``m`` is a power of four).

Loading
-------
:meth:`QuantizedModel.from_bytes` never unpickles and checks, in this order, before it allocates
anything sized by the file: the length of the header, the magic, the version, the header size, the
header CRC, every field against the bounds above (those of the file's version), the payload size
implied by the fields against both ``payload_size`` and the bytes actually present, and the payload
CRC. Then it unpacks the sections (the packers reject set padding bits) and checks every value:
weight codes are in range by construction, the base matrix must be a Hadamard matrix, embedding
codes must lie in the symmetric ``b_x`` range, and the biases must keep every int32 accumulator of
the step from overflowing
(:func:`~hadamrnn.export.fixed_point.check_accumulator_bounds`). Any failure is a
:class:`~hadamrnn.export.errors.ModelFileError` that says what was expected and what was received.
"""

from __future__ import annotations

import math
import os
import struct
import zlib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from .._io import atomic_write_bytes
from ..core import check_block_size, check_hidden_size, is_power_of_two, split_order
from ..packing import PackingError, pack_int, pack_signs, unpack_int, unpack_signs
from . import fixed_point
from .errors import ExportError, ModelFileError

__all__ = [
    "MAGIC",
    "FORMAT_VERSION",
    "READABLE_VERSIONS",
    "HEADER_SIZE",
    "HEADER_FIELDS",
    "FLAG_RELU",
    "FLAG_MANY_TO_MANY",
    "FLAG_EMBEDDING",
    "CALIBRATION_METHODS",
    "MAX_DIMENSION",
    "MAX_VOCAB",
    "MAX_FILE_BYTES",
    "QuantizedModel",
    "header_field_offsets",
    "read_model",
    "write_model",
]

MAGIC = b"\x89HRNN\r\n\x1a"
FORMAT_VERSION = 2
"""The newest version: the reader takes every version in :data:`READABLE_VERSIONS`, and the writer
uses version 1 for power-of-two hidden sizes (the module docstring)."""
READABLE_VERSIONS = (1, 2)

HEADER_FIELDS: tuple[tuple[str, str], ...] = (
    ("magic", "8s"),
    ("version", "H"),
    ("header_size", "H"),
    ("flags", "I"),
    ("hidden_size", "I"),
    ("block_size", "I"),
    ("input_size", "I"),
    ("output_size", "I"),
    ("vocab_size", "I"),
    ("input_bits", "B"),
    ("hidden_bits", "B"),
    ("input_weight_bits", "B"),
    ("output_weight_bits", "B"),
    ("input_multiplier", "I"),
    ("input_shift", "B"),
    ("calibration_method", "B"),
    ("base_order", "H"),
    ("input_scale", "f"),
    ("hidden_scale", "f"),
    ("input_weight_scale", "f"),
    ("output_weight_scale", "f"),
    ("calibration_percentile", "f"),
    ("calibration_sequences", "I"),
    ("payload_size", "Q"),
    ("payload_crc32", "I"),
    ("header_crc32", "I"),
)
"""The header, field by field: ``(name, struct code)``, little-endian, no padding."""

_HEADER = struct.Struct("<" + "".join(code for _, code in HEADER_FIELDS))
HEADER_SIZE = _HEADER.size
_HEADER_CRC_OFFSET = HEADER_SIZE - 4

FLAG_RELU = 1 << 0
FLAG_MANY_TO_MANY = 1 << 1
FLAG_EMBEDDING = 1 << 2
_KNOWN_FLAGS = FLAG_RELU | FLAG_MANY_TO_MANY | FLAG_EMBEDDING

CALIBRATION_METHODS = ("max", "percentile")

MAX_DIMENSION = 1 << 20
"""Largest ``n``, ``d`` or ``o`` a file may declare."""
MAX_VOCAB = 1 << 24
"""Largest embedding vocabulary a file may declare."""
MAX_FILE_BYTES = 1 << 31
"""Largest file :func:`read_model` reads (the biggest model the bounds allow is far smaller)."""

_INPUT_BITS = (2, 8)
_HIDDEN_BITS = (2, 16)
_WEIGHT_BITS = (1, 8)

assert HEADER_SIZE == 88  # the documented layout


def header_field_offsets() -> dict[str, tuple[int, str]]:
    """``{field: (byte offset, struct code)}`` of the header (for tools and the fuzz tests)."""
    offsets, position = {}, 0
    for name, code in HEADER_FIELDS:
        offsets[name] = (position, code)
        position += struct.calcsize("<" + code)
    return offsets


def _float32(value: float) -> float:
    """``value`` rounded to binary32, as the header stores it."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def _packed_int_bytes(count: int, bits: int) -> int:
    return -(-count * bits // 8)


@dataclass(frozen=True, eq=False)
class QuantizedModel:
    """The integer model: codes, integer biases, rescales and bit-widths (see the module docstring).

    Arrays are numpy; shapes: ``signs (n,)`` ±1, ``input_weight (n, d)``, ``input_bias (n,)``,
    ``output_weight (o, n)``, ``output_bias (o,)``, ``embedding (vocab, d)`` or None, and
    ``base_matrix (r, r)`` ±1 for a block size ``m = r · 2^j`` with ``r > 1`` (None for ``r = 1``):
    the ``H_r`` of every block, :func:`hadamrnn.core.base_matrix` for a model of this library.
    Construct it with :func:`hadamrnn.export.quantize_model` or :meth:`from_bytes`; call
    :meth:`validate` after building one by hand.
    """

    hidden_size: int
    block_size: int
    input_size: int
    output_size: int
    recurrence: str
    many_to_many: bool
    input_bits: int
    hidden_bits: int
    input_weight_bits: int
    output_weight_bits: int
    signs: np.ndarray
    input_weight: np.ndarray
    input_bias: np.ndarray
    output_weight: np.ndarray
    output_bias: np.ndarray
    input_rescale: fixed_point.Rescale
    input_scale: float
    hidden_scale: float
    input_weight_scale: float
    output_weight_scale: float
    embedding: np.ndarray | None = None
    calibration_method: str = "max"
    calibration_percentile: float = 100.0
    calibration_sequences: int = 0
    base_matrix: np.ndarray | None = None

    # ------------------------------------------------------------------ derived quantities

    @property
    def base_order(self) -> int:
        """``r``, the base order of the block size ``m = r · 2^j`` (1 for Sylvester blocks)."""
        return split_order(self.block_size, "block_size")[0]

    @property
    def format_version(self) -> int:
        """The ``.hrnn`` version this model is written as: 1 for a power-of-two ``n``, else 2."""
        return 1 if is_power_of_two(self.hidden_size) else 2

    @property
    def vocab_size(self) -> int:
        """Rows of the embedding, 0 without one."""
        return 0 if self.embedding is None else int(self.embedding.shape[0])

    @property
    def recurrent_rescale(self) -> fixed_point.Rescale:
        """``1/sqrt(m)`` as a rescale; an exact shift when ``log2 m`` is even."""
        return fixed_point.inverse_sqrt_rescale(self.block_size)

    @property
    def input_term_limit(self) -> int:
        """``Z``, the clip of the input term (it cannot change a result)."""
        return fixed_point.input_term_limit(self.block_size, self.hidden_bits)

    @property
    def output_scale(self) -> float:
        """Real logits are ``output_scale * y`` with ``y`` the integer logits."""
        return float(self.output_weight_scale) * float(self.hidden_scale)

    def accumulator_bounds(self) -> dict[str, int]:
        """Worst-case magnitudes of the int32 sums of the step (all below ``2**31``)."""
        return fixed_point.accumulator_bounds(
            hidden_size=self.hidden_size,
            block_size=self.block_size,
            input_size=self.input_size,
            input_bits=self.input_bits,
            hidden_bits=self.hidden_bits,
            input_weight_bits=self.input_weight_bits,
            output_weight_bits=self.output_weight_bits,
            max_abs_input_bias=int(np.abs(self.input_bias.astype(np.int64)).max(initial=0)),
            max_abs_output_bias=int(np.abs(self.output_bias.astype(np.int64)).max(initial=0)),
        )

    def weight_bits(self) -> dict[str, int]:
        """Theoretical size of each stored component in bits."""
        n, d, o = self.hidden_size, self.input_size, self.output_size
        bits = {
            "W signs (n)": n,
            "U (p_U n d)": self.input_weight_bits * n * d,
            "b (32 n)": 32 * n,
            "V (p_V o n)": self.output_weight_bits * o * n,
            "c (32 o)": 32 * o,
        }
        if self.base_order > 1:
            bits["H_r base matrix (r^2)"] = self.base_order**2
        if self.embedding is not None:
            bits["embedding (b_x vocab d)"] = self.input_bits * self.vocab_size * d
        return bits

    # ------------------------------------------------------------------ validation

    def validate(self, error: type[Exception] = ExportError) -> QuantizedModel:
        """Check every field and bound; raise ``error`` naming what was expected and received."""
        n, m, d, o = self.hidden_size, self.block_size, self.input_size, self.output_size
        _check_dimensions(n, m, d, o, self.vocab_size, self.embedding is not None, error)
        _check_range("input_bits", self.input_bits, *_INPUT_BITS, error)
        _check_range("hidden_bits", self.hidden_bits, *_HIDDEN_BITS, error)
        _check_range("input_weight_bits", self.input_weight_bits, *_WEIGHT_BITS, error)
        _check_range("output_weight_bits", self.output_weight_bits, *_WEIGHT_BITS, error)
        if self.recurrence not in ("linear", "relu"):
            raise error(f"recurrence must be 'linear' or 'relu', got {self.recurrence!r}")
        if not isinstance(self.input_rescale, fixed_point.Rescale):
            raise error(f"input_rescale must be a Rescale, got {type(self.input_rescale).__name__}")
        for name in ("input_scale", "hidden_scale", "input_weight_scale", "output_weight_scale"):
            _check_scale(name, getattr(self, name), error)
        if self.calibration_method not in CALIBRATION_METHODS:
            raise error(f"calibration_method must be one of {CALIBRATION_METHODS}, got {self.calibration_method!r}")
        percentile = self.calibration_percentile
        if not (math.isfinite(percentile) and 0 < percentile <= 100):
            raise error(f"calibration_percentile must be in (0, 100], got {percentile!r}")
        if self.calibration_method == "max" and percentile != 100:
            raise error(f"calibration_percentile of the max method must be 100, got {percentile!r}")
        _check_range("calibration_sequences", self.calibration_sequences, 0, 2**32 - 1, error)

        _check_array("signs", self.signs, (n,), error)
        if not np.all((self.signs == 1) | (self.signs == -1)):
            raise error(f"signs must be ±1, got values {sorted(set(np.unique(self.signs).tolist()))}")
        _check_base_matrix(self.base_matrix, self.base_order, m, error)
        _check_array("input_weight", self.input_weight, (n, d), error)
        _check_codes("input_weight", self.input_weight, -(1 << (self.input_weight_bits - 1)), (1 << (self.input_weight_bits - 1)) - 1, error)
        _check_array("output_weight", self.output_weight, (o, n), error)
        _check_codes("output_weight", self.output_weight, -(1 << (self.output_weight_bits - 1)), (1 << (self.output_weight_bits - 1)) - 1, error)
        _check_array("input_bias", self.input_bias, (n,), error)
        _check_array("output_bias", self.output_bias, (o,), error)
        for name in ("input_bias", "output_bias"):
            _check_codes(name, getattr(self, name), -fixed_point.INT32_MAX, fixed_point.INT32_MAX, error)
        if self.embedding is not None:
            _check_array("embedding", self.embedding, (self.vocab_size, d), error)
            limit = fixed_point.activation_limit(self.input_bits)
            _check_codes("embedding", self.embedding, -limit, limit, error)
        fixed_point.check_accumulator_bounds(self.accumulator_bounds(), error)
        return self

    # ------------------------------------------------------------------ serialisation

    def to_bytes(self) -> bytes:
        """The ``.hrnn`` file as bytes (validates first; raises :class:`ExportError`)."""
        self.validate(ExportError)
        payload = b"".join(self._payload_sections())
        flags = (
            (FLAG_RELU if self.recurrence == "relu" else 0)
            | (FLAG_MANY_TO_MANY if self.many_to_many else 0)
            | (FLAG_EMBEDDING if self.embedding is not None else 0)
        )
        version = self.format_version
        values = {
            "magic": MAGIC,
            "version": version,
            "header_size": HEADER_SIZE,
            "flags": flags,
            "hidden_size": self.hidden_size,
            "block_size": self.block_size,
            "input_size": self.input_size,
            "output_size": self.output_size,
            "vocab_size": self.vocab_size,
            "input_bits": self.input_bits,
            "hidden_bits": self.hidden_bits,
            "input_weight_bits": self.input_weight_bits,
            "output_weight_bits": self.output_weight_bits,
            "input_multiplier": self.input_rescale.multiplier,
            "input_shift": self.input_rescale.shift,
            "calibration_method": CALIBRATION_METHODS.index(self.calibration_method),
            "base_order": 0 if version == 1 else self.base_order,
            "input_scale": self.input_scale,
            "hidden_scale": self.hidden_scale,
            "input_weight_scale": self.input_weight_scale,
            "output_weight_scale": self.output_weight_scale,
            "calibration_percentile": self.calibration_percentile,
            "calibration_sequences": self.calibration_sequences,
            "payload_size": len(payload),
            "payload_crc32": zlib.crc32(payload),
            "header_crc32": 0,
        }
        header = bytearray(_HEADER.pack(*(values[name] for name, _ in HEADER_FIELDS)))
        struct.pack_into("<I", header, _HEADER_CRC_OFFSET, zlib.crc32(header[:_HEADER_CRC_OFFSET]))
        return bytes(header) + payload

    def _payload_sections(self) -> list[bytes]:
        sections = [_sign_bytes(self.signs)]
        if self.base_matrix is not None:
            sections.append(_sign_bytes(self.base_matrix.reshape(-1)))
        sections += [
            pack_int(self.input_weight, self.input_weight_bits).tobytes(),
            self.input_bias.astype("<i4").tobytes(),
            pack_int(self.output_weight, self.output_weight_bits).tobytes(),
            self.output_bias.astype("<i4").tobytes(),
        ]
        if self.embedding is not None:
            sections.append(pack_int(self.embedding, self.input_bits).tobytes())
        return sections

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> QuantizedModel:
        """Parse and validate a ``.hrnn`` file; raises :class:`ModelFileError` on any problem."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise ModelFileError(f"a model file must be given as bytes, got {type(data).__name__}")
        view = memoryview(data).cast("B")  # no copy: the payload is read in place
        header, layout = _parse_header(view[:HEADER_SIZE], len(view))
        return cls._from_payload(header, layout, view[HEADER_SIZE:])

    @classmethod
    def _from_payload(cls, header: dict[str, Any], layout: list[tuple[str, int]], payload) -> QuantizedModel:
        """The model of a checked header and its payload (checked here against the payload CRC)."""
        payload_crc = zlib.crc32(payload)
        if header["payload_crc32"] != payload_crc:
            raise ModelFileError(
                f"corrupted payload: expected the CRC-32 the header records, {header['payload_crc32']:#010x}, "
                f"got {payload_crc:#010x}"
            )
        sections, position = {}, 0
        for name, size in layout:
            sections[name] = np.frombuffer(payload, dtype=np.uint8, count=size, offset=position)
            position += size
        return cls._from_sections(header, sections).validate(ModelFileError)

    @classmethod
    def _from_sections(cls, header: dict[str, Any], sections: dict[str, np.ndarray]) -> QuantizedModel:
        n, d, o = header["hidden_size"], header["input_size"], header["output_size"]

        def unpack(section: str, function, *arguments):
            try:
                return function(*arguments)
            except PackingError as error:
                raise ModelFileError(
                    f"corrupted payload section {section!r}: expected clear padding bits and well-formed "
                    f"fields, got: {error}"
                ) from None

        def unpack_sign_bits(section: str, count: int) -> np.ndarray:
            words = np.zeros(-(-count // 64) * 8, dtype=np.uint8)
            words[: sections[section].size] = sections[section]
            return unpack(section, unpack_signs, words.view("<u8").astype(np.uint64), count)

        signs = unpack_sign_bits("signs", n)
        base_matrix = None
        if "base_matrix" in sections:
            r = header["base_order"]
            base_matrix = unpack_sign_bits("base_matrix", r * r).reshape(r, r)
        input_weight = unpack("input_weight", unpack_int, sections["input_weight"], header["input_weight_bits"], n * d)
        output_weight = unpack("output_weight", unpack_int, sections["output_weight"], header["output_weight_bits"], o * n)
        embedding = None
        if header["flags"] & FLAG_EMBEDDING:
            vocab = header["vocab_size"]
            embedding = unpack("embedding", unpack_int, sections["embedding"], header["input_bits"], vocab * d).reshape(vocab, d)
        return cls(
            hidden_size=n,
            block_size=header["block_size"],
            input_size=d,
            output_size=o,
            recurrence="relu" if header["flags"] & FLAG_RELU else "linear",
            many_to_many=bool(header["flags"] & FLAG_MANY_TO_MANY),
            input_bits=header["input_bits"],
            hidden_bits=header["hidden_bits"],
            input_weight_bits=header["input_weight_bits"],
            output_weight_bits=header["output_weight_bits"],
            signs=signs,
            input_weight=input_weight.reshape(n, d),
            input_bias=sections["input_bias"].view("<i4").astype(np.int32),
            output_weight=output_weight.reshape(o, n),
            output_bias=sections["output_bias"].view("<i4").astype(np.int32),
            input_rescale=fixed_point.Rescale(header["input_multiplier"], header["input_shift"]),
            input_scale=header["input_scale"],
            hidden_scale=header["hidden_scale"],
            input_weight_scale=header["input_weight_scale"],
            output_weight_scale=header["output_weight_scale"],
            embedding=embedding,
            calibration_method=CALIBRATION_METHODS[header["calibration_method"]],
            calibration_percentile=header["calibration_percentile"],
            calibration_sequences=header["calibration_sequences"],
            base_matrix=base_matrix,
        )

    # ------------------------------------------------------------------ comparison

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QuantizedModel):
            return NotImplemented
        for field in fields(self):
            a, b = getattr(self, field.name), getattr(other, field.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if a is None or b is None or a.shape != b.shape or not np.array_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside


# ---------------------------------------------------------------------- checks


def _check_range(name: str, value: Any, low: int, high: int, error: type[Exception]) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not low <= value <= high:
        raise error(f"{name} must be an integer in [{low}, {high}], got {value!r}")


def _check_scale(name: str, value: Any, error: type[Exception]) -> None:
    if not (isinstance(value, (float, int)) and math.isfinite(value) and value > 0):
        raise error(f"{name} must be a finite positive number, got {value!r}")
    if _float32(value) != value:
        raise error(f"{name} must be exactly representable as float32 (the file stores binary32), got {value!r}")


def _check_dimensions(n: int, m: int, d: int, o: int, vocab: int, has_embedding: bool, error: type[Exception]) -> None:
    _check_range("hidden_size", n, 1, MAX_DIMENSION, error)
    check_hidden_size(n, "hidden_size", error=error)
    _check_range("block_size", m, 1, n, error)
    check_block_size(n, m, error=error)
    _check_range("input_size", d, 1, MAX_DIMENSION, error)
    _check_range("output_size", o, 1, MAX_DIMENSION, error)
    if has_embedding:
        _check_range("vocab_size", vocab, 1, MAX_VOCAB, error)
    elif vocab != 0:
        raise error(f"vocab_size must be 0 without an embedding section (flag bit 2 clear), got {vocab}")


def _check_array(name: str, array: Any, shape: tuple[int, ...], error: type[Exception]) -> None:
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "iu":
        got = type(array).__name__ if not isinstance(array, np.ndarray) else f"dtype {array.dtype}"
        raise error(f"{name} must be an integer numpy array, got {got}")
    if array.shape != shape:
        raise error(f"{name} must have shape {shape}, got {array.shape}")


def _check_codes(name: str, array: np.ndarray, low: int, high: int, error: type[Exception]) -> None:
    if array.size and (int(array.min()) < low or int(array.max()) > high):
        bad = int(array.min()) if int(array.min()) < low else int(array.max())
        raise error(f"{name} must hold integers in [{low}, {high}], got {bad}")


def _sign_bytes(values: np.ndarray) -> bytes:
    """A ±1 vector as LSB-first sign bits (a set bit means -1), ``ceil(len/8)`` bytes."""
    return pack_signs(values).astype("<u8").tobytes()[: -(-values.shape[0] // 8)]


def _check_base_matrix(base: Any, r: int, m: int, error: type[Exception]) -> None:
    """``base`` is None for ``r = 1``, else an ``(r, r)`` Hadamard matrix (``H Hᵀ = r I`` exactly)."""
    if r == 1:
        if base is not None:
            raise error(
                f"base_matrix must be None for block_size={m} (Sylvester blocks), got an array of shape {np.shape(base)}"
            )
        return
    if base is None:
        raise error(
            f"base_matrix is required for block_size={m} = {r} * {m // r}: expected the ({r}, {r}) base matrix "
            "(hadamrnn.core.base_matrix), got None"
        )
    _check_array("base_matrix", base, (r, r), error)
    entries = base.astype(np.int64)
    if not np.array_equal(entries @ entries.T, r * np.eye(r, dtype=np.int64)) or not np.isin(entries, (1, -1)).all():
        raise error(
            f"base_matrix must be a Hadamard matrix of order {r} (entries ±1, H Hᵀ = {r} I exactly), got one that is not"
        )


def _check_header_fields(header: dict[str, Any]) -> None:
    """Every header field against its documented bound (before anything is sized by it)."""
    error = ModelFileError
    unknown = header["flags"] & ~_KNOWN_FLAGS
    if unknown:
        raise error(f"flags has unknown bits set: expected only bits 0-2 ({_KNOWN_FLAGS:#x}), got {header['flags']:#x}")
    has_embedding = bool(header["flags"] & FLAG_EMBEDDING)
    n, version = header["hidden_size"], header["version"]
    _check_range("hidden_size", n, 1, MAX_DIMENSION, error)
    if version == 1 and not is_power_of_two(n):
        raise error(f"hidden_size must be a power of two in a version 1 file, got {n}")
    if version == 2 and is_power_of_two(n):
        raise error(f"hidden_size must not be a power of two in a version 2 file (version 1 holds those), got {n}")
    _check_dimensions(
        n, header["block_size"], header["input_size"], header["output_size"],
        header["vocab_size"], has_embedding, error,
    )
    expected_base_order = 0 if version == 1 else split_order(header["block_size"], "block_size")[0]
    if header["base_order"] != expected_base_order:
        what = "reserved in version 1" if version == 1 else f"the base order of block_size={header['block_size']}"
        raise error(f"base_order ({what}) must be {expected_base_order}, got {header['base_order']}")
    _check_range("input_bits", header["input_bits"], *_INPUT_BITS, error)
    _check_range("hidden_bits", header["hidden_bits"], *_HIDDEN_BITS, error)
    _check_range("input_weight_bits", header["input_weight_bits"], *_WEIGHT_BITS, error)
    _check_range("output_weight_bits", header["output_weight_bits"], *_WEIGHT_BITS, error)
    _check_range("input_multiplier", header["input_multiplier"], 1, fixed_point.MAX_MULTIPLIER, error)
    _check_range("input_shift", header["input_shift"], 0, fixed_point.MAX_SHIFT, error)
    _check_range("calibration_method", header["calibration_method"], 0, len(CALIBRATION_METHODS) - 1, error)
    for name in ("input_scale", "hidden_scale", "input_weight_scale", "output_weight_scale"):
        _check_scale(name, header[name], error)
    percentile = header["calibration_percentile"]
    if not (math.isfinite(percentile) and 0 < percentile <= 100):
        raise error(f"calibration_percentile must be in (0, 100], got {percentile!r}")


def _parse_header(header_bytes, file_size: int) -> tuple[dict[str, Any], list[tuple[str, int]]]:
    """The checked header fields and the payload layout, from the first bytes of a file of
    ``file_size`` bytes: everything the loader checks before it reads (or allocates) the payload."""
    if len(header_bytes) < HEADER_SIZE:
        raise ModelFileError(
            f"truncated model file: expected a {HEADER_SIZE}-byte header, got {file_size} bytes in all"
        )
    header = dict(zip((name for name, _ in HEADER_FIELDS), _HEADER.unpack_from(header_bytes)))
    if header["magic"] != MAGIC:
        raise ModelFileError(f"not a .hrnn model file: expected the magic bytes {MAGIC!r}, got {header['magic']!r}")
    if header["version"] not in READABLE_VERSIONS:
        raise ModelFileError(
            f"unsupported .hrnn version: expected one of {READABLE_VERSIONS}, got {header['version']}"
        )
    if header["header_size"] != HEADER_SIZE:
        raise ModelFileError(f"header_size must be {HEADER_SIZE}, got {header['header_size']}")
    header_crc = zlib.crc32(header_bytes[:_HEADER_CRC_OFFSET])
    if header["header_crc32"] != header_crc:
        raise ModelFileError(
            f"corrupted header: expected the CRC-32 it records, {header['header_crc32']:#010x}, "
            f"got {header_crc:#010x} for header bytes 0..{_HEADER_CRC_OFFSET - 1}"
        )
    _check_header_fields(header)
    layout = _payload_layout(header)
    expected_payload = sum(size for _, size in layout)
    if header["payload_size"] != expected_payload:
        raise ModelFileError(
            f"payload_size must be {expected_payload} bytes for the shapes and bit-widths in the "
            f"header, got {header['payload_size']}"
        )
    actual_payload = file_size - HEADER_SIZE
    if actual_payload != expected_payload:
        state = "truncated" if actual_payload < expected_payload else "has trailing bytes"
        raise ModelFileError(
            f"model file {state}: expected {expected_payload} payload bytes after the header, "
            f"got {actual_payload}"
        )
    return header, layout


def _payload_layout(header: dict[str, Any]) -> list[tuple[str, int]]:
    """``(section, bytes)`` in file order, computed with Python integers (no overflow)."""
    n, d, o = header["hidden_size"], header["input_size"], header["output_size"]
    layout = [("signs", -(-n // 8))]
    if header["base_order"] > 1:
        layout.append(("base_matrix", -(-header["base_order"] ** 2 // 8)))
    layout += [
        ("input_weight", _packed_int_bytes(n * d, header["input_weight_bits"])),
        ("input_bias", 4 * n),
        ("output_weight", _packed_int_bytes(o * n, header["output_weight_bits"])),
        ("output_bias", 4 * o),
    ]
    if header["flags"] & FLAG_EMBEDDING:
        layout.append(("embedding", _packed_int_bytes(header["vocab_size"] * d, header["input_bits"])))
    return layout


# ---------------------------------------------------------------------- files


def write_model(model: QuantizedModel, path: str | Path) -> int:
    """Write ``model`` to ``path`` atomically (temporary file, fsync, rename); returns its size."""
    data = model.to_bytes()
    atomic_write_bytes(path, data)
    return len(data)


def read_model(path: str | Path) -> QuantizedModel:
    """Read and validate a ``.hrnn`` file; raises :class:`ModelFileError` (or ``FileNotFoundError``)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"model file not found: expected a .hrnn file at {str(path)!r}")
    with open(path, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        if size > MAX_FILE_BYTES:
            raise ModelFileError(f"model file too large: expected at most {MAX_FILE_BYTES} bytes, got {size}")
        # The header is read and checked first: a file that is not a .hrnn model, or whose sizes
        # do not add up, is refused after 88 bytes, before its payload is read.
        header, layout = _parse_header(handle.read(HEADER_SIZE), size)
        payload = bytearray(size - HEADER_SIZE)
        if handle.readinto(payload) != len(payload) or handle.read(1):
            raise ModelFileError(f"model file {str(path)!r} changed while it was read: expected {size} bytes")
    return QuantizedModel._from_payload(header, layout, payload)
