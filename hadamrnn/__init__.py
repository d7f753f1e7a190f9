"""hadamrnn: binary and sparse-ternary orthogonal recurrent networks.

The recurrent matrix is ``W = diag(u) S_n / √n`` (HadamRNN, binary) or
``W = diag(u) (I_{n/m} ⊗ S_m) / √m`` (Block-HadamRNN, sparse ternary), with ``S`` the Sylvester
Hadamard matrix and ``u ∈ {±1}^n`` learned through a straight-through estimator. ``W`` is exactly
orthogonal at every optimizer step.

Reference: A. Foucault, F. Mamalet, F. Malgouyres, "HadamRNN: Binary and Sparse Ternary Orthogonal
RNNs", ICLR 2025, arXiv:2502.00047.
"""

__version__ = "0.1.0"

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
from .hadamard import block_sylvester, fwht, is_hadamard, sylvester
from .layers import HadamRNN, QuantizedLinear
from .models import SequenceClassifier, SequenceTagger, build_model
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
    "model_size",
    "ModelSize",
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
