"""Run reports: the metrics JSON and the learning-curve plot, both written atomically."""

from __future__ import annotations

import io
import json
import subprocess
from pathlib import Path
from typing import Any

from .checkpoint import atomic_write_bytes, atomic_write_text

__all__ = ["write_metrics", "plot_learning_curve", "source_commit"]


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


def write_metrics(path: str | Path, metrics: dict[str, Any]) -> Path:
    path = Path(path)
    atomic_write_text(path, json.dumps(metrics, indent=2, sort_keys=True) + "\n")
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
    loss_axis.set_title(title)
    loss_axis.legend()
    loss_axis.grid(alpha=0.3, which="both")
    flips_axis.plot(steps, history.get("sign_flips", []), lw=0.8, color="tab:red")
    flips_axis.set_ylabel("sign flips / step")
    flips_axis.set_xlabel("optimizer step")
    flips_axis.grid(alpha=0.3)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    plt.close(figure)
    path = Path(path)
    atomic_write_bytes(path, buffer.getvalue())
    return path
