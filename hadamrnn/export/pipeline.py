"""From a float model to a ``.hrnn`` file or a C header: calibrate, quantize, write, and compare.

The model, its calibration inputs and the evaluation of a split come from the caller
(:func:`hadamrnn.workflows.export_checkpoint` rebuilds them from a checkpoint for ``hadamrnn
export``), so this package knows neither checkpoints nor configs nor the trainer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .._io import atomic_write_text
from .c_source import generate_c
from .errors import ExportError
from .model_file import QuantizedModel, write_model
from .quantize import DEFAULT_PERCENTILE, calibrate, quantize_model
from .simulation import IntegerSimulation

__all__ = ["EXPORT_FORMATS", "ExportResult", "quantize_and_export", "export_model"]

#: What ``quantize_and_export`` is given to compare the float and integer models on a split: a
#: function of ``predict`` (a function of a batch's inputs with its outputs) returning the task's
#: metrics of ``predict`` over that split.
Evaluation = Callable[[Callable[[torch.Tensor], torch.Tensor]], dict[str, float]]

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


def export_model(quantized: QuantizedModel, out: str | Path, fmt: str) -> int:
    """Write ``quantized`` as a ``.hrnn`` file or a C header, atomically; returns the bytes written."""
    if fmt == "hrnn":
        return write_model(quantized, out)
    if fmt == "c":
        source = generate_c(quantized)
        atomic_write_text(out, source)
        return len(source.encode("utf-8"))
    raise ExportError(f"format must be one of {EXPORT_FORMATS}, got {fmt!r}")


def quantize_and_export(
    model: nn.Module,
    calibration_inputs: Iterable[torch.Tensor],
    out: str | Path,
    *,
    fmt: str = "hrnn",
    hidden_bits: int = 16,
    input_bits: int = 8,
    method: str = "max",
    percentile: float = DEFAULT_PERCENTILE,
    evaluate: Evaluation | None = None,
) -> ExportResult:
    """Calibrate ``model`` on ``calibration_inputs``, quantize it and write it.

    Args:
        model: a trained HadamRNN head, in eval mode.
        calibration_inputs: input batches to measure the activation ranges on (for instance
            :func:`~hadamrnn.export.quantize.task_calibration_inputs`).
        out: the file to write (atomically).
        fmt: ``"hrnn"`` (the packed file) or ``"c"`` (one C99 header).
        hidden_bits, input_bits: ``b_h`` and ``b_x``.
        method, percentile: the calibration method.
        evaluate: the metrics of a predictor over one split, or None; given, the result holds the
            metrics of the float model (``"float"``) and of its integer simulation (``"integer"``).
    """
    if fmt not in EXPORT_FORMATS:
        raise ExportError(f"format must be one of {EXPORT_FORMATS}, got {fmt!r}")
    calibration = calibrate(model, calibration_inputs, method=method, percentile=percentile)
    quantized = quantize_model(model, calibration, hidden_bits=hidden_bits, input_bits=input_bits)
    written = export_model(quantized, out, fmt)
    metrics: dict[str, dict[str, float]] = {}
    if evaluate is not None:
        metrics["float"] = evaluate(model)
        metrics["integer"] = evaluate(IntegerSimulation(quantized))
    return ExportResult(Path(out), fmt, written, quantized, metrics)
