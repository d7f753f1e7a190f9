"""The README's promises: the quickstart runs, and CI runs exactly the README's test command."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def test_quickstart_runs():
    block = re.search(r"## Quickstart\s+```python\n(.*?)```", README, re.S).group(1)
    assert len(block.strip().splitlines()) <= 10
    result = subprocess.run([sys.executable, "-c", block], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert float(lines[0]) < 1e-5 and lines[1] == "True"


def test_ci_runs_the_readme_test_command():
    commands = re.findall(r"```bash\n(python3 -m venv .*?)\n```", README)
    assert len(commands) == 2, commands
    demo, tests = commands
    assert "hadamrnn train copy" in demo and "pytest" in tests
    ci = (ROOT / ".ci" / "run").read_text()
    assert tests in ci.splitlines()


def test_readme_benchmark_commands_run():
    """The Benchmarks section publishes and previews the committed history and extends it, with
    modules that exist (the publishing itself: tests/test_benchmarks.py)."""
    block = re.search(r"## Benchmarks\n.*?```bash\n(.*?)```", README, re.S).group(1)
    commands = [line.split("#")[0].strip() for line in block.splitlines()]
    assert ".venv/bin/python -m benchmarks.site preview" in commands, commands
    assert ".venv/bin/python -m benchmarks.history" in commands, commands
    for module in ("benchmarks.site", "benchmarks.history"):
        result = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True, cwd=ROOT, timeout=120)
        assert result.returncode == 0 and "usage:" in result.stdout, result.stderr
