"""Which device a run computes on: ``--device`` of the command line, ``Trainer(device=...)``.

``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when there is a GPU, else the CPU). The
HadamRNN layer then picks its own path for that device (:meth:`hadamrnn.layers.HadamRNN.execution_path`):
the fused C kernels on CPU float32, the pure-torch reference on CUDA.
"""

from __future__ import annotations

import torch

from .errors import HadamRNNError

__all__ = ["DEVICE_CHOICES", "resolve_device"]

#: What ``--device`` accepts besides ``cuda:N``.
DEVICE_CHOICES = ("auto", "cpu", "cuda")


def _cuda_summary() -> str:
    if not torch.cuda.is_available():
        built = "this torch build has no CUDA support" if torch.version.cuda is None else "no CUDA GPU is visible"
        return f"CUDA is not available here ({built})"
    count = torch.cuda.device_count()
    return f"{count} CUDA device(s) are visible: cuda:0..cuda:{count - 1}"


def resolve_device(device: str | torch.device | None = None, local_rank: int | None = None) -> torch.device:
    """The :class:`torch.device` that ``device`` names, checked against this machine.

    Args:
        device: ``None`` or ``"cpu"`` (the CPU), ``"auto"`` (CUDA if available, else the CPU),
            ``"cuda"`` or ``"cuda:N"``, or a :class:`torch.device`.
        local_rank: the process's GPU under ``torchrun``: ``"cuda"`` and ``"auto"`` then mean
            ``cuda:<local_rank>``.

    Raises:
        HadamRNNError: an unknown name, or a CUDA device this machine does not have (the message
            says what is available).
    """
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise HadamRNNError(f"device must be one of {', '.join(DEVICE_CHOICES)} or cuda:N, got {device!r} ({error})") from None
    if chosen.type == "cpu":
        return torch.device("cpu")
    if chosen.type != "cuda":
        raise HadamRNNError(f"device must be one of {', '.join(DEVICE_CHOICES)} or cuda:N, got {str(chosen)!r}")
    if not torch.cuda.is_available():
        raise HadamRNNError(f"device {str(chosen)!r} was requested, but {_cuda_summary()}; use --device cpu or auto")
    index = chosen.index if chosen.index is not None else (local_rank or 0)
    if index >= torch.cuda.device_count():
        raise HadamRNNError(f"device cuda:{index} was requested, but {_cuda_summary()}")
    return torch.device("cuda", index)
