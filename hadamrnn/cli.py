"""The ``hadamrnn`` command line: arguments, printing and exit codes over :mod:`hadamrnn.workflows`.

    hadamrnn train copy                          # the demo: embedded config, no data needed
    hadamrnn train --config configs/copy_paper.toml
    hadamrnn train --resume runs/copy-demo-...   # continue an interrupted run exactly
    torchrun --nproc_per_node=2 -m hadamrnn train --config ...   # data-parallel (DDP) over 2 processes
    hadamrnn evaluate runs/copy-demo-...         # metrics of the latest checkpoint
    hadamrnn size --config configs/copy_paper.toml
    hadamrnn export runs/copy-demo-... --format hrnn --out copy.hrnn   # integer-only deployment
    hadamrnn export runs/copy-demo-... --format onnx --out copy.onnx   # the float model for onnxruntime
    hadamrnn report runs/* --archive results --out docs/results.md   # merge runs into the results page
    hadamrnn quote --config configs/pmnist_lstm.toml --accuracy 0.92 --epochs 100 \
        --citation "Authors, Title, Venue, table 2" --out results/pmnist-lstm-quoted   # a published figure
"""

from __future__ import annotations

import argparse
import csv
import json
import sys

from . import __version__, quoted, workflows
from .devices import DEVICE_CHOICES
from .errors import ConfigError, HadamRNNError, TrainingInterrupted, describe_os_error
from .workflows import BUILTIN_CONFIGS, EXPORT_FORMATS, builtin_config

__all__ = ["main", "builtin_config"]


def _train(args: argparse.Namespace) -> int:
    outcome = workflows.train(
        builtin=args.task,
        config_path=args.config,
        overrides=args.set,
        resume=args.resume,
        out=args.out,
        runs_dir=args.runs,
        data_dir=args.data_dir,
        progress=not args.no_progress,
        notify=print,
        device=args.device,
    )
    if outcome is None:  # a rank other than 0 of a data-parallel run: rank 0 reports
        return 0
    _print_result(outcome.metrics, outcome.naive_baseline)
    print(f"metrics: {outcome.metrics_path}\nplot:    {outcome.learning_curve}")
    return 0


def _print_result(metrics: dict, baseline: float | None) -> None:
    test = metrics["test"]
    print(f"\ntraining time: {metrics['train_seconds']:.1f} s over {metrics['steps']} steps ({metrics['epochs']} epochs)")
    print("test: " + ", ".join(f"{k} {v:.6g}" for k, v in test.items()))
    if baseline is not None:
        ratio = test["loss"] / baseline
        print(f"test CE {test['loss']:.3e}  vs naive baseline {baseline:.3e}  ({100 * ratio:.3g} % of it)")


def _evaluate(args: argparse.Namespace) -> int:
    print(json.dumps(workflows.evaluate_run(args.checkpoint, args.split, args.data_dir, args.device), indent=2))
    return 0


def _size(args: argparse.Namespace) -> int:
    config = workflows.resolve_config(args.task, args.config, args.set)
    if config is None:
        raise ConfigError("give a built-in task or --config PATH")
    print(workflows.config_model_size(config, args.data_dir))
    return 0


def _export(args: argparse.Namespace) -> int:
    result = workflows.export_checkpoint(
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
        force=args.force,
    )
    print(json.dumps(result.summary(), indent=2))
    return 0


def _report(args: argparse.Namespace) -> int:
    result = workflows.report_runs(args.runs, args.out, args.figures, archive_dir=args.archive, replace=args.replace)
    for note in result.skipped:
        print(f"note: {note}")
    for figure in result.figures:
        print(f"figure: {figure}")
    if result.kept:
        print(f"kept:   {len(result.kept)} row(s) of the existing table")
    if result.dropped:
        print(f"dropped (--replace): {', '.join(result.dropped)}")
    print(f"runs:   {len(result.runs)}")
    print(f"page:   {result.page}")
    print(f"details: {result.details}")
    return 0


def _quote(args: argparse.Namespace) -> int:
    config = workflows.resolve_config(None, args.config, args.set)
    path = quoted.write_quoted_run(
        args.out, config, accuracy=args.accuracy, epochs=args.epochs, citation=args.citation, note=args.note
    )
    print(f"quoted: {100 * args.accuracy:.2f} % accuracy after {args.epochs} epochs ({args.citation})")
    print(f"metrics: {path}")
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
        command.add_argument(
            "--data-dir", metavar="DIR",
            help="folder of the data sets (mnist/, imdb/, sst2/, qqp/, har/; relative task.path of arrays and "
            "idx_images tasks); default: $HADAMRNN_DATA",
        )

    def add_device_argument(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--device", default="cpu", metavar="DEVICE",
            help=f"where to compute: {', '.join(DEVICE_CHOICES)} (CUDA if available) or cuda:N (default: cpu)",
        )

    train = commands.add_parser("train", help="train a model")
    add_config_arguments(train)
    train.add_argument("--out", help="run directory (default: RUNS/<name>-<timestamp>)")
    train.add_argument("--runs", default="runs", help="parent of new run directories (default: runs)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its latest checkpoint (add --set train.epochs=N to lengthen or shorten it)")
    train.add_argument("--no-progress", action="store_true", help="hide the progress bar (it is hidden anyway when stdout or stderr is not a terminal)")
    add_device_argument(train)
    train.set_defaults(handler=_train)

    evaluate = commands.add_parser("evaluate", help="evaluate a checkpoint or a run directory")
    evaluate.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT", help="a run directory (its latest checkpoint) or one checkpoint directory")
    add_data_dir_argument(evaluate)
    evaluate.add_argument("--split", nargs="+", default=["val", "test"], choices=["train", "val", "test"], help="the splits to evaluate (default: val test)")
    add_device_argument(evaluate)
    evaluate.set_defaults(handler=_evaluate)

    size = commands.add_parser("size", help="print the model size table of a config (reads no data set)")
    add_config_arguments(size)
    size.set_defaults(handler=_size)

    export = commands.add_parser("export", help="quantize a checkpoint to integers (a .hrnn file or a C99 header), or write its float ONNX graph")
    export.add_argument("checkpoint", metavar="RUN_DIR_OR_CHECKPOINT", help="a run directory (its latest checkpoint) or one checkpoint directory")
    add_data_dir_argument(export)
    export.add_argument("--format", choices=EXPORT_FORMATS, default="hrnn", help="hrnn: the packed model file; c: one C99 header; onnx: the float model for onnxruntime (needs the onnx extra) (default: hrnn)")
    export.add_argument("--out", required=True, help="the file to write (atomically)")
    export.add_argument("--hidden-bits", type=int, default=16, metavar="B_H", help="bits of the hidden-state codes, 2..16 (default: 16)")
    export.add_argument("--input-bits", type=int, default=8, metavar="B_X", help="bits of the input codes, 2..8 (default: 8)")
    export.add_argument("--calibration-batches", type=int, default=8, metavar="N", help="training batches to calibrate the scales on (default: 8)")
    export.add_argument("--calibration", choices=("max", "percentile"), default="max", help="how activation ranges are measured (default: max)")
    export.add_argument("--percentile", type=float, default=99.99, help="the percentile of --calibration percentile (default: 99.99)")
    export.add_argument("--evaluate", choices=("val", "test"), help="also compare float and integer metrics on this split")
    export.add_argument("--force", action="store_true", help="replace an existing --out file (a file inside a run's checkpoints/ is always refused)")
    export.set_defaults(handler=_export)

    report = commands.add_parser("report", help="merge finished runs into the results table and figures of a page")
    report.add_argument("runs", nargs="+", metavar="RUN_DIR", help="run directories holding a metrics.json")
    report.add_argument(
        "--out", metavar="PAGE",
        help="the page whose results section is regenerated; its existing rows are kept (default: a new file, report.md)",
    )
    report.add_argument("--replace", action="store_true", help="write exactly the given runs, dropping the other rows of the existing table")
    report.add_argument("--figures", metavar="DIR", help="where the PNG figures go (default: _static/results/ next to --out)")
    report.add_argument("--archive", metavar="DIR", help="first copy each run's metrics, config, curves and (when under 300 kB) final weights into DIR/<run>/, and report from there")
    report.set_defaults(handler=_report)

    quote = commands.add_parser(
        "quote",
        help="write a quoted run: a published figure, with its citation, for the results page (no training)",
        description="Write a quoted run directory: the config, test accuracy, epochs and citation of a published "
        "figure, with the model size computed from the config (no weights, no data). hadamrnn report shows it "
        "beside the measured runs, marked (quoted: CITATION) and drawn hollow.",
    )
    quote.add_argument("--config", required=True, help="the TOML config of the published model (its task and model give the size)")
    quote.add_argument("--set", action="append", default=[], metavar="SECTION.KEY=VALUE", help="override a config value (TOML syntax)")
    quote.add_argument("--accuracy", required=True, type=float, help="the published test accuracy, as a fraction in [0, 1] (98.7 %% is 0.987)")
    quote.add_argument("--epochs", required=True, type=int, help="the published training budget, in epochs")
    quote.add_argument("--citation", required=True, help="where the figure is published: authors, title, venue, table")
    quote.add_argument("--note", help="what a reader should know beside it (e.g. why it is quoted rather than trained here)")
    quote.add_argument("--out", required=True, metavar="RUN_DIR", help="the quoted run directory: new, empty, or a quoted run (overwritten)")
    quote.set_defaults(handler=_quote)
    _add_debug_option(parser, commands)
    return parser


def _add_debug_option(parser: argparse.ArgumentParser, commands) -> None:
    """``--debug`` before or after the command: show the Python traceback of an error."""
    help_text = "on an error, show the Python traceback instead of a one-line message"
    parser.add_argument("--debug", action="store_true", help=help_text)
    for command in commands.choices.values():
        # SUPPRESS: a command's default must not reset a --debug given before the command.
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=help_text)


def _error_message(error: BaseException) -> str:
    """One line: the library's messages name what was expected and received; the rest are translated."""
    if isinstance(error, OSError) and not isinstance(error, HadamRNNError) and error.errno is not None:
        return describe_os_error(error)  # raised by the operating system: name the file and the cause
    if isinstance(error, (HadamRNNError, OSError)):
        return str(error)
    if isinstance(error, csv.Error):
        return f"malformed tab-separated data: {error}"
    return f"unexpected {type(error).__name__}: {error} (run again with --debug for the traceback)"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except TrainingInterrupted as interrupted:
        if args.debug:
            raise
        print(f"hadamrnn: {interrupted}", file=sys.stderr)
        if interrupted.resume_command:
            print(f"hadamrnn: resume with: {interrupted.resume_command}", file=sys.stderr)
        return interrupted.exit_status
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("hadamrnn: interrupted (nothing more was written)", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"hadamrnn: error: {_error_message(error)}", file=sys.stderr)
        return 2 if isinstance(error, (HadamRNNError, OSError, csv.Error)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
