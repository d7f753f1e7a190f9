"""Exceptions raised by hadamrnn.

Every error is a :class:`ValueError` (or :class:`FileNotFoundError`) subclass whose message names
what was expected and what was received, so that ``except ValueError`` keeps working for callers
that do not care about the distinction.
"""

from __future__ import annotations

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
