"""Integer-only deployment: post-training quantization, the ``.hrnn`` file, and a C99 runtime.

* :mod:`~hadamrnn.export.fixed_point`: the fixed-point convention (rounding, rescale, saturation,
  accumulator bounds), written once and shared by every integer runtime;
* :mod:`~hadamrnn.export.quantize`: calibration of the activation scales and
  :func:`quantize_model`, which builds a :class:`QuantizedModel`;
* :mod:`~hadamrnn.export.model_file`: :class:`QuantizedModel` and the ``.hrnn`` format;
* :mod:`~hadamrnn.export.simulation`: :class:`IntegerSimulation`, the integer model in PyTorch;
* :mod:`~hadamrnn.export.c_source`: :func:`generate_c`, one self-contained C99 header;
* :mod:`~hadamrnn.export.pipeline`: :func:`quantize_and_export`, from a float model to the file
  that ``hadamrnn export`` writes (:func:`hadamrnn.workflows.export_checkpoint` gives it the model of
  a checkpoint);
* :mod:`~hadamrnn.export.onnx_graph`: :func:`export_onnx`, the float model as an ONNX graph.

The numpy runtime is :mod:`hadamrnn.runtime`. Names are imported on first use (PEP 562), so that
the numpy-only modules (``fixed_point``, ``model_file``, ``c_source``, ``errors``) load without torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "errors": ("ExportError", "ModelFileError"),
    "fixed_point": ("Rescale",),
    "model_file": ("QuantizedModel", "read_model", "write_model"),
    "c_source": ("generate_c",),
    "quantize": ("Calibration", "calibrate", "quantize_model", "task_calibration_inputs"),
    "simulation": ("IntegerSimulation", "IntegerRun"),
    "pipeline": ("quantize_and_export", "export_model", "ExportResult", "EXPORT_FORMATS"),
    "onnx_graph": ("export_onnx", "run_onnx", "OnnxExportResult"),
}
_SOURCE, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = sorted(_SOURCE)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .c_source import generate_c
    from .errors import ExportError, ModelFileError
    from .fixed_point import Rescale
    from .model_file import QuantizedModel, read_model, write_model
    from .onnx_graph import OnnxExportResult, export_onnx, run_onnx
    from .pipeline import EXPORT_FORMATS, ExportResult, export_model, quantize_and_export
    from .quantize import Calibration, calibrate, quantize_model, task_calibration_inputs
    from .simulation import IntegerRun, IntegerSimulation
