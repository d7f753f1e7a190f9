"""SIGINT and SIGTERM stop training after the current step with a checkpoint, and a run killed in
the middle of a checkpoint write leaves nothing that a resume does not clear.

The subprocess tests stop the training process (SIGSTOP) before they signal it, so that the run
cannot finish in between, then let it go on (SIGCONT) to handle the signal.
"""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys

import pytest
import torch
from safetensors.torch import load_file

from hadamrnn import build_model, build_task, parse_config
from hadamrnn.checkpoint import latest_checkpoint, load_checkpoint
from hadamrnn.cli import main
from hadamrnn.errors import TrainingInterrupted
from hadamrnn.training import Trainer

from tiny_runs import CLI, ENV, LONGER_ARGUMENTS, LONGER_STEPS, TINY_OVERRIDES, latest_step, run_cli, signal_while_training

TINY = {
    "name": "tiny",
    "task": {"seq_len": 24, "copy_length": 3, "train_size": 96, "val_size": 32, "test_size": 32},
    "model": {"hidden_size": 16, "block_size": 4},
    "train": {"epochs": 2, "batch_size": 16, "eval_batch_size": 32, "lr": 0.01, "checkpoint_every": 4, "keep_checkpoints": 10},
}


def make_trainer(run_dir):
    config = parse_config(TINY)
    torch.manual_seed(config.train.seed)
    task = build_task(config.task, config.train.seed)
    return Trainer(config, task, build_model(config.model, task), run_dir, progress=False)


def final_weights(run_dir) -> dict[str, torch.Tensor]:
    return load_file(str(latest_checkpoint(run_dir / "checkpoints") / "model.safetensors"))


def assert_same(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


def signal_at_step(trainer: Trainer, step: int, number: int) -> None:
    """Make ``trainer`` send itself ``number`` in the middle of computing step ``step``."""
    original = trainer._train_step

    def train_step(batch):
        if trainer.step + 1 == step:
            os.kill(os.getpid(), number)  # delivered at once, in the middle of the step
        return original(batch)

    trainer._train_step = train_step


# -- in process --------------------------------------------------------------------------------------
@pytest.fixture(autouse=True)
def python_sigint_handler():
    """The in-process tests start from Python's own SIGINT handler. A process started in the
    background by a non-interactive shell inherits SIGINT ignored, and Python keeps it so; the
    trainer then rightly restores "ignored", which the assertions below do not expect."""
    before = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, before)


@pytest.fixture(scope="module")
def straight(tmp_path_factory) -> Trainer:
    trainer = make_trainer(tmp_path_factory.mktemp("straight"))
    trainer.fit()
    return trainer


@pytest.mark.parametrize(
    ("number", "step"),
    [(signal.SIGINT, 3), (signal.SIGTERM, 6)],
    ids=["SIGINT-mid-epoch", "SIGTERM-last-step-of-epoch"],
)
def test_signal_finishes_the_step_checkpoints_and_resumes_bit_identically(straight, tmp_path, number, step):

    interrupted = make_trainer(tmp_path / "victim")
    signal_at_step(interrupted, step, number)
    with pytest.raises(TrainingInterrupted) as stopped:
        interrupted.fit()
    assert stopped.value.signal_number == number and stopped.value.exit_status == 128 + number
    assert stopped.value.step == step == interrupted.step  # the step in progress was finished
    checkpoint = load_checkpoint(stopped.value.checkpoint)
    assert checkpoint.meta["step"] == step and checkpoint.path == latest_checkpoint(tmp_path / "victim" / "checkpoints")
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # the handlers are restored

    resumed = make_trainer(tmp_path / "victim")
    resumed.resume()
    assert resumed.step == step
    resumed.fit()
    assert_same(straight.model.state_dict(), resumed.model.state_dict())
    assert straight.history == resumed.history


def test_a_second_sigint_interrupts_at_once_without_a_checkpoint(tmp_path):
    trainer = make_trainer(tmp_path)
    original = trainer._train_step

    def train_step(batch):
        if trainer.step == 1:
            os.kill(os.getpid(), signal.SIGINT)  # recorded: stop after this step
            os.kill(os.getpid(), signal.SIGINT)  # the handler is restored: KeyboardInterrupt now
        return original(batch)

    trainer._train_step = train_step
    with pytest.raises(KeyboardInterrupt) as raised:
        trainer.fit()
    assert not isinstance(raised.value, TrainingInterrupted)
    assert trainer.step == 1 and not list((tmp_path / "checkpoints").glob("step_*"))


def test_fit_without_signal_handling_leaves_the_handlers_alone(tmp_path):
    before = signal.getsignal(signal.SIGTERM)
    trainer = make_trainer(tmp_path)
    seen = []
    original = trainer._train_step
    trainer._train_step = lambda batch: (seen.append(signal.getsignal(signal.SIGTERM)), original(batch))[1]
    trainer.fit(stop_on_signals=False)
    assert set(seen) == {before} and signal.getsignal(signal.SIGTERM) == before


# -- the command line ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def straight_run(tmp_path_factory):
    """A run long enough to interrupt (``LONGER_ARGUMENTS``), run straight through."""
    run = tmp_path_factory.mktemp("longer") / "straight"
    done = run_cli("train", *LONGER_ARGUMENTS, "--out", run, "--no-progress")
    assert done.returncode == 0, done.stderr[-2000:]
    return run


@pytest.mark.parametrize("number", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_cli_stops_on_a_signal_prints_the_resume_command_and_resumes_bit_identically(straight_run, tmp_path, number):
    straight = straight_run
    victim = tmp_path / "victim"
    process = subprocess.Popen(
        [*CLI, "train", *LONGER_ARGUMENTS, "--out", str(victim), "--no-progress"],
        env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    seen = signal_while_training(process, victim, number)
    _, err = process.communicate(timeout=300)

    assert process.returncode == 128 + number, err[-2000:]  # 130 for SIGINT, 143 for SIGTERM
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err[-2000:]
    stopped = latest_step(victim)
    assert f"stopped by {signal.Signals(number).name} after step {stopped};" in err and seen <= stopped < LONGER_STEPS
    resume_line = next(line for line in err.splitlines() if "resume with: " in line)
    command = shlex.split(resume_line.split("resume with: ", 1)[1])
    assert command == ["python", "-m", "hadamrnn", "train", "--resume", str(victim)]
    assert not (victim / "metrics.json").exists() and not (victim / ".hadamrnn.lock").exists()

    resumed = subprocess.run([sys.executable, *command[1:]], env=ENV, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert_same(final_weights(straight), final_weights(victim))
    metrics = json.loads((victim / "metrics.json").read_text())
    assert metrics["steps"] == LONGER_STEPS and len(metrics["resumes"]) == 1
    straight_history = load_checkpoint(straight).meta["history"]["train_loss"]
    assert load_checkpoint(victim).meta["history"]["train_loss"] == straight_history


def test_ctrl_c_outside_training_is_one_line_and_exit_130(monkeypatch, capsys):
    from hadamrnn import workflows

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(workflows, "evaluate_run", interrupted)
    assert main(["evaluate", "somewhere"]) == 130
    assert capsys.readouterr().err == "hadamrnn: interrupted (nothing more was written)\n"


# -- leftovers of a kill in the middle of a checkpoint write ----------------------------------------------
KILL_DURING_SECOND_CHECKPOINT = """
import os, signal, sys
import hadamrnn._io as io
from hadamrnn.cli import main
written = []
original = io._fsync_tree
def fsync_then_die(root):
    written.append(root)
    if len(written) == 2:  # the staging folder of the second checkpoint is complete, not yet renamed
        os.kill(os.getpid(), signal.SIGKILL)
    return original(root)
io._fsync_tree = fsync_then_die
sys.exit(main(sys.argv[1:]))
"""


def test_a_kill_during_a_checkpoint_write_leaves_staging_that_resume_clears(straight_run, tmp_path):
    straight = straight_run
    victim = tmp_path / "victim"
    killed = subprocess.run(
        [sys.executable, "-c", KILL_DURING_SECOND_CHECKPOINT, "train", *LONGER_ARGUMENTS, "--out", str(victim), "--no-progress"],
        env=ENV, capture_output=True, text=True, timeout=300,
    )
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
    leftovers = sorted(path.name for path in (victim / "checkpoints").glob(".step_*.tmp"))
    assert len(leftovers) == 1 and leftovers[0].startswith(".step_00000006."), leftovers

    resumed = run_cli("train", "--resume", victim, "--no-progress")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "resuming" in resumed.stdout and "at step 3 " in resumed.stdout
    assert sorted(path.name for path in (victim / "checkpoints").iterdir() if path.name.startswith(".")) == []
    assert_same(final_weights(straight), final_weights(victim))


def test_resume_restores_a_complete_checkpoint_caught_between_two_renames(tmp_path, capsys):
    """A kill between "move the old step folder aside" and "rename the new one in" leaves the step
    only under a temporary name: resume renames it back instead of deleting it."""
    run = tmp_path / "run"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(run), "--no-progress"]) == 0
    checkpoints = run / "checkpoints"
    os.replace(checkpoints / "step_00000004", checkpoints / ".step_00000004.0123abcd.tmp")
    (checkpoints / ".step_00000004.89abcdef.tmp").mkdir()  # the half-written replacement
    (checkpoints / ".step_00000004.89abcdef.tmp" / "model.safetensors").write_bytes(b"partial")
    (checkpoints / ".latest.deadbeef.tmp").write_text("step_000")
    (checkpoints / ".notes.tmp").write_text("not ours")  # not a name the writer uses: kept
    capsys.readouterr()

    assert main(["train", "--resume", str(run), "--set", "train.epochs=2", "--no-progress"]) == 0
    assert f"resuming {run} at step 4" in capsys.readouterr().out  # from the restored checkpoint
    assert sorted(path.name for path in checkpoints.iterdir() if path.name.startswith(".")) == [".notes.tmp"]
    assert json.loads((run / "metrics.json").read_text())["steps"] == 8
    assert load_checkpoint(run).meta["history"]["step"][:4] == [1, 2, 3, 4]
