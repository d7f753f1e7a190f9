"""Tasks: data and the loss and metrics that go with them.

``copy`` is generated on the fly; ``smnist``, ``pmnist``, ``imdb``, ``sst2``, ``qqp`` and ``har``
read the standard data files from a data directory (``data_dir``, else ``$HADAMRNN_DATA``).
``arrays`` (numpy arrays) and ``idx_images`` (IDX image files) read a user's own data.
"""

from dataclasses import dataclass

from ..errors import ConfigError
from .arrays import ArraysTask
from .base import Batch, Task
from .copy import CopyTask
from .data import resolve_data_dir
from .glue import GLUETask, write_glue_predictions
from .har import HAPT_CHANNELS, UCI_SIGNALS, HARTask
from .idx_images import IDXImagesTask
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
    "ArraysTask",
    "IDXImagesTask",
    "TASK_NAMES",
    "TaskShape",
    "build_task",
    "task_shape",
    "resolve_data_dir",
    "write_glue_predictions",
]

TASK_NAMES = ("copy", "smnist", "pmnist", "imdb", "sst2", "qqp", "har", "arrays", "idx_images")


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
            val_rows=config.val_rows,
        )
    if name == "har":
        return HARTask(
            data_dir,
            source=config.source,
            signals=config.signals,
            seed=seed,
            val_subjects=config.val_subjects,
            train_limit=config.train_limit,
            val_limit=config.val_limit,
            test_limit=config.test_limit,
        )
    if name == "arrays":
        return ArraysTask(
            config.path,
            data_dir,
            seed=seed,
            val_fraction=config.val_fraction,
            test_fraction=config.test_fraction,
            split_seed=config.split_seed,
            num_classes=config.num_classes,
            vocab_size=config.vocab_size,
        )
    if name == "idx_images":
        return IDXImagesTask(
            config.path,
            data_dir,
            pixels_per_step=config.pixels_per_step,
            seed=seed,
            val_fraction=config.val_fraction,
            num_classes=config.num_classes,
            files={key: getattr(config, key) for key in ("train_images", "train_labels", "test_images", "test_labels")},
            train_limit=config.train_limit,
            val_limit=config.val_limit,
            test_limit=config.test_limit,
        )
    raise ConfigError(f"unknown task {name!r}; known tasks: {', '.join(TASK_NAMES)}")


@dataclass(frozen=True)
class TaskShape:
    """What a model needs to know of a task to be built: its sizes, not its data."""

    name: str
    input_size: int | None
    output_size: int
    many_to_many: bool
    vocab_size: int | None


def task_shape(config, seed: int, data_dir=None) -> TaskShape | Task:
    """The sizes of the task ``config`` describes, without reading a data set where they are fixed.

    ``hadamrnn size`` uses it: the MNIST, IMDB, GLUE and HAR tasks have sizes set by the task (or
    by its config), so no data directory is needed; for GLUE the vocabulary counts up to
    ``vocab_size`` ids (fewer when train.tsv has fewer words; the embedding is reported apart from
    the recurrent model anyway). HAR's input size depends on its signals: the nine UCI signals
    (from either source), or HAPT's six raw channels. ``copy`` (generated), ``arrays`` and ``idx_images`` (the user's own
    files) build the task itself.
    """
    name = getattr(config, "name", None)
    if name in ("smnist", "pmnist"):
        return TaskShape(name, MNISTTask.input_size, MNISTTask.output_size, False, None)
    if name == "imdb":
        return TaskShape(name, None, IMDBTask.output_size, False, config.vocab_size)
    if name in ("sst2", "qqp"):
        return TaskShape(name, None, GLUETask.output_size, False, config.vocab_size)
    if name == "har":
        # Either source gives the nine UCI signals; only HAPT's raw channels are six.
        channels = HAPT_CHANNELS if config.signals == "raw" else UCI_SIGNALS
        return TaskShape(name, len(channels), HARTask.output_size, False, None)
    return build_task(config, seed, data_dir)
