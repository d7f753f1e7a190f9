"""The heads against ``torch.nn.RNN``, and the nn.RNN-style layer call against the head's call.

The steps are those of ``benchmarks/rnn_reference.py`` (forward, loss, backward, Adam; one
thread):

* ``pmnist``: B = 100, T = 784, n = 512, d = 1, cross-entropy on the last state. ``head`` is
  ``SequenceClassifier`` (native backend), ``layer call`` the same model used as one uses
  ``nn.RNN`` (``out, h_n = model.rnn(x)``, the read-out on ``h_n``), ``nn.RNN`` the dense
  reference (``torch.nn.RNN`` with ReLU and an ``nn.Linear`` read-out);
* ``copy``: B = 128, T = 1000, n = 128, one-hot d = 10, a loss at every step; ``head`` is
  ``SequenceTagger`` (native backend), ``nn.RNN`` the reference. There is no ``layer call`` here.

The ratios are medians of per-repeat ratios, the two steps interleaved in one process.
"""

from __future__ import annotations

import torch

from .common import HEADLINE, QUICK, interleaved_ratio, one_thread, pick, require, require_native

SHAPES = ["pmnist", "copy"]
#: A dense pMNIST step lasts seconds: its step time is in the full set only; its ratio to the
#: head is a headline figure (the full set and the history's), the CI smoke run keeps copy.
MODELS = pick(["head", "layer call", "nn.RNN"], ["head", "layer call"])
RATIO_SHAPES = SHAPES if HEADLINE or not QUICK else ["copy"]


def _steps(shape: str) -> dict:
    """The training steps of ``benchmarks.rnn_reference`` for ``shape``, by model name, or
    NotImplementedError where this commit cannot build them."""
    one_thread()
    reference = require(f"{__package__}.rnn_reference", "pmnist_steps", "copy_steps")
    require_native()
    try:
        steps = reference.pmnist_steps() if shape == "pmnist" else reference.copy_steps()
    except (TypeError, ValueError, AttributeError) as error:  # an older signature or layout
        raise NotImplementedError(f"the {shape} steps cannot be built at this commit: {error}") from None
    if shape == "pmnist":
        _check_layer_call()
    torch.set_num_threads(1)  # rnn_reference may not have set it; every figure is on one thread
    return steps


def _check_layer_call() -> None:
    """NotImplementedError unless ``model.rnn(x)`` returns ``(out, h_n)`` as ``nn.RNN`` does."""
    models = require("hadamrnn.models", "SequenceClassifier")
    model = models.SequenceClassifier(1, 512, 10, backend="native")
    with torch.no_grad():
        result = model.rnn(torch.zeros(2, 3, 1))
    if not (isinstance(result, tuple) and len(result) == 2 and tuple(result[1].shape) == (1, 2, 512)):
        raise NotImplementedError("HadamRNN.forward does not return (out, h_n) at this commit")


class ReferenceStep:
    """One training step of the head, the nn.RNN-style call of the same model, and nn.RNN."""

    params = (SHAPES, MODELS)
    param_names = ["shape", "model"]
    number = 1
    repeat = (1, 3, 30.0)
    rounds = 1
    warmup_time = 0.0
    timeout = 600

    def setup(self, shape, model):
        steps = _steps(shape)
        if model not in steps:
            raise NotImplementedError(f"no {model!r} step at the {shape} shape")
        self.step = steps[model]
        self.step()

    def time_step(self, shape, model):
        self.step()

    def peakmem_step(self, shape, model):
        self.step()


class ReferenceRatio:
    """nn.RNN's step time over the head's (same shape, loss and optimizer): how many times
    faster the head trains than the dense reference."""

    params = [RATIO_SHAPES]
    param_names = ["shape"]
    unit = "ratio"
    number = 1
    repeat = 1
    timeout = 600

    def setup(self, shape):
        self.steps = _steps(shape)

    def track_nn_rnn_over_head(self, shape):
        # A dense pMNIST step lasts seconds: 3 repeats there.
        repeats = 3 if shape == "pmnist" or QUICK else 5
        return interleaved_ratio(self.steps["nn.RNN"], self.steps["head"], repeats=repeats)


class LayerCallRatio:
    """The pMNIST step through ``out, h_n = model.rnn(x)`` over the head's own step, the same
    weights: 1 means that calling the layer as one calls ``nn.RNN`` costs nothing more."""

    unit = "ratio"
    number = 1
    repeat = 1
    timeout = 300

    def setup(self):
        self.steps = _steps("pmnist")

    def track_layer_call_over_head(self):
        return interleaved_ratio(self.steps["layer call"], self.steps["head"], repeats=5)
