"""Archives of finished runs: what ``results/`` keeps of each (``hadamrnn report --archive DIR``).

An archived run directory holds ``metrics.json`` with the run's config added, ``history.json``
(the learning curves, thinned), the learning-curve PNG and, when they are small, the final weights
as a weights-only checkpoint. It is tens of kilobytes, where a checkpoint with an embedding is tens
of megabytes, and :func:`hadamrnn.runs.load_run`, ``hadamrnn evaluate`` and ``hadamrnn export``
read it as they read the run itself. A quoted run (a published figure) is archived as it is: its
``metrics.json`` alone.
"""

from __future__ import annotations

from pathlib import Path

from ._io import atomic_write_bytes, atomic_write_json
from .checkpoint import MODEL_FILE, load_checkpoint, save_checkpoint
from .errors import CheckpointNotFoundError
from .runs import HISTORY_FILE, METRICS_FILE, load_run

__all__ = ["archive_run", "archive_final_weights", "ARCHIVED_TRAINING_POINTS", "ARCHIVED_WEIGHTS_MAX_BYTES"]

#: Training-loss points kept per archived run (the validation rows are all kept).
ARCHIVED_TRAINING_POINTS = 2000

#: The largest final weights file an archive keeps (a HadamRNN is tens of kB; a float embedding
#: or an orthogonal parametrization's dense matrices are megabytes, and stay out of ``results/``).
ARCHIVED_WEIGHTS_MAX_BYTES = 300_000

LEARNING_CURVE_FILE = "learning_curve.png"


def archive_final_weights(run_dir: str | Path, target: str | Path) -> Path | None:
    """Keep the final weights of a finished run as a weights-only checkpoint under ``target``.

    Writes ``target/checkpoints/step_XXXXXXXX/`` (model, config and step; no optimizer state), so
    ``hadamrnn evaluate`` and ``hadamrnn export`` take the archived run directory as they take the
    run itself. Returns its path, or None when the weights exceed :data:`ARCHIVED_WEIGHTS_MAX_BYTES`
    or ``run_dir`` has none (an archive without weights, archived again).
    """
    try:
        checkpoint = load_checkpoint(run_dir)
    except CheckpointNotFoundError:
        return None
    if (checkpoint.path / MODEL_FILE).stat().st_size > ARCHIVED_WEIGHTS_MAX_BYTES:
        return None
    kept = ("config", "epochs_completed", "elapsed_seconds", "provenance")
    meta = {key: checkpoint.meta[key] for key in kept if key in checkpoint.meta}
    return save_checkpoint(Path(target) / "checkpoints", int(checkpoint.meta["step"]), checkpoint.model_state, None, meta, keep=1)


def archive_run(run_dir: str | Path, destination: str | Path) -> Path:
    """Copy what reports a finished run into ``destination/<run name>/``, with its final weights when small.

    Writes ``metrics.json`` with the run's config added, ``history.json`` (every validation row,
    the per-step series thinned to at most :data:`ARCHIVED_TRAINING_POINTS` evenly spaced steps),
    the learning-curve PNG and (by :func:`archive_final_weights`) the final weights, each
    atomically. A quoted run (:mod:`hadamrnn.quoted`) is its ``metrics.json`` alone: no curves,
    no weights. Archiving an archived run into its own folder changes nothing.
    """
    record = load_run(run_dir)
    target = Path(destination) / Path(run_dir).resolve().name
    if record.quoted is not None:  # a published figure: its metrics.json (config included) is the whole run
        atomic_write_json(target / METRICS_FILE, record.metrics, sort_keys=True)
        return target
    history = dict(record.history)
    steps = len(history.get("step", []))
    if steps > ARCHIVED_TRAINING_POINTS:
        stride = -(-steps // ARCHIVED_TRAINING_POINTS)
        kept = list(range(steps - 1, -1, -stride))[::-1]  # counted from the end: the last step stays
        for key in ("step", "train_loss", "lr", "sign_flips"):
            if key in history:
                history[key] = [history[key][i] for i in kept]
    atomic_write_json(target / METRICS_FILE, {**record.metrics, "config": record.config}, sort_keys=True)
    atomic_write_json(target / HISTORY_FILE, history, indent=None)
    curve = Path(run_dir) / LEARNING_CURVE_FILE
    if curve.is_file():
        atomic_write_bytes(target / LEARNING_CURVE_FILE, curve.read_bytes())
    archive_final_weights(run_dir, target)
    return target
