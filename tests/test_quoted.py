"""Quoted runs (`hadamrnn quote`): a published figure beside the measured runs, always marked as quoted."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import pytest

from hadamrnn import build_model, load_config, model_size, parse_config
from hadamrnn import figures
from hadamrnn.cli import main
from hadamrnn.errors import HadamRNNError
from hadamrnn.quoted import write_quoted_run
from hadamrnn.runs import load_run
from test_report import make_run, rows_by_run
from tiny_runs import TINY_OVERRIDES

ROOT = Path(__file__).resolve().parents[1]
CITATION = "Lezcano-Casado and Martínez-Rubio, Cheap Orthogonal Constraints in Neural Networks, ICML 2019, table 2"
NOTE = "one epoch takes 3 h on this CPU"


def quote(out: Path, config: str = "pmnist_lstm", *extra: str, accuracy: str = "0.987", epochs: str = "100", citation: str = CITATION) -> int:
    return main(
        ["quote", "--config", str(ROOT / "configs" / f"{config}.toml"), "--accuracy", accuracy, "--epochs", epochs,
         "--citation", citation, "--out", str(out), *extra]
    )


def test_quote_writes_a_run_that_reads_back_with_the_values_given(tmp_path, capsys):
    out = tmp_path / "pmnist-lstm-quoted"
    assert quote(out, "pmnist_lstm", "--note", NOTE, "--set", "model.hidden_size=64") == 0
    assert "metrics: " in capsys.readouterr().out
    assert sorted(path.name for path in out.iterdir()) == ["metrics.json"]  # no checkpoint, no curves
    run = load_run(out)
    assert run.quoted == {"citation": CITATION, "note": NOTE}
    assert run.test_metric == ("accuracy", 0.987)
    assert run.metrics["epochs"] == 100
    assert run.task == "pmnist" and run.kind == "lstm" and run.history == {}
    expected = load_config(ROOT / "configs" / "pmnist_lstm.toml").model_dump(mode="json")
    expected["model"]["hidden_size"] = 64
    assert run.config == expected  # the layout the trainer stores
    assert run.model["hidden_size"] == 64


def test_a_measured_run_is_not_quoted(tmp_path):
    run = make_run(tmp_path, "pm-full", {"task": {"name": "pmnist"}}, {"loss": 0.2, "accuracy": 0.95}, 24_096)
    assert load_run(run).quoted is None


MNIST_SHAPE = SimpleNamespace(name="pmnist", input_size=1, output_size=10, many_to_many=False, vocab_size=None)
"""pMNIST as a model sees it: one pixel per step, ten classes."""


@pytest.mark.parametrize("config", ["pmnist", "pmnist_ornn", "pmnist_qornn", "pmnist_lstm", "pmnist_gru"])
def test_the_quoted_size_is_the_size_of_the_built_model(config, tmp_path):
    assert quote(tmp_path / config, config) == 0
    run = load_run(tmp_path / config)
    built = model_size(build_model(load_config(ROOT / "configs" / f"{config}.toml").model, MNIST_SHAPE))
    assert run.metrics["model_size"] == built.as_dict()


def test_the_quoted_size_of_hadamrnn_is_the_formula_of_the_size_table(tmp_path):
    """n = 512, 4-bit U and V, d = 1, k = 10: the n signs, U, V, two scales and two float biases."""
    assert quote(tmp_path / "pm", "pmnist") == 0
    n, d, k = 512, 1, 10
    assert load_run(tmp_path / "pm").size_bits == n + 4 * n * d + 32 + 32 * n + 4 * k * n + 32 + 32 * k


@pytest.mark.parametrize("name", ["pmnist-ornn-10k", "pmnist-qornn-5k", "pmnist-lstm-e1", "pmnist-frozen-e100"])
def test_the_quoted_size_equals_the_size_a_trained_run_recorded(name, tmp_path):
    """The config of a run trained here, quoted: the size it recorded from its built model."""
    recorded = json.loads((ROOT / "results" / name / "metrics.json").read_text(encoding="utf-8"))
    write_quoted_run(tmp_path / name, parse_config(recorded["config"]), accuracy=0.5, epochs=1, citation="a source")
    assert load_run(tmp_path / name).metrics["model_size"] == recorded["model_size"]


# -- the report ------------------------------------------------------------------------------------


@pytest.fixture
def mixed_runs(tmp_path):
    """A run trained here (the tiny copy demo), a measured pMNIST run and a quoted pMNIST LSTM."""
    runs = tmp_path / "runs"
    trained = runs / "copy-tiny"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(trained), "--no-progress"]) == 0
    measured = make_run(runs, "pm-full", {"task": {"name": "pmnist"}, "model": {"hidden_size": 512}}, {"loss": 0.2, "accuracy": 0.9512}, 24_096)
    quoted = runs / "pmnist-lstm-quoted"
    assert quote(quoted, "pmnist_lstm", "--note", NOTE) == 0
    return trained, measured, quoted


def scatters_of_the_size_figure(monkeypatch) -> list:
    """Patch the figure writer so that the size-accuracy figure's scatter collections are kept."""
    kept = []
    save = figures._save_figure

    def keep(figure, path, *args, **kwargs):
        if path.name == "size_accuracy_pmnist.png":
            kept.extend(figure.axes[0].collections)
        return save(figure, path, *args, **kwargs)

    monkeypatch.setattr(figures, "_save_figure", keep)
    return kept


def test_a_report_of_measured_and_quoted_runs_marks_the_quoted_row(mixed_runs, tmp_path, monkeypatch):
    scatters = scatters_of_the_size_figure(monkeypatch)
    page = tmp_path / "docs" / "results.md"
    assert main(["report", *map(str, mixed_runs), "--out", str(page)]) == 0
    summary = rows_by_run(page.read_text())
    details = rows_by_run((tmp_path / "docs" / "results_details.md").read_text())
    assert set(summary) == set(details) == {"copy-tiny", "pm-full", "pmnist-lstm-quoted"}

    row = summary["pmnist-lstm-quoted"]
    assert row[3] == f"98.70 % accuracy (quoted: {CITATION})"
    assert row[2] == "LSTM n=128, W/U/V bits fp/fp/fp" and row[5] == "100"
    assert "(quoted: " not in summary["pm-full"][3] and "(quoted: " not in summary["copy-tiny"][3]
    full = details["pmnist-lstm-quoted"]
    assert full[6] == "—" and full[7] == "100"  # no training time; the published budget
    assert full[8] == "—" and full[9] == f"quoted from {CITATION} ({NOTE})"
    assert details["copy-tiny"][6].endswith(" s") and details["copy-tiny"][8] != "—"  # the run trained here
    assert "1 of the rows are quoted" in page.read_text()

    for name in ("size_accuracy_pmnist.png", "learning_curves.png"):
        assert (tmp_path / "docs" / "_static" / "results" / name).is_file()
    by_label = {collection.get_label(): collection for collection in scatters}
    assert set(by_label) == {"HadamRNN", "LSTM (quoted)"}
    assert len(by_label["LSTM (quoted)"].get_facecolors()) == 0  # hollow
    assert len(by_label["LSTM (quoted)"].get_edgecolors()) == 1 and by_label["LSTM (quoted)"].get_edgecolors()[0][3] == 1.0
    assert len(by_label["HadamRNN"].get_facecolors()) == 1 and by_label["HadamRNN"].get_facecolors()[0][3] == 1.0  # filled


def test_quoted_runs_are_left_out_of_the_curves_and_the_comparisons(tmp_path):
    runs = tmp_path / "runs"
    hadamrnn = {"task": {"name": "pmnist"}, "model": {"hidden_size": 512}}
    measured = make_run(runs, "pm-full", hadamrnn, {"loss": 0.2, "accuracy": 0.95}, 24_096)
    # Quoted runs that would pair with the measured one: another block size, another recurrence.
    for name, model in (("pm-block-quoted", {"block_size": 128}), ("pm-relu-quoted", {"recurrence": "relu"})):
        config = parse_config({"name": "pm-full", **hadamrnn, "model": {"hidden_size": 512, **model}})
        write_quoted_run(runs / name, config, accuracy=0.9, epochs=10, citation="a source")
    records = [load_run(path) for path in (measured, runs / "pm-block-quoted", runs / "pm-relu-quoted")]
    assert figures._block_size_figure(records, tmp_path / "block.png") is None
    assert figures._recurrence_figure(records, tmp_path / "recurrence.png") is None
    assert figures._learning_curves_figure(records[1:], tmp_path / "curves.png") is None
    # The comparisons are drawn when the runs are measured: the quoted runs are what was left out.
    measured_block = make_run(runs, "pm-block", {**hadamrnn, "model": {"hidden_size": 512, "block_size": 128}}, {"loss": 0.2, "accuracy": 0.9}, 24_096)
    assert figures._block_size_figure([records[0], load_run(measured_block)], tmp_path / "block.png") is not None


def test_archive_of_a_quoted_run_copies_its_metrics_alone(mixed_runs, tmp_path):
    from hadamrnn.archive import archive_run

    quoted = mixed_runs[2]
    page, archive = tmp_path / "results.md", tmp_path / "results"
    assert main(["report", str(quoted), str(mixed_runs[1]), "--archive", str(archive), "--out", str(page)]) == 0
    archived = archive / quoted.name
    assert sorted(path.name for path in archived.iterdir()) == ["metrics.json"]  # no weights, no curves
    assert (archived / "metrics.json").read_bytes() == (quoted / "metrics.json").read_bytes()
    assert load_run(archived).quoted == {"citation": CITATION, "note": NOTE}
    assert archive_run(archived, archive) == archived  # archiving the archive in place changes nothing
    assert (archived / "metrics.json").read_bytes() == (quoted / "metrics.json").read_bytes()
    # A later report finds the quoted row again in the archive.
    assert main(["report", str(mixed_runs[0]), "--archive", str(archive), "--out", str(page)]) == 0
    assert rows_by_run(page.read_text())["pmnist-lstm-quoted"][3] == f"98.70 % accuracy (quoted: {CITATION})"


def test_quoting_again_overwrites_a_quoted_run(tmp_path):
    out = tmp_path / "q"
    assert quote(out, accuracy="0.5") == 0
    assert quote(out, accuracy="0.75", epochs="50", citation="another source") == 0
    run = load_run(out)
    assert run.test_metric == ("accuracy", 0.75) and run.metrics["epochs"] == 50 and run.quoted["citation"] == "another source"
    assert run.quoted["note"] is None


# -- refusals --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "arguments, message",
    [
        ({"accuracy": "1.5"}, "accuracy: expected a fraction in [0, 1], got 1.5"),
        ({"accuracy": "98.7"}, "98.7 % is 0.987"),
        ({"accuracy": "-0.1"}, "accuracy: expected a fraction in [0, 1], got -0.1"),
        ({"accuracy": "nan"}, "accuracy: expected a fraction in [0, 1], got nan"),
        ({"epochs": "0"}, "epochs: expected the published training budget, an integer >= 1, got 0"),
        ({"citation": ""}, "citation: expected the source of the published figure"),
        ({"citation": "   "}, "citation: expected the source of the published figure"),
    ],
)
def test_bad_figures_are_refused_and_write_nothing(arguments, message, tmp_path, capsys):
    out = tmp_path / "q"
    assert quote(out, **arguments) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_an_out_folder_holding_something_else_is_refused(mixed_runs, tmp_path, capsys):
    trained, measured, _ = mixed_runs
    before = (trained / "metrics.json").read_bytes()
    assert quote(trained) == 2
    err = capsys.readouterr().err
    assert f"--out '{trained}': expected a new or empty directory, or a quoted run to overwrite, got a folder holding" in err
    assert "checkpoints" in err and (trained / "metrics.json").read_bytes() == before
    other = tmp_path / "notes"
    other.mkdir()
    (other / "todo.txt").write_text("mine\n")
    assert quote(other) == 2
    assert "got a folder holding todo.txt (nothing was written)" in capsys.readouterr().err
    assert sorted(path.name for path in other.iterdir()) == ["todo.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    assert quote(empty) == 0  # an empty folder is fine


def test_tasks_without_a_quotable_accuracy_are_refused(tmp_path, capsys):
    assert quote(tmp_path / "q", "copy_paper") == 2
    err = capsys.readouterr().err
    assert "task 'copy' cannot be quoted" in err and "expected one of har, imdb, pmnist, qqp, smnist, sst2" in err
    config = parse_config({"task": {"name": "arrays", "path": "data.npz"}})
    with pytest.raises(HadamRNNError, match="task 'arrays' cannot be quoted: its input and output sizes come from the user's own files"):
        write_quoted_run(tmp_path / "a", config, accuracy=0.5, epochs=1, citation="a source")


@pytest.mark.parametrize("command", ["evaluate", "export"])
def test_evaluate_and_export_refuse_a_quoted_run(command, tmp_path, capsys):
    out = tmp_path / "q"
    assert quote(out) == 0
    arguments = ["evaluate", str(out)] if command == "evaluate" else ["export", str(out), "--out", str(tmp_path / "m.hrnn")]
    assert main(arguments) == 2
    err = capsys.readouterr().err
    assert f"'{out}' is a quoted run (a published figure: {CITATION}), with no weights to {command}" in err
    assert not (tmp_path / "m.hrnn").exists()


def test_a_quoted_metrics_file_without_its_config_is_a_clear_error(tmp_path):
    run = tmp_path / "broken"
    run.mkdir()
    (run / "metrics.json").write_text(json.dumps({"test": {"accuracy": 0.9}, "model_size": {"total_bits": 1}, "quoted": {"citation": "x"}}))
    with pytest.raises(HadamRNNError, match="is marked quoted but lacks its config or citation"):
        load_run(run)
