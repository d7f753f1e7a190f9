"""How long the paper's copy run needs on this machine: the native training step in its shape.

The copy configuration of the paper (``configs/copy_paper.toml``: T = 1000, n = 128, B = 128,
one-hot d = 10, 4-bit U and V) trains 10 epochs of 4,000 steps. This times one training step of
``SequenceTagger`` on the native backend as the trainer runs it (the task's cross-entropy fused into
the read-out kernel: ``model.loss(x, targets, task.step_loss)``), alternating 1 and 2 threads, and
projects the 40,000 steps from the median; evaluation is not counted.

``--formed-again`` also times, interleaved with it in the same process, the step whose backward
forms each step's loss gradient again from the states instead of reading what the forward kept
(``native._keeps_loss_gradients``; docs/performance.md, "The fused loss"), and prints the ratio.

    python -m benchmarks.copy_run_time [--repeats 10] [--formed-again]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hadamrnn import SequenceTagger, native
from hadamrnn.tasks import CopyTask

PAPER_STEPS = 10 * 512_000 // 128


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per thread count and round")
    parser.add_argument(
        "--formed-again", action="store_true", help="also time the backward that forms the loss gradients again"
    )
    args = parser.parse_args(argv)
    task = CopyTask(seq_len=1000)
    batch = task.batch("train", 0, 128)
    torch.manual_seed(0)
    model = SequenceTagger(10, 128, 9, input_bits=4, output_bits=4, backend="native")
    optimizer = torch.optim.Adam(model.parameters(), 1e-4)

    def step() -> None:  # the trainer's step: the fused loss, backward, Adam
        optimizer.zero_grad(set_to_none=True)
        model.loss(batch.inputs, batch.targets, task.step_loss).backward()
        optimizer.step()

    keeps = native._keeps_loss_gradients
    ways = {"kept": keeps, "formed again": lambda *arguments: False}
    if not args.formed_again:
        del ways["formed again"]
    seconds = {(threads, way): [] for threads in (1, 2) for way in ways}
    try:
        for _ in range(2):  # two rounds, so that a burst of load does not hit one thread count only
            for threads in (1, 2):
                torch.set_num_threads(threads)
                for way, rule in ways.items():
                    native._keeps_loss_gradients = rule
                    step()  # warm-up at this thread count
                for _ in range(args.repeats):
                    for way, rule in ways.items():  # interleaved step by step
                        native._keeps_loss_gradients = rule
                        start = time.perf_counter()
                        step()
                        seconds[threads, way].append(time.perf_counter() - start)
    finally:
        native._keeps_loss_gradients = keeps
    for (threads, way), times in seconds.items():
        median = statistics.median(times)
        label = f" ({way})" if args.formed_again else ""
        print(
            f"{threads} thread(s){label}: {1000 * median:.1f} ms per step (median of {len(times)}, "
            f"range {1000 * min(times):.1f}-{1000 * max(times):.1f}); {PAPER_STEPS} steps in {PAPER_STEPS * median / 60:.1f} min"
        )
    if args.formed_again:
        for threads in (1, 2):
            ratio = statistics.median(seconds[threads, "formed again"]) / statistics.median(seconds[threads, "kept"])
            print(f"{threads} thread(s): formed again / kept {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
