"""How long the paper's copy run needs on this machine: the native training step in its shape.

The copy configuration of the paper (``configs/copy_paper.toml``: T = 1000, n = 128, B = 128,
one-hot d = 10, 4-bit U and V) trains 10 epochs of 4,000 steps. This times one training step of
``SequenceTagger`` on the native backend, alternating 1 and 2 threads, and projects the 40,000
steps from the median; evaluation is not counted.

    python -m benchmarks.copy_run_time [--repeats 10]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from .kernels_ratio import copy_shape, training_step

PAPER_STEPS = 10 * 512_000 // 128


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed steps per thread count and round")
    args = parser.parse_args(argv)
    batch, loss_of, make = copy_shape()
    torch.manual_seed(0)
    model = make("native")
    step = training_step(model, torch.optim.Adam(model.parameters(), 1e-4), batch.inputs, loss_of)

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
