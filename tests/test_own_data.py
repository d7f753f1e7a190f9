"""Your own data through the command line: the ``arrays`` task (.npz, .npy) and the ``idx_images``
task (IDX files), from the file a user writes to a trained run exported to C."""

from __future__ import annotations

import gzip
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch

from hadamrnn.cli import main
from hadamrnn.config import parse_config
from hadamrnn.errors import DataError, DataNotFoundError
from hadamrnn.runtime import load as load_runtime
from hadamrnn.tasks import ArraysTask, IDXImagesTask, build_task
from hadamrnn.workflows import load_trained_model

ROOT = Path(__file__).resolve().parents[1]
PREDICT_C = ROOT / "docs" / "guides" / "predict.c"
GCC = shutil.which("gcc")


def features_and_labels(count=240, steps=12, features=3, seed=0):
    """A learnable toy problem: the class is which of the first two channels has the larger sum."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, steps, features)).astype(np.float32)
    y = (x[:, :, 0].sum(axis=1) > x[:, :, 1].sum(axis=1)).astype(np.int64) + 2 * (x[:, :, 2].sum(axis=1) > 0)
    return x, y


def write_config(path: Path, task: dict, model: dict | None = None, train: dict | None = None, name="own") -> Path:
    def table(values: dict) -> str:
        return "\n".join(f"{key} = {json.dumps(value)}" for key, value in values.items())

    model = {"hidden_size": 16, **(model or {})}
    train = {"epochs": 2, "batch_size": 32, "lr": 3e-3, "checkpoint_every": 1000, **(train or {})}
    path.write_text(f'name = "{name}"\n\n[task]\n{table(task)}\n\n[model]\n{table(model)}\n\n[train]\n{table(train)}\n')
    return path


def arrays_task(path, **options) -> ArraysTask:
    return build_task(parse_config({"task": {"name": "arrays", "path": str(path), **options}}).task, seed=0)


# -- the whole path: a .npz file, a run, a C program ------------------------------------------------


def test_train_from_an_npz_file_and_export_the_run_to_c(tmp_path, capsys):
    x, y = features_and_labels()
    np.savez(tmp_path / "mine.npz", x=x, y=y)
    config = write_config(tmp_path / "mine.toml", {"name": "arrays", "path": str(tmp_path / "mine.npz")})
    run = tmp_path / "run"
    assert main(["train", "--config", str(config), "--out", str(run)]) == 0
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["task"]["task"] == "arrays" and metrics["task"]["classes"] == 4
    assert metrics["task"]["train_size"] == 192 and metrics["task"]["val_size"] == 24 and metrics["task"]["test_size"] == 24

    header = tmp_path / "model.h"
    assert main(["export", str(run), "--format", "c", "--out", str(header)]) == 0
    assert main(["export", str(run), "--format", "hrnn", "--out", str(tmp_path / "model.hrnn")]) == 0
    text = header.read_text()
    assert "#define HRNN_INPUT_SIZE 3" in text and "#define HRNN_OUTPUT_SIZE 4" in text

    if GCC is None:
        pytest.skip("no C compiler: the export is checked, the guide's program is not compiled")
    # The guide's complete program, compiled against this header with the strict flags.
    program = tmp_path / "predict"
    build = subprocess.run(
        [GCC, "-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic", f"-I{tmp_path}", str(PREDICT_C), "-o", str(program)],
        capture_output=True, text=True, timeout=120,
    )
    assert build.returncode == 0, build.stderr
    trained = load_trained_model(run)
    inputs = trained.task.batch("test", 0, 24).inputs.numpy()
    text_input = "".join(f"{len(sequence)} " + " ".join(f"{value:.9g}" for value in sequence.reshape(-1)) + "\n" for sequence in inputs)
    result = subprocess.run([str(program)], input=text_input, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert len(lines) == len(inputs)
    # The numpy runtime of the same export: the C program's input quantization gives the same codes,
    # hence the same integer logits.
    expected = load_runtime(tmp_path / "model.hrnn").predict(inputs)
    produced = np.array([[float(value) for value in line[1:]] for line in lines])
    np.testing.assert_allclose(produced, expected, rtol=1e-8, atol=1e-12)
    assert [int(line[0]) for line in lines] == expected.argmax(axis=1).tolist()


def test_tagging_with_token_ids_from_npy_files_trains_and_scores_only_labelled_steps(tmp_path):
    rng = np.random.default_rng(1)
    tokens = rng.integers(1, 20, size=(96, 10))
    labels = (tokens % 3).astype(np.int16)
    labels[:, :2] = -1  # the first two steps are not scored
    folder = tmp_path / "tags"
    folder.mkdir()
    np.save(folder / "x_train.npy", tokens)
    np.save(folder / "y_train.npy", labels)
    task = arrays_task(folder)
    assert task.many_to_many and task.vocab_size == 20 and task.input_size is None and task.output_size == 3
    batch = task.batch("train", 0, 8)
    assert batch.inputs.dtype == torch.int64 and batch.targets.shape == (8, 10)
    outputs = torch.zeros(8, 10, 3)
    outputs[..., 0] = 1.0  # predicts class 0 everywhere
    scored = batch.targets != -1
    expected = float(((batch.targets == 0) & scored).sum()) / float(scored.sum())
    assert task.metrics(outputs, batch.targets)["accuracy"] == pytest.approx(expected)
    config = write_config(tmp_path / "tags.toml", {"name": "arrays", "path": str(folder)}, model={"embedding_dim": 8}, train={"epochs": 1})
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "run")]) == 0


# -- splits ----------------------------------------------------------------------------------------


def test_splits_are_drawn_by_fraction_with_their_own_seed(tmp_path):
    x, y = features_and_labels(count=200)
    np.savez(tmp_path / "pool.npz", x=x, y=y)
    task = arrays_task(tmp_path / "pool.npz", val_fraction=0.2, test_fraction=0.1)
    assert [task.split_size(split) for split in ("train", "val", "test")] == [140, 40, 20]
    again = build_task(parse_config({"task": {"name": "arrays", "path": str(tmp_path / "pool.npz"), "val_fraction": 0.2, "test_fraction": 0.1}}).task, seed=99)
    for split in ("train", "val", "test"):  # the training seed does not move samples between splits
        np.testing.assert_array_equal(task._inputs[split], again._inputs[split])
    other = arrays_task(tmp_path / "pool.npz", val_fraction=0.2, test_fraction=0.1, split_seed=1)
    assert not np.array_equal(task._inputs["val"], other._inputs["val"])
    seen = np.concatenate([task._inputs[split] for split in ("train", "val", "test")])
    assert sorted(map(bytes, seen)) == sorted(map(bytes, x))  # every sample once


def test_explicit_splits_are_kept_and_a_missing_test_split_is_drawn(tmp_path):
    x, y = features_and_labels(count=100)
    np.savez(tmp_path / "splits.npz", x_train=x[:80], y_train=y[:80], x_val=x[80:], y_val=y[80:])
    task = arrays_task(tmp_path / "splits.npz", test_fraction=0.25)
    np.testing.assert_array_equal(task._inputs["val"], x[80:])
    assert task.split_size("test") == 20 and task.split_size("train") == 60


# -- errors name what was expected and what was found -------------------------------------------------


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"inputs": np.zeros((4, 3, 1)), "y": np.zeros(4, dtype=int)}, "unknown key(s) inputs; expected keys among x, y, x_train"),
        ({"x": np.zeros((4, 3, 1), np.float32)}, "expected both x and y, found only x"),
        ({"x_val": np.zeros((4, 3, 1)), "y_val": np.zeros(4, dtype=int)}, "expected arrays x and y (one pool), or x_train and y_train"),
        ({"x_train": np.zeros((4, 3, 1)), "y_train": np.zeros(4, dtype=int), "x_val": np.zeros((2, 3, 1))}, "x_val is given without y_val"),
        ({"x": np.zeros((4, 3, 1)), "y": np.zeros(4, dtype=int), "x_test": np.zeros((4, 3, 1))}, "got both"),
        ({"x": np.zeros((4, 3)), "y": np.zeros(4, dtype=int)}, "expected (N, T, d) float features or (N, T) integer token ids"),
        ({"x": np.zeros((4, 3, 1, 1)), "y": np.zeros(4, dtype=int)}, "x must have shape (N, T, d) (float features) or (N, T) (token ids), got shape (4, 3, 1, 1)"),
        ({"x": np.zeros((4, 3, 1)), "y": np.zeros(4)}, "y must hold integer class ids, got dtype float64"),
        ({"x": np.zeros((4, 3, 1)), "y": np.zeros(5, dtype=int)}, "y must have shape (4,) (one label per sequence) or (4, 3) (one label per step)"),
        ({"x": np.full((4, 3, 1), np.nan), "y": np.zeros(4, dtype=int)}, "x must be finite, got 12 NaN or infinite value(s), the first at index (0, 0, 0)"),
        ({"x": np.zeros((4, 3, 1)), "y": np.array([0, 1, -2, 1])}, "y holds class label -2 at index (2,): expected values >= 0"),
        ({"x": np.zeros((4, 3)) .astype(int) - 1, "y": np.zeros(4, dtype=int)}, "x holds token id -1 at index (0, 0): expected values >= 0"),
    ],
)
def test_bad_arrays_are_clear_errors(tmp_path, arrays, message):
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError) as error:
        arrays_task(tmp_path / "bad.npz")
    assert message in str(error.value) and "bad.npz" in str(error.value)


def test_label_beyond_num_classes_names_the_limit(tmp_path):
    x, y = features_and_labels(count=50)
    y[7] = 5
    np.savez(tmp_path / "data.npz", x=x, y=y)
    with pytest.raises(DataError, match=r"y holds class label 5 at index \(7,\): expected values in 0\.\.3 \(num_classes = 4\)"):
        arrays_task(tmp_path / "data.npz", num_classes=4)
    assert arrays_task(tmp_path / "data.npz").output_size == 6  # inferred: the largest label plus one


def test_object_arrays_and_unreadable_files_are_clear_errors(tmp_path):
    np.savez(tmp_path / "objects.npz", x=np.array([[1], [1, 2]], dtype=object), y=np.zeros(2, dtype=int))
    with pytest.raises(DataError, match="holds Python objects"):
        arrays_task(tmp_path / "objects.npz")
    (tmp_path / "broken.npz").write_bytes(b"not a zip file")
    with pytest.raises(DataError, match=r"expected numpy arrays \(a \.npz \(zip\) archive\), got an unreadable file"):
        arrays_task(tmp_path / "broken.npz")
    (tmp_path / "table.csv").write_text("1,2\n")
    with pytest.raises(DataError, match=r"expected a \.npz file or a folder of \.npy files, got a \.csv file"):
        arrays_task(tmp_path / "table.csv")


def test_missing_file_names_every_place_tried(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HADAMRNN_DATA", str(tmp_path / "datasets"))
    with pytest.raises(DataNotFoundError) as error:
        arrays_task("mine.npz")
    assert "expected 'mine.npz' or " in str(error.value) and str(tmp_path / "datasets" / "mine.npz") in str(error.value)
    # Found under the data directory when not in the current one.
    (tmp_path / "datasets").mkdir()
    x, y = features_and_labels(count=30)
    np.savez(tmp_path / "datasets" / "mine.npz", x=x, y=y)
    assert arrays_task("mine.npz").path == tmp_path / "datasets" / "mine.npz"
    config = write_config(tmp_path / "c.toml", {"name": "arrays", "path": "absent.npz"})
    assert main(["train", "--config", str(config)]) == 2
    assert "arrays task: the data file (task.path): expected 'absent.npz'" in capsys.readouterr().err


def test_config_schema_of_the_arrays_task_refuses_unknown_keys(tmp_path, capsys):
    config = write_config(tmp_path / "c.toml", {"name": "arrays", "path": "x.npz", "file": "y.npz"})
    assert main(["size", "--config", str(config)]) == 2
    assert "unknown key 'task.file'; valid keys here are: name, num_classes, path, split_seed, test_fraction, val_fraction, vocab_size" in capsys.readouterr().err


# -- IDX images ------------------------------------------------------------------------------------


def write_idx(path: Path, array: np.ndarray, compress: bool) -> None:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">f4"): 0x0D}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(int(size).to_bytes(4, "big") for size in array.shape)
    data = header + array.tobytes()
    path.write_bytes(gzip.compress(data) if compress else data)


@pytest.fixture
def idx_folder(tmp_path):
    rng = np.random.default_rng(2)
    folder = tmp_path / "digits"
    folder.mkdir()
    train = rng.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(20, 28, 28), dtype=np.uint8)
    write_idx(folder / "train-images-idx3-ubyte.gz", train, compress=True)
    write_idx(folder / "train-labels-idx1-ubyte.gz", (np.arange(60) % 10).astype(np.uint8), compress=True)
    # The test files uncompressed: the .gz names of the config find them too.
    write_idx(folder / "t10k-images-idx3-ubyte", test, compress=False)
    write_idx(folder / "t10k-labels-idx1-ubyte", (np.arange(20) % 10).astype(np.uint8), compress=False)
    return folder, train, test


def test_idx_images_read_row_by_row(idx_folder, tmp_path):
    folder, train, test = idx_folder
    config = parse_config({"task": {"name": "idx_images", "path": str(folder), "pixels_per_step": 28, "val_fraction": 0.25}})
    task = build_task(config.task, seed=0)
    assert (task.seq_len, task.input_size, task.output_size) == (28, 28, 10)
    assert [task.split_size(split) for split in ("train", "val", "test")] == [45, 15, 20]
    batch = task.batch("test", 0, 4)
    assert batch.inputs.shape == (4, 28, 28)
    # Step t is row t of the image, scaled to [0, 1].
    np.testing.assert_array_equal(batch.inputs.numpy(), test[:4].astype(np.float32) / np.float32(255))
    pixel = build_task(parse_config({"task": {"name": "idx_images", "path": str(folder)}}).task, seed=0)
    assert (pixel.seq_len, pixel.input_size) == (784, 1)
    np.testing.assert_array_equal(pixel.batch("test", 0, 2).inputs.numpy()[..., 0], test[:2].reshape(2, 784) / np.float32(255))

    toml = write_config(
        tmp_path / "rows.toml", {"name": "idx_images", "path": str(folder), "pixels_per_step": 28}, train={"epochs": 1, "batch_size": 16}
    )
    assert main(["train", "--config", str(toml), "--out", str(tmp_path / "run")]) == 0
    assert json.loads((tmp_path / "run" / "metrics.json").read_text())["task"]["seq_len"] == 28


def test_idx_errors_name_what_was_expected(idx_folder, tmp_path):
    folder, _, _ = idx_folder
    with pytest.raises(DataError, match=r"pixels_per_step must divide the 28x28 = 784 pixels of an image \(1 pixel by pixel, 28 row by row\), got 30"):
        build_task(parse_config({"task": {"name": "idx_images", "path": str(folder), "pixels_per_step": 30}}).task, seed=0)
    with pytest.raises(DataError, match=r"expected class ids in 0\.\.4 \(num_classes = 5\), got 5 at position 5"):
        build_task(parse_config({"task": {"name": "idx_images", "path": str(folder), "num_classes": 5}}).task, seed=0)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x01" + (19).to_bytes(4, "big") + bytes(19))
    with pytest.raises(DataError, match=r"expected 20 labels, one per image of t10k-images-idx3-ubyte, got shape \(19,\)"):
        build_task(parse_config({"task": {"name": "idx_images", "path": str(folder)}}).task, seed=0)
    (folder / "t10k-labels-idx1-ubyte").write_bytes(b"PK\x03\x04 not idx")
    with pytest.raises(DataError, match="expected an IDX header"):
        build_task(parse_config({"task": {"name": "idx_images", "path": str(folder)}}).task, seed=0)
    (folder / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(DataNotFoundError, match=r"expected the IDX file .*t10k-labels-idx1-ubyte\.gz' \(or t10k-labels-idx1-ubyte\)"):
        build_task(parse_config({"task": {"name": "idx_images", "path": str(folder)}}).task, seed=0)
