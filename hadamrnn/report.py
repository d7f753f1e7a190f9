"""The results page: ``hadamrnn report RUNS... --out docs/results.md``.

Each run directory contributes its record (:func:`hadamrnn.runs.load_run`: ``metrics.json``, and
the config and learning curves of its latest checkpoint or of its archive). The report regenerates
the part of the page between ``<!-- results:begin -->`` and ``<!-- results:end -->`` (appending
the markers when the page has none) and leaves the rest of the page as it is: a table with one row
per run, and links to the figures of :mod:`hadamrnn.figures`, written next to the page. A figure
without matching runs is skipped, with a note, rather than drawn empty. Sizes count
1 kB = 1000 bytes.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

from ._io import atomic_write_text
from .errors import HadamRNNError
from .figures import FIGURES
from .runs import RunRecord, load_run, sort_runs

__all__ = ["ReportResult", "results_table", "write_report", "BEGIN_MARKER", "END_MARKER"]

BEGIN_MARKER = "<!-- results:begin -->"
END_MARKER = "<!-- results:end -->"


@dataclass
class ReportResult:
    page: Path
    figures: list[Path]
    skipped: list[str]


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


def _best_text(run: RunRecord) -> str:
    """The test metric of the best validation epoch's weights (``train.keep_best``), when kept."""
    best = run.metrics.get("best")
    if not best:
        return ""
    name = "accuracy" if "accuracy" in best["test"] else "CE"
    value = best["test"]["accuracy" if name == "accuracy" else "loss"]
    shown = f"{100 * value:.2f} %" if name == "accuracy" else f"CE {value:.3g}"
    return f"; best validation epoch {best['epoch']}: {shown}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def results_table(runs: list[RunRecord]) -> str:
    """The markdown table, one row per run, sorted by task, model kind and size."""
    lines = [
        "| run | task | model | test | size (bits) | size (kB) | training time | epochs | commit | command |",
        "|---|---|---|---|---:|---:|---:|---:|---|---|",
    ]
    for run in sort_runs(runs):
        metrics = run.metrics
        command = metrics.get("command")
        resumes = metrics.get("resumes") or []
        commit = metrics.get("commit")
        cells = [
            run.name,
            run.task,
            run.model_description(),
            _metric_text(*run.test_metric) + _best_text(run),
            str(run.size_bits),
            f"{run.size_kilobytes:.3f}",
            _duration(float(metrics.get("train_seconds", math.nan))),
            str(metrics.get("epochs", "?")),
            (f"`{commit}`" if commit else "—") + "".join(f", then `{r['commit']}`" for r in resumes if r.get("commit") != commit),
            (f"`{command}`" if command else "—") + (f", then resumed {len(resumes)}× with `{resumes[-1]['command']}`" if resumes else ""),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


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
