"""The pMNIST-shaped training step of the head at T = 784, 10,000 and 100,000.

``SequenceClassifier`` (n = 512, d = 1, 4-bit U and V, native backend, the layer's default
memory, one thread), cross-entropy on the last step, Adam: time and peak memory of one step. The
batch shrinks as T grows, so that every step covers about the same number of states (B T):

=========  =====  ========
T          B      B T
=========  =====  ========
784        100    78,400
10,000     8      80,000
100,000    1      100,000
=========  =====  ========

The three lengths are headline shapes: they run in the full set and in the history's set
(``HADAMRNN_ASV_HEADLINE=1``); the CI smoke run (``HADAMRNN_ASV_QUICK=1`` alone) keeps T = 784.
"""

from __future__ import annotations

import torch

from .common import HEADLINE, QUICK, one_thread, require, require_native

#: T -> B.
BATCH_OF_LENGTH = {784: 100, 10_000: 8, 100_000: 1}
LENGTHS = list(BATCH_OF_LENGTH) if HEADLINE or not QUICK else [784]


def _step(steps: int):
    one_thread()
    models = require("hadamrnn.models", "SequenceClassifier")
    require_native()
    torch.manual_seed(0)
    try:
        model = models.SequenceClassifier(1, 512, 10, input_bits=4, output_bits=4, backend="native")
    except (TypeError, ValueError) as error:  # an older signature
        raise NotImplementedError(f"SequenceClassifier(backend='native') cannot be built at this commit: {error}") from None
    inputs = torch.rand(BATCH_OF_LENGTH[steps], steps, 1)
    labels = torch.randint(0, 10, (BATCH_OF_LENGTH[steps],))
    optimizer = torch.optim.Adam(model.parameters(), 1e-3)

    def step():
        optimizer.zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(model(inputs), labels).backward()
        optimizer.step()

    return step


class LongSequenceStep:
    """One training step of the pMNIST head at each length (B as in the module's table)."""

    params = [LENGTHS]
    param_names = ["T"]
    number = 1
    repeat = (1, 3, 20.0)
    rounds = 1
    warmup_time = 0.0
    timeout = 300

    def setup(self, steps):
        self.step = _step(steps)
        self.step()

    def time_step(self, steps):
        self.step()

    def peakmem_step(self, steps):
        self.step()
