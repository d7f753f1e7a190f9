"""The command line, in process: the demo path, evaluation, and bad input that loses nothing."""

import json
import re
from pathlib import Path

import pytest

from hadamrnn.cli import builtin_config, main

TINY_OVERRIDES = [
    "--set", "task.seq_len=20", "--set", "task.copy_length=2", "--set", "task.train_size=64",
    "--set", "task.val_size=16", "--set", "task.test_size=16", "--set", "model.hidden_size=8",
    "--set", "train.epochs=1", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=2",
]


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "demo"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(run), "--no-progress"]) == 0
    return run


def test_demo_config_is_embedded():
    config = builtin_config("copy")
    assert config.task.seq_len == 200 and config.task.copy_length == 10 and config.model.hidden_size == 128


def test_train_writes_metrics_plot_and_checkpoints(finished_run, capsys):
    metrics = json.loads((finished_run / "metrics.json").read_text())
    assert metrics["steps"] == 4 and metrics["task"]["naive_baseline"] == pytest.approx(2 * 2.0794415416798357 / 20)
    assert "rnn.W (signs)" in [row["component"] for row in metrics["model_size"]["rows"]]
    assert (finished_run / "learning_curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (finished_run / "checkpoints" / "latest").read_text().strip() == "step_00000004"


def test_evaluate(finished_run, capsys):
    assert main(["evaluate", str(finished_run), "--split", "test"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["step"] == 4 and set(report["test"]) == {"loss", "symbol_accuracy", "sequence_accuracy"}


def test_evaluate_builds_no_optimizer(finished_run, capsys, monkeypatch):
    import torch

    def no_optimizer(*args, **kwargs):
        raise AssertionError("evaluating a run built an optimizer")

    monkeypatch.setattr(torch.optim, "Adam", no_optimizer)
    assert main(["evaluate", str(finished_run), "--split", "val", "test"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert set(report) == {"checkpoint", "step", "val", "test"}


def test_archived_run_evaluates_like_the_run_and_refuses_to_resume(finished_run, tmp_path, capsys):
    from hadamrnn.archive import archive_run

    archived = archive_run(finished_run, tmp_path / "results")
    assert main(["evaluate", str(finished_run), "--split", "test"]) == 0
    of_run = json.loads(capsys.readouterr().out)
    assert main(["evaluate", str(archived), "--split", "test"]) == 0
    of_archive = json.loads(capsys.readouterr().out)
    assert of_archive["step"] == of_run["step"] and of_archive["test"] == of_run["test"]
    assert not list(archived.rglob("training_state.pt"))
    before = snapshot(archived)
    assert main(["train", "--resume", str(archived), "--no-progress"]) == 2
    assert "holds the final weights only" in capsys.readouterr().err
    assert snapshot(archived) == before


def test_resume_with_more_epochs_continues_the_run(finished_run, tmp_path, capsys):
    import shutil

    run = tmp_path / "longer"
    shutil.copytree(finished_run, run)
    assert main(["train", "--resume", str(run), "--set", "train.epochs=2", "--no-progress"]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["epochs"] == 2 and metrics["steps"] == 8
    assert len(metrics["resumes"]) == 1
    assert main(["train", "--resume", str(run), "--set", "train.lr=0.5", "--no-progress"]) == 2
    assert "train.lr: checkpoint has" in capsys.readouterr().err


def test_default_run_directory_never_collides(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for _ in range(2):
        assert main(["train", "copy", *TINY_OVERRIDES, "--no-progress"]) == 0
    assert len(list((tmp_path / "runs").iterdir())) == 2


def test_existing_output_directory_is_not_overwritten(finished_run, capsys):
    before = snapshot(finished_run)
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(finished_run)]) == 2
    assert "already exists and is not empty" in capsys.readouterr().err
    assert snapshot(finished_run) == before


def test_resume_with_different_config_is_refused_and_loses_nothing(finished_run, tmp_path, capsys):
    config = tmp_path / "other.toml"
    config.write_text("[model]\nhidden_size = 32\n")
    before = snapshot(finished_run)
    assert main(["train", "--config", str(config), "--resume", str(finished_run)]) == 2
    err = capsys.readouterr().err
    assert "cannot resume" in err and "model.hidden_size: checkpoint has 8, config has 32" in err
    assert snapshot(finished_run) == before


@pytest.mark.parametrize(
    "argv,message",
    [
        (["train", "--config", "missing.toml"], "config file not found"),
        (["train"], "nothing to train"),
        (["evaluate", "no/such/run"], "checkpoint not found"),
        (["train", "--resume", "no/such/run"], "checkpoint not found"),
        (["train", "copy", "--set", "model.hiden_size=3"], "unknown key 'model.hiden_size'; valid keys here are: backend, block_size"),
        (["train", "copy", "--set", "model.hidden_size=100"], "hidden_size must be a supported Hadamard order"),
        (["train", "copy", "--set", "model.block_size=3"], "block_size must be a supported Hadamard order dividing hidden_size=128"),
        (["train", "copy", "--set", "model.input_bits=0"], "model.input_bits"),
    ],
)
def test_bad_input_exits_with_clear_error(argv, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == 2
    assert re.search(re.escape(message), capsys.readouterr().err)
    assert not (tmp_path / "runs").exists()


MNIST_MISSING = "MNIST: missing 4 of 4 expected file(s)"


@pytest.mark.parametrize(
    "model,message",
    [
        ("hidden_size = 128\nblock_size = 3", "model.block_size: block_size must be a supported Hadamard order dividing hidden_size=128 (1, 2, 4, 8, 16, 32, 64, 128), got 3; the nearest allowed block sizes are 2 and 4"),
        ("hidden_size = 100", "model.hidden_size: hidden_size must be a supported Hadamard order r * 2^k with r in BASE_ORDERS = (1, 12, 20, 28, 36, 44, ..., 252), got 100; the nearest supported sizes are 96 and 104"),
        ('kind = "lstm"\nhidden_size = 96\nblock_size = 32', "model.block_size=32 applies only to kind 'hadamrnn', got kind='lstm'"),
    ],
)
def test_bad_model_config_is_refused_before_any_data_is_read(model, message, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "data"
    empty.mkdir()
    config = tmp_path / "bad.toml"
    config.write_text(f'[task]\nname = "smnist"\n[model]\n{model}\n')
    assert main(["train", "--config", str(config), "--data-dir", str(empty), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"invalid config {str(config)!r}" in err and message in err
    assert MNIST_MISSING not in err, "the data set was looked for"
    assert not (tmp_path / "runs").exists()


def test_valid_model_config_does_reach_the_missing_data(capsys, tmp_path, monkeypatch):
    """The control of the test above: the same command with a valid model fails on the data."""
    monkeypatch.chdir(tmp_path)
    empty = tmp_path / "data"
    empty.mkdir()
    config = tmp_path / "good.toml"
    config.write_text('[task]\nname = "smnist"\n[model]\nhidden_size = 128\nblock_size = 32\n')
    assert main(["train", "--config", str(config), "--data-dir", str(empty), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "invalid config" not in err and MNIST_MISSING in err


def test_corrupted_checkpoint_via_cli(finished_run, tmp_path, capsys):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(finished_run, copy)
    latest = copy / "checkpoints" / "step_00000004" / "model.safetensors"
    latest.write_bytes(latest.read_bytes()[:100])
    assert main(["evaluate", str(copy)]) == 2
    assert "corrupted checkpoint" in capsys.readouterr().err


def test_size_command(capsys):
    assert main(["size", "copy", "--set", "model.block_size=16"]) == 0
    out = capsys.readouterr().out
    assert "ternary, block 16" in out and "dense pattern n*m = 2048 bits" in out
