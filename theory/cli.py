"""Command line: ``python -m hadamrnn_theory {verify,count,construct,orders}``."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Callable, Sequence

from . import report
from .claims import claims_matching
from .enumeration import count_hadamard, count_weighing
from .errors import HadamardOrderError
from .registry import SMALLEST_OPEN_ORDER, hadamard, orders_below
from .verify import exit_status, run_claims


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args = _parser().parse_args(argv)
    return args.run(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m hadamrnn_theory",
        description="Exact verification of the Hadamard constructions behind hadamrnn.",
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

    count = commands.add_parser("count", help="count matrices by search")
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


def _verify(args: argparse.Namespace) -> int:
    mode = "full" if args.full else "quick"
    claims = claims_matching(args.only)
    if not claims:
        print(f"error: no claim id starts with {args.only}", file=sys.stderr)
        return 2
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


def _count_hadamard(args: argparse.Namespace) -> int:
    return _print_count(lambda: count_hadamard(args.n))


def _count_weighing(args: argparse.Namespace) -> int:
    return _print_count(lambda: count_weighing(args.n, args.weight))


def _print_count(count: Callable[[], int]) -> int:
    try:
        print(count())
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


def _construct(args: argparse.Namespace) -> int:
    try:
        matrix = hadamard(args.n)
    except HadamardOrderError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    for row in matrix:
        print("".join("+" if x == 1 else "-" for x in row))
    return 0


def _orders(args: argparse.Namespace) -> int:
    rows = orders_below(args.below)
    print("order  construction")
    left_out = []
    for n, construction in rows:
        if construction is None:
            left_out.append(n)
            open_note = "; existence open" if n == SMALLEST_OPEN_ORDER else ""
            print(f"{n:5d}  none known to this library{open_note}")
        else:
            print(f"{n:5d}  {construction}")
    print(
        f"constructed {len(rows) - len(left_out)} of {len(rows)} orders below {args.below} "
        "(1, 2 and the multiples of 4)"
    )
    print(f"left out ({len(left_out)}): {', '.join(map(str, left_out)) or 'none'}")
    return 0
