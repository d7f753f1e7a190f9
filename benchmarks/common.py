"""Helpers shared by the benchmark modules.

The suite runs on today's checkout and, through ``python -m benchmarks.history``, on older
commits. A benchmark whose API is missing at a commit must be *skipped*, not fail: asv skips a
benchmark (and records no value) when its ``setup`` raises ``NotImplementedError``, so every
import of hadamrnn goes through :func:`require`.
"""

from __future__ import annotations

import importlib
import os
import statistics
import time
from collections.abc import Callable

#: ``HADAMRNN_ASV_QUICK=1`` shrinks every parameter list to one or two small values and the
#: sequence shapes to their short-T variants: the CI smoke run and older commits in the history.
QUICK = os.environ.get("HADAMRNN_ASV_QUICK", "") not in ("", "0")

#: ``HADAMRNN_ASV_HEADLINE=1`` keeps the headline shapes in a quick run: the full-length
#: dense/native ratios (the pMNIST and copy shapes at their full T), the long-sequence steps
#: (bench_long) and the ratios to torch.nn.RNN (bench_reference). Quick and headline together are
#: the history's parameter set (:data:`HISTORY_SET`); CI's smoke run leaves it unset.
HEADLINE = os.environ.get("HADAMRNN_ASV_HEADLINE", "") not in ("", "0")

#: The one parameter set of every commit in the committed history: python -m benchmarks.history
#: runs each commit with these variables and records them in the result file (its ``env_vars``),
#: so that a point measured with another set shows as a series of its own, never as a step.
HISTORY_SET = {"HADAMRNN_ASV_QUICK": "1", "HADAMRNN_ASV_HEADLINE": "1"}

BACKENDS = ["dense", "reference", "native"]


def pick(full: list, quick: list) -> list:
    """``quick`` under ``HADAMRNN_ASV_QUICK=1``, else ``full``; quick values are a subset of the
    full ones, so quick and full results of different commits share graph points."""
    assert set(quick) <= set(full), (quick, full)
    return quick if QUICK else full


def require(module: str, *names: str):
    """Import ``module`` (and check that it has ``names``), or raise NotImplementedError so that
    asv skips the benchmark at a commit that predates that API."""
    try:
        loaded = importlib.import_module(module)
    except ImportError as error:
        raise NotImplementedError(f"{module} is not available at this commit: {error}") from None
    missing = [name for name in names if not hasattr(loaded, name)]
    if missing:
        raise NotImplementedError(f"{module} has no {', '.join(missing)} at this commit")
    return loaded


def one_thread() -> None:
    """Every figure is measured on one thread: the machine has 2 shared cores, and the native
    kernels' threads over the batch would otherwise measure the scheduler."""
    import torch

    torch.set_num_threads(1)


def require_native():
    """hadamrnn.native with its C extension loaded, or NotImplementedError."""
    native = require("hadamrnn.native", "is_available", "fwht_native", "hadamard_recurrence_native")
    if not native.is_available():
        raise NotImplementedError(f"the C extension is not built: {native.unavailable_reason()}")
    return native


def interleaved_ratio(slow: Callable[[], object], fast: Callable[[], object], repeats: int) -> float:
    """Median over ``repeats`` of (time of ``slow``) / (time of ``fast``), the two run back to
    back in each repeat after one warm-up of each.

    Measured inside one process, with the variants alternating, the ratio survives a busy machine:
    a slow patch of time slows both sides of one repeat, and the median drops the repeats where it
    did not. Wall clock, as in benchmarks/kernels_ratio.py.
    """
    slow()
    fast()
    ratios = []
    for _ in range(repeats):
        start = time.perf_counter()
        slow()
        middle = time.perf_counter()
        fast()
        end = time.perf_counter()
        ratios.append((middle - start) / (end - middle))
    return statistics.median(ratios)
