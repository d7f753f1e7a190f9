"""sMNIST and pMNIST: IDX parsing, splits, permutation and batches, on tiny IDX fixtures."""

import gzip
import struct

import numpy as np
import pytest
import torch

from hadamrnn.errors import DataError, DataNotFoundError
from hadamrnn.tasks import MNISTTask, build_task
from hadamrnn.config import parse_config

from helpers import shared_data_dir

TRAIN, TEST, VAL = 12, 5, 4


def _idx(array: np.ndarray, magic: int | None = None) -> bytes:
    magic = (0x08 << 8 | array.ndim) if magic is None else magic
    return struct.pack(">I", magic) + b"".join(struct.pack(">I", n) for n in array.shape) + array.astype(np.uint8).tobytes()


def write_mnist(root, train_images, train_labels, test_images, test_labels, **overrides):
    folder = root / "mnist"
    folder.mkdir(parents=True, exist_ok=True)
    files = {
        "train-images-idx3-ubyte.gz": _idx(train_images),
        "train-labels-idx1-ubyte.gz": _idx(train_labels),
        "t10k-images-idx3-ubyte.gz": _idx(test_images),
        "t10k-labels-idx1-ubyte.gz": _idx(test_labels),
    }
    files.update(overrides)
    for name, payload in files.items():
        (folder / name).write_bytes(gzip.compress(payload))
    return folder


@pytest.fixture
def mnist_arrays():
    rng = np.random.default_rng(5)
    return (
        rng.integers(0, 256, (TRAIN, 28, 28), dtype=np.uint8),
        np.arange(TRAIN, dtype=np.uint8) % 10,
        rng.integers(0, 256, (TEST, 28, 28), dtype=np.uint8),
        np.array([9, 8, 7, 6, 5], dtype=np.uint8),
    )


def small_task(root, **kwargs):
    return MNISTTask(root, train_count=TRAIN, test_count=TEST, val_size=VAL, **kwargs)


def test_pixels_labels_and_splits_read_back_exactly(tmp_path, mnist_arrays):
    train_images, train_labels, test_images, test_labels = mnist_arrays
    write_mnist(tmp_path, *mnist_arrays)
    task = small_task(tmp_path)
    assert (task.name, task.input_size, task.output_size, task.vocab_size) == ("smnist", 1, 10, None)
    assert [task.split_size(s) for s in ("train", "val", "test")] == [TRAIN - VAL, VAL, TEST]
    val = task.batch("val", 0, VAL)
    assert val.inputs.shape == (VAL, 784, 1) and val.inputs.dtype == torch.float32
    expected = torch.from_numpy(train_images[TRAIN - VAL :].reshape(VAL, 784, 1).astype(np.float32)) / 255
    assert torch.equal(val.inputs, expected)  # the last VAL training images, in file order
    assert val.targets.tolist() == train_labels[TRAIN - VAL :].tolist()
    test = task.batch("test", 1, 3)
    assert test.targets.tolist() == [6, 5] and test.targets.dtype == torch.int64
    assert torch.equal(test.inputs[0, :, 0] * 255, torch.from_numpy(test_images[3].reshape(784).astype(np.float32)))


def test_pmnist_reads_pixels_in_the_fixed_permutation(tmp_path, mnist_arrays):
    write_mnist(tmp_path, *mnist_arrays)
    permutation = np.random.RandomState(92916).permutation(784)
    task = small_task(tmp_path, permuted=True)
    assert task.name == "pmnist"
    inputs = task.batch("test", 0, 1).inputs[0, :, 0]
    assert torch.equal(inputs * 255, torch.from_numpy(mnist_arrays[2][0].reshape(784)[permutation].astype(np.float32)))


def test_train_batches_are_a_seeded_shuffle_per_epoch(tmp_path, mnist_arrays):
    write_mnist(tmp_path, *mnist_arrays)
    a, b = small_task(tmp_path, seed=3), small_task(tmp_path, seed=3)
    first = [x.targets.tolist() for x in a.batches("train", 3, epoch=0)]
    assert first == [x.targets.tolist() for x in b.batches("train", 3, epoch=0)]
    assert torch.equal(a.batch("train", 2, 3, epoch=1).inputs, b.batch("train", 2, 3, epoch=1).inputs)
    epoch_orders = {tuple(a.indices("train", 0, TRAIN - VAL, epoch=e)) for e in range(5)}
    assert len(epoch_orders) > 1
    assert sorted(a.indices("train", 0, TRAIN - VAL, epoch=0).tolist()) == list(range(TRAIN - VAL))
    assert a.indices("val", 0, VAL, epoch=4).tolist() == list(range(VAL))


def test_limits_keep_the_first_samples(tmp_path, mnist_arrays):
    write_mnist(tmp_path, *mnist_arrays)
    task = small_task(tmp_path, train_limit=2, test_limit=3)
    assert (task.split_size("train"), task.split_size("val"), task.split_size("test")) == (2, VAL, 3)


def test_loss_and_metrics():
    task = MNISTTask.__new__(MNISTTask)
    outputs = torch.tensor([[0.0] * 9 + [5.0], [5.0] + [0.0] * 9])
    metrics = MNISTTask.metrics(task, outputs, torch.tensor([9, 1]))
    assert metrics["accuracy"] == 0.5 and metrics["loss"] > 0


def test_missing_files_are_named_with_their_source(tmp_path):
    (tmp_path / "mnist").mkdir()
    with pytest.raises(DataNotFoundError) as error:
        MNISTTask(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "mnist" / "train-images-idx3-ubyte.gz") in message
    assert "t10k-labels-idx1-ubyte.gz" in message and "lecun.com" in message


def test_bad_magic_number(tmp_path, mnist_arrays):
    write_mnist(tmp_path, *mnist_arrays, **{"t10k-labels-idx1-ubyte.gz": _idx(mnist_arrays[3], magic=0x0803)})
    with pytest.raises(DataError, match=r"t10k-labels.*expected IDX magic number 0x00000801.*got 0x00000803"):
        small_task(tmp_path)


def test_wrong_image_count(tmp_path, mnist_arrays):
    write_mnist(tmp_path, *mnist_arrays)
    with pytest.raises(DataError, match=r"expected 13 images of 28x28, got shape \(12, 28, 28\)"):
        MNISTTask(tmp_path, train_count=13, test_count=TEST, val_size=VAL)


def test_label_out_of_range(tmp_path, mnist_arrays):
    labels = mnist_arrays[1].copy()
    labels[7] = 10
    write_mnist(tmp_path, mnist_arrays[0], labels, mnist_arrays[2], mnist_arrays[3])
    with pytest.raises(DataError, match="expected labels in 0..9, got 10 at position 7"):
        small_task(tmp_path)


def test_truncated_gzip(tmp_path, mnist_arrays):
    folder = write_mnist(tmp_path, *mnist_arrays)
    path = folder / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(DataError, match="train-images.*truncated or corrupt"):
        small_task(tmp_path)


def test_payload_shorter_than_its_header_declares(tmp_path, mnist_arrays):
    short = _idx(mnist_arrays[2])[:-10]
    write_mnist(tmp_path, *mnist_arrays, **{"t10k-images-idx3-ubyte.gz": short})
    with pytest.raises(DataError, match=r"declares shape \(5, 28, 28\) \(3920 bytes of data\), got 3910 bytes"):
        small_task(tmp_path)


def test_real_mnist():
    root = shared_data_dir()
    if root is None or not (root / "mnist").is_dir():
        pytest.skip("real MNIST not found: set HADAMRNN_DATA or provide ../shared/data/mnist")
    task = build_task(parse_config({"task": {"name": "pmnist"}}).task, seed=8, data_dir=root)
    assert [task.split_size(s) for s in ("train", "val", "test")] == [50_000, 10_000, 10_000]
    assert task._labels["test"][:10].tolist() == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert task._labels["train"][:10].tolist() == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]
    batch = task.batch("train", 0, 64)
    assert batch.inputs.shape == (64, 784, 1) and 0.0 <= float(batch.inputs.min()) and float(batch.inputs.max()) <= 1.0
