"""Tiny training runs and command-line helpers shared by the reliability tests.

(A plain module, like ``helpers``: only one module per session can be called ``conftest``.)
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

#: ``hadamrnn train copy`` shrunk to 4 steps of a 8-unit model (about a second in process).
TINY_OVERRIDES = [
    "--set", "task.seq_len=20", "--set", "task.copy_length=2", "--set", "task.train_size=64",
    "--set", "task.val_size=16", "--set", "task.test_size=16", "--set", "model.hidden_size=8",
    "--set", "train.epochs=1", "--set", "train.batch_size=16", "--set", "train.checkpoint_every=2",
]

#: ``hadamrnn train copy`` long enough (2 epochs of 20 steps, a checkpoint every 3) to be
#: interrupted or contended while it trains.
LONGER_ARGUMENTS = [
    "copy",
    *("--set", "task.seq_len=40", "--set", "task.copy_length=3", "--set", "task.train_size=320"),
    *("--set", "task.val_size=32", "--set", "task.test_size=32", "--set", "model.hidden_size=16"),
    *("--set", "train.epochs=2", "--set", "train.batch_size=16", "--set", "train.lr=0.01"),
    *("--set", "train.checkpoint_every=3", "--set", "train.keep_checkpoints=50"),
]
LONGER_STEPS = 40

CLI = [sys.executable, "-m", "hadamrnn"]
ENV = {**os.environ, "PYTHONUNBUFFERED": "1"}


def run_cli(*arguments: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """``python -m hadamrnn ARGUMENTS`` in a subprocess, its output captured as text."""
    return subprocess.run([*CLI, *map(str, arguments)], env=ENV, capture_output=True, text=True, timeout=timeout)


def assert_clean_error(result: subprocess.CompletedProcess[str], *fragments: str, status: int = 2) -> str:
    """The command failed with ``status`` and one ``hadamrnn: error:`` line holding every fragment,
    and no Python traceback. Returns that line."""
    assert result.returncode == status, (result.returncode, result.stderr[-2000:])
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("hadamrnn: error: "), lines
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


def wait_for(predicate, timeout: float = 120, interval: float = 0.01) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def latest_step(run_dir: Path) -> int | None:
    manifests = sorted(run_dir.glob("checkpoints/step_*/manifest.json"))
    return int(manifests[-1].parent.name.removeprefix("step_")) if manifests else None


def signal_while_training(process: subprocess.Popen, run_dir: Path, number: int) -> int:
    """Send ``number`` to ``process`` once it has written its first checkpoint, while it is stopped
    (SIGSTOP) so that the run cannot finish in between; returns the newest step on disk then."""
    assert wait_for(lambda: latest_step(run_dir) is not None or process.poll() is not None), "no checkpoint appeared"
    process.send_signal(signal.SIGSTOP)
    try:
        step = latest_step(run_dir)
        assert step is not None and step < LONGER_STEPS and not (run_dir / "metrics.json").exists(), (
            "the run finished before it could be interrupted"
        )
        process.send_signal(number)
    finally:
        process.send_signal(signal.SIGCONT)
    return step
