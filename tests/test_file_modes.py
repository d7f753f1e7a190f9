"""Every file the command line writes gets the permissions of an ordinary ``open`` (``0o666`` less
the umask), like any other tool: never the private ``0o600`` of a temporary file that was renamed
into place, nor safetensors' own ``0o600``."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hadamrnn.cli import main

from tiny_runs import TINY_OVERRIDES


@pytest.fixture(params=[0o022, 0o002, 0o077], ids=["umask-022", "umask-002", "umask-077"])
def umask(request):
    previous = os.umask(request.param)
    try:
        yield request.param
    finally:
        os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_files_and_folders_written_by_train_export_and_report_follow_the_umask(tmp_path, umask, capsys):
    run = tmp_path / "run"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(run), "--no-progress"]) == 0
    assert main(["export", str(run), "--out", str(tmp_path / "model.hrnn"), "--calibration-batches", "1"]) == 0
    assert main(["export", str(run), "--format", "c", "--out", str(tmp_path / "model.h"), "--calibration-batches", "1"]) == 0
    assert main(["report", str(run), "--out", str(tmp_path / "docs" / "results.md"), "--archive", str(tmp_path / "results")]) == 0

    reference = tmp_path / "plain.txt"
    with open(reference, "w"):
        pass
    assert mode(reference) == 0o666 & ~umask
    files = [path for path in tmp_path.rglob("*") if path.is_file() and path != reference]
    folders = [path for path in tmp_path.rglob("*") if path.is_dir()]
    expected = {
        tmp_path / "model.hrnn", tmp_path / "model.h", tmp_path / "docs" / "results.md", run / "metrics.json",
        run / "learning_curve.png", run / "checkpoints" / "latest", run / "checkpoints" / "step_00000004" / "model.safetensors",
        run / "checkpoints" / "step_00000004" / "training_state.pt",
    }
    assert expected <= set(files) and any(path.suffix == ".png" for path in (tmp_path / "docs").rglob("*"))
    assert {str(path.relative_to(tmp_path)): oct(mode(path)) for path in files if mode(path) != 0o666 & ~umask} == {}
    assert {str(path.relative_to(tmp_path)): oct(mode(path)) for path in folders if mode(path) != 0o777 & ~umask} == {}
