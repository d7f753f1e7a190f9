"""The command line, through subprocesses, and the verify runner's exit logic in process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hadamrnn_theory.claims import Claim
from hadamrnn_theory.errors import ClaimFailed, ClaimSkipped
from hadamrnn_theory.report import as_json, format_duration, markdown_table
from hadamrnn_theory.verify import FAIL, PASS, SKIPPED, exit_status, run_claims

REPOSITORY = Path(__file__).resolve().parents[2]


def run_theory(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hadamrnn_theory", *args],
        cwd=REPOSITORY,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_construct_prints_signs():
    done = run_theory("construct", "4")
    assert done.returncode == 0
    assert done.stdout.split() == ["++++", "+-+-", "++--", "+--+"]


def test_construct_12_is_hadamard():
    done = run_theory("construct", "12")
    rows = done.stdout.split()
    assert done.returncode == 0 and len(rows) == 12
    signs = [[1 if c == "+" else -1 for c in row] for row in rows]
    assert all(
        sum(a * b for a, b in zip(signs[i], signs[j])) == (12 if i == j else 0)
        for i in range(12)
        for j in range(12)
    )


@pytest.mark.parametrize(
    ("n", "reason"),
    [
        ("6", "n must be 1, 2 or a multiple of 4, got 6"),
        ("716", "no construction known to this library for n=716: the order is open"),
        ("668", "668 is the smallest order for which existence is open"),
    ],
)
def test_construct_refuses_with_reason(n, reason):
    done = run_theory("construct", n)
    assert done.returncode == 2
    assert done.stdout == ""
    assert reason in done.stderr


def test_count_hadamard():
    assert run_theory("count", "hadamard", "8").stdout.strip() == "4954521600"
    assert run_theory("count", "hadamard", "12").stdout.strip() == "20251509535014912000"


def test_count_weighing():
    assert run_theory("count", "weighing", "4", "3").stdout.strip() == "3072"


def test_count_refuses_out_of_range():
    done = run_theory("count", "hadamard", "20")
    assert done.returncode == 2
    assert "got 20" in done.stderr


def test_orders():
    done = run_theory("orders", "--below", "100")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["order", "construction"]
    assert "   12  Paley I, q=11" in lines
    assert "   92  Williamson, m=23" in lines
    assert lines[-2:] == ["open (0): none", "left out (0): none"]


def test_verify_subset_with_json(tmp_path):
    path = tmp_path / "table.json"
    only = ["--only", "sylvester.", "--only", "count.hadamard.8"]
    done = run_theory("verify", "--quick", *only, "--json", str(path))
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[0].split()[:3] == ["result", "claim", "method"]
    assert "3 claims: 3 passed, 0 failed, 0 skipped" in done.stdout
    table = json.loads(path.read_text())
    assert table["mode"] == "quick"
    assert [row["id"] for row in table["claims"]] == [
        "sylvester.hadamard",
        "sylvester.spectrum",
        "count.hadamard.8",
    ]
    assert all(row["result"] == "PASS" and type(row["time_ms"]) is int for row in table["claims"])


def test_verify_markdown():
    done = run_theory("verify", "--markdown", "--only", "count.hadamard.8")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert lines[0] == "| result | claim | method | range | time | statement |"
    assert lines[2].startswith("| PASS | `count.hadamard.8` | enumeration | n = 8 |")


def test_verify_unknown_prefix():
    done = run_theory("verify", "--only", "no.such.claim")
    assert done.returncode == 2


def _claim(claim_id: str, check) -> Claim:
    return Claim(claim_id, "A statement.", "enumeration", check, 1, 2, "n ≤ {limit}")


def _fails(limit: int) -> str:
    raise ClaimFailed(f"counterexample at {limit}")


def _skips(limit: int) -> str:
    raise ClaimSkipped("library absent")


def _crashes(limit: int) -> str:
    return str(1 // 0)


def test_exit_status_and_outcomes():
    results = run_claims(
        [_claim("a.pass", lambda limit: f"ok {limit}"), _claim("b.skip", _skips)], full=True
    )
    outcomes = [(r.status, r.detail, r.limit) for r in results]
    assert outcomes == [(PASS, "ok 2", 2), (SKIPPED, "library absent", 2)]
    assert exit_status(results) == 0
    failing = run_claims([_claim("c.fail", _fails), _claim("d.crash", _crashes)], full=False)
    assert [r.status for r in failing] == [FAIL, FAIL]
    assert failing[0].detail == "counterexample at 1"
    assert failing[1].detail.startswith("ZeroDivisionError")
    assert exit_status(results + failing) == 1


def test_report_formats():
    results = run_claims([_claim("a.pass|pipe", lambda limit: "fine")], full=False)
    assert "a.pass\\|pipe" in markdown_table(results)
    assert as_json(results, "quick")["claims"][0]["range"] == "n ≤ 1"
    assert format_duration(1_234_567_890) == "1.234 s"
    assert format_duration(5_000_000) == "0.005 s"


def test_count_hadamard_16_prints_the_published_total_and_its_method():
    done = run_theory("count", "hadamard", "16")
    assert done.returncode == 0, done.stderr
    assert done.stdout == "88526812916367202104587059200000\n"
    assert done.stderr.startswith("method: classification into the 5 equivalence classes")


@pytest.mark.parametrize(
    ("args", "bound"),
    [
        (("construct", "1000000000"), "at most 4096"),
        (("orders", "--below", "1000000000"), "at most 10000"),
        (("count", "hadamard", "1000000000"), "n <= 16"),
        (("count", "weighing", "1000000000", "3"), "n <= 8"),
    ],
)
def test_huge_sizes_are_refused_at_once(args, bound):
    start = time.perf_counter()
    done = run_theory(*args)
    elapsed = time.perf_counter() - start
    assert done.returncode == 2
    assert done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")
    assert bound in done.stderr
    assert elapsed < 2, f"{args} took {elapsed:.1f} s"


def test_orders_reports_the_open_orders():
    done = run_theory("orders", "--below", "1000")
    assert done.returncode == 0
    lines = done.stdout.splitlines()
    assert "  668  open: no Hadamard matrix of order 668 is known" in lines
    assert "  716  open: no Hadamard matrix of order 716 is known" in lines
    assert "  956  Goethals-Seidel difference sets, v=239" in lines
    assert lines[-3:] == [
        "constructed 248 of 251 orders below 1000 (1, 2 and the multiples of 4)",
        "open (3): 668, 716, 892",
        "left out (0): none",
    ]


@pytest.mark.parametrize("target", ["missing/table.json", "."])
def test_verify_json_path_is_checked_before_the_run(tmp_path, target):
    start = time.perf_counter()
    done = run_theory("verify", "--json", str(tmp_path / target))
    assert done.returncode == 2
    assert done.stdout == ""  # no claim ran
    assert done.stderr.startswith(f"error: cannot write the JSON table to {tmp_path / target}")
    assert time.perf_counter() - start < 5


def test_exit_status_convention():
    assert run_theory("construct", "12").returncode == 0
    assert run_theory("construct", "10").returncode == 2
    assert run_theory("count", "hadamard", "10").returncode == 0  # the count is 0
    assert run_theory("count", "hadamard", "0").returncode == 2
    assert run_theory("construct", "twelve").returncode == 2  # argparse
    assert run_theory("verify", "--only", "no.such.claim").returncode == 2
