"""Command line: ``python -m hadamrnn_theory {verify,count,construct,orders}``.

Exit status, the same for every command:

- 0: done (``verify``: every claim passed or was skipped);
- 1: a check failed (``verify``: a claim failed);
- 2: bad input, refused before any work: an argument that does not parse, an order beyond a
  bound, an order with no Hadamard matrix or none known here, an unusable ``--json`` path.

Errors are one line on stderr, starting with ``error:``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import report
from .claims import claims_matching
from .enumeration import count_hadamard, count_weighing, counting_method
from .registry import SEARCH_LIMIT, hadamard, is_open, orders_below
from .verify import exit_status, run_claims

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hadamrnn_theory",
        description="Exact verification of the Hadamard constructions behind hadamrnn.",
        epilog="Exit status: 0 done, 1 a check failed, 2 bad input (refused before any work).",
    )
    commands = parser.add_subparsers(dest="command", required=True)

    verify = commands.add_parser("verify", help="check every claim and print a table")
    mode = verify.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="CI ranges (the default)")
    mode.add_argument("--full", action="store_true", help="extended ranges")
    verify.add_argument("--json", type=Path, metavar="PATH", help="also write the table as JSON")
    verify.add_argument("--markdown", action="store_true", help="print a Markdown table instead")
    verify.add_argument(
        "--only", action="append", metavar="PREFIX", help="only claims whose id starts so"
    )
    verify.set_defaults(run=_verify)

    count = commands.add_parser("count", help="count matrices (the method goes to stderr)")
    kinds = count.add_subparsers(dest="kind", required=True)
    count_h = kinds.add_parser("hadamard", help="Hadamard matrices of order N")
    count_h.add_argument("n", type=int, metavar="N")
    count_h.set_defaults(run=_count_hadamard)
    count_w = kinds.add_parser("weighing", help="weighing matrices W(N, W)")
    count_w.add_argument("n", type=int, metavar="N")
    count_w.add_argument("weight", type=int, metavar="W")
    count_w.set_defaults(run=_count_weighing)

    construct = commands.add_parser("construct", help="print a Hadamard matrix of order N")
    construct.add_argument("n", type=int, metavar="N")
    construct.set_defaults(run=_construct)

    orders = commands.add_parser("orders", help="which orders the registry can construct")
    orders.add_argument("--below", type=int, required=True, metavar="N")
    orders.set_defaults(run=_orders)
    return parser


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return EXIT_BAD_INPUT


def _verify(args: argparse.Namespace) -> int:
    mode = "full" if args.full else "quick"
    claims = claims_matching(args.only)
    if not claims:
        return _error(f"no claim id starts with {', '.join(args.only)}")
    if args.json is not None:
        problem = _unwritable(args.json)
        if problem:
            return _error(f"cannot write the JSON table to {args.json}: {problem}")
    if args.markdown:
        results = run_claims(claims, args.full)
        print(report.markdown_table(results))
    else:
        print(report.text_header(), flush=True)
        results = run_claims(claims, args.full, lambda r: print(report.text_row(r), flush=True))
    print(report.summary(results, mode))
    if args.json is not None:
        table = json.dumps(report.as_json(results, mode), indent=2, ensure_ascii=False)
        args.json.write_text(table + "\n", encoding="utf-8")
    return exit_status(results)


def _unwritable(path: Path) -> str | None:
    """Why ``path`` cannot take the JSON table, checked before the run starts, or None."""
    if path.is_dir():
        return "it is a folder"
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        return f"the folder {folder} does not exist"
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        return "it is not writable"
    return None


def _count_hadamard(args: argparse.Namespace) -> int:
    return _print_count(lambda: count_hadamard(args.n), lambda: counting_method(args.n))


def _count_weighing(args: argparse.Namespace) -> int:
    return _print_count(lambda: count_weighing(args.n, args.weight), None)


def _print_count(count: Callable[[], int], method: Callable[[], str] | None) -> int:
    try:
        # The method is computed first: it validates the arguments and costs nothing.
        description = method() if method is not None else None
        value = count()
    except ValueError as error:
        return _error(str(error))
    print(value)
    if description is not None:
        print(f"method: {description}", file=sys.stderr)
    return EXIT_OK


def _construct(args: argparse.Namespace) -> int:
    try:
        matrix = hadamard(args.n)
    except ValueError as error:
        return _error(str(error))
    for row in matrix:
        print("".join("+" if x == 1 else "-" for x in row))
    return EXIT_OK


def _orders(args: argparse.Namespace) -> int:
    if args.below > SEARCH_LIMIT:
        return _error(f"--below must be at most {SEARCH_LIMIT} (the largest order the registry "
                      f"searches), got {args.below}")
    try:
        rows = orders_below(args.below)
    except ValueError as error:
        return _error(str(error))
    print("order  construction")
    open_orders, left_out = [], []
    for n, construction in rows:
        if construction is not None:
            print(f"{n:5d}  {construction}")
        elif is_open(n):
            open_orders.append(n)
            print(f"{n:5d}  open: no Hadamard matrix of order {n} is known")
        else:
            left_out.append(n)
            print(f"{n:5d}  none known to this library")
    built = len(rows) - len(open_orders) - len(left_out)
    print(
        f"constructed {built} of {len(rows)} orders below {args.below} "
        "(1, 2 and the multiples of 4)"
    )
    print(f"open ({len(open_orders)}): {', '.join(map(str, open_orders)) or 'none'}")
    print(f"left out ({len(left_out)}): {', '.join(map(str, left_out)) or 'none'}")
    return EXIT_OK

