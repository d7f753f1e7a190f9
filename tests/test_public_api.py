"""What a user of the Python API meets first: help() of the heads, plain modules after
remove_parametrizations, the path each layer takes and the devices it runs on."""

from __future__ import annotations

import inspect
import pydoc

import pytest
import torch
from torch.nn.utils import parametrize

import hadamrnn
from hadamrnn import native
from hadamrnn.devices import resolve_device
from hadamrnn.errors import HadamRNNError
from hadamrnn.training import Trainer, evaluate_model

HEAD_OPTIONS = (
    "input_size", "hidden_size", "num_classes", "vocab_size", "embedding_dim", "embedding_dropout",
    "embedding_init_std",
    "block_size", "recurrence", "input_bits", "output_bits", "backend", "sign_clip", "sign_seed",
)
CUDA = torch.cuda.is_available()


@pytest.mark.parametrize("head", [hadamrnn.SequenceClassifier, hadamrnn.SequenceTagger])
def test_help_lists_and_explains_every_option_of_the_heads(head):
    options = tuple(inspect.signature(head).parameters)
    assert options == HEAD_OPTIONS
    page = pydoc.render_doc(head, renderer=pydoc.plaintext)
    # The class docstring itself (the top of help(), and the API page) explains each option.
    docstring = inspect.getdoc(head)
    for option in options:
        assert f"{option}=" in page or f"{option}:" in page, option
        assert f"    {option}: " in docstring, option


def test_help_of_the_layer_explains_every_option():
    docstring = inspect.getdoc(hadamrnn.HadamRNN)
    for option in inspect.signature(hadamrnn.HadamRNN).parameters:
        assert f"    {option}: " in docstring, option


@pytest.mark.parametrize("block_size", [None, 4])
def test_remove_parametrizations_leaves_a_plain_layer_that_runs_with_its_dense_w(block_size):
    layer = hadamrnn.HadamRNN(3, 8, block_size=block_size)
    x = torch.randn(2, 5, 3)
    expected, expected_h = layer(x)
    weight = layer.weight_hh.detach().clone()
    parametrize.remove_parametrizations(layer, "weight_hh")
    assert not layer.is_parametrized and isinstance(layer.weight_hh, torch.nn.Parameter)
    assert torch.equal(layer.weight_hh.detach(), weight)
    outputs, h_n = layer(x)
    assert torch.allclose(outputs, expected, atol=1e-5) and torch.allclose(h_n, expected_h, atol=1e-5)
    assert layer.execution_path() == "dense" and "path=dense" in repr(layer)
    with pytest.raises(HadamRNNError, match="HadamRNN.latent_signs needs the Hadamard parametrization of weight_hh, which was removed"):
        layer.latent_signs


def test_remove_parametrizations_on_a_head_keeps_its_outputs():
    model = hadamrnn.SequenceTagger(3, 8, 2, block_size=2).eval()
    x = torch.randn(2, 5, 3)
    expected = model(x)
    parametrize.remove_parametrizations(model.rnn, "weight_hh")
    assert torch.allclose(model(x), expected, atol=1e-5)


def test_the_layer_says_which_path_it_takes():
    layer = hadamrnn.HadamRNN(3, 8)
    cpu_float32 = "native" if native.is_available() else "reference"
    assert layer.execution_path() == cpu_float32 and f"path={cpu_float32}" in repr(layer)
    assert layer.execution_path(dtype=torch.float64) == "reference"  # auto runs the kernels on float32 only
    assert hadamrnn.HadamRNN(3, 8, backend="dense").execution_path() == "dense"
    assert hadamrnn.HadamRNN(3, 8, backend="reference").execution_path() == "reference"


# -- devices ---------------------------------------------------------------------------------------


def test_device_names_are_checked_against_this_machine():
    assert resolve_device(None) == torch.device("cpu") == resolve_device("cpu")
    assert resolve_device("auto") == torch.device("cuda:0" if CUDA else "cpu")
    with pytest.raises(HadamRNNError, match=r"device must be one of auto, cpu, cuda or cuda:N, got 'tpu'"):
        resolve_device("tpu")
    if not CUDA:
        with pytest.raises(HadamRNNError, match=r"device 'cuda' was requested, but CUDA is not available here"):
            resolve_device("cuda")


def test_cli_refuses_a_device_this_machine_lacks(capsys):
    if CUDA:
        pytest.skip("this machine has CUDA")
    from hadamrnn.cli import main

    assert main(["train", "copy", "--device", "cuda:1", "--set", "train.epochs=1"]) == 2
    assert "CUDA is not available here" in capsys.readouterr().err


def test_trainer_and_evaluation_on_the_cpu_device(tmp_path):
    config = hadamrnn.parse_config(
        {"task": {"seq_len": 12, "copy_length": 2, "train_size": 32, "val_size": 8, "test_size": 8},
         "model": {"hidden_size": 8}, "train": {"epochs": 1, "batch_size": 16}}
    )
    from hadamrnn.workflows import build_run

    trainer = build_run(config, tmp_path / "run", progress=False, device="cpu")
    assert trainer.device == torch.device("cpu")
    result = trainer.fit()
    assert result.metrics["steps"] == 2


@pytest.mark.skipif(not CUDA, reason="no CUDA device: the GPU path is tested where one exists")
def test_cuda_runs_the_reference_path_with_the_cpu_results(tmp_path):
    layer = hadamrnn.HadamRNN(3, 16, block_size=4)
    x = torch.randn(4, 7, 3)
    expected, _ = layer(x)
    gpu = layer.to("cuda")
    assert gpu.execution_path() == "reference" and "path=reference" in repr(gpu)
    outputs, _ = gpu(x.cuda())
    assert torch.allclose(outputs.cpu(), expected, atol=1e-4)
    with pytest.raises(HadamRNNError, match="runs on CPU tensors only"):
        hadamrnn.HadamRNN(3, 16, backend="native").cuda()(x.cuda())

    config = hadamrnn.parse_config(
        {"task": {"seq_len": 12, "copy_length": 2, "train_size": 32, "val_size": 8, "test_size": 8},
         "model": {"hidden_size": 8}, "train": {"epochs": 1, "batch_size": 16}}
    )
    from hadamrnn.workflows import build_run

    trainer = build_run(config, tmp_path / "run", progress=False, device="cuda")
    assert next(trainer.model.parameters()).is_cuda
    metrics = trainer.fit().metrics
    assert metrics["steps"] == 2
    assert evaluate_model(trainer.model, trainer.task, "test", 8)["loss"] == pytest.approx(metrics["test"]["loss"])
    assert isinstance(trainer, Trainer)
