"""``hadamrnn export``: a run directory to a .hrnn file or a C header, and bad input that loses nothing."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import numpy as np
import pytest

from hadamrnn.cli import main
from hadamrnn.export.c_runner import STRICT_FLAGS
from hadamrnn.runtime import load

TINY_OVERRIDES = [
    "--set", "task.seq_len=20", "--set", "task.copy_length=2", "--set", "task.train_size=64",
    "--set", "task.val_size=16", "--set", "task.test_size=16", "--set", "model.hidden_size=8",
    "--set", "train.epochs=1", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=2",
]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "tiny"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(run), "--no-progress"]) == 0
    return run


def test_export_hrnn_and_evaluate(run_dir, tmp_path, capsys):
    capsys.readouterr()
    out = tmp_path / "tiny.hrnn"
    code = main(["export", str(run_dir), "--format", "hrnn", "--out", str(out), "--hidden-bits", "8",
                 "--calibration-batches", "2", "--evaluate", "test"])
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["bytes"] == out.stat().st_size
    assert summary["model"]["hidden_bits"] == 8 and summary["calibration"] == {"method": "max", "percentile": 100.0, "sequences": 32}
    assert set(summary["metrics"]) == {"float", "integer"}
    runtime = load(out)
    assert runtime.model.hidden_size == 8 and runtime.model.many_to_many
    assert runtime.run(np.zeros((1, 20, 10), dtype=np.int64)).outputs.shape == (1, 20, 9)


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_export_c_compiles(run_dir, tmp_path, capsys):
    header = tmp_path / "model.h"
    assert main(["export", str(run_dir / "checkpoints" / "step_00000004"), "--format", "c", "--out", str(header),
                 "--calibration", "percentile", "--percentile", "99.9"]) == 0
    assert "Calibration: percentile (percentile 99.9)" in header.read_text()
    subprocess.run(["gcc", *STRICT_FLAGS, "-DHRNN_IMPLEMENTATION", "-x", "c", "-c", str(header), "-o", str(tmp_path / "m.o")], check=True)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--hidden-bits", "1"], r"hidden_bits must be an integer in \[2, 16\], got 1"),
        (["--input-bits", "9"], r"input_bits must be an integer in \[2, 8\], got 9"),
        (["--calibration-batches", "0"], "calibration needs at least one batch, got 0"),
        (["--calibration", "percentile", "--percentile", "0"], r"percentile must be in \(0, 100\], got 0.0"),
    ],
)
def test_bad_options_are_errors_that_write_nothing(run_dir, tmp_path, capsys, arguments, message):
    out = tmp_path / "model.hrnn"
    assert main(["export", str(run_dir), "--out", str(out), *arguments]) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not out.exists()


def test_missing_checkpoint(tmp_path, capsys):
    assert main(["export", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m.hrnn")]) == 2
    assert "checkpoint not found" in capsys.readouterr().err
