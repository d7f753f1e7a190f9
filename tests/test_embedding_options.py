"""The embedding's regularisers for token tasks: ``model.embedding_init_std`` and
``train.embedding_weight_decay`` (decoupled decay of the embedding alone)."""

import numpy as np
import pytest
import torch

from hadamrnn import ConfigError, build_model, build_task, parse_config
from hadamrnn.baselines import BaselineClassifier
from hadamrnn.layers import PADDING_ID
from hadamrnn.models import SequenceClassifier
from hadamrnn.training import Trainer


@pytest.fixture
def token_folder(tmp_path):
    rng = np.random.default_rng(3)
    tokens = rng.integers(1, 30, size=(64, 12))
    np.save(tmp_path / "x_train.npy", tokens)
    np.save(tmp_path / "y_train.npy", (tokens[:, -1] % 2).astype(np.int64))
    return tmp_path


def trainer_for(folder, run_dir, model=None, train=None) -> Trainer:
    config = parse_config({
        "task": {"name": "arrays", "path": str(folder)},
        "model": {"hidden_size": 16, "embedding_dim": 8, **(model or {})},
        "train": {"epochs": 1, "batch_size": 8, "lr": 0.01, "checkpoint_every": 1000, **(train or {})},
    })
    torch.manual_seed(config.train.seed)
    task = build_task(config.task, config.train.seed)
    return Trainer(config, task, build_model(config.model, task), run_dir, progress=False)


@pytest.mark.parametrize("head", [
    lambda **kw: SequenceClassifier(None, 16, 2, vocab_size=40, embedding_dim=8, **kw),
    lambda **kw: BaselineClassifier("gru", None, 16, 2, vocab_size=40, embedding_dim=8, **kw),
])
def test_init_std_scales_the_same_draw_and_leaves_the_other_layers_alone(head):
    torch.manual_seed(5)
    plain = head()
    torch.manual_seed(5)
    scaled = head(embedding_init_std=0.05)
    assert torch.equal(scaled.embedding.weight, plain.embedding.weight * 0.05)
    assert torch.all(scaled.embedding.weight[PADDING_ID] == 0)
    others = lambda model: {k: v for k, v in model.state_dict().items() if not k.startswith("embedding")}  # noqa: E731
    assert all(torch.equal(value, others(scaled)[name]) for name, value in others(plain).items())
    # N(0, 1) scaled by 0.05: the sample standard deviation of 320 draws is near 0.05.
    assert 0.04 < float(scaled.embedding.weight[1:].detach().std()) < 0.06


def test_init_std_must_be_positive():
    with pytest.raises(Exception, match="init_std must be positive, got 0"):
        SequenceClassifier(None, 16, 2, vocab_size=40, embedding_dim=8, embedding_init_std=0.0)
    with pytest.raises(ConfigError, match="model.embedding_init_std"):
        parse_config({"task": {"name": "copy"}, "model": {"embedding_init_std": -1.0}})


def test_init_std_needs_a_token_task():
    config = parse_config({"task": {"name": "copy", "seq_len": 10, "copy_length": 2}, "model": {"embedding_init_std": 0.1}})
    task = build_task(config.task, 0)
    with pytest.raises(ConfigError, match="model.embedding_init_std applies to token tasks only.*got embedding_init_std=0.1"):
        build_model(config.model, task)


def test_weight_decay_puts_the_embedding_in_a_decayed_group_of_its_own(token_folder, tmp_path):
    trainer = trainer_for(token_folder, tmp_path / "run", train={"embedding_weight_decay": 0.5})
    groups = trainer.optimizer.param_groups
    embedding = trainer.model.embedding.weight
    assert groups[-1]["params"] == [embedding]
    assert groups[-1]["weight_decay"] == 0.5 and groups[-1]["decoupled_weight_decay"] is True
    assert all(group["weight_decay"] == 0 for group in groups[:-1])
    every = [id(p) for group in groups for p in group["params"]]
    assert sorted(every) == sorted(id(p) for p in trainer.model.parameters())  # each once


def test_weight_decay_is_decoupled_and_spares_the_other_weights(token_folder, tmp_path):
    trainer = trainer_for(token_folder, tmp_path / "run", train={"embedding_weight_decay": 0.5, "lr": 0.1})
    model, optimizer = trainer.model, trainer.optimizer
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    for p in model.parameters():
        p.grad = torch.zeros_like(p)
    optimizer.step()
    # A zero gradient moves nothing through Adam; the decay alone scales the embedding by 1 - lr·decay.
    assert torch.equal(model.embedding.weight, before["embedding.weight"] * (1 - 0.1 * 0.5))
    assert all(torch.equal(p, before[name]) for name, p in model.named_parameters() if name != "embedding.weight")


def test_without_weight_decay_the_groups_are_unchanged(token_folder, tmp_path):
    trainer = trainer_for(token_folder, tmp_path / "run")
    assert len(trainer.optimizer.param_groups) == 1
    assert trainer.optimizer.param_groups[0]["weight_decay"] == 0


def test_weight_decay_needs_an_embedding(tmp_path):
    config = parse_config({
        "task": {"name": "copy", "seq_len": 10, "copy_length": 2, "train_size": 32, "val_size": 8, "test_size": 8},
        "model": {"hidden_size": 16},
        "train": {"embedding_weight_decay": 0.1},
    })
    task = build_task(config.task, 0)
    with pytest.raises(ConfigError, match="embedding_weight_decay needs a model with a token embedding"):
        Trainer(config, task, build_model(config.model, task), tmp_path / "run", progress=False)


def test_training_with_both_options_runs_and_resumes_its_optimizer(token_folder, tmp_path):
    options = {"model": {"embedding_init_std": 0.1, "embedding_dropout": 0.2}, "train": {"embedding_weight_decay": 0.1}}
    trainer = trainer_for(token_folder, tmp_path / "run", **options)
    metrics = trainer.fit().metrics
    assert np.isfinite(metrics["test"]["loss"])
    resumed = trainer_for(token_folder, tmp_path / "run", **options)
    resumed.resume()
    assert resumed.optimizer.param_groups[-1]["weight_decay"] == 0.1
    assert resumed.optimizer.param_groups[-1]["params"] == [resumed.model.embedding.weight]
