"""Run records: what a finished run directory holds, read back for reports and archives.

``hadamrnn train`` ends a run by writing ``metrics.json`` (:func:`write_metrics`), with the commit
of the code that trained (:func:`source_commit`). :func:`load_run` reads a finished run directory
back as a :class:`RunRecord`: its metrics, and the config and learning curves stored in its latest
checkpoint, or, in an archived run (:mod:`hadamrnn.archive`), in ``metrics.json`` and
``history.json``. A quoted run (:mod:`hadamrnn.quoted`: a published figure, not trained here) is
its ``metrics.json`` alone, config included, and has no learning curves.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._io import atomic_write_json
from .checkpoint import load_checkpoint
from .errors import HadamRNNError
from .kinds import BLOCK_LABEL, HADAMRNN, KINDS, MODEL_KINDS, kind_label, recurrent_weight_bits

__all__ = [
    "RunRecord",
    "load_run",
    "sort_runs",
    "write_metrics",
    "source_commit",
    "METRICS_FILE",
    "HISTORY_FILE",
]

#: What ``hadamrnn train`` writes into the run directory when training ends.
METRICS_FILE = "metrics.json"
#: The learning curves of an archived run, next to its metrics.json.
HISTORY_FILE = "history.json"


@dataclass(frozen=True)
class RunRecord:
    """One finished run: its metrics, its config (as a dict) and its history."""

    run_dir: Path
    metrics: dict[str, Any]
    config: dict[str, Any]
    history: dict[str, Any] = field(repr=False)

    @property
    def name(self) -> str:
        return self.run_dir.name

    @property
    def quoted(self) -> dict[str, Any] | None:
        """``{"citation": ..., "note": ...}`` of a quoted run (a published figure, not trained
        here: :mod:`hadamrnn.quoted`); None for a run trained here."""
        mark = self.metrics.get("quoted")
        return mark if isinstance(mark, dict) else None

    @property
    def task(self) -> str:
        return str(self.metrics.get("task", {}).get("task") or self.config["task"]["name"])

    @property
    def model(self) -> dict[str, Any]:
        return self.config["model"]

    @property
    def kind(self) -> str:
        return self.model.get("kind", HADAMRNN)

    @property
    def block_size(self) -> int:
        """``m``; ``n`` for full HadamRNN."""
        return self.model.get("block_size") or self.model["hidden_size"]

    @property
    def kind_label(self) -> str:
        return kind_label(self.kind, self.model["hidden_size"], self.model.get("block_size"))

    @property
    def test_metric(self) -> tuple[str, float]:
        """``("accuracy", a)`` when the task reports an accuracy, else ``("CE", test loss)``."""
        test = self.metrics.get("test", {})
        if "accuracy" in test:
            return "accuracy", float(test["accuracy"])
        return "CE", float(test["loss"])

    @property
    def size_bits(self) -> int:
        return int(self.metrics["model_size"]["total_bits"])

    @property
    def size_kilobytes(self) -> float:
        return self.size_bits / 8 / 1000

    def model_description(self) -> str:
        model = self.model
        parts = [f"{self.kind_label} n={model['hidden_size']}"]
        if self.kind_label == BLOCK_LABEL:
            parts.append(f"m={self.block_size}")
        bits_of_w = recurrent_weight_bits(self.kind, model) if self.kind in KINDS else None
        recurrent = "fp" if bits_of_w is None else str(bits_of_w)
        bits = [recurrent, *("fp" if model.get(key) is None else str(model[key]) for key in ("input_bits", "output_bits"))]
        parts.append("W/U/V bits " + "/".join(bits))
        if self.kind in KINDS and KINDS[self.kind].takes("recurrence") and model.get("recurrence", "linear") != "linear":
            parts.append(model["recurrence"])
        return ", ".join(parts)


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a finished run directory: ``metrics.json`` and the config and history of its latest
    checkpoint (of ``metrics.json`` and ``history.json`` in an archive; of ``metrics.json`` alone,
    with no history, in a quoted run)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HadamRNNError(f"run directory not found: expected a directory, got {str(run_dir)!r}")
    metrics_path = run_dir / METRICS_FILE
    if not metrics_path.is_file():
        raise HadamRNNError(
            f"{str(run_dir)!r} has no metrics.json: expected a finished run directory "
            "(hadamrnn train writes metrics.json when training ends)"
        )
    try:
        metrics = json.loads(metrics_path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as error:
        raise HadamRNNError(f"{metrics_path} is not valid JSON: {error}") from None
    missing = [key for key in ("test", "model_size") if key not in metrics]
    if missing:
        raise HadamRNNError(f"{metrics_path} lacks {', '.join(missing)}: expected the metrics of a finished run")
    if "quoted" in metrics:  # a published figure: metrics.json is the whole run
        if not isinstance(metrics["quoted"], dict) or not isinstance(metrics.get("config"), dict):
            raise HadamRNNError(
                f"{metrics_path} is marked quoted but lacks its config or citation: expected the metrics.json "
                "that hadamrnn quote writes (write it again with hadamrnn quote)"
            )
        return RunRecord(run_dir, metrics, metrics["config"], {})
    history_path = run_dir / HISTORY_FILE
    if "config" in metrics and history_path.is_file():  # an archived run: no checkpoint kept
        try:
            history = json.loads(history_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise HadamRNNError(f"{history_path} is not valid JSON: {error}") from None
        return RunRecord(run_dir, metrics, metrics["config"], history)
    meta = load_checkpoint(run_dir).meta
    return RunRecord(run_dir, metrics, meta["config"], meta.get("history", {}))


def sort_runs(runs: list[RunRecord]) -> list[RunRecord]:
    """``runs`` by task, then model kind (HadamRNN before the baselines), then size, then name."""
    kinds = list(MODEL_KINDS)
    return sorted(runs, key=lambda run: (run.task, kinds.index(run.kind) if run.kind in kinds else len(kinds), run.size_bits, run.name))


def write_metrics(path: str | Path, metrics: dict[str, Any]) -> Path:
    """Write a run's ``metrics.json`` atomically (sorted keys, so that runs diff cleanly)."""
    return atomic_write_json(path, metrics, sort_keys=True)


def source_commit(directory: str | Path | None = None) -> str | None:
    """``git rev-parse --short HEAD`` of the checkout holding ``directory`` (default: this package's
    source, i.e. the code that trains), with ``-dirty`` when tracked files are modified; None
    outside a git checkout or without git.
    """
    directory = Path(directory) if directory is not None else Path(__file__).resolve().parent

    def git(*arguments: str) -> str:
        return subprocess.run(
            ["git", *arguments], cwd=directory, capture_output=True, text=True, check=True, timeout=30
        ).stdout.strip()

    try:
        commit = git("rev-parse", "--short", "HEAD")
        modified = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if modified else commit
