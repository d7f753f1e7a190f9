"""Memory and time that do not grow with n²: no (n, n) matrix in a layer or on the training and
inference paths, a size table computed from the config alone, and a .hrnn file loaded in memory
proportional to its size (its header checked before the rest is read).

The peaks are measured in subprocesses, with ``ru_maxrss`` (the peak resident set size).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import hadamrnn
from hadamrnn.config import parse_config
from hadamrnn.models import build_model, planned_model_size
from hadamrnn.size import model_size
from hadamrnn.tasks import build_task

ROOT = Path(__file__).resolve().parents[1]
MB = 1 << 20


def peak_of_command(command: list[str], cwd: Path = ROOT) -> tuple[int, float, float, str]:
    """``(status, peak RSS in bytes, user + system CPU seconds, stderr)`` of one command."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    started = time.perf_counter()
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    err = process.stderr.read().decode()
    process.stderr.close()
    process.returncode = os.waitstatus_to_exitcode(status)
    return process.returncode, usage.ru_maxrss * 1024, usage.ru_utime + usage.ru_stime, err + f"\n(wall {wall:.1f} s)"


# -- the size command ------------------------------------------------------------------------------------
def test_size_at_n_65536_needs_no_tensors_seconds_or_memory():
    status, peak, cpu, err = peak_of_command(
        [sys.executable, "-m", "hadamrnn", "size", "--config", "configs/copy_paper.toml", "--set", "model.hidden_size=65536"]
    )
    assert status == 0, err
    assert peak < 500 * MB, f"peak RSS {peak / MB:.0f} MB"
    # CPU time, not wall time: the bound is on the work, which a busy machine does not change.
    assert cpu < 5, f"{cpu:.1f} s of CPU {err}"


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("hadamrnn", {}),
        ("hadamrnn", {"block_size": 16, "input_bits": 2, "output_bits": 8}),
        ("hadamrnn", {"input_bits": None, "output_bits": None}),
        ("ornn", {}),
        ("ornn", {"input_bits": 4, "output_bits": 4}),
        ("qornn", {"recurrent_bits": 4}),
        ("lstm", {}),
        ("gru", {"output_bits": 6}),
    ],
    ids=["hadamrnn", "block-hadamrnn", "hadamrnn-float", "ornn", "ornn-4-bit", "qornn", "lstm", "gru"],
)
@pytest.mark.parametrize("task", ["copy", "tokens"])
def test_the_planned_size_is_the_size_of_the_built_model(kind, options, task):
    model = {"kind": kind, "hidden_size": 64, **options}
    if task == "tokens":
        model["embedding_dim"] = 12
        fake = type("TokenTask", (), {"name": "tokens", "vocab_size": 50, "input_size": None, "output_size": 3, "many_to_many": False})()
        config = parse_config({"model": model}).model
        planned, built = planned_model_size(config, fake), model_size(build_model(config, fake))
    else:
        config = parse_config({"model": model})
        copy = build_task(config.task, 0)
        planned, built = planned_model_size(config.model, copy), model_size(build_model(config.model, copy))
    assert planned == built
    assert str(planned) == str(built)


def test_a_built_layer_holds_no_n_by_n_tensor():
    n = 4096
    rnn = hadamrnn.HadamRNN(10, n, backend="reference")
    tensors = {**dict(rnn.named_parameters()), **dict(rnn.named_buffers())}
    assert max(tensor.numel() for tensor in tensors.values()) < n * n / 100, {k: tuple(v.shape) for k, v in tensors.items()}
    assert set(rnn.state_dict()) == {"input_proj.weight", "input_proj.bias", "parametrizations.weight_hh.original"}
    assert rnn.latent_signs.shape == (n,)


def test_weight_hh_is_still_computed_on_demand():
    rnn = hadamrnn.HadamRNN(3, 16, block_size=4)
    weight = rnn.weight_hh.detach()
    assert weight.shape == (16, 16)
    assert rnn.recurrent.in_manifold(weight)
    u = rnn.signs().detach()
    expected = u[:, None] * hadamrnn.block_sylvester(16, 4, dtype=torch.float32) / 2
    assert torch.equal(weight, expected)
    rnn.weight_hh = -weight  # assigning W projects it back onto the signs
    assert torch.equal(rnn.signs().detach(), -u)


#: Peak memory of a block of code (Linux): the peak so far (importing torch) is reset first, since
#: it would hide any smaller growth, and the growth is the new peak less the size at the start.
MEASURE = """
def _status(key):
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith(key + ":")) * 1024

def start_measuring():
    with open("/proc/self/clear_refs", "w") as refs:
        refs.write("5")
    return _status("VmRSS")

def growth_since(start):
    return _status("VmHWM") - start
"""
NEEDS_PROC = pytest.mark.skipif(
    not os.access("/proc/self/clear_refs", os.W_OK), reason="measures the peak resident set size through /proc"
)


FORWARD_AT_16384 = MEASURE + """
import sys, torch, hadamrnn
torch.set_num_threads(1)
backend = sys.argv[1]
start = start_measuring()
model = hadamrnn.SequenceTagger(10, 16384, 9, backend=backend)
x = torch.randn(1, 10, 10)
if sys.argv[2] == "train":
    model(x).sum().backward()
else:
    with torch.no_grad():
        model(x)
print(growth_since(start))
"""


@NEEDS_PROC
@pytest.mark.parametrize("backend", ["reference", "native"])
@pytest.mark.parametrize("mode", ["inference", "train"])
def test_a_forward_at_n_16384_stays_under_200_mb(backend, mode):
    if backend == "native" and not hadamrnn.native.is_available():
        pytest.skip("the C extension is not built")
    done = subprocess.run([sys.executable, "-c", FORWARD_AT_16384, backend, mode], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    grown = int(done.stdout.strip())
    # The dense W alone would be 1 GiB in float32 (and its int8 pattern 256 MiB more).
    assert grown < 200 * MB, f"{grown / MB:.0f} MB above the interpreter with torch and hadamrnn loaded"


# -- the .hrnn model file ----------------------------------------------------------------------------------
LOAD_PEAK = MEASURE + """
import sys
import hadamrnn.runtime as runtime
start = start_measuring()
try:
    runtime.load(sys.argv[1])
    outcome = "loaded"
except Exception as error:
    outcome = f"{type(error).__name__}: {error}"
print(growth_since(start))
print(outcome)
"""


@pytest.fixture(scope="module")
def big_model_file(tmp_path_factory) -> Path:
    """An 8.5 MB .hrnn file: n = 16384, d = 1024, 4-bit U."""
    from test_export_format import random_quantized
    from hadamrnn.export.model_file import write_model

    path = tmp_path_factory.mktemp("model") / "big.hrnn"
    write_model(random_quantized(n=16384, block=16384, d=1024, o=10, p_u=4, p_v=4, recurrence="linear"), path)
    return path


def load_peak(path: Path) -> tuple[int, str]:
    done = subprocess.run([sys.executable, "-c", LOAD_PEAK, str(path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    grown, outcome = done.stdout.strip().split("\n", 1)
    return int(grown), outcome


@NEEDS_PROC
def test_loading_a_model_file_takes_memory_in_proportion_to_its_size(big_model_file):
    size = big_model_file.stat().st_size
    grown, outcome = load_peak(big_model_file)
    assert outcome == "loaded"
    # The bytes (1x), the unpacked int8 codes (2x for 4-bit codes) and bounded temporaries.
    assert grown < 6 * size, f"{grown / size:.1f} times the file size"


@NEEDS_PROC
def test_a_model_file_is_refused_on_its_header_before_the_rest_is_read(big_model_file, tmp_path):
    """The same file with a wrong magic, then with a payload one byte short: refused after the 88
    header bytes, so loading takes no memory in proportion to the file."""
    data = bytearray(big_model_file.read_bytes())
    not_a_model = tmp_path / "not_a_model.hrnn"
    not_a_model.write_bytes(b"NOTHRNN!" + bytes(data[8:]))
    truncated = tmp_path / "truncated.hrnn"
    truncated.write_bytes(bytes(data[:-1]))
    for path, message in ((not_a_model, "not a .hrnn model file: expected the magic bytes"),
                          (truncated, "model file truncated: expected")):
        grown, outcome = load_peak(path)
        assert outcome.startswith("ModelFileError") and message in outcome, outcome
        assert grown < path.stat().st_size / 2, f"{grown / MB:.1f} MB for a {path.stat().st_size / MB:.1f} MB file"
