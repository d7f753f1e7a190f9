"""Bit-exactness of the integer runtimes.

The torch :class:`IntegerSimulation`, the numpy :class:`Runtime` and the generated C compiled with
``gcc -std=c99 -Wall -Wextra -Werror -pedantic`` must return the same integer logits and the same
final hidden codes, and the slow reference (dense integer W, unbounded Python integers, no clip of
the input term) must agree with them:

* 10,000 random sequences for every combination of recurrence (linear, ReLU), W (full, block),
  p in {2, 4, 8} and b_h in {8, 16}; half are quantized float inputs inside the calibrated range,
  half are uniform int8 codes (with -128, which saturates), so saturation is exercised;
* real task inputs: copy-task batches, and MNIST-shaped sequences (784 steps of one pixel in
  [0, 1]; the repository has no MNIST loader yet, so the pixels are random);
* a model with an embedding (token ids);
* hidden sizes that are not powers of two (``n = 96 = 12 · 8``, ``384`` with blocks of ``24``),
  whose ``W`` has a Paley base matrix and whose ``1/sqrt(m)`` is a 31-bit multiplier.
"""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess

import numpy as np
import pytest
import torch

from hadamrnn import SequenceClassifier, SequenceTagger
from hadamrnn.export import IntegerSimulation, calibrate, generate_c, quantize_model
from hadamrnn.export.c_runner import STRICT_FLAGS, CProgram
from hadamrnn.export.fixed_point import activation_limit, round_shift
from hadamrnn.runtime import Runtime, reference_run
from hadamrnn.tasks import CopyTask

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")

RANDOM_SEQUENCES = 10_000
REFERENCE_SEQUENCES = 200  # the unbounded reference is slow (Python integers)


def make_model(*, n=16, block=None, d=3, o=4, recurrence="linear", p=4, classifier=False, seed=0, **kwargs):
    torch.manual_seed(seed)
    head = SequenceClassifier if classifier else SequenceTagger
    model = head(d, n, o, block_size=block, recurrence=recurrence, input_bits=p, output_bits=p, backend="reference", **kwargs)
    with torch.no_grad():  # biases large enough to matter in the integer arithmetic
        model.rnn.input_proj.bias.uniform_(-0.5, 0.5)
        model.readout.bias.uniform_(-0.5, 0.5)
    return model.eval()


def assert_all_agree(quantized, inputs, tmp_path, reference_count=REFERENCE_SEQUENCES):
    """Run ``inputs`` (codes or token ids, batched) through every runtime; return the numpy result."""
    numpy_result = Runtime(quantized).run(inputs)
    torch_result = IntegerSimulation(quantized).run(torch.from_numpy(inputs))
    c_outputs, c_state = CProgram(quantized, tmp_path).run(inputs)
    np.testing.assert_array_equal(torch_result.outputs.numpy(), numpy_result.outputs)
    np.testing.assert_array_equal(torch_result.state.numpy(), numpy_result.state)
    np.testing.assert_array_equal(c_outputs, numpy_result.outputs)
    np.testing.assert_array_equal(c_state, numpy_result.state)
    reference = reference_run(quantized, inputs[:reference_count])
    np.testing.assert_array_equal(reference.outputs, numpy_result.outputs[:reference_count])
    np.testing.assert_array_equal(reference.state, numpy_result.state[:reference_count])
    return numpy_result


CONFIGS = list(itertools.product(("linear", "relu"), (None, 4), (2, 4, 8), (8, 16)))


@pytest.mark.parametrize(("recurrence", "block", "p", "hidden_bits"), CONFIGS)
def test_random_sequences_agree_bit_for_bit(tmp_path, recurrence, block, p, hidden_bits):
    model = make_model(block=block, recurrence=recurrence, p=p)
    calibration = calibrate(model, [torch.randn(64, 8, 3)])
    quantized = quantize_model(model, calibration, hidden_bits=hidden_bits)
    rng = np.random.default_rng(CONFIGS.index((recurrence, block, p, hidden_bits)))  # deterministic
    half = RANDOM_SEQUENCES // 2
    in_range = Runtime(quantized).quantize_inputs(rng.standard_normal((half, 8, 3)))
    extreme = rng.integers(-128, 128, size=(RANDOM_SEQUENCES - half, 8, 3))
    codes = np.concatenate([extreme[:REFERENCE_SEQUENCES], in_range, extreme[REFERENCE_SEQUENCES:]])
    result = assert_all_agree(quantized, codes, tmp_path)
    assert result.outputs.shape == (RANDOM_SEQUENCES, 8, 4)
    # The extreme inputs drive the state into saturation: that path is compared too.
    assert np.abs(result.state).max() == activation_limit(hidden_bits)


@pytest.mark.parametrize(
    ("recurrence", "block", "hidden_bits"), [("linear", None, 16), ("linear", 8, 8), ("relu", None, 8), ("relu", 8, 16)]
)
def test_copy_task_inputs_agree_bit_for_bit(tmp_path, recurrence, block, hidden_bits):
    task = CopyTask(seq_len=60, copy_length=5, train_size=128, val_size=64, test_size=64, seed=3)
    model = make_model(n=32, block=block, d=10, o=9, recurrence=recurrence)
    calibration = calibrate(model, [task.batch("train", 0, 64).inputs])
    quantized = quantize_model(model, calibration, hidden_bits=hidden_bits)
    inputs = task.batch("test", 0, 64).inputs
    codes = IntegerSimulation(quantized).quantize_inputs(inputs).numpy()
    assert set(np.unique(codes)) == {0, 127}  # one-hot inputs are exact codes
    assert_all_agree(quantized, codes, tmp_path, reference_count=16)


@pytest.mark.parametrize(("recurrence", "hidden_bits"), [("linear", 16), ("relu", 8)])
def test_mnist_shaped_inputs_agree_bit_for_bit(tmp_path, recurrence, hidden_bits):
    """784 steps of one pixel in [0, 1] (random pixels: the repository has no MNIST loader)."""
    model = make_model(n=32, d=1, o=10, recurrence=recurrence, classifier=True)
    pixels = torch.rand(32, 784, 1)
    quantized = quantize_model(model, calibrate(model, [pixels[:16]]), hidden_bits=hidden_bits)
    codes = IntegerSimulation(quantized).quantize_inputs(pixels).numpy()
    result = assert_all_agree(quantized, codes, tmp_path, reference_count=2)
    assert result.outputs.shape == (32, 10)


def test_embedding_model_agrees_bit_for_bit(tmp_path):
    torch.manual_seed(1)
    model = SequenceClassifier(None, 16, 3, vocab_size=50, embedding_dim=6, block_size=8, backend="reference").eval()
    tokens = torch.randint(0, 50, (400, 20))
    quantized = quantize_model(model, calibrate(model, [tokens[:64]]), hidden_bits=16)
    assert quantized.embedding.shape == (50, 6)
    assert_all_agree(quantized, tokens.numpy(), tmp_path, reference_count=20)


BEYOND_POWERS_OF_TWO = [
    (96, None, "linear", False, 16),
    (96, None, "relu", True, 8),
    (96, 24, "relu", False, 16),
    (96, 32, "linear", True, 16),  # Sylvester blocks in a hidden size that is not a power of two
    (384, 24, "linear", False, 8),
]


@pytest.mark.parametrize(("n", "block", "recurrence", "classifier", "hidden_bits"), BEYOND_POWERS_OF_TWO)
def test_sizes_beyond_powers_of_two_agree_bit_for_bit(tmp_path, n, block, recurrence, classifier, hidden_bits):
    model = make_model(n=n, block=block, recurrence=recurrence, classifier=classifier, seed=n)
    quantized = quantize_model(model, calibrate(model, [torch.randn(64, 8, 3)]), hidden_bits=hidden_bits)
    assert quantized.to_bytes()[8] == 2 and quantized.base_order == (1 if block == 32 else 12)
    assert not quantized.recurrent_rescale.is_exact_shift  # 1/sqrt(96), 1/sqrt(24), 1/sqrt(32)
    rng = np.random.default_rng(n + hidden_bits)
    half = 1000
    in_range = Runtime(quantized).quantize_inputs(rng.standard_normal((half, 8, 3)))
    extreme = rng.integers(-128, 128, size=(half, 8, 3))
    codes = np.concatenate([extreme[:50], in_range, extreme[50:]])
    result = assert_all_agree(quantized, codes, tmp_path, reference_count=50)
    assert np.abs(result.state).max() == activation_limit(hidden_bits)  # saturation is compared too


def test_integer_simulation_tracks_the_float_model_at_16_bits():
    model = make_model(n=32, d=3, o=4, p=4)
    x = torch.randn(64, 30, 3)
    simulation = IntegerSimulation.from_model(model, calibrate(model, [x]), hidden_bits=16)
    with torch.no_grad():
        expected = model(x)
    error = (simulation(x) - expected).abs().max() / expected.abs().max()
    # 8-bit input codes dominate: half a step is 1/254 of the input range.
    assert error < 2e-2


@pytest.fixture(scope="module")
def source():
    model = make_model(n=16, block=4, d=3, o=4, recurrence="relu")
    return generate_c(quantize_model(model, calibrate(model, [torch.randn(8, 8, 3)]), hidden_bits=16))


class TestGeneratedC:
    """The C is integer-only, allocation-free and library-free, and compiles under the strict flags."""

    def compile_object(self, tmp_path, source, *extra):
        header = tmp_path / "model.h"
        header.write_text(source)
        obj = tmp_path / "model.o"
        command = ["gcc", *STRICT_FLAGS, "-O2", "-DHRNN_IMPLEMENTATION", *extra, "-x", "c", "-c", str(header), "-o", str(obj)]
        subprocess.run(command, check=True, capture_output=True)
        return obj

    def test_the_header_compiles_alone_with_the_strict_flags(self, tmp_path, source):
        self.compile_object(tmp_path, source)
        # Without HRNN_IMPLEMENTATION it is a plain header: declarations only.
        (tmp_path / "user.c").write_text('#include "model.h"\nint main(void) { return HRNN_HIDDEN_SIZE == 16 ? 0 : 1; }\n')
        subprocess.run(["gcc", *STRICT_FLAGS, "-c", str(tmp_path / "user.c"), "-o", str(tmp_path / "user.o")], check=True, cwd=tmp_path)

    def test_no_floating_point_no_malloc_no_libm(self, tmp_path, source):
        implementation = source.split("#ifdef HRNN_IMPLEMENTATION", 1)[1]
        code = re.sub(r"/\*.*?\*/", "", implementation, flags=re.DOTALL)  # comments may say "sqrt"
        for word in ("float", "double", "malloc", "#include", "sqrt", "."):
            assert word not in code, word
        if subprocess.run(["gcc", "-dumpmachine"], capture_output=True, text=True).stdout.startswith("x86_64"):
            # With only general-purpose registers, any floating-point operation is a compile error.
            self.compile_object(tmp_path, source, "-mgeneral-regs-only")
        obj = self.compile_object(tmp_path, source)
        undefined = subprocess.run(["nm", "-u", str(obj)], capture_output=True, text=True, check=True).stdout.split()
        assert undefined == []  # calls nothing: no libc, no libm, no allocator

    def test_c_rounding_matches_the_convention_at_the_extremes(self, tmp_path, source):
        values = [0, 1, -1, 2, -2, 3, -3, 5, -5, 6, -6, 2**61, -(2**61), 2**62 - 1, -(2**62 - 1), 123456789012345, -123456789012345]
        shifts = [0, 1, 2, 3, 30, 61, 62]
        (tmp_path / "model.h").write_text(source)
        literals = ", ".join(f"INT64_C({v})" for v in values)
        (tmp_path / "rounding.c").write_text(
            '#define HRNN_IMPLEMENTATION\n#include "model.h"\n#include <stdio.h>\n'
            f"static const int64_t values[] = {{{literals}}};\n"
            f"static const unsigned shifts[] = {{{', '.join(map(str, shifts))}}};\n"
            "int main(void) {\n    size_t i, j;\n"
            "    for (i = 0; i < sizeof values / sizeof values[0]; ++i)\n"
            "        for (j = 0; j < sizeof shifts / sizeof shifts[0]; ++j)\n"
            '            printf("%lld\\n", (long long)hrnn_round_shift(values[i], shifts[j]));\n'
            "    return 0;\n}\n"
        )
        binary = tmp_path / "rounding"
        subprocess.run(["gcc", *STRICT_FLAGS, "-O2", str(tmp_path / "rounding.c"), "-o", str(binary)], check=True)
        printed = [int(line) for line in subprocess.run([str(binary)], capture_output=True, text=True, check=True).stdout.split()]
        expected = [int(round_shift(np.array([v], dtype=object), s)[0]) for v in values for s in shifts]
        assert printed == expected

    def test_exact_shift_for_even_log2_block(self, source):
        # m = 4: 1/sqrt(4) = 2^-1 exactly, so the recurrent rescale is a shift, with no multiplier.
        assert "hrnn_round_shift((int64_t)value, 1u); /* exact" in source

    def test_a_paley_block_is_integer_only_too(self, tmp_path):
        model = make_model(n=96, block=24, recurrence="relu")
        source = generate_c(quantize_model(model, calibrate(model, [torch.randn(8, 8, 3)]), hidden_bits=16))
        assert "#define HRNN_BASE_ORDER 12" in source and "#define HRNN_SYLVESTER_SIZE 2" in source
        assert "hrnn_round_shift((int64_t)value * 1753413056, 33u)" in source  # 1/sqrt(24) = M 2^-33
        self.test_the_header_compiles_alone_with_the_strict_flags(tmp_path, source)
        self.test_no_floating_point_no_malloc_no_libm(tmp_path, source)
