"""`hadamrnn report`: the results table between markers, the figures, and bad run directories."""

import json
import subprocess

import pytest
import torch

from hadamrnn import parse_config
from hadamrnn.checkpoint import save_checkpoint
from hadamrnn.cli import main
from hadamrnn.runs import source_commit

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
FIGURES = ("size_accuracy_pmnist.png", "learning_curves.png", "block_size_tradeoff.png", "recurrence_comparison.png")


def make_run(root, name, config, test, size_bits, seconds=125.0, epochs=3, commit="abc1234", command=None):
    """A finished run as `hadamrnn train` leaves it: metrics.json and a checkpoint with config and history."""
    run = root / name
    config = parse_config({"name": name, **config}).model_dump(mode="json")
    history = {
        "step": [1, 2, 3],
        "train_loss": [2.0, 1.5, 1.2],
        "lr": [1e-3] * 3,
        "sign_flips": [0, 1, 0],
        "validation": [{"epoch": 1, "step": 3, "loss": 1.3}],
    }
    save_checkpoint(run / "checkpoints", 3, {"w": torch.zeros(1)}, {}, {"config": config, "history": history, "epochs_completed": epochs})
    metrics = {
        "name": name,
        "task": {"task": config["task"]["name"]},
        "steps": 3,
        "epochs": epochs,
        "train_seconds": seconds,
        "test": test,
        "model_size": {"total_bits": size_bits},
        "command": command or f"hadamrnn train --config configs/{name}.toml",
        "commit": commit,
    }
    (run / "metrics.json").write_text(json.dumps(metrics))
    return run


@pytest.fixture
def runs(tmp_path):
    root = tmp_path / "runs"
    pmnist = {"task": {"name": "pmnist"}}
    copy = {"task": {"name": "copy", "seq_len": 20}}
    return [
        make_run(root, "pm-full", {**pmnist, "model": {"hidden_size": 512}}, {"loss": 0.2, "accuracy": 0.9512}, 24_096, seconds=7500.0, epochs=100),
        make_run(root, "pm-block", {**pmnist, "model": {"hidden_size": 512, "block_size": 128}}, {"loss": 0.3, "accuracy": 0.9301}, 24_096),
        make_run(root, "pm-lstm", {**pmnist, "model": {"kind": "lstm", "hidden_size": 128}}, {"loss": 0.4, "accuracy": 0.9}, 2_187_264, commit=None),
        make_run(root, "copy-linear", {**copy, "model": {"hidden_size": 64}}, {"loss": 1.5e-3, "symbol_accuracy": 1.0}, 9_000, seconds=42.0),
        make_run(root, "copy-relu", {**copy, "model": {"hidden_size": 64, "recurrence": "relu"}}, {"loss": 0.02}, 9_000, command="a | b"),
    ]


def rows_by_run(page: str) -> dict[str, list[str]]:
    """The cells of each run's row; on the details page, the rows of its two tables joined (the
    provenance table repeats the run name, which is dropped)."""
    rows: dict[str, list[str]] = {}
    for line in page.splitlines():
        if line.startswith("| ") and not line.startswith("| run |"):
            cells = [cell.strip() for cell in line.strip("|").split(" | ")]
            rows[cells[0]] = rows[cells[0]] + cells[1:] if cells[0] in rows else cells
    return rows


def test_page_has_a_condensed_table_and_links_the_details(runs, tmp_path):
    page = tmp_path / "docs" / "results.md"
    assert main(["report", *map(str, runs), "--out", str(page)]) == 0
    text = page.read_text()
    rows = rows_by_run(text)
    assert rows["pm-full"] == ["pm-full", "pmnist", "HadamRNN n=512, W/U/V bits 1/4/4", "95.12 % accuracy", "3.012", "100"]
    assert all(len(row) == 6 for row in rows.values())
    assert "[Every run in detail](results_details.md)" in text
    assert (tmp_path / "docs" / "results_details.md").read_text().startswith("---\norphan: true\n---\n")


def test_table_rows_hold_the_run_values(runs, tmp_path, capsys):
    page = tmp_path / "docs" / "results.md"
    assert main(["report", *map(str, runs), "--out", str(page)]) == 0
    rows = rows_by_run((tmp_path / "docs" / "results_details.md").read_text())
    assert set(rows) == {"pm-full", "pm-block", "pm-lstm", "copy-linear", "copy-relu"}
    full = rows["pm-full"]
    assert full[1] == "pmnist"
    assert full[2] == "HadamRNN n=512, W/U/V bits 1/4/4"
    assert full[3] == "95.12 % accuracy"
    assert full[4:] == ["24096", "3.012", "2 h 05 min", "100", "`abc1234`", "`hadamrnn train --config configs/pm-full.toml`"]
    assert rows["pm-block"][2] == "Block-HadamRNN n=512, m=128, W/U/V bits 1/4/4"
    assert rows["pm-lstm"][2] == "LSTM n=128, W/U/V bits fp/fp/fp" and rows["pm-lstm"][8] == "—"
    assert rows["pm-lstm"][5] == "273.408"
    assert rows["copy-linear"][3] == "CE 0.0015" and rows["copy-linear"][6] == "42.0 s"
    assert rows["copy-relu"][2].endswith(", relu") and rows["copy-relu"][3] == "CE 0.02"
    assert rows["copy-relu"][9] == "`a \\| b`"  # a pipe in a command does not split the row
    order = [name for name in rows]
    # by task, then kind (HadamRNN before the baselines), then size, then name
    assert order == ["copy-linear", "copy-relu", "pm-block", "pm-full", "pm-lstm"]


def test_resumed_run_shows_its_starting_command_and_its_resumes(runs, tmp_path):
    metrics_path = runs[0] / "metrics.json"
    metrics = json.loads(metrics_path.read_text())
    metrics["resumes"] = [
        {"command": "hadamrnn train --resume runs/pm-full", "commit": "abc1234"},
        {"command": "hadamrnn train --resume runs/pm-full --no-progress", "commit": "def5678"},
    ]
    metrics_path.write_text(json.dumps(metrics))
    page = tmp_path / "results.md"
    assert main(["report", *map(str, runs), "--out", str(page)]) == 0
    row = rows_by_run((tmp_path / "results_details.md").read_text())["pm-full"]
    assert row[-2] == "`abc1234`, then `def5678`"
    assert row[-1] == (
        "`hadamrnn train --config configs/pm-full.toml`, then resumed 2× with "
        "`hadamrnn train --resume runs/pm-full --no-progress`"
    )


def test_figures_are_png_files_linked_from_the_page(runs, tmp_path):
    page = tmp_path / "docs" / "results.md"
    assert main(["report", *map(str, runs), "--out", str(page)]) == 0
    text = page.read_text()
    for name in FIGURES:
        figure = tmp_path / "docs" / "_static" / "results" / name
        assert figure.read_bytes()[:8] == PNG_MAGIC, name
        assert f"(_static/results/{name})" in text


def test_figure_without_matching_runs_is_skipped_with_a_note(runs, tmp_path, capsys):
    page = tmp_path / "results.md"
    figures = tmp_path / "figures"
    copy_runs = [str(run) for run in runs if run.name.startswith("copy")]
    assert main(["report", *copy_runs, "--out", str(page), "--figures", str(figures)]) == 0
    out = capsys.readouterr().out
    assert "note: size_accuracy_pmnist.png skipped: no runs match" in out
    assert "note: block_size_tradeoff.png skipped" in out
    assert sorted(p.name for p in figures.iterdir()) == ["learning_curves.png", "recurrence_comparison.png"]
    assert "size_accuracy_pmnist.png" not in page.read_text()


def test_only_the_section_between_markers_is_regenerated(runs, tmp_path):
    page = tmp_path / "results.md"
    before = "# Results\n\nWritten by hand.\n\n<!-- results:begin -->\nstale table\n<!-- results:end -->\n\n## Notes\n\nAlso by hand.\n"
    page.write_text(before)
    assert main(["report", str(runs[0]), "--out", str(page)]) == 0
    first = page.read_text()
    assert first.startswith("# Results\n\nWritten by hand.\n\n<!-- results:begin -->")
    assert first.endswith("<!-- results:end -->\n\n## Notes\n\nAlso by hand.\n")
    assert "stale table" not in first and "| pm-full |" in first
    assert main(["report", str(runs[0]), "--out", str(page)]) == 0
    assert page.read_text() == first


def test_missing_markers_are_appended(runs, tmp_path):
    page = tmp_path / "results.md"
    page.write_text("# Results\n\nNothing yet.\n")
    assert main(["report", str(runs[0]), "--out", str(page)]) == 0
    text = page.read_text()
    assert text.startswith("# Results\n\nNothing yet.\n\n<!-- results:begin -->")
    assert text.rstrip().endswith("<!-- results:end -->") and text.count("<!-- results:begin -->") == 1


def test_broken_markers_are_an_error_and_change_nothing(runs, tmp_path, capsys):
    page = tmp_path / "results.md"
    page.write_text("<!-- results:end -->\ntext\n<!-- results:begin -->\n")
    assert main(["report", str(runs[0]), "--out", str(page)]) == 2
    assert "expected one <!-- results:begin --> followed by one <!-- results:end -->" in capsys.readouterr().err
    assert page.read_text() == "<!-- results:end -->\ntext\n<!-- results:begin -->\n"


def test_run_without_metrics_is_a_clear_error(runs, tmp_path, capsys):
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    page = tmp_path / "results.md"
    assert main(["report", str(runs[0]), str(unfinished), "--out", str(page)]) == 2
    err = capsys.readouterr().err
    assert f"'{unfinished}' has no metrics.json: expected a finished run directory" in err
    assert not page.exists()


def test_source_commit_marks_a_modified_tree_dirty(tmp_path):
    assert source_commit(tmp_path) is None
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    (tmp_path / "file.txt").write_text("one\n")
    subprocess.run([*git, "add", "file.txt"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    commit = source_commit(tmp_path)
    assert head.startswith(commit) and len(commit) >= 7
    (tmp_path / "untracked.txt").write_text("ignored for dirtiness\n")
    assert source_commit(tmp_path) == commit
    (tmp_path / "file.txt").write_text("two\n")
    assert source_commit(tmp_path) == f"{commit}-dirty"


def test_archive_keeps_what_the_report_needs_and_small_final_weights(runs, tmp_path, monkeypatch):
    """--archive copies metrics (with the config), thinned curves, the PNG and the final weights
    (weights only, and only when small); the report of the archive equals the report of the runs."""
    from hadamrnn import archive as archiving
    from hadamrnn import load_checkpoint

    meta = load_checkpoint(runs[1]).meta
    save_checkpoint(runs[1] / "checkpoints", 3, {"w": torch.zeros(1000)}, {}, meta)
    monkeypatch.setattr(archiving, "ARCHIVED_WEIGHTS_MAX_BYTES", 1000)  # 4,000 bytes of weights: too large

    long_run = runs[0]
    page_of_runs = tmp_path / "from_runs.md"
    assert main(["report", *map(str, runs), "--out", str(page_of_runs), "--figures", str(tmp_path / "f1")]) == 0
    archive = tmp_path / "results"
    page_of_archive = tmp_path / "from_archive.md"
    assert main(["report", *map(str, runs), "--archive", str(archive), "--out", str(page_of_archive), "--figures", str(tmp_path / "f2")]) == 0
    for run in runs:
        archived = archive / run.name
        if run == runs[1]:
            assert not (archived / "checkpoints").exists()
        else:
            final = load_checkpoint(archived)
            assert final.training_state is None and final.meta["step"] == 3 and "history" not in final.meta
            assert final.meta["config"]["name"] == run.name and torch.equal(final.model_state["w"], torch.zeros(1))
        metrics = json.loads((archived / "metrics.json").read_text())
        assert metrics["config"]["name"] == run.name
        assert json.loads((archived / "history.json").read_text())["validation"] == [{"epoch": 1, "step": 3, "loss": 1.3}]
    assert rows_by_run(page_of_archive.read_text()) == rows_by_run(page_of_runs.read_text())
    # Archiving the archive in place (how results/ is regenerated) changes nothing, weights or none.
    before = {path: path.read_bytes() for path in archive.rglob("*") if path.is_file()}
    for run in runs:
        assert archiving.archive_run(archive / run.name, archive) == archive / run.name
    assert {path: path.read_bytes() for path in archive.rglob("*") if path.is_file()} == before

    steps = 5 * archiving.ARCHIVED_TRAINING_POINTS + 3
    history = {"step": list(range(1, steps + 1)), "train_loss": [1.0] * steps, "lr": [1e-3] * steps, "sign_flips": [0] * steps, "validation": []}
    config = json.loads((archive / long_run.name / "metrics.json").read_text())["config"]
    save_checkpoint(long_run / "checkpoints", steps, {"w": torch.zeros(1)}, {}, {"config": config, "history": history, "epochs_completed": 1})
    thinned = json.loads((archiving.archive_run(long_run, tmp_path / "again") / "history.json").read_text())
    assert len(thinned["step"]) <= archiving.ARCHIVED_TRAINING_POINTS
    assert thinned["step"][-1] == steps  # the last step is kept


# -- merging into an existing page --------------------------------------------------------------------


def test_a_second_report_keeps_the_rows_of_the_first(runs, tmp_path, capsys):
    page = tmp_path / "results.md"
    archive = tmp_path / "results"
    assert main(["report", *map(str, runs[:3]), "--archive", str(archive), "--out", str(page)]) == 0
    assert main(["report", str(runs[3]), "--archive", str(archive), "--out", str(page)]) == 0
    assert set(rows_by_run(page.read_text())) == {run.name for run in runs[:4]}
    assert set(rows_by_run((tmp_path / "results_details.md").read_text())) == {run.name for run in runs[:4]}
    assert "kept:   3 row(s)" in capsys.readouterr().out
    # Without --archive the rows are found where the page recorded them.
    assert main(["report", str(runs[4]), "--out", str(page)]) == 0
    assert set(rows_by_run(page.read_text())) == {run.name for run in runs}


def test_a_rerun_replaces_its_own_row_only(runs, tmp_path):
    page = tmp_path / "results.md"
    assert main(["report", *map(str, runs), "--out", str(page)]) == 0
    metrics = json.loads((runs[0] / "metrics.json").read_text())
    metrics["test"]["accuracy"] = 0.9634
    (runs[0] / "metrics.json").write_text(json.dumps(metrics))
    assert main(["report", str(runs[0]), "--out", str(page)]) == 0
    rows = rows_by_run(page.read_text())
    assert set(rows) == {run.name for run in runs} and rows["pm-full"][3] == "96.34 % accuracy"


def test_rows_that_cannot_be_found_again_are_not_dropped_without_replace(runs, tmp_path, capsys):
    page = tmp_path / "results.md"
    assert main(["report", *map(str, runs[:2]), "--out", str(page)]) == 0
    before = page.read_text()
    for run in runs[:2]:
        (run / "metrics.json").rename(run / "metrics.moved")
    assert main(["report", str(runs[2]), "--out", str(page)]) == 2
    err = capsys.readouterr().err
    assert "lists 2 run(s) that are not among the given runs and cannot be found again" in err
    assert "no --archive given): pm-block, pm-full;" in err
    assert "pass --replace" in err and page.read_text() == before
    assert main(["report", str(runs[2]), "--out", str(page), "--replace"]) == 0
    assert set(rows_by_run(page.read_text())) == {"pm-lstm"}
    assert "dropped (--replace): pm-block, pm-full" in capsys.readouterr().out


def test_refusal_leaves_the_archive_untouched(runs, tmp_path, capsys):
    page = tmp_path / "results.md"
    page.write_text("<!-- results:begin -->\n\n| run | task |\n|---|---|\n| lost-run | copy |\n\n<!-- results:end -->\n")
    archive = tmp_path / "results"
    assert main(["report", str(runs[0]), "--archive", str(archive), "--out", str(page)]) == 2
    assert "lost-run" in capsys.readouterr().err and not archive.exists()


def test_without_out_the_report_goes_to_a_new_file(runs, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "report.md").write_text("mine\n")
    assert main(["report", str(runs[0])]) == 0
    assert (tmp_path / "report.md").read_text() == "mine\n"
    assert "| pm-full |" in (tmp_path / "report-2.md").read_text()
    assert "page:   report-2.md" in capsys.readouterr().out


def test_readme_report_command_keeps_every_row_of_the_results_page(runs, tmp_path, monkeypatch):
    """The README's `hadamrnn report` line, run on a copy of this checkout's page and archive with
    one new run, keeps all the rows of docs/results.md and adds the new one."""
    import glob
    import re
    import shlex
    import shutil
    from pathlib import Path

    from hadamrnn.report import previous_run_names

    root = Path(__file__).resolve().parents[1]
    readme = (root / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("hadamrnn report "))
    command = shlex.split(line.split("#")[0])
    assert command[:2] == ["hadamrnn", "report"] and "--replace" not in command

    checkout = tmp_path / "checkout"
    (checkout / "docs").mkdir(parents=True)
    shutil.copy(root / "docs" / "results.md", checkout / "docs" / "results.md")
    shutil.copytree(root / "results", checkout / "results")
    shutil.copytree(runs[3], checkout / "runs" / "copy-new")
    existing = previous_run_names((root / "docs" / "results.md").read_text(encoding="utf-8"))
    assert len(existing) >= 30

    monkeypatch.chdir(checkout)
    arguments = [expanded for word in command[2:] for expanded in (sorted(glob.glob(word)) if "*" in word else [word])]
    assert main(["report", *arguments]) == 0
    page = (checkout / "docs" / "results.md").read_text(encoding="utf-8")
    names = previous_run_names(page)
    assert set(existing) <= set(names) and "copy-new" in names and len(names) == len(existing) + 1
    assert re.search(r"Runs: (\d+)\.", page).group(1) == str(len(existing) + 1)
    details = previous_run_names((checkout / "docs" / "results_details.md").read_text(encoding="utf-8"))
    assert set(details) == set(names)


def test_a_run_that_kept_its_best_epoch_shows_both_test_figures(tmp_path):
    from hadamrnn.report import results_table
    from hadamrnn.runs import load_run

    run = make_run(tmp_path, "pm-best", {"task": {"name": "pmnist"}}, {"loss": 0.2, "accuracy": 0.9393}, 24_096)
    metrics = json.loads((run / "metrics.json").read_text())
    metrics["best"] = {"epoch": 49, "metric": "accuracy", "validation": {"accuracy": 0.9551}, "test": {"loss": 0.15, "accuracy": 0.9512}}
    (run / "metrics.json").write_text(json.dumps(metrics))
    cells = rows_by_run(results_table([load_run(run)]))["pm-best"]
    assert cells[3] == "93.93 % accuracy; best validation epoch 49: 95.12 %"
