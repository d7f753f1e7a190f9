"""The reversible backward of the linear recurrence: drift, gradient error and peak memory.

    python -m benchmarks.reversible_memory drift      # recomputed states against stored ones
    python -m benchmarks.reversible_memory gradients  # gradient error, T = 1e2 ... 1e5
    python -m benchmarks.reversible_memory memory     # peak RSS of training steps, in subprocesses

Every figure is for the linear recurrence, n = 512, d = 1 (pixel-by-pixel inputs), one thread.

* ``drift``: the float32 forward, then the walk backwards ``h_{t-1} = W^{-1}(h_t - U x_t - b)`` in
  float32 from ``h_T`` alone, against the float64 forward's states (a Python loop over the C
  transform, one sequence): the
  worst error ``‖h̃_t - h_t‖`` over ``t`` relative to the largest ``‖h_t‖``, beside the float32
  forward's own error so measured, and relative to each state's own norm.
* ``gradients``: a loss on ``h_T`` (a fixed random projection); every gradient of the native
  float32 backward, stored, checkpointed (k = 256 and 1024) and reversible, against the
  native float64 stored backward; the worst relative error in norm over the parameters.
* ``memory``: the peak resident memory of one training step in a fresh process (``ru_maxrss``),
  less the resident memory before the step: the pMNIST step (SequenceClassifier, B = 100,
  T = 784, n = 512) for each memory mode; then a step at B = 32, T = 100,000, n = 512, whose
  gradients are compared with the float64 stored reference (formed two sequences at a time).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

N = 512


def _weights(n: int, seed: int = 0, dtype=torch.float64):
    generator = torch.Generator().manual_seed(seed)
    signs = (torch.randint(0, 2, (n,), generator=generator) * 2 - 1).to(dtype)
    weight_ih = torch.randn(n, 1, generator=generator, dtype=dtype) * 0.5
    bias = torch.randn(n, generator=generator, dtype=dtype) / n**0.5
    return signs, weight_ih, bias


def drift(lengths=(100, 1000, 10_000, 100_000), batch: int = 1) -> list[dict]:
    from hadamrnn.core import hadamard_scale
    from hadamrnn.native import fwht_native

    def fwht(h, block_size, transpose=False):  # the C transform: the kernels' own rounding
        return fwht_native(h, block_size=block_size, transpose=transpose)

    torch.set_num_threads(1)

    scale = hadamard_scale(N)
    rows = []
    for steps in lengths:
        signs, weight_ih, bias = _weights(N)
        x = torch.rand(batch, steps, 1, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
        exact = []  # float64 forward
        single = []  # float32 forward
        h64 = torch.zeros(batch, N, dtype=torch.float64)
        h32 = h64.float()
        drive64 = torch.nn.functional.linear(x, weight_ih, bias)
        drive32 = torch.nn.functional.linear(x.float(), weight_ih.float(), bias.float())
        s32 = signs.float()
        for t in range(steps):
            h64 = fwht(h64, N) * (signs * scale) + drive64[:, t]
            h32 = fwht(h32, N) * (s32 * scale) + drive32[:, t]
            exact.append(h64)
            single.append(h32)
        # Errors relative to the largest state of the sequence (the scale the gradients see), and,
        # stricter, each state's error relative to its own norm (small states near h_0 = 0).
        largest = max(state.norm().item() for state in exact)
        forward_error = max((single[t].double() - exact[t]).norm().item() for t in range(steps)) / largest
        h = single[-1]
        worst = worst_own = 0.0
        for t in range(steps - 1, 0, -1):
            h = fwht((h - drive32[:, t]) * s32, N, transpose=True) * scale  # 1/u = u for u = ±1
            error = (h.double() - exact[t - 1]).norm().item()
            worst = max(worst, error / largest)
            worst_own = max(worst_own, error / exact[t - 1].norm().item())
        rows.append({
            "T": steps, "recomputed_drift": worst, "float32_forward_error": forward_error,
            "recomputed_drift_own_norm": worst_own,
        })
        print(json.dumps(rows[-1]), flush=True)
    return rows


def _gradients(native, x, h0, params, grad_last, dtype, memory, interval=None):
    signs, weight_ih, bias = (p.detach().to(dtype).requires_grad_() for p in params)
    h0 = h0.to(dtype)
    last = native.hadamard_recurrence_native(
        x.to(dtype), h0, signs, weight_ih, bias, N, "linear", output="last", memory=memory,
        checkpoint_interval=interval,
    )
    return torch.autograd.grad(last, (signs, weight_ih, bias), grad_last.to(dtype))


def _reference_gradients(native, x, params, grad_last, chunk: int = 2):
    """The float64 stored-state gradients, a few sequences at a time (they sum over the batch)."""
    totals = None
    for start in range(0, x.shape[0], chunk):
        part = slice(start, start + chunk)
        h0 = torch.zeros(x[part].shape[0], N, dtype=torch.float64)
        grads = _gradients(native, x[part], h0, params, grad_last[part], torch.float64, "stored")
        totals = grads if totals is None else tuple(a + b for a, b in zip(totals, grads))
    return totals


def _worst(actual, expected) -> float:
    return max(((a.double() - e).norm() / e.norm()).item() for a, e in zip(actual, expected))


def gradients(lengths=(100, 1000, 10_000, 100_000), batch: int = 2) -> list[dict]:
    from hadamrnn import native

    torch.set_num_threads(1)
    rows = []
    for steps in lengths:
        params = _weights(N)
        generator = torch.Generator().manual_seed(2)
        x = torch.rand(batch, steps, 1, generator=generator, dtype=torch.float64)
        grad_last = torch.randn(batch, N, generator=generator, dtype=torch.float64)
        reference = _reference_gradients(native, x, params, grad_last)
        row = {"T": steps}
        h0 = torch.zeros(batch, N)
        for label, memory, interval in (
            ("stored", "stored", None),
            ("checkpointed_k256", "checkpointed", 256),
            ("checkpointed_k1024", "checkpointed", 1024),
            ("reversible", "reversible", None),
        ):
            grads = _gradients(native, x, h0, params, grad_last, torch.float32, memory, interval)
            row[label] = _worst(grads, reference)
        row["reversible_float64"] = _worst(
            _gradients(native, x, h0.double(), params, grad_last, torch.float64, "reversible"), reference
        )
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _peak_child(spec: dict) -> None:
    """Run in a fresh process: one training step; print the peak RSS less the RSS before it."""
    torch.set_num_threads(1)
    torch.manual_seed(0)
    from hadamrnn.models import SequenceClassifier

    model = SequenceClassifier(1, N, 10, input_bits=4, output_bits=4, backend="native")
    model.rnn.memory = spec["memory"]
    generator = torch.Generator().manual_seed(3)
    x = torch.rand(spec["batch"], spec["steps"], 1, generator=generator)
    labels = torch.randint(0, 10, (spec["batch"],), generator=generator)
    before = _rss_bytes()
    start = time.perf_counter()
    loss = torch.nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    result = {**spec, "peak_rss": peak, "step_extra": peak - before, "before": before, "seconds": seconds}
    if spec.get("save"):
        torch.save({name: p.grad for name, p in model.named_parameters()} | {"x": x, "labels": labels}, spec["save"])
    print(json.dumps(result), flush=True)


def _rss_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _child(spec: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.reversible_memory", "_child", json.dumps(spec)],
        capture_output=True, text=True, check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


#: Where ``memory`` keeps the long step's gradients for ``long_step_error`` (the system's temporary folder).
LONG_STEP_FILE = Path(tempfile.gettempdir()) / "hadamrnn_reversible_long_step.pt"


def memory(long_steps: int = 100_000) -> list[dict]:
    rows = []
    for mode in ("stored", "reversible", "checkpointed", "auto"):
        rows.append(_child({"memory": mode, "batch": 100, "steps": 784}))
        print(json.dumps(rows[-1]), flush=True)
    save = str(LONG_STEP_FILE)
    rows.append(_child({"memory": "auto", "batch": 32, "steps": long_steps, "save": save}))
    print(json.dumps(rows[-1]), flush=True)
    rows[-1]["gradient_error"] = _long_step_error(save)
    print(json.dumps({"long step worst gradient error": rows[-1]["gradient_error"]}), flush=True)
    return rows


def _stored_gradients_in_parts(dtype, x, labels) -> dict:
    """The gradients of the long step with every state stored, two sequences at a time (the
    states of all 32 would take 6.6 GB in float32): the same weights (seeded), in ``dtype``."""
    from hadamrnn.models import SequenceClassifier

    torch.manual_seed(0)
    model = SequenceClassifier(1, N, 10, input_bits=4, output_bits=4, backend="native").to(dtype)
    model.rnn.memory = "stored"
    totals = {}
    for start in range(0, x.shape[0], 2):
        model.zero_grad(set_to_none=True)
        part = slice(start, start + 2)
        # cross_entropy averages over the batch: the parts' sums, each weighted by its share.
        loss = torch.nn.functional.cross_entropy(model(x[part].to(dtype)), labels[part], reduction="sum") / x.shape[0]
        loss.backward()
        for name, p in model.named_parameters():
            totals[name] = p.grad.clone() if name not in totals else totals[name] + p.grad
    return totals


def _long_step_error(saved: str) -> float:
    """The long step's gradients against the float64 stored ones, beside the float32 stored ones'."""
    torch.set_num_threads(1)
    data = torch.load(saved, weights_only=True)  # tensors only: never unpickle
    x, labels = data["x"], data["labels"]
    exact = _stored_gradients_in_parts(torch.float64, x, labels)
    single = _stored_gradients_in_parts(torch.float32, x, labels)
    worst = 0.0
    for name, expected in exact.items():
        if not expected.norm():
            continue
        error = ((data[name].double() - expected).norm() / expected.norm()).item()
        stored_error = ((single[name].double() - expected).norm() / expected.norm()).item()
        worst = max(worst, error)
        print(json.dumps({"parameter": name, "relative_error": error, "float32_stored_relative_error": stored_error}))
    return worst


if __name__ == "__main__":
    what = sys.argv[1] if len(sys.argv) > 1 else "all"
    if what == "_child":
        _peak_child(json.loads(sys.argv[2]))
    elif what == "drift":
        drift()
    elif what == "gradients":
        gradients()
    elif what == "memory":
        memory()
    elif what == "long_step_error":  # the comparison alone, on the saved step of `memory`
        _long_step_error(str(LONG_STEP_FILE))
