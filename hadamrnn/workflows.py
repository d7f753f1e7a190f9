"""The workflows of the command line, as functions: train, evaluate, size, export and report.

This is the one module that puts the pieces together. Data flows one way, config → task → model
→ trainer → report: a config builds its task, the task and the config build the model, the trainer
trains it and checkpoints it, and the report reads the finished runs. None of those modules knows
the ones after it; the pieces that need two of them at once (rebuilding the model of a checkpoint,
exporting it, evaluating it) live here, and ``hadamrnn.cli`` only parses arguments and prints
what these functions return.
"""

from __future__ import annotations

import os
import shlex
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import torch
from torch import nn

from .checkpoint import Checkpoint, enclosing_checkpoint_area, load_checkpoint, refuse_checkpoint_area, remove_staging_leftovers
from .config import RunConfig, apply_overrides, load_config, parse_config
from .distributed import SINGLE_PROCESS, DistributedContext, init_from_env
from .devices import resolve_device
from .errors import CheckpointError, CheckpointNotFoundError, ConfigError, HadamRNNError, TrainingInterrupted
from .export.onnx_graph import OnnxExportResult, export_onnx
from .export.pipeline import EXPORT_FORMATS as QUANTIZED_EXPORT_FORMATS, ExportResult, quantize_and_export
from .export.quantize import DEFAULT_PERCENTILE, task_calibration_inputs
from .models import build_model, planned_model_size
from .archive import archive_run
from .figures import plot_learning_curve
from .quoted import refuse_quoted
from .report import ReportResult, check_mergeable, write_report
from .run_directory import RunDirectoryClaim, claim_new_run_directory, claim_run_directory
from .runs import METRICS_FILE, source_commit, write_metrics
from .size import ModelSize, model_size
from .tasks import Task, build_task, task_shape
from .training import Trainer, evaluate_model

__all__ = [
    "BUILTIN_CONFIGS",
    "builtin_config",
    "resolve_config",
    "build_run",
    "train",
    "TrainingOutcome",
    "TrainedModel",
    "load_trained_model",
    "evaluate_run",
    "config_model_size",
    "export_checkpoint",
    "EXPORT_FORMATS",
    "report_runs",
]

#: The configs shipped inside the package (``hadamrnn/configs/<name>.toml``).
BUILTIN_CONFIGS = ("copy",)

#: What ``hadamrnn export --format`` writes: the integer model (``hrnn``, ``c``) or the float graph (``onnx``).
EXPORT_FORMATS = (*QUANTIZED_EXPORT_FORMATS, "onnx")

#: The page ``hadamrnn report`` writes when no ``--out`` is given (a new file, never an existing one).
DEFAULT_REPORT_PAGE = "report.md"

#: Where ``hadamrnn train`` writes the learning curve of a run, next to its metrics.json.
LEARNING_CURVE_FILE = "learning_curve.png"

_Decided = TypeVar("_Decided")


# -- configs ---------------------------------------------------------------------------------------
def builtin_config(name: str) -> RunConfig:
    """An embedded config, shipped inside the package (``hadamrnn/configs/<name>.toml``)."""
    if name not in BUILTIN_CONFIGS:
        raise ConfigError(f"unknown built-in config {name!r}; built-in configs: {', '.join(BUILTIN_CONFIGS)}")
    with resources.as_file(resources.files("hadamrnn") / "configs" / f"{name}.toml") as path:
        return load_config(path)


def resolve_config(builtin: str | None, config_path: str | Path | None, overrides: Sequence[str] = ()) -> RunConfig | None:
    """The config named by a built-in name or a TOML path (not both), with ``overrides``
    (``section.key=value``) applied; None when neither is given."""
    if builtin and config_path:
        raise ConfigError(f"give either a built-in task or --config, got both {builtin!r} and {str(config_path)!r}")
    if config_path:
        config = load_config(config_path)
    elif builtin:
        config = builtin_config(builtin)
    else:
        return None
    return apply_overrides(config, list(overrides)) if overrides else config


def build_run(
    config: RunConfig,
    run_dir: str | Path,
    *,
    data_dir: str | Path | None = None,
    progress: bool = True,
    distributed: DistributedContext = SINGLE_PROCESS,
    provenance: dict[str, str] | None = None,
    device: str | torch.device | None = None,
) -> Trainer:
    """Config → task → model → trainer: everything a run needs, seeded by ``config.train.seed``.

    The trainer holds the task (``.task``) and the model (``.model``, on ``device``); it writes its
    checkpoints under ``run_dir``. ``data_dir`` locates the task's data (None reads
    ``$HADAMRNN_DATA``).
    """
    if config.train.num_threads:
        torch.set_num_threads(config.train.num_threads)
    torch.manual_seed(config.train.seed)
    task = build_task(config.task, config.train.seed, data_dir)
    model = build_model(config.model, task)
    return Trainer(config, task, model, run_dir, progress=progress, distributed=distributed, provenance=provenance, device=device)


def config_model_size(config: RunConfig, data_dir: str | Path | None = None) -> ModelSize:
    """The size table of the model that ``config`` builds.

    Computed from the dimensions, without building the model: no tensor is allocated, whatever
    ``model.hidden_size`` is. The input and output sizes come from :func:`hadamrnn.tasks.task_shape`:
    the built-in data tasks know theirs without reading any data; ``arrays`` and ``idx_images``
    read the user's files.
    """
    return planned_model_size(config.model, task_shape(config.task, config.train.seed, data_dir))


# -- training --------------------------------------------------------------------------------------
@dataclass
class TrainingOutcome:
    """What a finished ``train`` left in its run directory (rank 0 only)."""

    run_dir: Path
    metrics: dict[str, Any]
    metrics_path: Path
    learning_curve: Path
    naive_baseline: float | None


def _claim_new_run_dir(config: RunConfig, out: str | Path | None, runs_dir: str | Path) -> RunDirectoryClaim:
    """Create and claim the directory of a new run: ``out``, or ``runs_dir/<name>-<timestamp>``."""
    if out:
        refuse_checkpoint_area(out, "--out")
        return claim_run_directory(out, must_be_empty=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    return claim_new_run_directory(runs_dir, f"{config.name}-{stamp}")


def _resumable_run_dir(resume: str | Path) -> Path:
    """``resume`` checked to be a run directory (holding ``checkpoints/``), not a checkpoint in it."""
    run_dir = Path(resume)
    area = enclosing_checkpoint_area(run_dir)
    if area is not None:
        run = area.parent.parent if area.name != "checkpoints" else area.parent
        raise HadamRNNError(
            f"--resume {str(resume)!r}: expected a run directory (the folder holding checkpoints/), got a "
            f"folder inside its checkpoints; resume the run itself: --resume {shlex.quote(str(run))}"
        )
    if not (run_dir / "checkpoints").is_dir():
        what = "no such folder" if not run_dir.exists() else "a folder without checkpoints/" if run_dir.is_dir() else "a file"
        raise CheckpointNotFoundError(
            f"checkpoint not found: --resume {str(resume)!r}: expected a run directory holding checkpoints/, got {what}"
        )
    return run_dir


def _decided_on_main(distributed: DistributedContext, decide: Callable[[], _Decided]) -> _Decided:
    """Run ``decide`` on rank 0 only and hand its result, or its error, to every rank."""
    outcome = None
    if distributed.is_main:
        try:
            outcome = (True, decide())
        except (HadamRNNError, OSError) as error:  # e.g. a run directory in use, or a file in the way
            outcome = (False, error)
    succeeded, value = distributed.broadcast_from_main(outcome)
    if not succeeded:
        raise value
    return value


def _invoked_command(distributed: DistributedContext) -> str:
    """The command that ran, as it can be typed again (``sys.argv[0]`` is a path under ``-m``)."""
    return f"{_program(distributed)} {shlex.join(sys.argv[1:])}"


def _program(distributed: DistributedContext) -> str:
    """How the program was invoked: ``hadamrnn``, ``python -m hadamrnn`` or the torchrun line."""
    if distributed.enabled:
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", distributed.world_size))
        nodes = "" if per_node == distributed.world_size else f"--nnodes={distributed.world_size // per_node} "
        return f"torchrun {nodes}--nproc_per_node={per_node} -m hadamrnn"
    return "python -m hadamrnn" if Path(sys.argv[0]).name == "__main__.py" else Path(sys.argv[0]).name


def train(
    *,
    builtin: str | None = None,
    config_path: str | Path | None = None,
    overrides: Sequence[str] = (),
    resume: str | Path | None = None,
    out: str | Path | None = None,
    runs_dir: str | Path = "runs",
    data_dir: str | Path | None = None,
    progress: bool = True,
    notify: Callable[[str], None] | None = None,
    device: str | torch.device | None = None,
) -> TrainingOutcome | None:
    """What ``hadamrnn train`` does: train a new run, or continue ``resume`` exactly.

    A new run takes its config from ``builtin`` or ``config_path`` (with ``overrides``) and a new
    directory, ``out`` or ``runs_dir/<name>-<timestamp>``. A resumed run takes the config stored in
    its checkpoint, where ``overrides`` may lengthen or shorten it (``train.epochs``); a config
    given with ``resume`` must match the stored one (the trainer checks). At the end, rank 0 writes
    ``metrics.json`` and the learning curve into the run directory and returns them; every other
    rank returns None.

    Under torchrun (``WORLD_SIZE`` set) every process joins the process group and trains its share
    of each batch. ``notify`` receives rank 0's progress messages (the run directory, the device,
    the model size) before training starts. ``device`` is ``"cpu"`` (default), ``"cuda"``,
    ``"cuda:N"`` or ``"auto"``; under torchrun, ``"cuda"`` means each process's ``LOCAL_RANK`` GPU.
    """
    config = resolve_config(builtin, config_path, overrides)
    local_rank = int(os.environ.get("LOCAL_RANK", "0") or 0) if os.environ.get("WORLD_SIZE", "1") not in ("", "1") else None
    chosen = resolve_device(device, local_rank)
    distributed = init_from_env(chosen)
    try:
        return _train_on_this_rank(config, overrides, resume, out, runs_dir, data_dir, progress, notify, distributed, chosen)
    finally:
        distributed.close()


def _train_on_this_rank(
    config: RunConfig | None,
    overrides: Sequence[str],
    resume: str | Path | None,
    out: str | Path | None,
    runs_dir: str | Path,
    data_dir: str | Path | None,
    progress: bool,
    notify: Callable[[str], None] | None,
    distributed: DistributedContext,
    device: torch.device = torch.device("cpu"),
) -> TrainingOutcome | None:
    def tell(message: str) -> None:
        if notify is not None and distributed.is_main:
            notify(message)

    claims: list[RunDirectoryClaim] = []  # rank 0's hold on the run directory, released at the end

    def claim(decide: Callable[[], RunDirectoryClaim]) -> Path:
        held = decide()
        claims.append(held)
        return held.path

    finished = False
    try:
        outcome = _train_in_claimed_run(
            config, overrides, resume, out, runs_dir, data_dir, progress, tell, distributed, claim, device
        )
        finished = True
        return outcome
    finally:
        for held in claims:
            held.release(remove_if_unused=not finished)


def _resume_command(distributed: DistributedContext, run_dir: Path, data_dir: str | Path | None) -> str:
    """The command line that continues ``run_dir``, with the program spelled as it was invoked."""
    arguments = ["train", "--resume", str(run_dir)] + (["--data-dir", str(data_dir)] if data_dir else [])
    return f"{_program(distributed)} {shlex.join(arguments)}"


def _train_in_claimed_run(
    config: RunConfig | None,
    overrides: Sequence[str],
    resume: str | Path | None,
    out: str | Path | None,
    runs_dir: str | Path,
    data_dir: str | Path | None,
    progress: bool,
    tell: Callable[[str], None],
    distributed: DistributedContext,
    claim: Callable[[Callable[[], RunDirectoryClaim]], Path],
    device: torch.device = torch.device("cpu"),
) -> TrainingOutcome | None:
    if resume:
        def claim_for_resume() -> RunDirectoryClaim:
            held = claim_run_directory(_resumable_run_dir(resume), purpose="resume")
            # Held, so no other process writes there: what a killed write left can go.
            remove_staging_leftovers(held.path / "checkpoints")
            return held

        run_dir = _decided_on_main(distributed, lambda: claim(claim_for_resume))
        checkpoint = load_checkpoint(run_dir)
        stored = parse_config(checkpoint.meta["config"], f"stored in {checkpoint.path}")
        # `--resume RUN --set train.epochs=N` lengthens or shortens the run (Trainer.resume checks).
        config = config or (apply_overrides(stored, list(overrides)) if overrides else stored)
    elif config is None:
        raise ConfigError("nothing to train: give a built-in task (e.g. `hadamrnn train copy`), --config PATH or --resume RUN_DIR")
    else:
        run_dir = _decided_on_main(distributed, lambda: claim(lambda: _claim_new_run_dir(config, out, runs_dir)))
    # The code that trains: taken now, not when the run ends hours later.
    provenance = {"command": _invoked_command(distributed), "commit": source_commit()}
    trainer = build_run(
        config, run_dir, data_dir=data_dir, progress=progress, distributed=distributed, provenance=provenance, device=device
    )
    if resume:
        trainer.resume(checkpoint.path)
        tell(f"resuming {run_dir} at step {trainer.step} (epoch {trainer.epochs_completed + 1})")
    elif distributed.is_main:
        tell(f"run directory: {run_dir}")
    tell(_device_line(trainer.model, trainer.device))
    size = model_size(trainer.model)
    tell(str(size))
    try:
        result = trainer.fit()
    except TrainingInterrupted as interrupted:
        interrupted.resume_command = _resume_command(distributed, run_dir, data_dir)
        raise
    if not distributed.is_main:
        # Every rank leaves together (after rank 0 has written the metrics): a rank that tears its
        # process group down while another still runs can abort that one at exit.
        distributed.barrier()
        return None
    metrics = {
        **result.metrics,
        "model_size": size.as_dict(),
        "command": trainer.provenance["command"],
        "world_size": distributed.world_size,
        "commit": trainer.provenance["commit"],
        "resumes": trainer.provenance["resumes"],
    }
    metrics_path = write_metrics(run_dir / METRICS_FILE, metrics)
    summary = trainer.task.summary()
    baseline = summary.get("naive_baseline")
    details = ", ".join(f"{key}={value}" for key, value in summary.items() if key not in ("task", "naive_baseline"))
    title = f"{config.name}: {summary['task']} ({details}), n={config.model.hidden_size}"
    plot = plot_learning_curve(run_dir / LEARNING_CURVE_FILE, result.history, title, baseline)
    distributed.barrier()
    return TrainingOutcome(run_dir, metrics, metrics_path, plot, baseline)


def _device_line(model: nn.Module, device: torch.device) -> str:
    """``device: cpu (HadamRNN path: native)``: where the run computes, and how its layers apply W."""
    from .layers import HadamRNN

    paths = sorted({layer.execution_path(device) for layer in model.modules() if isinstance(layer, HadamRNN)})
    return f"device: {device}" + (f" (HadamRNN path: {', '.join(paths)})" if paths else "")


# -- trained models --------------------------------------------------------------------------------
@dataclass
class TrainedModel:
    """The model of a checkpoint, with the task and config it was trained with."""

    model: nn.Module
    task: Task
    config: RunConfig
    checkpoint: Checkpoint


def load_trained_model(path: str | Path, data_dir: str | Path | None = None) -> TrainedModel:
    """Rebuild the model of a checkpoint (or of a run directory's latest one), in eval mode.

    ``data_dir`` locates the task's data (None reads ``$HADAMRNN_DATA``); the copy task needs none.
    """
    checkpoint = load_checkpoint(path)
    config = parse_config(checkpoint.meta["config"], f"stored in {checkpoint.path}")
    task = build_task(config.task, config.train.seed, data_dir)
    model = build_model(config.model, task)
    try:
        model.load_state_dict(checkpoint.model_state, strict=True)
    except RuntimeError as error:
        raise CheckpointError(f"checkpoint {checkpoint.path} does not match its config: {error}") from None
    model.eval()
    return TrainedModel(model, task, config, checkpoint)


def evaluate_run(
    path: str | Path,
    splits: Sequence[str] = ("val", "test"),
    data_dir: str | Path | None = None,
    device: str | torch.device | None = None,
) -> dict[str, Any]:
    """What ``hadamrnn evaluate`` prints: the checkpoint's path and step, and the metrics of each split.

    ``path`` is a checkpoint or a run directory (its latest checkpoint); the splits are evaluated
    with the run's ``train.eval_batch_size``, on ``device`` (default: the CPU). A quoted run
    (:mod:`hadamrnn.quoted`) has no weights, and is refused.
    """
    refuse_quoted(path, "evaluate")
    trained = load_trained_model(path, data_dir)
    trained.model.to(resolve_device(device))
    batch_size = trained.config.train.eval_batch_size
    metrics = {split: evaluate_model(trained.model, trained.task, split, batch_size) for split in splits}
    return {"checkpoint": str(trained.checkpoint.path), "step": trained.checkpoint.meta["step"], **metrics}


def export_checkpoint(
    path: str | Path,
    out: str | Path,
    *,
    fmt: str = "hrnn",
    hidden_bits: int = 16,
    input_bits: int = 8,
    calibration_batches: int = 8,
    method: str = "max",
    percentile: float = DEFAULT_PERCENTILE,
    evaluate: str | None = None,
    data_dir: str | Path | None = None,
    force: bool = False,
) -> ExportResult | OnnxExportResult:
    """What ``hadamrnn export`` does: calibrate the model of a checkpoint on its training data,
    quantize it and write it; or, with ``fmt="onnx"``, write the float model as an ONNX graph.

    Args:
        path: a checkpoint directory or a run directory (its latest checkpoint).
        out: the file to write (atomically).
        fmt: ``"hrnn"`` (the packed file), ``"c"`` (one C99 header) or ``"onnx"`` (the float
            graph, for the sequence length of the task's first training batch; the quantization
            options do not apply to it, and onnxruntime checks it against PyTorch).
        hidden_bits, input_bits: ``b_h`` and ``b_x``.
        calibration_batches: training batches (of the run's batch size) to calibrate on.
        method, percentile: the calibration method.
        evaluate: a split (``"val"``, ``"test"``) on which to compare the float model with the
            integer simulation, or None.
        data_dir: where the task's data are (None reads ``$HADAMRNN_DATA``; copy needs none).
        force: replace an existing file at ``out`` (never one inside a run's checkpoints).
    """
    refuse_quoted(path, "export")
    _check_export_destination(out, force)
    trained = load_trained_model(path, data_dir)
    task, train = trained.task, trained.config.train
    if fmt == "onnx":
        return export_onnx(trained.model, task.batch("train", 0, train.batch_size).inputs, out)

    def metrics_on_split(predict: Callable[[torch.Tensor], torch.Tensor]) -> dict[str, float]:
        return evaluate_model(predict, task, evaluate, train.eval_batch_size)

    return quantize_and_export(
        trained.model,
        task_calibration_inputs(task, train.batch_size, calibration_batches),
        out,
        fmt=fmt,
        hidden_bits=hidden_bits,
        input_bits=input_bits,
        method=method,
        percentile=percentile,
        evaluate=metrics_on_split if evaluate is not None else None,
    )


def _check_export_destination(out: str | Path, force: bool) -> None:
    """Refuse to export over a checkpoint, a folder, or (without ``force``) an existing file."""
    refuse_checkpoint_area(out, "--out")
    target = Path(out)
    if target.is_dir():
        raise HadamRNNError(f"--out {str(out)!r}: expected a file path, got an existing folder")
    if target.exists() and not force:
        raise HadamRNNError(
            f"--out {str(out)!r}: expected a new file, got an existing one; pass --force to replace it (nothing was written)"
        )


# -- reports ---------------------------------------------------------------------------------------
def _new_report_page(directory: str | Path = ".") -> Path:
    page = Path(directory) / DEFAULT_REPORT_PAGE
    suffix = 1
    while page.exists():
        suffix += 1
        page = Path(directory) / f"{Path(DEFAULT_REPORT_PAGE).stem}-{suffix}.md"
    return page


def report_runs(
    run_dirs: Sequence[str | Path],
    out: str | Path | None = None,
    figures_dir: str | Path | None = None,
    archive_dir: str | Path | None = None,
    replace: bool = False,
) -> ReportResult:
    """What ``hadamrnn report`` does: :func:`hadamrnn.report.write_report` of ``run_dirs``, after
    archiving each into ``archive_dir`` (:func:`hadamrnn.archive.archive_run`) when it is given, in
    which case the report reads the archives.

    The runs are merged into the page's table: the rows already there stay (found again in
    ``archive_dir`` or where the page says they were read from), unless ``replace``. Without
    ``out`` the report goes to a new file, ``report.md`` in the current directory (``report-2.md``
    and so on when it exists).
    """
    out = Path(out) if out is not None else _new_report_page()
    search = [archive_dir] if archive_dir is not None else []
    # Refuse before archiving: a report that would drop rows must leave the archive untouched too.
    check_mergeable(out, [Path(run).resolve().name for run in run_dirs], search, replace)
    if archive_dir is not None:
        run_dirs = [archive_run(run, archive_dir) for run in run_dirs]
    return write_report(list(run_dirs), out, figures_dir, search_dirs=search, replace=replace)
