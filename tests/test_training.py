"""The trainer, checkpoints and exact resumption."""

import json
import os
import shlex
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import load_file

from hadamrnn import CheckpointError, ConfigError, build_model, build_task, parse_config
from hadamrnn.training import Trainer, evaluate_model

TINY = {
    "name": "tiny",
    "task": {"seq_len": 24, "copy_length": 3, "train_size": 96, "val_size": 32, "test_size": 32},
    "model": {"hidden_size": 16, "block_size": 4},
    "train": {"epochs": 2, "batch_size": 16, "eval_batch_size": 32, "lr": 0.01, "checkpoint_every": 2, "keep_checkpoints": 10},
}


def make_trainer(run_dir, data=TINY):
    config = parse_config(data)
    torch.manual_seed(config.train.seed)
    task = build_task(config.task, config.train.seed)
    model = build_model(config.model, task)
    return Trainer(config, task, model, run_dir, progress=False)


def assert_same_weights(model, other):
    state, other_state = model.state_dict(), other.state_dict()
    assert state.keys() == other_state.keys()
    for key, value in state.items():
        assert torch.equal(value, other_state[key]), key


def test_fit_records_history_and_metrics(tmp_path):
    trainer = make_trainer(tmp_path)
    result = trainer.fit()
    assert trainer.step == 2 * 6 == len(result.history["train_loss"])
    assert len(result.history["validation"]) == 2
    assert set(result.metrics["test"]) == {"loss", "symbol_accuracy", "sequence_accuracy"}
    assert result.history["lr"][0] == 0.01 and result.history["lr"][-1] == pytest.approx(0.01 * 0.98)
    assert result.metrics["total_sign_flips"] == sum(result.history["sign_flips"])


def test_training_reduces_loss(tmp_path):
    data = {**TINY, "train": {**TINY["train"], "epochs": 6}}
    trainer = make_trainer(tmp_path, data)
    before = trainer.evaluate("val")["loss"]
    trainer.fit()
    assert trainer.evaluate("val")["loss"] < 0.7 * before


def test_evaluation_weights_each_batch_by_its_size_and_restores_the_mode(tmp_path):
    """One evaluation for the trainer, the evaluate command and the export: the batch-size-weighted
    mean of ``task.metrics``, in eval mode, leaving the model in the mode it was in."""
    trainer = make_trainer(tmp_path)
    task, model = trainer.task, trainer.model
    batch_size = 12  # 32 validation sequences: batches of 12, 12 and 8
    expected_total, count = 0.0, 0
    model.eval()
    with torch.no_grad():
        for batch in task.batches("val", batch_size):
            expected_total += task.metrics(model(batch.inputs), batch.targets)["loss"] * batch.targets.shape[0]
            count += batch.targets.shape[0]
    assert count == 32
    model.train()
    metrics = evaluate_model(model, task, "val", batch_size)
    assert metrics["loss"] == pytest.approx(expected_total / count, rel=1e-6)
    assert model.training  # put back in training mode
    model.eval()
    assert evaluate_model(model, task, "val", batch_size) == metrics and not model.training
    # Any function of the inputs evaluates, a plain function included (the export's integer simulation).
    assert evaluate_model(lambda inputs: model(inputs), task, "val", batch_size) == metrics
    # The trainer evaluates through the same function, with the run's eval_batch_size.
    assert trainer.evaluate("val") == evaluate_model(model, task, "val", trainer.config.train.eval_batch_size)


def test_resume_is_bit_identical_in_process(tmp_path):
    straight = make_trainer(tmp_path / "a")
    straight.fit()

    interrupted = make_trainer(tmp_path / "b")
    # Train the first 5 steps only, by stopping after the checkpoint at step 4 is written.
    original_save = interrupted.save

    class Stop(Exception):
        pass

    def save_then_stop():
        path = original_save()
        if interrupted.step == 4:
            raise Stop
        return path

    interrupted.save = save_then_stop
    with pytest.raises(Stop):
        interrupted.fit()

    resumed = make_trainer(tmp_path / "b")
    resumed.resume()
    assert resumed.step == 4
    resumed.fit()
    assert_same_weights(straight.model, resumed.model)
    assert straight.history["train_loss"] == resumed.history["train_loss"]


def test_resume_may_lengthen_a_finished_run_exactly(tmp_path):
    straight = make_trainer(tmp_path / "a")
    straight.fit()
    make_trainer(tmp_path / "b", {**TINY, "train": {**TINY["train"], "epochs": 1}}).fit()
    lengthened = make_trainer(tmp_path / "b")
    lengthened.resume()
    assert lengthened.epochs_completed == 1
    lengthened.fit()
    assert_same_weights(straight.model, lengthened.model)
    assert straight.history == lengthened.history


def test_resume_with_fewer_epochs_than_completed_is_refused(tmp_path):
    make_trainer(tmp_path).fit()
    with pytest.raises(ConfigError, match="train.epochs=1: expected at least the 2 epochs it has completed"):
        make_trainer(tmp_path, {**TINY, "train": {**TINY["train"], "epochs": 1}}).resume()


def test_resume_with_different_config_is_refused(tmp_path):
    make_trainer(tmp_path).fit()
    changed = {**TINY, "train": {**TINY["train"], "lr": 0.02}}
    with pytest.raises(ConfigError, match="train.lr: checkpoint has 0.01, config has 0.02"):
        make_trainer(tmp_path, changed).resume()


def test_resume_with_mismatched_model_is_refused(tmp_path):
    make_trainer(tmp_path).fit()
    trainer = make_trainer(tmp_path)
    trainer.model = build_model(parse_config({**TINY, "model": {"hidden_size": 32}}).model, trainer.task)
    with pytest.raises(CheckpointError, match="does not match the model"):
        trainer.resume()


CLI = [sys.executable, "-m", "hadamrnn"]


def test_kill_and_resume_gives_identical_weights(tmp_path):
    """SIGKILL a real `hadamrnn train` process after its first checkpoint, then `--resume` it."""
    config = tmp_path / "tiny.toml"
    config.write_text(
        'name = "tiny"\n[task]\nseq_len = 40\ncopy_length = 3\ntrain_size = 320\nval_size = 32\ntest_size = 32\n'
        "[model]\nhidden_size = 16\n[train]\nepochs = 2\nbatch_size = 16\nlr = 0.01\ncheckpoint_every = 3\nkeep_checkpoints = 50\n"
    )
    command = [*CLI, "train", "--config", str(config), "--no-progress"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    subprocess.run([*command, "--out", str(tmp_path / "straight")], check=True, env=env, capture_output=True)

    victim = tmp_path / "victim"
    process = subprocess.Popen([*command, "--out", str(victim)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not list(victim.glob("checkpoints/step_*/manifest.json")) and time.time() < deadline:
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert list(victim.glob("checkpoints/step_*")), "no checkpoint was written before the kill"
    assert not (victim / "metrics.json").exists(), "the run finished before it could be killed"

    subprocess.run([*CLI, "train", "--resume", str(victim), "--no-progress"], check=True, env=env, capture_output=True)
    final = lambda run: load_file(str(sorted((run / "checkpoints").glob("step_*"))[-1] / "model.safetensors"))
    a, b = final(tmp_path / "straight"), final(victim)
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key
    metrics = json.loads((victim / "metrics.json").read_text())
    assert metrics["steps"] == 40
    # The run is reported with the command that started it, and the resume is recorded beside it.
    started = shlex.join([*command[len(CLI) :], "--out", str(victim)])
    assert metrics["command"] == f"python -m hadamrnn {started}"
    resumed = shlex.join(["train", "--resume", str(victim), "--no-progress"])
    assert [resume["command"] for resume in metrics["resumes"]] == [f"python -m hadamrnn {resumed}"]
    assert metrics["resumes"][0]["commit"] == metrics["commit"]
    assert json.loads((tmp_path / "straight" / "metrics.json").read_text())["resumes"] == []


SIGN_RECIPES = {
    "bop": {"sign_optimizer": "bop", "bop_gamma": 0.5, "bop_threshold": 1e-4, "bop_threshold_decay": 2.0, "max_flips": 3},
    "radial_free": {"sign_lr": 0.05, "sign_gradient": "radial_free"},
    "frozen": {"sign_optimizer": "frozen"},
}


def _with_train(**options):
    return {**TINY, "train": {**TINY["train"], **options}}


@pytest.mark.parametrize("recipe", sorted(SIGN_RECIPES))
def test_sign_recipes_resume_bit_identically(tmp_path, recipe):
    data = _with_train(**SIGN_RECIPES[recipe])
    straight = make_trainer(tmp_path / "a", data)
    straight.fit()
    make_trainer(tmp_path / "b", _with_train(**SIGN_RECIPES[recipe], epochs=1)).fit()
    lengthened = make_trainer(tmp_path / "b", data)
    lengthened.resume()
    lengthened.fit()
    assert_same_weights(straight.model, lengthened.model)
    assert straight.history == lengthened.history
    assert [entry["epoch"] for entry in straight.history["sign_statistics"]] == [1, 2]


def test_frozen_signs_never_change_and_the_rest_learns(tmp_path):
    trainer = make_trainer(tmp_path, _with_train(sign_optimizer="frozen"))
    initial = trainer.model.rnn.signs().detach().clone()
    weights = trainer.model.readout.weight.detach().clone()
    trainer.fit()
    assert torch.equal(trainer.model.rnn.signs(), initial)
    assert not torch.equal(trainer.model.readout.weight, weights)
    assert sum(trainer.history["sign_flips"]) == 0
    assert all(entry["flips"] == 0 for entry in trainer.history["sign_statistics"])


def test_bop_flips_within_its_budget_and_keeps_w_hadamard(tmp_path):
    trainer = make_trainer(tmp_path, _with_train(sign_optimizer="bop", bop_gamma=1.0, bop_threshold=0.0, max_flips=1))
    trainer.fit()
    assert 0 < sum(trainer.history["sign_flips"]) and max(trainer.history["sign_flips"]) == 1
    latent = trainer.model.rnn.latent_signs.detach()
    assert set(latent.tolist()) <= {-1.0, 1.0}
    assert torch.equal(trainer.model.rnn.signs(), latent)


def test_bop_threshold_decays_once_per_epoch(tmp_path):
    trainer = make_trainer(tmp_path, _with_train(sign_optimizer="bop", bop_threshold=1e-3, bop_threshold_decay=10.0))
    trainer.fit()
    assert trainer.sign_optimizer.param_groups[0]["threshold"] == pytest.approx(1e-3 * 10.0**2, rel=1e-12)


def test_radial_free_removes_the_radial_part_before_the_step(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path, _with_train(sign_gradient="radial_free", sign_lr=0.01))
    seen = []
    step = trainer.optimizer.step

    def recording_step(*args, **kwargs):
        latent = trainer.model.rnn.latent_signs
        u = torch.where(latent.detach() >= 0, 1.0, -1.0)
        seen.append(abs(float(latent.grad @ u)) / float(latent.grad.norm()))
        return step(*args, **kwargs)

    monkeypatch.setattr(trainer.optimizer, "step", recording_step)
    trainer.fit()
    assert seen and max(seen) < 1e-5
    assert all(entry["radial"] > 0 for entry in trainer.history["sign_statistics"])


@pytest.mark.parametrize(
    "options, message",
    [({"sign_optimizer": "bop", "sign_lr": 0.1}, "sign_lr applies only to sign_optimizer='adam'"),
     ({"max_flips": 2}, "max_flips applies only to sign_optimizer='bop'"),
     ({"sign_optimizer": "sgd"}, "sign_optimizer")],
)
def test_sign_options_that_do_not_apply_are_refused(options, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(_with_train(**options))


def test_keep_best_keeps_the_best_validation_epoch_and_reports_its_test(tmp_path):
    from hadamrnn.training import BEST_DIR, evaluate_model, monitored_metric
    from hadamrnn.workflows import load_trained_model

    data = _with_train(keep_best=True, epochs=3)
    trainer = make_trainer(tmp_path, data)
    result = trainer.fit()
    losses = [row["loss"] for row in trainer.history["validation"]]  # the copy task reports no "accuracy"
    best_epoch = 1 + min(range(len(losses)), key=losses.__getitem__)
    assert trainer.history["best"]["epoch"] == best_epoch == result.metrics["best"]["epoch"]
    assert result.metrics["best"]["validation"]["loss"] == min(losses)
    # the kept weights are the best epoch's: re-evaluating them gives the recorded test metrics
    kept = load_trained_model(tmp_path / BEST_DIR)
    assert int(kept.checkpoint.meta["step"]) == trainer.history["best"]["step"]
    retested = evaluate_model(kept.model, trainer.task, "test", trainer.config.train.eval_batch_size)
    assert retested == result.metrics["best"]["test"]
    # and the trainer's own model is still the last epoch's
    assert result.metrics["test"] == trainer.evaluate("test")
    assert monitored_metric({"loss": 0.5, "accuracy": 0.9}) == ("accuracy", 0.9)
    assert monitored_metric({"loss": 0.5}) == ("loss", -0.5)


def test_without_keep_best_nothing_is_kept(tmp_path):
    trainer = make_trainer(tmp_path)
    result = trainer.fit()
    assert "best" not in result.metrics and "best" not in trainer.history
    assert not (tmp_path / "best").exists()


def test_the_training_step_uses_the_fused_loss_of_the_task(tmp_path, monkeypatch):
    """A task with a loss over every step (the copy task) trains through ``model.loss``, which the
    native tagger fuses into its kernel; its value is the task's loss of the logits, the same
    number up to float32 rounding, and the task's own ``loss`` is not called."""
    trainer = make_trainer(tmp_path)
    assert trainer._fuses_loss()
    batch = trainer.task.batch("train", 0, 16)
    with torch.no_grad():
        expected = float(trainer.task.loss(trainer.model(batch.inputs), batch.targets))
    calls = []
    model_loss = trainer.model.loss
    monkeypatch.setattr(trainer.model, "loss", lambda *args: calls.append(args[2]) or model_loss(*args))
    monkeypatch.setattr(trainer.task, "loss", lambda *args: pytest.fail("task.loss called by the training step"))
    loss, _ = trainer._train_step(batch)
    assert calls == [trainer.task.step_loss]
    assert loss == pytest.approx(expected, rel=1e-5)


def test_a_task_without_a_step_loss_trains_on_its_loss(tmp_path, monkeypatch):
    trainer = make_trainer(tmp_path)
    calls = []
    step_loss = trainer.task.step_loss
    monkeypatch.setattr(trainer.task, "loss", lambda outputs, targets: calls.append(1) or step_loss(outputs, targets))
    monkeypatch.setattr(trainer.task, "step_loss", None)
    assert not trainer._fuses_loss()
    monkeypatch.setattr(trainer.model, "loss", lambda *args: pytest.fail("model.loss called without a step loss"))
    trainer._train_step(trainer.task.batch("train", 0, 16))
    assert calls == [1]
