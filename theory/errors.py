"""Exceptions of :mod:`theory`.

Every error that a caller can provoke with a bad argument is a ``ValueError`` subclass whose
message names the value received, so ``except ValueError`` still works. The two claim outcomes
(:class:`ClaimFailed`, :class:`ClaimSkipped`) are not errors of the caller and derive from
``Exception`` directly.
"""

from __future__ import annotations


class HadamardOrderError(ValueError):
    """No Hadamard matrix of the requested order can be returned, and the message says why."""


class ConstructionError(ValueError):
    """A construction was given parameters outside its domain (e.g. Paley I with q ≡ 1 mod 4)."""


class FieldOrderError(ValueError):
    """A finite field was requested for an order that is not a prime power."""


class ClaimFailed(Exception):
    """A verification check found a counterexample or a wrong value."""


class ClaimSkipped(Exception):
    """A verification check could not run here (e.g. the ``hadamrnn`` library is absent)."""


def require(condition: bool, message: str) -> None:
    """Raise :class:`ClaimFailed` with ``message`` unless ``condition`` holds.

    Checks use this instead of ``assert`` so that they still check under ``python -O``.
    """
    if not condition:
        raise ClaimFailed(message)
