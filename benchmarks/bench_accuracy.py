"""Accuracy of the packed integer kernels, on a tiny model trained once per commit.

``setup_cache`` trains a small model through hadamrnn's own config, task and Trainer API, exports
it to integers (calibration, fixed-point quantization, the packed ``.hrnn`` format) and runs the
test split through every implementation of the integer model: the torch simulation
(:class:`hadamrnn.export.IntegerSimulation`), the numpy runtime (:class:`hadamrnn.runtime.Runtime`,
packed sign words and integer butterflies) and the generated C. The ``track_`` methods report:

* the float model's accuracy and the accuracy of each integer implementation (fractions);
* the number of output and state values on which the three integer implementations disagree
  (expected 0: they are specified bit for bit);
* the bytes of the ``.hrnn`` file.

Two models: the copy task at T = 60 (n = 128, 400 steps; seconds) and sMNIST on a subset of the
data (n = 128; data from ``$HADAMRNN_DATA``), skipped where the task or its data is missing.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import torch

from .common import QUICK, one_thread, require


def _unavailable(reason: str) -> dict:
    return {"unavailable": reason}


def _accuracy(metrics: dict) -> float:
    """The task's accuracy metric (``symbol_accuracy`` for the copy task, ``accuracy`` for MNIST)."""
    for key in ("accuracy", "symbol_accuracy"):
        if key in metrics:
            return float(metrics[key])
    raise KeyError(f"no accuracy among the task's metrics {sorted(metrics)}")


def _train_and_export(config_data: dict) -> dict:
    """Train the model of ``config_data``, export it, and measure it; or ``{"unavailable": ...}``."""
    one_thread()
    try:
        config_module = require("hadamrnn.config", "parse_config")
        tasks = require("hadamrnn.tasks", "build_task")
        models = require("hadamrnn.models", "build_model")
        training = require("hadamrnn.training", "Trainer")
        quantize = require("hadamrnn.export.quantize", "calibrate", "quantize_model", "task_calibration_inputs")
        simulation = require("hadamrnn.export.simulation", "IntegerSimulation")
        runtime_module = require("hadamrnn.runtime", "Runtime")
        c_runner = require("hadamrnn.export.c_runner", "CProgram")
    except NotImplementedError as error:
        return _unavailable(str(error))
    try:
        config = config_module.parse_config(config_data)
        task = tasks.build_task(config.task, config.train.seed)
    except Exception as error:  # an unknown task, a missing option or missing data at this commit
        return _unavailable(f"{type(error).__name__}: {error}")
    torch.manual_seed(config.train.seed)
    model = models.build_model(config.model, task)
    with tempfile.TemporaryDirectory() as directory:
        trainer = training.Trainer(config, task, model, Path(directory) / "run", progress=False)
        trainer.fit()
        model.eval()
        batch_size = config.train.batch_size
        calibration = quantize.calibrate(model, quantize.task_calibration_inputs(task, batch_size, 8))
        quantized = quantize.quantize_model(model, calibration, hidden_bits=16, input_bits=8)
        integer = simulation.IntegerSimulation(quantized)
        runtime = runtime_module.Runtime(quantized)
        program = c_runner.CProgram(quantized, Path(directory) / "c")

        totals = {"float": 0.0, "simulation": 0.0, "runtime": 0.0, "c": 0.0}
        mismatches = count = 0
        with torch.no_grad():
            for batch in task.batches("test", config.train.eval_batch_size):
                size = batch.targets.shape[0]
                codes = runtime.quantize_inputs(batch.inputs.numpy())
                simulated = integer.run(torch.from_numpy(codes))
                numpy_run = runtime.run(codes)
                c_outputs, c_state = program.run(codes)
                sim_outputs, sim_state = simulated.outputs.numpy(), simulated.state.numpy()
                # Every value on which one runtime differs from another: torch vs numpy, numpy vs C.
                for a, b in ((sim_outputs, numpy_run.outputs), (numpy_run.outputs, c_outputs),
                             (sim_state, numpy_run.state), (numpy_run.state, c_state)):
                    mismatches += max(a.size, b.size) if a.shape != b.shape else int(np.count_nonzero(a != b))
                logits = {
                    "float": model(batch.inputs),
                    "simulation": torch.from_numpy(runtime.dequantize(sim_outputs)).float(),
                    "runtime": torch.from_numpy(runtime.dequantize(numpy_run.outputs)).float(),
                    "c": torch.from_numpy(runtime.dequantize(c_outputs)).float(),
                }
                for name, value in logits.items():
                    totals[name] += _accuracy(task.metrics(value, batch.targets)) * size
                count += size
    results = {f"{name}_accuracy": total / count for name, total in totals.items()}
    results.update(mismatches=mismatches, model_bytes=len(quantized.to_bytes()), test_sequences=count)
    return results


class _Accuracy:
    """The shared ``track_`` methods; subclasses define ``setup_cache``."""

    timeout = 900
    number = 1
    repeat = 1

    def setup(self, results):
        if "unavailable" in results:
            raise NotImplementedError(results["unavailable"])

    def track_float_accuracy(self, results):
        return results["float_accuracy"]

    def track_simulation_accuracy(self, results):
        """The torch integer simulation (the reference of the export)."""
        return results["simulation_accuracy"]

    def track_runtime_accuracy(self, results):
        """The packed numpy runtime, hadamrnn.runtime."""
        return results["runtime_accuracy"]

    def track_c_accuracy(self, results):
        return results["c_accuracy"]

    def track_mismatches(self, results):
        """Values on which the torch simulation, the numpy runtime and the C disagree (0 expected)."""
        return results["mismatches"]

    def track_model_bytes(self, results):
        return results["model_bytes"]

    track_float_accuracy.unit = track_simulation_accuracy.unit = "fraction"
    track_runtime_accuracy.unit = track_c_accuracy.unit = "fraction"
    track_mismatches.unit = "values"
    track_model_bytes.unit = "bytes"


class CopyAccuracy(_Accuracy):
    """The copy task at T = 60, K = 10: 400 training steps of batch 128, 1,000 test sequences
    (100 steps and 200 sequences under ``HADAMRNN_ASV_QUICK=1``)."""

    def setup_cache(self):
        # HADAMRNN_ASV_QUICK (the CI smoke run) trains 100 steps: it checks that the pipeline
        # runs and the runtimes agree, not the accuracy.
        steps, tests = (100, 200) if QUICK else (400, 1000)
        return _train_and_export({
            "name": "asv-copy",
            "task": {"name": "copy", "seq_len": 60, "copy_length": 10, "train_size": 128 * steps,
                     "val_size": 500, "test_size": tests},
            "model": {"hidden_size": 128, "input_bits": 4, "output_bits": 4},
            "train": {"epochs": 1, "batch_size": 128, "eval_batch_size": 500, "lr": 3e-3, "sign_lr": 1e-4,
                      "seed": 712, "checkpoint_every": 100_000},
        })


class SMNISTAccuracy(_Accuracy):
    """sMNIST on a subset (6,400 training images, 1,000 test images), n = 128, one epoch.

    Needs the "smnist" task (with ``train_limit``-style subset options) and the MNIST files under
    ``$HADAMRNN_DATA/mnist``; skipped otherwise."""

    def setup_cache(self):
        if not os.environ.get("HADAMRNN_DATA"):
            return _unavailable("HADAMRNN_DATA is not set: no MNIST data")
        try:
            config_module = require("hadamrnn.config", "parse_config")
            task_config = config_module.parse_config({"task": {"name": "smnist"}}).task
        except Exception as error:
            return _unavailable(f"no smnist task at this commit: {error}")
        limits = {"train_limit": 6400, "val_limit": 500, "test_limit": 1000}
        missing = sorted(set(limits) - set(type(task_config).model_fields))
        if missing:
            return _unavailable(f"the smnist task has no subset options {missing} at this commit")
        return _train_and_export({
            "name": "asv-smnist",
            "task": {"name": "smnist", **limits},
            "model": {"hidden_size": 128, "input_bits": 4, "output_bits": 4},
            "train": {"epochs": 1, "batch_size": 64, "eval_batch_size": 500, "lr": 1e-3,
                      "seed": 712, "checkpoint_every": 100_000},
        })
