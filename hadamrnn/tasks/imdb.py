"""IMDB movie-review sentiment (Maas et al., 2011): binary classification of token sequences.

Data, under ``<data>/imdb/``, in either layout:

* ``train.jsonl.gz`` and ``test.jsonl.gz``: one JSON object per line with ``id``, ``rating``,
  ``label`` (0 = neg, 1 = pos) and ``text`` (the review file's content);
* the original archive unpacked: ``aclImdb/{train,test}/{pos,neg}/<id>_<rating>.txt`` (also
  accepted directly as ``<data>/aclImdb/``). The ``unsup`` reviews are not used.

Protocol (the paper's set-up):

* Tokens: lower-case the text, replace ``<br />`` by a space, and split on every run of
  characters that are neither word characters (letters, digits, ``_``) nor apostrophes.
* Vocabulary: ``vocab_size`` ids in all. 0 is padding, 1 is out-of-vocabulary, and 2.. are the
  ``vocab_size - 2`` most frequent training words (ties broken alphabetically). Only the training
  reviews count.
* Each review keeps its last ``max_tokens`` tokens (500), left-padded with 0.
* Splits: train is the 25,000 training reviews. The 25,000 test reviews are put in canonical order
  (by label, then file id), then permuted by ``numpy.random.RandomState(113).permutation``.
  Test is the first 12,500 of that order and validation the last 12,500. The seed is a
  constant (the Keras IMDB loader's default, 113), not the run seed, so every run sees the same
  split.
* Binary label, one logit, BCE-with-logits, accuracy.

Tokenising 50,000 reviews takes seconds, so the encoded arrays are cached (see
:func:`~hadamrnn.tasks.data.resolve_cache_dir`), keyed by the source files' names, sizes and
modification times and by the tokenizer settings. A cache file is written atomically and checked
(keys, dtypes, shapes and id range) before use; a bad one is rebuilt.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import re
import zlib
from collections import Counter
from pathlib import Path

import numpy as np
import torch

from ..errors import DataError, DataNotFoundError, HadamRNNError
from .data import ArrayClassificationTask, bounded_reader, limit, load_npz_checked, resolve_cache_dir, resolve_data_dir, save_npz_atomic

__all__ = ["IMDBTask", "tokenize", "build_vocabulary", "encode", "IMDB_TEST_ORDER_SEED"]

IMDB_TEST_ORDER_SEED = 113
PAD, OOV = 0, 1
_TOKENIZER_VERSION = "imdb-words-v1"
_SEPARATORS = re.compile(r"[^\w']+")
_FILE_NAME = re.compile(r"^(\d+)_(\d+)\.txt$")
_OBTAIN = (
    "The IMDB Large Movie Review Dataset (aclImdb_v1.tar.gz) is distributed at https://ai.stanford.edu/~amaas/data/sentiment/; "
    "unpack it as <data>/imdb/aclImdb/, or provide train.jsonl.gz and test.jsonl.gz (fields id, rating, label, text) in <data>/imdb/."
)


def tokenize(text: str) -> list[str]:
    """Lower-cased words of a review, without its ``<br />`` tags."""
    return _SEPARATORS.sub(" ", text.lower().replace("<br />", " ")).split()


def build_vocabulary(documents: list[list[str]], vocab_size: int) -> dict[str, int]:
    """Word -> id for the ``vocab_size - 2`` most frequent words (ids 2..; 0 pad, 1 OOV)."""
    if vocab_size < 3:
        raise HadamRNNError(f"vocab_size must be >= 3 (padding, out-of-vocabulary and one word), got {vocab_size}")
    counts = Counter()
    for document in documents:
        counts.update(document)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))[: vocab_size - 2]
    return {word: rank + 2 for rank, (word, _) in enumerate(ranked)}


def encode(documents: list[list[str]], vocabulary: dict[str, int], max_tokens: int, dtype=np.int32) -> np.ndarray:
    """``(N, max_tokens)`` ids: the last ``max_tokens`` tokens of each document, left-padded with 0."""
    out = np.zeros((len(documents), max_tokens), dtype=dtype)
    for row, document in enumerate(documents):
        ids = [vocabulary.get(word, OOV) for word in document[-max_tokens:]]
        if ids:
            out[row, max_tokens - len(ids) :] = ids
    return out


def _read_jsonl(path: Path) -> list[tuple[int, int, str]]:
    """``(label, id, text)`` rows of one ``.jsonl.gz`` file."""
    rows = []
    try:
        with gzip.open(path, "rb") as compressed, io.TextIOWrapper(bounded_reader(compressed, path), encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                try:
                    record = json.loads(line)
                    label, review_id, text = record["label"], record["id"], record["text"]
                except (json.JSONDecodeError, KeyError, TypeError) as error:
                    raise DataError(
                        f"{path}, line {number}: expected a JSON object with fields id, label and text, got {line[:80]!r} ({error})"
                    ) from None
                if label not in (0, 1) or isinstance(label, bool):
                    raise DataError(f"{path}, line {number}: expected label 0 (neg) or 1 (pos), got {label!r}")
                if not isinstance(text, str) or not isinstance(review_id, int):
                    raise DataError(f"{path}, line {number}: expected an integer id and a string text, got {review_id!r}, {type(text).__name__}")
                rows.append((label, review_id, text))
    except (EOFError, gzip.BadGzipFile, zlib.error, UnicodeDecodeError) as error:
        raise DataError(f"{path}: expected a complete gzip archive of UTF-8 JSON lines, got a truncated or corrupt file ({error})") from None
    return rows


def _read_folder(split_dir: Path) -> list[tuple[int, int, str]]:
    """``(label, id, text)`` rows of ``aclImdb/<split>/{neg,pos}/<id>_<rating>.txt``."""
    rows = []
    for label, polarity in enumerate(("neg", "pos")):
        folder = split_dir / polarity
        if not folder.is_dir():
            raise DataNotFoundError(f"IMDB: expected the folder {folder} (aclImdb layout). {_OBTAIN}")
        for path in folder.iterdir():
            match = _FILE_NAME.match(path.name)
            if match is None:
                raise DataError(f"{path}: expected review files named <id>_<rating>.txt in {folder}, got {path.name!r}")
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise DataError(f"{path}: expected UTF-8 text, got undecodable bytes ({error})") from None
            rows.append((label, int(match.group(1)), text))
    return rows


def _canonical(rows: list[tuple[int, int, str]]) -> tuple[list[str], np.ndarray]:
    rows = sorted(rows, key=lambda row: (row[0], row[1]))
    return [row[2] for row in rows], np.array([row[0] for row in rows], dtype=np.uint8)


def _locate(data_dir: Path) -> tuple[str, dict[str, Path]]:
    """The layout found and its sources; raises naming every accepted layout."""
    folder = data_dir / "imdb"
    jsonl = {split: folder / f"{split}.jsonl.gz" for split in ("train", "test")}
    if all(path.is_file() for path in jsonl.values()):
        return "jsonl", jsonl
    for root in (folder / "aclImdb", data_dir / "aclImdb"):
        if (root / "train").is_dir() and (root / "test").is_dir():
            return "aclImdb", {split: root / split for split in ("train", "test")}
    raise DataNotFoundError(
        f"IMDB: found neither {jsonl['train']} and {jsonl['test']}, nor {folder / 'aclImdb'}/{{train,test}}/{{pos,neg}}/*.txt "
        f"(or {data_dir / 'aclImdb'}/...). {_OBTAIN}"
    )


def _fingerprint(layout: str, sources: dict[str, Path], vocab_size: int, max_tokens: int) -> str:
    digest = hashlib.sha256(f"{_TOKENIZER_VERSION}|{layout}|{vocab_size}|{max_tokens}".encode())
    for split, source in sorted(sources.items()):
        files = [source] if source.is_file() else sorted(p for sub in ("neg", "pos") for p in (source / sub).iterdir())
        for path in files:
            stat = path.stat()
            digest.update(f"{split}|{path.relative_to(source.parent)}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


class IMDBTask(ArrayClassificationTask):
    """IMDB sentiment: inputs ``(B, max_tokens)`` int64 token ids, targets ``(B,)`` float32 in {0, 1}.

    Args:
        data_dir: the data directory (holding ``imdb/``); None reads ``$HADAMRNN_DATA``.
        seed: seeds the per-epoch shuffling of the training set.
        vocab_size: ids in all, padding and out-of-vocabulary included (10,000).
        max_tokens: sequence length T (500).
        train_limit, val_limit, test_limit: keep only the first samples of a split (quick runs).
        cache: read and write the tokenised arrays in the cache directory.
        cache_dir: the cache directory; None uses :func:`~hadamrnn.tasks.data.resolve_cache_dir`.
    """

    name = "imdb"
    output_size = 1

    def __init__(
        self,
        data_dir=None,
        *,
        seed: int = 0,
        vocab_size: int = 10_000,
        max_tokens: int = 500,
        train_limit: int | None = None,
        val_limit: int | None = None,
        test_limit: int | None = None,
        cache: bool = True,
        cache_dir=None,
    ):
        super().__init__(seed)
        if max_tokens < 1:
            raise HadamRNNError(f"max_tokens must be >= 1, got {max_tokens}")
        if not 3 <= vocab_size <= 2**31 - 1:
            raise HadamRNNError(f"vocab_size must be >= 3, got {vocab_size}")
        self.vocab_size = vocab_size
        self.max_tokens = max_tokens
        self.input_size = None
        self.layout, sources = _locate(resolve_data_dir(data_dir))
        arrays = None
        cache_path = None
        if cache:
            key = _fingerprint(self.layout, sources, vocab_size, max_tokens)
            cache_path = resolve_cache_dir(cache_dir) / f"imdb-{key[:24]}.npz"
            arrays = self._load_cache(cache_path, key)
        if arrays is None:
            arrays = self._tokenise(sources)
            if cache_path is not None:
                save_npz_atomic(cache_path, {**arrays, "key": np.frombuffer(key.encode(), dtype=np.uint8)})
        self.cache_path = cache_path
        order = np.random.RandomState(IMDB_TEST_ORDER_SEED).permutation(arrays["test_labels"].shape[0])
        half = order.size // 2
        test_rows, val_rows = order[:half], order[half:]
        self._inputs = {
            "train": limit(arrays["train_tokens"], train_limit),
            "val": limit(arrays["test_tokens"][val_rows], val_limit),
            "test": limit(arrays["test_tokens"][test_rows], test_limit),
        }
        self._labels = {
            "train": limit(arrays["train_labels"], train_limit),
            "val": limit(arrays["test_labels"][val_rows], val_limit),
            "test": limit(arrays["test_labels"][test_rows], test_limit),
        }

    @property
    def _token_dtype(self) -> np.dtype:
        return np.dtype(np.uint16) if self.vocab_size <= 2**16 else np.dtype(np.int32)

    def _tokenise(self, sources: dict[str, Path]) -> dict[str, np.ndarray]:
        reader = _read_jsonl if self.layout == "jsonl" else _read_folder
        texts, labels = {}, {}
        for split, source in sources.items():
            texts[split], labels[split] = _canonical(reader(source))
            if not texts[split]:
                raise DataError(f"IMDB: expected reviews in {source}, got none")
        documents = {split: [tokenize(text) for text in texts[split]] for split in texts}
        vocabulary = build_vocabulary(documents["train"], self.vocab_size)
        return {
            f"{split}_{kind}": value
            for split in ("train", "test")
            for kind, value in (
                ("tokens", encode(documents[split], vocabulary, self.max_tokens, self._token_dtype)),
                ("labels", labels[split]),
            )
        }

    def _load_cache(self, path: Path, key: str) -> dict[str, np.ndarray] | None:
        expected = {
            "train_tokens": (self._token_dtype, 2),
            "train_labels": (np.dtype(np.uint8), 1),
            "test_tokens": (self._token_dtype, 2),
            "test_labels": (np.dtype(np.uint8), 1),
            "key": (np.dtype(np.uint8), 1),
        }
        if not path.is_file():
            return None
        arrays = load_npz_checked(path, expected)
        if arrays is None or arrays.pop("key").tobytes() != key.encode():
            return None
        for split in ("train", "test"):
            tokens, labels = arrays[f"{split}_tokens"], arrays[f"{split}_labels"]
            if (
                tokens.shape != (labels.shape[0], self.max_tokens)
                or labels.max(initial=0) > 1
                or tokens.max(initial=0) >= self.vocab_size
                or tokens.min(initial=0) < 0
            ):
                return None
        return arrays

    def _convert(self, stored: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(stored.astype(np.int64))

    def summary(self) -> dict[str, float | int | str]:
        return {
            **super().summary(),
            "seq_len": self.max_tokens,
            "vocab_size": self.vocab_size,
            "layout": self.layout,
            "tokenizer": "lower-cased words, split on non-word characters except apostrophes; vocabulary from train",
            "split": f"test/val = first/last half of the test reviews in RandomState({IMDB_TEST_ORDER_SEED}) order",
        }
