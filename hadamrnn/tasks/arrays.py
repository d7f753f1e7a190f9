"""Your own data: sequences held in numpy arrays (``[task] name = "arrays"``).

The task reads one ``.npz`` file, or a folder of ``.npy`` files named like the keys below
(``x_train.npy``, ``y_train.npy``, ...). Either one pool of samples, split by the task::

    x  (N, T, d) float features, or (N, T) integer token ids
    y  (N,) integer class ids (classification), or (N, T) one class id per step (tagging)

or explicit splits, each a pair: ``x_train``/``y_train`` (required), ``x_val``/``y_val`` and
``x_test``/``y_test`` (optional). A split that is not given is drawn from the training samples,
``val_fraction`` and ``test_fraction`` of them, by a permutation seeded with ``split_seed`` (so the
split does not change with the training seed).

* Features are any real dtype, stored and fed as float32; they must be finite.
* Token ids are any integer dtype, in ``0..vocab_size-1``; 0 is padding (its embedding is zero).
* Labels are any integer dtype, in ``0..num_classes-1``. In a tagging task a label of ``-1``
  marks a step that is not scored (padding of shorter sequences).

``num_classes`` and ``vocab_size`` default to the largest value found plus one, over every split.
Every problem with a file is a :class:`~hadamrnn.errors.DataError` that names the file, the key,
what was expected and what was found.
"""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from ..errors import DataError, DataNotFoundError
from ..losses import StepLoss
from .data import DATA_ENV, ArrayClassificationTask

__all__ = ["ArraysTask", "ARRAY_KEYS", "IGNORED_LABEL", "resolve_user_path", "split_indices"]

#: The keys (``.npz``) or file stems (``.npy``) the task reads.
ARRAY_KEYS = ("x", "y", "x_train", "y_train", "x_val", "y_val", "x_test", "y_test")
#: The label of a tagging step that is not scored (padding).
IGNORED_LABEL = -1
_SPLITS = ("train", "val", "test")


def resolve_user_path(path: str | Path, data_dir: str | Path | None, what: str) -> Path:
    """Where a path of a config points: as written (absolute, or relative to the current
    directory), else relative to the data directory (``data_dir``, else ``$HADAMRNN_DATA``).

    Raises :class:`DataNotFoundError` naming every place that was tried.
    """
    written = Path(path).expanduser()
    tried = [written]
    if not written.is_absolute():
        base = data_dir if data_dir is not None else os.environ.get(DATA_ENV)
        if base:
            tried.append(Path(base).expanduser() / written)
    for candidate in tried:
        if candidate.exists():
            return candidate
    places = " or ".join(repr(str(candidate)) for candidate in tried)
    raise DataNotFoundError(f"{what}: expected {places}, found nothing there")


def split_indices(count: int, val_fraction: float, test_fraction: float, seed: int, need: tuple[bool, bool]) -> dict[str, np.ndarray]:
    """Positions of the train, val and test samples carved out of ``count`` samples.

    ``need`` says whether the validation and the test split are drawn here (False: the data
    brought its own). The draw is a permutation seeded with ``seed``; each drawn split gets
    ``round(fraction * count)`` samples, at least one.
    """
    order = np.random.default_rng(np.random.SeedSequence((seed, count))).permutation(count)
    sizes = {}
    for split, fraction, needed in (("val", val_fraction, need[0]), ("test", test_fraction, need[1])):
        sizes[split] = max(1, round(fraction * count)) if needed else 0
    if sizes["val"] + sizes["test"] >= count:
        raise DataError(
            f"cannot draw {sizes['val']} validation and {sizes['test']} test samples from {count} training samples "
            "and keep any for training: expected more samples, or smaller val_fraction / test_fraction"
        )
    val_end = sizes["val"]
    test_end = val_end + sizes["test"]
    return {"val": np.sort(order[:val_end]), "test": np.sort(order[val_end:test_end]), "train": np.sort(order[test_end:])}


def _read_arrays(path: Path) -> tuple[dict[str, np.ndarray], str]:
    """The known arrays of a ``.npz`` file or a folder of ``.npy`` files, and a name for messages."""
    if path.is_dir():
        arrays = {}
        for key in ARRAY_KEYS:
            file = path / f"{key}.npy"
            if file.is_file():
                arrays[key] = _load(file, lambda f=file: np.load(f, allow_pickle=False))
        if not arrays:
            present = sorted(entry.name for entry in path.iterdir())[:20]
            raise DataError(
                f"{path}: expected .npy files named after the keys ({', '.join(f'{k}.npy' for k in ARRAY_KEYS)}), "
                f"found {', '.join(present) or 'an empty folder'}"
            )
        return arrays, str(path)
    if path.suffix != ".npz":
        raise DataError(f"{path}: expected a .npz file or a folder of .npy files, got a {path.suffix or 'suffix-less'} file")

    def read() -> dict[str, np.ndarray]:
        with np.load(path, allow_pickle=False) as archive:
            unknown = sorted(set(archive.files) - set(ARRAY_KEYS))
            if unknown:
                raise DataError(
                    f"{path}: unknown key(s) {', '.join(unknown)}; expected keys among {', '.join(ARRAY_KEYS)}"
                )
            return {key: archive[key] for key in archive.files}

    return _load(path, read), str(path)


# The first bytes of each format: anything else is not worth handing to np.load, which would
# try to unpickle it and report a misleading "allow_pickle" error.
_MAGIC = {".npz": (b"PK\x03\x04", b"PK\x05\x06"), ".npy": (b"\x93NUMPY",)}


def _load(path: Path, read):
    with open(path, "rb") as handle:
        start = handle.read(6)
    if not start.startswith(_MAGIC[path.suffix]):
        kind = "a .npz (zip) archive" if path.suffix == ".npz" else "a .npy array file"
        raise DataError(f"{path}: expected numpy arrays ({kind}), got an unreadable file starting with {start!r}")
    try:
        return read()
    except DataError:
        raise
    except ValueError as error:
        if "allow_pickle" in str(error) or "Object arrays" in str(error):
            raise DataError(f"{path}: holds Python objects (dtype=object); expected numeric arrays") from None
        raise DataError(f"{path}: expected numpy arrays, got an unreadable file ({error})") from None
    except (OSError, zipfile.BadZipFile, EOFError) as error:
        raise DataError(f"{path}: expected numpy arrays, got an unreadable file ({error})") from None


def _first_bad(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.argwhere(mask)[0])


class ArraysTask(ArrayClassificationTask):
    """Classification or tagging of sequences given as numpy arrays (see the module docstring).

    Args:
        path: the ``.npz`` file or the folder of ``.npy`` files (relative paths: see
            :func:`~hadamrnn.tasks.arrays.resolve_user_path`).
        data_dir: where relative paths are looked for when they are not found as written.
        seed: seeds the per-epoch shuffling of the training set.
        val_fraction, test_fraction: the share of the training samples drawn for a split the data
            does not bring.
        split_seed: seeds that draw.
        num_classes: the number of classes; None takes the largest label plus one.
        vocab_size: token ids in all (token inputs only); None takes the largest id plus one.

    Attributes:
        many_to_many: True when the labels are ``(N, T)`` (a tagger reads out every step).
        input_size: ``d`` of float features; None for token ids.
        vocab_size: token ids in all; None for float features.
        seq_len: ``T`` of the training split.
    """

    name = "arrays"

    def __init__(
        self,
        path,
        data_dir=None,
        *,
        seed: int = 0,
        val_fraction: float = 0.1,
        test_fraction: float = 0.1,
        split_seed: int = 0,
        num_classes: int | None = None,
        vocab_size: int | None = None,
    ):
        super().__init__(seed)
        self.path = resolve_user_path(path, data_dir, "arrays task: the data file (task.path)")
        arrays, source = _read_arrays(self.path)
        self.source = source
        pairs = self._pairs(arrays, source)
        # The arrays as the file names them (x and y, or x_train, y_train, ...): every check and
        # its message refer to these names, before any split is drawn.
        named = {(f"x{suffix}", f"y{suffix}"): pair for suffix, pair in pairs.items()}
        for (x_key, y_key), (x, y) in named.items():
            self._check_pair(x, y, x_key, y_key, source)
        self._check_consistent(named, source)
        train_x, train_y = next(iter(named.values()))
        self.tokens = train_x.ndim == 2
        self.many_to_many = train_y.ndim == 2
        # what loss() computes for a tagging task, which a head may fuse (Task.step_loss)
        self.step_loss = StepLoss("cross_entropy", ignore_index=IGNORED_LABEL) if self.many_to_many else None
        self.seq_len = int(train_x.shape[1])
        inputs = {x_key: x for (x_key, _), (x, _) in named.items()}
        labels = {y_key: y for (_, y_key), (_, y) in named.items()}
        if self.tokens:
            self.input_size = None
            self.vocab_size = self._range_checked(inputs, vocab_size, "vocab_size", "token id", source, allow_ignored=False)
        else:
            self.input_size = int(train_x.shape[2])
            self.vocab_size = None
        self.output_size = self._range_checked(
            labels, num_classes, "num_classes", "class label", source, allow_ignored=self.many_to_many
        )
        splits = {suffix.lstrip("_") or "pool": pair for suffix, pair in pairs.items()}
        need = ("val" not in splits, "test" not in splits)
        if any(need):
            drawn_from = "pool" if "pool" in splits else "train"
            pool_x, pool_y = splits.pop(drawn_from)
            positions = split_indices(len(pool_y), val_fraction, test_fraction, split_seed, need)
            for split in _SPLITS:
                if split == "train" or (split == "val" and need[0]) or (split == "test" and need[1]):
                    splits[split] = (pool_x[positions[split]], pool_y[positions[split]])
        if self.tokens:
            self._inputs = {split: x for split, (x, _) in splits.items()}
        else:
            self._inputs = {split: np.ascontiguousarray(x, dtype=np.float32) for split, (x, _) in splits.items()}
        self._labels = {split: y.astype(np.int64, copy=False) for split, (_, y) in splits.items()}

    # -- checks ------------------------------------------------------------------------------------
    @staticmethod
    def _pairs(arrays: dict[str, np.ndarray], source: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """The (x, y) pairs of the file, by key suffix: ``""`` for one pool, else ``"_train"``, ..."""
        found = ", ".join(sorted(arrays)) or "none"
        if "x" in arrays or "y" in arrays:
            explicit = sorted(key for key in arrays if key not in ("x", "y"))
            if explicit:
                raise DataError(
                    f"{source}: expected either one pool (x, y) or explicit splits (x_train, y_train, ...), "
                    f"got both: {found}"
                )
            if not ("x" in arrays and "y" in arrays):
                raise DataError(f"{source}: expected both x and y, found only {found}")
            return {"": (arrays["x"], arrays["y"])}
        if not ("x_train" in arrays and "y_train" in arrays):
            raise DataError(
                f"{source}: expected arrays x and y (one pool), or x_train and y_train (with optional "
                f"x_val, y_val, x_test, y_test); found {found}"
            )
        pairs = {}
        for split in _SPLITS:
            keys = (f"x_{split}", f"y_{split}")
            present = [key in arrays for key in keys]
            if any(present) and not all(present):
                have, lack = (keys[0], keys[1]) if present[0] else (keys[1], keys[0])
                raise DataError(f"{source}: {have} is given without {lack}: expected both or neither")
            if all(present):
                pairs[f"_{split}"] = (arrays[keys[0]], arrays[keys[1]])
        return pairs

    @staticmethod
    def _check_pair(x: np.ndarray, y: np.ndarray, x_key: str, y_key: str, source: str) -> None:
        if x.ndim == 3:
            if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)):
                raise DataError(f"{source}: {x_key} must hold real numbers (float features), got dtype {x.dtype}")
            if np.issubdtype(x.dtype, np.floating):
                bad = ~np.isfinite(x)
                if bad.any():
                    raise DataError(
                        f"{source}: {x_key} must be finite, got {int(bad.sum())} NaN or infinite value(s), "
                        f"the first at index {_first_bad(bad)}"
                    )
        elif x.ndim == 2:
            if not np.issubdtype(x.dtype, np.integer):
                raise DataError(
                    f"{source}: {x_key} has shape {x.shape} and dtype {x.dtype}: expected (N, T, d) float features "
                    "or (N, T) integer token ids (for one feature per step, reshape to (N, T, 1))"
                )
        else:
            raise DataError(
                f"{source}: {x_key} must have shape (N, T, d) (float features) or (N, T) (token ids), "
                f"got shape {x.shape}"
            )
        if x.shape[0] == 0 or x.shape[1] == 0:
            raise DataError(f"{source}: {x_key} must hold at least one sequence of at least one step, got shape {x.shape}")
        if not (np.issubdtype(y.dtype, np.integer) or y.dtype == np.bool_):
            raise DataError(f"{source}: {y_key} must hold integer class ids, got dtype {y.dtype}")
        if y.ndim == 1:
            expected = (x.shape[0],)
        elif y.ndim == 2:
            expected = tuple(x.shape[:2])
        else:
            expected = None
        if expected is None or y.shape != expected:
            raise DataError(
                f"{source}: {y_key} must have shape ({x.shape[0]},) (one label per sequence) or "
                f"{tuple(x.shape[:2])} (one label per step) to match {x_key} of shape {x.shape}, got shape {y.shape}"
            )

    @staticmethod
    def _check_consistent(named: dict[tuple[str, str], tuple[np.ndarray, np.ndarray]], source: str) -> None:
        (first_x_key, first_y_key), (first_x, first_y) = next(iter(named.items()))
        for (x_key, y_key), (x, y) in named.items():
            if x.ndim != first_x.ndim:
                raise DataError(
                    f"{source}: {x_key} has shape {x.shape} but {first_x_key} has shape {first_x.shape}: "
                    "expected the same kind of input (features or token ids) in every split"
                )
            if x.ndim == 3 and x.shape[2] != first_x.shape[2]:
                raise DataError(
                    f"{source}: {x_key} has {x.shape[2]} features per step, expected {first_x.shape[2]} as in {first_x_key}"
                )
            if y.ndim != first_y.ndim:
                raise DataError(
                    f"{source}: {y_key} has shape {y.shape} but {first_y_key} has shape {first_y.shape}: expected one "
                    "label per sequence in every split, or one per step in every split"
                )

    @staticmethod
    def _range_checked(
        values: dict[str, np.ndarray], given: int | None, option: str, what: str, source: str, allow_ignored: bool
    ) -> int:
        """``given``, or the largest value plus one, after checking every value against it."""
        low = IGNORED_LABEL if allow_ignored else 0
        for key, array in values.items():
            below = array < low
            if below.any():
                index = _first_bad(below)
                allowed = f"{IGNORED_LABEL} (a step that is not scored) or " if allow_ignored else ""
                raise DataError(
                    f"{source}: {key} holds {what} {array[index]} at index {index}: expected {allowed}values >= 0"
                )
        largest = max(int(array.max(initial=0)) for array in values.values())
        if given is None:
            # two classes at least: a file whose labels are all 0 still describes a classifier
            return max(largest + 1, 2 if what == "class label" else 1)
        for key, array in values.items():
            above = array >= given
            if above.any():
                index = _first_bad(above)
                raise DataError(
                    f"{source}: {key} holds {what} {array[index]} at index {index}: expected values in "
                    f"0..{given - 1} ({option} = {given})"
                )
        return given

    # -- batches, loss and metrics -----------------------------------------------------------------
    def _convert(self, stored: np.ndarray) -> torch.Tensor:
        if self.tokens:
            return torch.from_numpy(stored.astype(np.int64, copy=False))
        return torch.from_numpy(np.ascontiguousarray(stored))

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Cross-entropy over the classes: per sequence, or per scored step of a tagging task."""
        if self.many_to_many:
            return self.step_loss(outputs, targets)
        return F.cross_entropy(outputs, targets)

    def metrics(self, outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
        """``loss`` and ``accuracy`` (per sequence, or per scored step of a tagging task)."""
        if not self.many_to_many:
            return super().metrics(outputs, targets)
        scored = targets != IGNORED_LABEL
        correct = (outputs.argmax(dim=-1) == targets) & scored
        accuracy = float(correct.sum()) / max(int(scored.sum()), 1)
        return {"loss": float(self.loss(outputs, targets)), "accuracy": accuracy}

    def class_counts(self, split: str) -> list[int]:
        labels = self._labels[split].reshape(-1)
        return np.bincount(labels[labels >= 0], minlength=self.num_classes).tolist()

    def summary(self) -> dict[str, float | int | str]:
        return {
            **super().summary(),
            "seq_len": self.seq_len,
            "inputs": f"token ids < {self.vocab_size}" if self.tokens else f"{self.input_size} features per step",
            "labels": "one per step" if self.many_to_many else "one per sequence",
            "source": self.path.name,
        }
