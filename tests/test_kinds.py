"""The registry of model kinds, and the config schema and heads that read it."""

import inspect
import pydoc
import re
import subprocess
import sys
import typing

import pytest
import torch

from hadamrnn import ConfigError, SequenceClassifier, SequenceTagger, build_model, parse_config
from hadamrnn.baselines import BaselineClassifier, BaselineTagger
from hadamrnn.config import ModelConfig
from hadamrnn.heads import SequenceHead
from hadamrnn.kinds import (
    BASELINE_KINDS,
    KIND_OPTIONS,
    KINDS,
    MODEL_KINDS,
    check_kind_options,
    kind_label,
    model_kind,
    recurrent_weight_bits,
)
from hadamrnn.layers import HadamRNN

# A value of each kind-specific option that is not its neutral one.
SET = {"block_size": 4, "sign_clip": 1.0, "backend": "dense", "recurrence": "relu", "input_bits": 4, "recurrent_bits": 4}


def test_the_registry_imports_without_torch():
    code = "import sys, hadamrnn.kinds; assert 'torch' not in sys.modules and 'pydantic' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_schema_lists_the_kinds_of_the_registry():
    assert typing.get_args(ModelConfig.model_fields["kind"].annotation) == MODEL_KINDS
    assert set(KIND_OPTIONS) <= set(ModelConfig.model_fields)
    assert BASELINE_KINDS == ("ornn", "qornn", "lstm", "gru")
    for name in MODEL_KINDS:
        assert name in ModelConfig.model_fields["kind"].description


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_the_schema_refuses_every_option_the_kind_does_not_take(kind):
    spec = KINDS[kind]
    required = {option: SET[option] for option in spec.required}
    for option, value in SET.items():
        data = {"kind": kind, "hidden_size": 16, **required, option: value}
        if spec.takes(option):
            assert getattr(parse_config({"model": data}).model, option) == value
        else:
            with pytest.raises(ConfigError, match=re.escape(f"model.{option}={value!r} applies only to kind")):
                parse_config({"model": data})


@pytest.mark.parametrize("kind", BASELINE_KINDS)
def test_a_baseline_head_refuses_what_its_config_refuses(kind):
    spec = KINDS[kind]
    required = {option: SET[option] for option in spec.required}
    for option in ("recurrence", "input_bits", "recurrent_bits"):
        if not spec.takes(option):
            with pytest.raises(ConfigError, match=re.escape(f"{option}={SET[option]!r} applies only to kind")):
                BaselineTagger(kind, 3, 8, 2, **{**required, option: SET[option]})
    for option in spec.required:
        with pytest.raises(ConfigError, match=f"{option} is required with kind={kind!r}"):
            BaselineTagger(kind, 3, 8, 2)


def test_unknown_kinds_are_refused():
    with pytest.raises(ConfigError, match=re.escape("kind must be one of ('ornn', 'qornn', 'lstm', 'gru'), got 'hadamrnn'")):
        BaselineClassifier("hadamrnn", 3, 8, 2)
    with pytest.raises(ConfigError, match="got 'rnn'"):
        model_kind("rnn")
    with pytest.raises(ConfigError, match="model.kind"):
        parse_config({"model": {"kind": "rnn"}})
    with pytest.raises(ConfigError, match=re.escape("model.kind: Input should be 'hadamrnn'")):
        parse_config({"model": {"kind": ["hadamrnn"]}})


def test_check_kind_options_names_the_key_value_and_kinds():
    with pytest.raises(ConfigError) as error:
        check_kind_options("gru", {"recurrence": "relu"}, "model.")
    assert str(error.value) == (
        "model.recurrence='relu' applies only to kind 'hadamrnn', 'ornn' or 'qornn', got kind='gru' "
        "(one float GRU layer, with its own gates); omit it or set it to 'linear'"
    )
    check_kind_options("gru", {"recurrence": "linear", "input_bits": None})


class TestSizes:
    @pytest.mark.parametrize("hidden_size", [100, 3, 1000])
    def test_hadamrnn_needs_a_supported_hadamard_order(self, hidden_size):
        with pytest.raises(ConfigError, match=re.escape("model.hidden_size: hidden_size must be a supported Hadamard order")) as error:
            parse_config({"model": {"hidden_size": hidden_size}})
        assert f"got {hidden_size}" in str(error.value)

    @pytest.mark.parametrize("kind", BASELINE_KINDS)
    def test_baselines_take_any_positive_size(self, kind):
        data = {"kind": kind, "hidden_size": 96, **({"recurrent_bits": 4} if kind == "qornn" else {})}
        assert parse_config({"model": data}).model.hidden_size == 96
        with pytest.raises(ConfigError, match="model.hidden_size"):
            parse_config({"model": {**data, "hidden_size": 0}})

    @pytest.mark.parametrize("block_size", [3, 6, 256])
    def test_block_size_is_a_supported_order_dividing_hidden_size(self, block_size):
        with pytest.raises(ConfigError) as error:
            parse_config({"model": {"hidden_size": 128, "block_size": block_size}})
        message = str(error.value)
        assert "model.block_size: block_size must be a supported Hadamard order dividing hidden_size=128" in message
        assert f"got {block_size}" in message

    @pytest.mark.parametrize("block_size", [1, 8, 128, None])
    def test_valid_block_sizes(self, block_size):
        assert parse_config({"model": {"hidden_size": 128, "block_size": block_size}}).model.block_size == block_size

    @pytest.mark.parametrize(("hidden_size", "block_size"), [(96, None), (384, 24), (96, 32)])
    def test_sizes_beyond_powers_of_two(self, hidden_size, block_size):
        model = parse_config({"model": {"hidden_size": hidden_size, "block_size": block_size}}).model
        assert (model.hidden_size, model.block_size) == (hidden_size, block_size)

    def test_overrides_are_checked_too(self):
        from hadamrnn.config import apply_overrides

        config = parse_config({"model": {"hidden_size": 64, "block_size": 64}})
        with pytest.raises(ConfigError, match="dividing hidden_size=32"):
            apply_overrides(config, ["model.hidden_size=32"])


def test_labels_and_recurrent_bits_for_the_results_page():
    assert [KINDS[name].label for name in MODEL_KINDS] == ["HadamRNN", "ORNN", "QORNN", "LSTM", "GRU"]
    assert kind_label("hadamrnn", 128) == kind_label("hadamrnn", 128, 128) == "HadamRNN"
    assert kind_label("hadamrnn", 128, 16) == "Block-HadamRNN"
    assert kind_label("lstm", 128) == "LSTM"
    assert kind_label("something-else", 8) == "something-else"
    assert recurrent_weight_bits("hadamrnn", {}) == 1
    assert recurrent_weight_bits("qornn", {"recurrent_bits": 6}) == 6
    assert recurrent_weight_bits("ornn", {"recurrent_bits": None}) is None
    assert recurrent_weight_bits("gru", {}) is None


# --- the heads ---------------------------------------------------------------------------------


COMMON = {"input_size", "hidden_size", "num_classes", "vocab_size", "embedding_dim", "embedding_dropout", "output_bits"}


@pytest.mark.parametrize(
    "head,kinds",
    [(SequenceClassifier, ("hadamrnn",)), (SequenceTagger, ("hadamrnn",)), (BaselineClassifier, BASELINE_KINDS), (BaselineTagger, BASELINE_KINDS)],
)
def test_help_lists_every_option_by_name(head, kinds):
    parameters = inspect.signature(head).parameters
    assert not any(p.kind is p.VAR_KEYWORD for p in parameters.values())
    options = COMMON | {option for kind in kinds for option in KINDS[kind].options}
    assert options <= set(parameters)
    text = pydoc.render_doc(head, renderer=pydoc.plaintext)
    for option in options:
        assert re.search(rf"^[ |]+{option}: ", text, re.MULTILINE), f"help({head.__name__}) does not describe {option}"


class CellWithoutFusedPaths(torch.nn.Module):
    """HadamRNN behind plain ``forward`` only: the head has to use its own read-out."""

    def __init__(self, input_size: int, hidden_size: int):
        super().__init__()
        self.inner = HadamRNN(input_size, hidden_size, backend="reference")

    def forward(self, x):
        return self.inner(x)


def plain_head(many_to_many: bool) -> type[SequenceHead]:
    return type("PlainHead", (SequenceHead,), {"many_to_many": many_to_many})


@pytest.mark.parametrize("many_to_many,fused_head", [(False, SequenceClassifier), (True, SequenceTagger)])
def test_the_fused_paths_compute_what_the_plain_read_out_does(many_to_many, fused_head):
    torch.manual_seed(0)
    fused = fused_head(3, 16, 5, backend="reference", output_bits=3)
    plain = plain_head(many_to_many)(lambda d: CellWithoutFusedPaths(d, 16), 3, 16, 5, output_bits=3)
    plain.rnn.inner.load_state_dict(fused.rnn.state_dict())
    plain.readout.load_state_dict(fused.readout.state_dict())
    assert hasattr(fused.rnn, "last_state") and not hasattr(plain.rnn, "last_state")
    x = torch.randn(2, 7, 3)
    torch.testing.assert_close(fused(x), plain(x))
    assert fused(x).shape == ((2, 7, 5) if many_to_many else (2, 5))


@pytest.mark.parametrize("kind", MODEL_KINDS)
def test_every_kind_has_the_same_head_modules(kind):
    extra = {"recurrent_bits": 4} if kind == "qornn" else {}
    config = parse_config({"model": {"kind": kind, "hidden_size": 16, "embedding_dim": 4, **extra}}).model

    class TokenTask:
        name, input_size, output_size, many_to_many, vocab_size = "tokens", 4, 2, False, 30

    model = build_model(config, TokenTask())
    assert isinstance(model, SequenceHead)
    assert [name for name, _ in model.named_children()] == ["embedding", "embedding_dropout", "rnn", "readout"]
