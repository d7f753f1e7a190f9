"""Quoted runs: a published figure, with its citation, as a row of the results page.

Some baselines are too slow to train to their full budget on the machine at hand. Their published
figure can still stand beside the measured runs, in the same table and figure, provided it is
never taken for a run trained here. ``hadamrnn quote`` (:func:`write_quoted_run`) writes a *quoted
run directory*: a ``metrics.json`` alone, holding

* ``config``: the config of the published model, stored as the trainer stores it, so that
  :func:`hadamrnn.runs.load_run` reads it as it reads an archived run;
* ``quoted``: ``{"citation": ..., "note": ...}``, the mark every reader checks;
* ``test``: ``{"accuracy": ...}``, the published test accuracy;
* ``epochs``: the published training budget;
* ``model_size``: the size table of the config, computed from its dimensions
  (:func:`hadamrnn.models.planned_model_size`), without building the model or reading any data.

No weights, no learning curves, no training time and no commit: the report marks the row
``(quoted: CITATION)``, draws its point hollow, and ``hadamrnn evaluate`` and ``hadamrnn export``
refuse it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checkpoint import CHECKPOINTS_DIR, refuse_checkpoint_area
from .config import RunConfig
from .errors import HadamRNNError
from .models import planned_model_size
from .runs import METRICS_FILE, write_metrics
from .tasks import TASK_NAMES, task_shape

__all__ = ["write_quoted_run", "quoted_metrics", "quoted_mark", "refuse_quoted", "QUOTED_KEY", "UNQUOTABLE_TASKS"]

#: The key of ``metrics.json`` that marks a quoted run.
QUOTED_KEY = "quoted"

#: Tasks a published figure cannot be quoted for, with the reason: the size of ``arrays`` and
#: ``idx_images`` comes from the user's own files, and ``copy`` is reported by its cross-entropy,
#: not by an accuracy.
UNQUOTABLE_TASKS = {
    "arrays": "its input and output sizes come from the user's own files, so no published model has its config",
    "idx_images": "its input and output sizes come from the user's own files, so no published model has its config",
    "copy": "its runs are reported by their test cross-entropy, and a quoted run holds an accuracy",
}


def _check_figures(accuracy: Any, epochs: Any, citation: Any, note: Any) -> tuple[float, int, str, str | None]:
    if isinstance(accuracy, bool) or not isinstance(accuracy, (int, float)) or not 0.0 <= float(accuracy) <= 1.0:
        hint = " (an accuracy in %? give it as a fraction: 98.7 % is 0.987)" if isinstance(accuracy, (int, float)) and 1 < accuracy <= 100 else ""
        raise HadamRNNError(f"accuracy: expected a fraction in [0, 1], got {accuracy!r}{hint}")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise HadamRNNError(f"epochs: expected the published training budget, an integer >= 1, got {epochs!r}")
    if not isinstance(citation, str) or not citation.strip():
        raise HadamRNNError(f"citation: expected the source of the published figure (authors, title, venue, table), got {citation!r}")
    if note is not None and not isinstance(note, str):
        raise HadamRNNError(f"note: expected a string or None, got {type(note).__name__}")
    # Kept as given, so that the page quotes the source word for word.
    return float(accuracy), epochs, citation, note if note and note.strip() else None


def quoted_metrics(config: RunConfig, *, accuracy: float, epochs: int, citation: str, note: str | None = None) -> dict[str, Any]:
    """The ``metrics.json`` of a quoted run of ``config`` (see the module docstring), checked.

    Raises:
        HadamRNNError: an accuracy outside [0, 1], epochs below 1, an empty citation, or a task
            of :data:`UNQUOTABLE_TASKS`.
    """
    accuracy, epochs, citation, note = _check_figures(accuracy, epochs, citation, note)
    task = config.task.name
    if task in UNQUOTABLE_TASKS:
        quotable = sorted(name for name in TASK_NAMES if name not in UNQUOTABLE_TASKS)
        raise HadamRNNError(
            f"task {task!r} cannot be quoted: {UNQUOTABLE_TASKS[task]}; expected one of {', '.join(quotable)}"
        )
    # task_shape knows the sizes of these tasks without their data.
    size = planned_model_size(config.model, task_shape(config.task, config.train.seed))
    return {
        "name": config.name,
        "task": {"task": task},
        "epochs": epochs,
        "test": {"accuracy": accuracy},
        "model_size": size.as_dict(),
        "config": config.model_dump(mode="json"),
        QUOTED_KEY: {"citation": citation, "note": note},
    }


def _quoted_mark_of_file(metrics_path: Path) -> dict[str, Any] | None:
    """The ``quoted`` entry of a metrics.json, or None (no file, not JSON, or a measured run)."""
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    mark = metrics.get(QUOTED_KEY) if isinstance(metrics, dict) else None
    return mark if isinstance(mark, dict) else None


def quoted_mark(path: str | Path) -> dict[str, Any] | None:
    """The ``{"citation", "note"}`` of the quoted run directory ``path``, or None when it is not one."""
    return _quoted_mark_of_file(Path(path) / METRICS_FILE)


def refuse_quoted(path: str | Path, action: str) -> None:
    """Raise when ``path`` is a quoted run: it has no weights to ``action`` (evaluate, export)."""
    mark = quoted_mark(path)
    if mark is not None:
        raise HadamRNNError(
            f"{str(path)!r} is a quoted run (a published figure: {mark.get('citation')}), with no weights to {action}; "
            "expected a run directory trained here, or one of its checkpoints"
        )


def _check_destination(out: Path) -> None:
    refuse_checkpoint_area(out, "--out")
    if out.exists() and not out.is_dir():
        raise HadamRNNError(f"--out {str(out)!r}: expected a directory (new, empty or a quoted run), got a file")
    if not out.is_dir() or not any(out.iterdir()):
        return
    # A quoted run is its metrics.json alone: one that holds checkpoints was trained here.
    if quoted_mark(out) is None or (out / CHECKPOINTS_DIR).exists():
        entries = sorted(entry.name for entry in out.iterdir())
        shown = ", ".join(entries[:5]) + (f" and {len(entries) - 5} more" if len(entries) > 5 else "")
        raise HadamRNNError(
            f"--out {str(out)!r}: expected a new or empty directory, or a quoted run to overwrite, got a folder "
            f"holding {shown} (nothing was written)"
        )


def write_quoted_run(
    out: str | Path, config: RunConfig, *, accuracy: float, epochs: int, citation: str, note: str | None = None
) -> Path:
    """Write the quoted run directory ``out`` for a published figure of ``config``; returns its metrics.json.

    Args:
        out: the run directory: new, empty, or a quoted run (overwritten). The run is named after it.
        config: the config of the published model (its task and model sections give the size).
        accuracy: the published test accuracy, as a fraction in [0, 1].
        epochs: the published training budget.
        citation: where the figure is published (authors, title, venue, table).
        note: anything a reader should know beside it (why it is quoted rather than measured).

    Example:
        >>> import tempfile
        >>> from hadamrnn import parse_config
        >>> from hadamrnn.runs import load_run
        >>> config = parse_config({"name": "pmnist-lstm", "task": {"name": "pmnist"}, "model": {"kind": "lstm", "hidden_size": 128}})
        >>> with tempfile.TemporaryDirectory() as folder:
        ...     _ = write_quoted_run(f"{folder}/lstm", config, accuracy=0.92, epochs=100, citation="A paper, table 2")
        ...     run = load_run(f"{folder}/lstm")
        ...     run.quoted["citation"], run.test_metric, run.size_bits == 32 * (4 * 128 * 128 + 4 * 128 + 8 * 128 + 10 * 128 + 10)
        ('A paper, table 2', ('accuracy', 0.92), True)
    """
    out = Path(out)
    metrics = quoted_metrics(config, accuracy=accuracy, epochs=epochs, citation=citation, note=note)
    _check_destination(out)
    return write_metrics(out / METRICS_FILE, metrics)
