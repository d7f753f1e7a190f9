"""Tasks: data and the loss and metrics that go with them.

``copy`` is generated on the fly; ``smnist``, ``pmnist``, ``imdb``, ``sst2``, ``qqp`` and ``har``
read the standard data files from a data directory (``data_dir``, else ``$HADAMRNN_DATA``).
"""

from ..errors import ConfigError
from .base import Batch, Task
from .copy import CopyTask
from .data import resolve_data_dir
from .glue import GLUETask, write_glue_predictions
from .har import HARTask
from .imdb import IMDBTask
from .mnist import MNISTTask

__all__ = [
    "Batch",
    "Task",
    "CopyTask",
    "MNISTTask",
    "IMDBTask",
    "GLUETask",
    "HARTask",
    "TASK_NAMES",
    "build_task",
    "resolve_data_dir",
    "write_glue_predictions",
]

TASK_NAMES = ("copy", "smnist", "pmnist", "imdb", "sst2", "qqp", "har")


def build_task(config, seed: int, data_dir=None) -> Task:
    """The task described by a task config (``config.name`` selects it).

    ``data_dir`` is the folder holding the data sets (``mnist/``, ``imdb/``, ``sst2/``, ``qqp/``,
    ``har/``); None reads ``$HADAMRNN_DATA``. The copy task needs no data.
    """
    name = getattr(config, "name", None)
    if name == "copy":
        return CopyTask(
            seq_len=config.seq_len,
            copy_length=config.copy_length,
            train_size=config.train_size,
            val_size=config.val_size,
            test_size=config.test_size,
            seed=seed,
        )
    if name in ("smnist", "pmnist"):
        return MNISTTask(
            data_dir,
            permuted=name == "pmnist",
            seed=seed,
            train_limit=config.train_limit,
            val_limit=config.val_limit,
            test_limit=config.test_limit,
        )
    if name == "imdb":
        return IMDBTask(
            data_dir,
            seed=seed,
            vocab_size=config.vocab_size,
            max_tokens=config.max_tokens,
            train_limit=config.train_limit,
            val_limit=config.val_limit,
            test_limit=config.test_limit,
            cache=config.cache,
        )
    if name in ("sst2", "qqp"):
        return GLUETask(
            name,
            data_dir,
            seed=seed,
            max_tokens=config.max_tokens,
            vocab_size=config.vocab_size,
            balanced=config.balanced,
            train_limit=config.train_limit,
            val_limit=config.val_limit,
        )
    if name == "har":
        return HARTask(
            data_dir,
            source=config.source,
            seed=seed,
            val_subjects=config.val_subjects,
            train_limit=config.train_limit,
            val_limit=config.val_limit,
            test_limit=config.test_limit,
        )
    raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(TASK_NAMES)}")
