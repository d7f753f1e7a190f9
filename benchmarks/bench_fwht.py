"""The recurrent product ``W h`` for a batch of states: one step of the recurrence without the drive.

``dense`` multiplies by the materialised ``W`` (``h @ W.T``, n² multiply-adds per row, the paper's
code), ``reference`` applies ``u ⊙ FWHT_m(h)/√m`` with the pure-torch transform of
:mod:`hadamrnn.hadamard`, ``native`` the C kernel through :func:`hadamrnn.native.fwht_native`.
All three use the sign vector and matrix of one ``HadamRNN`` layer, without gradients.
"""

from __future__ import annotations

import math

import torch

from .common import BACKENDS, interleaved_ratio, one_thread, pick, require, require_native


def _step(n: int, batch: int, backend: str, block_size: int | None = None):
    """The function ``h -> W h`` on ``backend`` and a ``(batch, n)`` state to apply it to."""
    one_thread()
    layers = require("hadamrnn.layers", "HadamRNN")
    torch.manual_seed(0)
    m = block_size or n
    layer = layers.HadamRNN(1, n, block_size=None if m == n else m, backend="reference")
    with torch.no_grad():
        signs = layer.signs().detach().contiguous()
        weight = layer.weight_hh.detach().contiguous()
    state = torch.randn(batch, n)
    scale = 1.0 / math.sqrt(m)
    if backend == "dense":
        weight_t = weight.T.contiguous()

        def apply(h=state):
            return h @ weight_t
    elif backend == "reference":
        hadamard = require("hadamrnn.hadamard", "fwht")
        gain = signs * scale

        def apply(h=state):
            return hadamard.fwht(h, m) * gain
    else:
        native = require_native()

        def apply(h=state):
            return native.fwht_native(h, signs=signs, scale=scale, block_size=m)

    return apply


class FWHTStep:
    """``W h`` for a batch: time and peak memory per backend."""

    params = (pick([128, 512, 2048], [512]), pick([1, 32, 128], [32]), pick(BACKENDS, BACKENDS))
    param_names = ["n", "batch", "backend"]

    def setup(self, n, batch, backend):
        self.apply = _step(n, batch, backend)
        self.apply()

    def time_step(self, n, batch, backend):
        self.apply()

    def peakmem_step(self, n, batch, backend):
        for _ in range(10):
            self.apply()


class BlockSizes:
    """Block-HadamRNN: ``W = diag(u)(I ⊗ S_m)/√m`` at n = 512 for block sizes m (m = n is the full
    transform). The dense product costs the same for every m; the transforms cost n·log2(m)."""

    params = (pick([4, 16, 64, 512], [16, 512]), pick(BACKENDS, BACKENDS))
    param_names = ["block_size", "backend"]
    n, batch = 512, 32

    def setup(self, block_size, backend):
        self.apply = _step(self.n, self.batch, backend, block_size)
        self.apply()

    def time_step(self, block_size, backend):
        self.apply()

    def peakmem_step(self, block_size, backend):
        for _ in range(10):
            self.apply()


class FWHTRatio:
    """The dense time over the native time of ``W h``, measured in one process (interleaved)."""

    params = (pick([128, 512, 2048], [512]), pick([1, 32, 128], [32]))
    param_names = ["n", "batch"]
    unit = "ratio"
    number = 1
    repeat = 1

    def setup(self, n, batch):
        self.dense = _step(n, batch, "dense")
        self.native = _step(n, batch, "native")
        # One call lasts microseconds: time loops of calls, long enough (about 2 ms of the native
        # kernel) for the clock and the Python overhead not to dominate.
        calls = max(1, int(2e-3 / max(_seconds(self.native), 1e-7)))
        self.loop = lambda apply: (lambda: [apply() for _ in range(calls)])

    def track_dense_over_native(self, n, batch):
        return interleaved_ratio(self.loop(self.dense), self.loop(self.native), repeats=15)


def _seconds(function) -> float:
    import time

    function()
    start = time.perf_counter()
    for _ in range(10):
        function()
    return (time.perf_counter() - start) / 10
