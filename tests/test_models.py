import math

import pytest
import torch

from hadamrnn import CopyTask, HadamRNNError, SequenceClassifier, SequenceTagger, ShapeError, model_size, uniform_quantize
from hadamrnn.tasks.copy import BLANK, MARKER


class TestHeads:
    def test_classifier_reads_last_state(self):
        model = SequenceClassifier(3, 16, 5)
        x = torch.randn(4, 7, 3)
        states, _ = model.rnn(x)
        v = uniform_quantize(model.readout.weight, 4)
        expected = torch.relu(states[:, -1]) @ v.T + model.readout.bias
        torch.testing.assert_close(model(x), expected)

    def test_tagger_reads_every_state(self):
        model = SequenceTagger(3, 16, 5, recurrence="relu", output_bits=None)
        x = torch.randn(2, 6, 3)
        states, _ = model.rnn(x)
        torch.testing.assert_close(model(x), states @ model.readout.weight.T + model.readout.bias)

    def test_embedding_front_end(self):
        model = SequenceClassifier(None, 8, 2, vocab_size=50, embedding_dim=6)
        out = model(torch.randint(0, 50, (3, 9)))
        assert out.shape == (3, 2)
        with pytest.raises(ShapeError, match="integer token ids"):
            model(torch.randn(3, 9, 6))
        with pytest.raises(ShapeError, match="embedding_dim is required"):
            SequenceClassifier(None, 8, 2, vocab_size=50)
        with pytest.raises(ShapeError, match="input_size is required"):
            SequenceTagger(None, 8, 2)


class TestModelSize:
    def test_formula_full(self):
        size = model_size(SequenceTagger(10, 128, 9))
        n, d, k, p = 128, 10, 9, 4
        assert size.total_bits == n + p * n * d + 32 + 32 * n + p * k * n + 32 + 32 * k
        assert size.total_bits_dense_w == size.total_bits - n + n * n

    def test_formula_block_and_float(self):
        size = model_size(SequenceTagger(10, 64, 9, block_size=8, input_bits=None, output_bits=2))
        n = 64
        assert size.total_bits == n + 32 * n * 10 + 32 * n + 2 * 9 * n + 32 + 32 * 9
        assert size.dense_recurrent_bits == n * 8

    def test_embeddings_are_separate(self):
        size = model_size(SequenceClassifier(None, 16, 1, vocab_size=100, embedding_dim=4))
        assert size.embedding_bits == 32 * 100 * 4
        assert all("embedding" not in row.component for row in size.rows)
        assert "embeddings (separate)" in str(size)


class TestCopyTask:
    def test_layout_matches_spec(self):
        task = CopyTask(seq_len=30, copy_length=4, train_size=10)
        inputs, targets = task.tokens("train", 0, 10)
        assert inputs.shape == targets.shape == (10, 30)
        symbols = inputs[:, :4]
        assert bool(((symbols >= 1) & (symbols <= 8)).all())
        assert bool((inputs[:, 4:26] == BLANK).all()) and bool((inputs[:, 26] == MARKER).all())
        assert bool((inputs[:, 27:] == BLANK).all())
        assert bool((targets[:, :26] == BLANK).all()) and torch.equal(targets[:, 26:], symbols)

    def test_naive_baseline(self):
        assert CopyTask(seq_len=1000).naive_baseline == pytest.approx(10 * math.log(8) / 1000)
        assert CopyTask(seq_len=1000).naive_baseline == pytest.approx(0.0208, abs=1e-4)

    def test_deterministic_and_independent_streams(self):
        task = CopyTask(seq_len=40, train_size=1000, val_size=100, test_size=100, seed=3)
        a = task.tokens("train", 2, 50)[0]
        assert torch.equal(a, task.tokens("train", 2, 50)[0])
        assert not torch.equal(a, task.tokens("train", 2, 50, epoch=1)[0])
        assert not torch.equal(task.tokens("val", 0, 50)[0], task.tokens("test", 0, 50)[0])
        assert torch.equal(task.tokens("val", 0, 50, epoch=0)[0], task.tokens("val", 0, 50, epoch=5)[0])
        assert not torch.equal(a, CopyTask(seq_len=40, train_size=1000, seed=4).tokens("train", 2, 50)[0])

    def test_symbols_are_uniform(self):
        inputs, _ = CopyTask(seq_len=20, train_size=4000).tokens("train", 0, 4000)
        counts = torch.bincount(inputs[:, :10].flatten(), minlength=9)[1:].float()
        assert counts.sum() == 40_000 and float(counts.min()) > 4500 and float(counts.max()) < 5500

    def test_last_batch_and_errors(self):
        task = CopyTask(seq_len=20, train_size=70)
        assert task.num_batches("train", 32) == 3
        assert task.batch("train", 2, 32).inputs.shape == (6, 20, 10)
        with pytest.raises(IndexError, match="batch index 3 out of range"):
            task.tokens("train", 3, 32)
        with pytest.raises(HadamRNNError, match="split must be one of"):
            task.tokens("dev", 0, 32)
        with pytest.raises(HadamRNNError, match="seq_len >= 2 \\* copy_length"):
            CopyTask(seq_len=10, copy_length=6)

    def test_perfect_prediction_has_zero_loss_and_full_accuracy(self):
        task = CopyTask(seq_len=20, copy_length=3, train_size=8)
        batch = task.batch("train", 0, 8)
        logits = torch.nn.functional.one_hot(batch.targets, 9).float() * 100
        metrics = task.metrics(logits, batch.targets)
        assert metrics["loss"] < 1e-30 + 1e-6 and metrics["symbol_accuracy"] == 1.0 and metrics["sequence_accuracy"] == 1.0


def test_padding_token_embeds_to_zero_and_learns_nothing():
    """Token id 0 pads sequences on the left: its embedding is zero and receives no gradient, in the
    HadamRNN heads and in the baselines alike."""
    from hadamrnn.baselines import BaselineClassifier
    from hadamrnn.layers import PADDING_ID

    for model in (
        SequenceClassifier(None, 16, 2, vocab_size=30, embedding_dim=8),
        BaselineClassifier("lstm", None, 16, 2, vocab_size=30, embedding_dim=8, input_bits=None, output_bits=None),
    ):
        assert torch.equal(model.embedding.weight[PADDING_ID], torch.zeros(8))
        tokens = torch.tensor([[0, 0, 5, 7], [0, 3, 3, 9]])
        model(tokens).sum().backward()
        assert torch.equal(model.embedding.weight.grad[PADDING_ID], torch.zeros(8))
        assert model.embedding.weight.grad[5].abs().sum() > 0
