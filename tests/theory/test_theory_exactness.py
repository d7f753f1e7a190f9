"""Nothing that theory returns is a float, and theory imports neither torch nor sympy eagerly."""

from __future__ import annotations

import ast
import subprocess
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import pytest
import sympy

import hadamrnn_theory as theory
from hadamrnn_theory.checks import _inverse_square_root

THEORY_DIR = Path(theory.__file__).resolve().parent


def exact_leaves(value: Any) -> list[Any]:
    """Every leaf of nested tuples, lists, sets and dicts; fails on a non-exact leaf."""
    if isinstance(value, (tuple, list, set, frozenset)):
        return [leaf for item in value for leaf in exact_leaves(item)]
    if isinstance(value, dict):
        return [leaf for item in value.values() for leaf in exact_leaves(item)]
    if type(value) in (int, Fraction):
        return [value]
    if isinstance(value, sympy.Basic) and value.is_number and not value.has(sympy.Float):
        return [value]
    raise AssertionError(f"not an exact number: {type(value).__name__} {value!r}")


RETURNED = {
    "sylvester": lambda: theory.sylvester(16),
    "block_sylvester": lambda: theory.block_sylvester(16, 4),
    "paley_i": lambda: theory.paley_i(27),
    "paley_ii": lambda: theory.paley_ii(9),
    "jacobsthal": lambda: theory.jacobsthal(theory.GaloisField(25)),
    "hadamard": lambda: [theory.hadamard(n) for n in (1, 2, 12, 20, 40, 52)],
    "kronecker": lambda: theory.kronecker(theory.hadamard(12), theory.sylvester(2)),
    "normalise": lambda: theory.normalise(theory.paley_i(11)),
    "permute": lambda: theory.permute_rows(theory.sylvester(4), [3, 2, 1, 0]),
    "negate": lambda: theory.negate_columns(theory.sylvester(4), [1, -1, -1, 1]),
    "determinant": lambda: [theory.determinant(theory.sylvester(8)), theory.trace(theory.paley_i(7))],
    "matmul": lambda: theory.matmul(theory.sylvester(8), theory.sylvester(8)),
    "all_hadamard": lambda: theory.all_hadamard_matrices(2),
    "counts": lambda: [theory.count_hadamard(n) for n in (1, 2, 4, 8, 12)],
    "weighing": lambda: [theory.count_weighing(5, w) for w in range(6)],
    "families": lambda: [
        theory.hadamrnn_family(4),
        theory.two_sided_family(2),
        theory.block_hadamrnn_family(4, 2),
    ],
    "share": lambda: theory.hadamrnn_share(4),
    "family_members": lambda: [
        theory.hadamrnn_matrix((1, -1, -1, 1)),
        theory.block_hadamrnn_matrix((1, -1, -1, 1), 2),
        theory.two_sided_matrix((1, -1), (-1, 1)),
    ],
    "fwht": lambda: [theory.fwht([1, 2, 3, 4]), theory.butterfly_factors(8)],
    "field": lambda: [theory.GaloisField(27).mul(5, 7), theory.GaloisField(9).modulus],
    "scale": lambda: [_inverse_square_root(n) for n in (1, 2, 3, 4)],
    "williamson": lambda: [theory.williamson_hadamard(3), theory.williamson_table()[5]],
    "t_sequences": lambda: [theory.t_sequences(7), theory.t_sequence_hadamard(3)],
    "goethals_seidel": lambda: theory.goethals_seidel_array(((1,),), ((1,),), ((1,),), ((-1,),)),
    "baumert_hall": lambda: [theory.baumert_hall_units(3), theory.baumert_hall_hadamard(3, 3)],
    "miyamoto": lambda: theory.miyamoto(5, theory.hadamard(4)),
    "difference_sets": lambda: [theory.difference_set_hadamard(67), sorted(theory.difference_family_table()[67].sets[0])],
    "classes": lambda: [(c.automorphisms, c.representative) for c in theory.hadamard_classes(8)],
    "new_orders": lambda: [theory.hadamard(n) for n in (92, 188, 268, 292, 324)],
}


@pytest.mark.parametrize("name", sorted(RETURNED))
def test_only_exact_numbers(name):
    leaves = exact_leaves(RETURNED[name]())
    assert leaves, name
    assert not any(type(leaf) is bool for leaf in leaves)


def test_the_walker_rejects_floats_and_bools():
    with pytest.raises(AssertionError):
        exact_leaves([(1, 2.0)])
    with pytest.raises(AssertionError):
        exact_leaves([(1, True)])
    with pytest.raises(AssertionError):
        exact_leaves(sympy.Float(0.5))


# The cross-check rounds the library's float weights; it is the one module allowed floats.
FLOAT_BOUNDARY = {"crosscheck.py"}
INTEGER_MATH = {"comb", "factorial", "gcd", "isqrt", "lcm", "perm", "prod"}


EXACT_MODULES = sorted(p for p in THEORY_DIR.glob("*.py") if p.name not in FLOAT_BOUNDARY)


@pytest.mark.parametrize("path", EXACT_MODULES, ids=lambda p: p.name)
def test_no_floating_point_in_source(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        where = f"{path.name}:{getattr(node, 'lineno', '?')}"
        assert not (isinstance(node, ast.Constant) and isinstance(node.value, float)), where
        assert not (isinstance(node, ast.Name) and node.id == "float"), where
        if isinstance(node, ast.Import):
            assert "math" not in [alias.name for alias in node.names], f"{path.name} imports math"
        if isinstance(node, ast.ImportFrom) and node.module == "math":
            names = {alias.name for alias in node.names}
            assert names <= INTEGER_MATH, f"{path.name} imports math.{names - INTEGER_MATH}"


def test_import_needs_neither_torch_nor_sympy():
    code = "import sys, hadamrnn_theory; print([m for m in ('torch', 'sympy', 'hadamrnn') if m in sys.modules])"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=THEORY_DIR.parent, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
