r"""The Hadamard core: the orders, the base and Sylvester matrices, the scale ``1/√m`` and the
integer fast transform.

Every other part of hadamrnn builds on these, and none keeps a copy:

* :mod:`hadamrnn.core.orders`: which orders exist (``n = r · 2^k`` with ``r`` in
  :data:`~hadamrnn.core.orders.BASE_ORDERS`), how each splits, the nearest supported sizes, and the
  checks of ``hidden_size`` and ``block_size``;
* :mod:`hadamrnn.core.jacobsthal`: the quadratic character of a prime field and its Jacobsthal
  matrix;
* :mod:`hadamrnn.core.paley_i` and :mod:`hadamrnn.core.paley_ii`: Paley's two constructions, one
  module each;
* :mod:`hadamrnn.core.base_matrices`: the canonical base matrix ``H_r`` of every base order (the
  construction each uses, and the normal form);
* :mod:`hadamrnn.core.matrices`: ``S_{2^k}``, ``H_n = H_r ⊗ S_{2^k}``, the block-diagonal
  ``I_{n/m} ⊗ H_m`` and the signed ``diag(u) (I_{n/m} ⊗ H_m)``, as numpy integer matrices;
* :mod:`hadamrnn.core.scale`: ``1/√m`` and ``√m`` in float64, and ``1/√m`` as the fixed-point pair
  of the integer runtimes;
* :mod:`hadamrnn.core.transform`: the integer fast transform (butterflies, then the small base
  product), on numpy arrays (and on torch integer tensors, which have the same operators).

Each name is importable from here (``from hadamrnn.core import fwht_int``) and from its module.
The core imports numpy and the standard library only, never torch: the numpy runtime, the packed
formats and the model file use it without torch. The torch face of the same objects is
:mod:`hadamrnn.hadamard` (matrices as tensors, the differentiable float ``fwht``).
"""

# Each module lists its public names in its __all__; the package re-exports exactly those. The
# Paley modules share their names with their functions, which the star imports put here: the
# modules are kept under private names for their __all__.
from . import base_matrices, jacobsthal, matrices, orders, scale, transform
from . import paley_i as _paley_i_module
from . import paley_ii as _paley_ii_module
from .base_matrices import *  # noqa: F403
from .jacobsthal import *  # noqa: F403
from .matrices import *  # noqa: F403
from .orders import *  # noqa: F403
from .paley_i import *  # noqa: F403
from .paley_ii import *  # noqa: F403
from .scale import *  # noqa: F403
from .transform import *  # noqa: F403

__all__ = [
    *orders.__all__,
    *jacobsthal.__all__,
    *_paley_i_module.__all__,
    *_paley_ii_module.__all__,
    *base_matrices.__all__,
    *matrices.__all__,
    *scale.__all__,
    *transform.__all__,
]
