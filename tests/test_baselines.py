"""Baselines (ORNN, QORNN, LSTM, GRU) behind the HadamRNN heads, trained by the same harness."""

import re

import pytest
import torch
from helpers import assert_orthogonal

from hadamrnn import ConfigError, build_model, build_task, model_size, parse_config
from hadamrnn.baselines import BaselineClassifier, BaselineTagger
from hadamrnn.models import SequenceClassifier
from hadamrnn.training import Trainer
from hadamrnn.workflows import load_trained_model

KINDS = ("ornn", "qornn", "lstm", "gru")
TINY_TASK = {"seq_len": 10, "copy_length": 2, "train_size": 240, "val_size": 32, "test_size": 32}


def model_config(kind: str, **extra) -> dict:
    config = {"kind": kind, "hidden_size": 16, **extra}
    if kind == "qornn":
        config.setdefault("recurrent_bits", 4)
    return config


def tiny_run(kind: str, **model) -> dict:
    return {
        "name": f"tiny-{kind}",
        "task": TINY_TASK,
        "model": model_config(kind, **model),
        "train": {"epochs": 1, "batch_size": 8, "eval_batch_size": 32, "lr": 0.01, "checkpoint_every": 1000},
    }


def make_trainer(data: dict, run_dir) -> Trainer:
    config = parse_config(data)
    torch.manual_seed(config.train.seed)
    task = build_task(config.task, config.train.seed)
    return Trainer(config, task, build_model(config.model, task), run_dir, progress=False)


@pytest.mark.parametrize("kind", KINDS)
def test_forward_shapes(kind):
    bits = {"recurrent_bits": 3} if kind == "qornn" else {}
    tagger = BaselineTagger(kind, 5, 16, 7, **bits)
    assert tagger(torch.randn(3, 9, 5)).shape == (3, 9, 7)
    classifier = BaselineClassifier(kind, 5, 16, 4, **bits)
    assert classifier(torch.randn(3, 9, 5)).shape == (3, 4)
    tokens = BaselineClassifier(kind, None, 16, 2, vocab_size=30, embedding_dim=6, **bits)
    assert tokens(torch.randint(0, 30, (3, 9))).shape == (3, 2)


def test_ornn_weight_is_orthogonal_after_training_steps():
    model = BaselineTagger("ornn", 5, 32, 7)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(5):
        optimizer.zero_grad()
        model(torch.randn(4, 6, 5)).square().mean().backward()
        optimizer.step()
    weight = model.rnn.recurrent_weight().detach()
    assert not torch.allclose(weight, model.rnn.parametrizations.weight_hh[0].base), "W did not move"
    assert_orthogonal(weight)


@pytest.mark.parametrize("bits", [2, 3, 6])
def test_qornn_weight_lies_on_the_p_bit_grid(bits):
    model = BaselineTagger("qornn", 5, 16, 7, recurrent_bits=bits)
    latent = model.rnn.weight_hh.detach()
    levels = 2 ** (bits - 1)
    step = latent.abs().max() / levels
    grid = torch.arange(-levels, levels, dtype=torch.float32) * step
    weight = model.rnn.recurrent_weight().detach()
    on_grid = (weight.reshape(-1, 1) == grid.reshape(1, -1)).any(dim=1)
    assert bool(on_grid.all())
    assert len(torch.unique(weight)) <= 2**bits
    # The nearest grid point, computed here by search rather than by rounding.
    nearest = grid[(latent.reshape(-1, 1) - grid.reshape(1, -1)).abs().argmin(dim=1)].reshape(latent.shape)
    assert torch.allclose(weight, nearest, atol=step.item() / 2 + 1e-7)
    # Approximately orthogonal only: the quantization error shows in WᵀW.
    assert not torch.allclose(weight.T @ weight, torch.eye(16), atol=1e-6)


@pytest.mark.parametrize("kind", KINDS)
def test_gradients_reach_every_parameter(kind):
    bits = {"recurrent_bits": 4} if kind == "qornn" else {}
    model = BaselineClassifier(kind, None, 16, 3, vocab_size=20, embedding_dim=5, input_bits=None, **bits)
    model(torch.randint(0, 20, (4, 6))).square().sum().backward()
    for name, parameter in model.named_parameters():
        assert parameter.grad is not None, name
        assert parameter.grad.abs().sum() > 0, name


@pytest.mark.parametrize("kind", KINDS)
def test_thirty_steps_reduce_the_loss_and_flip_no_sign(kind, tmp_path):
    trainer = make_trainer(tiny_run(kind), tmp_path)
    assert trainer.batches_per_epoch == 30
    before = trainer.evaluate("val")["loss"]
    result = trainer.fit()
    assert trainer.evaluate("val")["loss"] < 0.9 * before
    assert result.metrics["total_sign_flips"] == 0


def test_baseline_checkpoint_reloads_strictly(tmp_path):
    trainer = make_trainer(tiny_run("ornn"), tmp_path)
    trainer.fit()
    trained = load_trained_model(tmp_path)
    x = trainer.task.batch("test", 0, 4).inputs
    trainer.model.eval()
    torch.testing.assert_close(trained.model(x), trainer.model(x), rtol=0, atol=0)


class TestModelSize:
    n, d, k = 16, 5, 7

    def test_ornn_counts_w_as_n_squared_floats(self):
        n, d, k = self.n, self.d, self.k
        size = model_size(BaselineTagger("ornn", d, n, k))
        assert size.total_bits == 32 * n * n + 32 * n * d + 32 * n + 32 * k * n + 32 * k

    def test_qornn_counts_w_at_p_bits(self):
        n, d, k, p = self.n, self.d, self.k, 5
        size = model_size(BaselineTagger("qornn", d, n, k, recurrent_bits=p, input_bits=p, output_bits=p))
        w, u, v = p * n * n + 32, p * n * d + 32 + 32 * n, p * k * n + 32 + 32 * k
        assert size.total_bits == w + u + v

    @pytest.mark.parametrize("kind,gates", [("lstm", 4), ("gru", 3)])
    def test_gated_cells(self, kind, gates):
        n, d, k = self.n, self.d, self.k
        size = model_size(BaselineTagger(kind, d, n, k, output_bits=4))
        recurrent = 32 * (gates * n * n + gates * n * d + 2 * gates * n)
        assert size.total_bits == recurrent + 4 * k * n + 32 + 32 * k
        assert size.total_bits == sum(p.numel() for p in BaselineTagger(kind, d, n, k).rnn.parameters()) * 32 + 4 * k * n + 32 + 32 * k

    def test_embedding_is_separate(self):
        size = model_size(BaselineClassifier("gru", None, 8, 1, vocab_size=50, embedding_dim=4))
        assert size.embedding_bits == 32 * 50 * 4
        assert all("embedding" not in row.component for row in size.rows)


def test_float_baselines_default_to_float_u_and_v_and_qornn_to_its_p():
    assert parse_config({"model": {"kind": "ornn"}}).model.input_bits is None
    assert parse_config({"model": {"kind": "lstm"}}).model.output_bits is None
    qornn = parse_config({"model": {"kind": "qornn", "recurrent_bits": 6}}).model
    assert (qornn.input_bits, qornn.output_bits) == (6, 6)
    assert parse_config({"model": {"kind": "ornn", "input_bits": 4}}).model.input_bits == 4


@pytest.mark.parametrize(
    "model,message",
    [
        ({"kind": "ornn", "block_size": 4}, "model.block_size=4 applies only to kind 'hadamrnn', got kind='ornn'"),
        ({"kind": "lstm", "sign_clip": 1.0}, "model.sign_clip=1.0 applies only to kind 'hadamrnn'"),
        ({"kind": "gru", "backend": "native"}, "model.backend='native' applies only to kind 'hadamrnn'"),
        ({"kind": "qornn"}, "model.recurrent_bits is required with kind='qornn'"),
        ({"kind": "hadamrnn", "recurrent_bits": 4}, "model.recurrent_bits=4 applies only to kind 'qornn'"),
        ({"kind": "lstm", "recurrence": "relu"}, "model.recurrence='relu' applies only"),
        ({"kind": "gru", "input_bits": 4}, "model.input_bits=4 applies only"),
        ({"kind": "rnn"}, "model.kind"),
        ({"embedding_dropout": 1.0}, "model.embedding_dropout"),
    ],
)
def test_bad_combinations_name_the_key(model, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        parse_config({"model": model})


def test_embedding_dropout_needs_a_token_task():
    config = parse_config({"task": TINY_TASK, "model": {"kind": "gru", "embedding_dropout": 0.5}})
    with pytest.raises(ConfigError, match="model.embedding_dropout applies to token tasks only"):
        build_model(config.model, build_task(config.task, 0))


class TokenTask:
    name = "tokens"
    input_size = 6
    output_size = 2
    many_to_many = False
    vocab_size = 40


@pytest.mark.parametrize("kind", ("hadamrnn", *KINDS))
def test_embedding_dropout_acts_in_training_only(kind):
    extra = {"recurrent_bits": 4} if kind == "qornn" else {}
    config = parse_config({"model": {"kind": kind, "hidden_size": 16, "embedding_dim": 6, "embedding_dropout": 0.5, **extra}})
    torch.manual_seed(0)
    model = build_model(config.model, TokenTask())
    assert model.embedding.embedding_dim == 6
    tokens = torch.randint(0, 40, (4, 5))
    model.train()
    assert not torch.equal(model(tokens), model(tokens))
    model.eval()
    assert torch.equal(model(tokens), model(tokens))
    without = SequenceClassifier(None, 16, 2, vocab_size=40, embedding_dim=6)
    without.train()
    assert torch.equal(without(tokens), without(tokens))
