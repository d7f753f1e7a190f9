"""theory: exact, machine-checked mathematics behind hadamrnn.

Everything here is exact: Python integers, ``fractions.Fraction`` and sympy. Nothing computes in
floating point, except the cross-check with the PyTorch library, which rounds the library's float
weights and compares the rounded integers exactly. ``import theory`` needs neither torch nor sympy;
the symbolic proofs import sympy when they run.

Matrices are tuples of tuples of Python ints. The public API:

- constructions: :func:`sylvester`, :func:`block_sylvester`, :func:`paley_i`, :func:`paley_ii`,
  :func:`kronecker`, :class:`GaloisField`, and the registry :func:`hadamard`;
- equivalence: :func:`permute_rows`, :func:`permute_columns`, :func:`negate_rows`,
  :func:`negate_columns`, :func:`normalise`;
- predicates: :func:`is_hadamard`, :func:`is_weighing`, :func:`is_binary_orthogonal`;
- counting: :func:`count_hadamard`, :func:`count_weighing`, :func:`all_hadamard_matrices`,
  :func:`hadamrnn_family`, :func:`block_hadamrnn_family`, :func:`two_sided_family`,
  :func:`hadamrnn_share`;
- verification: :data:`CLAIMS` and ``python -m hadamrnn_theory verify``.
"""

from .claims import CLAIMS, Claim
from .enumeration import (
    all_hadamard_matrices,
    block_hadamrnn_family,
    count_hadamard,
    count_weighing,
    hadamrnn_family,
    hadamrnn_share,
    two_sided_family,
)
from .equivalence import (
    is_normalised,
    negate_columns,
    negate_rows,
    normalise,
    permute_columns,
    permute_rows,
)
from .errors import ConstructionError, FieldOrderError, HadamardOrderError
from .families import block_hadamrnn_matrix, hadamrnn_matrix, two_sided_matrix
from .finite_field import GaloisField, prime_power
from .fwht import butterfly_factors, fwht
from .kronecker import kronecker
from .matrices import Matrix, determinant, matmul, trace, transpose
from .paley import jacobsthal, paley_i, paley_ii
from .predicates import is_binary_orthogonal, is_hadamard, is_weighing
from .registry import SMALLEST_OPEN_ORDER, Construction, construction_for, hadamard, orders_below
from .sylvester import block_sylvester, sylvester

__all__ = [
    "CLAIMS",
    "SMALLEST_OPEN_ORDER",
    "Claim",
    "Construction",
    "ConstructionError",
    "FieldOrderError",
    "GaloisField",
    "HadamardOrderError",
    "Matrix",
    "all_hadamard_matrices",
    "block_hadamrnn_family",
    "block_hadamrnn_matrix",
    "block_sylvester",
    "butterfly_factors",
    "construction_for",
    "count_hadamard",
    "count_weighing",
    "determinant",
    "fwht",
    "hadamard",
    "hadamrnn_family",
    "hadamrnn_matrix",
    "hadamrnn_share",
    "is_binary_orthogonal",
    "is_hadamard",
    "is_normalised",
    "is_weighing",
    "jacobsthal",
    "kronecker",
    "matmul",
    "negate_columns",
    "negate_rows",
    "normalise",
    "orders_below",
    "paley_i",
    "paley_ii",
    "permute_columns",
    "permute_rows",
    "prime_power",
    "sylvester",
    "trace",
    "transpose",
    "two_sided_family",
    "two_sided_matrix",
]
