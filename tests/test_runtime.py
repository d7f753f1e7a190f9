"""The numpy runtime ``hadamrnn.runtime``: no torch, the integer FWHT, batch and single-step use,
and clear errors for bad inputs. (Bit-exactness with torch and C: ``test_export_bitexact.py``.)"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
import torch

from hadamrnn import SequenceClassifier, SequenceTagger
from hadamrnn.errors import ShapeError
from hadamrnn.export import calibrate, quantize_model, write_model
from hadamrnn.export.fixed_point import activation_limit
from hadamrnn.packing import sylvester_int
from hadamrnn.runtime import ModelFileError, Runtime, fwht_int, load, reference_run


def test_importing_the_runtime_does_not_import_torch():
    code = (
        "import sys, hadamrnn.runtime, hadamrnn.packing, hadamrnn.export.c_source, hadamrnn.export.c_runner; "
        "assert 'torch' not in sys.modules, sorted(m for m in sys.modules if m.startswith('torch'))"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize(("n", "block"), [(1, 1), (2, 2), (8, 8), (8, 2), (64, 64), (64, 16), (128, 1)])
def test_fwht_int_is_the_block_sylvester_product(n, block):
    x = np.random.default_rng(n + block).integers(-(2**15), 2**15, size=(5, n))
    dense = np.kron(np.eye(n // block, dtype=np.int64), sylvester_int(block).astype(np.int64))
    np.testing.assert_array_equal(fwht_int(x, block), x @ dense)


@pytest.fixture(scope="module")
def tagger():
    torch.manual_seed(0)
    model = SequenceTagger(3, 16, 4, block_size=4, input_bits=4, output_bits=4, backend="reference").eval()
    return model, quantize_model(model, calibrate(model, [torch.randn(16, 10, 3)]), hidden_bits=16)


@pytest.fixture(scope="module")
def classifier():
    torch.manual_seed(1)
    model = SequenceClassifier(2, 8, 3, recurrence="relu", backend="reference").eval()
    return model, quantize_model(model, calibrate(model, [torch.randn(16, 10, 2)]), hidden_bits=8)


def test_load_from_file(tmp_path, tagger):
    _, quantized = tagger
    write_model(quantized, tmp_path / "m.hrnn")
    assert load(tmp_path / "m.hrnn").model == quantized
    (tmp_path / "bad.hrnn").write_bytes(b"\x89HRNN")
    with pytest.raises(ModelFileError, match="truncated"):
        load(tmp_path / "bad.hrnn")


def test_step_by_step_equals_run(tagger):
    _, quantized = tagger
    runtime = Runtime(quantized)
    codes = np.random.default_rng(0).integers(-127, 128, size=(6, 9, 3))
    whole = runtime.run(codes)
    state = runtime.initial_state(6)
    for t in range(9):
        state, logits = runtime.step(codes[:, t], state)
        np.testing.assert_array_equal(logits, whole.outputs[:, t])
    np.testing.assert_array_equal(state, whole.state)


def test_a_run_continues_from_a_state(tagger):
    _, quantized = tagger
    runtime = Runtime(quantized)
    codes = np.random.default_rng(1).integers(-127, 128, size=(4, 10, 3))
    whole = runtime.run(codes)
    first = runtime.run(codes[:, :6])
    second = runtime.run(codes[:, 6:], state=first.state)
    np.testing.assert_array_equal(np.concatenate([first.outputs, second.outputs], axis=1), whole.outputs)
    np.testing.assert_array_equal(second.state, whole.state)


def test_unbatched_inputs(tagger, classifier):
    for _, quantized in (tagger, classifier):
        runtime = Runtime(quantized)
        codes = np.random.default_rng(2).integers(-127, 128, size=(1, 7, quantized.input_size))
        batched, single = runtime.run(codes), runtime.run(codes[0])
        np.testing.assert_array_equal(single.outputs, batched.outputs[0])
        np.testing.assert_array_equal(single.state, batched.state[0])


def test_classifier_reads_out_the_last_step(classifier):
    _, quantized = classifier
    codes = np.random.default_rng(3).integers(-127, 128, size=(5, 7, 2))
    result = Runtime(quantized).run(codes)
    assert result.outputs.shape == (5, 3)
    np.testing.assert_array_equal(result.outputs, reference_run(quantized, codes).outputs)
    assert result.state.min() >= 0  # a ReLU recurrence


def test_predict_tracks_the_float_model(tagger):
    model, quantized = tagger
    x = torch.randn(8, 10, 3)
    with torch.no_grad():
        expected = model(x).numpy()
    predicted = Runtime(quantized).predict(x.numpy())
    assert np.abs(predicted - expected).max() < 0.02 * np.abs(expected).max()


def test_input_codes_are_saturated_on_entry(tagger):
    _, quantized = tagger
    runtime = Runtime(quantized)
    codes = np.random.default_rng(4).integers(-1000, 1000, size=(3, 5, 3))
    limit = activation_limit(quantized.input_bits)
    np.testing.assert_array_equal(runtime.run(codes).outputs, runtime.run(codes.clip(-limit, limit)).outputs)


class TestBadInputs:
    def test_float_codes(self, tagger):
        with pytest.raises(ShapeError, match="expected integer input codes, got dtype float64"):
            Runtime(tagger[1]).run(np.zeros((2, 3, 3)))

    def test_wrong_width(self, tagger):
        with pytest.raises(ShapeError, match=r"input codes must have shape \(B, T, 3\), got \(2, 3, 4\)"):
            Runtime(tagger[1]).run(np.zeros((2, 3, 4), dtype=np.int64))

    def test_state_out_of_range(self, tagger):
        runtime = Runtime(tagger[1])
        with pytest.raises(ShapeError, match=r"state codes must lie in \[-32767, 32767\].*got 40000"):
            runtime.step(np.zeros((1, 3), dtype=np.int64), np.full((1, 16), 40000))
        with pytest.raises(ShapeError, match=r"state must be integer codes of shape \(1, 16\), got int64 \(1, 8\)"):
            runtime.step(np.zeros((1, 3), dtype=np.int64), np.zeros((1, 8), dtype=np.int64))

    def test_negative_state_of_a_relu_recurrence(self, classifier):
        with pytest.raises(ShapeError, match="non-negative states, got -1"):
            Runtime(classifier[1]).step(np.zeros((1, 2), dtype=np.int64), -np.ones((1, 8), dtype=np.int64))

    def test_non_finite_float_inputs(self, tagger):
        x = np.zeros((1, 2, 3))
        x[0, 1, 2] = np.inf
        with pytest.raises(ShapeError, match=r"finite numbers, got inf at index \(0, 1, 2\)"):
            Runtime(tagger[1]).predict(x)

    def test_empty_classifier_sequence(self, classifier):
        with pytest.raises(ShapeError, match="at least one step, got 0"):
            Runtime(classifier[1]).run(np.zeros((2, 0, 2), dtype=np.int64))

    def test_token_ids(self):
        torch.manual_seed(0)
        model = SequenceClassifier(None, 8, 2, vocab_size=10, embedding_dim=4, backend="reference").eval()
        runtime = Runtime(quantize_model(model, calibrate(model, [torch.randint(0, 10, (4, 5))])))
        assert runtime.run(np.array([[1, 2, 9]])).outputs.shape == (1, 2)
        with pytest.raises(ShapeError, match=r"token ids must be in \[0, 10\), got 10 at index \(0, 2\)"):
            runtime.run(np.array([[1, 2, 10]]))
        with pytest.raises(ShapeError, match="it takes token ids, not float features"):
            runtime.quantize_inputs(np.zeros((1, 4)))
