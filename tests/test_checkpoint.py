import json
import os
import stat

import pytest
import torch

from hadamrnn import CheckpointError, CheckpointNotFoundError, load_checkpoint, save_checkpoint
from hadamrnn._io import atomic_write_text
from hadamrnn.checkpoint import latest_checkpoint


def make(tmp_path, step=1, keep=2):
    model = {"w": torch.arange(6.0).reshape(2, 3), "b": torch.tensor([1.5])}
    state = {"optimizer": {"state": {0: {"exp_avg": torch.ones(3)}}, "param_groups": [{"lr": 0.1}]}, "torch_rng": torch.get_rng_state()}
    return save_checkpoint(tmp_path, step, model, state, {"config": {"name": "t"}, "history": [1.0, 2.0]}, keep=keep)


def test_round_trip(tmp_path):
    path = make(tmp_path, step=7)
    checkpoint = load_checkpoint(path)
    assert checkpoint.meta["step"] == 7 and checkpoint.meta["history"] == [1.0, 2.0]
    assert torch.equal(checkpoint.model_state["w"], torch.arange(6.0).reshape(2, 3))
    assert torch.equal(checkpoint.training_state["optimizer"]["state"][0]["exp_avg"], torch.ones(3))
    assert torch.equal(checkpoint.training_state["torch_rng"], torch.get_rng_state())


@pytest.mark.parametrize("mask", [0o022, 0o027])
def test_checkpoint_files_follow_the_umask(tmp_path, mask):
    previous = os.umask(mask)
    try:
        path = make(tmp_path)
    finally:
        os.umask(previous)
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in [path, *path.iterdir(), tmp_path / "latest"]}
    assert modes == {
        path.name: 0o777 & ~mask,
        **{name: 0o666 & ~mask for name in ("model.safetensors", "training_state.pt", "meta.json", "manifest.json", "latest")},
    }


def test_weights_only_round_trip(tmp_path):
    path = save_checkpoint(tmp_path, 5, {"w": torch.arange(3.0)}, None, {"config": {"name": "t"}})
    assert not (path / "training_state.pt").exists()
    assert set(json.loads((path / "manifest.json").read_text())) == {"model.safetensors", "meta.json"}
    checkpoint = load_checkpoint(tmp_path)
    assert checkpoint.training_state is None and checkpoint.meta["step"] == 5
    assert torch.equal(checkpoint.model_state["w"], torch.arange(3.0))


def test_manifest_listing_other_files_is_refused(tmp_path):
    path = make(tmp_path)
    manifest = json.loads((path / "manifest.json").read_text())
    del manifest["meta.json"]
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="must list .*for weights only"):
        load_checkpoint(path)


def test_latest_and_retention(tmp_path):
    for step in (1, 2, 3):
        make(tmp_path, step=step, keep=2)
    assert sorted(p.name for p in tmp_path.glob("step_*")) == ["step_00000002", "step_00000003"]
    assert latest_checkpoint(tmp_path).name == "step_00000003"
    assert load_checkpoint(tmp_path).meta["step"] == 3
    assert not list(tmp_path.glob(".*tmp"))


def test_missing(tmp_path):
    with pytest.raises(CheckpointNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "absent")
    with pytest.raises(CheckpointNotFoundError, match="no checkpoint found"):
        load_checkpoint(tmp_path)


@pytest.mark.parametrize("name", ["model.safetensors", "training_state.pt", "meta.json"])
def test_truncated_file(tmp_path, name):
    path = make(tmp_path)
    data = (path / name).read_bytes()
    (path / name).write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match=f"corrupted checkpoint .*{name}"):
        load_checkpoint(path)


def test_flipped_byte(tmp_path):
    path = make(tmp_path)
    data = bytearray((path / "model.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (path / "model.safetensors").write_bytes(bytes(data))
    with pytest.raises(CheckpointError, match="SHA-256"):
        load_checkpoint(path)


def test_corrupt_manifest_and_missing_file(tmp_path):
    path = make(tmp_path)
    (path / "meta.json").unlink()
    with pytest.raises(CheckpointError, match="meta.json is missing"):
        load_checkpoint(path)
    (path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="unreadable manifest.json"):
        load_checkpoint(path)


def test_pickle_payload_is_refused(tmp_path):
    """A training state that needs arbitrary unpickling is rejected, not executed."""
    path = make(tmp_path)

    class Evil:
        def __reduce__(self):
            return (print, ("pwned",))

    torch.save({"x": Evil()}, path / "training_state.pt")
    manifest = json.loads((path / "manifest.json").read_text())
    import hashlib

    manifest["training_state.pt"] = hashlib.sha256((path / "training_state.pt").read_bytes()).hexdigest()
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="corrupted checkpoint"):
        load_checkpoint(path)


def test_atomic_write_leaves_no_partial_file(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    atomic_write_text(target, "old")

    def fail(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr("os.replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
