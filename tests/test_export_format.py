"""The ``.hrnn`` file: exact round trips, the documented layout, the size bound and a
clear :class:`ModelFileError` for every kind of bad file."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
import torch

from hadamrnn import SequenceClassifier, SequenceTagger, core
from hadamrnn.export import ModelFileError, QuantizedModel, calibrate, quantize_model, read_model, write_model
from hadamrnn.export.errors import ExportError
from hadamrnn.export.fixed_point import Rescale
from hadamrnn.export.model_file import HEADER_SIZE, MAGIC, header_field_offsets
from hadamrnn.packing import pack_int


def random_quantized(*, n=16, block=8, d=3, o=5, p_u=4, p_v=3, input_bits=8, hidden_bits=12, vocab=0,
                     recurrence="relu", many_to_many=False, seed=0) -> QuantizedModel:
    """A valid integer model with random codes (no torch involved)."""
    rng = np.random.default_rng(seed)
    limit = 2 ** (input_bits - 1) - 1
    return QuantizedModel(
        hidden_size=n, block_size=block, input_size=d, output_size=o, recurrence=recurrence,
        many_to_many=many_to_many, input_bits=input_bits, hidden_bits=hidden_bits,
        input_weight_bits=p_u, output_weight_bits=p_v,
        signs=rng.choice(np.array([-1, 1], dtype=np.int8), n),
        input_weight=rng.integers(-(2 ** (p_u - 1)), 2 ** (p_u - 1), (n, d)).astype(np.int8),
        input_bias=rng.integers(-1000, 1000, n).astype(np.int32),
        output_weight=rng.integers(-(2 ** (p_v - 1)), 2 ** (p_v - 1), (o, n)).astype(np.int8),
        output_bias=rng.integers(-1000, 1000, o).astype(np.int32),
        input_rescale=Rescale(1518500250 + seed, 33),
        input_scale=0.25, hidden_scale=0.125, input_weight_scale=0.0625, output_weight_scale=0.5,
        embedding=None if not vocab else rng.integers(-limit, limit + 1, (vocab, d)).astype(np.int8),
        calibration_method="percentile", calibration_percentile=99.5, calibration_sequences=77,
        base_matrix=base_matrix_of(block),
    ).validate()


def base_matrix_of(block: int) -> np.ndarray | None:
    """The canonical ``H_r`` of a block size ``m = r · 2^j`` (None for ``r = 1``)."""
    r = core.split_order(block)[0]
    return core.base_matrix(r, np.int8) if r > 1 else None


def set_field(data: bytes, name: str, value, fix_crc: bool = True) -> bytes:
    """Overwrite header field ``name`` with ``value`` and, by default, refresh the header CRC."""
    offset, code = header_field_offsets()[name]
    buffer = bytearray(data)
    struct.pack_into("<" + code, buffer, offset, value)
    if fix_crc:
        struct.pack_into("<I", buffer, HEADER_SIZE - 4, zlib.crc32(bytes(buffer[: HEADER_SIZE - 4])))
    return bytes(buffer)


def set_payload(data: bytes, position: int, byte: int) -> bytes:
    """Change one payload byte and refresh the payload CRC (so the value checks are reached)."""
    buffer = bytearray(data)
    buffer[HEADER_SIZE + position] = byte
    return set_field(bytes(buffer), "payload_crc32", zlib.crc32(bytes(buffer[HEADER_SIZE:])))


class TestRoundTrip:
    @pytest.mark.parametrize(
        "options",
        [{}, {"n": 1, "block": 1, "d": 1, "o": 1}, {"n": 64, "block": 64, "p_u": 8, "p_v": 1}, {"vocab": 33, "input_bits": 5},
         {"many_to_many": True, "recurrence": "linear", "hidden_bits": 16}, {"n": 128, "block": 2, "d": 7, "p_u": 3, "p_v": 7}],
    )
    def test_bytes_round_trip_exactly(self, options):
        model = random_quantized(**options)
        data = model.to_bytes()
        assert QuantizedModel.from_bytes(data) == model
        assert QuantizedModel.from_bytes(data).to_bytes() == data

    def test_write_is_atomic_and_read_back(self, tmp_path):
        path = tmp_path / "model.hrnn"
        first, second = random_quantized(seed=1), random_quantized(seed=2)
        assert write_model(first, path) == len(first.to_bytes())
        write_model(second, path)
        assert read_model(path) == second
        assert [p.name for p in tmp_path.iterdir()] == ["model.hrnn"]  # no temporary file left behind

    def test_missing_file(self, tmp_path):
        with pytest.raises(FileNotFoundError, match="expected a .hrnn file"):
            read_model(tmp_path / "absent.hrnn")


class TestLayout:
    """The bytes are those the module docstring documents (built here by hand)."""

    def test_header_fields_at_their_documented_offsets(self):
        model = random_quantized(n=16, block=8, d=3, o=5, vocab=0)
        data = model.to_bytes()
        assert HEADER_SIZE == 88
        assert data[:8] == MAGIC == b"\x89HRNN\r\n\x1a"
        assert struct.unpack_from("<HHI", data, 8) == (1, 88, 0b001)  # version, header size, flags: ReLU
        assert struct.unpack_from("<5I", data, 16) == (16, 8, 3, 5, 0)
        assert tuple(data[36:40]) == (8, 12, 4, 3)
        assert struct.unpack_from("<IBBH", data, 40) == (1518500250, 33, 1, 0)
        assert struct.unpack_from("<5f", data, 48) == (0.25, 0.125, 0.0625, 0.5, 99.5)
        assert struct.unpack_from("<IQ", data, 68) == (77, len(data) - 88)
        assert struct.unpack_from("<I", data, 80)[0] == zlib.crc32(data[88:])
        assert struct.unpack_from("<I", data, 84)[0] == zlib.crc32(data[:84])

    def test_payload_sections_in_order(self):
        model = random_quantized(n=16, block=8, d=3, o=5, vocab=4, p_u=4, p_v=3, input_bits=6)
        payload = model.to_bytes()[HEADER_SIZE:]
        signs = sum(1 << i for i, s in enumerate(model.signs) if s == -1)  # a set bit means -1
        expected = (
            signs.to_bytes(2, "little")
            + pack_int(model.input_weight, 4).tobytes()  # ceil(16*3*4/8) = 24 bytes
            + model.input_bias.astype("<i4").tobytes()
            + pack_int(model.output_weight, 3).tobytes()  # ceil(5*16*3/8) = 30 bytes
            + model.output_bias.astype("<i4").tobytes()
            + pack_int(model.embedding, 6).tobytes()  # ceil(4*3*6/8) = 9 bytes
        )
        assert payload == expected
        assert len(payload) == 2 + 24 + 64 + 30 + 20 + 9

    @pytest.mark.parametrize(
        ("name", "make", "n", "d", "o"),
        [
            ("copy (paper)", SequenceTagger, 128, 10, 9),
            ("sMNIST (paper)", SequenceClassifier, 512, 1, 10),
            ("IMDB recurrent part (paper)", SequenceClassifier, 128, 512, 1),
        ],
    )
    def test_file_size_bound_for_the_paper_models(self, name, make, n, d, o):
        """The size bound: size <= 1.02 x theoretical weight bits / 8 + a header of at most 256 bytes."""
        torch.manual_seed(0)
        model = make(d, n, o, input_bits=4, output_bits=4)
        quantized = quantize_model(model, calibrate(model, [torch.rand(2, 5, d)]), hidden_bits=16)
        size = len(quantized.to_bytes())
        theoretical_bytes = sum(quantized.weight_bits().values()) / 8
        assert HEADER_SIZE <= 256
        assert size <= 1.02 * theoretical_bytes + HEADER_SIZE
        assert size - HEADER_SIZE - theoretical_bytes < 4  # at most the padding of a few last bytes


@pytest.fixture(scope="module")
def data():
    """16 hidden units, d = 3, o = 5, an embedding of 6 tokens: a 158-byte payload."""
    return random_quantized(vocab=6, input_bits=8).to_bytes()


class TestBadFiles:
    """Every rejection is a ModelFileError saying what was expected and what was received."""

    def rejects(self, data, pattern):
        with pytest.raises(ModelFileError, match=pattern) as info:
            QuantizedModel.from_bytes(data)
        message = str(info.value)
        assert "got" in message and ("expected" in message or "must" in message), message

    def test_truncated_header(self, data):
        self.rejects(data[:50], "expected a 88-byte header, got 50 bytes")
        self.rejects(b"", "got 0 bytes")

    def test_bad_magic(self, data):
        self.rejects(b"PK\x03\x04" + data[4:], "not a .hrnn model file: expected the magic bytes")

    def test_other_version(self, data):
        self.rejects(set_field(data, "version", 3), r"unsupported .hrnn version: expected one of \(1, 2\), got 3")
        self.rejects(set_field(data, "version", 0), r"unsupported .hrnn version: expected one of \(1, 2\), got 0")

    def test_a_power_of_two_model_claiming_version_2(self, data):
        self.rejects(set_field(data, "version", 2), "hidden_size must not be a power of two in a version 2 file .*got 16")

    def test_header_crc(self, data):
        self.rejects(set_field(data, "hidden_size", 32, fix_crc=False), "corrupted header: expected the CRC-32 it records")

    @pytest.mark.parametrize(
        ("field", "value", "pattern"),
        [
            ("header_size", 89, "header_size must be 88, got 89"),
            ("flags", 0x10, "flags has unknown bits set"),
            ("hidden_size", 0, r"hidden_size must be an integer in \[1, 1048576\], got 0"),
            ("hidden_size", 12, "hidden_size must be a power of two in a version 1 file, got 12"),
            ("hidden_size", 2**32 - 1, "hidden_size must be an integer"),
            ("block_size", 32, r"block_size must be an integer in \[1, 16\], got 32"),
            ("block_size", 3, r"block_size must be a supported Hadamard order dividing hidden_size=16 \(1, 2, 4, 8, 16\), got 3"),
            ("input_size", 0, "input_size must be"),
            ("output_size", 2**21, "output_size must be"),
            ("vocab_size", 0, r"vocab_size must be an integer in \[1, 16777216\], got 0"),
            ("input_bits", 9, r"input_bits must be an integer in \[2, 8\], got 9"),
            ("hidden_bits", 17, r"hidden_bits must be an integer in \[2, 16\], got 17"),
            ("hidden_bits", 1, "hidden_bits must be"),
            ("input_weight_bits", 0, "input_weight_bits must be"),
            ("output_weight_bits", 255, "output_weight_bits must be"),
            ("input_multiplier", 0, r"input_multiplier must be an integer in \[1, 2147483647\], got 0"),
            ("input_multiplier", 2**31, "input_multiplier must be"),
            ("input_shift", 63, r"input_shift must be an integer in \[0, 62\], got 63"),
            ("calibration_method", 2, "calibration_method must be"),
            ("base_order", 1, r"base_order \(reserved in version 1\) must be 0, got 1"),
            ("input_scale", float("nan"), "input_scale must be a finite positive number, got nan"),
            ("hidden_scale", 0.0, "hidden_scale must be a finite positive number, got 0.0"),
            ("output_weight_scale", float("-inf"), "output_weight_scale must be"),
            ("input_weight_scale", -1.0, "input_weight_scale must be"),
            ("calibration_percentile", 101.0, r"calibration_percentile must be in \(0, 100\], got 101.0"),
            ("payload_size", 2**64 - 1, "payload_size must be 158 bytes for the shapes and bit-widths in the header, got"),
        ],
    )
    def test_header_fields(self, data, field, value, pattern):
        self.rejects(set_field(data, field, value), pattern)

    def test_huge_declared_shapes_are_refused_before_any_allocation(self, data):
        grown = set_field(set_field(set_field(data, "hidden_size", 2**20), "block_size", 2**20), "input_size", 2**20)
        self.rejects(grown, "payload_size must be")
        consistent = set_field(grown, "payload_size", 2**20 // 8 + 2**40 // 2)  # what the shapes imply
        self.rejects(consistent, "payload_size must be|model file truncated")

    def test_truncated_and_extended_payload(self, data):
        self.rejects(data[:-1], "model file truncated: expected 158 payload bytes after the header, got 157")
        self.rejects(data + b"\x00", "model file has trailing bytes: expected 158 payload bytes after the header, got 159")

    def test_payload_crc(self, data):
        flipped = bytearray(data)
        flipped[HEADER_SIZE + 5] ^= 0x01
        self.rejects(bytes(flipped), "corrupted payload: expected the CRC-32 the header records")

    def test_set_padding_bits(self):
        data = random_quantized(n=4, block=4, d=1, o=1).to_bytes()  # 4 sign bits in one byte
        self.rejects(set_payload(data, 0, data[HEADER_SIZE] | 0xF0), "corrupted payload section 'signs': expected clear padding bits.*padding bits set")

    def test_embedding_code_out_of_the_symmetric_range(self, data):
        model = QuantizedModel.from_bytes(data)
        embedding_start = len(data) - HEADER_SIZE - 6 * 3  # 6 tokens x 3 codes x 8 bits
        assert model.embedding is not None
        self.rejects(set_payload(data, embedding_start, 0x80), r"embedding must hold integers in \[-127, 127\], got -128")

    def test_bias_that_could_overflow_int32(self, data):
        model = QuantizedModel.from_bytes(data)
        bias_start = 2 + 24  # after the sign bytes and the 4-bit U codes
        raw = bytearray(data)
        raw[HEADER_SIZE + bias_start : HEADER_SIZE + bias_start + 4] = struct.pack("<i", 2**31 - 2)
        patched = set_field(bytes(raw), "payload_crc32", zlib.crc32(bytes(raw[HEADER_SIZE:])))
        self.rejects(patched, r"int32 accumulators cannot hold this model: expected the worst case of the input projection")
        assert model.input_bias[0] != 2**31 - 2

    def test_not_bytes(self):
        with pytest.raises(ModelFileError, match="must be given as bytes, got str"):
            QuantizedModel.from_bytes("HRNN")


class TestExportValidation:
    def test_invalid_models_are_refused_with_export_error(self):
        model = random_quantized()
        with pytest.raises(ExportError, match=r"signs must have shape \(16,\), got \(15,\)"):
            QuantizedModel(**{**model.__dict__, "signs": model.signs[:15]}).to_bytes()
        with pytest.raises(ExportError, match="input_scale must be exactly representable as float32"):
            QuantizedModel(**{**model.__dict__, "input_scale": 0.1}).validate()
        with pytest.raises(ExportError, match=r"input_weight must hold integers in \[-8, 7\], got 8"):
            QuantizedModel(**{**model.__dict__, "input_weight": np.full((16, 3), 8, np.int8)}).validate()


class TestVersion2:
    """Hidden sizes that are not powers of two: version 2, the base order at offset 46 and ``H_r``
    right after the signs; every power-of-two model stays a version 1 file."""

    @pytest.mark.parametrize(
        "options",
        [{"n": 24, "block": 12}, {"n": 96, "block": 96}, {"n": 96, "block": 32}, {"n": 384, "block": 24, "vocab": 7},
         {"n": 12, "block": 12, "d": 1, "o": 1}, {"n": 40, "block": 20, "many_to_many": True}],
    )
    def test_bytes_round_trip_exactly(self, options):
        model = random_quantized(**options)
        data = model.to_bytes()
        assert struct.unpack_from("<H", data, 8)[0] == 2 == model.format_version
        assert QuantizedModel.from_bytes(data) == model
        assert QuantizedModel.from_bytes(data).to_bytes() == data

    def test_power_of_two_models_are_version_1(self):
        for options in ({}, {"n": 64, "block": 64}, {"n": 1, "block": 1, "d": 1, "o": 1}):
            data = random_quantized(**options).to_bytes()
            assert struct.unpack_from("<HHI", data, 8)[0] == 1
            assert struct.unpack_from("<H", data, 46)[0] == 0

    def test_layout(self):
        model = random_quantized(n=24, block=12, d=3, o=5)
        data = model.to_bytes()
        assert struct.unpack_from("<HH", data, 8) == (2, 88)
        assert struct.unpack_from("<2I", data, 16) == (24, 12)
        assert struct.unpack_from("<H", data, 46)[0] == 12  # the base order of block_size 12
        signs = sum(1 << i for i, s in enumerate(model.signs) if s == -1)
        base = sum(1 << i for i, h in enumerate(model.base_matrix.reshape(-1)) if h == -1)  # row-major
        payload = data[HEADER_SIZE:]
        assert payload[:3] == signs.to_bytes(3, "little")
        assert payload[3 : 3 + 18] == base.to_bytes(18, "little")  # 144 bits
        assert payload[21:] == b"".join(model._payload_sections()[2:])
        assert "H_r base matrix (r^2)" in model.weight_bits() and model.weight_bits()["H_r base matrix (r^2)"] == 144

    @pytest.fixture
    def data_v2(self):
        return random_quantized(n=24, block=12, d=3, o=5).to_bytes()

    def rejects(self, data, pattern):
        with pytest.raises(ModelFileError, match=pattern) as info:
            QuantizedModel.from_bytes(data)
        assert "got" in str(info.value) and "must" in str(info.value)

    def test_wrong_base_order(self, data_v2):
        self.rejects(set_field(data_v2, "base_order", 20), r"base_order \(the base order of block_size=12\) must be 12, got 20")
        self.rejects(set_field(data_v2, "base_order", 0), r"base_order \(the base order of block_size=12\) must be 12, got 0")

    def test_version_1_cannot_hold_other_sizes(self, data_v2):
        self.rejects(set_field(data_v2, "version", 1), "hidden_size must be a power of two in a version 1 file, got 24")

    def test_unsupported_sizes_in_version_2(self, data_v2):
        self.rejects(set_field(data_v2, "hidden_size", 100), "hidden_size must be a supported Hadamard order .*got 100; the nearest supported sizes are 96 and 104")
        self.rejects(set_field(data_v2, "block_size", 20), r"block_size must be a supported Hadamard order dividing hidden_size=24 \(1, 2, 4, 8, 12, 24\), got 20")

    def test_base_matrix_that_is_not_hadamard(self, data_v2):
        self.rejects(set_payload(data_v2, 3 + 5, data_v2[HEADER_SIZE + 3 + 5] ^ 0x01), "base_matrix must be a Hadamard matrix of order 12")

    def test_validation_of_the_base_matrix(self):
        model = random_quantized(n=24, block=12)
        with pytest.raises(ExportError, match=r"base_matrix is required for block_size=12 = 12 \* 1: expected the \(12, 12\) base matrix"):
            QuantizedModel(**{**model.__dict__, "base_matrix": None}).validate()
        with pytest.raises(ExportError, match=r"base_matrix must be None for block_size=8"):
            QuantizedModel(**{**random_quantized().__dict__, "base_matrix": core.base_matrix(12, np.int8)}).validate()
        with pytest.raises(ExportError, match=r"base_matrix must have shape \(12, 12\), got \(20, 20\)"):
            QuantizedModel(**{**model.__dict__, "base_matrix": core.base_matrix(20, np.int8)}).validate()

    def test_the_file_carries_its_own_base_matrix(self):
        """Another Hadamard matrix of order 12 is a valid file, and the runtime uses it."""
        from hadamrnn.runtime import Runtime, reference_run

        canonical = random_quantized(n=24, block=24, hidden_bits=16, seed=3)
        other = QuantizedModel(**{**canonical.__dict__, "base_matrix": core.normalize(core.paley_ii(5)).astype(np.int8)})
        loaded = QuantizedModel.from_bytes(other.to_bytes())
        assert np.array_equal(loaded.base_matrix, other.base_matrix)
        codes = np.random.default_rng(0).integers(-128, 128, (20, 6, 3))
        run = Runtime(loaded).run(codes)
        np.testing.assert_array_equal(run.state, reference_run(loaded, codes).state)
        assert not np.array_equal(run.state, Runtime(canonical).run(codes).state)
