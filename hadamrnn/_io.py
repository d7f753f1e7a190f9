"""Atomic writes: whoever reads a path sees its previous content or the complete new one, never a part.

A file is written to a temporary sibling, flushed to disk and renamed over its target; a directory
is filled in a staging sibling and renamed into place. The temporary names start with a dot and
end in ``.tmp``, and are removed when a write fails. New files and directories get the permissions
of an ordinary ``open`` or ``mkdir`` (``0o666`` and ``0o777`` less the umask), not the private
``0o600`` of :func:`tempfile.mkstemp`.

Only the standard library: the checkpoints, the tasks' caches, the exported model files and the
reports all write through here, and the numpy-only export path must not load torch.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "atomic_write_bytes",
    "atomic_write_text",
    "atomic_write_json",
    "atomic_directory",
    "temporary_target",
    "read_bounded",
]

#: Random temporary names tried before giving up (a clash is a 1 in 2**32 event).
_CREATE_ATTEMPTS = 100
_Created = TypeVar("_Created")


def _fsync_directory(path: str | Path) -> None:
    """Flush ``path``'s entries (a rename inside it) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _temporary_sibling(path: Path) -> Path:
    return path.parent / f".{path.name}.{secrets.token_hex(4)}.tmp"


_TEMPORARY_NAME = re.compile(r"\.(?P<target>.+)\.[0-9a-f]{8}\.tmp")


def temporary_target(name: str) -> str | None:
    """The name a temporary sibling called ``name`` was standing in for, or None if ``name`` is
    not one of this module's temporary names (``.<target>.<8 hex digits>.tmp``).

    A process killed in the middle of a write leaves its temporary sibling behind; whoever owns the
    directory afterwards finds the leftovers with this.
    """
    match = _TEMPORARY_NAME.fullmatch(name)
    return match["target"] if match else None


def read_bounded(path: str | Path, limit: int, what: str) -> bytes:
    """The bytes of the regular file ``path``, refusing more than ``limit`` of them.

    For small files whose name a user may point elsewhere (a pointer, a manifest): a link to a
    device or to a multi-gigabyte file is refused after ``limit + 1`` bytes, not read whole.
    Raises ``ValueError`` naming ``what``, the limit and the size found.
    """
    with open(path, "rb") as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{what} {str(path)!r}: expected at most {limit} bytes, got more")
    return data


def _create_temporary_sibling(path: Path, create: Callable[[Path], _Created]) -> tuple[_Created, Path]:
    """``create`` a new, unique temporary sibling of ``path`` (it must fail if the name exists)."""
    for _ in range(_CREATE_ATTEMPTS):
        temporary = _temporary_sibling(path)
        try:
            return create(temporary), temporary
        except FileExistsError:
            continue
    raise FileExistsError(
        f"expected a free temporary name next to {str(path)!r}, got {_CREATE_ATTEMPTS} random names already taken"
    )


def _new_file(path: Path) -> int:
    """An open descriptor on a new file, with mode 0o666 less the umask (as ``open`` gives)."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)


def _new_directory(path: Path) -> None:
    path.mkdir(0o777)  # less the umask, as any mkdir


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` through a temporary file, an fsync and a rename; returns ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = _create_temporary_sibling(path, _new_file)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)  # the rename itself survives a crash
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; returns ``path``."""
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, value: Any, *, indent: int | None = 2, sort_keys: bool = False) -> Path:
    """Write ``value`` as JSON (and a final newline) to ``path`` atomically; returns ``path``."""
    return atomic_write_text(path, json.dumps(value, indent=indent, sort_keys=sort_keys) + "\n")


def _fsync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root):
        for name in files:
            with open(Path(directory) / name, "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_directory(directory)


@contextmanager
def atomic_directory(path: str | Path) -> Iterator[Path]:
    """Fill a staging directory, then rename it to ``path`` as a whole.

    ``with atomic_directory(final) as staging:`` yields the empty staging directory, a sibling of
    ``path``; when the block ends without an error, every file in it is flushed to disk and it
    replaces ``path`` (an existing ``path`` is moved aside first, then deleted). When the block
    raises, the staging directory is deleted and ``path`` is left as it was.
    """
    final = Path(path)
    final.parent.mkdir(parents=True, exist_ok=True)
    _, staging = _create_temporary_sibling(final, _new_directory)
    try:
        yield staging
        _fsync_tree(staging)
        # A directory cannot be renamed over a non-empty one: the previous one goes aside first,
        # and is deleted only once the new one stands in its place.
        previous = _temporary_sibling(final) if final.exists() else None
        if previous is not None:
            os.replace(final, previous)
        try:
            os.replace(staging, final)
        except BaseException:
            if previous is not None:
                os.replace(previous, final)
            raise
        _fsync_directory(final.parent)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
