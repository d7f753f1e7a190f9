"""How long the paper's copy run needs on this machine: the native training step in its shape.

The copy configuration of the paper (``configs/copy_paper.toml``: T = 1000, n = 128, B = 128,
one-hot d = 10, 4-bit U and V) trains 10 epochs of 4,000 steps. This times one training step of
``SequenceTagger`` on the native backend as the trainer runs it (the task's cross-entropy fused into
the read-out kernel: ``model.loss(x, targets, task.step_loss)``), alternating 1 and 2 threads, and
projects the 40,000 steps from the median; evaluation is not counted.

    python -m benchmarks.copy_run_time [--repeats 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from hadamrnn import SequenceTagger
from hadamrnn.tasks import CopyTask

PAPER_STEPS = 10 * 512_000 // 128


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per thread count and round")
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

    seconds: dict[int, list[float]] = {1: [], 2: []}
    for _ in range(2):  # two rounds, so that a burst of load does not hit one thread count only
        for threads in seconds:
            torch.set_num_threads(threads)
            step()  # warm-up at this thread count
            for _ in range(args.repeats):
                start = time.perf_counter()
                step()
                seconds[threads].append(time.perf_counter() - start)
    for threads, times in seconds.items():
        median = statistics.median(times)
        print(
            f"{threads} thread(s): {1000 * median:.1f} ms per step (median of {len(times)}, "
            f"range {1000 * min(times):.1f}-{1000 * max(times):.1f}); {PAPER_STEPS} steps in {PAPER_STEPS * median / 60:.1f} min"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
