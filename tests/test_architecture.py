"""The dependency rules of the package, checked on the import statements themselves (ast).

Data flows config → task → model → trainer → report; only :mod:`hadamrnn.workflows` (and the CLI
through it, and :mod:`hadamrnn.quoted`, which sizes a config's model for the report) composes them. Each rule below forbids an edge against that flow. Every import
counts, including those inside functions.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The math and kernels: they compute, and know nothing of layers or training.
MATH = ("hadamrnn.core", "hadamrnn.hadamard", "hadamrnn.functional", "hadamrnn.native", "hadamrnn.packing",
        "hadamrnn.quantizers", "hadamrnn.runtime")
#: The layers and heads.
LAYERS = ("hadamrnn.layers", "hadamrnn.heads", "hadamrnn.models", "hadamrnn.baselines",
          "hadamrnn.parametrizations", "hadamrnn.size", "hadamrnn.optim", "hadamrnn.sign_search")
TRAINER = ("hadamrnn.training",)
WORKFLOWS = ("hadamrnn.workflows", "hadamrnn.quoted", "hadamrnn.cli", "hadamrnn.__main__")

#: (who, what it must not import, why)
RULES = [
    (MATH, LAYERS + TRAINER + WORKFLOWS + ("hadamrnn.checkpoint", "hadamrnn.config", "hadamrnn.tasks"),
     "math and kernels import no layer, trainer or workflow"),
    (LAYERS, TRAINER + WORKFLOWS + ("hadamrnn.checkpoint", "hadamrnn.config", "hadamrnn.tasks"),
     "layers import no trainer, checkpoint, config or task"),
    (("hadamrnn.export",), TRAINER + WORKFLOWS + ("hadamrnn.checkpoint", "hadamrnn.config"),
     "export imports no trainer, workflow, checkpoint or config"),
    (("hadamrnn.tasks",), LAYERS + TRAINER + WORKFLOWS + ("hadamrnn.checkpoint",),
     "tasks import no model, trainer or checkpoint"),
    (("hadamrnn.config", "hadamrnn.kinds", "hadamrnn.errors", "hadamrnn._io", "hadamrnn.run_directory"),
     MATH[1:] + LAYERS + TRAINER + WORKFLOWS + ("hadamrnn.tasks", "hadamrnn.checkpoint", "torch"),
     "config, the kinds registry, errors and I/O are leaves (no torch)"),
    (("hadamrnn",), ("theory", "hadamrnn_theory"), "the library never imports theory"),
]
#: theory/ stays torch-free, except the one module that cross-checks the library.
THEORY_TORCH_ALLOWED = ("theory.crosscheck",)


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, root: Path, source: str | None = None) -> set[str]:
    """Every module ``path`` imports, absolute, resolving relative imports against its package.

    ``source`` replaces the file's text (to check an edited copy without writing it).
    """
    name = module_name(path, root)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = set()
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(text, str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            target = ".".join([*base, node.module] if node.module else base)
            found.add(target)
            # ``from . import native`` imports the submodule hadamrnn.native; other names are attributes
            for alias in node.names:
                candidate = root.joinpath(*target.split("."), alias.name)
                if candidate.with_suffix(".py").is_file() or (candidate / "__init__.py").is_file():
                    found.add(f"{target}.{alias.name}")
    return found


def _within(module: str, prefixes: tuple[str, ...]) -> bool:
    return any(module == prefix or module.startswith(prefix + ".") for prefix in prefixes)


def violations(root: Path, edits: dict[str, str] | None = None) -> list[str]:
    """Every import in ``root/hadamrnn`` and ``root/theory`` that breaks a rule, as readable lines.

    ``edits`` maps a file (relative to ``root``) to the text to check in its place.
    """
    edits = edits or {}

    def imports_of(path: Path) -> set[str]:
        return imported_modules(path, root, edits.get(path.relative_to(root).as_posix()))

    found = []
    for path in sorted((root / "hadamrnn").rglob("*.py")):
        name = module_name(path, root)
        if name == "hadamrnn":  # the flat re-export of the public API
            continue
        for imported in imports_of(path):
            for who, forbidden, why in RULES:
                if _within(name, who) and _within(imported, forbidden) and not _within(imported, (name,)):
                    found.append(f"{name} imports {imported}: {why}")
    for path in sorted((root / "theory").rglob("*.py")):
        name = module_name(path, root)
        if _within(name, THEORY_TORCH_ALLOWED):
            continue
        for imported in imports_of(path):
            if _within(imported, ("torch", "hadamrnn")):
                found.append(f"{name} imports {imported}: theory is independent of torch and of the library")
    return found


def test_the_package_keeps_its_dependency_rules():
    assert violations(ROOT) == []


def test_relative_imports_resolve_to_absolute_modules(tmp_path):
    package = tmp_path / "hadamrnn" / "export"
    package.mkdir(parents=True)
    for module in ("training.py", "export/quantize.py", "core/__init__.py"):
        (tmp_path / "hadamrnn" / module).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "hadamrnn" / module).write_text("")
    (package / "pipeline.py").write_text("from .. import training\nfrom ..core import fwht_int\nfrom . import quantize\n")
    assert imported_modules(package / "pipeline.py", tmp_path) == {
        "hadamrnn", "hadamrnn.training", "hadamrnn.core", "hadamrnn.export", "hadamrnn.export.quantize",
    }


@pytest.mark.parametrize(
    "module, bad_import, rule",
    [
        ("hadamrnn/models.py", "from .checkpoint import load_checkpoint", "layers import no"),
        ("hadamrnn/core/transform.py", "from ..layers import HadamRNN", "math and kernels"),
        ("hadamrnn/export/quantize.py", "from .. import training", "export imports no"),
        ("hadamrnn/tasks/copy.py", "from ..models import build_model", "tasks import no"),
        ("hadamrnn/layers.py", "import theory", "never imports theory"),
        ("hadamrnn/config.py", "import torch", "are leaves"),
        ("theory/paley.py", "import torch", "theory is independent"),
    ],
)
def test_a_deliberately_added_bad_import_is_caught(module, bad_import, rule):
    source = (ROOT / module).read_text(encoding="utf-8")
    # inside a function, where a lazy import would hide from a grep of the top of the file
    edited = source + f"\n\ndef _added():\n    {bad_import}\n"
    added = set(violations(ROOT, {module: edited})) - set(violations(ROOT))
    assert len(added) == 1 and rule in added.pop(), added
