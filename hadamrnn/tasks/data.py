"""What the data-backed tasks share: locating files, reading them safely, and batching arrays.

Data are read from the standard files a user downloads, under one data directory: the
``--data-dir`` option, else the ``HADAMRNN_DATA`` environment variable. Nothing is downloaded.

:class:`ArrayClassificationTask` implements the :class:`~hadamrnn.tasks.base.Task` protocol for a
classification task whose splits are held in memory. Batch ``i`` of a split is a pure function of
``(seed, split, epoch, i)``: the training split is reshuffled every epoch by a generator seeded
with ``(seed, split, epoch)``; validation and test are read in their stored order.
"""

from __future__ import annotations

import abc
import gzip
import io
import math
import os
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from .._io import atomic_write_bytes
from ..errors import DataError, DataNotFoundError, HadamRNNError
from ..losses import StepLoss
from .base import Batch

__all__ = [
    "DATA_ENV",
    "CACHE_ENV",
    "resolve_data_dir",
    "resolve_cache_dir",
    "require_files",
    "read_gzip",
    "ArrayClassificationTask",
    "balanced_order",
]

DATA_ENV = "HADAMRNN_DATA"
CACHE_ENV = "HADAMRNN_CACHE"
SPLITS = ("train", "val", "test")
_SPLIT_IDS = {"train": 0, "val": 1, "test": 2}


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """The data directory: ``data_dir`` if given, else ``$HADAMRNN_DATA``; it must exist."""
    if data_dir is None:
        env = os.environ.get(DATA_ENV)
        if not env:
            raise DataNotFoundError(
                f"no data directory: pass --data-dir DIR (data_dir=... in Python) or set the {DATA_ENV} "
                "environment variable to the folder that holds the task's data (e.g. DIR/mnist/, DIR/sst2/)"
            )
        data_dir, origin = env, f"${DATA_ENV}"
    else:
        origin = "data_dir"
    path = Path(data_dir).expanduser()
    if not path.is_dir():
        raise DataNotFoundError(f"data directory {str(path)!r} (from {origin}) does not exist or is not a directory")
    return path


def resolve_cache_dir(cache_dir: str | os.PathLike | None = None) -> Path:
    """Where derived arrays are cached: ``cache_dir``, else ``$HADAMRNN_CACHE``, else ``~/.cache/hadamrnn``.

    Raises :class:`DataError` when that path exists and is not a folder.
    """
    if cache_dir is not None:
        path, origin = Path(cache_dir).expanduser(), "cache_dir"
    elif os.environ.get(CACHE_ENV):
        path, origin = Path(os.environ[CACHE_ENV]).expanduser(), f"${CACHE_ENV}"
    else:
        path, origin = Path.home() / ".cache" / "hadamrnn", "the default"
    if path.exists() and not path.is_dir():
        raise DataError(
            f"cache folder {str(path)!r} (from {origin}): expected a folder, found a file; point {CACHE_ENV} "
            "at a folder, or turn the cache off (task.cache = false)"
        )
    return path


def require_files(paths: Sequence[Path], dataset: str, obtain: str) -> None:
    """Raise :class:`DataNotFoundError` naming every missing path and where the files come from."""
    missing = [str(path) for path in paths if not path.is_file()]
    if missing:
        expected = "\n  ".join(str(path) for path in paths)
        raise DataNotFoundError(
            f"{dataset}: missing {len(missing)} of {len(paths)} expected file(s): {', '.join(missing)}\n"
            f"expected:\n  {expected}\n{obtain}"
        )


#: The most bytes :func:`read_gzip` decompresses unless told otherwise: every data file of the
#: tasks is far smaller, and a "gzip bomb" (a small archive of gigabytes) stops here.
MAX_DECOMPRESSED_BYTES = 1 << 30


def _gzip_error(path: Path, error: BaseException) -> DataError:
    return DataError(f"{path}: expected a complete gzip archive, got a truncated or corrupt one ({error})")


@contextmanager
def open_gzip(path: Path) -> Iterator[gzip.GzipFile]:
    """``path`` opened for decompressed reading; a truncated or corrupt archive is a :class:`DataError`."""
    try:
        with gzip.open(path, "rb") as handle:
            yield handle
    except (EOFError, gzip.BadGzipFile, zlib.error) as error:
        raise _gzip_error(path, error) from None


class _BoundedStream(io.RawIOBase):
    """The decompressed bytes of ``source``, refusing to go past ``limit`` of them."""

    def __init__(self, source, limit: int, path: Path):
        super().__init__()
        self._source, self._limit, self._path, self._count = source, limit, path, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._source.read(min(len(buffer), self._limit - self._count + 1))
        self._count += len(data)
        if self._count > self._limit:
            raise DataError(
                f"{self._path}: expected at most {self._limit} bytes once decompressed, got more "
                "(a damaged or foreign archive)"
            )
        buffer[: len(data)] = data
        return len(data)


def bounded_reader(handle, path: Path, limit: int | None = None) -> io.BufferedReader:
    """A buffered reader over the decompressing ``handle`` that stops with a :class:`DataError`
    after ``limit`` bytes (default :data:`MAX_DECOMPRESSED_BYTES`): a reader that parses as it
    decompresses (a pickle, JSON lines) never decompresses a gzip bomb whole."""
    return io.BufferedReader(_BoundedStream(handle, MAX_DECOMPRESSED_BYTES if limit is None else limit, path))


def read_up_to(handle, count: int) -> bytes:
    """Up to ``count`` decompressed bytes from ``handle`` (fewer at the end of the stream), read in
    chunks of at most 16 MiB so that nothing beyond ``count`` is ever decompressed."""
    chunks, remaining = [], count
    while remaining:
        chunk = handle.read(min(remaining, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_gzip(path: Path, max_bytes: int = MAX_DECOMPRESSED_BYTES) -> bytes:
    """The decompressed bytes of a ``.gz`` file, at most ``max_bytes`` of them.

    A truncated or corrupt archive, or one that decompresses to more than ``max_bytes``, is a
    :class:`DataError`; decompression stops at ``max_bytes + 1`` bytes.
    """
    with open_gzip(path) as handle:
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise DataError(f"{path}: expected at most {max_bytes} bytes once decompressed, got more (a damaged or foreign archive)")
    return data


def save_npz_atomic(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """Write ``arrays`` as an uncompressed ``.npz`` through a temporary file and a rename."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def load_npz_checked(path: Path, expected: dict[str, tuple[np.dtype, int]]) -> dict[str, np.ndarray] | None:
    """The arrays of a cache file if it holds exactly the expected keys, dtypes and ranks, else None."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            if set(archive.files) != set(expected):
                return None
            arrays = {key: archive[key] for key in expected}
    except (OSError, ValueError, zlib.error, EOFError, KeyError):
        return None
    for key, (dtype, ndim) in expected.items():
        if arrays[key].dtype != dtype or arrays[key].ndim != ndim:
            return None
    return arrays


def balanced_order(labels: np.ndarray, num_classes: int, length: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of one class-balanced epoch of ``length`` samples.

    Slot ``k`` holds a sample of class ``k mod C`` (classes absent from ``labels`` are skipped), so
    every ``C`` consecutive slots hold one sample of each class and any batch is balanced to within
    one sample per class. Each class is drawn without replacement from fresh permutations of its
    samples, cycled when the class is too small to fill its slots (oversampling the minority class,
    undersampling the majority class).
    """
    classes = [np.flatnonzero(labels == c) for c in range(num_classes)]
    classes = [members for members in classes if members.size]
    count = len(classes)
    order = np.empty(length, dtype=np.int64)
    for position, members in enumerate(classes):
        slots = len(range(position, length, count))
        rounds = math.ceil(slots / members.size)
        stream = np.concatenate([members[rng.permutation(members.size)] for _ in range(rounds)])
        order[position::count] = stream[:slots]
    return order


class ArrayClassificationTask(abc.ABC):
    """A many-to-one classification task over in-memory splits.

    Subclasses fill ``self._inputs`` and ``self._labels`` (``split -> array``, first axis the
    sample) and override ``_convert`` to turn a slice of stored inputs (compact dtypes) into the
    batch tensor. ``output_size == 1`` means binary with BCE-with-logits on one logit; otherwise
    cross-entropy over ``output_size`` classes. ``balanced=True`` draws training batches with
    :func:`balanced_order` instead of a plain permutation.
    """

    name: str = "array"
    input_size: int | None = None
    output_size: int = 2
    #: The loss over every step that a many-to-many head may fuse (``Task.step_loss``); these
    #: tasks read out one label per sequence.
    step_loss: StepLoss | None = None
    many_to_many = False
    vocab_size: int | None = None

    def __init__(self, seed: int, *, balanced: bool = False):
        self.seed = seed
        self.balanced = balanced
        self._inputs: dict[str, np.ndarray] = {}
        self._labels: dict[str, np.ndarray] = {}
        self._order_cache: tuple[tuple[str, int], np.ndarray] | None = None

    @property
    def num_classes(self) -> int:
        return 2 if self.output_size == 1 else self.output_size

    def split_size(self, split: str) -> int:
        if split not in SPLITS:
            raise HadamRNNError(f"split must be one of {SPLITS}, got {split!r}")
        return int(self._labels[split].shape[0])

    def num_batches(self, split: str, batch_size: int) -> int:
        if batch_size < 1:
            raise HadamRNNError(f"batch_size must be >= 1, got {batch_size}")
        return math.ceil(self.split_size(split) / batch_size)

    def _order(self, split: str, epoch: int) -> np.ndarray | None:
        """Sample order of the split in this epoch; None means the stored order."""
        if split != "train":
            return None
        key = (split, epoch)
        if self._order_cache is None or self._order_cache[0] != key:
            rng = np.random.default_rng(np.random.SeedSequence((self.seed, _SPLIT_IDS[split], epoch)))
            size = self.split_size(split)
            if self.balanced:
                order = balanced_order(self._labels[split], self.num_classes, size, rng)
            else:
                order = rng.permutation(size)
            self._order_cache = (key, order)
        return self._order_cache[1]

    def indices(self, split: str, index: int, batch_size: int, epoch: int = 0) -> np.ndarray:
        """Positions, in the stored split, of the samples of batch ``index``."""
        count = self.num_batches(split, batch_size)
        if not 0 <= index < count:
            raise IndexError(f"batch index {index} out of range for the {split} split ({count} batches of {batch_size})")
        stop = min((index + 1) * batch_size, self.split_size(split))
        order = self._order(split, epoch)
        return np.arange(index * batch_size, stop) if order is None else order[index * batch_size : stop]

    @abc.abstractmethod
    def _convert(self, stored: np.ndarray) -> torch.Tensor:
        """The batch tensor of ``stored``, a slice of the stored inputs along the first axis."""

    def batch(self, split: str, index: int, batch_size: int, epoch: int = 0) -> Batch:
        rows = self.indices(split, index, batch_size, epoch)
        labels = torch.from_numpy(self._labels[split][rows].astype(np.int64))
        targets = labels.to(torch.float32) if self.output_size == 1 else labels
        return Batch(self._convert(self._inputs[split][rows]), targets)

    def batches(self, split: str, batch_size: int, epoch: int = 0) -> Iterator[Batch]:
        for index in range(self.num_batches(split, batch_size)):
            yield self.batch(split, index, batch_size, epoch)

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """BCE-with-logits on ``(B, 1)`` logits for binary tasks, cross-entropy on ``(B, C)`` otherwise."""
        if self.output_size == 1:
            return F.binary_cross_entropy_with_logits(outputs.reshape(-1), targets.to(outputs.dtype).reshape(-1))
        return F.cross_entropy(outputs, targets)

    def predictions(self, outputs: torch.Tensor) -> torch.Tensor:
        """Predicted class ids ``(B,)`` of a batch of outputs."""
        if self.output_size == 1:
            return (outputs.reshape(-1) > 0).to(torch.int64)
        return outputs.argmax(dim=-1)

    def metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """``loss`` and ``accuracy`` of one batch."""
        correct = self.predictions(outputs) == targets.reshape(-1).to(torch.int64)
        return {"loss": float(self.loss(outputs, targets)), "accuracy": float(correct.float().mean())}

    def class_counts(self, split: str) -> list[int]:
        return np.bincount(self._labels[split].astype(np.int64), minlength=self.num_classes).tolist()

    def summary(self) -> dict[str, float | int | str]:
        return {
            "task": self.name,
            "train_size": self.split_size("train"),
            "val_size": self.split_size("val"),
            "test_size": self.split_size("test"),
            "classes": self.num_classes,
        }


def limit(array: np.ndarray, count: int | None) -> np.ndarray:
    """The first ``count`` samples of ``array`` (all of them when ``count`` is None)."""
    return array if count is None else array[:count]
