"""Data-parallel training: 2 processes under torchrun end where 1 process ends."""

import json
import os
import signal
import subprocess
import sys

import pytest
import torch

from hadamrnn import ConfigError
from hadamrnn.checkpoint import load_checkpoint
from hadamrnn.cli import main
from hadamrnn.distributed import DistributedContext
from hadamrnn.tasks import Batch

# 40 sequences in batches of 8: 5 steps per epoch, 2 epochs; an evaluation batch of 7 leaves the
# ranks unequal slices (4 and 3, then 2 and 1) to exercise the weighted all-reduce. U and V are
# 16-bit: a p-bit quantizer is discontinuous, so at 4 bits a latent weight that the two runs round
# differently in its last bit can land on the other side of a level, move the forward by a whole
# step of the grid and the weights by 1e-3 after a few Adam steps; 16-bit levels keep the two runs
# within float tolerance while exercising the same quantized code path.
TINY_CONFIG = """
name = "tiny"
[task]
seq_len = 12
copy_length = 2
train_size = 40
val_size = 10
test_size = 10
[model]
hidden_size = 16
block_size = 4
backend = "reference"
input_bits = 16
output_bits = 16
[train]
epochs = 2
batch_size = 8
eval_batch_size = 7
lr = 0.01
checkpoint_every = 3
num_threads = 1
"""


def test_two_processes_train_like_one(tmp_path):
    config = tmp_path / "tiny.toml"
    config.write_text(TINY_CONFIG)
    arguments = ["train", "--config", str(config), "--no-progress", "--set", "train.num_threads=1"]
    env = {key: value for key, value in os.environ.items() if key not in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    # --standalone: a rendezvous on a free port, so concurrent test sessions do not collide.
    torchrun = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2"]
    # Start the 2-process run first and train the 1-process run in this process meanwhile.
    two = subprocess.Popen(
        [*torchrun, "-m", "hadamrnn", *arguments, "--out", str(tmp_path / "two")],
        env={**env, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        assert main([*arguments, "--out", str(tmp_path / "one")]) == 0
        output, _ = two.communicate(timeout=180)
    finally:
        if two.poll() is None:  # never leave the launcher and its workers behind
            os.killpg(two.pid, signal.SIGKILL)
            two.wait()
    assert two.returncode == 0, output

    one, two_ = load_checkpoint(tmp_path / "one"), load_checkpoint(tmp_path / "two")
    assert one.path.name == two_.path.name == "step_00000010"
    assert one.model_state.keys() == two_.model_state.keys()
    for key, value in one.model_state.items():
        torch.testing.assert_close(two_.model_state[key], value, rtol=1e-5, atol=1e-6, msg=key)
        if key.endswith("weight_hh.original"):  # the latent signs
            assert torch.equal(two_.model_state[key] >= 0, value >= 0), key
    losses = one.meta["history"]["train_loss"], two_.meta["history"]["train_loss"]
    assert losses[1] == pytest.approx(losses[0], rel=1e-5)
    metrics = [json.loads((tmp_path / run / "metrics.json").read_text()) for run in ("one", "two")]
    assert [m["world_size"] for m in metrics] == [1, 2]
    assert metrics[1]["command"].startswith(f"torchrun --nproc_per_node=2 -m hadamrnn train --config {config} ")
    for split in ("validation", "test"):
        assert metrics[1][split] == pytest.approx(metrics[0][split], rel=1e-5, abs=1e-7)
    # Only rank 0 wrote: one set of checkpoints, no leftovers of a second writer.
    assert sorted(p.name for p in (tmp_path / "two" / "checkpoints").iterdir()) == sorted(
        p.name for p in (tmp_path / "one" / "checkpoints").iterdir()
    )


def test_ranks_take_contiguous_slices_that_tile_the_batch():
    batch = Batch(torch.arange(10.0).reshape(5, 2), torch.arange(5))
    slices = [DistributedContext(2, rank).local_slice(batch) for rank in range(2)]
    assert torch.equal(torch.cat([part.targets for part, _ in slices]), batch.targets)
    assert [part.targets.tolist() for part, _ in slices] == [[0, 1], [2, 3, 4]]
    # Shares s_r * K / B: their mean over the ranks is 1, so averaged gradients weigh every sample once.
    assert [share for _, share in slices] == [2 * 2 / 5, 3 * 2 / 5]
    assert DistributedContext().local_slice(batch) == (batch, 1.0)


def test_batch_size_must_be_divisible_by_the_world_size():
    with pytest.raises(ConfigError, match=r"train.batch_size must be divisible by the number of processes \(3\), got 8"):
        DistributedContext(3, 0).check_batch_size(8, 8)
    with pytest.raises(ConfigError, match=r"at least one sample per process \(4\), got 2"):
        DistributedContext(4, 0).check_batch_size(8, 2)
    DistributedContext(2, 0).check_batch_size(8, 2)
