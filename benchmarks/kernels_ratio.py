"""Speed of the native kernels, as ratios against the dense reference measured in the same process.

The machine is shared and noisy (absolute times swing by up to 2x), so every figure is measured
in one process, on one thread, with the variants interleaved repeat by repeat, and reported as
medians. The dense baseline is HadamRNN(backend="dense"): W materialised, autograd through a
Python loop over time, as in the paper's code.

    python benchmarks/kernels_ratio.py                  # every figure (about 2 minutes)
    python benchmarks/kernels_ratio.py --figures fwht   # one figure: fwht, pmnist, copy, inference

Figures (the targets set for the native kernels):

1. fwht       FWHT of (128, n) float32 rows, n = 512 and 2048: additions per second of this thread's
              CPU time, counted as B·n·log2(n) per call, of the C kernel (called directly) and of
              the public in-place ``fwht_native_`` (its Python checks included), each judged
              against 80 % of this thread's add rate measured in the same process (the extension's
              ``add_probe``: float additions in AVX2 registers and nothing else) and, printed
              beside it, against 28 G/s (80 % of the 35 G/s measured on the project's first
              machine); the public function's cost per call above the kernel's is printed;
2. pmnist     a training step (forward, backward, Adam) of SequenceClassifier in the pMNIST shape
              n = 512, T = 784, B = 100, d_in = 1, linear, p = 4: native vs dense, and the
              gradients of the two compared (relative error in norm, per parameter);
3. copy       a training step of SequenceTagger in the copy-task shape n = 128, T = 1000, B = 128,
              one-hot d_in = 10, cross-entropy at every step: native vs dense;
4. inference  SequenceClassifier on one sequence, B = 1, n = 512, T = 784, no grad: native vs dense.
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time
from collections.abc import Callable

import torch

from hadamrnn import SequenceClassifier, SequenceTagger, native
from hadamrnn.tasks import CopyTask

FIGURES = ("fwht", "pmnist", "copy", "inference")


Times = dict[str, dict[str, list[float]]]  # variant -> clock ("wall" or "cpu") -> seconds per repeat


def interleaved(variants: dict[str, Callable[[], object]], repeats: int, warmup: int = 1) -> Times:
    """Seconds of each variant, wall clock and this thread's CPU time, ``repeats`` times, the
    variants alternating within each repeat."""
    for _ in range(warmup):
        for run in variants.values():
            run()
    times = {name: {"wall": [], "cpu": []} for name in variants}
    for _ in range(repeats):
        for name, run in variants.items():
            start_wall, start_cpu = time.perf_counter(), time.thread_time()
            run()
            times[name]["wall"].append(time.perf_counter() - start_wall)
            times[name]["cpu"].append(time.thread_time() - start_cpu)
    return times


def report_ratio(title: str, times: Times, target: float) -> bool:
    """Judged on the median of the per-repeat wall-clock ratios; the CPU-time ratio (which time
    slices lost to other processes do not inflate) is printed beside it."""
    summary = {}
    for clock in ("wall", "cpu"):
        dense, fast = times["dense"][clock], times["native"][clock]
        ratios = [d / f for d, f in zip(dense, fast)]
        summary[clock] = (statistics.median(dense), statistics.median(fast), statistics.median(ratios), ratios)
    dense, fast, ratio, ratios = summary["wall"]
    verdict = "meets" if ratio >= target else "MISSES"
    print(
        f"{title}: dense {dense * 1e3:.1f} ms, native {fast * 1e3:.1f} ms (wall-clock medians of {len(ratios)}); "
        f"speed-up median {ratio:.1f}x (min {min(ratios):.1f}x, max {max(ratios):.1f}x; "
        f"CPU time {summary['cpu'][2]:.1f}x); target >= {target:g}x: {verdict}"
    )
    return ratio >= target


def relative_error(actual: torch.Tensor, expected: torch.Tensor) -> float:
    """‖actual − expected‖ / ‖expected‖ in float64 (0 when both are zero)."""
    actual, expected = actual.double(), expected.double()
    scale = expected.norm().item()
    difference = (actual - expected).norm().item()
    return difference / scale if scale else difference


# ------------------------------------------------------------------------------------------------
# 1. FWHT throughput
# ------------------------------------------------------------------------------------------------


def cpu_seconds_per_call(run: Callable[[], object], calls: int, repeats: int) -> tuple[list[float], list[float]]:
    """(wall, thread CPU) seconds per call of ``run``, ``repeats`` times after one warm-up."""
    wall, cpu = [], []
    for _ in range(repeats + 1):
        start_wall, start_cpu = time.perf_counter(), time.thread_time()
        for _ in range(calls):
            run()
        wall.append((time.perf_counter() - start_wall) / calls)
        cpu.append((time.thread_time() - start_cpu) / calls)
    return wall[1:], cpu[1:]


def measured_add_rate(repeats: int) -> float:
    """G float additions per second of this thread's CPU time, with nothing else to do (the
    extension's ``add_probe``), median of ``repeats``."""
    rates = []
    for _ in range(repeats + 1):
        start = time.thread_time()
        additions, _ = native._kernels.add_probe(2_000_000)
        rates.append(additions / (time.thread_time() - start) / 1e9)
    return statistics.median(rates[1:])


def figure_fwht(repeats: int) -> bool:
    """Judged on the kernel and on the thread's CPU time, which a busy shared machine does not
    inflate by descheduling this process. Printed beside it: the wall clock, and the public
    ``fwht_native_`` with its Python-side checks (a fixed cost per call, about 2-3 us)."""
    ok = True
    peak = measured_add_rate(repeats)
    target, fixed_target = 0.8 * peak, 28.0
    print(f"add rate of this thread: {peak:.1f} G additions/s per CPU second (median of {repeats}); "
          f"target >= 80 % of it = {target:.1f}")
    batch = 128
    for n in (512, 2048):
        x = torch.randn(batch, n)
        calls = 2000 if n == 512 else 500
        kernel_arguments = dict(
            dtype="float32", src=x.data_ptr(), dst=x.data_ptr(), rows=batch, n=n, block_size=n,
            signs=0, scale=1 / math.sqrt(n), threads=1,
        )  # in place and orthogonal: x stays bounded

        def kernel(arguments=kernel_arguments):
            native._kernels.fwht(**arguments)

        def public(x=x):
            native.fwht_native_(x, scale=1 / math.sqrt(n))

        adds = batch * n * math.log2(n)
        seconds = {}
        with torch.no_grad():
            for name, run in (("kernel", kernel), ("fwht_native_", public)):
                wall, cpu = cpu_seconds_per_call(run, calls, repeats)
                seconds[name] = statistics.median(cpu)
                rate = adds / seconds[name] / 1e9
                print(
                    f"fwht n={n} B={batch} {name}: {seconds[name] * 1e6:.1f} us CPU per call, "
                    f"{rate:.1f} G additions/s per CPU second = {100 * rate / peak:.0f} % of the add rate "
                    f"(median of {repeats}; best {adds / min(cpu) / 1e9:.1f}; wall clock "
                    f"{adds / statistics.median(wall) / 1e9:.1f}); target >= {target:.1f}: "
                    f"{'meets' if rate >= target else 'MISSES'} (>= {fixed_target:g}: "
                    f"{'meets' if rate >= fixed_target else 'MISSES'})"
                )
                ok &= rate >= target
        print(f"fwht n={n}: fwht_native_ costs {(seconds['fwht_native_'] - seconds['kernel']) * 1e6:.1f} us per call "
              "above the kernel (checks, dispatch)")
    return ok


# ------------------------------------------------------------------------------------------------
# 2-4. Model steps, native against dense
# ------------------------------------------------------------------------------------------------


def twin_models(make: Callable[[str], torch.nn.Module]) -> dict[str, torch.nn.Module]:
    """The same model (same weights) on the native and the dense backend."""
    torch.manual_seed(0)
    models = {"native": make("native"), "dense": make("dense")}
    models["dense"].load_state_dict(models["native"].state_dict())
    return models


def training_step(model, optimizer, inputs, loss_of) -> Callable[[], None]:
    def step():
        optimizer.zero_grad(set_to_none=True)
        loss_of(model(inputs)).backward()
        optimizer.step()

    return step


def compare_gradients(models, inputs, loss_of) -> float:
    """The largest relative error (in norm) between the native and the dense gradients."""
    grads = {}
    for name, model in models.items():
        model.zero_grad(set_to_none=True)
        loss_of(model(inputs)).backward()
        grads[name] = {key: p.grad.clone() for key, p in model.named_parameters()}
        model.zero_grad(set_to_none=True)
    errors = {key: relative_error(grads["native"][key], grads["dense"][key]) for key in grads["dense"]}
    for key, error in errors.items():
        print(f"    gradient of {key}: relative error {error:.2e}")
    return max(errors.values())


def figure_pmnist(repeats: int) -> bool:
    n, steps, batch = 512, 784, 100
    models = twin_models(lambda backend: SequenceClassifier(1, n, 10, input_bits=4, output_bits=4, backend=backend))
    pixels = torch.rand(batch, steps, 1)
    labels = torch.randint(0, 10, (batch,))

    def loss_of(outputs):
        return torch.nn.functional.cross_entropy(outputs, labels)

    worst = compare_gradients(models, pixels, loss_of)
    gradients_ok = worst <= 1e-4
    print(f"  pMNIST gradients, native vs dense: worst relative error {worst:.2e}; target <= 1e-4: "
          f"{'meets' if gradients_ok else 'MISSES'}")
    steps_of = {
        name: training_step(model, torch.optim.Adam(model.parameters(), 1e-3), pixels, loss_of)
        for name, model in models.items()
    }
    times = interleaved(steps_of, repeats)
    return report_ratio("pmnist training step (n=512, T=784, B=100)", times, 20.0) and gradients_ok


def copy_shape():
    """The paper's copy configuration: a batch (T = 1000, B = 128, one-hot d = 10), its loss, and a
    ``SequenceTagger`` maker (n = 128, 4-bit U and V) taking the backend."""
    task = CopyTask(seq_len=1000)
    batch = task.batch("train", 0, 128)

    def loss_of(outputs):
        return task.loss(outputs, batch.targets)

    def make(backend: str) -> SequenceTagger:
        return SequenceTagger(10, 128, 9, input_bits=4, output_bits=4, backend=backend)

    return batch, loss_of, make


def figure_copy(repeats: int) -> bool:
    batch, loss_of, make = copy_shape()
    models = twin_models(make)

    steps_of = {
        name: training_step(model, torch.optim.Adam(model.parameters(), 1e-4), batch.inputs, loss_of)
        for name, model in models.items()
    }
    times = interleaved(steps_of, repeats)
    ok = report_ratio("copy training step (n=128, T=1000, B=128)", times, 10.0)

    # Not judged: the recurrence alone, HadamRNN forward and backward from a fixed upstream
    # gradient, to show what the kernels gain; the read-out V·ReLU(h) and the cross-entropy over
    # B·T = 128,000 steps are the same PyTorch code on both backends.
    upstream = torch.randn(128, 1000, 128)

    def recurrence_step(layer):
        def step():
            layer.zero_grad(set_to_none=True)
            outputs, _ = layer(batch.inputs)
            outputs.backward(upstream)

        return step

    recurrence_steps = {name: recurrence_step(model.rnn) for name, model in models.items()}
    report_ratio("  the recurrence alone (HadamRNN forward + backward)", interleaved(recurrence_steps, repeats), 10.0)
    return ok


def figure_inference(repeats: int) -> bool:
    models = twin_models(lambda backend: SequenceClassifier(1, 512, 10, backend=backend))
    pixels = torch.rand(1, 784, 1)

    def infer(model):
        def run():
            with torch.no_grad():
                model(pixels)

        return run

    times = interleaved({name: infer(model) for name, model in models.items()}, repeats)
    return report_ratio("inference (B=1, n=512, T=784)", times, 20.0)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--figures", default=",".join(FIGURES), help=f"comma-separated subset of {FIGURES}")
    parser.add_argument("--repeats", type=int, default=None, help="repeats per figure (default: per figure)")
    args = parser.parse_args(argv)
    figures = [name.strip() for name in args.figures.split(",") if name.strip()]
    unknown = sorted(set(figures) - set(FIGURES))
    if unknown:
        parser.error(f"unknown figures {unknown}; expected a subset of {FIGURES}")
    if not native.is_available():
        print(f"the native kernels are not available: {native.unavailable_reason()}", file=sys.stderr)
        return 2

    torch.set_num_threads(1)
    print(
        f"torch {torch.__version__}, 1 thread, native instruction set: {native.instruction_set()}, "
        f"THP_MEM_ALLOC_ENABLE={os.environ.get('THP_MEM_ALLOC_ENABLE', 'unset')}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    default_repeats = {"fwht": 15, "pmnist": 3, "copy": 5, "inference": 15}
    functions = {"fwht": figure_fwht, "pmnist": figure_pmnist, "copy": figure_copy, "inference": figure_inference}
    results = {name: functions[name](args.repeats or default_repeats[name]) for name in figures}
    print("summary: " + ", ".join(f"{name} {'meets' if ok else 'MISSES'}" for name, ok in results.items()))
    return 0 if all(results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
