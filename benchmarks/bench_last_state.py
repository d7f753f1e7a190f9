"""``out, h_n = rnn(x)`` with a loss on ``h_n``, against the many-to-one heads' ``rnn.last_state(x)``.

At the pMNIST shape (B = 100, T = 784, n = 512, d = 1, native backend, one thread): a training
step of the recurrence alone (forward, loss on ``h_T``, backward) through ``HadamRNN.forward``,
which returns ``h_n`` as an output of its own, and through ``HadamRNN.last_state``, which returns
only ``h_T``. Both send the kernel a ``(B, n)`` gradient; ``forward`` also hands the states to the
caller. ``length="short"`` is T = 100 (the quick run).
"""

from __future__ import annotations

import copy

import torch

from .common import QUICK, interleaved_ratio, one_thread, pick, require, require_native

LENGTHS = pick(["full", "short"], ["short"])


def _layer_and_inputs(length: str):
    one_thread()
    layers = require("hadamrnn.layers", "HadamRNN")
    require_native()
    torch.manual_seed(0)
    try:
        rnn = layers.HadamRNN(1, 512, backend="native")
    except Exception as error:  # a layer without the native backend at this commit
        raise NotImplementedError(f"HadamRNN(backend='native') cannot be built at this commit: {error}") from None
    if not hasattr(rnn, "last_state"):
        raise NotImplementedError("HadamRNN.last_state does not exist at this commit")
    inputs = torch.rand(100, 784 if length == "full" else 100, 1)
    return rnn, inputs


def _loss(h_n: torch.Tensor) -> torch.Tensor:
    return h_n.square().mean()


def _step_through_forward(rnn, inputs):
    def step():
        rnn.zero_grad(set_to_none=True)
        _, h_n = rnn(inputs)
        _loss(h_n).backward()

    return step


def _step_through_last_state(rnn, inputs):
    def step():
        rnn.zero_grad(set_to_none=True)
        _loss(rnn.last_state(inputs)).backward()

    return step


class LastStateStep:
    """One backward of a loss on ``h_T``, through ``forward`` or ``last_state``."""

    params = (LENGTHS, ["forward", "last_state"])
    param_names = ["length", "path"]
    number = 1
    repeat = (1, 5, 20.0)
    rounds = 1
    warmup_time = 0.0
    timeout = 300

    def setup(self, length, path):
        rnn, inputs = _layer_and_inputs(length)
        make = _step_through_forward if path == "forward" else _step_through_last_state
        self.step = make(rnn, inputs)
        self.step()

    def time_step(self, length, path):
        self.step()

    def peakmem_step(self, length, path):
        self.step()


class LastStateRatio:
    """The ``forward`` step's time over the ``last_state`` step's, interleaved in one process
    (the same layer): 1 means ``out, h_n = rnn(x)`` costs nothing more than the heads' path."""

    params = [LENGTHS]
    param_names = ["length"]
    unit = "ratio"
    number = 1
    repeat = 1
    timeout = 300

    def setup(self, length):
        self.rnn, self.inputs = _layer_and_inputs(length)

    def track_forward_over_last_state(self, length):
        """Against ``last_state`` with the layer's default memory (checkpointed where the
        recurrence is linear: no ``(B, T, n)`` states at all, which ``forward`` must return)."""
        return interleaved_ratio(
            _step_through_forward(self.rnn, self.inputs),
            _step_through_last_state(self.rnn, self.inputs),
            repeats=3 if QUICK else 7,
        )

    def track_forward_over_stored_last_state(self, length):
        """Against ``last_state`` keeping every state as ``forward`` does (``memory="stored"``):
        the cost of ``h_n`` as an output of ``forward`` alone."""
        stored = copy.deepcopy(self.rnn)
        if hasattr(stored, "memory"):
            stored.memory = "stored"
        return interleaved_ratio(
            _step_through_forward(self.rnn, self.inputs),
            _step_through_last_state(stored, self.inputs),
            repeats=3 if QUICK else 7,
        )


if __name__ == "__main__":  # python -m benchmarks.bench_last_state: the ratio at the full shape
    ratio = LastStateRatio()
    ratio.setup("full")
    print(f"pMNIST shape, forward + h_n loss over last_state (stored states): "
          f"{ratio.track_forward_over_stored_last_state('full'):.3f}")
    print(f"pMNIST shape, forward + h_n loss over last_state (default memory): "
          f"{ratio.track_forward_over_last_state('full'):.3f}")
