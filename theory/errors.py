"""Exceptions of :mod:`theory`.

Every error that a caller can provoke with a bad value is a ``ValueError`` subclass whose
message names the value received, so ``except ValueError`` still works; an argument of the wrong
type (a float or a bool where an int is needed) raises ``TypeError``. The two claim outcomes
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


class SizeLimitError(ValueError):
    """A size is larger than this package computes with; the message names the bound.

    Sizes are compared with their bound before anything is allocated or any long loop starts, so
    an order like 10**9 is refused at once instead of running out of memory.
    """


class DataTableError(ValueError):
    """A row of a data table in ``theory/data`` failed its exact check when the table was read."""


class ClaimFailed(Exception):
    """A verification check found a counterexample or a wrong value."""


class ClaimSkipped(Exception):
    """A verification check could not run here (e.g. the ``hadamrnn`` library is absent)."""


def require_int(name: str, value: object) -> int:
    """Return ``value`` if it is a Python ``int``, else raise ``TypeError`` naming ``name``.

    ``bool`` is refused although it subclasses ``int``: ``count_hadamard(True)`` is a mistake, not
    a request for order 1. Floats are refused even when integral, so that a size is never rounded.
    """
    if type(value) is not int:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    return value


def require_at_most(name: str, value: int, bound: int, what: str) -> int:
    """Return ``value`` if ``value <= bound``, else raise :class:`SizeLimitError` with the bound.

    ``what`` says what the bound is for, e.g. "the largest order theory.hadamard builds".
    """
    if value > bound:
        raise SizeLimitError(f"{name} must be at most {bound} ({what}), got {value}")
    return value


def require(condition: bool, message: str) -> None:
    """Raise :class:`ClaimFailed` with ``message`` unless ``condition`` holds.

    Checks use this instead of ``assert`` so that they still check under ``python -O``.
    """
    if not condition:
        raise ClaimFailed(message)
