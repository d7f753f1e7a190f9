"""Parametrizations of the recurrent matrix, one module per construction."""

from .binary_hadamard import BinaryHadamard, binary_hadamard_
from .block_hadamard import BlockHadamard, block_hadamard_

__all__ = ["BinaryHadamard", "binary_hadamard_", "BlockHadamard", "block_hadamard_"]
