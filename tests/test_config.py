import pytest

from hadamrnn import ConfigError, RunConfig, load_config, parse_config
from hadamrnn.config import apply_overrides


def test_defaults_are_the_paper_copy_recipe():
    config = RunConfig()
    assert (config.task.seq_len, config.task.copy_length, config.task.train_size) == (1000, 10, 512_000)
    assert (config.model.hidden_size, config.model.input_bits, config.model.output_bits) == (128, 4, 4)
    assert (config.train.batch_size, config.train.lr, config.train.gamma, config.train.seed) == (128, 1e-4, 0.98, 712)


def test_load_toml(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text('name = "x"\n[task]\nseq_len = 50\n[model]\nhidden_size = 32\nblock_size = 8\n[train]\nepochs = 3\n')
    config = load_config(path)
    assert (config.name, config.task.seq_len, config.model.block_size, config.train.epochs) == ("x", 50, 8, 3)


def test_unknown_key_lists_valid_keys():
    with pytest.raises(ConfigError) as error:
        parse_config({"model": {"hiden_size": 64}})
    message = str(error.value)
    assert "unknown key 'model.hiden_size'" in message
    assert "hidden_size" in message and "recurrence" in message and "block_size" in message


def test_unknown_section():
    with pytest.raises(ConfigError, match="unknown key 'trian'.*valid keys here are: model, name, task, train"):
        parse_config({"trian": {}})


@pytest.mark.parametrize(
    "data,fragment",
    [
        ({"model": {"recurrence": "tanh"}}, "model.recurrence"),
        ({"model": {"input_bits": 17}}, "model.input_bits"),
        ({"train": {"lr": -1.0}}, "train.lr"),
        ({"train": {"epochs": "many"}}, "got 'many'"),
        ({"task": {"name": "mnist"}}, "task.name"),
    ],
)
def test_schema_violations(data, fragment):
    with pytest.raises(ConfigError, match=fragment):
        parse_config(data)


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found.*nope.toml"):
        load_config(tmp_path / "nope.toml")


def test_invalid_toml(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[model\nhidden_size = 3")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_overrides():
    config = apply_overrides(RunConfig(), ["train.epochs=3", "model.recurrence=relu", "name=demo", "train.lr=1e-3"])
    assert (config.train.epochs, config.model.recurrence, config.name, config.train.lr) == (3, "relu", "demo", 1e-3)
    with pytest.raises(ConfigError, match="section.key=value"):
        apply_overrides(RunConfig(), ["train.epochs"])
    with pytest.raises(ConfigError, match="unknown key 'train.epoch'"):
        apply_overrides(RunConfig(), ["train.epoch=3"])
