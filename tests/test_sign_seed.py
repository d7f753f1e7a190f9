"""``model.sign_seed``: the initial signs of W from a generator of their own, every other weight
and the data order those of the training seed."""

import math

import pytest
import torch

from hadamrnn import ConfigError, build_model, build_task, parse_config
from hadamrnn.models import SequenceClassifier, SequenceTagger

TINY = {"name": "copy", "seq_len": 10, "copy_length": 2, "train_size": 32, "val_size": 8, "test_size": 8}


def build(**model):
    config = parse_config({"task": TINY, "model": {"hidden_size": 32, **model}})
    torch.manual_seed(3)
    return build_model(config.model, build_task(config.task, 0))


def test_default_draw_is_unchanged_by_the_option_existing():
    torch.manual_seed(3)
    direct = SequenceTagger(10, 32, 9)
    assert torch.equal(build().rnn.latent_signs, direct.rnn.latent_signs)


def test_sign_seed_changes_the_signs_only():
    plain, seeded = build(), build(sign_seed=5)
    assert not torch.equal(plain.rnn.signs(), seeded.rnn.signs())
    for (name, a), (_, b) in zip(plain.state_dict().items(), seeded.state_dict().items()):
        if "weight_hh" not in name:
            assert torch.equal(a, b), name


def test_sign_seed_draws_xavier_uniform_from_its_own_generator():
    seeded = build(sign_seed=5)
    expected = torch.empty(1, 32)
    bound = math.sqrt(6.0 / (1 + 32))  # Xavier-uniform of a (1, n) view: fan_in 32, fan_out 1
    expected.uniform_(-bound, bound, generator=torch.Generator().manual_seed(5))
    assert torch.equal(seeded.rnn.latent_signs.detach(), expected.view(-1))
    # The same sign seed gives the same signs whatever the global seed.
    torch.manual_seed(99)
    other = SequenceClassifier(1, 32, 10, sign_seed=5)
    assert torch.equal(other.rnn.signs(), seeded.rnn.signs())


def test_sign_seed_is_for_hadamrnn_only_and_checked():
    with pytest.raises(ConfigError, match="sign_seed"):
        parse_config({"task": TINY, "model": {"kind": "gru", "sign_seed": 1}})
    with pytest.raises(ConfigError, match="model.sign_seed"):
        parse_config({"task": TINY, "model": {"sign_seed": -1}})
