r"""The Hadamard core: the orders, the Sylvester matrices, the scale ``1/√m`` and the integer FWHT.

Every other part of hadamrnn builds on these, and none keeps a copy:

* :mod:`hadamrnn.core.orders`: which orders exist (:data:`~hadamrnn.core.orders.BASE_ORDERS`), the
  power-of-two test and the checks of ``hidden_size`` and ``block_size``;
* :mod:`hadamrnn.core.matrices`: ``S_n``, the block-diagonal ``I_{n/m} ⊗ S_m`` and the signed
  ``diag(u) (I_{n/m} ⊗ S_m)``, as numpy integer matrices;
* :mod:`hadamrnn.core.scale`: ``1/√m`` and ``√m`` in float64, and ``1/√m`` as the fixed-point pair
  of the integer runtimes;
* :mod:`hadamrnn.core.transform`: the integer FWHT by butterflies, on numpy arrays (and on torch
  integer tensors, which have the same operators).

Each name is importable from here (``from hadamrnn.core import fwht_int``) and from its module.
The core imports numpy and the standard library only, never torch: the numpy runtime, the packed
formats and the model file use it without torch. The torch face of the same objects is
:mod:`hadamrnn.hadamard` (matrices as tensors, the differentiable float ``fwht``).
"""

# Each module lists its public names in its __all__; the package re-exports exactly those.
from . import matrices, orders, scale, transform
from .matrices import *  # noqa: F403
from .orders import *  # noqa: F403
from .scale import *  # noqa: F403
from .transform import *  # noqa: F403

__all__ = [*orders.__all__, *matrices.__all__, *scale.__all__, *transform.__all__]
