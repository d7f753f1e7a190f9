"""Run directories: one process at a time in each, and never inside a checkpoint.

A training process *claims* its run directory before it writes anything there, and holds it until
it exits: an exclusive lock (``fcntl.flock``) on the file ``.hadamrnn.lock`` in the directory,
which also records who holds it (process id, host, start time and command line). A second process
that claims the same directory, to train a new run or to resume it, is refused with a message that
names the holder, instead of overwriting the first one's checkpoints and metrics.

The lock file is deleted when the claim is released, so a finished (or refused) run leaves nothing
behind. The operating system drops the lock when its process ends, however it ends: the file that a
SIGKILL leaves is unlocked, and the next claim takes it over. Because the file can be deleted, a
claim checks after locking that the file it locked is still the one at that path, and tries again
otherwise.

Where ``fcntl`` does not exist (Windows), the claim is the atomic creation of the lock file
instead; a process killed there leaves it, and the message says to delete it.

Only the standard library.
"""

from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

from .errors import HadamRNNError, RunDirectoryInUseError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["LOCK_FILE", "RunDirectoryClaim", "claim_run_directory", "claim_new_run_directory"]

#: The lock file inside a claimed run directory.
LOCK_FILE = ".hadamrnn.lock"


class RunDirectoryClaim:
    """A run directory held by this process; :meth:`release` (or the end of a ``with``) frees it."""

    def __init__(self, path: Path, descriptor: int, created: bool = False):
        self.path = path
        self.created = created  # the claim created the directory (it was not there before)
        self._descriptor: int | None = descriptor

    @property
    def held(self) -> bool:
        return self._descriptor is not None

    def release(self, remove_if_unused: bool = False) -> None:
        """Free the directory and delete its lock file (idempotent).

        ``remove_if_unused`` also deletes the directory when this claim created it and nothing was
        written there (a run that failed before its first file leaves no empty folder).
        """
        if self._descriptor is None:
            return
        descriptor, self._descriptor = self._descriptor, None
        # Deleted while still locked: a process waiting to claim then finds that the file it
        # locked is no longer at the path, and starts again on a new one (see claim_run_directory).
        try:
            (self.path / LOCK_FILE).unlink(missing_ok=True)
        finally:
            os.close(descriptor)
        if remove_if_unused and self.created:
            try:
                self.path.rmdir()
            except OSError:  # not empty (the run wrote something), or already gone
                pass

    def __enter__(self) -> RunDirectoryClaim:
        return self

    def __exit__(self, *exc_info) -> None:
        self.release()

    def __del__(self) -> None:  # a claim dropped without release still frees the directory
        self.release()


def _holder_record() -> bytes:
    command = " ".join(sys.argv) or sys.executable
    started = time.strftime("%Y-%m-%d %H:%M:%S")
    return f"pid {os.getpid()} on {socket.gethostname()}, since {started}: {command}\n".encode("utf-8", "replace")


def _describe_holder(lock_path: Path) -> str:
    try:
        with open(lock_path, "rb") as handle:
            record = handle.read(4096).decode("utf-8", "replace").strip()
    except OSError:
        record = ""
    # The holder writes its record right after it locks: an empty record means it has just started.
    return f"process {record}" if record else "another process (which has just started and not yet recorded its id)"


def _locked_descriptor(lock_path: Path, run_dir: Path, purpose: str) -> int:
    """An open descriptor on ``lock_path`` holding its exclusive flock (never blocks)."""
    while True:
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise RunDirectoryInUseError(
                f"cannot {purpose} {str(run_dir)!r}: expected no other process there, found "
                f"{_describe_holder(lock_path)}; wait for it to finish or choose another directory "
                "(nothing was written)"
            ) from None
        except BaseException:
            os.close(descriptor)
            raise
        try:
            current = os.stat(lock_path)
        except FileNotFoundError:
            current = None
        locked = os.fstat(descriptor)
        if current is not None and (current.st_dev, current.st_ino) == (locked.st_dev, locked.st_ino):
            return descriptor
        os.close(descriptor)  # its holder released it between our open and our lock: try again


def claim_run_directory(path: str | Path, *, must_be_empty: bool = False, purpose: str = "train in") -> RunDirectoryClaim:
    """Claim the run directory ``path`` (created if missing) for this process.

    Args:
        path: the run directory.
        must_be_empty: refuse a directory that holds anything but the lock file (a new run must
            not mix with an old one).
        purpose: what the claim is for, in the messages (``"train in"``, ``"resume"``).

    Raises:
        RunDirectoryInUseError: another process holds it; the message names that process.
        HadamRNNError: ``must_be_empty`` and the directory holds files.
        OSError: the directory cannot be created or the lock file opened (a file in the way,
            permissions, a full disk).
    """
    run_dir = Path(path)
    created = not run_dir.exists()
    run_dir.mkdir(parents=True, exist_ok=True)
    lock_path = run_dir / LOCK_FILE
    if fcntl is None:  # pragma: no cover - Windows
        try:
            descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            raise RunDirectoryInUseError(
                f"cannot {purpose} {str(run_dir)!r}: expected no other process there, found "
                f"{_describe_holder(lock_path)} (lock file {str(lock_path)!r}; delete it if that process is gone)"
            ) from None
    else:
        descriptor = _locked_descriptor(lock_path, run_dir, purpose)
    claim = RunDirectoryClaim(run_dir, descriptor, created)
    try:
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, _holder_record(), 0)
        if must_be_empty:
            others = sorted(entry.name for entry in run_dir.iterdir() if entry.name != LOCK_FILE)
            if others:
                raise HadamRNNError(
                    f"run directory {str(run_dir)!r} already exists and is not empty (it holds "
                    f"{', '.join(others[:5])}{', …' if len(others) > 5 else ''}); pass --resume to continue it, "
                    "or choose another --out (nothing was overwritten)"
                )
    except BaseException:
        claim.release()
        raise
    return claim


def claim_new_run_directory(parent: str | Path, name: str) -> RunDirectoryClaim:
    """Create and claim ``parent/name``, or ``parent/name-2``, ``-3``… when it exists.

    The folder is created with an atomic ``mkdir``, so two processes that start in the same second
    with the same name get two folders. ``name`` must be one folder name (no separator, not
    ``..``): a run never lands outside ``parent``.
    """
    if not name or name in (".", "..") or "/" in name or (os.sep in name) or (os.altsep and os.altsep in name):
        raise HadamRNNError(f"a run name must be a single folder name, got {name!r}")
    parent = Path(parent)
    parent.mkdir(parents=True, exist_ok=True)
    suffix = 1
    while True:
        candidate = parent / (name if suffix == 1 else f"{name}-{suffix}")
        try:
            candidate.mkdir()
        except FileExistsError:
            suffix += 1
            continue
        claim = claim_run_directory(candidate, must_be_empty=True)
        claim.created = True
        return claim
