"""From a checkpoint (or a run directory) to a ``.hrnn`` file or a C header: what
``hadamrnn export`` runs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..checkpoint import atomic_write_text
from ..models import load_trained_model
from .c_source import generate_c
from .errors import ExportError
from .model_file import QuantizedModel, write_model
from .quantize import DEFAULT_PERCENTILE, calibrate, quantize_model, task_calibration_inputs
from .simulation import IntegerSimulation

__all__ = ["EXPORT_FORMATS", "ExportResult", "export_checkpoint", "evaluate_split", "export_model"]

EXPORT_FORMATS = ("hrnn", "c")


@dataclass
class ExportResult:
    """What an export wrote, and the numbers that describe it."""

    path: Path
    format: str
    bytes: int
    quantized: QuantizedModel = field(repr=False)
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        q = self.quantized
        weight_bits = q.weight_bits()
        total_bits = sum(weight_bits.values())
        summary: dict[str, Any] = {
            "path": str(self.path),
            "format": self.format,
            "bytes": self.bytes,
            "model": {
                "hidden_size": q.hidden_size,
                "block_size": q.block_size,
                "input_size": q.input_size,
                "output_size": q.output_size,
                "vocab_size": q.vocab_size,
                "recurrence": q.recurrence,
                "input_bits": q.input_bits,
                "hidden_bits": q.hidden_bits,
                "input_weight_bits": q.input_weight_bits,
                "output_weight_bits": q.output_weight_bits,
            },
            "weight_bits": weight_bits,
            "weight_bytes_theoretical": total_bits / 8,
            "scales": {
                "input": q.input_scale,
                "hidden": q.hidden_scale,
                "U": q.input_weight_scale,
                "V": q.output_weight_scale,
                "output": q.output_scale,
                "input_rescale": [q.input_rescale.multiplier, q.input_rescale.shift],
                "recurrent_rescale": [q.recurrent_rescale.multiplier, q.recurrent_rescale.shift],
            },
            "calibration": {
                "method": q.calibration_method,
                "percentile": q.calibration_percentile,
                "sequences": q.calibration_sequences,
            },
        }
        if self.metrics:
            summary["metrics"] = self.metrics
        return summary


@torch.no_grad()
def evaluate_split(predict: Callable[[torch.Tensor], torch.Tensor], task, split: str, batch_size: int) -> dict[str, float]:
    """``task.metrics`` of ``predict`` over a whole split, weighted by batch size (as the trainer)."""
    totals: dict[str, float] = {}
    count = 0
    for batch in task.batches(split, batch_size):
        size = batch.targets.shape[0]
        for key, value in task.metrics(predict(batch.inputs), batch.targets).items():
            totals[key] = totals.get(key, 0.0) + value * size
        count += size
    return {key: value / count for key, value in totals.items()}


def export_model(quantized: QuantizedModel, out: str | Path, fmt: str) -> int:
    """Write ``quantized`` as a ``.hrnn`` file or a C header, atomically; returns the bytes written."""
    if fmt == "hrnn":
        return write_model(quantized, out)
    if fmt == "c":
        source = generate_c(quantized)
        atomic_write_text(out, source)
        return len(source.encode("utf-8"))
    raise ExportError(f"format must be one of {EXPORT_FORMATS}, got {fmt!r}")


def export_checkpoint(
    path: str | Path,
    out: str | Path,
    *,
    fmt: str = "hrnn",
    hidden_bits: int = 16,
    input_bits: int = 8,
    calibration_batches: int = 8,
    method: str = "max",
    percentile: float = DEFAULT_PERCENTILE,
    evaluate: str | None = None,
    data_dir: str | Path | None = None,
) -> ExportResult:
    """Calibrate the model of a checkpoint on its training data, quantize it and write it.

    Args:
        path: a checkpoint directory or a run directory (its latest checkpoint).
        out: the file to write (atomically).
        fmt: ``"hrnn"`` (the packed file) or ``"c"`` (one C99 header).
        hidden_bits, input_bits: ``b_h`` and ``b_x``.
        calibration_batches: training batches (of the run's batch size) to calibrate on.
        method, percentile: the calibration method.
        evaluate: a split (``"val"``, ``"test"``) on which to compare the float model with the
            integer simulation, or None.
        data_dir: where the task's data are (None reads ``$HADAMRNN_DATA``; copy needs none).
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    trained = load_trained_model(path, data_dir)
    model, task, config = trained.model, trained.task, trained.config
    batch_size = config.train.batch_size
    calibration = calibrate(
        model, task_calibration_inputs(task, batch_size, calibration_batches), method=method, percentile=percentile
    )
    quantized = quantize_model(model, calibration, hidden_bits=hidden_bits, input_bits=input_bits)
    written = export_model(quantized, out, fmt)
    metrics: dict[str, dict[str, float]] = {}
    if evaluate is not None:
        eval_batch = config.train.eval_batch_size
        metrics["float"] = evaluate_split(model, task, evaluate, eval_batch)
        metrics["integer"] = evaluate_split(IntegerSimulation(quantized), task, evaluate, eval_batch)
    return ExportResult(Path(out), fmt, written, quantized, metrics)
