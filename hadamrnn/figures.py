"""The figures: a run's learning curve, and the four figures of the results page.

``hadamrnn train`` draws :func:`plot_learning_curve` into the run directory. ``hadamrnn report``
(:func:`hadamrnn.report.write_report`) draws the :data:`FIGURES` next to the page:

* ``size_accuracy_pmnist.png``: model size (kB, log scale) against test accuracy on pMNIST, one
  marker per model kind (the paper's Figure 1), quoted runs (published figures) hollow;
* ``learning_curves.png``: training and validation loss of every run, one panel per task;
* ``block_size_tradeoff.png``: test metric against the block size ``m``, for runs that differ only
  by ``model.block_size``;
* ``recurrence_comparison.png``: linear against ReLU recurrence, for runs that differ only by
  ``model.recurrence``.

The last three draw runs trained here only: a quoted run has no curves, and the comparisons are
between runs of the same code.

Each figure function returns None, and draws nothing, when no run matches it. Every PNG is written
atomically. Matplotlib is imported on first use.
"""

from __future__ import annotations

import copy
import io
import json
import math
import textwrap
from collections import defaultdict
from pathlib import Path
from typing import Any

from ._io import atomic_write_bytes
from .kinds import HADAMRNN
from .runs import RunRecord, sort_runs

__all__ = ["plot_learning_curve", "wrap_title", "FIGURES"]

# Config keys that change how fast a run goes or where it reads from, not what it computes: runs
# that differ only there still count as "differing only by" the key a figure compares.
_IRRELEVANT_KEYS = {("name",), ("model", "backend"), ("train", "num_threads"), ("train", "checkpoint_every"), ("train", "keep_checkpoints")}


def wrap_title(title: str, width_inches: float, fontsize_points: float = 12.0) -> str:
    """``title`` broken into lines that fit an axis ``width_inches`` wide.

    Matplotlib never wraps a title: a long one (a run's task summary) runs off both edges of the
    figure and is clipped. An average glyph of the default font is about 0.55 em wide.
    """
    characters = max(20, int(width_inches * 72 / (0.55 * fontsize_points)))
    return "\n".join(textwrap.wrap(title, characters, break_long_words=False, break_on_hyphens=False)) or title


def _save_figure(figure, path: Path, dpi: int = 110) -> Path:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi)
    atomic_write_bytes(path, buffer.getvalue())
    return path


def plot_learning_curve(path: str | Path, history: dict[str, Any], title: str, baseline: float | None = None) -> Path:
    """Training loss per step and validation loss per epoch (log scale), with the naive baseline."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    figure, (loss_axis, flips_axis) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, height_ratios=[3, 1])
    steps = history.get("step", [])
    loss_axis.plot(steps, history.get("train_loss", []), lw=0.8, alpha=0.8, label="train loss")
    validation = history.get("validation", [])
    if validation:
        loss_axis.plot(
            [row["step"] for row in validation],
            [row["loss"] for row in validation],
            "o-",
            label="validation loss",
        )
    if baseline is not None:
        loss_axis.axhline(baseline, color="grey", ls="--", label=f"naive baseline {baseline:.4g}")
    loss_axis.set_yscale("log")
    loss_axis.set_ylabel("cross-entropy")
    loss_axis.set_title(wrap_title(title, 6.2))
    loss_axis.legend()
    loss_axis.grid(alpha=0.3, which="both")
    flips_axis.plot(steps, history.get("sign_flips", []), lw=0.8, color="tab:red")
    flips_axis.set_ylabel("sign flips / step")
    flips_axis.set_xlabel("optimizer step")
    flips_axis.grid(alpha=0.3)
    figure.tight_layout()
    try:
        return _save_figure(figure, Path(path), dpi=120)
    finally:
        plt.close(figure)


def _new_figure(columns: int = 1, rows: int = 1, width: float = 6.0, height: float = 4.2):
    from matplotlib.figure import Figure  # the Agg canvas, no pyplot state

    figure = Figure(figsize=(width * columns, height * rows), layout="constrained")
    axes = figure.subplots(rows, columns, squeeze=False)
    return figure, [axis for row in axes for axis in row]


_MARKERS = {"HadamRNN": "*", "Block-HadamRNN": "P", "ORNN": "o", "QORNN": "s", "LSTM": "^", "GRU": "v"}


def _size_accuracy_figure(runs: list[RunRecord], path: Path) -> Path | None:
    """One marker shape and colour per model kind; a quoted run (a published figure) is drawn
    hollow, in its kind's colour, under the label ``<kind> (quoted)``, so that it is never read
    as a measured point."""
    points = [run for run in runs if run.task == "pmnist" and run.test_metric[0] == "accuracy"]
    if not points:
        return None
    figure, (axis,) = _new_figure()
    by_kind: dict[str, dict[bool, list[RunRecord]]] = defaultdict(lambda: defaultdict(list))
    for run in points:
        by_kind[run.kind_label][run.quoted is not None].append(run)
    for index, (label, groups) in enumerate(sorted(by_kind.items())):
        colour = f"C{index % 10}"
        for quoted, group in sorted(groups.items()):
            style = {"facecolors": "none", "edgecolors": colour, "linewidths": 1.5} if quoted else {"color": colour}
            axis.scatter(
                [run.size_kilobytes for run in group],
                [100 * run.test_metric[1] for run in group],
                marker=_MARKERS.get(label, "x"),
                s=90,
                label=f"{label} (quoted)" if quoted else label,
                **style,
            )
    axis.set_xscale("log")
    axis.set_xlabel("model size (kB, log scale)")
    axis.set_ylabel("test accuracy (%)")
    axis.set_title("pMNIST: size against accuracy")
    axis.grid(alpha=0.3, which="both")
    axis.legend()
    return _save_figure(figure, path)


def _learning_curves_figure(runs: list[RunRecord], path: Path) -> Path | None:
    # A quoted run (a published figure) has no history, and is left out like a run without curves.
    with_history = [run for run in runs if run.quoted is None and run.history.get("train_loss")]
    if not with_history:
        return None
    tasks = sorted({run.task for run in with_history})
    figure, axes = _new_figure(columns=len(tasks))
    for axis, task in zip(axes, tasks):
        for run in sort_runs([run for run in with_history if run.task == task]):
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
        axis.set_title(wrap_title(task, 5.4))
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
    hadamrnn = [run for run in runs if run.kind == HADAMRNN and run.quoted is None]
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
        axis.set_title(wrap_title(f"{task}: Block-HadamRNN block size", 5.4))
        axis.grid(alpha=0.3, which="both")
        axis.legend()
    return _save_figure(figure, path)


def _recurrence_figure(runs: list[RunRecord], path: Path) -> Path | None:
    runs = [run for run in runs if run.quoted is None]  # a comparison of runs trained here
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
        axis.set_title(wrap_title(f"{task}: linear against ReLU recurrence", 5.4))
        axis.legend()
    return _save_figure(figure, path)


#: The figures of the results page: file name → (caption, function of the runs and the path that
#: draws it, or returns None when no run matches).
FIGURES = {
    "size_accuracy_pmnist.png": ("Model size against test accuracy on pMNIST", _size_accuracy_figure),
    "learning_curves.png": ("Learning curves of every run", _learning_curves_figure),
    "block_size_tradeoff.png": ("Block-HadamRNN: test metric against block size", _block_size_figure),
    "recurrence_comparison.png": ("Linear against ReLU recurrence", _recurrence_figure),
}
