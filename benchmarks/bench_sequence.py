"""Whole sequences: the forward of a batch, and a training step (forward, backward, Adam).

Two shapes, those of benchmarks/kernels_ratio.py and of the paper's experiments:

* ``pmnist``: SequenceClassifier, n = 512, T = 784, B = 100, d_in = 1, p = 4 bits for U and V,
  cross-entropy on the last step;
* ``copy``: SequenceTagger, n = 128, T = 1000, B = 128, one-hot d_in = 10, 9 outputs, the copy
  task's cross-entropy at every step.

``length="full"`` is that T; ``length="short"`` is T = 100, the same model on a shorter sequence
(for CI and for quick histories; the headline ratios are the ``full`` ones).
"""

from __future__ import annotations

import torch

from .common import HEADLINE, QUICK, interleaved_ratio, one_thread, pick, require, require_native

SHAPES = ["pmnist", "copy"]
LENGTHS = pick(["full", "short"], ["short"])
RATIO_LENGTHS = ["full", "short"] if HEADLINE or not QUICK else ["short"]
SHORT_T = 100


def _problem(shape: str, length: str, backend: str):
    """``(model, inputs, loss_of)`` for one shape on one backend, the same weights for every
    backend (seeded), or NotImplementedError if that backend does not exist at this commit."""
    one_thread()
    models = require("hadamrnn.models", "SequenceClassifier", "SequenceTagger")
    if backend == "native":
        require_native()
    torch.manual_seed(0)
    try:
        if shape == "pmnist":
            steps = 784 if length == "full" else SHORT_T
            model = models.SequenceClassifier(1, 512, 10, input_bits=4, output_bits=4, backend=backend)
            inputs = torch.rand(100, steps, 1)
            labels = torch.randint(0, 10, (100,))

            def loss_of(outputs):
                return torch.nn.functional.cross_entropy(outputs, labels)
        else:
            tasks = require("hadamrnn.tasks", "CopyTask")
            task = tasks.CopyTask(seq_len=1000 if length == "full" else SHORT_T)
            batch = task.batch("train", 0, 128)
            model = models.SequenceTagger(10, 128, 9, input_bits=4, output_bits=4, backend=backend)
            inputs = batch.inputs

            def loss_of(outputs):
                return task.loss(outputs, batch.targets)
    except (TypeError, ValueError) as error:  # an older signature, or an unknown backend
        raise NotImplementedError(f"{shape} on {backend} cannot be built at this commit: {error}") from None
    except Exception as error:
        if type(error).__name__ == "HadamRNNError":
            raise NotImplementedError(f"{shape} on {backend}: {error}") from None
        raise
    return model, inputs, loss_of


def _forward(model, inputs):
    def run():
        with torch.no_grad():
            model(inputs)

    return run


def _training_step(model, inputs, loss_of):
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_of(model(inputs)).backward()
        optimizer.step()

    return step


class _Slow:
    """A call lasts from milliseconds to seconds (dense pMNIST training: about 3.5 s): one call
    per sample, a few samples, no warm-up beyond the call in setup."""

    number = 1
    repeat = (1, 3, 20.0)
    rounds = 1
    warmup_time = 0.0
    timeout = 600


class SequenceForward(_Slow):
    """Forward of a batch without gradients: ``dense``, ``reference`` and the fused ``native``."""

    params = (SHAPES, LENGTHS, ["dense", "reference", "native"])
    param_names = ["shape", "length", "backend"]

    def setup(self, shape, length, backend):
        model, inputs, _ = _problem(shape, length, backend)
        self.run = _forward(model.eval(), inputs)
        self.run()

    def time_forward(self, shape, length, backend):
        self.run()

    def peakmem_forward(self, shape, length, backend):
        self.run()


class TrainingStep(_Slow):
    """One optimizer step: forward, backward through the recurrence, Adam."""

    params = (SHAPES, LENGTHS, ["dense", "native"])
    param_names = ["shape", "length", "backend"]

    def setup(self, shape, length, backend):
        self.step = _training_step(*_problem(shape, length, backend))
        self.step()

    def time_step(self, shape, length, backend):
        self.step()

    def peakmem_step(self, shape, length, backend):
        self.step()


class SequenceRatio:
    """The dense time over the native time, the two interleaved in one process (same weights)."""

    params = (SHAPES, RATIO_LENGTHS)
    param_names = ["shape", "length"]
    unit = "ratio"
    number = 1
    repeat = 1
    timeout = 600

    def setup(self, shape, length):
        self.problems = {backend: _problem(shape, length, backend) for backend in ("dense", "native")}
        self.problems["dense"][0].load_state_dict(self.problems["native"][0].state_dict())

    def track_forward_dense_over_native(self, shape, length):
        runs = {backend: _forward(model.eval(), inputs) for backend, (model, inputs, _) in self.problems.items()}
        return interleaved_ratio(runs["dense"], runs["native"], repeats=5)

    def track_training_dense_over_native(self, shape, length):
        steps = {backend: _training_step(*problem) for backend, problem in self.problems.items()}
        # The full pMNIST dense step lasts seconds: 3 repeats there, 5 elsewhere.
        repeats = 3 if (shape, length) == ("pmnist", "full") else 5
        return interleaved_ratio(steps["dense"], steps["native"], repeats=repeats)
