"""The results page: ``hadamrnn report RUNS... --archive results --out docs/results.md``.

Each run directory contributes its record (:func:`hadamrnn.runs.load_run`: ``metrics.json``, and
the config and learning curves of its latest checkpoint or of its archive). The report regenerates
the part of the page between ``<!-- results:begin -->`` and ``<!-- results:end -->`` (appending
the markers when the page has none) and leaves the rest of the page as it is: a condensed table
with one row per run (run, task, model, test metric, size, epochs), and links to the figures of
:mod:`hadamrnn.figures`, written next to the page. The full table (bits, training time, commit,
command) goes to a second page beside it, ``<page>_details.md``. A figure without matching runs
is skipped, with a note, rather than drawn empty. Sizes count 1 kB = 1000 bytes.

**Quoted runs** (:mod:`hadamrnn.quoted`: a published figure, not trained here) have rows like the
others, marked in the test cell ``(quoted: CITATION)``; their training time and commit are "—",
their command cell names the citation, their epochs are the published budget, and the size
figure draws them hollow.

**Merging.** A report adds runs to a page; it does not forget the rows already there. The rows of
the existing table are kept: each is read again from where the previous report found it (the
section records its sources) or, by its run name, from the ``search_dirs`` (the archive), and a
given run replaces the row of the same name. A row that cannot be found any more is an error
that names it, unless ``replace=True``, which writes exactly the given runs.
"""

from __future__ import annotations

import json
import math
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._io import atomic_write_text
from .errors import HadamRNNError
from .figures import FIGURES
from .runs import RunRecord, load_run, sort_runs

__all__ = [
    "ReportResult",
    "results_table",
    "summary_table",
    "details_tables",
    "write_report",
    "details_page_path",
    "previous_run_names",
    "check_mergeable",
    "BEGIN_MARKER",
    "END_MARKER",
]

BEGIN_MARKER = "<!-- results:begin -->"
END_MARKER = "<!-- results:end -->"
#: The comment of the section that records where each row's run was read from (JSON, paths
#: relative to the page's folder), so that the next report can read them again.
SOURCES_PREFIX = "<!-- results:sources "
_SOURCES = re.compile(r"<!-- results:sources (\[.*?\]) -->", re.DOTALL)


@dataclass
class ReportResult:
    page: Path
    figures: list[Path]
    skipped: list[str]
    details: Path | None = None
    runs: list[str] = field(default_factory=list)
    """The run names of the table, in its order."""
    kept: list[str] = field(default_factory=list)
    """Rows of the previous table that were kept, read again from their sources."""
    dropped: list[str] = field(default_factory=list)
    """Rows of the previous table that ``replace=True`` left out."""


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


def _test_text(run: RunRecord) -> str:
    """The test cell: the measured metric (and the best epoch's), or the published one with its citation."""
    text = _metric_text(*run.test_metric)
    if run.quoted is not None:
        return f"{text} (quoted: {run.quoted.get('citation')})"
    return text + _best_text(run)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def summary_table(runs: list[RunRecord]) -> str:
    """The condensed markdown table of the results page: one row per run, six columns."""
    lines = ["| run | task | model | test | size (kB) | epochs |", "|---|---|---|---|---:|---:|"]
    for run in sort_runs(runs):
        cells = [
            run.name,
            run.task,
            run.model_description(),
            _test_text(run),
            f"{run.size_kilobytes:.3f}",
            str(run.metrics.get("epochs", "?")),
        ]
        lines.append("| " + " | ".join(_cell(cell) for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def _detail_cells(run: RunRecord) -> list[str]:
    metrics = run.metrics
    described = [run.name, run.task, run.model_description(), _test_text(run), str(run.size_bits), f"{run.size_kilobytes:.3f}"]
    epochs = str(metrics.get("epochs", "?"))
    if run.quoted is not None:  # a published figure: nothing was timed or run here
        note = run.quoted.get("note")
        return [*described, "—", epochs, "—", f"quoted from {run.quoted.get('citation')}" + (f" ({note})" if note else "")]
    command = metrics.get("command")
    resumes = metrics.get("resumes") or []
    commit = metrics.get("commit")
    return [
        *described,
        _duration(float(metrics.get("train_seconds", math.nan))),
        epochs,
        (f"`{commit}`" if commit else "—") + "".join(f", then `{r['commit']}`" for r in resumes if r.get("commit") != commit),
        (f"`{command}`" if command else "—") + (f", then resumed {len(resumes)}× with `{resumes[-1]['command']}`" if resumes else ""),
    ]


def _table(header: str, alignment: str, rows: list[list[str]]) -> str:
    return "\n".join([header, alignment, *("| " + " | ".join(_cell(cell) for cell in cells) + " |" for cells in rows)]) + "\n"


def results_table(runs: list[RunRecord]) -> str:
    """The full markdown table, one row per run, sorted by task, model kind and size: run, task,
    model, test, size in bits and kB, training time, epochs, commit and command."""
    return _table(
        "| run | task | model | test | size (bits) | size (kB) | training time | epochs | commit | command |",
        "|---|---|---|---|---:|---:|---:|---:|---|---|",
        [_detail_cells(run) for run in sort_runs(runs)],
    )


def details_tables(runs: list[RunRecord]) -> tuple[str, str]:
    """The two tables of the details page: the figures of each run (its first eight columns of
    :func:`results_table`) and its provenance (run, commit, command), which is too long to share a
    row with them and stay readable."""
    rows = [_detail_cells(run) for run in sort_runs(runs)]
    figures = _table(
        "| run | task | model | test | size (bits) | size (kB) | training time | epochs |",
        "|---|---|---|---|---:|---:|---:|---:|",
        [cells[:8] for cells in rows],
    )
    provenance = _table("| run | commit | command |", "|---|---|---|", [[cells[0], *cells[8:]] for cells in rows])
    return figures, provenance


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


def details_page_path(out: str | Path) -> Path:
    """Where the full table of the page ``out`` goes: ``<stem>_details.md`` beside it."""
    out = Path(out)
    return out.with_name(f"{out.stem}_details{out.suffix or '.md'}")


def _section_of(page: str) -> str:
    begin, end = page.find(BEGIN_MARKER), page.find(END_MARKER)
    return page[begin:end] if 0 <= begin < end else ""


def previous_run_names(page: str) -> list[str]:
    """The run names (first column) of the table in the results section of ``page``."""
    names = []
    for line in _section_of(page).splitlines():
        if not line.startswith("| ") or line.startswith("| run |"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if cells and cells[0] and not set(cells[0]) <= set("-:"):
            names.append(cells[0])
    return names


def _previous_sources(page: str, page_dir: Path) -> dict[str, Path]:
    match = _SOURCES.search(_section_of(page))
    if not match:
        return {}
    try:
        listed = json.loads(match.group(1))
    except ValueError:
        return {}
    return {Path(path).name: (page_dir / path) for path in listed if isinstance(path, str)}


def _relative(path: Path, start: Path) -> str:
    try:
        return Path(os.path.relpath(path.resolve(), start.resolve())).as_posix()
    except ValueError:  # another drive (Windows): keep it absolute
        return path.resolve().as_posix()


def _locate_previous(
    page: str, page_dir: Path, given: set[str], search_dirs: Sequence[Path]
) -> tuple[list[str], dict[str, Path], list[str]]:
    """The previous rows that ``given`` does not replace, where each one's run is, and those not found."""
    previous = [name for name in previous_run_names(page) if name not in given]
    sources = _previous_sources(page, page_dir)
    found, missing = {}, []
    for name in previous:
        candidates = [sources[name]] if name in sources else []
        candidates += [Path(folder) / name for folder in search_dirs]
        location = next((path for path in candidates if (path / "metrics.json").is_file()), None)
        if location is None:
            missing.append(name)
        else:
            found[name] = location
    return previous, found, missing


def _missing_error(source: str, missing: list[str], search_dirs: Sequence[Path]) -> HadamRNNError:
    archives = ", ".join(repr(str(folder)) for folder in search_dirs)
    where = f"where the page recorded them and in {archives}" if archives else "where the page recorded them; no --archive given"
    return HadamRNNError(
        f"{source} lists {len(missing)} run(s) that are not among the given runs and cannot be found again "
        f"(looked {where}): {', '.join(missing)}; "
        "expected every row of the existing table to be found again. Give those runs too, point --archive at "
        "the folder that holds them, or pass --replace to write only the given runs (nothing was written)"
    )


def check_mergeable(out: str | Path, run_names: Sequence[str], search_dirs: Sequence[str | Path] = (), replace: bool = False) -> None:
    """Raise, before anything is written, when a report of ``run_names`` into ``out`` would drop rows.

    A row of the existing table is safe when ``run_names`` replaces it or its run is found again
    (see :func:`write_report`); ``replace=True`` accepts dropping the others.
    """
    out = Path(out)
    if replace or not out.is_file():
        return
    folders = [Path(folder) for folder in search_dirs]
    _, _, missing = _locate_previous(out.read_text(encoding="utf-8"), out.parent, set(run_names), folders)
    if missing:
        raise _missing_error(str(out), missing, folders)


def _merge(
    given: list[RunRecord], page: str, page_dir: Path, search_dirs: Sequence[Path], replace: bool, source: str
) -> tuple[list[RunRecord], list[str], list[str]]:
    """The records of the new table: the given runs, and the previous rows they do not replace."""
    previous, found, missing = _locate_previous(page, page_dir, {run.name for run in given}, search_dirs)
    if replace:
        return given, [], previous
    if missing:
        raise _missing_error(source, missing, search_dirs)
    kept = [load_run(found[name]) for name in previous]
    return [*kept, *given], [run.name for run in kept], []


def _details_page(existing: str, section: str, summary_name: str, source: str) -> str:
    if existing:
        return _replace_section(existing, section, source)
    header = (
        "---\norphan: true\n---\n\n"  # linked from the results page, not from a table of contents
        "# Results: every run in detail\n\n"
        f"The full record of each run of [the results page]({summary_name}): the model size in bits, the "
        "training time (optimizer steps only), the commit of the code that trained it and the command that "
        "reproduces it.\n\n"
    )
    return header + section


def write_report(
    run_dirs: list[str | Path],
    out: str | Path,
    figures_dir: str | Path | None = None,
    *,
    search_dirs: Sequence[str | Path] = (),
    replace: bool = False,
) -> ReportResult:
    """Merge ``run_dirs`` into the results section of ``out`` and of its details page; write the figures.

    Args:
        run_dirs: finished run directories (or their archives).
        out: the results page (created when missing).
        figures_dir: where the PNG figures go; default ``_static/results/`` next to ``out``. The
            page links to them by relative paths.
        search_dirs: folders where the runs of the existing rows are looked for by name (the
            archive), when the page does not record where they were read from.
        replace: write exactly ``run_dirs``, dropping the rows of the existing table that they
            do not include (otherwise those rows are kept, or their absence is an error).
    """
    if not run_dirs:
        raise HadamRNNError("no run directories given: expected at least one")
    out = Path(out)
    figures_dir = Path(figures_dir) if figures_dir is not None else out.parent / "_static" / "results"
    details = details_page_path(out)
    given = [load_run(path) for path in run_dirs]
    page = out.read_text(encoding="utf-8") if out.exists() else ""
    details_text = details.read_text(encoding="utf-8") if details.exists() else ""
    # Check both pages' markers before anything is written.
    _replace_section(page, "", str(out))
    if details_text:
        _replace_section(details_text, "", str(details))
    runs, kept, dropped = _merge(given, page, out.parent, [Path(folder) for folder in search_dirs], replace, str(out))

    written, skipped, links = [], [], []
    for filename, (caption, draw) in FIGURES.items():
        path = draw(runs, figures_dir / filename)
        if path is None:
            skipped.append(f"{filename} skipped: no runs match ({caption})")
            continue
        written.append(path)
        relative = Path(os.path.relpath(path, out.parent)).as_posix()
        links.append(f"![{caption}]({relative})")
    sources = json.dumps([_relative(run.run_dir, out.parent) for run in sort_runs(runs)])
    quoted = sum(run.quoted is not None for run in runs)
    quoted_text = (
        f" {quoted} of the rows are quoted: published figures, marked \"(quoted: citation)\" and drawn as hollow "
        "markers, not runs trained here; their size is computed from the published model's config."
        if quoted
        else ""
    )
    notice = "<!-- written by `hadamrnn report`; edits between these markers are overwritten -->"
    section = "\n\n".join(
        [
            BEGIN_MARKER,
            notice,
            f"{SOURCES_PREFIX}{sources} -->",
            f"Runs: {len(runs)}. Sizes count the recurrent model without embeddings (1 kB = 1000 bytes); "
            "the test column is the accuracy where the task has one, the cross-entropy otherwise. "
            f"[Every run in detail]({details.name}): size in bits, training time, commit and command." + quoted_text,
            summary_table(runs).rstrip("\n"),
            *links,
            END_MARKER,
        ]
    ) + "\n"
    figures_table, provenance_table = details_tables(runs)
    details_section = "\n\n".join(
        [
            BEGIN_MARKER,
            notice,
            f"Runs: {len(runs)}." + quoted_text,
            figures_table.rstrip("\n"),
            "The code and the command of each run: the commit checked out when it started (and when "
            "it was resumed), and the command that reproduces it.",
            provenance_table.rstrip("\n"),
            END_MARKER,
        ]
    ) + "\n"
    atomic_write_text(out, _replace_section(page, section, str(out)))
    atomic_write_text(details, _details_page(details_text, details_section, out.name, str(details)))
    return ReportResult(out, written, skipped, details, [run.name for run in sort_runs(runs)], kept, dropped)
