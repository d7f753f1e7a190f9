"""Errors of the deployment path (numpy-only, like the rest of what the runtime imports)."""

from __future__ import annotations

from ..errors import HadamRNNError

__all__ = ["ExportError", "ModelFileError"]


class ExportError(HadamRNNError):
    """A model, calibration or option that cannot be turned into an integer model."""


class ModelFileError(HadamRNNError):
    """A ``.hrnn`` file that is truncated, corrupted, of another version or out of bounds."""
