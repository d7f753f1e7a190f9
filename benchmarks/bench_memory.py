"""The pMNIST training step (SequenceClassifier, B = 100, T = 784, n = 512, d = 1, native, one
thread) with each ``HadamRNN(memory=...)``: time and peak memory, and the stored step's time over
the checkpointed one's, interleaved in one process. ``length="short"`` is T = 100 (the quick run).

The peak resident memory of one step in a fresh process, and the gradient error up to
T = 100,000, are measured by ``python -m benchmarks.reversible_memory`` (docs/performance.md).
"""

from __future__ import annotations

import torch

from .common import QUICK, interleaved_ratio, one_thread, pick, require, require_native

LENGTHS = pick(["full", "short"], ["short"])


def _step(length: str, memory: str):
    one_thread()
    models = require("hadamrnn.models", "SequenceClassifier")
    native = require_native()
    if not hasattr(native, "MEMORIES"):
        raise NotImplementedError("HadamRNN has no memory option at this commit")
    torch.manual_seed(0)
    model = models.SequenceClassifier(1, 512, 10, input_bits=4, output_bits=4, backend="native")
    model.rnn.memory = memory
    inputs = torch.rand(100, 784 if length == "full" else 100, 1)
    labels = torch.randint(0, 10, (100,))

    def step():
        model.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(inputs), labels).backward()

    return step


class MemoryStep:
    """Forward and backward of the pMNIST step with each memory mode of the recurrence."""

    params = (LENGTHS, ["stored", "reversible", "checkpointed"])
    param_names = ["length", "memory"]
    number = 1
    repeat = (1, 5, 20.0)
    rounds = 1
    warmup_time = 0.0
    timeout = 300

    def setup(self, length, memory):
        self.step = _step(length, memory)
        self.step()

    def time_step(self, length, memory):
        self.step()

    def peakmem_step(self, length, memory):
        self.step()


class MemoryRatio:
    """The stored step's time over the checkpointed (default) one's, interleaved in one process."""

    params = [LENGTHS]
    param_names = ["length"]
    unit = "ratio"
    number = 1
    repeat = 1
    timeout = 300

    def setup(self, length):
        # Raised here, a missing memory option skips the benchmark; raised in track_, it fails it.
        _step(length, "checkpointed")

    def track_stored_over_checkpointed(self, length):
        return interleaved_ratio(_step(length, "stored"), _step(length, "checkpointed"), repeats=3 if QUICK else 7)


if __name__ == "__main__":  # python -m benchmarks.bench_memory: the ratio at the full shape
    print(f"pMNIST step, stored over checkpointed: {MemoryRatio().track_stored_over_checkpointed('full'):.3f}")
