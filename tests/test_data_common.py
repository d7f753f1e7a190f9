"""Data-directory resolution, task dispatch, task configs and class-balanced sampling."""

from pathlib import Path

import numpy as np
import pytest

from hadamrnn.config import load_config, parse_config
from hadamrnn.errors import ConfigError, DataNotFoundError
from hadamrnn.tasks import CopyTask, build_task, resolve_data_dir
from hadamrnn.tasks.data import balanced_order

CONFIGS = sorted((Path(__file__).resolve().parent.parent / "configs").rglob("*.toml"))


def test_resolve_data_dir_prefers_the_explicit_path(tmp_path, monkeypatch):
    monkeypatch.setenv("HADAMRNN_DATA", "/nonexistent-env-dir")
    assert resolve_data_dir(tmp_path) == tmp_path


def test_resolve_data_dir_reads_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("HADAMRNN_DATA", str(tmp_path))
    assert resolve_data_dir(None) == tmp_path


def test_no_data_dir_names_both_ways_to_give_one(monkeypatch):
    monkeypatch.delenv("HADAMRNN_DATA", raising=False)
    with pytest.raises(DataNotFoundError, match="--data-dir.*HADAMRNN_DATA"):
        resolve_data_dir(None)


def test_missing_data_dir_is_named(tmp_path):
    missing = tmp_path / "nope"
    with pytest.raises(DataNotFoundError, match="nope.*does not exist") as error:
        resolve_data_dir(missing)
    assert isinstance(error.value, FileNotFoundError)


def test_build_task_copy_needs_no_data(monkeypatch):
    monkeypatch.delenv("HADAMRNN_DATA", raising=False)
    task = build_task(parse_config({"task": {"seq_len": 30, "copy_length": 3}}).task, seed=1)
    assert isinstance(task, CopyTask) and task.vocab_size is None


def test_build_task_unknown_name_lists_known_tasks():
    class Unknown:
        name = "cifar"

    with pytest.raises(ConfigError, match="unknown task 'cifar'; known tasks: copy, smnist, pmnist, imdb, sst2, qqp, har"):
        build_task(Unknown(), seed=0)


def test_unknown_task_name_in_a_config_lists_known_tasks():
    with pytest.raises(ConfigError, match="task.name: unknown task 'mnist'; known tasks: arrays, copy, har, idx_images, imdb, pmnist, qqp, smnist, sst2"):
        parse_config({"task": {"name": "mnist"}})


def test_unknown_task_key_lists_the_keys_of_the_chosen_task():
    with pytest.raises(ConfigError) as error:
        parse_config({"task": {"name": "imdb", "seq_len": 500}})
    message = str(error.value)
    assert "unknown key 'task.seq_len'" in message
    assert "max_tokens" in message and "vocab_size" in message and "copy_length" not in message


@pytest.mark.parametrize(
    "task,fragment",
    [
        ({"name": "sst2", "max_tokens": 0}, "task.max_tokens"),
        ({"name": "har", "source": "kaggle"}, "task.source"),
        ({"name": "pmnist", "train_limit": 0}, "task.train_limit"),
        ({"name": "imdb", "vocab_size": "big"}, "got 'big'"),
    ],
)
def test_task_schema_violations(task, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_config({"task": task})


def test_task_configs_are_typed():
    config = parse_config({"task": {"name": "qqp", "train_limit": 10}}).task
    assert (config.name, config.max_tokens, config.balanced, config.train_limit) == ("qqp", 128, True, 10)


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.name)
def test_every_shipped_config_parses(path):
    config = load_config(path)
    assert config.task.name in path.stem.replace("_paper", "")


def test_the_paper_configs_are_all_shipped():
    assert {path.stem for path in CONFIGS} >= {"smnist", "pmnist", "imdb", "sst2", "qqp", "har"}
    qqp = load_config(Path(CONFIGS[0]).parent / "qqp.toml")
    assert (qqp.model.hidden_size, qqp.model.block_size, qqp.train.batch_size, qqp.train.epochs) == (512, 128, 20, 50)


def test_balanced_order_alternates_classes_and_covers_the_minority():
    labels = np.array([0] * 9 + [1] * 3)
    order = balanced_order(labels, 2, 12, np.random.default_rng(0))
    assert order.shape == (12,)
    assert labels[order].tolist() == [0, 1] * 6
    assert sorted(order[1::2].tolist()) == [9, 9, 10, 10, 11, 11]  # the 3 minority samples, each twice
    assert len(set(order[0::2].tolist())) == 6  # majority drawn without replacement
