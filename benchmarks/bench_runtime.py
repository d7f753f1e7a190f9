"""The integer runtimes of an exported model: the numpy :class:`hadamrnn.runtime.Runtime` (one
step for a batch) and the generated C99 (nanoseconds per ``hrnn_step``, one sequence, through
:class:`hadamrnn.export.c_runner.CProgram`). Untrained models of the paper's shapes, calibrated on
random inputs, as in ``python -m benchmarks.export_measure``: the speed depends on the shapes only."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from .common import one_thread, pick, require

SHAPES = ["copy", "pmnist"]


def _quantized(shape: str):
    """``(QuantizedModel, float inputs (1, T, d))`` of an untrained model of ``shape``."""
    one_thread()
    models = require("hadamrnn.models", "SequenceClassifier", "SequenceTagger")
    quantize = require("hadamrnn.export.quantize", "calibrate", "quantize_model")
    torch.manual_seed(0)
    if shape == "copy":
        model = models.SequenceTagger(10, 128, 9, backend="reference")
        inputs = torch.nn.functional.one_hot(torch.randint(0, 10, (1, 1000)), 10).float()
    else:
        model = models.SequenceClassifier(1, 512, 10, backend="reference")
        inputs = torch.rand(1, 784, 1)
    model.eval()
    with torch.no_grad():
        quantized = quantize.quantize_model(model, quantize.calibrate(model, [inputs]), hidden_bits=16)
    return quantized, inputs


class NumpyRuntimeStep:
    """One ``Runtime.step`` (integer FWHT, rescale, saturate, read-out) for a batch of states."""

    params = (SHAPES, pick([1, 32], [32]))
    param_names = ["shape", "batch"]

    def setup(self, shape, batch):
        runtime = require("hadamrnn.runtime", "Runtime")
        quantized, _ = _quantized(shape)
        self.runtime = runtime.Runtime(quantized)
        rng = np.random.default_rng(0)
        self.codes = rng.integers(-8, 8, size=(batch, quantized.input_size))
        self.state = self.runtime.initial_state(batch)
        self.state, _ = self.runtime.step(self.codes, self.state)

    def time_step(self, shape, batch):
        self.runtime.step(self.codes, self.state)

    def peakmem_step(self, shape, batch):
        self.runtime.step(self.codes, self.state)


class CRuntimeStep:
    """Nanoseconds per step of the generated C (``-O2``, the strict flags), best of 20 runs of one
    sequence (T = 1000 for copy, 784 for pMNIST) in the C driver's own clock."""

    params = SHAPES
    param_names = ["shape"]
    unit = "ns per step"
    number = 1
    repeat = 1
    timeout = 300

    def setup(self, shape):
        c_runner = require("hadamrnn.export.c_runner", "CProgram", "find_compiler")
        fixed_point = require("hadamrnn.export.fixed_point", "quantize")
        if not hasattr(c_runner.CProgram, "time_per_step"):
            raise NotImplementedError("CProgram cannot time a step at this commit")
        try:
            c_runner.find_compiler()
        except Exception as error:
            raise NotImplementedError(f"no C compiler: {error}") from None
        quantized, inputs = _quantized(shape)
        self.directory = tempfile.TemporaryDirectory()
        self.program = c_runner.CProgram(quantized, Path(self.directory.name))
        self.codes = fixed_point.quantize(inputs[0].numpy(), quantized.input_scale, quantized.input_bits)

    def teardown(self, shape):
        self.directory.cleanup()

    def track_c_step(self, shape):
        return self.program.time_per_step(self.codes, 20)
