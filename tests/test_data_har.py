"""HAR: the UCI HAR folder, the HAPT pickle (read without pandas), windowing and the restricted unpickler."""

import copyreg
import gzip
import pickle
import sys
import types

import numpy as np
import pytest
import torch

from hadamrnn.errors import DataError, DataNotFoundError
from hadamrnn import parse_config
from hadamrnn.tasks import HARTask, task_shape
from hadamrnn.errors import HadamRNNError
from hadamrnn.tasks.har import (
    HAPT_CHANNELS,
    HAPT_TEST_SUBJECTS,
    HAR_VALIDATION_SEED,
    UCI_SIGNALS,
    load_hapt_recordings,
    uci_signals,
    window_recording,
)

from helpers import shared_data_dir


# --- UCI HAR folder ---------------------------------------------------------------------------


def write_uci(root, train_subjects=(1, 3, 5), test_subjects=(2,), windows_per_subject=2, bad_label=None):
    rng = np.random.default_rng(0)
    arrays = {}
    for split, subjects in (("train", train_subjects), ("test", test_subjects)):
        count = len(subjects) * windows_per_subject
        folder = root / "har" / "UCI HAR Dataset" / split
        (folder / "Inertial Signals").mkdir(parents=True)
        labels = (np.arange(count) % 6) + 1
        if bad_label is not None and split == "train":
            labels[1] = bad_label
        subject_ids = np.repeat(subjects, windows_per_subject)
        signals = np.round(rng.normal(size=(count, 128, 9)), 3).astype(np.float32)
        (folder / f"y_{split}.txt").write_text("\n".join(map(str, labels)) + "\n")
        (folder / f"subject_{split}.txt").write_text("\n".join(map(str, subject_ids)) + "\n")
        for channel, name in enumerate(UCI_SIGNALS):
            lines = ["  " + " ".join(f"{v:.3f}" for v in row) for row in signals[:, :, channel]]
            (folder / "Inertial Signals" / f"{name}_{split}.txt").write_text("\n".join(lines) + "\n")
        arrays[split] = (signals, labels, subject_ids)
    return arrays


def test_uci_windows_split_and_standardisation(tmp_path):
    arrays = write_uci(tmp_path)
    task = HARTask(tmp_path, val_subjects=1, seed=0)
    assert (task.source, task.input_size, task.output_size, task.vocab_size) == ("uci", 9, 6, None)
    chosen = int(np.random.default_rng(HAR_VALIDATION_SEED).choice(np.array([1, 3, 5]), size=1, replace=False)[0])
    assert task.validation_subjects == [chosen]
    signals, labels, subjects = arrays["train"]
    keep = subjects != chosen
    mean = signals[keep].mean(axis=(0, 1), dtype=np.float64)
    std = signals[keep].std(axis=(0, 1), dtype=np.float64)
    val = task.batch("val", 0, 10)
    assert val.inputs.shape == (2, 128, 9) and val.inputs.dtype == torch.float32
    np.testing.assert_allclose(val.inputs.numpy(), (signals[~keep] - mean) / std, rtol=0, atol=1e-5)
    assert val.targets.tolist() == (labels[~keep] - 1).tolist()
    test = task.batch("test", 0, 10)
    assert test.targets.tolist() == (arrays["test"][1] - 1).tolist() and test.targets.dtype == torch.int64
    train_inputs = torch.cat([b.inputs for b in task.batches("train", 3)])
    np.testing.assert_allclose(train_inputs.reshape(-1, 9).mean(0).numpy(), np.zeros(9), atol=1e-5)


def test_uci_label_outside_the_classes(tmp_path):
    write_uci(tmp_path, bad_label=7)
    with pytest.raises(DataError, match=r"y_train.txt, line 2: expected an activity label in 1..6, got 7"):
        HARTask(tmp_path, val_subjects=1)


def test_uci_missing_file_is_named(tmp_path):
    write_uci(tmp_path)
    missing = tmp_path / "har" / "UCI HAR Dataset" / "test" / "Inertial Signals" / "body_gyro_y_test.txt"
    missing.unlink()
    with pytest.raises(DataNotFoundError, match="body_gyro_y_test.txt") as error:
        HARTask(tmp_path, val_subjects=1)
    assert "archive.ics.uci.edu" in str(error.value)


def test_uci_malformed_signal_file(tmp_path):
    write_uci(tmp_path)
    path = tmp_path / "har" / "UCI HAR Dataset" / "train" / "Inertial Signals" / "total_acc_x_train.txt"
    path.write_text(path.read_text().replace("\n", " 0.5\n", 1))
    with pytest.raises(DataError, match="total_acc_x_train.txt: expected rows of 128 numbers, got 769"):
        HARTask(tmp_path, val_subjects=1)


def test_no_har_data_names_both_sources(tmp_path, monkeypatch):
    monkeypatch.setattr("hadamrnn.tasks.har._installed_hapt", lambda: None)
    (tmp_path / "har").mkdir()
    with pytest.raises(DataNotFoundError, match="UCI HAR Dataset.*HAPT.pkl.gz"):
        HARTask(tmp_path)


# --- HAPT pickle ------------------------------------------------------------------------------
# The shipped file is a protocol-2 pickle of pandas objects (BlockManager layout). pandas is not
# a dependency, so these stand-ins, registered under pandas' module names, pickle to the same
# globals and the same state layout as the real file.


def _pandas_modules(monkeypatch):
    modules = {}
    for name in ("pandas", "pandas.core", "pandas.core.frame", "pandas.core.internals", "pandas.core.internals.managers",
                 "pandas.core.indexes", "pandas.core.indexes.base", "pandas.core.indexes.range"):
        modules[name] = types.ModuleType(name)
        monkeypatch.setitem(sys.modules, name, modules[name])

    def make(module, name, reduce):
        cls = type(name, (), {"__reduce__": reduce, "__module__": module})
        setattr(modules[module], name, cls)
        return cls

    base = modules["pandas.core.indexes.base"]

    def _new_Index(cls, d):  # noqa: N802 (pandas' own name)
        raise AssertionError("never called when pickling")

    _new_Index.__module__, _new_Index.__qualname__ = base.__name__, "_new_Index"
    base._new_Index = _new_Index
    Index = make(base.__name__, "Index", lambda self: (_new_Index, (type(self), {"data": self.data, "name": None})))
    RangeIndex = make("pandas.core.indexes.range", "RangeIndex",
                      lambda self: (_new_Index, (type(self), {"name": None, "start": 0, "stop": self.stop, "step": 1})))
    BlockManager = make("pandas.core.internals.managers", "BlockManager",
                        lambda self: (copyreg._reconstructor, (type(self), object, None), self.state))
    DataFrame = make("pandas.core.frame", "DataFrame",
                     lambda self: (copyreg._reconstructor, (type(self), object, None), self.state))
    return Index, RangeIndex, BlockManager, DataFrame


def hapt_pickle(monkeypatch, recordings) -> bytes:
    """A protocol-2 pickle laid out like HAPT.pkl.gz: {subject: [DataFrame(acc, gyro, sequence, label)]}."""
    Index, RangeIndex, BlockManager, DataFrame = _pandas_modules(monkeypatch)

    def index(values):
        item = Index()
        item.data = np.array(values, dtype=object)
        return item

    def frame(signals, labels):
        length = labels.size
        rows = RangeIndex()
        rows.stop = length
        names = ["acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z", "sequence", "label"]
        floats = np.ascontiguousarray(signals.T.astype(np.float64))
        ints = np.stack([np.arange(length), labels]).astype(np.int64)
        manager = BlockManager()
        manager.state = (
            [index(names), rows],
            [floats, ints],
            [index(names[:6]), index(names[6:])],
            {"0.14.1": {"axes": [index(names), rows], "blocks": [
                {"values": floats, "mgr_locs": slice(0, 6, 1)}, {"values": ints, "mgr_locs": slice(6, 8, 1)}]}},
        )
        result = DataFrame()
        result.state = {"_data": manager, "_typ": "dataframe", "_metadata": [], "attrs": {}}
        return result

    return pickle.dumps({subject: [frame(*r) for r in recs] for subject, recs in recordings.items()}, protocol=2)


def _recording(rng, labels):
    labels = np.array(labels, dtype=np.int64)
    return np.round(rng.normal(size=(labels.size, 6)), 4), labels


def test_hapt_pickle_reads_back_exactly_without_pandas(tmp_path, monkeypatch):
    rng = np.random.default_rng(1)
    signals, labels = _recording(rng, [-1] * 5 + [3] * 200)
    data = hapt_pickle(monkeypatch, {7: [(signals, labels)]})
    for name in [m for m in sys.modules if m.startswith("pandas")]:
        monkeypatch.delitem(sys.modules, name)  # reading must not need (or import) pandas
    path = tmp_path / "HAPT.pkl.gz"
    path.write_bytes(gzip.compress(data))
    recordings = load_hapt_recordings(path)
    assert list(recordings) == [7] and len(recordings[7]) == 1
    recording = recordings[7][0]
    assert recording["label"].tolist() == labels.tolist()
    assert np.array_equal(np.stack([recording[c] for c in ("acc-x", "acc-y", "acc-z", "gyro-x", "gyro-y", "gyro-z")], 1), signals)
    assert not any(m.startswith("pandas") for m in sys.modules)


def test_window_recording_uci_style():
    labels = np.array([-1] * 10 + [1] * 300 + [7] * 200 + [2] * 127 + [4] * 128)
    signals = np.arange(labels.size * 2, dtype=np.float32).reshape(-1, 2)
    windows, window_labels = window_recording(signals, labels)
    # Activity 1: 300 samples -> starts 10, 74, 138 (202 would end past 310); 7 is a transition;
    # 127 samples of activity 2 fit no window; activity 4 fits exactly one.
    assert window_labels.tolist() == [1, 1, 1, 4]
    assert windows.shape == (4, 128, 2) and windows.dtype == np.float32
    assert [int(w[0, 0]) // 2 for w in windows] == [10, 74, 138, 10 + 300 + 200 + 127]


def test_hapt_task_splits_subjects(tmp_path, monkeypatch):
    rng = np.random.default_rng(2)
    subjects = {s: [_recording(rng, [s % 6 + 1] * 192 + [-1] * 3)] for s in (1, 2, 3, 4, 5, 6)}
    (tmp_path / "har").mkdir()
    (tmp_path / "har" / "HAPT.pkl.gz").write_bytes(gzip.compress(hapt_pickle(monkeypatch, subjects)))
    task = HARTask(tmp_path, val_subjects=1)
    assert (task.source, task.input_size, task.channels) == ("hapt", 9, UCI_SIGNALS)
    raw = HARTask(tmp_path, val_subjects=1, signals="raw")
    assert (raw.input_size, raw.channels) == (6, HAPT_CHANNELS)
    assert raw.split_size("test") == task.split_size("test")
    test_subjects = sorted(set(subjects) & HAPT_TEST_SUBJECTS)
    assert test_subjects == [2, 4]
    assert task.split_size("test") == 2 * 2  # 192 samples -> windows at 0 and 64
    assert sorted(task._labels["test"].tolist()) == sorted([2 % 6, 2 % 6, 4 % 6, 4 % 6])
    assert task.split_size("train") + task.split_size("val") == 4 * 2
    assert task.batch("train", 0, 3, epoch=1).inputs.shape == (3, 128, 9)
    with pytest.raises(HadamRNNError, match="signals='raw' .* needs the HAPT recordings, got source='uci'"):
        HARTask(tmp_path, source="uci", signals="raw")
    # `hadamrnn size` reads no data: its shape must agree with the task built from the data.
    for built, signals in ((task, "uci"), (raw, "raw")):
        config = parse_config({"task": {"name": "har", "signals": signals}}).task
        assert task_shape(config, 0).input_size == built.input_size


class _Exploit:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


def test_restricted_unpickler_refuses_other_globals_without_running_them(tmp_path):
    marker = tmp_path / "executed"
    path = tmp_path / "HAPT.pkl.gz"
    path.write_bytes(gzip.compress(pickle.dumps({1: [_Exploit(marker)]}, protocol=2)))
    with pytest.raises(DataError, match=r"refused to unpickle the global (posix|os|nt)\.system"):
        load_hapt_recordings(path)
    assert not marker.exists()


def test_truncated_hapt_pickle(tmp_path, monkeypatch):
    rng = np.random.default_rng(3)
    data = gzip.compress(hapt_pickle(monkeypatch, {1: [_recording(rng, [1] * 130)]}))
    path = tmp_path / "HAPT.pkl.gz"
    path.write_bytes(data[: len(data) - 30])
    with pytest.raises(DataError, match="HAPT.pkl.gz: expected a complete gzip-compressed pickle"):
        load_hapt_recordings(path)


def test_real_hapt():
    root = shared_data_dir()
    if root is None or not (root / "har" / "HAPT.pkl.gz").is_file():
        pytest.skip("HAPT.pkl.gz not found under <data>/har/ (it is not part of ../shared/data)")
    task = HARTask(root, source="hapt")
    assert task.split_size("train") + task.split_size("val") > 5000 and task.split_size("test") > 2000
    assert task.batch("train", 0, 32).inputs.shape == (32, 128, 9)
    train = task._inputs["train"]
    assert np.abs(train.mean(axis=(0, 1))).max() < 1e-4 and np.abs(train.std(axis=(0, 1)) - 1).max() < 1e-4
    # Gravity is in the total acceleration only: before standardising, body acceleration averages
    # near zero while the total's x axis (the phone's long side, upright) is near 1 g.
    assert np.abs(task.mean[:3]).max() < 0.01 and 0.7 < task.mean[6] < 1.1


# --- The UCI filters ------------------------------------------------------------------------------

RATE = 50.0
SECONDS = np.arange(3000) / RATE  # a minute of recording


def _amplitude(signal, hertz):
    """The amplitude of the ``hertz`` component of ``signal``, away from the recording's ends."""
    middle = slice(500, -500)
    t = SECONDS[middle]
    basis = np.stack([np.sin(2 * np.pi * hertz * t), np.cos(2 * np.pi * hertz * t)], 1)
    coefficients, *_ = np.linalg.lstsq(basis, signal[middle], rcond=None)
    return float(np.hypot(*coefficients))


def test_uci_signals_order_and_gravity_split():
    gravity = np.array([0.1, -0.98, 0.2])
    walking = 0.3 * np.sin(2 * np.pi * 2.0 * SECONDS)  # 2 Hz, well inside both pass bands
    acceleration = gravity + walking[:, None] * np.array([1.0, 0.5, 0.0])
    gyroscope = np.cos(2 * np.pi * 1.0 * SECONDS)[:, None] * np.array([0.0, 1.0, 2.0])
    signals = uci_signals(acceleration, gyroscope)
    assert signals.shape == (SECONDS.size, 9) and signals.dtype == np.float32
    body, body_gyro, total = signals[:, :3], signals[:, 3:6], signals[:, 6:]
    # The high-pass takes the constant gravity out of the body acceleration and keeps the 2 Hz motion.
    assert np.abs(body[500:-500].mean(axis=0)).max() < 1e-3
    assert _amplitude(body[:, 0], 2.0) == pytest.approx(0.3, rel=0.01)
    assert _amplitude(body[:, 1], 2.0) == pytest.approx(0.15, rel=0.01)
    assert np.abs(body[:, 2]).max() < 1e-3
    # The total acceleration keeps both; the gyroscope keeps its 1 Hz signal per axis.
    assert total[500:-500].mean(axis=0) == pytest.approx(gravity, abs=1e-3)
    assert _amplitude(total[:, 0], 2.0) == pytest.approx(0.3, rel=0.01)
    assert [_amplitude(body_gyro[:, axis], 1.0) for axis in range(3)] == pytest.approx([0.0, 1.0, 2.0], abs=0.01)


def test_uci_signals_remove_noise_above_20_hz_and_single_sample_spikes():
    fast = np.sin(2 * np.pi * 23.0 * SECONDS)  # above the 20 Hz cut-off
    spikes = np.zeros(SECONDS.size)
    spikes[1000::400] = 5.0
    signals = uci_signals(np.stack([fast, spikes, np.zeros_like(fast)], 1), np.stack([spikes, fast, fast], 1))
    # Two passes of a 3rd-order Butterworth at 20 Hz leave under a third of 23 Hz (|H|^2 = 0.32).
    assert _amplitude(signals[:, 6], 23.0) < 0.32
    assert _amplitude(signals[:, 4], 23.0) < 0.32
    # The median filter of 3 samples removes isolated spikes before the low-pass can spread them.
    assert np.abs(signals[:, 3]).max() < 1e-6 and np.abs(signals[:, 7]).max() < 1e-6


def test_uci_signals_refuse_bad_shapes_and_short_recordings():
    with pytest.raises(DataError, match=r"expected acceleration and gyroscope of one shape \(L, 3\), got \(100, 3\) and \(99, 3\)"):
        uci_signals(np.zeros((100, 3)), np.zeros((99, 3)))
    with pytest.raises(DataError, match="expected a recording of at least 16 samples to filter, got 10"):
        uci_signals(np.zeros((10, 3)), np.zeros((10, 3)))
