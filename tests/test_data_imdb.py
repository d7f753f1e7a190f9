"""IMDB: both file layouts, tokens, vocabulary, padding, the test/val split and the cache."""

import gzip
import json

import numpy as np
import pytest
import torch

from hadamrnn.config import parse_config
from hadamrnn.errors import DataError, DataNotFoundError
from hadamrnn.tasks import IMDBTask, build_task
from hadamrnn.tasks.imdb import tokenize

from helpers import shared_data_dir

TRAIN = [(0, 0, 1, "Bad bad movie.<br />Boring"), (0, 1, 2, "bad plot"), (1, 0, 9, "Good movie, good cast"), (1, 1, 8, "good")]
TEST = [(0, 0, 3, "boring plot twist"), (0, 1, 1, "bad"), (1, 0, 10, "good good"), (1, 1, 7, "Great cast")]


def write_jsonl(root, train=TRAIN, test=TEST):
    folder = root / "imdb"
    folder.mkdir(parents=True, exist_ok=True)
    for split, rows in (("train", train), ("test", test)):
        lines = [json.dumps({"id": i, "rating": r, "label": label, "text": text}) for label, i, r, text in rows]
        (folder / f"{split}.jsonl.gz").write_bytes(gzip.compress(("\n".join(lines) + "\n").encode()))
    return folder


def write_aclimdb(root, train=TRAIN, test=TEST):
    for split, rows in (("train", train), ("test", test)):
        for label, i, rating, text in reversed(rows):  # file system order must not matter
            folder = root / "imdb" / "aclImdb" / split / ("pos" if label else "neg")
            folder.mkdir(parents=True, exist_ok=True)
            (folder / f"{i}_{rating}.txt").write_text(text, encoding="utf-8")


def test_tokenize_lowercases_and_drops_line_breaks():
    assert tokenize("Don't<br />STOP, it's 10/10!") == ["don't", "stop", "it's", "10", "10"]


@pytest.mark.parametrize("writer", [write_jsonl, write_aclimdb], ids=["jsonl", "aclImdb"])
def test_both_layouts_give_the_same_arrays(tmp_path, writer):
    writer(tmp_path)
    task = IMDBTask(tmp_path, vocab_size=6, max_tokens=4, cache=False)
    # Train counts: bad 3, good 3, movie 2, boring 1, cast 1, plot 1 -> ids bad 2, good 3, movie 4, boring 5.
    assert (task.vocab_size, task.input_size, task.output_size) == (6, None, 1)
    assert task._inputs["train"].tolist() == [[2, 2, 4, 5], [0, 0, 2, 1], [3, 4, 3, 1], [0, 0, 0, 3]]
    assert task._labels["train"].tolist() == [0, 0, 1, 1]
    order = np.random.RandomState(113).permutation(4)
    test_rows = [[5, 1, 1], [0, 0, 2], [0, 3, 3], [0, 1, 1]]  # canonical order: (label, id)
    expected_test = [[0] + test_rows[i] for i in order[:2]]
    expected_val = [[0] + test_rows[i] for i in order[2:]]
    assert task.batch("test", 0, 2).inputs.tolist() == expected_test
    assert task.batch("val", 0, 2).inputs.tolist() == expected_val
    assert task.batch("val", 0, 2).targets.tolist() == [float(i >= 2) for i in order[2:]]


def test_last_tokens_are_kept(tmp_path):
    write_jsonl(tmp_path, train=[(0, 0, 1, "x y z w v"), (1, 0, 9, "x")])
    task = IMDBTask(tmp_path, vocab_size=10, max_tokens=2, cache=False)
    w = {word: i for word, i in zip(["x", "v", "w", "y", "z"], range(2, 7))}
    assert task._inputs["train"].tolist() == [[w["w"], w["v"]], [0, w["x"]]]


def test_train_batches_are_seeded(tmp_path):
    write_jsonl(tmp_path)
    a = IMDBTask(tmp_path, seed=2, cache=False)
    b = IMDBTask(tmp_path, seed=2, cache=False)
    assert torch.equal(a.batch("train", 1, 2, epoch=3).inputs, b.batch("train", 1, 2, epoch=3).inputs)
    assert a.batch("train", 0, 4).inputs.dtype == torch.int64
    metrics = a.metrics(torch.tensor([[2.0], [-1.0]]), torch.tensor([1.0, 1.0]))
    assert metrics["accuracy"] == 0.5 and metrics["loss"] > 0


def test_cache_is_written_atomically_reused_and_rebuilt_when_corrupt(tmp_path):
    write_jsonl(tmp_path / "data")
    first = IMDBTask(tmp_path / "data", vocab_size=6, max_tokens=4, cache_dir=tmp_path / "cache")
    files = list((tmp_path / "cache").iterdir())
    assert files == [first.cache_path]
    again = IMDBTask(tmp_path / "data", vocab_size=6, max_tokens=4, cache_dir=tmp_path / "cache")
    assert np.array_equal(again._inputs["train"], first._inputs["train"])
    first.cache_path.write_bytes(b"not an npz")
    rebuilt = IMDBTask(tmp_path / "data", vocab_size=6, max_tokens=4, cache_dir=tmp_path / "cache")
    assert np.array_equal(rebuilt._inputs["train"], first._inputs["train"])
    other = IMDBTask(tmp_path / "data", vocab_size=7, max_tokens=4, cache_dir=tmp_path / "cache")
    assert other.cache_path != first.cache_path


def test_missing_data_names_both_layouts(tmp_path):
    with pytest.raises(DataNotFoundError) as error:
        IMDBTask(tmp_path)
    message = str(error.value)
    assert str(tmp_path / "imdb" / "train.jsonl.gz") in message and "aclImdb" in message and "stanford.edu" in message


def test_label_outside_the_classes(tmp_path):
    write_jsonl(tmp_path, test=[(0, 0, 1, "bad"), (2, 1, 9, "good")])
    with pytest.raises(DataError, match="test.jsonl.gz, line 2: expected label 0 .neg. or 1 .pos., got 2"):
        IMDBTask(tmp_path, cache=False)


def test_malformed_line(tmp_path):
    folder = write_jsonl(tmp_path)
    (folder / "train.jsonl.gz").write_bytes(gzip.compress(b'{"id": 0, "label": 1}\n'))
    with pytest.raises(DataError, match="train.jsonl.gz, line 1: expected a JSON object with fields id, label and text"):
        IMDBTask(tmp_path, cache=False)


def test_truncated_gzip(tmp_path):
    folder = write_jsonl(tmp_path)
    data = (folder / "test.jsonl.gz").read_bytes()
    (folder / "test.jsonl.gz").write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match="test.jsonl.gz: expected a complete gzip archive"):
        IMDBTask(tmp_path, cache=False)


def test_bad_review_file_name(tmp_path):
    write_aclimdb(tmp_path)
    (tmp_path / "imdb" / "aclImdb" / "train" / "pos" / "notes.txt").write_text("x")
    with pytest.raises(DataError, match="expected review files named <id>_<rating>.txt.*got 'notes.txt'"):
        IMDBTask(tmp_path, cache=False)


@pytest.mark.slow  # tokenising 50,000 reviews takes 10-30 s on a shared CPU
def test_real_imdb(tmp_path, monkeypatch):
    monkeypatch.setenv("HADAMRNN_CACHE", str(tmp_path))  # a cold cache: no writes outside tmp_path
    root = shared_data_dir()
    if root is None or not (root / "imdb").is_dir():
        pytest.skip("real IMDB not found: set HADAMRNN_DATA or provide ../shared/data/imdb")
    config = parse_config({"task": {"name": "imdb"}}).task
    task = build_task(config, seed=8, data_dir=root)
    assert [task.split_size(s) for s in ("train", "val", "test")] == [25_000, 12_500, 12_500]
    assert task.class_counts("train") == [12_500, 12_500]
    assert sum(task.class_counts("val")) == 12_500 and task.vocab_size == 10_000
    batch = task.batch("train", 0, 100)
    assert batch.inputs.shape == (100, 500) and int(batch.inputs.max()) < 10_000
