"""Images in IDX files, read as sequences (``[task] name = "idx_images"``).

IDX is the format of MNIST, Fashion-MNIST, KMNIST and EMNIST: a big-endian header (two zero bytes,
a type code, the rank, then one 32-bit size per dimension) followed by the values. The task reads
four files from one folder, compressed (``.gz``) or not, under the MNIST names by default::

    train-images-idx3-ubyte.gz  train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz   t10k-labels-idx1-ubyte.gz

Images are ``(N, H, W)`` or ``(N, H, W, C)``; each is read in row-major order, ``pixels_per_step``
pixels per step: ``T = H·W / pixels_per_step`` steps of ``pixels_per_step · C`` features.
``pixels_per_step = 1`` is pixel by pixel (sMNIST, ``T = 784``), ``pixels_per_step = W`` row by
row (``T = 28`` steps of 28 pixels for MNIST). Unsigned-byte pixels are scaled to [0, 1]; other
pixel types are used as stored. The last ``val_fraction`` of the training file is the validation
set; the test files are the test set. Labels are class ids ``0..num_classes-1``.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DataNotFoundError
from .arrays import resolve_user_path
from .data import ArrayClassificationTask, limit

__all__ = ["IDXImagesTask", "IDX_DEFAULT_FILES", "read_idx_file"]

#: The file names the task reads by default (those of MNIST and its drop-in replacements).
IDX_DEFAULT_FILES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}

# The type codes of the IDX format and the big-endian numpy types they store.
_IDX_TYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}
_GZIP_MAGIC = b"\x1f\x8b"


def _locate(folder: Path, name: str) -> Path:
    """``folder/name``, or the same file with or without ``.gz`` when only that one exists."""
    path = folder / name
    if path.is_file():
        return path
    other = path.with_suffix("") if path.suffix == ".gz" else path.with_name(path.name + ".gz")
    if other.is_file():
        return other
    raise DataNotFoundError(f"idx_images task: expected the IDX file {str(path)!r} (or {other.name}), found nothing there")


def read_idx_file(path: str | Path) -> np.ndarray:
    """The array of an IDX file, ``.gz`` compressed or not, with its header checked against its size."""
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:
        try:
            raw = gzip.decompress(raw)
        except (EOFError, gzip.BadGzipFile, zlib.error) as error:
            raise DataError(f"{path}: expected a complete gzip archive, got a truncated or corrupt one ({error})") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_TYPES:
        codes = ", ".join(f"0x{code:02X}" for code in _IDX_TYPES)
        raise DataError(
            f"{path}: expected an IDX header (two zero bytes, a type code among {codes}, the rank), "
            f"got the bytes {raw[:4].hex(' ') or 'of an empty file'}"
        )
    dtype, rank = np.dtype(_IDX_TYPES[raw[2]]), raw[3]
    header = 4 + 4 * rank
    if rank == 0 or len(raw) < header:
        raise DataError(f"{path}: expected a {header}-byte header for rank {rank} (rank >= 1), got {len(raw)} bytes")
    shape = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(rank))
    size = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - header != size:
        raise DataError(f"{path}: header declares shape {shape} ({size} bytes of data), got {len(raw) - header} bytes")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def _read_images_and_labels(images_path: Path, labels_path: Path) -> tuple[np.ndarray, np.ndarray]:
    images = read_idx_file(images_path)
    labels = read_idx_file(labels_path)
    if images.ndim not in (3, 4):
        raise DataError(f"{images_path}: expected images of shape (N, H, W) or (N, H, W, C), got shape {images.shape}")
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(
            f"{labels_path}: expected {images.shape[0]} labels, one per image of {images_path.name}, got shape {labels.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer):
        raise DataError(f"{labels_path}: expected integer class ids, got IDX values of type {labels.dtype}")
    if images.shape[0] == 0:
        raise DataError(f"{images_path}: expected at least one image, got shape {images.shape}")
    return images, labels


class IDXImagesTask(ArrayClassificationTask):
    """Image classification from IDX files, each image read as a sequence (see the module docstring).

    Args:
        path: the folder holding the four files (relative paths: as written, else under the data
            directory).
        data_dir: the data directory (None reads ``$HADAMRNN_DATA``).
        pixels_per_step: pixels read at each step; it must divide ``H·W``.
        seed: seeds the per-epoch shuffling of the training set.
        val_fraction: the last fraction of the training file that forms the validation set.
        num_classes: the number of classes; None takes the largest label plus one.
        files: the four file names, keyed as :data:`~hadamrnn.tasks.idx_images.IDX_DEFAULT_FILES` (a ``.gz`` name also finds
            the uncompressed file, and the other way round).
        train_limit, val_limit, test_limit: keep only the first images of a split (quick runs).
    """

    name = "idx_images"
    vocab_size = None

    def __init__(
        self,
        path,
        data_dir=None,
        *,
        pixels_per_step: int = 1,
        seed: int = 0,
        val_fraction: float = 1 / 6,
        num_classes: int | None = None,
        files: dict[str, str] | None = None,
        train_limit: int | None = None,
        val_limit: int | None = None,
        test_limit: int | None = None,
    ):
        super().__init__(seed)
        folder = resolve_user_path(path, data_dir, "idx_images task: the folder of IDX files (task.path)")
        if not folder.is_dir():
            raise DataError(f"idx_images task: expected task.path to be a folder of IDX files, got the file {str(folder)!r}")
        self.folder = folder
        names = {**IDX_DEFAULT_FILES, **(files or {})}
        paths = {key: _locate(folder, name) for key, name in names.items()}
        train_images, train_labels = _read_images_and_labels(paths["train_images"], paths["train_labels"])
        test_images, test_labels = _read_images_and_labels(paths["test_images"], paths["test_labels"])
        if train_images.shape[1:] != test_images.shape[1:]:
            raise DataError(
                f"{paths['test_images']}: expected images of shape {train_images.shape[1:]} as in "
                f"{paths['train_images'].name}, got {test_images.shape[1:]}"
            )
        height, width = train_images.shape[1:3]
        channels = train_images.shape[3] if train_images.ndim == 4 else 1
        pixels = height * width
        if not isinstance(pixels_per_step, int) or pixels_per_step < 1 or pixels % pixels_per_step:
            raise DataError(
                f"pixels_per_step must divide the {height}x{width} = {pixels} pixels of an image "
                f"(1 pixel by pixel, {width} row by row), got {pixels_per_step!r}"
            )
        self.image_shape = tuple(int(size) for size in train_images.shape[1:])
        self.pixels_per_step = pixels_per_step
        self.seq_len = pixels // pixels_per_step
        self.input_size = pixels_per_step * channels
        # bytes to [0, 1], as the MNIST tasks do; other pixel types are taken as stored
        self.divisor = np.float32(255) if train_images.dtype == np.uint8 else np.float32(1)

        largest = int(max(train_labels.max(), test_labels.max()))
        classes = largest + 1 if num_classes is None else num_classes
        for labels, key in ((train_labels, "train_labels"), (test_labels, "test_labels")):
            bad = (labels < 0) | (labels >= classes)
            if bad.any():
                position = int(np.flatnonzero(bad)[0])
                raise DataError(
                    f"{paths[key]}: expected class ids in 0..{classes - 1}"
                    + (f" (num_classes = {num_classes})" if num_classes is not None else "")
                    + f", got {int(labels[position])} at position {position}"
                )
        self.output_size = max(classes, 2)

        count = train_images.shape[0]
        val_size = round(val_fraction * count)
        if not 0 < val_size < count:
            raise DataError(
                f"val_fraction = {val_fraction} of the {count} training images gives {val_size} validation images: "
                "expected at least one, and at least one left for training"
            )
        split = count - val_size
        flat = lambda images: images.reshape(images.shape[0], -1)  # noqa: E731  (row-major pixels, channels last)
        self._inputs = {
            "train": limit(flat(train_images[:split]), train_limit),
            "val": limit(flat(train_images[split:]), val_limit),
            "test": limit(flat(test_images), test_limit),
        }
        self._labels = {
            "train": limit(train_labels[:split], train_limit),
            "val": limit(train_labels[split:], val_limit),
            "test": limit(test_labels, test_limit),
        }

    def _convert(self, stored: np.ndarray) -> torch.Tensor:
        steps = stored.reshape(stored.shape[0], self.seq_len, self.input_size).astype(np.float32) / self.divisor
        return torch.from_numpy(steps)

    def summary(self) -> dict[str, float | int | str]:
        return {
            **super().summary(),
            "seq_len": self.seq_len,
            "image": "x".join(str(size) for size in self.image_shape),
            "pixels_per_step": self.pixels_per_step,
            "split": "val = the last val_fraction of the training file",
        }
