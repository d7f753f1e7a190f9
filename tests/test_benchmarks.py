"""The asv benchmark suite (benchmarks/, asv.conf.json): asv accepts it, a quick smoke run of the
shrunken parameter set passes without saving results, and every ``time_`` has a ``peakmem_``."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"


def unpaired_timings(source: str) -> list[str]:
    """``Class.time_x`` methods of ``source`` with no ``peakmem_x`` in the same class."""
    unpaired = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ClassDef):
            methods = {item.name for item in node.body if isinstance(item, ast.FunctionDef)}
            unpaired += [
                f"{node.name}.{name}" for name in sorted(methods)
                if name.startswith("time_") and "peakmem_" + name.removeprefix("time_") not in methods
            ]
    return unpaired


def benchmark_sources() -> dict[str, str]:
    return {path.name: path.read_text(encoding="utf-8") for path in sorted(BENCHMARKS.glob("bench_*.py"))}


def test_the_pairing_check_detects_a_missing_peakmem():
    assert unpaired_timings("class A:\n    def time_x(self): pass\n    def peakmem_y(self): pass\n") == ["A.time_x"]
    assert unpaired_timings("class A:\n    def time_x(self): pass\n    def peakmem_x(self): pass\n") == []


def test_every_time_benchmark_has_a_peakmem_partner():
    sources = benchmark_sources()
    assert sources, f"no benchmark modules (bench_*.py) in {BENCHMARKS}"
    timings = sum(len(re.findall(r"^\s+def time_", text, re.M)) for text in sources.values())
    assert timings >= 5, f"expected the suite's time_ benchmarks, found {timings}"
    unpaired = {name: found for name, text in sources.items() if (found := unpaired_timings(text))}
    assert not unpaired, f"time_ benchmarks without a peakmem_ partner: {unpaired}"


def asv(*arguments: str, env: dict | None = None, timeout: int) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "asv", *arguments], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_asv_check_passes():
    result = asv("check", "--python=same", timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No problems found" in result.stdout, result.stdout


def test_quick_smoke_run(tmp_path):
    """Every benchmark once (``--quick``) on the ``HADAMRNN_ASV_QUICK=1`` parameter set, nothing
    saved (``--dry-run``). The repository's configuration is copied with its results and HTML
    folders moved under ``tmp_path``, and HOME too (asv's machine file), so that the run can
    touch nothing of the checkout's or the user's, and the test can see that it saved nothing."""
    from asv.util import load_json

    config = load_json(str(ROOT / "asv.conf.json"), js_comments=True)
    config.update(
        repo=str(ROOT), benchmark_dir=str(BENCHMARKS), results_dir=str(tmp_path / "results"),
        html_dir=str(tmp_path / "html"), env_dir=str(tmp_path / "env"),
    )
    config_path = tmp_path / "asv.conf.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    env = {**os.environ, "HOME": str(tmp_path), "HADAMRNN_ASV_QUICK": "1"}
    env.pop("HADAMRNN_ASV_HEADLINE", None)
    env.pop("HADAMRNN_DATA", None)  # the sMNIST benchmarks must skip, not train for minutes
    machine = asv("machine", "--yes", "--machine", "ci-smoke", env=env, timeout=60)
    assert machine.returncode == 0, machine.stdout + machine.stderr
    result = asv(
        "--config", str(config_path), "run", "--python=same", "--quick", "--dry-run", "--show-stderr",
        "--machine", "ci-smoke", env=env, timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output  # asv run exits with 2 when a benchmark failed
    assert "failed" not in output, output
    # The integer runtimes agree bit for bit: the mismatch count is reported and is 0.
    assert re.search(r"CopyAccuracy\.track_mismatches\s+0\s*$", output, re.M), output
    # The ratios were measured (a number, not n/a or failed).
    assert re.search(r"track_training_dense_over_native\s+ok", output), output
    # Only the descriptions (of the machine, of the suite) may be written, never a result.
    saved = [
        path.name for path in (tmp_path / "results").rglob("*.json") if path.name not in ("machine.json", "benchmarks.json")
    ]
    assert not saved, f"--dry-run saved results: {saved}"


def test_copy_run_time_projects_the_paper_steps():
    """`python -m benchmarks.copy_run_time` times the native copy step and projects the paper's 40,000 steps."""
    from hadamrnn import native

    if not native.is_available():
        pytest.skip(f"the native extension is absent: {native.unavailable_reason()}")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.copy_run_time", "--repeats", "1"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert [line.split(" ")[0] for line in lines] == ["1", "2"]
    for line in lines:
        match = re.search(r"([\d.]+) ms per step \(median of 2, range [\d.]+-[\d.]+\); 40000 steps in ([\d.]+) min", line)
        assert match, line
        assert float(match[2]) == pytest.approx(40000 * float(match[1]) / 1000 / 60, rel=2e-3, abs=0.1)
