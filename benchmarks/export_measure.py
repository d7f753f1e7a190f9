"""Measurements for the deployment notes: file sizes of the paper's models and C time per step.

    python -m benchmarks.export_measure sizes     # .hrnn sizes of the copy, sMNIST/pMNIST and IMDB models
    python -m benchmarks.export_measure timing    # C runtime vs float PyTorch, batch 1, one process

Sizes need no training (the size depends on the shapes only); the models are untrained. Timing
compiles the generated C with ``-O2`` and the strict flags, and runs it and the float model of the
same shape on the same sequence; both report the best of several repeats, per step.

A script for the figures of ``docs/deployment.md``, not an asv benchmark. asv imports every module
of this folder, at older commits too, so the hadamrnn modules are imported inside the functions.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import torch

__all__ = ["paper_models", "measure_sizes", "measure_timing", "C_FLAGS"]

C_FLAGS = (("-O2",), ("-O3", "-march=native"))
"""Optimisation flags the C is timed with (besides the strict warning flags)."""


def paper_models() -> dict[str, tuple[torch.nn.Module, torch.Tensor]]:
    """Untrained models of the paper's shapes (p = 4) and a calibration batch for each."""
    from hadamrnn.models import SequenceClassifier, SequenceTagger

    torch.manual_seed(0)
    return {
        "copy (n=128, d_in=10, d_out=9)": (SequenceTagger(10, 128, 9), torch.rand(2, 50, 10)),
        "sMNIST / pMNIST (n=512, d_in=1, d_out=10)": (SequenceClassifier(1, 512, 10), torch.rand(2, 50, 1)),
        "IMDB (n=128, embedding 10000 x 512, d_out=1)": (
            SequenceClassifier(None, 128, 1, vocab_size=10000, embedding_dim=512),
            torch.randint(0, 10000, (2, 50)),
        ),
    }


def measure_sizes(hidden_bits: int = 16) -> list[dict]:
    """The ``.hrnn`` file of each of :func:`paper_models`, against its theoretical weight bytes."""
    from hadamrnn.export.model_file import HEADER_SIZE
    from hadamrnn.export.quantize import calibrate, quantize_model

    rows = []
    for name, (model, inputs) in paper_models().items():
        model.eval()
        quantized = quantize_model(model, calibrate(model, [inputs]), hidden_bits=hidden_bits)
        bits = quantized.weight_bits()
        embedding_bits = bits.pop("embedding (b_x vocab d)", 0)
        size = len(quantized.to_bytes())
        recurrent_bytes = sum(bits.values()) / 8
        embedding_bytes = embedding_bits / 8
        rows.append(
            {
                "model": name,
                "file_bytes": size,
                "header_bytes": HEADER_SIZE,
                "theoretical_weight_bytes": recurrent_bytes,
                "embedding_bytes (8-bit codes)": embedding_bytes,
                "ratio (file - header) / theoretical": (size - HEADER_SIZE) / (recurrent_bytes + embedding_bytes),
                "weight_bits": {**bits, **({"embedding (b_x vocab d)": embedding_bits} if embedding_bits else {})},
            }
        )
    return rows


def _best_seconds(function, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


@torch.no_grad()
def measure_timing(steps: int = 1000, repeats: int = 10, hidden_bits: int = 16) -> list[dict]:
    """Per-step time at n = 128 (copy shape) and n = 512 (sMNIST shape), batch 1."""
    from hadamrnn.export.c_runner import CProgram
    from hadamrnn.export.fixed_point import quantize
    from hadamrnn.export.quantize import calibrate, quantize_model
    from hadamrnn.models import SequenceClassifier, SequenceTagger

    torch.set_num_threads(1)
    torch.manual_seed(0)
    # The copy shape reads one-hot symbols, the sMNIST shape one pixel in [0, 1] per step.
    cases = {
        128: (lambda backend: SequenceTagger(10, 128, 9, backend=backend),
              lambda: torch.nn.functional.one_hot(torch.randint(0, 10, (1, steps)), 10).float()),
        512: (lambda backend: SequenceClassifier(1, 512, 10, backend=backend), lambda: torch.rand(1, steps, 1)),
    }
    rows = []
    with tempfile.TemporaryDirectory() as directory:
        for n, (make, make_inputs) in cases.items():
            model = make("auto").eval()
            x = make_inputs()
            quantized = quantize_model(model, calibrate(model, [x]), hidden_bits=hidden_bits)
            codes = quantize(x[0].numpy(), quantized.input_scale, quantized.input_bits)
            c_ns = {
                " ".join(flags): CProgram(quantized, Path(directory) / f"n{n}{index}", flags).time_per_step(codes, max(repeats, 20))
                for index, flags in enumerate(C_FLAGS)
            }
            row: dict = {"n": n, "steps": steps, "c_ns_per_step": c_ns}
            for backend in ("auto", "reference"):
                float_model = make(backend).eval()
                float_model.load_state_dict(model.state_dict())
                float_model(x)  # warm-up (first calls are slow)
                torch_ns = _best_seconds(lambda: float_model(x), repeats) / steps * 1e9
                row[f"torch_{backend}_ns_per_step"] = torch_ns
                row[f"ratio_torch_{backend}_over_c"] = {flags: torch_ns / value for flags, value in c_ns.items()}
            rows.append(row)
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.export_measure", description=__doc__.splitlines()[0])
    parser.add_argument("what", choices=("sizes", "timing"))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--hidden-bits", type=int, default=16)
    args = parser.parse_args(argv)
    if args.what == "sizes":
        result = measure_sizes(args.hidden_bits)
    else:
        result = measure_timing(args.steps, args.repeats, args.hidden_bits)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
