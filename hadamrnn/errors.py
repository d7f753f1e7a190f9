"""Exceptions raised by hadamrnn.

Every error is a :class:`ValueError` (or :class:`FileNotFoundError`) subclass whose message names
what was expected and what was received, so that ``except ValueError`` keeps working for callers
that do not care about the distinction. :class:`TrainingInterrupted` is the exception: it is no bad
input but a stop on request, a :class:`KeyboardInterrupt`, so that code that stops on Ctrl-C
stops on it too. :func:`describe_os_error` turns an operating-system error into the same kind of
one-line message.
"""

from __future__ import annotations

import errno
import os
import signal

__all__ = [
    "HadamRNNError",
    "HiddenSizeError",
    "BlockSizeError",
    "ShapeError",
    "BitsError",
    "ConfigError",
    "CheckpointError",
    "CheckpointNotFoundError",
    "DataError",
    "DataNotFoundError",
    "RunDirectoryInUseError",
    "TrainingInterrupted",
    "describe_os_error",
]


class HadamRNNError(ValueError):
    """Base class of the errors raised for bad input."""


class HiddenSizeError(HadamRNNError):
    """A hidden size with no Hadamard matrix that the library builds (not ``r · 2^k``, ``r`` a base order)."""


class BlockSizeError(HadamRNNError):
    """A block size that is not a supported Hadamard order dividing the hidden size."""


class ShapeError(HadamRNNError):
    """A tensor of the wrong rank, size or dtype."""


class BitsError(HadamRNNError):
    """A quantization bit-width outside the supported range."""


class ConfigError(HadamRNNError):
    """An invalid, unknown or inconsistent configuration."""


class CheckpointError(HadamRNNError):
    """A checkpoint that is truncated, corrupted or does not match the run."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint that does not exist."""


class DataError(HadamRNNError):
    """A data file that is malformed, truncated or holds values outside the task's range."""


class DataNotFoundError(DataError, FileNotFoundError):
    """A data directory or data file that does not exist."""


class RunDirectoryInUseError(HadamRNNError):
    """A run directory that another process holds (it is training there)."""


class TrainingInterrupted(KeyboardInterrupt):
    """Training stopped on SIGINT or SIGTERM, after its current step and a checkpoint.

    Attributes:
        signal_number: the signal received (``signal.SIGINT`` or ``signal.SIGTERM``).
        step: the optimizer steps completed, all of them in ``checkpoint``.
        checkpoint: the checkpoint folder written at the stop (the run resumes from it exactly).
        resume_command: the command line that continues the run, when the caller knows it.
    """

    def __init__(self, signal_number: int, step: int, checkpoint: os.PathLike | str, resume_command: str | None = None):
        self.signal_number = signal_number
        self.step = step
        self.checkpoint = checkpoint
        self.resume_command = resume_command
        super().__init__(f"training stopped by {self.signal_name} after step {step}; checkpoint: {checkpoint}")

    @property
    def signal_name(self) -> str:
        try:
            return signal.Signals(self.signal_number).name
        except ValueError:
            return f"signal {self.signal_number}"

    @property
    def exit_status(self) -> int:
        """``128 + signal``, what a shell reports for a process the signal ended (130, 143)."""
        return 128 + self.signal_number


#: What an operating-system error meant, by errno, for messages that say what was expected.
_OS_ERROR_MEANINGS = {
    errno.ENOSPC: "expected free space on its device, found the device full",
    errno.EDQUOT: "expected free space within the disk quota, found the quota exceeded",
    errno.ENOTDIR: "expected a folder on its path, found a file",
    errno.EISDIR: "expected a file, found a folder",
    errno.EEXIST: "expected a folder or nothing there, found a file",
    errno.EACCES: "expected permission to access it, found it denied",
    errno.EPERM: "expected permission to access it, found it denied",
    errno.EROFS: "expected a writable file system, found a read-only one",
    errno.ENOENT: "expected it to exist, found nothing there",
    errno.ENAMETOOLONG: "expected a shorter name, found one too long for the file system",
    errno.ENOTEMPTY: "expected an empty folder, found one with files in it",
}


def describe_os_error(error: OSError) -> str:
    """One line naming the file, what was expected and what was found, for an ``OSError``.

    Example:
        >>> describe_os_error(IsADirectoryError(errno.EISDIR, "Is a directory", "out.hrnn"))
        "'out.hrnn': expected a file, found a folder (Is a directory)"
    """
    names = [name for name in (error.filename, error.filename2) if name is not None]
    where = " -> ".join(repr(os.fsdecode(name)) for name in names) or "a file"
    meaning = _OS_ERROR_MEANINGS.get(error.errno)
    reason = error.strerror or str(error)
    if meaning is None:
        return f"{where}: {reason}"
    return f"{where}: {meaning} ({reason})"
