"""The asv benchmark suite of hadamrnn (see docs/benchmarks.md) and its history command.

asv imports every module of this package to discover benchmarks, on today's suite and on older
checkouts of the library alike, so the modules import only the standard library, numpy and torch
at the top and reach for hadamrnn inside ``setup`` (see :mod:`benchmarks.common`).
"""
