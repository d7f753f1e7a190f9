"""Checkpoints trust nothing on disk: the ``latest`` pointer stays in its folder, links and devices
are refused before they are read, and a meta.json or training state of the wrong shape is a
one-line error naming the file, the key, what was expected and what was found."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import pytest
import torch

from hadamrnn.checkpoint import enclosing_checkpoint_area, latest_checkpoint, load_checkpoint
from hadamrnn.cli import main
from hadamrnn.errors import CheckpointError

from tiny_runs import TINY_OVERRIDES


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "demo"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(run), "--no-progress"]) == 0
    return run


@pytest.fixture
def run(trained, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(trained, copy)
    return copy


def step_dir(run: Path) -> Path:
    return run / "checkpoints" / "step_00000004"


def rewrite(checkpoint: Path, name: str, data: bytes) -> None:
    """Replace one file of a checkpoint and its manifest entry: a well-formed but wrong checkpoint."""
    (checkpoint / name).write_bytes(data)
    manifest = json.loads((checkpoint / "manifest.json").read_text())
    manifest[name] = hashlib.sha256(data).hexdigest()
    (checkpoint / "manifest.json").write_text(json.dumps(manifest))


def one_line_error(capsys, argv: list[str], *fragments: str) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hadamrnn: error: ") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


# -- the latest pointer -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "pointer",
    ["../../other/checkpoints/step_00000004", "/etc", "step_00000004/../../../other", "step_4", ""],
    ids=["relative-escape", "absolute", "dotdot-after-a-step", "not-a-step-name", "empty"],
)
def test_latest_pointing_outside_the_checkpoints_is_refused(run, tmp_path, capsys, pointer):
    other = tmp_path / "other" / "checkpoints"
    shutil.copytree(run / "checkpoints", other)  # a valid checkpoint that the pointer must not reach
    (run / "checkpoints" / "latest").write_text(pointer + "\n")
    with pytest.raises(CheckpointError, match="expected the name of a step_XXXXXXXX folder inside"):
        latest_checkpoint(run / "checkpoints")
    one_line_error(capsys, ["evaluate", str(run)], "checkpoint pointer", "latest", repr(pointer))


def test_a_step_folder_that_links_elsewhere_is_refused(run, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(step_dir(run), elsewhere)
    (run / "checkpoints" / "step_00000009").symlink_to(elsewhere, target_is_directory=True)
    (run / "checkpoints" / "latest").write_text("step_00000009\n")
    with pytest.raises(CheckpointError, match="got a link to"):
        load_checkpoint(run)


def test_latest_with_non_utf8_bytes_is_a_clear_error(run, capsys):
    (run / "checkpoints" / "latest").write_bytes(b"step_\xff\xfe\n")
    one_line_error(capsys, ["evaluate", str(run)], "expected the UTF-8 name of a step_XXXXXXXX folder, got non-UTF-8 bytes")


def test_latest_linked_to_a_huge_file_is_not_read(run, tmp_path, capsys):
    huge = tmp_path / "huge"
    with open(huge, "wb") as handle:
        handle.truncate(3 << 30)  # sparse: 3 GB that take no disk
    (run / "checkpoints" / "latest").unlink()
    (run / "checkpoints" / "latest").symlink_to(huge)
    one_line_error(capsys, ["evaluate", str(run)], "expected at most 256 bytes")


# -- files of a checkpoint -----------------------------------------------------------------------------------
def test_a_symlinked_checkpoint_file_is_refused_before_it_is_hashed(run, tmp_path, capsys, monkeypatch):
    huge = tmp_path / "huge.safetensors"
    with open(huge, "wb") as handle:
        handle.truncate(3 << 30)
    model = step_dir(run) / "model.safetensors"
    model.unlink()
    model.symlink_to(huge)
    hashed = []
    import hadamrnn.checkpoint as checkpoint_module

    monkeypatch.setattr(checkpoint_module, "_sha256", lambda path: hashed.append(path) or "0" * 64)
    one_line_error(capsys, ["evaluate", str(run)], "expected model.safetensors to be a regular file, got a symbolic link")
    assert hashed == []  # refused before any file was hashed


def test_a_fifo_in_a_checkpoint_is_refused_instead_of_blocking(run, capsys):
    meta = step_dir(run) / "meta.json"
    meta.unlink()
    os.mkfifo(meta)  # reading it would wait forever for a writer
    one_line_error(capsys, ["evaluate", str(run)], "expected meta.json to be a regular file, got another kind of file")


def test_a_folder_where_a_checkpoint_file_is_expected(run, capsys):
    model = step_dir(run) / "model.safetensors"
    model.unlink()
    model.mkdir()
    one_line_error(capsys, ["evaluate", str(run)], "expected model.safetensors to be a regular file")


@pytest.mark.parametrize(
    ("meta", "fragments"),
    [
        ([1, 2, 3], ("meta.json must hold a JSON object, got a JSON list",)),
        ({"step": 4}, ("expected key 'config' to be an object (the run config), got no such key",)),
        ({"step": "abc", "config": {}}, ("expected key 'step' to be an integer >= 0, got 'abc'",)),
        ({"step": -1, "config": {}}, ("expected key 'step' to be an integer >= 0, got -1",)),
        ({"step": True, "config": {}}, ("expected key 'step' to be an integer >= 0, got True",)),
        ({"step": 4, "config": []}, ("expected key 'config' to be an object (the run config), got a list",)),
    ],
    ids=["list", "no-config", "step-abc", "step-negative", "step-bool", "config-list"],
)
def test_meta_of_the_wrong_shape_is_a_clear_error(run, capsys, meta, fragments):
    rewrite(step_dir(run), "meta.json", json.dumps(meta).encode())
    one_line_error(capsys, ["evaluate", str(run)], "meta.json", *fragments)


def test_a_stored_config_that_is_not_a_config_is_a_clear_error(run, capsys):
    meta = json.loads((step_dir(run) / "meta.json").read_text())
    meta["config"]["train"]["epochs"] = "ten"
    rewrite(step_dir(run), "meta.json", json.dumps(meta).encode())
    one_line_error(capsys, ["evaluate", str(run)], "invalid config stored in", "train.epochs: expected an integer")


def resume_error(capsys, run: Path, *fragments: str) -> str:
    return one_line_error(capsys, ["train", "--resume", str(run), "--set", "train.epochs=2", "--no-progress"], *fragments)


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda meta: meta.pop("epochs_completed"), "expected key 'epochs_completed' to be an integer >= 0, got no such key"),
        (lambda meta: meta.update(epochs_completed="1"), "expected key 'epochs_completed' to be an integer >= 0, got '1'"),
        (lambda meta: meta.update(epochs_completed=5), "expected 'step' >= epochs_completed x batches per epoch = 20, got step 4"),
        (lambda meta: meta.update(history=None), "expected key 'history' to be an object of lists"),
        (lambda meta: meta["history"].update(train_loss=[0.5]), "expected one history entry per step (4)"),
        (lambda meta: meta.update(elapsed_seconds="soon"), "expected key 'elapsed_seconds' to be a finite number, got 'soon'"),
        (lambda meta: meta.update(provenance=[1]), "expected key 'provenance' to be an object, got [1]"),
    ],
    ids=["no-epochs", "epochs-string", "epochs-beyond-step", "history-null", "history-short", "elapsed-string", "provenance-list"],
)
def test_resume_from_meta_of_the_wrong_shape_is_a_clear_error(run, capsys, change, fragment):
    before = (run / "metrics.json").read_bytes()
    meta = json.loads((step_dir(run) / "meta.json").read_text())
    change(meta)
    rewrite(step_dir(run), "meta.json", json.dumps(meta).encode())
    resume_error(capsys, run, "meta.json", fragment)
    assert (run / "metrics.json").read_bytes() == before and not (run / "checkpoints" / "step_00000008").exists()


def saved_state(checkpoint: Path) -> dict:
    return torch.load(checkpoint / "training_state.pt", weights_only=True)


def rewrite_state(checkpoint: Path, state) -> None:
    path = checkpoint / "staged.pt"
    torch.save(state, path)
    rewrite(checkpoint, "training_state.pt", path.read_bytes())
    path.unlink()


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda state: state.update(torch_rng=torch.zeros(10, dtype=torch.uint8)), "expected key 'torch_rng' to be a torch.uint8 tensor of shape"),
        (lambda state: state.update(torch_rng=torch.zeros(5056)), "got torch.float32 tensor of shape (5056,)"),
        (lambda state: state.update(torch_rng=[1, 2]), "expected key 'torch_rng' to be a torch.uint8 tensor"),
        (lambda state: state.pop("optimizer"), "expected key 'optimizer' to be a state dict, got no such key"),
        (lambda state: state.update(scheduler=[1]), "expected key 'scheduler' to be a state dict, got a list"),
        (lambda state: state["optimizer"].update(state={0: {"step": "x"}}), "does not match the model"),
    ],
    ids=["rng-short", "rng-float", "rng-list", "no-optimizer", "scheduler-list", "optimizer-garbage"],
)
def test_resume_from_a_training_state_of_the_wrong_shape_is_a_clear_error(run, capsys, change, fragment):
    state = saved_state(step_dir(run))
    change(state)
    rewrite_state(step_dir(run), state)
    resume_error(capsys, run, "training_state.pt" if "match" not in fragment else "checkpoint", fragment)


def test_a_training_state_that_is_not_a_dict_is_a_clear_error(run, capsys):
    rewrite_state(step_dir(run), [1, 2, 3])
    resume_error(capsys, run, "training_state.pt: expected a dict, got a list")


# -- where outputs may go ---------------------------------------------------------------------------------------
def test_the_checkpoint_area_of_a_path(run, tmp_path):
    checkpoints = run / "checkpoints"
    assert enclosing_checkpoint_area(checkpoints / "step_00000004" / "model.safetensors") == step_dir(run)
    assert enclosing_checkpoint_area(checkpoints / "anything" / "deeper") == checkpoints
    assert enclosing_checkpoint_area(checkpoints / "latest") == checkpoints
    assert enclosing_checkpoint_area(run / "model.hrnn") is None
    assert enclosing_checkpoint_area(tmp_path / "checkpoints" / "x") is None  # a folder named so, but no run's
