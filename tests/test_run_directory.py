"""Run directories: one process at a time in each, and no output written where a checkpoint lives."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from hadamrnn.cli import main
from hadamrnn.errors import HadamRNNError, RunDirectoryInUseError
from hadamrnn.run_directory import LOCK_FILE, claim_new_run_directory, claim_run_directory

from tiny_runs import CLI, ENV, LONGER_ARGUMENTS, TINY_OVERRIDES, assert_clean_error


def snapshot(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "demo"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(run), "--no-progress"]) == 0
    return run


# -- claims ------------------------------------------------------------------------------------------
def test_a_claimed_directory_is_refused_to_a_second_claim_naming_the_holder(tmp_path):
    with claim_run_directory(tmp_path / "run") as first:
        assert (tmp_path / "run" / LOCK_FILE).read_text().startswith(f"pid {os.getpid()} on ")
        with pytest.raises(RunDirectoryInUseError, match=f"found process pid {os.getpid()} on .*; wait for it to finish"):
            claim_run_directory(tmp_path / "run", purpose="resume")
        assert first.held
    assert not (tmp_path / "run" / LOCK_FILE).exists()  # released: nothing left behind
    claim_run_directory(tmp_path / "run").release()


def test_a_lock_file_left_by_a_killed_process_does_not_block(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / LOCK_FILE).write_text("pid 999999 on elsewhere, since long ago: hadamrnn train\n")  # nobody holds it
    with claim_run_directory(run) as claim:
        assert (run / LOCK_FILE).read_text().startswith(f"pid {os.getpid()} ")
    assert not claim.held


def test_a_new_run_refuses_a_directory_with_files(tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    with pytest.raises(HadamRNNError, match=r"already exists and is not empty \(it holds old.txt\)"):
        claim_run_directory(tmp_path, must_be_empty=True)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["old.txt"]


def test_automatic_run_names_never_share_a_folder(tmp_path):
    first = claim_new_run_directory(tmp_path, "copy-demo-20260101-000000")
    second = claim_new_run_directory(tmp_path, "copy-demo-20260101-000000")
    assert first.path.name == "copy-demo-20260101-000000" and second.path.name == "copy-demo-20260101-000000-2"
    for name in ("../x", "a/b", "..", ""):
        with pytest.raises(HadamRNNError, match="a run name must be a single folder name"):
            claim_new_run_directory(tmp_path, name)


def test_a_failed_new_run_leaves_no_empty_folder(tmp_path, capsys):
    out = tmp_path / "never"
    assert main(["train", "--config", str(tmp_path / "missing.toml"), "--out", str(out)]) == 2
    assert main(["train", "copy", "--set", "task.copy_length=500", "--out", str(out)]) == 2  # fails after the claim
    assert not out.exists()


# -- two processes, one directory -------------------------------------------------------------------------
def test_two_trainings_started_at_once_on_one_out_exactly_one_runs(tmp_path):
    out = tmp_path / "shared"
    command = [*CLI, "train", *LONGER_ARGUMENTS, "--out", str(out), "--no-progress"]
    processes = [subprocess.Popen(command, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(process, *process.communicate(timeout=300)) for process in processes]
    winners = [process for process, _, _ in results if process.returncode == 0]
    losers = [(process, err) for process, _, err in results if process.returncode != 0]
    assert len(winners) == 1 and len(losers) == 1, [(process.returncode, err[-500:]) for process, _, err in results]
    (loser, err), winner = losers[0], winners[0]
    assert loser.returncode == 2 and "Traceback" not in err
    assert f"expected no other process there, found process pid {winner.pid} on " in err, err
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] == 40 and metrics["resumes"] == []


def test_resume_of_a_run_that_is_training_is_refused(tmp_path, finished_run):
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time; from hadamrnn.run_directory import claim_run_directory; "
         "claim = claim_run_directory(sys.argv[1]); print('held', flush=True); time.sleep(60)", str(finished_run)],
        env=ENV, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = snapshot(finished_run)
        result = subprocess.run([*CLI, "train", "--resume", str(finished_run), "--set", "train.epochs=2"],
                                env=ENV, capture_output=True, text=True, timeout=300)
        assert_clean_error(result, f"cannot resume {str(finished_run)!r}", f"found process pid {holder.pid} on ")
        assert {k: v for k, v in snapshot(finished_run).items() if k != LOCK_FILE} == {
            k: v for k, v in before.items() if k != LOCK_FILE
        }
    finally:
        holder.kill()
        holder.wait()


# -- paths that lead into a checkpoint or out of --runs --------------------------------------------------------
def test_resume_of_a_checkpoint_folder_is_refused_with_the_run_to_resume(finished_run, capsys):
    before = snapshot(finished_run)
    step = finished_run / "checkpoints" / "step_00000004"
    for path in (step, finished_run / "checkpoints"):
        assert main(["train", "--resume", str(path), "--set", "train.epochs=2", "--no-progress"]) == 2
        err = capsys.readouterr().err
        assert "expected a run directory (the folder holding checkpoints/), got a folder inside its checkpoints" in err
        assert f"--resume {finished_run}" in err
    assert snapshot(finished_run) == before and not (step / "checkpoints").exists()


def test_a_run_name_that_leaves_the_runs_folder_is_refused(tmp_path, capsys):
    runs = tmp_path / "runs"
    assert main(["train", "copy", *TINY_OVERRIDES, "--set", "name='../escaped'", "--runs", str(runs)]) == 2
    assert "name: expected a folder name" in capsys.readouterr().err
    assert not (tmp_path / "escaped").exists() and not list(tmp_path.glob("escaped*"))


def test_out_inside_another_runs_checkpoints_is_refused(finished_run, capsys):
    before = snapshot(finished_run)
    for inside in (finished_run / "checkpoints" / "nested", finished_run / "checkpoints" / "step_00000004" / "run"):
        assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(inside), "--no-progress"]) == 2
        assert "expected a path outside any run's checkpoints" in capsys.readouterr().err
    assert snapshot(finished_run) == before


# -- export destinations ------------------------------------------------------------------------------------
EXPORT = ["--calibration-batches", "1"]


def test_export_refuses_an_existing_file_unless_forced(finished_run, tmp_path, capsys):
    out = tmp_path / "model.hrnn"
    out.write_bytes(b"precious")
    assert main(["export", str(finished_run), "--out", str(out), *EXPORT]) == 2
    assert "expected a new file, got an existing one; pass --force" in capsys.readouterr().err
    assert out.read_bytes() == b"precious"
    assert main(["export", str(finished_run), "--out", str(out), "--force", *EXPORT]) == 0
    assert out.read_bytes()[:5] == b"\x89HRNN"


def test_export_never_writes_into_a_checkpoint_even_forced(finished_run, capsys):
    before = snapshot(finished_run)
    step = finished_run / "checkpoints" / "step_00000004"
    for target in (step / "model.safetensors", step / "new.hrnn", finished_run / "checkpoints" / "latest"):
        assert main(["export", str(finished_run), "--out", str(target), "--force", *EXPORT]) == 2
        assert "expected a path outside any run's checkpoints" in capsys.readouterr().err
    assert snapshot(finished_run) == before
    assert main(["evaluate", str(finished_run), "--split", "test"]) == 0  # its SHA-256 still checks


def test_export_to_a_folder_is_refused(finished_run, tmp_path, capsys):
    assert main(["export", str(finished_run), "--out", str(tmp_path), "--force", *EXPORT]) == 2
    assert "expected a file path, got an existing folder" in capsys.readouterr().err
