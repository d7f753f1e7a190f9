"""The sign search (hadamrnn.sign_search) and its place in the trainer (train.sign_optimizer = "search")."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from hadamrnn import ConfigError, build_model, build_task, parse_config
from hadamrnn.errors import HadamRNNError, ShapeError
from hadamrnn.hadamard import sylvester
from hadamrnn.models import SequenceClassifier, SequenceTagger
from hadamrnn.sign_search import last_state_features, ridge_readout_score, search_signs
from hadamrnn.training import Trainer


def toy_sequences(count: int, steps: int = 12, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Two-channel sequences whose class says which channel has the larger sum."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(count, steps, 2, generator=generator)
    return x, (x[:, :, 0].sum(1) > x[:, :, 1].sum(1)).long()


# -- the ridge read-out -----------------------------------------------------------------------------


def test_ridge_score_matches_an_independent_least_squares_solution():
    generator = torch.Generator().manual_seed(1)
    fit, score = torch.randn(50, 6, generator=generator, dtype=torch.float64), torch.randn(20, 6, generator=generator, dtype=torch.float64)
    fit_targets, score_targets = torch.randint(0, 3, (50,), generator=generator), torch.randint(0, 3, (20,), generator=generator)
    ridge = 0.1
    result = ridge_readout_score(fit, fit_targets, score, score_targets, num_classes=3, ridge=ridge)
    # The same ridge problem as an augmented least-squares system [A; sqrt(ridge N) I] w = [Y; 0],
    # solved by numpy's SVD-based lstsq instead of the normal equations.
    mean, scale = fit.mean(0).numpy(), fit.std(0).numpy()
    design = np.hstack([(fit.numpy() - mean) / scale, np.ones((50, 1))])
    augmented = np.vstack([design, math.sqrt(ridge * 50) * np.eye(7)])
    one_hot = np.eye(3)[fit_targets.numpy()]
    weights = np.linalg.lstsq(augmented, np.vstack([one_hot, np.zeros((7, 3))]), rcond=None)[0]
    predictions = np.hstack([(score.numpy() - mean) / scale, np.ones((20, 1))]) @ weights
    expected_mse = ((predictions - np.eye(3)[score_targets.numpy()]) ** 2).sum(1).mean()
    expected_accuracy = (predictions.argmax(1) == score_targets.numpy()).mean()
    assert result.mse == pytest.approx(expected_mse, rel=1e-10)
    assert result.accuracy == expected_accuracy


def test_ridge_score_is_perfect_on_separable_features_and_chance_on_noise():
    targets = torch.arange(40) % 2
    separable = torch.stack([targets.double() * 2 - 1, torch.zeros(40, dtype=torch.float64) + 0.5 * (torch.arange(40) % 3)], 1)
    assert ridge_readout_score(separable, targets, separable, targets, num_classes=2, ridge=1e-6).accuracy == 1.0
    generator = torch.Generator().manual_seed(0)
    noise_fit = torch.randn(400, 4, generator=generator, dtype=torch.float64)
    noise_score = torch.randn(4000, 4, generator=generator, dtype=torch.float64)
    noise_targets = torch.randint(0, 2, (4000,), generator=generator)
    chance = ridge_readout_score(noise_fit, noise_targets[:400], noise_score, noise_targets, num_classes=2)
    assert abs(chance.accuracy - 0.5) < 0.05


@pytest.mark.parametrize(
    "fit, targets, message",
    [(torch.zeros(5, 3), torch.zeros(4, dtype=torch.long), r"fit features must be \(N, n\) with targets \(N,\), got \(5, 3\) and \(4,\)"),
     (torch.zeros(5), torch.zeros(5, dtype=torch.long), r"got \(5,\) and \(5,\)")],
)
def test_ridge_score_refuses_mismatched_shapes(fit, targets, message):
    with pytest.raises(ShapeError, match=message):
        ridge_readout_score(fit, targets, torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), num_classes=2)


def test_ridge_score_refuses_features_of_different_widths():
    with pytest.raises(ShapeError, match="same width, got 3 and 4"):
        ridge_readout_score(torch.zeros(5, 3), torch.zeros(5, dtype=torch.long), torch.zeros(2, 4), torch.zeros(2, dtype=torch.long), 2)


# -- the search ---------------------------------------------------------------------------------------


def classifier(seed: int = 0, **options) -> SequenceClassifier:
    torch.manual_seed(seed)
    return SequenceClassifier(2, 16, 2, **options)


def run_search(model, evaluations=12, flips=2, seed=3):
    x, y = toy_sequences(160)
    return search_signs(
        model, x[:100], y[:100], x[100:], y[100:], num_classes=2, evaluations=evaluations, flips=flips,
        generator=torch.Generator().manual_seed(seed),
    )


def test_features_are_the_relu_of_the_last_state_and_leave_the_mode_alone():
    model = classifier(dropout_free := 0)
    x, _ = toy_sequences(7)
    model.train()
    features = last_state_features(model, x, batch_size=3)
    assert model.training
    assert features.dtype == torch.float64 and features.shape == (7, 16)
    with torch.no_grad():
        assert torch.equal(features, torch.relu(model.rnn(x)[1][0]).double())
    assert dropout_free == 0


def test_the_search_keeps_only_improvements_and_reports_them_exactly():
    model = classifier()
    initial_signs = model.rnn.signs().detach().clone()
    result = run_search(model, evaluations=20)
    assert result.evaluations == 20 and len(result.mse_history) == 20
    assert all(later <= earlier for earlier, later in zip([result.initial.mse, *result.mse_history], result.mse_history))
    assert result.final.mse <= result.initial.mse
    signs = model.rnn.signs().detach()
    assert result.changed == int((signs != initial_signs).sum())
    # The reported final score is the score of the signs the model now holds.
    x, y = toy_sequences(160)
    again = ridge_readout_score(last_state_features(model, x[:100]), y[:100], last_state_features(model, x[100:]), y[100:], 2)
    assert again == result.final
    # Each kept proposal flipped `flips` signs and a rejected one was undone exactly.
    assert result.changed <= 2 * result.accepted and result.changed % 2 == 0


def test_the_search_changes_only_the_signs_and_w_stays_exactly_hadamard():
    model = classifier()
    before = {name: value.clone() for name, value in model.state_dict().items()}
    result = run_search(model, evaluations=30)
    assert result.accepted > 0, "the toy problem should admit at least one improving proposal"
    after = model.state_dict()
    latent_key = "rnn.parametrizations.weight_hh.original"
    for name, value in before.items():
        if name != latent_key:
            assert torch.equal(value, after[name]), name
    signs = model.rnn.signs().detach()
    assert set(signs.tolist()) <= {-1.0, 1.0}
    expected = torch.diag(signs) @ sylvester(16).to(signs.dtype) / 4
    assert torch.equal(model.rnn.weight_hh.detach(), expected)


def test_the_search_is_reproducible_and_zero_evaluations_change_nothing():
    first, second = classifier(), classifier()
    run_search(first, seed=5)
    run_search(second, seed=5)
    assert torch.equal(first.rnn.latent_signs, second.rnn.latent_signs)
    untouched = classifier()
    latent = untouched.rnn.latent_signs.detach().clone()
    result = run_search(untouched, evaluations=0)
    assert torch.equal(untouched.rnn.latent_signs, latent)
    assert result.accepted == result.changed == 0 and result.final == result.initial


def test_a_zero_latent_is_flipped_to_minus_one_and_back_to_plus_one():
    model = classifier()
    with torch.no_grad():
        model.rnn.latent_signs.zero_()
    assert torch.equal(model.rnn.signs(), torch.ones(16))
    run_search(model, evaluations=6)
    assert set(model.rnn.signs().detach().tolist()) <= {-1.0, 1.0}


def test_the_search_refuses_a_tagger_and_bad_flip_counts():
    torch.manual_seed(0)
    with pytest.raises(HadamRNNError, match="needs a many-to-one head with a HadamRNN cell .*got SequenceTagger"):
        run_search(SequenceTagger(2, 16, 2))
    with pytest.raises(HadamRNNError, match="flips must be in 1..hidden_size=16, got 17"):
        run_search(classifier(), flips=17)


# -- in the trainer -----------------------------------------------------------------------------------


def arrays_config(tmp_path, **train) -> dict:
    x, y = toy_sequences(300)
    np.savez(tmp_path / "toy.npz", x=x.numpy(), y=y.numpy())
    return {
        "name": "toy",
        "task": {"name": "arrays", "path": str(tmp_path / "toy.npz")},
        "model": {"hidden_size": 16},
        "train": {"epochs": 2, "batch_size": 32, "lr": 3e-3, "checkpoint_every": 4, "keep_checkpoints": 10, **train},
    }


def make_trainer(run_dir, data) -> Trainer:
    config = parse_config(data)
    torch.manual_seed(config.train.seed)
    task = build_task(config.task, config.train.seed)
    return Trainer(config, task, build_model(config.model, task), run_dir, progress=False)


SEARCH = {"sign_optimizer": "search", "search_evaluations": 10, "search_flips": 2, "search_fit_sequences": 100,
          "search_score_sequences": 60}


def test_the_trainer_searches_once_then_keeps_the_signs(tmp_path):
    data = arrays_config(tmp_path, **SEARCH)
    frozen = make_trainer(tmp_path / "frozen", arrays_config(tmp_path, sign_optimizer="frozen"))
    trainer = make_trainer(tmp_path / "search", data)
    initial = trainer.model.rnn.signs().detach().clone()
    assert torch.equal(initial, frozen.model.rnn.signs())  # same seed, same start
    trainer.fit()
    search = trainer.history["sign_search"]
    assert search["evaluations"] == 10
    assert search["changed"] == int((trainer.model.rnn.signs() != initial).sum())
    assert sum(trainer.history["sign_flips"]) == 0, "the signs stay frozen while the rest trains"
    metrics = trainer.final_metrics()
    assert metrics["sign_search"]["changed"] == search["changed"] and "mse_history" not in metrics["sign_search"]


def test_a_search_run_resumes_bit_identically_without_searching_again(tmp_path, monkeypatch):
    data = arrays_config(tmp_path, **SEARCH)
    straight = make_trainer(tmp_path / "a", data)
    straight.fit()
    make_trainer(tmp_path / "b", {**data, "train": {**data["train"], "epochs": 1}}).fit()
    resumed = make_trainer(tmp_path / "b", data)
    resumed.resume()
    monkeypatch.setattr("hadamrnn.training.search_signs", lambda *a, **k: pytest.fail("searched again on resume"))
    resumed.fit()
    for key, value in straight.model.state_dict().items():
        assert torch.equal(value, resumed.model.state_dict()[key]), key
    assert straight.history == resumed.history


def test_search_options_without_the_search_are_refused():
    with pytest.raises(ConfigError, match="train.search_flips applies only to sign_optimizer='search'"):
        parse_config({"train": {"sign_optimizer": "frozen", "search_flips": 3}})


def test_a_search_on_a_tagger_or_with_too_few_sequences_is_refused_before_training(tmp_path):
    copy = {"name": "tiny", "task": {"seq_len": 24, "copy_length": 3, "train_size": 96, "val_size": 32, "test_size": 32},
            "model": {"hidden_size": 16}, "train": {"sign_optimizer": "search"}}
    with pytest.raises(ConfigError, match="train.sign_optimizer='search': .*many-to-one head"):
        make_trainer(tmp_path / "copy", copy)
    too_many = arrays_config(tmp_path, **{**SEARCH, "search_fit_sequences": 5000})
    with pytest.raises(ConfigError, match=r"at most the \d+ training sequences, got 5000 \+ 60 = 5060"):
        make_trainer(tmp_path / "many", too_many)
