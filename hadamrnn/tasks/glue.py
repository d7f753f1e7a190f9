"""SST-2 and QQP from the GLUE benchmark: binary classification of token sequences.

Data: GLUE's tab-separated files (UTF-8, no quoting), as in GLUE's ``SST-2.zip`` and ``QQP.zip``::

    <data>/sst2/train.tsv  sentence<TAB>label                       (labels 0/1)
    <data>/sst2/dev.tsv    sentence<TAB>label
    <data>/sst2/test.tsv   index<TAB>sentence                       (no labels)
    <data>/qqp/train.tsv   id qid1 qid2 question1 question2 is_duplicate
    <data>/qqp/dev.tsv     id qid1 qid2 question1 question2 is_duplicate
    <data>/qqp/test.tsv    id question1 question2                  (no labels)

Protocol (the paper's set-up):

* Tokenizer: the paper used the bert-base-uncased WordPiece tokenizer. This library uses a
  word-level vocabulary instead (no extra dependency): lower-cased text split into runs of word
  characters and single punctuation marks. Ids: 0 padding, 1 out-of-vocabulary, 2 separator, then
  the most frequent training words (ties alphabetical), at most ``vocab_size`` ids in all.
* Sequences are ``max_tokens`` long (128), left-padded with 0. A single sentence keeps its first
  ``max_tokens`` tokens. A QQP pair is ``question1 SEP SEP question2``; when too long, the longer
  question loses its last token until the pair fits (BERT's "longest first").
* Splits: GLUE does not publish test labels. Train is ``train.tsv``; the labelled "test" split
  used for metrics is ``dev.tsv``. Validation is ``dev.tsv`` as well, unless ``val_rows`` holds
  out that many rows of ``train.tsv`` (a fixed draw, seeded with ``GLUE_VALIDATION_SEED``) for it: then
  the epoch ``keep_best`` keeps is chosen without looking at ``dev.tsv``. :func:`write_glue_predictions`
  writes the predictions on the unlabelled ``test.tsv`` in GLUE's submission format.
* Training batches are class-balanced (see :func:`~hadamrnn.tasks.data.balanced_order`).
* Binary label, one logit, BCE-with-logits, accuracy.
"""

from __future__ import annotations

import csv
import re
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from .._io import atomic_write_text
from ..errors import DataError, HadamRNNError
from .data import ArrayClassificationTask, limit, require_files, resolve_data_dir

__all__ = ["GLUETask", "GLUE_TASKS", "glue_tokenize", "write_glue_predictions"]

PAD, OOV, SEP = 0, 1, 2
_FIRST_WORD = 3
#: Seeds the draw of the held-out training rows (``val_rows``): a constant, so every run of a
#: benchmark validates on the same rows.
GLUE_VALIDATION_SEED = 20_250_202
_WORDS = re.compile(r"\w+|[^\w\s]")


class _Layout:
    def __init__(self, folder: str, labelled: tuple[str, ...], text: tuple[str, ...], label: str, test: tuple[str, ...], index: str, obtain: str):
        self.folder, self.labelled, self.text, self.label = folder, labelled, text, label
        self.test, self.index, self.obtain = test, index, obtain


GLUE_TASKS = {
    "sst2": _Layout(
        "sst2",
        labelled=("sentence", "label"),
        text=("sentence",),
        label="label",
        test=("index", "sentence"),
        index="index",
        obtain="SST-2 is distributed by the GLUE benchmark (https://gluebenchmark.com/tasks, SST-2.zip); put its train.tsv, dev.tsv and test.tsv in <data>/sst2/.",
    ),
    "qqp": _Layout(
        "qqp",
        labelled=("id", "qid1", "qid2", "question1", "question2", "is_duplicate"),
        text=("question1", "question2"),
        label="is_duplicate",
        test=("id", "question1", "question2"),
        index="id",
        obtain="QQP is distributed by the GLUE benchmark (https://gluebenchmark.com/tasks, QQP.zip); put its train.tsv, dev.tsv and test.tsv in <data>/qqp/.",
    ),
}


def glue_tokenize(text: str) -> list[str]:
    """Lower-cased words and single punctuation marks."""
    return _WORDS.findall(text.lower())


def _rows(reader, path: Path):
    """The rows of a csv reader, with a malformed row (a field over the csv limit) as a DataError."""
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            raise DataError(
                f"{path}, line {reader.line_num}: expected tab-separated fields of at most "
                f"{csv.field_size_limit()} characters, got a malformed row ({error})"
            ) from None
        yield row


def _read_tsv(path: Path, header: tuple[str, ...]) -> list[list[str]]:
    """The rows of a GLUE TSV file after checking its header and the number of fields of every row."""
    try:
        with open(path, encoding="utf-8", newline="") as handle:
            reader = csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
            found = next(_rows(reader, path), None)
            if found is None or tuple(found) != header:
                raise DataError(f"{path}: expected the header {'<TAB>'.join(header)!r}, got {'<TAB>'.join(found or [])!r}")
            rows = []
            for row in _rows(reader, path):
                if len(row) != len(header):
                    raise DataError(
                        f"{path}, line {reader.line_num}: expected {len(header)} tab-separated fields ({', '.join(header)}), "
                        f"got {len(row)}: {row!r:.120}"
                    )
                rows.append(row)
    except UnicodeDecodeError as error:
        raise DataError(f"{path}: expected UTF-8 text, got undecodable bytes ({error})") from None
    if not rows:
        raise DataError(f"{path}: expected at least one row after the header, got none")
    return rows


def _labels(path: Path, rows: list[list[str]], column: int) -> np.ndarray:
    values = np.empty(len(rows), dtype=np.uint8)
    for number, row in enumerate(rows):
        if row[column] not in ("0", "1"):
            raise DataError(f"{path}, row {number + 1}: expected label 0 or 1, got {row[column]!r}")
        values[number] = row[column] == "1"
    return values


def _fit_pair(first: list[int], second: list[int], budget: int) -> tuple[list[int], list[int]]:
    """Drop trailing tokens of the longer part until ``len(first) + len(second) <= budget``."""
    first, second = list(first), list(second)
    while len(first) + len(second) > budget:
        if len(first) >= len(second):
            first.pop()
        else:
            second.pop()
    return first, second


class GLUETask(ArrayClassificationTask):
    """SST-2 (``benchmark="sst2"``) or QQP (``"qqp"``): inputs ``(B, max_tokens)`` int64 ids, targets ``(B,)`` float32.

    Args:
        benchmark: ``"sst2"`` or ``"qqp"``.
        data_dir: the data directory (holding ``sst2/`` or ``qqp/``); None reads ``$HADAMRNN_DATA``.
        seed: seeds the per-epoch (class-balanced) sampling of the training set.
        max_tokens: sequence length T (128).
        vocab_size: the most ids the vocabulary may use; the task's ``vocab_size`` is this or the
            number of ids actually needed, whichever is smaller.
        balanced: class-balanced training batches (the paper); False shuffles plainly.
        train_limit, val_limit: keep only the first rows of ``train.tsv`` or ``dev.tsv``.
        val_rows: hold out this many rows of ``train.tsv`` (after ``train_limit``) for validation,
            out of training and of the vocabulary; None validates on ``dev.tsv``.
    """

    output_size = 1

    def __init__(
        self,
        benchmark: str,
        data_dir=None,
        *,
        seed: int = 0,
        max_tokens: int = 128,
        vocab_size: int = 30_522,
        balanced: bool = True,
        train_limit: int | None = None,
        val_limit: int | None = None,
        val_rows: int | None = None,
    ):
        super().__init__(seed, balanced=balanced)
        if benchmark not in GLUE_TASKS:
            raise HadamRNNError(f"benchmark must be one of {tuple(GLUE_TASKS)}, got {benchmark!r}")
        if max_tokens < 3:
            raise HadamRNNError(f"max_tokens must be >= 3 (a pair needs two separators), got {max_tokens}")
        if vocab_size < _FIRST_WORD + 1:
            raise HadamRNNError(f"vocab_size must be >= {_FIRST_WORD + 1} (padding, out-of-vocabulary, separator, one word), got {vocab_size}")
        self.name = benchmark
        self.layout = GLUE_TASKS[benchmark]
        self.max_tokens = max_tokens
        self.input_size = None
        self.folder = resolve_data_dir(data_dir) / self.layout.folder
        paths = {split: self.folder / f"{split}.tsv" for split in ("train", "dev")}
        require_files(list(paths.values()), benchmark.upper(), self.layout.obtain)
        header = self.layout.labelled
        label_column = header.index(self.layout.label)
        texts, labels = {}, {}
        for split, path in paths.items():
            rows = limit(_read_tsv(path, header), train_limit if split == "train" else val_limit)
            labels[split] = _labels(path, rows, label_column)
            texts[split] = self._tokenised(rows, header)
        self.val_rows = val_rows
        held_out = None
        if val_rows is not None:
            available = len(texts["train"])
            if not 0 < val_rows < available:
                raise HadamRNNError(
                    f"val_rows must be in 1..{available - 1} (the rows of {paths['train']} minus one), got {val_rows}"
                )
            held_out = np.zeros(available, dtype=bool)
            held_out[np.random.default_rng(GLUE_VALIDATION_SEED).choice(available, size=val_rows, replace=False)] = True
            texts["val"] = [parts for parts, out in zip(texts["train"], held_out) if out]
            texts["train"] = [parts for parts, out in zip(texts["train"], held_out) if not out]
            labels["val"], labels["train"] = labels["train"][held_out], labels["train"][~held_out]
        counts = Counter()
        for parts in texts["train"]:
            for part in parts:
                counts.update(part)
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: vocab_size - _FIRST_WORD]
        self.vocabulary = {word: rank + _FIRST_WORD for rank, (word, _) in enumerate(ranked)}
        self.vocab_size = _FIRST_WORD + len(self.vocabulary)
        dev_tokens = self.encode(texts["dev"])
        self._inputs = {"train": self.encode(texts["train"]), "test": dev_tokens}
        self._inputs["val"] = dev_tokens if held_out is None else self.encode(texts["val"])
        self._labels = {"train": labels["train"], "val": labels.get("val", labels["dev"]), "test": labels["dev"]}

    def _tokenised(self, rows: list[list[str]], header: tuple[str, ...]) -> list[list[list[str]]]:
        columns = [header.index(name) for name in self.layout.text]
        return [[glue_tokenize(row[column]) for column in columns] for row in rows]

    def encode(self, documents: list[list[list[str]]]) -> np.ndarray:
        """``(N, max_tokens)`` ids of tokenised sentences or sentence pairs, left-padded."""
        dtype = np.uint16 if self.vocab_size <= 2**16 else np.int32
        out = np.zeros((len(documents), self.max_tokens), dtype=dtype)
        lookup = self.vocabulary.get
        for row, parts in enumerate(documents):
            ids = [[lookup(word, OOV) for word in part] for part in parts]
            if len(ids) == 1:
                sequence = ids[0][: self.max_tokens]
            else:
                first, second = _fit_pair(ids[0], ids[1], self.max_tokens - 2)
                sequence = first + [SEP, SEP] + second
            if sequence:
                out[row, self.max_tokens - len(sequence) :] = sequence
        return out

    def _convert(self, stored: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(stored.astype(np.int64))

    def submission_inputs(self) -> tuple[list[str], torch.Tensor]:
        """The GLUE indices and ``(N, max_tokens)`` int64 ids of the unlabelled ``test.tsv``."""
        path = self.folder / "test.tsv"
        require_files([path], self.name.upper(), self.layout.obtain)
        header = self.layout.test
        rows = _read_tsv(path, header)
        index_column = header.index(self.layout.index)
        return [row[index_column] for row in rows], torch.from_numpy(self.encode(self._tokenised(rows, header)).astype(np.int64))

    def summary(self) -> dict[str, float | int | str]:
        return {
            **super().summary(),
            "seq_len": self.max_tokens,
            "vocab_size": self.vocab_size,
            "tokenizer": "word-level vocabulary built from train.tsv (not the paper's bert-base-uncased WordPiece)",
            "val_split": "dev" if self.val_rows is None else f"{self.val_rows} held-out rows of train.tsv",
            "test_split": "dev (GLUE test labels are not public)",
            "sampling": "class-balanced" if self.balanced else "shuffled",
        }


def write_glue_predictions(
    task: GLUETask, predict: Callable[[torch.Tensor], torch.Tensor], path, batch_size: int = 500
) -> Path:
    """Write GLUE's submission file for ``test.tsv``: a header ``index<TAB>prediction``, one row per example.

    ``predict`` maps ``(B, T)`` int64 ids to ``(B, 1)`` logits (a model in eval mode); a logit
    above 0 predicts 1. The file is written atomically.
    """
    if batch_size < 1:
        raise HadamRNNError(f"batch_size must be >= 1, got {batch_size}")
    indices, inputs = task.submission_inputs()
    lines = ["index\tprediction"]
    with torch.no_grad():
        for start in range(0, inputs.shape[0], batch_size):
            predicted = task.predictions(predict(inputs[start : start + batch_size]))
            lines.extend(f"{index}\t{int(value)}" for index, value in zip(indices[start : start + batch_size], predicted.tolist()))
    path = Path(path)
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path
