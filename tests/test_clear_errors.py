"""Bad values, bad files and a failing operating system are one line on the command line (the
file or key, what was expected, what was found) and an exit status of 2; ``--debug`` shows the
traceback instead."""

from __future__ import annotations

import errno
import gzip
import json
import os
import shutil
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
import torch

import hadamrnn
from hadamrnn.cli import main
from hadamrnn.config import apply_overrides, parse_config
from hadamrnn.errors import ConfigError, DataError, ShapeError
from hadamrnn.tasks import MNISTTask
from hadamrnn.tasks.data import resolve_cache_dir
from hadamrnn.tasks.mnist import read_idx

from tiny_runs import TINY_OVERRIDES, assert_clean_error, run_cli


def one_line_error(capsys, argv: list[str], *fragments: str, status: int = 2) -> str:
    assert main(argv) == status
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("hadamrnn: error: "), err
    for fragment in fragments:
        assert fragment in lines[0], (fragment, lines[0])
    return lines[0]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    run = tmp_path_factory.mktemp("runs") / "demo"
    assert main(["train", "copy", *TINY_OVERRIDES, "--out", str(run), "--no-progress"]) == 0
    return run


# -- config values -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ("train.lr=inf", "train.lr: expected a finite number (not inf or nan), got inf"),
        ("train.lr=nan", "train.lr: expected a finite number (not inf or nan), got nan"),
        ("train.lr=1e30", "train.lr: must be at most 10.0 (a larger Adam step diverges at once"),
        ("train.sign_lr=1e30", "train.sign_lr: must be at most 10.0"),
        ("model.sign_clip=inf", "model.sign_clip: expected a finite number"),
        ("train.seed=-1", "train.seed: Input should be greater than or equal to 0, got -1"),
        ("train.seed=18446744073709551616", "train.seed: must be at most 18,446,744,073,709,551,615 (torch.manual_seed takes a seed below 2**64)"),
        ("train.epochs=true", "train.epochs: expected an integer (not a boolean, a float or a string), got True"),
        ("train.epochs=2.0", "train.epochs: expected an integer (not a boolean, a float or a string), got 2.0"),
        ("train.batch_size=false", "train.batch_size: expected an integer"),
        ("model.hidden_size=2097152", "model.hidden_size: must be at most 1,048,576 (the largest n a .hrnn model file stores)"),
        ("train.batch_size=100000", "train.batch_size: must be at most 65,536 (a batch holds B·T inputs"),
        ("task.seq_len=2000000", "task.seq_len: must be at most 1,048,576"),
        ("task.train_size=10000000000", "task.train_size: must be at most 1,000,000,000"),
        ("train.epochs=10000000", "train.epochs: must be at most 1,000,000"),
        ("train.keep_checkpoints=5000", "train.keep_checkpoints: must be at most 1,000"),
        ("name='../x'", "name: expected a folder name"),
        ("name='a/b'", "name: expected a folder name"),
        ("name='.hidden'", "name: expected a folder name"),
    ],
    ids=['lr-inf', 'lr-nan', 'lr-1e30', 'sign-lr-1e30', 'sign-clip-inf', 'seed-negative', 'seed-2**64', 'epochs-true', 'epochs-float', 'batch-size-false', 'hidden-size-2**21', 'batch-size-100000', 'seq-len-2000000', 'train-size-10**10', 'epochs-10**7', 'keep-checkpoints-5000', 'name-dotdot', 'name-slash', 'name-hidden'],
)
def test_config_values_outside_their_range_are_refused_with_the_reason(capsys, override, fragment):
    one_line_error(capsys, ["size", "copy", "--set", override], "invalid config after --set overrides:", fragment)


def test_dense_baselines_have_a_lower_hidden_size_bound():
    with pytest.raises(ConfigError, match=r"must be at most 8,192 for model.kind='lstm' \(its recurrent weights are dense"):
        parse_config({"model": {"kind": "lstm", "hidden_size": 16384, "input_bits": None, "output_bits": None}})
    assert parse_config({"model": {"kind": "hadamrnn", "hidden_size": 1 << 20}}).model.hidden_size == 1 << 20


def test_strict_types_in_a_toml_file(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('[task]\ncache = 1\nname = "imdb"\n[train]\nepochs = true\n')
    assert main(["size", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "task.cache: expected true or false, got 1" in err and "train.epochs: expected an integer" in err


def test_every_shipped_and_archived_config_still_validates():
    root = Path(__file__).resolve().parents[1]
    from hadamrnn.config import load_config

    for path in sorted((root / "configs").glob("*.toml")):
        load_config(path)
    for metrics in sorted((root / "results").glob("*/metrics.json")):
        parse_config(json.loads(metrics.read_text())["config"], str(metrics))


# -- the operating system ------------------------------------------------------------------------------------
def test_a_full_disk_during_export_names_the_file(trained, tmp_path, capsys, monkeypatch):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    out = tmp_path / "model.hrnn"
    line = one_line_error(capsys, ["export", str(trained), "--out", str(out), "--calibration-batches", "1"],
                          "expected free space on its device, found the device full")
    assert not out.exists() and not list(tmp_path.glob(".model.hrnn.*.tmp"))
    assert "No space left on device" in line


def test_a_full_disk_during_training_names_the_file(tmp_path, capsys, monkeypatch):
    import hadamrnn._io as io

    def full(path, data):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(io, "atomic_write_bytes", full)
    monkeypatch.setattr(hadamrnn.checkpoint, "atomic_write_text", lambda path, text: full(path, text))
    one_line_error(capsys, ["train", "copy", *TINY_OVERRIDES, "--out", str(tmp_path / "run"), "--no-progress"],
                   "latest': expected free space on its device, found the device full")


def test_a_file_where_a_folder_is_expected(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("")
    one_line_error(capsys, ["train", "copy", *TINY_OVERRIDES, "--out", str(blocker / "run")],
                   str(blocker / "run"), "expected a folder on its path, found a file")
    one_line_error(capsys, ["train", "copy", *TINY_OVERRIDES, "--runs", str(blocker)], str(blocker))
    one_line_error(capsys, ["train", "copy", *TINY_OVERRIDES, "--out", str(blocker)], str(blocker))


def test_a_folder_where_a_file_is_expected(trained, tmp_path, capsys):
    one_line_error(capsys, ["export", str(trained), "--out", str(tmp_path)], "expected a file path, got an existing folder")
    one_line_error(capsys, ["size", "--config", str(tmp_path)], "config file not found: expected a TOML file")


def test_permission_denied_names_the_file(trained, tmp_path, capsys, monkeypatch):
    import hadamrnn._io as io

    def denied(path):
        raise PermissionError(errno.EACCES, "Permission denied", str(path))

    monkeypatch.setattr(io, "_new_file", denied)
    one_line_error(capsys, ["export", str(trained), "--out", str(tmp_path / "m.hrnn"), "--calibration-batches", "1"],
                   "expected permission to access it, found it denied")


def test_debug_shows_the_traceback(tmp_path):
    config = tmp_path / "missing.toml"
    plain = run_cli("size", "--config", config)
    assert_clean_error(plain, "config file not found")
    debug = run_cli("--debug", "size", "--config", config)
    assert debug.returncode != 0 and "Traceback (most recent call last)" in debug.stderr and "ConfigError" in debug.stderr
    after = run_cli("size", "--config", config, "--debug")
    assert "Traceback (most recent call last)" in after.stderr


def test_an_unexpected_error_is_one_line_with_a_hint(monkeypatch, capsys):
    from hadamrnn import workflows

    def broken(*args, **kwargs):
        raise RuntimeError("something inside broke")

    monkeypatch.setattr(workflows, "evaluate_run", broken)
    line = one_line_error(capsys, ["evaluate", "x"], "unexpected RuntimeError: something inside broke", status=1)
    assert "--debug" in line


# -- data files ------------------------------------------------------------------------------------------------
def test_an_sst2_field_over_the_csv_limit_is_a_data_error(tmp_path, capsys):
    folder = tmp_path / "data" / "sst2"
    folder.mkdir(parents=True)
    (folder / "train.tsv").write_text("sentence\tlabel\nfine\t1\n" + "x" * 200_000 + "\t0\n", encoding="utf-8")
    (folder / "dev.tsv").write_text("sentence\tlabel\nfine\t1\n", encoding="utf-8")
    (folder / "test.tsv").write_text("index\tsentence\n0\tfine\n", encoding="utf-8")
    config = tmp_path / "sst2.toml"
    config.write_text('[task]\nname = "sst2"\n[model]\nhidden_size = 8\nembedding_dim = 4\n[train]\nepochs = 1\n')
    one_line_error(capsys, ["train", "--config", str(config), "--data-dir", str(tmp_path / "data"), "--out", str(tmp_path / "run")],
                   "train.tsv, line 3: expected tab-separated fields of at most 131072 characters")


def idx_header(magic: int, *shape: int) -> bytes:
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in shape)


def test_an_idx_header_whose_dimensions_overflow_is_refused(tmp_path):
    path = tmp_path / "images.gz"
    path.write_bytes(gzip.compress(idx_header(0x0803, 2**32 - 1, 2**32 - 1, 2**32 - 1)))
    with pytest.raises(DataError, match=r"expected at most 1073741824 bytes of IDX data, the header declares shape \(4294967295, 4294967295, 4294967295\)"):
        read_idx(path, 3)
    with pytest.raises(DataError, match=r"expected 13 images of 28x28, got shape \(4294967295,"):
        read_idx(path, 3, (13, 28, 28), "13 images of 28x28")


def test_a_gzip_bomb_is_refused_after_its_header_without_decompressing_it(tmp_path, monkeypatch):
    """A valid MNIST header followed by 256 MB of zeros (a 250 kB archive): read_idx decompresses
    the header and one byte more than it declares, then stops."""
    path = tmp_path / "images.gz"
    compressor = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: a gzip container
    chunks = [compressor.compress(idx_header(0x0803, 5, 28, 28))]
    zeros = bytes(1 << 24)
    chunks += [compressor.compress(zeros) for _ in range(16)]
    path.write_bytes(b"".join(chunks) + compressor.flush())
    decompressed = []
    original = gzip.GzipFile.read

    def counting_read(self, size=-1):
        data = original(self, size)
        decompressed.append(len(data))
        return data

    monkeypatch.setattr(gzip.GzipFile, "read", counting_read)
    with pytest.raises(DataError, match=r"declares shape \(5, 28, 28\) \(3920 bytes of data\), got more bytes"):
        read_idx(path, 3, (5, 28, 28))
    assert sum(decompressed) <= 16 + 3920 + 1


def test_gzip_streams_parsed_as_they_decompress_stop_at_the_bound(tmp_path, monkeypatch):
    """The HAPT pickle and the IMDB JSON lines are parsed while they decompress: past the bound
    (1 GiB; 64 kB here) they stop with a DataError instead of decompressing everything."""
    import hadamrnn.tasks.data as data
    from hadamrnn.tasks.har import load_hapt_recordings
    from hadamrnn.tasks.imdb import _read_jsonl

    monkeypatch.setattr(data, "MAX_DECOMPRESSED_BYTES", 1 << 16)
    pickled = tmp_path / "HAPT.pkl.gz"
    pickled.write_bytes(gzip.compress(b"\x80\x02X" + struct.pack("<I", 1 << 20) + bytes(1 << 20)))
    with pytest.raises(DataError, match=r"HAPT.pkl.gz: expected at most 65536 bytes once decompressed, got more"):
        load_hapt_recordings(pickled)
    lines = tmp_path / "train.jsonl.gz"
    lines.write_bytes(gzip.compress(b'{"id": 1, "label": 0, "text": "fine"}\n' * 4000))
    with pytest.raises(DataError, match=r"train.jsonl.gz: expected at most 65536 bytes once decompressed"):
        _read_jsonl(lines)


def test_mnist_with_overflowing_dimensions_through_the_task(tmp_path):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = idx_header(0x0803, 2**31, 2**31, 28)
    labels = idx_header(0x0801, 12) + bytes(12)
    for name, payload in (("train-images-idx3-ubyte.gz", images), ("train-labels-idx1-ubyte.gz", labels),
                          ("t10k-images-idx3-ubyte.gz", images), ("t10k-labels-idx1-ubyte.gz", labels)):
        (folder / name).write_bytes(gzip.compress(payload))
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: expected 12 images of 28x28, got shape \(2147483648"):
        MNISTTask(tmp_path, train_count=12, test_count=12, val_size=4)


def test_a_cache_folder_that_is_a_file(tmp_path, monkeypatch):
    blocker = tmp_path / "cache"
    blocker.write_text("")
    monkeypatch.setenv("HADAMRNN_CACHE", str(blocker))
    with pytest.raises(DataError, match=r"cache folder .*cache' \(from \$HADAMRNN_CACHE\): expected a folder, found a file"):
        resolve_cache_dir()
    with pytest.raises(DataError, match="expected a folder, found a file"):
        resolve_cache_dir(blocker)


def test_an_imdb_cache_folder_that_is_a_file_through_the_task(tmp_path, monkeypatch):
    from test_data_imdb import write_jsonl
    from hadamrnn.tasks import IMDBTask

    write_jsonl(tmp_path / "data")
    blocker = tmp_path / "cache"
    blocker.write_text("")
    monkeypatch.setenv("HADAMRNN_CACHE", str(blocker))
    with pytest.raises(DataError, match="expected a folder, found a file; point HADAMRNN_CACHE at a folder"):
        IMDBTask(tmp_path / "data", vocab_size=6, max_tokens=4)


# -- dtypes ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["reference", "dense", "native"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.bfloat16], ids=["float64", "bfloat16"])
def test_inputs_of_another_dtype_than_the_model_get_one_message_on_every_backend(backend, dtype):
    if backend == "native" and not hadamrnn.native.is_available():
        pytest.skip("the C extension is not built")
    rnn = hadamrnn.HadamRNN(3, 8, backend=backend)
    with pytest.raises(ShapeError, match=rf"x must have the dtype of the layer's weights \(torch.float32\), got {dtype}; convert"):
        rnn(torch.zeros(2, 5, 3, dtype=dtype))


def test_a_trainer_fed_float64_batches_gets_the_same_message(tmp_path):
    from hadamrnn import build_model, build_task
    from hadamrnn.tasks.base import Batch
    from hadamrnn.training import Trainer

    config = parse_config({"task": {"seq_len": 20, "copy_length": 2, "train_size": 16, "val_size": 16, "test_size": 16},
                           "model": {"hidden_size": 8}, "train": {"epochs": 1, "batch_size": 16}})
    task = build_task(config.task, 0)
    batch = task.batch
    task.batch = lambda *args, **kwargs: Batch(batch(*args, **kwargs).inputs.double(), batch(*args, **kwargs).targets)
    trainer = Trainer(config, task, build_model(config.model, task), tmp_path, progress=False)
    with pytest.raises(ShapeError, match=r"got torch.float64; convert the inputs"):
        trainer.fit()


def test_a_model_converted_to_float64_takes_float64_inputs():
    rnn = hadamrnn.HadamRNN(3, 8, backend="reference").double()
    outputs, _ = rnn(torch.zeros(2, 5, 3, dtype=torch.float64))
    assert outputs.dtype == torch.float64


# -- the numpy runtime's range checks ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def runtime():
    from test_export_format import random_quantized
    from hadamrnn.runtime import Runtime

    return Runtime(random_quantized(n=16, block=8, d=3, o=5, hidden_bits=12, recurrence="linear"))


@pytest.mark.parametrize(
    "bad",
    [np.iinfo(np.int64).min, np.iinfo(np.int64).max, 2**63, 2**64 - 1, 2048],
    ids=["INT64_MIN", "INT64_MAX", "2**63-as-uint64", "UINT64_MAX", "just-over-b_h"],
)
def test_out_of_range_states_are_refused_exactly(runtime, bad):
    dtype = np.uint64 if bad >= 2**63 else np.int64
    state = np.zeros((1, 16), dtype=dtype)
    state[0, 3] = bad
    codes = np.zeros((1, 2, 3), dtype=np.int64)
    with pytest.raises(ShapeError, match=rf"state codes must lie in \[-2047, 2047\] \(b_h = 12\), got {bad}"):
        runtime.run(codes, state)
    with pytest.raises(ShapeError, match=rf"got {bad}"):
        runtime.step(codes[:, 0], state)


def test_the_largest_state_is_accepted(runtime):
    state = np.full((1, 16), 2047, dtype=np.uint64)
    runtime.run(np.zeros((1, 2, 3), dtype=np.int64), state)


def test_input_codes_saturate_exactly_whatever_their_integer_dtype(runtime):
    limit = 127  # b_x = 8
    expected_high = runtime.run(np.full((1, 3, 3), limit, dtype=np.int64)).outputs
    expected_low = runtime.run(np.full((1, 3, 3), -limit, dtype=np.int64)).outputs
    for value, dtype in ((2**63, np.uint64), (2**64 - 1, np.uint64), (np.iinfo(np.int64).max, np.int64), (255, np.uint8)):
        assert np.array_equal(runtime.run(np.full((1, 3, 3), value, dtype=dtype)).outputs, expected_high), (value, dtype)
    assert np.array_equal(runtime.run(np.full((1, 3, 3), np.iinfo(np.int64).min, dtype=np.int64)).outputs, expected_low)
    with pytest.raises(ShapeError, match="expected integer input codes, got dtype bool"):
        runtime.run(np.zeros((1, 3, 3), dtype=bool))
