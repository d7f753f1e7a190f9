"""Lazy attribute exports for packages (PEP 562), so that importing a package costs nothing until a
name is used: the numpy-only modules then load without torch."""

from __future__ import annotations

import importlib
from collections.abc import Callable


def lazy_exports(package: str, exports: dict[str, tuple[str, ...]]) -> tuple[dict[str, str], Callable, Callable]:
    """``(source, __getattr__, __dir__)`` for ``package``, whose ``exports`` map submodule → names."""
    source = {name: module for module, names in exports.items() for name in names}

    def __getattr__(name: str):
        module = source.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{module}", package), name)
        setattr(importlib.import_module(package), name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(source))

    return source, __getattr__, __dir__
