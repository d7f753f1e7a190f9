"""Post-training quantization: calibration methods and the integer model they produce."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hadamrnn import SequenceClassifier, SequenceTagger
from hadamrnn.export import Calibration, ExportError, IntegerSimulation, calibrate, quantize_model
from hadamrnn.export.fixed_point import inverse_sqrt_rescale, rescale_for
from hadamrnn.quantizers import quantize_to_int


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return SequenceTagger(3, 16, 4, block_size=8, input_bits=4, output_bits=3, backend="reference").eval()


@torch.no_grad()
def test_max_calibration_is_the_largest_magnitude(model):
    batches = [torch.randn(4, 6, 3), torch.randn(2, 9, 3) * 3]
    calibration = calibrate(model, batches)
    hidden = torch.cat([model.rnn(x)[0].reshape(-1) for x in batches])
    assert calibration.hidden_range == pytest.approx(float(hidden.abs().max()), rel=0, abs=0)
    assert calibration.input_range == float(torch.cat([x.reshape(-1) for x in batches]).abs().max())
    assert (calibration.method, calibration.percentile, calibration.sequences) == ("max", 100.0, 6)


@torch.no_grad()
def test_percentile_calibration(model):
    x = torch.randn(8, 10, 3)
    calibration = calibrate(model, [x], method="percentile", percentile=90.0)
    expected = np.percentile(model.rnn(x)[0].abs().reshape(-1).numpy(), 90.0)
    assert calibration.hidden_range == pytest.approx(float(expected), rel=1e-6)
    assert calibration.method == "percentile" and calibration.percentile == 90.0


def test_calibration_errors(model):
    with pytest.raises(ExportError, match="method must be one of .*got 'mean'"):
        calibrate(model, [torch.randn(2, 3, 3)], method="mean")
    with pytest.raises(ExportError, match="at least one batch of inputs, got none"):
        calibrate(model, [])
    bad = torch.randn(2, 3, 3)
    bad[0, 1, 2] = math.nan
    with pytest.raises(ExportError, match="expected finite inputs, got NaN or inf"):
        calibrate(model, [bad])
    with pytest.raises(ExportError, match="hidden_range must be a finite positive number, got -1.0"):
        Calibration(1.0, -1.0)


def test_the_integer_model_uses_the_float_models_codes_and_scales(model):
    calibration = Calibration(input_range=2.0, hidden_range=5.0)
    quantized = quantize_model(model, calibration, hidden_bits=12, input_bits=6)
    codes, step = quantize_to_int(model.rnn.input_proj.weight.detach(), 4)
    np.testing.assert_array_equal(quantized.input_weight, codes.numpy())
    assert quantized.input_weight_scale == float(step)
    output_codes, output_step = quantize_to_int(model.readout.weight.detach(), 3)
    np.testing.assert_array_equal(quantized.output_weight, output_codes.numpy())
    assert quantized.input_scale == float(np.float32(2.0 / 31)) and quantized.hidden_scale == float(np.float32(5.0 / 2047))
    expected_bias = np.round(model.rnn.input_proj.bias.detach().double().numpy() / (float(step) * quantized.input_scale))
    np.testing.assert_array_equal(quantized.input_bias, expected_bias)
    assert quantized.input_rescale == rescale_for(float(step) * quantized.input_scale * math.sqrt(8) / quantized.hidden_scale)
    assert quantized.recurrent_rescale == inverse_sqrt_rescale(8)
    np.testing.assert_array_equal(quantized.signs, model.rnn.signs().detach().numpy())


def test_one_hot_inputs_are_exact(model):
    torch.manual_seed(1)
    tagger = SequenceTagger(10, 8, 9, backend="reference").eval()
    one_hot = torch.nn.functional.one_hot(torch.randint(0, 10, (4, 7)), 10).float()
    simulation = IntegerSimulation.from_model(tagger, calibrate(tagger, [one_hot]))
    assert simulation.quantized.input_scale == float(np.float32(1 / 127))
    assert set(simulation.quantize_inputs(one_hot).unique().tolist()) == {0, 127}


def test_unsupported_models_are_refused():
    calibration = Calibration(1.0, 1.0)
    with pytest.raises(ExportError, match=r"U \(rnn.input_proj\) must be quantized to 1..8 bits .*got bits=None"):
        quantize_model(SequenceTagger(2, 4, 2, input_bits=None), calibration)
    with pytest.raises(ExportError, match=r"V \(readout\) must be quantized to 1..8 bits .*got bits=12"):
        quantize_model(SequenceClassifier(2, 4, 2, output_bits=12), calibration)
    with pytest.raises(ExportError, match="expected a SequenceTagger or SequenceClassifier .*got Linear"):
        quantize_model(torch.nn.Linear(2, 2), calibration)
    with pytest.raises(ExportError, match=r"hidden_bits must be an integer in \[2, 16\], got 17"):
        quantize_model(SequenceTagger(2, 4, 2), calibration, hidden_bits=17)


def test_a_bias_that_does_not_fit_its_unit_is_refused():
    model = SequenceTagger(2, 4, 2).eval()
    with torch.no_grad():
        model.rnn.input_proj.bias.fill_(1e6)
    with pytest.raises(ExportError, match="input bias b / \\(s_U s_x\\) does not fit int32 .*got"):
        quantize_model(model, Calibration(1e-3, 1.0))
