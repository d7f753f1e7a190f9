"""Sequential and permuted MNIST (sMNIST, pMNIST): one pixel per step.

Data: the four original IDX files, gzip-compressed, in ``<data>/mnist/``::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

Protocol (the paper's set-up): pixels scaled to [0, 1] and read one per step (T = 784, d_in = 1), 10 classes,
cross-entropy. The training file is split by position: its first 50,000 images are the training
set and its last 10,000 the validation set; the official 10,000 test images are the test set.
pMNIST reads the pixels in the order ``numpy.random.RandomState(92916).permutation(784)``
(step ``t`` sees pixel ``permutation[t]`` of the row-major image).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, HadamRNNError
from .data import ArrayClassificationTask, limit, open_gzip, read_up_to, require_files, resolve_data_dir

__all__ = ["MNISTTask", "MNIST_FILES", "PMNIST_SEED", "MAX_IDX_BYTES", "pmnist_permutation", "read_idx"]

MNIST_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}
PMNIST_SEED = 92916
_OBTAIN = "The four MNIST IDX .gz files are distributed on Y. LeCun's MNIST page (http://yann.lecun.com/exdb/mnist/) and its mirrors."
_IDX_UBYTE = 0x08


def pmnist_permutation() -> np.ndarray:
    """The fixed pixel order of pMNIST."""
    return np.random.RandomState(PMNIST_SEED).permutation(784)


#: The largest IDX data a file may declare (MNIST's training images are 47 MB).
MAX_IDX_BYTES = 1 << 30


def read_idx(path: Path, ndim: int, expected_shape: tuple[int, ...] | None = None, expected: str = "") -> np.ndarray:
    """An unsigned-byte IDX array of rank ``ndim`` from a ``.gz`` file, with its header checked.

    The header (magic number and dimensions) is decompressed and checked first, against
    ``expected_shape`` when given (``expected`` describes it in the message) and against
    :data:`MAX_IDX_BYTES` in any case; only then is the
    data read, exactly as many bytes as the header declares. A file that declares an absurd size,
    or decompresses to more than it declares, is refused without being decompressed whole.
    """
    header_size = 4 + 4 * ndim
    with open_gzip(path) as handle:
        header = handle.read(header_size)
        if len(header) < header_size:
            raise DataError(f"{path}: expected an IDX file with a {header_size}-byte header, got {len(header)} bytes")
        magic = int.from_bytes(header[:4], "big")
        expected_magic = (_IDX_UBYTE << 8) | ndim
        if magic != expected_magic:
            raise DataError(
                f"{path}: expected IDX magic number 0x{expected_magic:08x} (unsigned bytes, {ndim} dimensions), got 0x{magic:08x}"
            )
        shape = tuple(int.from_bytes(header[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
        if expected_shape is not None and shape != tuple(expected_shape):
            raise DataError(f"{path}: expected {expected or f'an IDX array of shape {tuple(expected_shape)}'}, got shape {shape}")
        size = math.prod(shape)  # Python integers: four 32-bit dimensions cannot overflow it
        if size > MAX_IDX_BYTES:
            raise DataError(f"{path}: expected at most {MAX_IDX_BYTES} bytes of IDX data, the header declares shape {shape} ({size} bytes)")
        data = read_up_to(handle, size + 1)  # one byte more than declared tells a longer file
    if len(data) != size:
        got = f"{len(data)} bytes" if len(data) < size else "more bytes"
        raise DataError(f"{path}: header declares shape {shape} ({size} bytes of data), got {got}")
    return np.frombuffer(data, dtype=np.uint8).reshape(shape)


def _read_pair(images_path: Path, labels_path: Path, count: int) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx(images_path, 3, (count, 28, 28), f"{count} images of 28x28")
    labels = read_idx(labels_path, 1, (count,), f"{count} labels")
    if images.shape != (count, 28, 28):
        raise DataError(f"{images_path}: expected {count} images of 28x28, got shape {images.shape}")
    if labels.shape != (count,):
        raise DataError(f"{labels_path}: expected {count} labels, got shape {labels.shape}")
    if labels.max(initial=0) > 9:
        bad = int(np.flatnonzero(labels > 9)[0])
        raise DataError(f"{labels_path}: expected labels in 0..9, got {int(labels[bad])} at position {bad}")
    return images.reshape(count, 784), labels


class MNISTTask(ArrayClassificationTask):
    """sMNIST (``permuted=False``) or pMNIST (``permuted=True``).

    Inputs are ``(B, 784, 1)`` float32 in [0, 1]; targets ``(B,)`` int64 class ids. Pixels stay
    uint8 in memory and are scaled per batch.

    Args:
        data_dir: the data directory (holding ``mnist/``); None reads ``$HADAMRNN_DATA``.
        permuted: pMNIST pixel order.
        seed: seeds the per-epoch shuffling of the training set.
        train_limit, val_limit, test_limit: keep only the first samples of a split (quick runs).
        train_count, test_count: the expected numbers of images in the training and test files
            (60,000 and 10,000; smaller only for test fixtures).
        val_size: how many of the last training images form the validation set (10,000).
    """

    input_size = 1
    output_size = 10
    vocab_size = None

    def __init__(
        self,
        data_dir=None,
        *,
        permuted: bool = False,
        seed: int = 0,
        train_limit: int | None = None,
        val_limit: int | None = None,
        test_limit: int | None = None,
        train_count: int = 60_000,
        test_count: int = 10_000,
        val_size: int = 10_000,
    ):
        super().__init__(seed)
        self.name = "pmnist" if permuted else "smnist"
        self.permutation = pmnist_permutation() if permuted else None
        folder = resolve_data_dir(data_dir) / "mnist"
        paths = {key: folder / name for key, name in MNIST_FILES.items()}
        require_files(list(paths.values()), "MNIST", _OBTAIN)
        if not 0 < val_size < train_count:
            raise HadamRNNError(f"val_size must be in 1..train_count-1 = 1..{train_count - 1}, got {val_size}")
        train_images, train_labels = _read_pair(paths["train_images"], paths["train_labels"], train_count)
        test_images, test_labels = _read_pair(paths["test_images"], paths["test_labels"], test_count)
        split = train_count - val_size
        self._inputs = {
            "train": limit(train_images[:split], train_limit),
            "val": limit(train_images[split:], val_limit),
            "test": limit(test_images, test_limit),
        }
        self._labels = {
            "train": limit(train_labels[:split], train_limit),
            "val": limit(train_labels[split:], val_limit),
            "test": limit(test_labels, test_limit),
        }

    def _convert(self, stored: np.ndarray) -> torch.Tensor:
        pixels = stored if self.permutation is None else stored[:, self.permutation]
        return torch.from_numpy(pixels.astype(np.float32) / np.float32(255.0)).unsqueeze(-1)

    def summary(self) -> dict[str, float | int | str]:
        return {**super().summary(), "seq_len": 784, "split": "train = first 50k of the training file, val = last 10k"}
