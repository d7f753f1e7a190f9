"""The float model as an ONNX graph: ``hadamrnn export RUN --format onnx``.

The graph is the trained head as PyTorch evaluates it: the recurrence through the matrix-free
reference path (``u ⊙ FWHT(h)/√m`` as two small matrix products per step), ``U`` and ``V`` at their
p-bit values, float32 arithmetic. It is not the integer model of the ``.hrnn`` file and the C
header: those quantize the activations too. ONNX has no loop here: the time steps are unrolled,
so the graph takes sequences of the length it was exported with (the batch size is free).

Needs the ``onnx`` extra (``pip install "hadamrnn[onnx]"``: ``onnx``, ``onnxruntime`` to check the
result, ``onnxscript`` for the optional ``torch.export``-based exporter). Everything runs offline.
"""

from __future__ import annotations

import importlib.util
import io
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from .._io import atomic_write_bytes
from .errors import ExportError

__all__ = ["OnnxExportResult", "export_onnx", "run_onnx", "ONNX_INPUT", "ONNX_OUTPUT", "ONNX_OPSET", "ONNX_EXPORTERS"]

#: The names of the graph's input and output.
ONNX_INPUT = "inputs"
ONNX_OUTPUT = "logits"
#: The ONNX opset the graph is written for.
ONNX_OPSET = 18
_EXTRA = 'pip install "hadamrnn[onnx]"'


def _require(module: str, purpose: str) -> None:
    if importlib.util.find_spec(module) is None:
        raise ExportError(f"{purpose} needs the Python package {module!r}, which is not installed: {_EXTRA}")


@dataclass
class OnnxExportResult:
    """What :func:`export_onnx` wrote, and how its outputs compared with PyTorch's."""

    path: Path
    bytes: int
    input_shape: tuple[int, ...]
    input_dtype: str
    output_shape: tuple[int, ...]
    max_abs_difference: float | None
    """Largest ``|onnxruntime - PyTorch|`` over the example's logits; None without onnxruntime."""

    def summary(self) -> dict[str, Any]:
        return {
            "path": str(self.path),
            "format": "onnx",
            "bytes": self.bytes,
            "input": {"name": ONNX_INPUT, "shape": ["batch", *self.input_shape[1:]], "dtype": self.input_dtype},
            "output": {"name": ONNX_OUTPUT, "shape": ["batch", *self.output_shape[1:]]},
            "opset": ONNX_OPSET,
            "onnxruntime_max_abs_difference": self.max_abs_difference,
        }


def run_onnx(path: str | Path, inputs: torch.Tensor | np.ndarray) -> np.ndarray:
    """The logits of an exported graph on ``inputs``, computed by onnxruntime on the CPU."""
    _require("onnxruntime", "running an ONNX graph")
    import onnxruntime

    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    array = inputs.detach().cpu().numpy() if isinstance(inputs, torch.Tensor) else np.asarray(inputs)
    return session.run([ONNX_OUTPUT], {ONNX_INPUT: array})[0]


#: The exporters of ``torch.onnx.export``: ``"torchscript"`` (``dynamo=False``) records the forward
#: with ``torch.jit.trace``; ``"dynamo"`` goes through ``torch.export``. Both give the same graph
#: here, but on the unrolled recurrence ``torch.export`` takes about 12x longer (96 s against 8 s
#: for T = 200 steps at n = 128), so the TorchScript exporter is the default.
ONNX_EXPORTERS = ("torchscript", "dynamo")


@torch.no_grad()
def export_onnx(
    model: nn.Module, example: torch.Tensor, out: str | Path, *, check: bool = True, exporter: str = "torchscript"
) -> OnnxExportResult:
    """Write ``model`` (a trained head, any kind with a traceable cell) as an ONNX graph, atomically.

    Args:
        model: the head; it is exported in eval mode, on the CPU, and put back as it was.
        example: an input batch, ``(B, T, d)`` floats or ``(B, T)`` token ids; ``T`` is fixed in
            the graph, the batch size is not.
        out: the ``.onnx`` file to write.
        check: run the graph on ``example`` with onnxruntime (when installed) and record the
            largest difference with PyTorch's logits.
        exporter: ``"torchscript"`` or ``"dynamo"`` (see :data:`ONNX_EXPORTERS`).
    """
    if exporter not in ONNX_EXPORTERS:
        raise ExportError(f"exporter must be one of {ONNX_EXPORTERS}, got {exporter!r}")
    _require("onnx", "ONNX export")
    if exporter == "dynamo":
        _require("onnxscript", "ONNX export with torch.export (dynamo=True)")
    if example.ndim < 2 or example.shape[0] < 1:
        raise ExportError(
            f"the example batch must be (B, T, d) features or (B, T) token ids with B >= 1, got shape {tuple(example.shape)}"
        )
    was_training = model.training
    device = next(model.parameters()).device
    model.eval().cpu()
    example = example.detach().cpu()
    if example.shape[0] == 1:
        # A batch of one would let the exporter specialise the batch dimension to 1.
        example = example.expand(2, *example.shape[1:]).contiguous()
    try:
        expected = model(example)
        with warnings.catch_warnings():
            # Tracing warns at every Python-level shape check (they are constants of the graph, as
            # they should be), the TorchScript exporter about its deprecation, the dynamo one
            # about optional packages (torchvision): none concerns this graph.
            warnings.simplefilter("ignore")
            if exporter == "dynamo":
                program = torch.onnx.export(
                    model,
                    (example,),
                    dynamo=True,
                    input_names=[ONNX_INPUT],
                    output_names=[ONNX_OUTPUT],
                    dynamic_shapes=({0: torch.export.Dim("batch", min=1)},),
                    opset_version=ONNX_OPSET,
                    verbose=False,
                )
                buffer = io.BytesIO()
                program.save(buffer)
            else:
                buffer = io.BytesIO()
                torch.onnx.export(
                    model,
                    (example,),
                    buffer,
                    dynamo=False,
                    input_names=[ONNX_INPUT],
                    output_names=[ONNX_OUTPUT],
                    dynamic_axes={ONNX_INPUT: {0: "batch"}, ONNX_OUTPUT: {0: "batch"}},
                    opset_version=ONNX_OPSET,
                )
        data = buffer.getvalue()
    except ExportError:
        raise
    except Exception as error:  # the exporters raise many types: say which model failed and why
        raise ExportError(
            f"torch.onnx.export ({exporter}) could not export {type(model).__name__}: {type(error).__name__}: {error}"
        ) from error
    finally:
        model.to(device)
        model.train(was_training)
    atomic_write_bytes(Path(out), data)
    difference = None
    if check and importlib.util.find_spec("onnxruntime") is not None:
        produced = run_onnx(out, example)
        difference = float(np.abs(produced - expected.numpy()).max()) if produced.size else 0.0
    return OnnxExportResult(
        Path(out), len(data), tuple(example.shape), str(example.dtype).removeprefix("torch."), tuple(expected.shape), difference
    )
