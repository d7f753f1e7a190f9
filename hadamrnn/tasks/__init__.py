"""Tasks: data and the loss and metrics that go with them."""

from .base import Batch, Task
from .copy import CopyTask

__all__ = ["Batch", "Task", "CopyTask", "build_task"]


def build_task(config, seed: int) -> Task:
    """The task described by a task config (``config.name`` selects it)."""
    if config.name == "copy":
        return CopyTask(
            seq_len=config.seq_len,
            copy_length=config.copy_length,
            train_size=config.train_size,
            val_size=config.val_size,
            test_size=config.test_size,
            seed=seed,
        )
    raise ValueError(f"unknown task {config.name!r}; known tasks: copy")
