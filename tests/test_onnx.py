"""Exporting a trained head: ``hadamrnn export RUN --format onnx`` runs in onnxruntime with
PyTorch's logits, ``torch.jit.trace`` records the pure-torch path, ``torch.jit.script`` says what
to use instead."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

import hadamrnn
from hadamrnn.cli import main
from hadamrnn.errors import HadamRNNError
from hadamrnn.export.onnx_graph import export_onnx, run_onnx
from hadamrnn.workflows import load_trained_model

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

TOLERANCE = 1e-4  # float32, a few dozen steps: observed differences are ~1e-6


def small_copy_run(tmp_path, name, block_size=None):
    """A tagger: the copy task, shrunk to seconds."""
    run = tmp_path / name
    overrides = ["task.seq_len=14", "task.copy_length=3", "task.train_size=64", "task.val_size=16", "task.test_size=32",
                 "model.hidden_size=16", "train.epochs=1", "train.batch_size=32"]
    if block_size:
        overrides.append(f"model.block_size={block_size}")
    assert main(["train", "copy", "--out", str(run), "--no-progress", *[f"--set={item}" for item in overrides]]) == 0
    return run


def small_arrays_run(tmp_path, name, block_size=None):
    """A classifier: the arrays task on a .npz file."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(96, 9, 2)).astype(np.float32)
    y = (x.sum(axis=(1, 2)) > 0).astype(np.int64)
    np.savez(tmp_path / f"{name}.npz", x=x, y=y)
    run = tmp_path / name
    overrides = ["model.hidden_size=16", "train.epochs=1", "train.batch_size=32"]
    if block_size:
        overrides.append(f"model.block_size={block_size}")
    config = tmp_path / f"{name}.toml"
    config.write_text(f'name = "{name}"\n[task]\nname = "arrays"\npath = "{tmp_path / (name + ".npz")}"\n')
    assert main(["train", "--config", str(config), "--out", str(run), "--no-progress", *[f"--set={item}" for item in overrides]]) == 0
    return run


@pytest.mark.parametrize("head", ["classifier", "tagger"])
@pytest.mark.parametrize("block_size", [None, 4], ids=["full-W", "block-W"])
def test_exported_onnx_graph_gives_pytorchs_logits(tmp_path, capsys, head, block_size):
    make = small_arrays_run if head == "classifier" else small_copy_run
    run = make(tmp_path, f"{head}-{block_size or 'full'}", block_size)
    out = tmp_path / "model.onnx"
    capsys.readouterr()
    assert main(["export", str(run), "--format", "onnx", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["format"] == "onnx" and summary["onnxruntime_max_abs_difference"] <= TOLERANCE

    trained = load_trained_model(run)
    assert isinstance(trained.model, hadamrnn.SequenceTagger if head == "tagger" else hadamrnn.SequenceClassifier)
    assert trained.model.rnn.block_size == block_size
    # A batch the export never saw, of another batch size: the graph's batch dimension is free.
    inputs = trained.task.batch("test", 0, 7).inputs
    with torch.no_grad():
        expected = trained.model(inputs).numpy()
    produced = run_onnx(out, inputs)
    assert produced.shape == expected.shape
    assert np.abs(produced - expected).max() <= TOLERANCE


def test_token_model_and_the_dynamo_exporter(tmp_path):
    pytest.importorskip("onnxscript", reason="the dynamo exporter needs onnxscript")
    model = hadamrnn.SequenceClassifier(None, 8, 3, vocab_size=30, embedding_dim=4, block_size=4).eval()
    tokens = torch.randint(0, 30, (5, 6))
    for exporter in ("torchscript", "dynamo"):
        result = export_onnx(model, tokens, tmp_path / f"{exporter}.onnx", exporter=exporter)
        assert result.max_abs_difference <= TOLERANCE
        other = torch.randint(0, 30, (3, 6))
        with torch.no_grad():
            assert np.abs(run_onnx(result.path, other) - model(other).numpy()).max() <= TOLERANCE


def test_onnx_export_of_a_float_model_takes_the_reference_path_and_leaves_the_model_as_it_was(tmp_path):
    model = hadamrnn.SequenceTagger(3, 8, 2).train()
    result = export_onnx(model, torch.randn(1, 5, 3), tmp_path / "m.onnx")
    assert model.training and result.input_shape == (2, 5, 3)  # a batch of one is widened to keep the batch free
    import onnx

    graph = onnx.load(str(tmp_path / "m.onnx")).graph
    assert not any(node.domain not in ("", "ai.onnx") for node in graph.node)  # no opaque Python op


def test_jit_trace_records_the_pure_torch_path(tmp_path):
    model = hadamrnn.SequenceClassifier(3, 16, 4, block_size=8).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", torch.jit.TracerWarning)
        traced = torch.jit.trace(model, torch.randn(2, 6, 3))
    assert "PythonOp" not in str(traced.graph)  # the native kernels would appear as an opaque PythonOp
    other = torch.randn(5, 6, 3)
    with torch.no_grad():
        assert torch.allclose(traced(other), model(other), atol=1e-5)


def test_jit_script_says_what_to_use_instead():
    with pytest.raises(HadamRNNError, match=r"torch\.jit\.script cannot compile HadamRNN .*use torch\.onnx\.export.*torch\.export\.export.*torch\.jit\.trace"):
        torch.jit.script(hadamrnn.SequenceClassifier(3, 8, 2))


def test_torch_export_works_on_the_layer():
    layer = hadamrnn.HadamRNN(3, 8, block_size=4).eval()
    x = torch.randn(2, 5, 3)
    program = torch.export.export(layer, (x,))
    outputs, h_n = program.module()(x)
    expected, expected_h = layer(x)
    assert torch.allclose(outputs, expected, atol=1e-5) and torch.allclose(h_n, expected_h, atol=1e-5)
