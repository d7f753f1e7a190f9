"""theory: exact, machine-checked mathematics behind hadamrnn.

Everything here is exact: Python integers, ``fractions.Fraction`` and sympy. Nothing computes in
floating point, except the cross-check with the PyTorch library, which rounds the library's float
weights and compares the rounded integers exactly. ``import theory`` needs neither torch nor sympy;
the symbolic proofs import sympy when they run.

Matrices are tuples of tuples of Python ints. The public API:

- constructions: :func:`sylvester`, :func:`block_sylvester`, :func:`paley_i`, :func:`paley_ii`,
  :func:`kronecker`, :class:`GaloisField`, :func:`williamson_hadamard`,
  :func:`goethals_seidel_array`, :func:`t_sequence_hadamard`, :func:`baumert_hall_hadamard`,
  :func:`miyamoto`, :func:`difference_set_hadamard`, and the registry :func:`hadamard`, which
  reaches every order below 1000 but the open ones (:data:`KNOWN_OPEN_ORDERS`);
- equivalence: :func:`permute_rows`, :func:`permute_columns`, :func:`negate_rows`,
  :func:`negate_columns`, :func:`normalise`;
- predicates: :func:`is_hadamard`, :func:`is_weighing`, :func:`is_binary_orthogonal`;
- counting: :func:`count_hadamard` (and :func:`counting_method`), :func:`count_weighing`,
  :func:`all_hadamard_matrices`, :func:`hadamard_classes`, :func:`automorphism_group_order`,
  :func:`hadamrnn_family`, :func:`block_hadamrnn_family`, :func:`two_sided_family`,
  :func:`hadamrnn_share`;
- verification: :data:`CLAIMS` and ``python -m hadamrnn_theory verify``.
"""

from .base_sequences import t_sequences
from .baumert_hall import baumert_hall_hadamard, baumert_hall_units
from .classification import automorphism_group_order, count_by_classification, hadamard_classes
from .claims import CLAIMS, Claim
from .difference_sets import difference_family_table, difference_set_hadamard
from .enumeration import (
    all_hadamard_matrices,
    block_hadamrnn_family,
    count_hadamard,
    count_weighing,
    counting_method,
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
from .errors import (
    ConstructionError,
    DataTableError,
    FieldOrderError,
    HadamardOrderError,
    SizeLimitError,
)
from .families import block_hadamrnn_matrix, hadamrnn_matrix, two_sided_matrix
from .finite_field import GaloisField, prime_power
from .fwht import butterfly_factors, fwht
from .goethals_seidel import goethals_seidel_array, t_sequence_hadamard
from .kronecker import kronecker
from .matrices import Matrix, determinant, matmul, trace, transpose
from .miyamoto import miyamoto
from .paley import jacobsthal, paley_i, paley_ii
from .predicates import is_binary_orthogonal, is_hadamard, is_weighing
from .registry import (
    KNOWN_OPEN_ORDERS,
    SMALLEST_OPEN_ORDER,
    Construction,
    construction_for,
    hadamard,
    orders_below,
)
from .sylvester import block_sylvester, sylvester
from .williamson import williamson_hadamard, williamson_table

__all__ = [
    "CLAIMS",
    "KNOWN_OPEN_ORDERS",
    "SMALLEST_OPEN_ORDER",
    "Claim",
    "Construction",
    "ConstructionError",
    "DataTableError",
    "FieldOrderError",
    "GaloisField",
    "HadamardOrderError",
    "Matrix",
    "SizeLimitError",
    "all_hadamard_matrices",
    "automorphism_group_order",
    "baumert_hall_hadamard",
    "baumert_hall_units",
    "block_hadamrnn_family",
    "block_hadamrnn_matrix",
    "block_sylvester",
    "butterfly_factors",
    "construction_for",
    "count_by_classification",
    "count_hadamard",
    "count_weighing",
    "counting_method",
    "determinant",
    "difference_family_table",
    "difference_set_hadamard",
    "fwht",
    "goethals_seidel_array",
    "hadamard",
    "hadamard_classes",
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
    "miyamoto",
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
    "t_sequence_hadamard",
    "t_sequences",
    "trace",
    "transpose",
    "two_sided_family",
    "two_sided_matrix",
    "williamson_hadamard",
    "williamson_table",
]
