"""Property tests of the deployment path.

* **Loader fuzzing**: real exported ``.hrnn`` files are mutated (byte flips,
  truncations, insertions, deletions, header fields overwritten with extreme values with or
  without a refreshed CRC, payload bytes overwritten with a refreshed CRC so that the value checks
  are reached) and loaded. Every outcome must be either a :class:`ModelFileError` whose message
  names what was expected and what was received, or a valid model that then runs; never another
  exception, a hang (a deadline) or a large allocation (``tracemalloc``). CI runs a few hundred
  examples; ``HADAMRNN_FUZZ_EXAMPLES=10000`` runs the long campaign and prints its tally.
* Exact round trips of random integer models through bytes.
* The fast numpy runtime against the slow unbounded reference on random models and inputs.

The strategies are local to this file (all named ``*_st``) because they build deployment objects.
"""

from __future__ import annotations

import collections
import datetime
import hashlib
import os
import struct
import tracemalloc
import zlib
from fractions import Fraction

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hadamrnn import SequenceClassifier, SequenceTagger, core
from hadamrnn.export import ModelFileError, QuantizedModel, calibrate, quantize_model
from hadamrnn.export.fixed_point import Rescale, rescale_for
from hadamrnn.export.model_file import HEADER_FIELDS, HEADER_SIZE, header_field_offsets
from hadamrnn.runtime import Runtime, reference_run
from strategies import base_order_st

FUZZ_EXAMPLES = int(os.environ.get("HADAMRNN_FUZZ_EXAMPLES", "300"))
PEAK_BYTES = 32 << 20  # the seed files are under 2 KB: no honest load needs more than this
FUZZ_TALLY: collections.Counter = collections.Counter()
FUZZ_FILES: set[bytes] = set()


def _seed_files() -> list[bytes]:
    """Real exports: a full-W tagger, a block-W ReLU classifier, a model with an embedding and a
    version 2 file (24 hidden units in blocks H_12)."""
    torch.manual_seed(0)
    models = [
        (SequenceTagger(10, 32, 9, backend="reference"), torch.rand(4, 12, 10), 16),
        (SequenceClassifier(1, 16, 10, block_size=4, recurrence="relu", input_bits=2, output_bits=8, backend="reference"), torch.rand(4, 12, 1), 8),
        (SequenceClassifier(None, 8, 2, vocab_size=20, embedding_dim=5, block_size=2, backend="reference"), torch.randint(0, 20, (4, 12)), 12),
        (SequenceTagger(3, 24, 4, block_size=12, backend="reference"), torch.rand(4, 12, 3), 16),
    ]
    files = []
    for model, inputs, hidden_bits in models:
        model.eval()
        files.append(quantize_model(model, calibrate(model, [inputs]), hidden_bits=hidden_bits).to_bytes())
    return files


SEED_FILES = _seed_files()


# --------------------------------------------------------------------------- strategies

def _refresh_header_crc(buffer: bytearray) -> None:
    struct.pack_into("<I", buffer, HEADER_SIZE - 4, zlib.crc32(bytes(buffer[: HEADER_SIZE - 4])))


def _refresh_payload_crc(buffer: bytearray) -> None:
    offset, _ = header_field_offsets()["payload_crc32"]
    struct.pack_into("<I", buffer, offset, zlib.crc32(bytes(buffer[HEADER_SIZE:])))
    _refresh_header_crc(buffer)


def _extreme_values(code: str) -> st.SearchStrategy:
    if code == "f":
        return st.sampled_from([0.0, -0.0, 1e-45, -1.0, 1.0, 3.4e38, float("inf"), float("-inf"), float("nan"), 100.0, 100.5])
    if code == "8s":
        return st.binary(min_size=8, max_size=8)
    bits = struct.calcsize("<" + code) * 8
    top = 2**bits - 1
    edges = [0, 1, 2, 3, 4, 7, 8, 9, 16, 17, 62, 63, 64, 255, 256, 2**16 - 1, 2**20, 2**20 + 1, 2**24 + 1, 2**31 - 1, 2**31, top - 1, top]
    return st.one_of(st.sampled_from([v for v in edges if v <= top]), st.integers(0, top))


def byte_flips_st(size: int):
    return st.lists(st.tuples(st.integers(0, size - 1), st.integers(1, 255)), min_size=1, max_size=4).map(
        lambda flips: ("flip", flips)
    )


def header_field_st():
    return st.sampled_from([name for name, _ in HEADER_FIELDS]).flatmap(
        lambda name: st.tuples(st.just(name), _extreme_values(dict(HEADER_FIELDS)[name]), st.booleans())
    ).map(lambda args: ("field", args))


def mutation_st(size: int):
    return st.one_of(
        byte_flips_st(size),
        st.integers(0, size - 1).map(lambda cut: ("truncate", cut)),
        st.tuples(st.integers(0, size), st.binary(min_size=1, max_size=16)).map(lambda a: ("insert", a)),
        st.tuples(st.integers(0, size - 1), st.integers(1, 16)).map(lambda a: ("delete", a)),
        header_field_st(),
        header_field_st(),  # twice the weight: the field checks are the interesting part
        st.tuples(st.integers(0, size - HEADER_SIZE - 1), st.binary(min_size=1, max_size=8)).map(lambda a: ("payload", a)),
    )


def apply_mutation(data: bytes, mutation) -> bytes:
    kind, argument = mutation
    buffer = bytearray(data)
    if kind == "flip":
        for position, mask in argument:
            if position < len(buffer):
                buffer[position] ^= mask
    elif kind == "truncate":
        del buffer[argument:]
    elif kind == "insert":
        position, inserted = argument
        buffer[position:position] = inserted
    elif kind == "delete":
        position, count = argument
        del buffer[position : position + count]
    elif kind == "field" and len(buffer) >= HEADER_SIZE:
        name, value, refresh = argument
        offset, code = header_field_offsets()[name]
        struct.pack_into("<" + code, buffer, offset, value)
        if refresh and name != "header_crc32":
            _refresh_header_crc(buffer)
    elif kind == "payload" and len(buffer) > HEADER_SIZE:
        position, replacement = argument
        start = HEADER_SIZE + min(position, len(buffer) - HEADER_SIZE - 1)
        buffer[start : start + len(replacement)] = replacement[: len(buffer) - start]
        _refresh_payload_crc(buffer)  # so the loader's value checks, not the CRC, decide
    return bytes(buffer)


@st.composite
def mutated_file_st(draw):
    data = draw(st.sampled_from(SEED_FILES))
    for mutation in draw(st.lists(mutation_st(len(data)), min_size=1, max_size=3)):
        if len(data) == 0:
            break
        data = apply_mutation(data, mutation)
    return data


# --------------------------------------------------------------------------- fuzzing


@pytest.fixture(scope="module", autouse=True)
def fuzz_report():
    yield
    if FUZZ_TALLY:
        print(
            f"\n.hrnn loader fuzzing: {sum(FUZZ_TALLY.values())} examples, {len(FUZZ_FILES)} distinct mutated files, "
            f"{FUZZ_TALLY['rejected']} rejected with ModelFileError, {FUZZ_TALLY['accepted']} accepted and run"
        )


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=datetime.timedelta(seconds=5),  # a hang fails the test
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=mutated_file_st())
def test_loader_survives_mutated_files(data):
    tracemalloc.start()
    try:
        try:
            model = QuantizedModel.from_bytes(data)
        except ModelFileError as error:
            message = str(error)
            assert "got" in message and ("expected" in message or "must" in message), message
            outcome = "rejected"
        else:
            runtime = Runtime(model)
            shape = (2, 3) if model.embedding is not None else (2, 3, model.input_size)
            inputs = np.zeros(shape, dtype=np.int64)
            if model.embedding is None:
                inputs[:] = np.arange(inputs.size).reshape(shape) % 255 - 127
            result = runtime.run(inputs)
            assert np.abs(result.outputs).max(initial=0) < 2**31
            outcome = "accepted"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < PEAK_BYTES, f"loading a {len(data)}-byte file allocated {peak} bytes"
    FUZZ_TALLY[outcome] += 1
    FUZZ_FILES.add(hashlib.sha256(data).digest())


def test_seed_files_load():
    for data in SEED_FILES:
        assert QuantizedModel.from_bytes(data).to_bytes() == data


# --------------------------------------------------------------------------- round trips and runtimes


@st.composite
def quantized_model_st(draw):
    # n = r 2^k: up to 32 for Sylvester, up to 4 r for a base order r (the reference is dense)
    r = draw(base_order_st(28))
    n = r << draw(st.integers(0, 5 if r == 1 else 2))
    block = draw(st.sampled_from(core.block_sizes(n)))
    block_base = core.split_order(block)[0]
    d, o = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    p_u, p_v = draw(st.integers(1, 8)), draw(st.integers(1, 8))
    input_bits, hidden_bits = draw(st.integers(2, 8)), draw(st.integers(2, 16))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    vocab = draw(st.sampled_from([0, 0, 3]))
    limit = 2 ** (input_bits - 1) - 1
    scale = st.floats(1e-6, 1e3).map(lambda v: float(np.float32(v)))
    return QuantizedModel(
        hidden_size=n, block_size=block, input_size=d, output_size=o,
        recurrence=draw(st.sampled_from(["linear", "relu"])), many_to_many=draw(st.booleans()),
        input_bits=input_bits, hidden_bits=hidden_bits, input_weight_bits=p_u, output_weight_bits=p_v,
        signs=rng.choice(np.array([-1, 1], dtype=np.int8), n),
        input_weight=rng.integers(-(2 ** (p_u - 1)), 2 ** (p_u - 1), (n, d)).astype(np.int8),
        input_bias=rng.integers(-(2**20), 2**20, n).astype(np.int32),
        output_weight=rng.integers(-(2 ** (p_v - 1)), 2 ** (p_v - 1), (o, n)).astype(np.int8),
        output_bias=rng.integers(-(2**20), 2**20, o).astype(np.int32),
        input_rescale=Rescale(draw(st.integers(1, 2**31 - 1)), draw(st.integers(0, 62))),
        input_scale=draw(scale), hidden_scale=draw(scale), input_weight_scale=draw(scale), output_weight_scale=draw(scale),
        embedding=None if not vocab else rng.integers(-limit, limit + 1, (vocab, d)).astype(np.int8),
        base_matrix=core.base_matrix(block_base, np.int8) if block_base > 1 else None,
    ).validate()


@given(model=quantized_model_st())
def test_random_models_round_trip_through_bytes(model):
    assert QuantizedModel.from_bytes(model.to_bytes()) == model


@settings(deadline=None)
@given(model=quantized_model_st(), seed=st.integers(0, 2**32 - 1))
def test_fast_runtime_matches_the_unbounded_reference(model, seed):
    """Any valid model, any inputs (even extreme rescales that clip z): fast == reference."""
    rng = np.random.default_rng(seed)
    if model.embedding is not None:
        inputs = rng.integers(0, model.vocab_size, (3, 6))
    else:
        inputs = rng.integers(-128, 128, (3, 6, model.input_size))
    fast, slow = Runtime(model).run(inputs), reference_run(model, inputs)
    np.testing.assert_array_equal(fast.outputs, slow.outputs)
    np.testing.assert_array_equal(fast.state, slow.state)


@given(real=st.floats(2.0**-32, 2.0**30))
def test_rescale_for_is_within_half_a_unit_of_the_multiplier(real):
    chosen = rescale_for(real)
    exact = Fraction(real) * 2**chosen.shift
    assert abs(Fraction(chosen.multiplier) - exact) <= Fraction(1, 2)
