"""The command line as a user meets it: help for every argument, `size` without data, a short log
when the output is a file, and figures whose titles fit."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hadamrnn import figures
from hadamrnn.cli import build_parser, main

ROOT = Path(__file__).resolve().parents[1]


def every_parser(parser: argparse.ArgumentParser, prefix: str = "hadamrnn"):
    yield prefix, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                yield from every_parser(child, f"{prefix} {name}")


def test_every_argument_of_every_command_has_help_text():
    commands = dict(every_parser(build_parser()))
    assert {"hadamrnn train", "hadamrnn evaluate", "hadamrnn size", "hadamrnn export", "hadamrnn report"} <= set(commands)
    missing = [
        f"{command}: {action.dest}"
        for command, parser in commands.items()
        for action in parser._actions
        if not isinstance(action, argparse._SubParsersAction) and not (action.help and action.help.strip())
    ]
    assert missing == []


@pytest.mark.parametrize("config", ["smnist", "pmnist", "imdb", "sst2", "qqp", "har"])
def test_size_reads_no_data(config, monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("HADAMRNN_DATA", raising=False)
    monkeypatch.chdir(tmp_path)  # no data folder anywhere near
    assert main(["size", "--config", str(ROOT / "configs" / f"{config}.toml")]) == 0
    assert "total (W as signs)" in capsys.readouterr().out


def test_size_of_smnist_matches_the_recorded_run(monkeypatch, capsys):
    import json

    monkeypatch.delenv("HADAMRNN_DATA", raising=False)
    assert main(["size", "--config", str(ROOT / "configs" / "smnist.toml")]) == 0
    recorded = json.loads((ROOT / "results" / "smnist-frozen-e3" / "metrics.json").read_text())["model_size"]["total_bits"]
    assert f" {recorded} " in capsys.readouterr().out


def test_training_into_a_file_writes_one_line_per_epoch_and_no_progress_bar(tmp_path):
    """`hadamrnn train copy > log.txt`, with the demo shrunk to seconds (same 14 epochs)."""
    shrink = ["task.seq_len=20", "task.train_size=256", "task.val_size=32", "task.test_size=32", "model.hidden_size=16", "train.batch_size=32"]
    command = [sys.executable, "-m", "hadamrnn", "train", "copy", "--out", str(tmp_path / "run"), *[f"--set={item}" for item in shrink]]
    with open(tmp_path / "log.txt", "w") as log:
        result = subprocess.run(command, stdout=log, stderr=subprocess.STDOUT, cwd=tmp_path, timeout=600, env={**os.environ, "COLUMNS": "120"})
    text = (tmp_path / "log.txt").read_text()
    assert result.returncode == 0, text
    lines = text.splitlines()
    assert len(lines) < 100, text
    assert "\r" not in text and "step/s" not in text  # no tqdm redraws
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert len(epochs) == 14 and epochs[0].startswith("epoch 1/14: train loss ") and "validation loss" in epochs[0]
    assert any(line.startswith("device: cpu") for line in lines)


def test_long_titles_wrap_inside_the_figure(tmp_path, monkeypatch):
    captured = {}

    def keep(figure, path, dpi=110):
        captured["title"] = figure.axes[0].get_title()
        return path

    monkeypatch.setattr(figures, "_save_figure", keep)
    title = "copy-demo: copy (seq_len=200, copy_length=10, train_size=38400, val_size=1000, test_size=2000), n=128"
    figures.plot_learning_curve(tmp_path / "curve.png", {"step": [1], "train_loss": [1.0], "sign_flips": [0]}, title)
    lines = captured["title"].splitlines()
    assert len(lines) >= 2 and " ".join(lines) == title and max(map(len, lines)) <= 80
