"""The results page: ``hadamrnn report RUNS... --out docs/results.md``.

Each run directory contributes its ``metrics.json`` (written when training ends) and the config and
learning curves stored in its latest checkpoint. The report regenerates the part of the page
between ``<!-- results:begin -->`` and ``<!-- results:end -->`` (appending the markers when the page
has none) and leaves the rest of the page as it is. Next to the page it writes the figures:

* ``size_accuracy_pmnist.png``: model size (kB, log scale) against test accuracy on pMNIST, one
  marker per model kind (the paper's Figure 1);
* ``learning_curves.png``: training and validation loss of every run, one panel per task;
* ``block_size_tradeoff.png``: test metric against the block size ``m``, for runs that differ only
  by ``model.block_size``;
* ``recurrence_comparison.png``: linear against ReLU recurrence, for runs that differ only by
  ``model.recurrence``.

A figure without matching runs is skipped, with a note, rather than drawn empty. Sizes count
1 kB = 1000 bytes.
"""

from __future__ import annotations

import copy
import io
import json
import math
import os
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .checkpoint import MODEL_FILE, atomic_write_bytes, atomic_write_text, load_checkpoint, save_checkpoint
from .errors import CheckpointNotFoundError, HadamRNNError

__all__ = ["RunRecord", "ReportResult", "load_run", "results_table", "write_report", "BEGIN_MARKER", "END_MARKER"]

BEGIN_MARKER = "<!-- results:begin -->"
END_MARKER = "<!-- results:end -->"

KIND_LABELS = {"hadamrnn": "HadamRNN", "ornn": "ORNN", "qornn": "QORNN", "lstm": "LSTM", "gru": "GRU"}
# Config keys that change how fast a run goes or where it reads from, not what it computes: runs
# that differ only there still count as "differing only by" the key a figure compares.
_IRRELEVANT_KEYS = {("name",), ("model", "backend"), ("train", "num_threads"), ("train", "checkpoint_every"), ("train", "keep_checkpoints")}


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
    def task(self) -> str:
        return str(self.metrics.get("task", {}).get("task") or self.config["task"]["name"])

    @property
    def model(self) -> dict[str, Any]:
        return self.config["model"]

    @property
    def kind(self) -> str:
        return self.model.get("kind", "hadamrnn")

    @property
    def block_size(self) -> int:
        """``m``; ``n`` for full HadamRNN."""
        return self.model.get("block_size") or self.model["hidden_size"]

    @property
    def kind_label(self) -> str:
        if self.kind == "hadamrnn" and self.block_size < self.model["hidden_size"]:
            return "Block-HadamRNN"
        return KIND_LABELS.get(self.kind, self.kind)

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
        if self.kind_label == "Block-HadamRNN":
            parts.append(f"m={self.block_size}")
        recurrent = {"hadamrnn": "1", "qornn": str(model.get("recurrent_bits")), "ornn": "fp"}.get(self.kind, "fp")
        bits = [recurrent, *("fp" if model.get(key) is None else str(model[key]) for key in ("input_bits", "output_bits"))]
        parts.append("W/U/V bits " + "/".join(bits))
        if self.kind in ("hadamrnn", "ornn", "qornn") and model.get("recurrence", "linear") != "linear":
            parts.append(model["recurrence"])
        return ", ".join(parts)


@dataclass
class ReportResult:
    page: Path
    figures: list[Path]
    skipped: list[str]


def load_run(run_dir: str | Path) -> RunRecord:
    """Read a finished run directory: ``metrics.json`` and the config and history of its latest checkpoint."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise HadamRNNError(f"run directory not found: expected a directory, got {str(run_dir)!r}")
    metrics_path = run_dir / "metrics.json"
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
    history_path = run_dir / HISTORY_FILE
    if "config" in metrics and history_path.is_file():  # an archived run: no checkpoint kept
        try:
            history = json.loads(history_path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError) as error:
            raise HadamRNNError(f"{history_path} is not valid JSON: {error}") from None
        return RunRecord(run_dir, metrics, metrics["config"], history)
    meta = load_checkpoint(run_dir).meta
    return RunRecord(run_dir, metrics, meta["config"], meta.get("history", {}))


#: The learning curves of an archived run, next to its metrics.json.
HISTORY_FILE = "history.json"
#: Training-loss points kept per archived run (the validation rows are all kept).
ARCHIVED_TRAINING_POINTS = 2000


#: The largest final weights file an archive keeps (a HadamRNN is tens of kB; a float embedding
#: or an orthogonal parametrization's dense matrices are megabytes, and stay out of ``results/``).
ARCHIVED_WEIGHTS_MAX_BYTES = 300_000


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
    atomically. The archive is what ``results/`` holds: tens of kilobytes per run, where a
    checkpoint with an embedding would be tens of megabytes.
    """
    record = load_run(run_dir)
    target = Path(destination) / Path(run_dir).resolve().name
    history = dict(record.history)
    steps = len(history.get("step", []))
    if steps > ARCHIVED_TRAINING_POINTS:
        stride = -(-steps // ARCHIVED_TRAINING_POINTS)
        kept = list(range(steps - 1, -1, -stride))[::-1]  # counted from the end: the last step stays
        for key in ("step", "train_loss", "lr", "sign_flips"):
            if key in history:
                history[key] = [history[key][i] for i in kept]
    atomic_write_text(target / "metrics.json", json.dumps({**record.metrics, "config": record.config}, indent=2, sort_keys=True) + "\n")
    atomic_write_text(target / HISTORY_FILE, json.dumps(history) + "\n")
    curve = Path(run_dir) / "learning_curve.png"
    if curve.is_file():
        atomic_write_bytes(target / "learning_curve.png", curve.read_bytes())
    archive_final_weights(run_dir, target)
    return target


# -- the table -------------------------------------------------------------------------------------
def _duration(seconds: float) -> str:
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes = seconds / 60
    if minutes < 60:
        return f"{minutes:.1f} min"
    return f"{int(minutes // 60)} h {int(round(minutes % 60)):02d} min"


def _metric_text(name: str, value: float) -> str:
    return f"{100 * value:.2f} % accuracy" if name == "accuracy" else f"CE {value:.3g}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _sorted(runs: list[RunRecord]) -> list[RunRecord]:
    kinds = list(KIND_LABELS)
    return sorted(runs, key=lambda run: (run.task, kinds.index(run.kind) if run.kind in kinds else len(kinds), run.size_bits, run.name))


def results_table(runs: list[RunRecord]) -> str:
    """The markdown table, one row per run, sorted by task, model kind and size."""
    lines = [
        "| run | task | model | test | size (bits) | size (kB) | training time | epochs | commit | command |",
        "|---|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for run in _sorted(runs):
        metrics = run.metrics
        command = metrics.get("command")
        resumes = metrics.get("resumes") or []
        commit = metrics.get("commit")
        cells = [
            run.name,
            run.task,
            run.model_description(),
            _metric_text(*run.test_metric),
            str(run.size_bits),
            f"{run.size_kilobytes:.3f}",
            _duration(float(metrics.get("train_seconds", math.nan))),
            str(metrics.get("epochs", "?")),
            (f"`{commit}`" if commit else "—") + "".join(f", then `{r['commit']}`" for r in resumes if r.get("commit") != commit),
            (f"`{command}`" if command else "—") + (f", then resumed {len(resumes)}× with `{resumes[-1]['command']}`" if resumes else ""),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


# -- figures ---------------------------------------------------------------------------------------
def _save_figure(figure, path: Path) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def _new_figure(columns: int = 1, rows: int = 1, width: float = 6.0, height: float = 4.2):
    from matplotlib.figure import Figure  # the Agg canvas, no pyplot state

    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, [axis for row in axes for axis in row]


_MARKERS = {"HadamRNN": "*", "Block-HadamRNN": "P", "ORNN": "o", "QORNN": "s", "LSTM": "^", "GRU": "v"}


def _size_accuracy_figure(runs: list[RunRecord], path: Path) -> Path | None:
    points = [run for run in runs if run.task == "pmnist" and run.test_metric[0] == "accuracy"]
    if not points:
        return None
    figure, (axis,) = _new_figure()
    by_kind: dict[str, list[RunRecord]] = defaultdict(list)
    for run in points:
        by_kind[run.kind_label].append(run)
    for label, group in sorted(by_kind.items()):
        axis.scatter(
            [run.size_kilobytes for run in group],
            [100 * run.test_metric[1] for run in group],
            marker=_MARKERS.get(label, "x"),
            s=90,
            label=label,
        )
    axis.set_xscale("log")
    axis.set_xlabel("model size (kB, log scale)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("pMNIST: size against accuracy")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    return _save_figure(figure, path)


def _learning_curves_figure(runs: list[RunRecord], path: Path) -> Path | None:
    with_history = [run for run in runs if run.history.get("train_loss")]
    if not with_history:
        return None
    tasks = sorted({run.task for run in with_history})
    figure, axes = _new_figure(columns=len(tasks))
    for axis, task in zip(axes, tasks):
        for run in _sorted([run for run in with_history if run.task == task]):
            line = axis.plot(run.history["step"], run.history["train_loss"], lw=0.7, alpha=0.7, label=f"{run.name} (train)")
            validation = run.history.get("validation", [])
            if validation:
                axis.plot(
                    [row["step"] for row in validation],
                    [row["loss"] for row in validation],
                    "o-",
                    ms=3,
                    color=line[0].get_color(),
                    label=f"{run.name} (validation)",
                )
        axis.set_yscale("log")
        axis.set_title(task)
        axis.set_xlabel("optimizer step")
        axis.set_ylabel("loss")
        axis.grid(alpha=0.3, which="both")
        axis.legend(fontsize="x-small")
    return _save_figure(figure, path)


def _comparison_key(run: RunRecord, varied: tuple[str, str]) -> str:
    config = copy.deepcopy(run.config)
    for keys in (*_IRRELEVANT_KEYS, varied, ("task", "data_dir")):
        table = config
        for key in keys[:-1]:
            table = table.get(key, {})
        table.pop(keys[-1], None)
    return json.dumps(config, sort_keys=True)


def _groups_differing_only_by(runs: list[RunRecord], varied: tuple[str, str], value) -> list[list[RunRecord]]:
    """Groups of runs whose configs agree except at ``varied``, with at least two values of it."""
    groups: dict[str, list[RunRecord]] = defaultdict(list)
    for run in runs:
        groups[_comparison_key(run, varied)].append(run)
    return [group for group in groups.values() if len({value(run) for run in group}) >= 2]


def _metric_axis(axis, metric: str) -> None:
    if metric == "accuracy":
        axis.set_ylabel("test accuracy (%)")
    else:
        axis.set_ylabel("test CE (log scale)")
        axis.set_yscale("log")


def _shown(run: RunRecord) -> float:
    name, value = run.test_metric
    return 100 * value if name == "accuracy" else value


def _block_size_figure(runs: list[RunRecord], path: Path) -> Path | None:
    hadamrnn = [run for run in runs if run.kind == "hadamrnn"]
    groups = _groups_differing_only_by(hadamrnn, ("model", "block_size"), lambda run: run.block_size)
    if not groups:
        return None
    tasks = sorted({group[0].task for group in groups})
    figure, axes = _new_figure(columns=len(tasks))
    for axis, task in zip(axes, tasks):
        for group in (group for group in groups if group[0].task == task):
            group = sorted(group, key=lambda run: run.block_size)
            n = group[0].model["hidden_size"]
            axis.plot([run.block_size for run in group], [_shown(run) for run in group], "o-", label=f"n={n}")
        _metric_axis(axis, next(group[0].test_metric[0] for group in groups if group[0].task == task))
        axis.set_xscale("log", base=2)
        axis.set_xlabel("block size m (n = full HadamRNN)")
        axis.set_title(f"{task}: Block-HadamRNN block size")
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    return _save_figure(figure, path)


def _recurrence_figure(runs: list[RunRecord], path: Path) -> Path | None:
    groups = _groups_differing_only_by(runs, ("model", "recurrence"), lambda run: run.model.get("recurrence", "linear"))
    if not groups:
        return None
    tasks = sorted({group[0].task for group in groups})
    figure, axes = _new_figure(columns=len(tasks))
    for axis, task in zip(axes, tasks):
        task_groups = [group for group in groups if group[0].task == task]
        labels = [f"{group[0].kind_label} n={group[0].model['hidden_size']}" for group in task_groups]
        width = 0.38
        for offset, recurrence in ((-width / 2, "linear"), (width / 2, "relu")):
            values = []
            for group in task_groups:
                chosen = [_shown(run) for run in group if run.model.get("recurrence", "linear") == recurrence]
                values.append(chosen[0] if chosen else math.nan)
            axis.bar([index + offset for index in range(len(task_groups))], values, width, label=recurrence)
        axis.set_xticks(range(len(task_groups)), labels)
        _metric_axis(axis, task_groups[0][0].test_metric[0])
        axis.set_title(f"{task}: linear against ReLU recurrence")
        axis.legend()
    return _save_figure(figure, path)


FIGURES = {
    "size_accuracy_pmnist.png": ("Model size against test accuracy on pMNIST", _size_accuracy_figure),
    "learning_curves.png": ("Learning curves of every run", _learning_curves_figure),
    "block_size_tradeoff.png": ("Block-HadamRNN: test metric against block size", _block_size_figure),
    "recurrence_comparison.png": ("Linear against ReLU recurrence", _recurrence_figure),
}


# -- the page --------------------------------------------------------------------------------------
def _replace_section(page: str, section: str, source: str) -> str:
    begin, end = page.find(BEGIN_MARKER), page.find(END_MARKER)
    if begin == -1 and end == -1:
        return page.rstrip("\n") + ("\n\n" if page.strip() else "") + section
    if begin == -1 or end == -1 or end < begin or page.count(BEGIN_MARKER) > 1 or page.count(END_MARKER) > 1:
        raise HadamRNNError(
            f"{source}: expected one {BEGIN_MARKER} followed by one {END_MARKER}, got "
            f"{page.count(BEGIN_MARKER)} begin and {page.count(END_MARKER)} end markers"
            + (" in the wrong order" if 0 <= end < begin else "")
        )
    return page[:begin] + section.rstrip("\n") + page[end + len(END_MARKER) :]


def write_report(run_dirs: list[str | Path], out: str | Path, figures_dir: str | Path | None = None) -> ReportResult:
    """Regenerate the results section of ``out`` from ``run_dirs`` and write the figures.

    ``figures_dir`` defaults to ``_static/results/`` next to ``out``; the page links to the figures
    by relative paths.
    """
    if not run_dirs:
        raise HadamRNNError("no run directories given: expected at least one")
    out = Path(out)
    figures_dir = Path(figures_dir) if figures_dir is not None else out.parent / "_static" / "results"
    runs = [load_run(path) for path in run_dirs]
    page = out.read_text(encoding="utf-8") if out.exists() else ""

    written, skipped, links = [], [], []
    for filename, (caption, draw) in FIGURES.items():
        path = draw(runs, figures_dir / filename)
        if path is None:
            skipped.append(f"{filename} skipped: no runs match ({caption})")
            continue
        written.append(path)
        relative = Path(os.path.relpath(path, out.parent)).as_posix()
        links.append(f"![{caption}]({relative})")
    section = "\n\n".join(
        [
            BEGIN_MARKER,
            "<!-- written by `hadamrnn report`; edits between these markers are overwritten -->",
            f"Runs: {len(runs)}. Sizes count the recurrent model without embeddings (1 kB = 1000 bytes); "
            "the test column is the accuracy where the task has one, the cross-entropy otherwise.",
            results_table(runs).rstrip("\n"),
            *links,
            END_MARKER,
        ]
    ) + "\n"
    atomic_write_text(out, _replace_section(page, section, str(out)))
    return ReportResult(out, written, skipped)
