"""The ``hadamrnn`` command line.

    hadamrnn train copy                          # the demo: embedded config, no data needed
    hadamrnn train --config configs/copy_paper.toml
    hadamrnn train --resume runs/copy-demo-...   # continue an interrupted run exactly
    torchrun --nproc_per_node=2 -m hadamrnn train --config ...   # data-parallel (DDP) over 2 processes
    hadamrnn evaluate runs/copy-demo-...         # metrics of the latest checkpoint
    hadamrnn size --config configs/copy_paper.toml
    hadamrnn export runs/copy-demo-... --format hrnn --out copy.hrnn   # integer-only deployment
    hadamrnn report runs/* --out docs/results.md  # results table and figures of finished runs
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
import time
from importlib import resources
from pathlib import Path

import torch

from . import __version__
from .checkpoint import load_checkpoint
from .config import RunConfig, apply_overrides, load_config, parse_config
from .distributed import DistributedContext, init_from_env
from .errors import ConfigError, HadamRNNError
from .export.pipeline import EXPORT_FORMATS, export_checkpoint
from .models import build_model, load_trained_model
from .report import plot_learning_curve, source_commit, write_metrics
from .size import model_size
from .tasks import build_task
from .training import Trainer

__all__ = ["main", "builtin_config"]

BUILTIN_CONFIGS = ("copy",)


def builtin_config(name: str) -> RunConfig:
    """An embedded config, shipped inside the package (``hadamrnn/configs/<name>.toml``)."""
    if name not in BUILTIN_CONFIGS:
        raise ConfigError(f"unknown built-in config {name!r}; built-in configs: {', '.join(BUILTIN_CONFIGS)}")
    with resources.as_file(resources.files("hadamrnn") / "configs" / f"{name}.toml") as path:
        return load_config(path)


def _resolve_config(args: argparse.Namespace) -> RunConfig | None:
    if args.task and args.config:
        raise ConfigError(f"give either a built-in task or --config, got both {args.task!r} and {args.config!r}")
    if args.config:
        config = load_config(args.config)
    elif args.task:
        config = builtin_config(args.task)
    else:
        return None
    return apply_overrides(config, args.set) if args.set else config


def _new_run_dir(args: argparse.Namespace, config: RunConfig) -> Path:
    if args.out:
        run_dir = Path(args.out)
        if run_dir.exists() and any(run_dir.iterdir()):
            raise HadamRNNError(
                f"run directory {str(run_dir)!r} already exists and is not empty; "
                "pass --resume to continue it, or choose another --out (nothing was overwritten)"
            )
        return run_dir
    stamp = time.strftime("%Y%m%d-%H%M%S")
    run_dir = Path(args.runs) / f"{config.name}-{stamp}"
    suffix = 1
    while run_dir.exists():
        suffix += 1
        run_dir = Path(args.runs) / f"{config.name}-{stamp}-{suffix}"
    return run_dir


def _decided_on_main(distributed: DistributedContext, decide):
    """Run ``decide`` on rank 0 only and hand its result, or its error, to every rank."""
    outcome = None
    if distributed.is_main:
        try:
            outcome = (True, decide())
        except HadamRNNError as error:
            outcome = (False, error)
    succeeded, value = distributed.broadcast_from_main(outcome)
    if not succeeded:
        raise value
    return value


def _train(args: argparse.Namespace) -> int:
    config = _resolve_config(args)
    # Under torchrun (WORLD_SIZE set) this joins the process group; otherwise one process.
    distributed = init_from_env()
    try:
        return _train_ranks(args, config, distributed)
    finally:
        distributed.close()


def _train_ranks(args: argparse.Namespace, config: RunConfig | None, distributed: DistributedContext) -> int:
    main_rank = distributed.is_main
    if args.resume:
        run_dir = Path(args.resume)
        checkpoint = load_checkpoint(run_dir)
        stored = parse_config(checkpoint.meta["config"], f"stored in {checkpoint.path}")
        # `--resume RUN --set train.epochs=N` lengthens or shortens the run (Trainer.resume checks).
        config = config or (apply_overrides(stored, args.set) if args.set else stored)
    elif config is None:
        raise ConfigError("nothing to train: give a built-in task (e.g. `hadamrnn train copy`), --config PATH or --resume RUN_DIR")
    else:
        run_dir = _decided_on_main(distributed, lambda: _new_run_dir(args, config))
    if config.train.num_threads:
        torch.set_num_threads(config.train.num_threads)
    torch.manual_seed(config.train.seed)
    task = build_task(config.task, config.train.seed, args.data_dir)
    model = build_model(config.model, task)
    # The code that trains: taken now, not when the run ends hours later.
    provenance = {"command": _command_line(distributed), "commit": source_commit()}
    trainer = Trainer(
        config, task, model, run_dir, progress=not args.no_progress, distributed=distributed, provenance=provenance
    )
    if args.resume:
        trainer.resume(checkpoint.path)
        if main_rank:
            print(f"resuming {run_dir} at step {trainer.step} (epoch {trainer.epochs_completed + 1})")
    elif main_rank:
        run_dir.mkdir(parents=True, exist_ok=True)
        print(f"run directory: {run_dir}")
    if main_rank:
        print(model_size(model))
    result = trainer.fit()
    if not main_rank:
        return 0
    metrics = {
        **result.metrics,
        "model_size": model_size(model).as_dict(),
        "command": trainer.provenance["command"],
        "world_size": distributed.world_size,
        "commit": trainer.provenance["commit"],
        "resumes": trainer.provenance["resumes"],
    }
    write_metrics(run_dir / "metrics.json", metrics)
    summary = task.summary()
    baseline = summary.get("naive_baseline")
    details = ", ".join(f"{key}={value}" for key, value in summary.items() if key not in ("task", "naive_baseline"))
    title = f"{config.name}: {summary['task']} ({details}), n={config.model.hidden_size}"
    plot = plot_learning_curve(run_dir / "learning_curve.png", result.history, title, baseline)
    _print_result(metrics, baseline)
    print(f"metrics: {run_dir / 'metrics.json'}\nplot:    {plot}")
    return 0


def _command_line(distributed: DistributedContext) -> str:
    """The command that ran, as it can be typed again (``sys.argv[0]`` is a path under ``-m``)."""
    arguments = shlex.join(sys.argv[1:])
    if distributed.enabled:
        per_node = int(os.environ.get("LOCAL_WORLD_SIZE", distributed.world_size))
        nodes = "" if per_node == distributed.world_size else f"--nnodes={distributed.world_size // per_node} "
        return f"torchrun {nodes}--nproc_per_node={per_node} -m hadamrnn {arguments}"
    program = "python -m hadamrnn" if Path(sys.argv[0]).name == "__main__.py" else Path(sys.argv[0]).name
    return f"{program} {arguments}"


def _print_result(metrics: dict, baseline: float | None) -> None:
    test = metrics["test"]
    print(f"\ntraining time: {metrics['train_seconds']:.1f} s over {metrics['steps']} steps ({metrics['epochs']} epochs)")
    print("test: " + ", ".join(f"{k} {v:.6g}" for k, v in test.items()))
    if baseline is not None:
        ratio = test["loss"] / baseline
        print(f"test CE {test['loss']:.3e}  vs naive baseline {baseline:.3e}  ({100 * ratio:.3g} % of it)")


def _evaluate(args: argparse.Namespace) -> int:
    trained = load_trained_model(args.checkpoint, args.data_dir)
    trainer = Trainer(trained.config, trained.task, trained.model, Path(args.checkpoint), progress=False)
    result = {split: trainer.evaluate(split) for split in args.split}
    print(json.dumps({"checkpoint": str(trained.checkpoint.path), "step": trained.checkpoint.meta["step"], **result}, indent=2))
    return 0


def _size(args: argparse.Namespace) -> int:
    config = _resolve_config(args)
    if config is None:
        raise ConfigError("give a built-in task or --config PATH")
    print(model_size(build_model(config.model, build_task(config.task, config.train.seed, args.data_dir))))
    return 0


def _export(args: argparse.Namespace) -> int:
    result = export_checkpoint(
        args.checkpoint,
        args.out,
        fmt=args.format,
        hidden_bits=args.hidden_bits,
        input_bits=args.input_bits,
        calibration_batches=args.calibration_batches,
        method=args.calibration,
        percentile=args.percentile,
        evaluate=args.evaluate,
        data_dir=args.data_dir,
    )
    print(json.dumps(result.summary(), indent=2))
    return 0


def _report(args: argparse.Namespace) -> int:
    from .results import archive_run, write_report  # imported on use: no other command needs it

    if args.archive:
        args.runs = [archive_run(run, args.archive) for run in args.runs]

    result = write_report(args.runs, args.out, args.figures)
    for note in result.skipped:
        print(f"note: {note}")
    for figure in result.figures:
        print(f"figure: {figure}")
    print(f"page:   {result.page}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hadamrnn", description="Binary and sparse-ternary orthogonal RNNs.")
    parser.add_argument("--version", action="version", version=f"hadamrnn {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    def add_config_arguments(command: argparse.ArgumentParser) -> None:
        command.add_argument("task", nargs="?", choices=BUILTIN_CONFIGS, help="a built-in config (the demo)")
        command.add_argument("--config", help="a TOML run config")
        command.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config value (TOML syntax)")
        add_data_dir_argument(command)

    def add_data_dir_argument(command: argparse.ArgumentParser) -> None:
        command.add_argument("--data-dir", metavar="DIR", help="folder of the data sets (mnist/, imdb/, sst2/, qqp/, har/); default: $HADAMRNN_DATA")

    train = commands.add_parser("train", help="train a model")
    add_config_arguments(train)
    train.add_argument("--out", help="run directory (default: RUNS/<name>-<timestamp>)")
    train.add_argument("--runs", default="runs", help="parent of new run directories (default: runs)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint (add --set train.epochs=N to lengthen or shorten it)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar")
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint or a run directory")
    evaluate.add_argument("checkpoint")
    add_data_dir_argument(evaluate)
    evaluate.add_argument("--split", nargs="+", default=["val", "test"], choices=["train", "val", "test"])
    evaluate.set_defaults(handler=_evaluate)

    size = commands.add_parser("size", help="print the model size table of a config")
    add_config_arguments(size)
    size.set_defaults(handler=_size)

    export = commands.add_parser("export", help="quantize a checkpoint to integers; write a .hrnn file or a C99 header")
    export.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT")
    add_data_dir_argument(export)
    export.add_argument("--format", choices=EXPORT_FORMATS, default="hrnn", help="hrnn: the packed model file; c: one C99 header (default: hrnn)")
    export.add_argument("--out", required=True, help="the file to write (atomically)")
    export.add_argument("--hidden-bits", type=int, default=16, metavar="B_H", help="bits of the hidden-state codes, 2..16 (default: 16)")
    export.add_argument("--input-bits", type=int, default=8, metavar="B_X", help="bits of the input codes, 2..8 (default: 8)")
    export.add_argument("--calibration-batches", type=int, default=8, metavar="N", help="training batches to calibrate the scales on (default: 8)")
    export.add_argument("--calibration", choices=("max", "percentile"), default="max", help="how activation ranges are measured (default: max)")
    export.add_argument("--percentile", type=float, default=99.99, help="the percentile of --calibration percentile (default: 99.99)")
    export.add_argument("--evaluate", choices=("val", "test"), help="also compare float and integer metrics on this split")
    export.set_defaults(handler=_export)

    report = commands.add_parser("report", help="write the results table and figures of finished runs into a page")
    report.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories holding a metrics.json")
    report.add_argument("--out", default="docs/results.md", help="the page whose results section is regenerated (default: docs/results.md)")
    report.add_argument("--figures", metavar="DIR", help="where the PNG figures go (default: _static/results/ next to --out)")
    report.add_argument("--archive", metavar="DIR", help="first copy each run's metrics, config, curves and (when under 300 kB) final weights into DIR/<run>/, and report from there")
    report.set_defaults(handler=_report)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except (HadamRNNError, FileNotFoundError) as error:
        print(f"hadamrnn: error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
