"""The training steps of the heads against ``torch.nn.RNN``, the neutral dense reference.

The reference is ``torch.nn.RNN(nonlinearity="relu")`` with an ``nn.Linear`` read-out, in the same
shape, on the same thread count, with the same loss and Adam: a well-known dense implementation
that anyone can rerun. Every figure is a median of per-repeat ratios, the variants interleaved
repeat by repeat in one process, judged on the wall clock; the ratio of the process's CPU time
(every thread's) is printed beside it, which time slices lost to other processes on a shared
machine do not inflate. Each shape and thread count runs in a process of its own, as a training
run would: the reference's large tensors come from fresh pages or from memory that earlier steps
freed depending on what the process ran before (the copy reference took 290 ms a step after the
pMNIST steps, 480 ms on its own), and a figure should not depend on the order of the others.

    python -m benchmarks.rnn_reference                       # every shape, 1 and 2 threads
    python -m benchmarks.rnn_reference --shapes pmnist --threads 1 --repeats 5

Shapes and what is timed:

pmnist  B = 100, T = 784, n = 512, d = 1, 10 classes, cross-entropy on the last state:
        - ``head``: ``SequenceClassifier`` (4-bit U and V), native backend, default memory;
        - ``layer call``: the same model called as one calls ``nn.RNN``,
          ``out, h_n = model.rnn(x)`` and the classifier on ``h_n``;
        - ``nn.RNN``: the reference.
copy    B = 128, T = 1000, n = 128, one-hot d = 10, 9 classes, cross-entropy at every step:
        - ``head``: ``SequenceTagger`` (4-bit U and V), native backend, the copy task's loss fused
          into the read-out kernel, as the trainer computes it (``head.loss(x, targets,
          task.step_loss)``);
        - ``nn.RNN``: the reference with ``nn.Linear`` on every output and the task's loss
          (``F.cross_entropy`` on the logits).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from collections.abc import Callable

import torch

from hadamrnn import SequenceClassifier, SequenceTagger
from hadamrnn.tasks import CopyTask

SHAPES = ("pmnist", "copy")


class ReferenceClassifier(torch.nn.Module):
    """``nn.RNN`` (ReLU) and ``nn.Linear`` on the last state."""

    def __init__(self, input_size: int, hidden_size: int, classes: int) -> None:
        super().__init__()
        self.rnn = torch.nn.RNN(input_size, hidden_size, nonlinearity="relu", batch_first=True)
        self.readout = torch.nn.Linear(hidden_size, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h_n = self.rnn(x)
        return self.readout(h_n[-1])


class ReferenceTagger(torch.nn.Module):
    """``nn.RNN`` (ReLU) and ``nn.Linear`` on every state."""

    def __init__(self, input_size: int, hidden_size: int, classes: int) -> None:
        super().__init__()
        self.rnn = torch.nn.RNN(input_size, hidden_size, nonlinearity="relu", batch_first=True)
        self.readout = torch.nn.Linear(hidden_size, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs, _ = self.rnn(x)
        return self.readout(outputs)


class LayerCallClassifier(torch.nn.Module):
    """A ``SequenceClassifier``'s parameters used as a user of ``nn.RNN`` would: the layer called
    for ``(out, h_n)``, the read-out on ``h_n``."""

    def __init__(self, head: SequenceClassifier) -> None:
        super().__init__()
        self.head = head

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _, h_n = self.head.rnn(x)
        return self.head.readout(torch.relu(h_n[-1]))


def training_step(model: torch.nn.Module, inputs: torch.Tensor, loss_of: Callable, lr: float = 1e-3) -> Callable[[], None]:
    """One step: forward, loss, backward, Adam."""
    optimizer = torch.optim.Adam(model.parameters(), lr)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        loss_of(model(inputs)).backward()
        optimizer.step()

    return step


def pmnist_steps() -> dict[str, Callable[[], None]]:
    torch.manual_seed(0)
    batch, steps, n = 100, 784, 512
    pixels = torch.rand(batch, steps, 1)
    labels = torch.randint(0, 10, (batch,))

    def loss_of(logits: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(logits, labels)

    head = SequenceClassifier(1, n, 10, input_bits=4, output_bits=4, backend="native")
    layer_call = SequenceClassifier(1, n, 10, input_bits=4, output_bits=4, backend="native")
    layer_call.load_state_dict(head.state_dict())
    return {
        "nn.RNN": training_step(ReferenceClassifier(1, n, 10), pixels, loss_of),
        "head": training_step(head, pixels, loss_of),
        "layer call": training_step(LayerCallClassifier(layer_call), pixels, loss_of),
    }


class FusedLoss(torch.nn.Module):
    """A head called for its training loss, as the trainer calls it: ``head.loss(x, targets, step_loss)``."""

    def __init__(self, head: SequenceTagger, targets: torch.Tensor, step_loss) -> None:
        super().__init__()
        self.head, self.targets, self.step_loss = head, targets, step_loss

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head.loss(x, self.targets, self.step_loss)


def copy_steps() -> dict[str, Callable[[], None]]:
    torch.manual_seed(0)
    task = CopyTask(seq_len=1000)
    batch = task.batch("train", 0, 128)

    def loss_of(outputs: torch.Tensor) -> torch.Tensor:
        return task.loss(outputs, batch.targets)

    head = SequenceTagger(10, 128, 9, input_bits=4, output_bits=4, backend="native")
    return {
        "nn.RNN": training_step(ReferenceTagger(10, 128, 9), batch.inputs, loss_of, lr=1e-4),
        "head": training_step(FusedLoss(head, batch.targets, task.step_loss), batch.inputs, lambda loss: loss, lr=1e-4),
    }


Seconds = dict[str, list[float]]  # variant -> seconds per repeat


def interleaved(steps: dict[str, Callable[[], None]], repeats: int) -> tuple[Seconds, Seconds]:
    """Wall-clock and process CPU seconds of each step, ``repeats`` times, alternating, after one
    warm-up each."""
    for step in steps.values():
        step()
    seconds: Seconds = {name: [] for name in steps}
    cpu: Seconds = {name: [] for name in steps}
    for _ in range(repeats):
        for name, step in steps.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            step()
            seconds[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return seconds, cpu


def ratios(seconds: dict[str, list[float]], slow: str, fast: str) -> list[float]:
    return [s / f for s, f in zip(seconds[slow], seconds[fast])]


def measure(shape: str, threads: int, repeats: int) -> dict[str, float]:
    """Median times (ms) and median ratios of one shape at one thread count."""
    torch.set_num_threads(threads)
    steps = pmnist_steps() if shape == "pmnist" else copy_steps()
    seconds, cpu = interleaved(steps, repeats)
    figures = {f"{name} ms": 1e3 * statistics.median(times) for name, times in seconds.items()}
    figures["nn.RNN / head"] = statistics.median(ratios(seconds, "nn.RNN", "head"))
    figures["(CPU time) nn.RNN / head"] = statistics.median(ratios(cpu, "nn.RNN", "head"))
    if "layer call" in seconds:
        figures["layer call / head"] = statistics.median(ratios(seconds, "layer call", "head"))
        figures["(CPU time) layer call / head"] = statistics.median(ratios(cpu, "layer call", "head"))
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", default=",".join(SHAPES), help=f"comma-separated subset of {SHAPES}")
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--in-process", action="store_true", help="measure here instead of in a process per figure")
    args = parser.parse_args(argv)
    shapes = [shape for shape in args.shapes.split(",") if shape]
    unknown = sorted(set(shapes) - set(SHAPES))
    if unknown:
        parser.error(f"unknown shapes {unknown}; expected a subset of {SHAPES}")
    for shape in shapes:
        for threads in (int(value) for value in args.threads.split(",")):
            if not args.in_process:
                command = [sys.executable, "-m", "benchmarks.rnn_reference", "--in-process", "--shapes", shape,
                           "--threads", str(threads), "--repeats", str(args.repeats)]
                subprocess.run(command, check=True)
                continue
            figures = measure(shape, threads, args.repeats)
            text = ", ".join(f"{key} {value:.1f}" if "ms" in key else f"{key} {value:.2f}x" for key, value in figures.items())
            print(f"{shape}, {threads} thread(s), medians of {args.repeats}: {text}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
