"""Atomic writes (hadamrnn._io): whole files and whole directories, with the umask's permissions.

A failed file write is tested in test_checkpoint.py."""

import json
import os
import stat
from pathlib import Path

import pytest

from hadamrnn._io import atomic_directory, atomic_write_bytes, atomic_write_json, atomic_write_text


@pytest.fixture
def umask():
    """Set a umask for one test, and restore the previous one after it."""
    previous = os.umask(0o022)
    yield lambda mask: os.umask(mask)
    os.umask(previous)


def mode_of(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.mark.parametrize("mask", [0o022, 0o027, 0o002])
def test_written_files_and_directories_follow_the_umask(tmp_path, umask, mask):
    umask(mask)
    atomic_write_bytes(tmp_path / "data.bin", b"\x00\x01")
    atomic_write_text(tmp_path / "page.md", "text\n")
    atomic_write_json(tmp_path / "metrics.json", {"a": 1})
    for name in ("data.bin", "page.md", "metrics.json"):
        assert mode_of(tmp_path / name) == 0o666 & ~mask, name
    with atomic_directory(tmp_path / "checkpoint") as staging:
        (staging / "weights").write_bytes(b"w")
    assert mode_of(tmp_path / "checkpoint") == 0o777 & ~mask


def test_json_is_written_with_a_final_newline(tmp_path):
    path = atomic_write_json(tmp_path / "sub" / "metrics.json", {"b": 2, "a": [1, 2]}, sort_keys=True)
    assert path == tmp_path / "sub" / "metrics.json"
    assert path.read_text() == json.dumps({"a": [1, 2], "b": 2}, indent=2) + "\n"
    atomic_write_json(path, {"b": 2}, indent=None)
    assert path.read_text() == '{"b": 2}\n'


def test_a_directory_replaces_the_previous_one_as_a_whole(tmp_path):
    final = tmp_path / "step_00000004"
    with atomic_directory(final) as staging:
        assert staging.parent == tmp_path and staging != final and not final.exists()
        (staging / "old.txt").write_text("old")
    with atomic_directory(final) as staging:
        (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000004"]


def test_a_failed_directory_write_keeps_the_previous_one_and_leaves_nothing(tmp_path):
    final = tmp_path / "step_00000004"
    with atomic_directory(final) as staging:
        (staging / "kept.txt").write_text("kept")
    with pytest.raises(RuntimeError, match="killed"):
        with atomic_directory(final) as staging:
            (staging / "partial.txt").write_text("partial")
            raise RuntimeError("killed while writing")
    assert sorted(p.name for p in final.iterdir()) == ["kept.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000004"]


def test_a_failed_rename_puts_the_previous_directory_back(tmp_path, monkeypatch):
    final = tmp_path / "step_00000004"
    with atomic_directory(final) as staging:
        (staging / "kept.txt").write_text("kept")
    real_replace = os.replace

    def fail_on_the_staging_directory(source, target):
        if str(target) == str(final) and (Path(source) / "new.txt").exists():
            raise OSError("rename refused")
        return real_replace(source, target)

    monkeypatch.setattr("os.replace", fail_on_the_staging_directory)
    with pytest.raises(OSError, match="rename refused"):
        with atomic_directory(final) as staging:
            (staging / "new.txt").write_text("new")
    assert sorted(p.name for p in final.iterdir()) == ["kept.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["step_00000004"]
