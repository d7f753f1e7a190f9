"""hadamrnn: binary and sparse-ternary orthogonal recurrent networks.

The recurrent matrix is ``W = diag(u) H_n / √n`` (HadamRNN, binary) or
``W = diag(u) (I_{n/m} ⊗ H_m) / √m`` (Block-HadamRNN, sparse ternary), with ``H`` the Sylvester
Hadamard matrix ``S_n`` for ``n = 2^k`` (or ``H_r ⊗ S_{2^k}`` with a Paley base matrix ``H_r`` for the
other supported sizes ``n = r · 2^k``, such as 96) and ``u ∈ {±1}^n`` learned through a
straight-through estimator. ``W`` is exactly orthogonal at every optimizer step.

Reference: A. Foucault, F. Mamalet, F. Malgouyres, "HadamRNN: Binary and Sparse Ternary Orthogonal
RNNs", ICLR 2025, arXiv:2502.00047.
"""

__version__ = "0.1.0"

from typing import TYPE_CHECKING

from ._lazy import lazy_exports

# Public names and the submodule that defines each. They are imported on first use (PEP 562), so
# that the numpy-only parts (``hadamrnn.core``, ``hadamrnn.packing``, ``hadamrnn.runtime``) load
# without torch.
_EXPORTS = {
    "checkpoint": ("Checkpoint", "load_checkpoint", "save_checkpoint"),
    "config": ("RunConfig", "load_config", "parse_config"),
    "errors": (
        "BitsError",
        "BlockSizeError",
        "CheckpointError",
        "CheckpointNotFoundError",
        "ConfigError",
        "HadamRNNError",
        "HiddenSizeError",
        "ShapeError",
    ),
    "hadamard": ("block_sylvester", "fwht", "is_hadamard", "sylvester"),
    "core.orders": ("available_orders", "check_block_size", "check_hidden_size", "is_power_of_two"),
    "core.scale": ("hadamard_scale",),
    "layers": ("HadamRNN", "QuantizedLinear"),
    "losses": ("StepLoss",),
    "models": ("SequenceClassifier", "SequenceTagger", "build_model"),
    "optim": ("Bop", "sign_parameter_groups", "sign_parameters"),
    "sign_search": ("search_signs",),
    "parametrizations": ("BinaryHadamard", "BlockHadamard", "binary_hadamard_", "block_hadamard_"),
    "quantizers": ("SignQuantizer", "UniformQuantizer", "flip_ratio", "quantize_to_int", "ste_sign", "uniform_quantize"),
    "size": ("ModelSize", "model_size"),
    "tasks": ("CopyTask", "build_task"),
    "training": ("Trainer",),
}
_SOURCE, __getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from .checkpoint import Checkpoint, load_checkpoint, save_checkpoint
    from .config import RunConfig, load_config, parse_config
    from .errors import (
        BitsError,
        BlockSizeError,
        CheckpointError,
        CheckpointNotFoundError,
        ConfigError,
        HadamRNNError,
        HiddenSizeError,
        ShapeError,
    )
    from .core.orders import available_orders, check_block_size, check_hidden_size, is_power_of_two
    from .core.scale import hadamard_scale
    from .hadamard import block_sylvester, fwht, is_hadamard, sylvester
    from .layers import HadamRNN, QuantizedLinear
    from .losses import StepLoss
    from .models import SequenceClassifier, SequenceTagger, build_model
    from .optim import Bop, sign_parameter_groups, sign_parameters
    from .sign_search import search_signs
    from .parametrizations import BinaryHadamard, BlockHadamard, binary_hadamard_, block_hadamard_
    from .quantizers import SignQuantizer, UniformQuantizer, flip_ratio, quantize_to_int, ste_sign, uniform_quantize
    from .size import ModelSize, model_size
    from .tasks import CopyTask, build_task
    from .training import Trainer

__all__ = [
    "__version__",
    # Hadamard matrices
    "sylvester",
    "block_sylvester",
    "fwht",
    "is_hadamard",
    # orders and scale (hadamrnn.core, also importable from hadamrnn.hadamard)
    "available_orders",
    "check_hidden_size",
    "check_block_size",
    "is_power_of_two",
    "hadamard_scale",
    # quantizers
    "ste_sign",
    "uniform_quantize",
    "quantize_to_int",
    "SignQuantizer",
    "UniformQuantizer",
    "flip_ratio",
    # parametrizations
    "BinaryHadamard",
    "BlockHadamard",
    "binary_hadamard_",
    "block_hadamard_",
    # layers and models
    "QuantizedLinear",
    "HadamRNN",
    "SequenceClassifier",
    "SequenceTagger",
    "build_model",
    "StepLoss",
    "model_size",
    "ModelSize",
    # learning the signs
    "Bop",
    "sign_parameter_groups",
    "sign_parameters",
    "search_signs",
    # tasks, training, checkpoints, configs
    "CopyTask",
    "build_task",
    "Trainer",
    "RunConfig",
    "load_config",
    "parse_config",
    "Checkpoint",
    "save_checkpoint",
    "load_checkpoint",
    # errors
    "HadamRNNError",
    "HiddenSizeError",
    "BlockSizeError",
    "ShapeError",
    "BitsError",
    "ConfigError",
    "CheckpointError",
    "CheckpointNotFoundError",
]
