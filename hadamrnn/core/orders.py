r"""The orders of the Hadamard matrices the library builds, and the checks of hidden and block sizes.

A Hadamard matrix of order ``n`` can exist only for ``n = 1, 2`` or a multiple of 4. The library
builds the orders ``n = r · 2^k`` with ``r`` in :data:`BASE_ORDERS`: the matrix is
``H_r ⊗ S_{2^k}``, the Kronecker product of the canonical base matrix ``H_r``
(:mod:`hadamrnn.core.base_matrices`) with the Sylvester matrix ``S_{2^k}``.

:data:`BASE_ORDERS` holds ``r = 1`` (Sylvester alone: the powers of two) and, for every odd number
``o > 1``, the smallest order ``r = o · 2^a <= MAX_BASE_ORDER`` that Paley's constructions build
from a *prime* ``q``: Paley I (``r = q + 1``, ``q ≡ 3 mod 4``) or Paley II (``r = 2(q + 1)``,
``q ≡ 1 mod 4``). Distinct base orders have distinct odd parts, so every supported ``n`` splits in
exactly one way, ``n = r · 2^k`` (:func:`split_order`), and the ``r × r`` part of a product with
the matrix is as small as it can be: ``96 = 12 · 8`` is ``H_12 ⊗ S_8``, and ``24`` is
``H_12 ⊗ S_2``, not the Paley I matrix of ``q = 23``. Orders that need a prime power ``q``
(``52``, from ``GF(25)``; ``100``, from ``GF(49)``) or another construction (``92``) are not
supported; ``104 = 13 · 8`` and ``200 = 25 · 8`` are, from the primes 103 and 199.

Adding a base order (from a new construction, or a larger bound) means adding ``r`` here and its
construction in :mod:`hadamrnn.core.base_matrices`: every check of a hidden or block size calls
:func:`check_hidden_size` or :func:`check_block_size`, so every entry point then accepts
``r · 2^k``. Code that needs a Sylvester order itself (the butterflies of the FWHT) checks
:func:`check_sylvester_order`, which stays the powers of two.

Every check returns the value as a Python ``int`` or raises an exception whose message names the
value received, the rule and, for an integer, the nearest values the rule allows. The default
exceptions are the library's :class:`~hadamrnn.errors.HiddenSizeError` and
:class:`~hadamrnn.errors.BlockSizeError`; a caller that reports in its own exception type (a file
reader, the packed formats) passes it as ``error``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..errors import BlockSizeError, HiddenSizeError

__all__ = [
    "BASE_ORDERS",
    "MAX_BASE_ORDER",
    "SYLVESTER_RULE",
    "HIDDEN_SIZE_RULE",
    "BLOCK_SIZE_RULE",
    "is_power_of_two",
    "is_supported_order",
    "split_order",
    "available_orders",
    "nearest_supported_orders",
    "block_sizes",
    "check_sylvester_order",
    "check_hidden_size",
    "check_block_size",
]

MAX_BASE_ORDER = 256
"""The largest base order: ``H_r ⊗ S_{2^k}`` costs ``r`` additions per entry for its ``r × r`` part
(against ``k`` for the butterflies), so larger ``r`` would give little over a dense product."""

BASE_ORDERS: tuple[int, ...] = (
    1, 12, 20, 28, 36, 44, 60, 68, 76, 84, 104, 108, 124, 132,
    140, 148, 164, 180, 196, 200, 204, 212, 220, 228, 252,
)  # fmt: skip
"""The orders ``r`` of the base matrices, in increasing order: the supported orders are
``r · 2^k``. Written out, not computed, so that the set of sizes (and each size's split) is a
fixed part of the library; the tests recompute it from its rule (module docstring)."""

SYLVESTER_RULE = "a power of two (1, 2, 4, ..., the orders of the Sylvester Hadamard matrices)"
"""The rule of :func:`check_sylvester_order`, as its messages state it."""

HIDDEN_SIZE_RULE = (
    f"a supported Hadamard order r * 2^k with r in BASE_ORDERS = ({', '.join(map(str, BASE_ORDERS[:6]))}, ..., "
    f"{BASE_ORDERS[-1]})"
)
"""The rule of :func:`check_hidden_size`, as its messages state it."""

BLOCK_SIZE_RULE = "a supported Hadamard order dividing hidden_size"
"""The rule of :func:`check_block_size`, as its messages state it (followed by ``=n``)."""


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


def _odd_part(value: int) -> int:
    return value // (value & -value)  # value & -value: the largest power of two dividing value


def _split(value: int) -> tuple[int, int] | None:
    """``(r, 2^k)`` with ``value = r · 2^k`` and ``r`` in :data:`BASE_ORDERS`, or None.

    :data:`BASE_ORDERS` is read at each call (it is the one place that says which orders exist);
    its orders have distinct odd parts, so at most one of them fits."""
    if value < 1:
        return None
    odd = _odd_part(value)
    for base in BASE_ORDERS:
        if _odd_part(base) == odd and value % base == 0:
            return base, value // base
    return None


def is_supported_order(n: Any) -> bool:
    """Whether the library builds a Hadamard matrix of order ``n``: ``n = r · 2^k``, ``r`` in
    :data:`BASE_ORDERS`.

    Example:
        >>> [n for n in range(1, 50) if is_supported_order(n)]
        [1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48]
    """
    value = _as_int(n)
    return value is not None and _split(value) is not None


def split_order(n: Any, name: str = "n", *, error: type[Exception] = HiddenSizeError) -> tuple[int, int]:
    """``(r, c)`` with ``n = r · c``, ``r`` in :data:`BASE_ORDERS` and ``c`` a power of two: the
    matrix of order ``n`` is ``H_r ⊗ S_c``.

    Example:
        >>> split_order(96), split_order(24), split_order(64)
        ((12, 8), (12, 2), (1, 64))

    Raises:
        HiddenSizeError: (or ``error``) ``n`` is not a supported order.
    """
    parts = _split(check_hidden_size(n, name, error=error))
    assert parts is not None  # check_hidden_size accepted n
    return parts


def available_orders(below: int) -> tuple[int, ...]:
    """Every supported order ``n < below``, in increasing order.

    Example:
        >>> available_orders(below=50)
        (1, 2, 4, 8, 12, 16, 20, 24, 28, 32, 36, 40, 44, 48)

    Raises:
        HiddenSizeError: ``below`` is not an integer.
    """
    limit = _as_int(below)
    if limit is None:
        raise HiddenSizeError(f"below must be an integer, got {below!r}")
    found = set()
    for base in BASE_ORDERS:
        order = base
        while order < limit:
            found.add(order)
            order *= 2
    return tuple(sorted(found))


def nearest_supported_orders(n: Any) -> tuple[int, ...]:
    """The supported orders nearest to ``n``: the largest one below and the smallest one above (one
    of them when ``n`` is below 1), or ``(n,)`` itself when it is supported.

    Example:
        >>> nearest_supported_orders(100), nearest_supported_orders(96), nearest_supported_orders(0)
        ((96, 104), (96,), (1,))

    Raises:
        HiddenSizeError: ``n`` is not an integer.
    """
    value = _as_int(n)
    if value is None:
        raise HiddenSizeError(f"n must be an integer, got {n!r}")
    if is_supported_order(value):
        return (value,)
    if value < 1:
        return (1,)
    below, above = 1, None
    for base in BASE_ORDERS:  # per base order, the multiples r · 2^k on each side of value
        order = base
        while order < value:
            below = max(below, order)
            order *= 2
        above = order if above is None else min(above, order)
    return below, above


def block_sizes(n: Any) -> tuple[int, ...]:
    """The block sizes a hidden size ``n`` allows (any positive ``n``: the packed formats take any
    number of rows): every supported order that divides ``n``, in increasing order.

    Example:
        >>> block_sizes(96)
        (1, 2, 4, 8, 12, 16, 24, 32, 48, 96)
        >>> block_sizes(6)
        (1, 2)
    """
    value = _as_int(n)
    if value is None or value < 1:
        return ()
    return tuple(m for m in available_orders(value + 1) if value % m == 0)


def _listing(values: tuple[int, ...]) -> str:
    """``values`` as a message lists them: all of them, or the first and last few."""
    if len(values) <= 8:
        return ", ".join(map(str, values))
    return f"{', '.join(map(str, values[:4]))}, ..., {', '.join(map(str, values[-2:]))}"


def _nearest_clause(value: int, allowed: tuple[int, ...], what: str) -> str:
    """``"; the nearest supported sizes are 96 and 104"``: the allowed values on each side of
    ``value`` (one of them at the ends of ``allowed``), or nothing when none is allowed."""
    below = [m for m in allowed if m < value]
    above = [m for m in allowed if m > value]
    nearest = ([below[-1]] if below else []) + ([above[0]] if above else [])
    if not nearest:
        return ""
    if len(nearest) == 1:
        return f"; the nearest {what} is {nearest[0]}"
    return f"; the nearest {what}s are {nearest[0]} and {nearest[1]}"


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
        96
        >>> check_hidden_size(100)
        Traceback (most recent call last):
        ...
        hadamrnn.errors.HiddenSizeError: hidden_size must be ..., got 100; the nearest supported sizes are 96 and 104

    Raises:
        HiddenSizeError: (or ``error``) ``n`` is not a supported order (:data:`HIDDEN_SIZE_RULE`);
            for an integer, the message ends with the nearest supported sizes.
    """
    if not is_supported_order(n):
        nearest = ""
        value = _as_int(n)
        if value is not None:
            nearest = _nearest_clause(value, nearest_supported_orders(value), "supported size")
        raise error(f"{name} must be {HIDDEN_SIZE_RULE}, got {n!r}{nearest}")
    return int(n)


def check_block_size(n: int, block_size: Any, *, error: type[Exception] = BlockSizeError) -> int:
    """Return the block size ``m`` (``n`` when ``block_size`` is None), else raise.

    Each block is the Hadamard matrix of order ``m`` (``H_{r'} ⊗ S_{2^j}`` for ``m = r' · 2^j``),
    so ``m`` must be a supported order dividing ``n``: for ``n = 384``, ``m = 24`` gives 16 blocks
    ``H_12 ⊗ S_2`` and ``m = 8`` gives 48 blocks ``S_8``. ``n`` is a hidden size that
    :func:`check_hidden_size` accepted, or, for the packed formats, any positive number ``q · m``
    of rows (``q`` blocks).

    Example:
        >>> check_block_size(16, 4), check_block_size(16, None), check_block_size(384, 24)
        (4, 16, 24)
        >>> check_block_size(384, 20)
        Traceback (most recent call last):
        ...
        hadamrnn.errors.BlockSizeError: block_size must be ... got 20; the nearest allowed block sizes are 16 and 24

    Raises:
        BlockSizeError: (or ``error``) ``block_size`` is not a supported order dividing ``n``; the
            message lists the block sizes that ``n`` allows and, for an integer, the nearest ones.
    """
    if block_size is None:
        return n
    allowed = block_sizes(n)
    value = _as_int(block_size)
    if value is None or value not in allowed:
        nearest = "" if value is None else _nearest_clause(value, allowed, "allowed block size")
        listing = _listing(allowed) if allowed else "none"
        raise error(f"block_size must be {BLOCK_SIZE_RULE}={n} ({listing}), got {block_size!r}{nearest}")
    return value
