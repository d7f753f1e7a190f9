"""Atomic, verifiable checkpoints that never unpickle.

A checkpoint is a directory ``step_XXXXXXXX/`` holding

* ``model.safetensors``: the model's weights;
* ``training_state.pt``: optimizer, scheduler and RNG state, loadable with
  ``torch.load(weights_only=True)``;
* ``meta.json``: the run config, the step and the metric history;
* ``manifest.json``: the SHA-256 of each of the three files.

A *weights-only* checkpoint (``training_state=None``: the final model that ``results/`` keeps)
has no ``training_state.pt`` and its manifest lists the other two; it evaluates and exports, but
cannot resume training.

It is written into a temporary sibling directory and renamed into place, so a kill at any moment
leaves either the previous checkpoints or the complete new one. ``latest`` names the newest one and
is itself replaced atomically. Loading checks the manifest before parsing anything.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from ._io import atomic_directory, atomic_write_text
from .errors import CheckpointError, CheckpointNotFoundError

__all__ = ["Checkpoint", "save_checkpoint", "load_checkpoint", "latest_checkpoint"]

MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.pt"
META_FILE = "meta.json"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "latest"


@dataclass
class Checkpoint:
    path: Path
    model_state: dict[str, torch.Tensor]
    training_state: dict[str, Any] | None  # None in a weights-only checkpoint
    meta: dict[str, Any]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_checkpoint(
    directory: str | Path,
    step: int,
    model_state: dict[str, torch.Tensor],
    training_state: dict[str, Any] | None,
    meta: dict[str, Any],
    keep: int = 2,
) -> Path:
    """Write checkpoint ``step`` under ``directory`` atomically; keep the newest ``keep`` of them.

    ``training_state=None`` writes a weights-only checkpoint.
    """
    directory = Path(directory)
    final = directory / f"step_{step:08d}"
    # A re-run of the same step after a resume replaces that checkpoint as a whole.
    with atomic_directory(final) as staging:
        tensors = {key: value.detach().contiguous().cpu() for key, value in model_state.items()}
        # Through bytes: safetensors' save_file creates its file with mode 0o600, whatever the umask.
        (staging / MODEL_FILE).write_bytes(safetensors_bytes(tensors))
        files = [MODEL_FILE, META_FILE]
        if training_state is not None:
            torch.save(training_state, staging / STATE_FILE)
            files.insert(1, STATE_FILE)
        (staging / META_FILE).write_text(json.dumps({**meta, "step": step}, indent=2), encoding="utf-8")
        manifest = {name: _sha256(staging / name) for name in files}
        (staging / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    atomic_write_text(directory / LATEST_FILE, final.name + "\n")
    for old in sorted(directory.glob("step_*"))[:-keep]:
        if old != final:
            shutil.rmtree(old, ignore_errors=True)
    return final


def latest_checkpoint(directory: str | Path) -> Path:
    """The newest complete checkpoint under ``directory``."""
    directory = Path(directory)
    pointer = directory / LATEST_FILE
    if pointer.is_file():
        candidate = directory / pointer.read_text(encoding="utf-8").strip()
        if (candidate / MANIFEST_FILE).is_file():
            return candidate
    complete = sorted(path for path in directory.glob("step_*") if (path / MANIFEST_FILE).is_file())
    if not complete:
        raise CheckpointNotFoundError(
            f"no checkpoint found: expected {directory}/step_*/ with a {MANIFEST_FILE}, "
            f"got {'an empty directory' if directory.is_dir() else 'no such directory'}"
        )
    return complete[-1]


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and verify a checkpoint directory (or a run directory: its latest checkpoint)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointNotFoundError(f"checkpoint not found: {str(path)!r} does not exist")
    if not (path / MANIFEST_FILE).exists():
        checkpoints = path / "checkpoints"
        path = latest_checkpoint(checkpoints if checkpoints.is_dir() else path)
    try:
        manifest = json.loads((path / MANIFEST_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise CheckpointError(f"corrupted checkpoint {str(path)!r}: unreadable {MANIFEST_FILE} ({error})") from None
    full, weights_only = {MODEL_FILE, STATE_FILE, META_FILE}, {MODEL_FILE, META_FILE}
    if not isinstance(manifest, dict) or set(manifest) not in (full, weights_only):
        raise CheckpointError(
            f"corrupted checkpoint {str(path)!r}: {MANIFEST_FILE} must list {sorted(full)} "
            f"(or {sorted(weights_only)} for weights only), got {manifest!r}"
        )
    for name, digest in manifest.items():
        file = path / name
        if not file.is_file():
            raise CheckpointError(f"incomplete checkpoint {str(path)!r}: {name} is missing")
        actual = _sha256(file)
        if actual != digest:
            raise CheckpointError(
                f"corrupted checkpoint {str(path)!r}: {name} has SHA-256 {actual[:12]}…, "
                f"the manifest expects {digest[:12]}… (truncated or modified file)"
            )
    try:
        model_state = load_file(str(path / MODEL_FILE))
        training_state = (
            torch.load(path / STATE_FILE, weights_only=True, map_location="cpu") if STATE_FILE in manifest else None
        )
        meta = json.loads((path / META_FILE).read_text(encoding="utf-8"))
    except (SafetensorError, pickle.UnpicklingError, RuntimeError, OSError, ValueError, EOFError) as error:
        raise CheckpointError(f"corrupted checkpoint {str(path)!r}: {error}") from None
    return Checkpoint(path, model_state, training_state, meta)
