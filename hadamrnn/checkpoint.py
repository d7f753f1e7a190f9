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

Loading trusts nothing in the directory: ``latest`` must name a ``step_XXXXXXXX`` folder of the
same ``checkpoints/`` (never a path elsewhere), the manifest and the pointer are read with a size
bound, a file that is a symbolic link (or not a regular file) is refused before it is hashed, and
``meta.json`` must be an object with an integer ``step`` and a ``config`` object.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import re
import shutil
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file
from safetensors.torch import save as safetensors_bytes

from ._io import atomic_directory, atomic_write_text, read_bounded, temporary_target
from .errors import CheckpointError, CheckpointNotFoundError, HadamRNNError

__all__ = [
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    "refuse_checkpoint_area",
    "latest_checkpoint",
    "remove_staging_leftovers",
    "enclosing_checkpoint_area",
]

MODEL_FILE = "model.safetensors"
STATE_FILE = "training_state.pt"
META_FILE = "meta.json"
MANIFEST_FILE = "manifest.json"
LATEST_FILE = "latest"
CHECKPOINTS_DIR = "checkpoints"

#: The name of a checkpoint folder: ``step_`` and the zero-padded step (8 digits, more past 10^8).
STEP_NAME = re.compile(r"step_[0-9]{8,}")
#: Bounds on the small JSON and text files, read before anything is verified.
MAX_POINTER_BYTES = 256
MAX_MANIFEST_BYTES = 1 << 16


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


def _pointed_checkpoint(directory: Path) -> Path | None:
    """The checkpoint folder that ``directory/latest`` names, checked to lie in ``directory``."""
    pointer = directory / LATEST_FILE
    if not pointer.is_file():
        return None
    try:
        raw = read_bounded(pointer, MAX_POINTER_BYTES, "checkpoint pointer")
    except ValueError as error:
        raise CheckpointError(f"{error} (the name of one step_XXXXXXXX folder)") from None
    try:
        name = raw.decode("utf-8").strip()
    except UnicodeDecodeError:
        raise CheckpointError(
            f"checkpoint pointer {str(pointer)!r}: expected the UTF-8 name of a step_XXXXXXXX folder, "
            f"got non-UTF-8 bytes {raw[:32]!r}"
        ) from None
    if not STEP_NAME.fullmatch(name):
        raise CheckpointError(
            f"checkpoint pointer {str(pointer)!r}: expected the name of a step_XXXXXXXX folder inside "
            f"{str(directory)!r}, got {name!r} (a pointer never leads outside the run's checkpoints/)"
        )
    candidate = directory / name
    # A step folder that is itself a link elsewhere is refused like a pointer that names elsewhere.
    if candidate.exists() and candidate.resolve().parent != directory.resolve():
        raise CheckpointError(
            f"checkpoint pointer {str(pointer)!r}: expected {name} to be a folder inside {str(directory)!r}, "
            f"got a link to {str(candidate.resolve())!r}"
        )
    return candidate


def latest_checkpoint(directory: str | Path) -> Path:
    """The newest complete checkpoint under ``directory``."""
    directory = Path(directory)
    candidate = _pointed_checkpoint(directory)
    if candidate is not None and (candidate / MANIFEST_FILE).is_file():
        return candidate
    complete = sorted(
        path
        for path in directory.glob("step_*")
        if STEP_NAME.fullmatch(path.name) and not path.is_symlink() and (path / MANIFEST_FILE).is_file()
    )
    if not complete:
        raise CheckpointNotFoundError(
            f"no checkpoint found: expected {directory}/step_*/ with a {MANIFEST_FILE}, "
            f"got {'none in that folder' if directory.is_dir() else 'no such folder'}"
        )
    return complete[-1]


def remove_staging_leftovers(directory: str | Path) -> list[Path]:
    """Clear what a process killed in the middle of :func:`save_checkpoint` left in ``directory``.

    A write goes through temporary siblings (``.step_XXXXXXXX.<hex>.tmp``, ``.latest.<hex>.tmp``;
    see :mod:`hadamrnn._io`): a kill leaves them behind. A complete one (it has its manifest) whose
    checkpoint folder is missing was the checkpoint being swapped in or out, and is renamed back
    into place; every other one is deleted. Call it only while holding the run directory (no
    other process may be writing there). Returns the paths removed or restored.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    handled = []
    for entry in sorted(directory.iterdir()):
        target = temporary_target(entry.name)
        if target is None or not (target == LATEST_FILE or STEP_NAME.fullmatch(target)):
            continue
        final = directory / target
        if entry.is_dir() and not entry.is_symlink():
            if target != LATEST_FILE and not final.exists() and (entry / MANIFEST_FILE).is_file():
                os.replace(entry, final)
            else:
                shutil.rmtree(entry)
        else:
            entry.unlink()
        handled.append(entry)
    return handled


def enclosing_checkpoint_area(path: str | Path) -> Path | None:
    """The checkpoint folder or run ``checkpoints/`` folder that ``path`` lies in (or is), else None.

    A file written there would be taken for part of a checkpoint, or break one's SHA-256; the
    command line refuses to write any output there. ``path`` need not exist.
    """
    resolved = Path(path).expanduser().resolve()
    for folder in (resolved, *resolved.parents):
        if (folder / MANIFEST_FILE).is_file() and (folder / META_FILE).exists():
            return folder
        if folder.name == CHECKPOINTS_DIR and folder.is_dir():
            if (folder / LATEST_FILE).exists() or any(STEP_NAME.fullmatch(child.name) for child in folder.iterdir()):
                return folder
    return None


def refuse_checkpoint_area(path: str | Path, option: str) -> None:
    """Raise when ``path`` lies inside a checkpoint area (:func:`enclosing_checkpoint_area`):
    ``option`` names where the path came from (``--out``)."""
    area = enclosing_checkpoint_area(path)
    if area is not None:
        raise HadamRNNError(
            f"{option} {str(path)!r}: expected a path outside any run's checkpoints, got one inside {str(area)!r} "
            "(anything written there would be taken for part of a checkpoint or break its SHA-256)"
        )


def _regular_file(path: Path, checkpoint: Path) -> os.stat_result:
    """``lstat`` of a checkpoint file that must be a regular file, not a link or a device."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        raise CheckpointError(f"incomplete checkpoint {str(checkpoint)!r}: {path.name} is missing") from None
    if stat.S_ISLNK(info.st_mode):
        raise CheckpointError(
            f"checkpoint {str(checkpoint)!r}: expected {path.name} to be a regular file, got a symbolic link "
            f"to {os.readlink(path)!r} (checkpoint files are never read through links)"
        )
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"checkpoint {str(checkpoint)!r}: expected {path.name} to be a regular file, got another kind of file")
    return info


def _check_meta(meta: Any, path: Path) -> dict[str, Any]:
    """``meta.json`` must hold an object with a ``config`` object and an integer ``step`` >= 0."""
    where = f"checkpoint {str(path)!r}: {META_FILE}"
    if not isinstance(meta, dict):
        raise CheckpointError(f"{where} must hold a JSON object, got a JSON {type(meta).__name__}")
    if not isinstance(meta.get("config"), dict):
        got = "no such key" if "config" not in meta else f"a {type(meta['config']).__name__}"
        raise CheckpointError(f"{where}: expected key 'config' to be an object (the run config), got {got}")
    step = meta.get("step")
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        got = "no such key" if "step" not in meta else repr(step)
        raise CheckpointError(f"{where}: expected key 'step' to be an integer >= 0, got {got}")
    return meta


def load_checkpoint(path: str | Path) -> Checkpoint:
    """Load and verify a checkpoint directory (or a run directory: its latest checkpoint)."""
    path = Path(path)
    if not path.exists():
        raise CheckpointNotFoundError(f"checkpoint not found: {str(path)!r} does not exist")
    if not (path / MANIFEST_FILE).exists():
        checkpoints = path / CHECKPOINTS_DIR
        path = latest_checkpoint(checkpoints if checkpoints.is_dir() else path)
    _regular_file(path / MANIFEST_FILE, path)
    try:
        manifest = json.loads(read_bounded(path / MANIFEST_FILE, MAX_MANIFEST_BYTES, MANIFEST_FILE).decode("utf-8"))
    except (OSError, ValueError) as error:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise CheckpointError(f"corrupted checkpoint {str(path)!r}: unreadable {MANIFEST_FILE} ({error})") from None
    full, weights_only = {MODEL_FILE, STATE_FILE, META_FILE}, {MODEL_FILE, META_FILE}
    if not isinstance(manifest, dict) or set(manifest) not in (full, weights_only) or not all(
        isinstance(digest, str) for digest in manifest.values()
    ):
        raise CheckpointError(
            f"corrupted checkpoint {str(path)!r}: {MANIFEST_FILE} must list {sorted(full)} "
            f"(or {sorted(weights_only)} for weights only), each with its SHA-256 digest, got {manifest!r:.200}"
        )
    # Every file is checked to be a plain file before any is hashed: a link to a huge file or a
    # device is refused at once, not read.
    for name in manifest:
        _regular_file(path / name, path)
    for name, digest in manifest.items():
        actual = _sha256(path / name)
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
    return Checkpoint(path, model_state, training_state, _check_meta(meta, path))
