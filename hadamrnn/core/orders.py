"""The orders of the Hadamard matrices the library builds, and the checks of hidden and block sizes.

A Hadamard matrix of order ``n`` can exist only for ``n = 1, 2`` or a multiple of 4. The library
builds the orders ``n = r · 2^k`` with ``r`` in :data:`BASE_ORDERS`, by Kronecker products of a
base matrix of order ``r`` with the Sylvester matrix ``S_{2^k}``. Sylvester's construction alone
gives ``r = 1``: today the hidden sizes are the powers of two.

Adding a construction of another base order (a Paley matrix of order 12, say) means adding ``r`` to
:data:`BASE_ORDERS` and saying so in :data:`HIDDEN_SIZE_RULE`: every check of a hidden size in
the library calls :func:`check_hidden_size`, so every entry point then accepts ``12 · 2^k``.
Code that needs a Sylvester order itself (the butterflies of the FWHT, the block ``S_m`` of
Block-HadamRNN, the fixed-point ``1/√m``) checks :func:`check_sylvester_order`, which stays the
powers of two.

Every check returns the value as a Python ``int`` or raises an exception whose message names the
value received and the rule. The default exceptions are the library's
:class:`~hadamrnn.errors.HiddenSizeError` and :class:`~hadamrnn.errors.BlockSizeError`; a caller
that reports in its own exception type (a file reader, the packed formats) passes it as ``error``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BlockSizeError, HiddenSizeError

__all__ = [
    "BASE_ORDERS",
    "SYLVESTER_RULE",
    "HIDDEN_SIZE_RULE",
    "is_power_of_two",
    "is_supported_order",
    "check_sylvester_order",
    "check_hidden_size",
    "check_block_size",
]

BASE_ORDERS: tuple[int, ...] = (1,)
"""The orders ``r`` of the base Hadamard matrices: the supported orders are ``r · 2^k``."""

SYLVESTER_RULE = "a power of two (1, 2, 4, ..., the orders of the Sylvester Hadamard matrices)"
"""The rule of :func:`check_sylvester_order`, as its messages state it."""

HIDDEN_SIZE_RULE = SYLVESTER_RULE
"""The rule of :func:`check_hidden_size`, as its messages state it; it changes with
:data:`BASE_ORDERS` (which holds the Sylvester order 1 alone today)."""


def _as_int(value: Any) -> int | None:
    """``value`` as a Python int when it is an integer (numpy integers included, bools not)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        return None
    return int(value)


def is_power_of_two(n: Any) -> bool:
    """Whether ``n`` is an integer ``2^k`` with ``k >= 0`` (bools and floats are not).

    Example:
        >>> [is_power_of_two(n) for n in (1, 2, 12, 0, 4.0)]
        [True, True, False, False, False]
    """
    value = _as_int(n)
    # A power of two has a single set bit, which ``value & (value - 1)`` clears.
    return value is not None and value >= 1 and value & (value - 1) == 0


def is_supported_order(n: Any) -> bool:
    """Whether the library builds a Hadamard matrix of order ``n``: ``n = r · 2^k``, ``r`` in
    :data:`BASE_ORDERS`."""
    value = _as_int(n)
    if value is None or value < 1:
        return False
    return any(value % base == 0 and is_power_of_two(value // base) for base in BASE_ORDERS)


def check_sylvester_order(n: Any, name: str = "n", *, error: type[Exception] = HiddenSizeError) -> int:
    """Return ``n`` if it is the order of a Sylvester matrix (a power of two), else raise.

    Raises:
        HiddenSizeError: (or ``error``) ``n`` is not a power of two; the message names ``name``,
            the rule and ``n``.
    """
    if not is_power_of_two(n):
        raise error(f"{name} must be {SYLVESTER_RULE}, got {n!r}")
    return int(n)


def check_hidden_size(n: Any, name: str = "hidden_size", *, error: type[Exception] = HiddenSizeError) -> int:
    """Return ``n`` if the library builds a Hadamard matrix of that order, else raise.

    Example:
        >>> check_hidden_size(96)
        Traceback (most recent call last):
        ...
        hadamrnn.errors.HiddenSizeError: hidden_size must be a power of two (1, 2, 4, ...), got 96

    Raises:
        HiddenSizeError: (or ``error``) ``n`` is not a supported order (:data:`HIDDEN_SIZE_RULE`).
    """
    if not is_supported_order(n):
        raise error(f"{name} must be {HIDDEN_SIZE_RULE}, got {n!r}")
    return int(n)


def check_block_size(n: int, block_size: Any, *, error: type[Exception] = BlockSizeError) -> int:
    """Return the block size ``m`` (``n`` when ``block_size`` is None), else raise.

    A block is a Sylvester matrix ``S_m``, so ``m`` must be a power of two dividing ``n``. ``n`` is
    a hidden size that :func:`check_hidden_size` accepted, or, for the packed formats, any positive
    number ``q · m`` of rows (``q`` blocks).

    Example:
        >>> check_block_size(16, 4), check_block_size(16, None)
        (4, 16)
        >>> check_block_size(16, 3)
        Traceback (most recent call last):
        ...
        hadamrnn.errors.BlockSizeError: block_size must be a power of two dividing hidden_size=16 (...), got 3

    Raises:
        BlockSizeError: (or ``error``) ``block_size`` is not a power of two dividing ``n``; the
            message lists the block sizes that ``n`` allows.
    """
    if block_size is None:
        return n
    if not (is_power_of_two(block_size) and n % block_size == 0):
        raise error(
            f"block_size must be a power of two dividing hidden_size={n} ({_block_sizes_of(n)}), got {block_size!r}"
        )
    return int(block_size)


def _block_sizes_of(n: int) -> str:
    """The block sizes ``n`` allows, as a message lists them: ``1, 2, 4`` or ``1, 2, 4, ..., 64``."""
    value = _as_int(n)
    if value is None or value < 1:
        return "none"
    largest = value & -value  # the largest power of two dividing n
    if largest <= 8:
        return ", ".join(str(1 << k) for k in range(largest.bit_length()))
    return f"1, 2, 4, ..., {largest}"
