"""docs/reliability.md: every test it names exists, every test of the reliability files is named
there, it has at least 60 cases, and it is in the table of contents."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reliability.md"
#: The test files written for the page: each of their tests must appear on it.
RELIABILITY_FILES = (
    "tests/test_run_directory.py",
    "tests/test_signals.py",
    "tests/test_checkpoint_safety.py",
    "tests/test_clear_errors.py",
    "tests/test_bounded_memory.py",
    "tests/test_packaging.py",
    "tests/test_file_modes.py",
)
NODE_ID = re.compile(r"`(tests/[\w/]+\.py::\w+(?:\[[^\]`]+\])?)`")


def table_rows() -> list[str]:
    rows = [line for line in PAGE.read_text(encoding="utf-8").splitlines() if re.match(r"\|\s*\d+\s*\|", line)]
    return rows


def collected(files: set[str]) -> set[str]:
    done = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider", *sorted(files)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return {line for line in done.stdout.splitlines() if "::" in line}


def test_every_case_names_existing_tests_and_every_reliability_test_is_named():
    rows = table_rows()
    numbers = [int(row.split("|")[1]) for row in rows]
    assert len(rows) >= 60 and numbers == list(range(1, len(rows) + 1)), numbers
    named = set()
    for row in rows:
        ids = NODE_ID.findall(row.rsplit("|", 2)[-2])
        assert ids, f"no test named in: {row[:80]}"
        named.update(ids)
    existing = collected({node.split("::")[0] for node in named} | set(RELIABILITY_FILES))
    missing = {node for node in named if node not in existing and not any(e.startswith(node + "[") for e in existing)}
    assert missing == set(), f"the page names tests that do not exist: {sorted(missing)}"
    unnamed = {
        node for node in existing
        if node.split("::")[0] in RELIABILITY_FILES and node not in named and node.split("[")[0] not in named
    }
    assert unnamed == set(), f"tests of the reliability files that the page does not name: {sorted(unnamed)}"


def test_the_page_is_in_the_table_of_contents():
    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    assert re.search(r"```\{toctree\}[^`]*\nreliability\n[^`]*```", index)
