"""SST-2 and QQP: GLUE TSV parsing, tokens, pairs, balanced sampling and the submission file."""

import pytest
import torch

from hadamrnn.config import parse_config
from hadamrnn.errors import DataError, DataNotFoundError
from hadamrnn.tasks import GLUETask, build_task, write_glue_predictions
from hadamrnn.tasks.glue import OOV, PAD, SEP

from helpers import shared_data_dir

SST2_TRAIN = ["a fine film . \t1", "a dull film . \t0", "fine , fine acting \t1", "so dull \t0", "fine \t1", "great \t1"]


def write_sst2(root, train=SST2_TRAIN, dev=("a fine mess \t1", "dull dull \t0"), test=("0\tfine film ", "1\tunseen words ")):
    folder = root / "sst2"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "train.tsv").write_text("sentence\tlabel\n" + "\n".join(train) + "\n", encoding="utf-8")
    (folder / "dev.tsv").write_text("sentence\tlabel\n" + "\n".join(dev) + "\n", encoding="utf-8")
    (folder / "test.tsv").write_text("index\tsentence\n" + "\n".join(test) + "\n", encoding="utf-8")
    return folder


def write_qqp(root):
    folder = root / "qqp"
    folder.mkdir(parents=True)
    header = "id\tqid1\tqid2\tquestion1\tquestion2\tis_duplicate\n"
    (folder / "train.tsv").write_text(
        header + "0\t1\t2\tHow old are you?\tWhat is your age?\t1\n1\t3\t4\tWhy?\tHow?\t0\n2\t5\t6\ta b c d e f\tg\t0\n",
        encoding="utf-8",
    )
    (folder / "dev.tsv").write_text(header + "7\t8\t9\tHow old?\tzzz?\t0\n", encoding="utf-8")
    (folder / "test.tsv").write_text("id\tquestion1\tquestion2\n0\tHow old?\tWhy?\n", encoding="utf-8")
    return folder


def test_sst2_vocabulary_tokens_and_left_padding(tmp_path):
    write_sst2(tmp_path)
    task = GLUETask("sst2", tmp_path, max_tokens=6)
    # Train words by frequency (ties alphabetical): fine 4, film 2, dull 2, a 2, . 2 -> ". a dull film fine".
    assert task.vocabulary["fine"] == 3
    assert [task.vocabulary[w] for w in (".", "a", "dull", "film")] == [4, 5, 6, 7]
    assert task.vocab_size == 3 + 9  # pad, OOV, SEP and 9 distinct training tokens: a fine film . dull , acting so great
    assert (task.input_size, task.output_size) == (None, 1)
    dev = task.batch("val", 0, 2)
    assert dev.inputs.dtype == torch.int64 and dev.targets.dtype == torch.float32
    assert dev.inputs.tolist() == [[PAD, PAD, PAD, 5, 3, OOV], [PAD, PAD, PAD, PAD, 6, 6]]
    assert dev.targets.tolist() == [1.0, 0.0]
    assert torch.equal(task.batch("test", 0, 2).inputs, dev.inputs)  # GLUE: "test" metrics are on dev
    assert task.summary()["test_split"] == "dev (GLUE test labels are not public)"


def test_sst2_long_sentence_keeps_its_first_tokens(tmp_path):
    write_sst2(tmp_path, dev=("a fine film . so dull \t1",))
    task = GLUETask("sst2", tmp_path, max_tokens=3)
    assert task.batch("val", 0, 1).inputs.tolist() == [[5, 3, 7]]


def test_vocab_size_caps_the_vocabulary(tmp_path):
    write_sst2(tmp_path)
    task = GLUETask("sst2", tmp_path, vocab_size=5)
    assert task.vocab_size == 5 and task.vocabulary == {"fine": 3, ".": 4}


def test_balanced_training_batches_are_deterministic(tmp_path):
    write_sst2(tmp_path, train=[f"w{i} \t{int(i < 2)}" for i in range(10)])  # 2 positives, 8 negatives
    task = GLUETask("sst2", tmp_path, seed=4)
    batches = [task.batch("train", i, 4, epoch=2).targets.tolist() for i in range(3)]
    assert all(sum(b) == len(b) / 2 for b in batches)
    again = GLUETask("sst2", tmp_path, seed=4)
    assert batches == [again.batch("train", i, 4, epoch=2).targets.tolist() for i in range(3)]
    assert torch.equal(task.batch("train", 1, 4, epoch=2).inputs, again.batch("train", 1, 4, epoch=2).inputs)
    plain = GLUETask("sst2", tmp_path, seed=4, balanced=False)
    assert sum(sum(b.targets.tolist()) for b in plain.batches("train", 4)) == 2


def test_qqp_pairs_are_joined_by_two_separators_longest_first(tmp_path):
    write_qqp(tmp_path)
    task = build_task(parse_config({"task": {"name": "qqp", "max_tokens": 7}}).task, seed=0, data_dir=tmp_path)
    w = task.vocabulary
    train = task._inputs["train"].tolist()  # stored order, before sampling
    assert train[1] == [PAD, w["why"], w["?"], SEP, SEP, w["how"], w["?"]]
    # "a b c d e f" + "g": the longer question loses its last tokens until 4 + SEP SEP + 1 fit in 7.
    assert train[2] == [w["a"], w["b"], w["c"], w["d"], SEP, SEP, w["g"]]
    assert task.batch("val", 0, 1).inputs.tolist() == [[PAD, w["how"], w["old"], w["?"], SEP, SEP, OOV][1:] + [w["?"]]]
    assert task.batch("train", 0, 3).inputs.shape == (3, 7)


def test_submission_file(tmp_path):
    write_sst2(tmp_path)
    task = GLUETask("sst2", tmp_path)

    def predict(inputs):  # positive when the sentence contains "fine"
        return (inputs == task.vocabulary["fine"]).any(dim=1, keepdim=True).float() * 2 - 1

    path = write_glue_predictions(task, predict, tmp_path / "out" / "SST-2.tsv", batch_size=1)
    assert path.read_text() == "index\tprediction\n0\t1\n1\t0\n"
    assert not list((tmp_path / "out").glob(".*.tmp"))


def test_missing_files_are_named(tmp_path):
    (tmp_path / "qqp").mkdir()
    with pytest.raises(DataNotFoundError) as error:
        GLUETask("qqp", tmp_path)
    assert str(tmp_path / "qqp" / "train.tsv") in str(error.value) and "gluebenchmark.com" in str(error.value)


def test_malformed_tsv_row(tmp_path):
    write_sst2(tmp_path, train=["good \t1", "no label here"])
    with pytest.raises(DataError, match=r"train.tsv, line 3: expected 2 tab-separated fields \(sentence, label\), got 1"):
        GLUETask("sst2", tmp_path)


def test_wrong_header(tmp_path):
    folder = write_sst2(tmp_path)
    (folder / "dev.tsv").write_text("text\tlabel\nfine \t1\n")
    with pytest.raises(DataError, match=r"dev.tsv: expected the header 'sentence<TAB>label', got 'text<TAB>label'"):
        GLUETask("sst2", tmp_path)


def test_label_outside_the_classes(tmp_path):
    write_sst2(tmp_path, dev=("fine \t1", "bad \t2"))
    with pytest.raises(DataError, match="dev.tsv, row 2: expected label 0 or 1, got '2'"):
        GLUETask("sst2", tmp_path)


def test_real_sst2():
    root = shared_data_dir()
    if root is None or not (root / "sst2").is_dir():
        pytest.skip("real SST-2 not found: set HADAMRNN_DATA or provide ../shared/data/sst2")
    task = build_task(parse_config({"task": {"name": "sst2"}}).task, seed=8, data_dir=root)
    assert [task.split_size(s) for s in ("train", "val", "test")] == [67_349, 872, 872]
    assert task.class_counts("train") == [29_780, 37_569] and task.class_counts("val") == [428, 444]
    batch = task.batch("train", 0, 100)
    assert batch.inputs.shape == (100, 128) and float(batch.targets.sum()) == 50.0


def test_val_rows_hold_out_training_rows_for_validation(tmp_path):
    # Each training row has a word of its own, so that the held-out rows can be told apart.
    train = [f"common word{i} \t{i % 2}" for i in range(20)]
    write_sst2(tmp_path, train=train)
    task = GLUETask("sst2", tmp_path, max_tokens=4, val_rows=5)
    assert (task.split_size("train"), task.split_size("val"), task.split_size("test")) == (15, 5, 2)
    own_words = {f"word{i}" for i in range(20)}
    in_vocabulary = own_words & set(task.vocabulary)
    # The held-out rows' own words are out of the vocabulary: it is built from training rows only.
    assert len(in_vocabulary) == 15
    held_out = sorted(own_words - in_vocabulary)
    val = task.batch("val", 0, 5)
    assert val.inputs[:, -1].tolist() == [OOV] * 5 and val.inputs[:, -2].tolist() == [task.vocabulary["common"]] * 5
    # Labels travel with their rows: word{i} has label i % 2.
    assert sorted(val.targets.tolist()) == sorted(float(int(word[4:]) % 2) for word in held_out)
    # The draw is fixed: a second task holds out the same rows; the test split stays dev.tsv.
    again = GLUETask("sst2", tmp_path, max_tokens=4, val_rows=5, seed=9)
    assert set(again.vocabulary) == set(task.vocabulary)
    assert task.batch("test", 0, 2).targets.tolist() == [1.0, 0.0]
    assert task.summary()["val_split"] == "5 held-out rows of train.tsv"
    assert GLUETask("sst2", tmp_path, max_tokens=4).summary()["val_split"] == "dev"


def test_val_rows_must_leave_training_rows(tmp_path):
    write_sst2(tmp_path)
    with pytest.raises(Exception, match=r"val_rows must be in 1\.\.5 \(the rows of .*train\.tsv minus one\), got 6"):
        GLUETask("sst2", tmp_path, val_rows=6)
    config = parse_config({"task": {"name": "sst2", "val_rows": 2}})
    assert build_task(config.task, 0, tmp_path).split_size("val") == 2
