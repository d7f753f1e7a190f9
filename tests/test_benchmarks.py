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
    result = asv("check", "--python=same", timeout=600)  # imports torch and the suite: minutes on a loaded machine
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
        "--machine", "ci-smoke", env=env, timeout=900,
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


def test_copy_run_time_compares_the_kept_loss_gradients():
    """`--formed-again` times both backwards, interleaved, and prints the ratio of their medians."""
    from hadamrnn import native

    if not native.is_available():
        pytest.skip(f"the native extension is absent: {native.unavailable_reason()}")
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.copy_run_time", "--repeats", "1", "--formed-again"],
        capture_output=True, text=True, timeout=300, cwd=ROOT,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    medians = {}
    for line in lines[:4]:
        match = re.fullmatch(r"(\d) thread\(s\) \((kept|formed again)\): ([\d.]+) ms per step .*", line)
        assert match, line
        medians[match[1], match[2]] = float(match[3])
    assert set(medians) == {(threads, way) for threads in "12" for way in ("kept", "formed again")}
    for threads, line in zip("12", lines[4:]):
        match = re.fullmatch(rf"{threads} thread\(s\): formed again / kept ([\d.]+)x", line)
        assert match, line
        expected = medians[threads, "formed again"] / medians[threads, "kept"]
        assert float(match[1]) == pytest.approx(expected, abs=0.02)  # from unrounded medians
    assert len(lines) == 6


# The history: one parameter set, incremental. -------------------------------------------------


def write_point(directory: Path, sha: str, env_vars: dict, results: dict) -> None:
    """A result file as asv writes it and benchmarks.history normalises it."""
    from benchmarks import history

    columns = ["result", "params", "version", "started_at", "duration"]
    data = {
        "commit_hash": sha, "env_name": history.ENV_NAME, "env_vars": env_vars, "params": {}, "python": "3.11",
        "requirements": {}, "result_columns": columns, "version": 2, "date": 0, "durations": {},
        "results": {name: [[1.0], params, version, 0, 1.0] for name, (version, params) in results.items()},
    }
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{sha[:8]}-{history.ENV_NAME}.json").write_text(json.dumps(data), encoding="utf-8")


def test_history_measures_a_commit_unless_its_point_has_the_set_and_todays_benchmarks(tmp_path, monkeypatch):
    from benchmarks import history
    from benchmarks.common import HISTORY_SET

    monkeypatch.setattr(history, "RESULTS", tmp_path)
    suite = {
        "bench_a.A.time_x": {"version": "v1", "params": [["'short'"]]},
        "bench_a.A.track_y": {"version": "w1", "params": []},
        "version": 2,
    }
    current = {"bench_a.A.time_x": ("v1", [["'short'"]]), "bench_a.A.track_y": ("w1", [])}
    machine = tmp_path / "m"
    assert history.why_measure("m", "a" * 40, suite) == "not recorded"
    write_point(machine, "a" * 40, HISTORY_SET, current)
    assert history.why_measure("m", "a" * 40, suite) is None
    write_point(machine, "b" * 40, {}, current)  # the full set of an earlier run
    assert "another parameter set" in history.why_measure("m", "b" * 40, suite)
    write_point(machine, "c" * 40, HISTORY_SET, {**current, "bench_a.A.time_x": ("v0", [["'short'"]])})
    assert history.why_measure("m", "c" * 40, suite) == "bench_a.A.time_x has changed since"
    write_point(machine, "d" * 40, HISTORY_SET, {**current, "bench_a.A.time_x": ("v1", [["'full'"], ["'short'"]])})
    assert history.why_measure("m", "d" * 40, suite) == "bench_a.A.time_x was recorded with other parameters"
    write_point(machine, "e" * 40, HISTORY_SET, {"bench_a.A.time_x": ("v1", [["'short'"]])})
    assert history.why_measure("m", "e" * 40, suite) == "no result for bench_a.A.track_y"


def test_history_records_the_set_and_a_stable_environment_name(tmp_path, monkeypatch):
    from benchmarks import history
    from benchmarks.common import HISTORY_SET

    monkeypatch.setattr(history, "RESULTS", tmp_path)
    raw = {"commit_hash": "f" * 40, "env_name": "existing-py_x_bin_python", "env_vars": {}, "params": {"python": "/x/bin/python"},
           "python": "/x/bin/python", "results": {}}
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "ffffffff-existing-py_x_bin_python.json").write_text(json.dumps(raw), encoding="utf-8")
    history.normalise_results("m")
    files = sorted(path.name for path in (tmp_path / "m").iterdir())
    assert files == [f"ffffffff-{history.ENV_NAME}.json"]
    data = json.loads((tmp_path / "m" / files[0]).read_text(encoding="utf-8"))
    assert data["env_vars"] == HISTORY_SET == {"HADAMRNN_ASV_QUICK": "1", "HADAMRNN_ASV_HEADLINE": "1"}
    assert data["env_name"] == history.ENV_NAME and "/" not in data["python"]


def test_history_selects_from_the_suites_first_commit(monkeypatch):
    from benchmarks import history

    commits = [f"{index:040x}" for index in range(6)]
    monkeypatch.setattr(history, "has_path", lambda sha, path: int(sha, 16) >= 2)
    assert history.select_commits(commits, None, None) == commits[2:]
    assert history.select_commits(commits, None, 2) == commits[-2:]


def test_history_measures_the_changes_of_the_code_first(monkeypatch):
    from benchmarks import history

    plan = ["a", "b", "c", "d", "e"]
    monkeypatch.setattr(history, "changes_code", lambda sha: sha in ("b", "d"))
    assert history.code_first(plan) == ["a", "b", "d", "c", "e"]  # the oldest is the baseline


def test_a_commit_changes_the_code_when_it_touches_the_package():
    from benchmarks import history

    first = subprocess.run(["git", "rev-list", "--max-parents=0", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.split()
    assert all(history.changes_code(sha) for sha in first)  # a root commit
    # 6918c8d added the benchmark suite only; its parent 35193b0 added the C kernels.
    if subprocess.run(["git", "cat-file", "-e", "6918c8d^{commit}"], cwd=ROOT).returncode == 0:
        assert not history.changes_code("6918c8d") and history.changes_code("35193b0")


def test_history_waits_for_the_load_to_fall(monkeypatch):
    from benchmarks import history

    loads, sleeps = iter([5.0, 3.5, 2.9]), []
    monkeypatch.setattr(history.os, "getloadavg", lambda: (next(loads), 0.0, 0.0))
    monkeypatch.setattr(history.time, "sleep", sleeps.append)
    history.wait_for_load(None)
    assert sleeps == []  # no limit: no look at the load
    history.wait_for_load(3.0, poll=7.0)
    assert sleeps == [7.0, 7.0]


def test_the_committed_history_has_one_parameter_set():
    """Every committed point was measured with the history's set: no graph mixes two sets."""
    from benchmarks import history
    from benchmarks.common import HISTORY_SET

    folder = f"benchmarks/results/{history.DEFAULT_MACHINE}"
    tracked = subprocess.run(["git", "ls-files", folder], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    points = [ROOT / name for name in tracked if not name.endswith("/machine.json")]
    assert points, "no committed history"
    assert all(path.name.endswith(f"-{history.ENV_NAME}.json") for path in points), points
    other = {path.name: data.get("env_vars") for path in points
             if (data := json.loads(path.read_text(encoding="utf-8"))).get("env_vars") != HISTORY_SET}
    assert not other, f"points measured with another set: {other}"


# The published site: nothing from the network. ------------------------------------------------


def test_the_network_check_detects_remote_resources(tmp_path):
    from benchmarks import site

    (tmp_path / "index.html").write_text(
        '<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//cdn.example/y.css">'
        '<script src="local.js"></script><a href="https://example.org/">a link, not a load</a>', encoding="utf-8")
    (tmp_path / "style.css").write_text("a { background: url('https://cdn.example/z.png') } b { background: url(local.png) }",
                                        encoding="utf-8")
    assert site.external_resources(tmp_path) == [
        "index.html: https://cdn.example/x.js", "index.html: //cdn.example/y.css", "style.css: https://cdn.example/z.png",
    ]


#: The vendored files that are byte for byte the ones asv's page names (same release, same form).
SAME_BYTES = {
    "jquery/jquery.min.js", "flot-orderbars/jquery.flot.orderBars.js", "blueimp-md5/md5.min.js",
    "bootstrap/js/bootstrap.min.js", "bootstrap/css/bootstrap.min.css",
}


def test_vendored_files_are_what_asvs_page_loads():
    """Every remote resource of the installed asv's page has a vendored copy, under a licence; the
    copies listed in SAME_BYTES match the page's integrity hashes, and only they."""
    import base64
    import hashlib

    import asv

    from benchmarks import site

    www = Path(asv.__file__).parent / "www"
    remote = {reference.split(": ", 1)[1] for reference in site.external_resources(www)}
    assert remote == set(site.VENDORED), (sorted(remote - set(site.VENDORED)), sorted(set(site.VENDORED) - remote))
    template = (www / "index.html").read_text(encoding="utf-8")
    for url, local in site.VENDORED.items():
        tag = next(tag.group(0) for tag in site._LOADING_TAG.finditer(template) if url in tag.group(0))
        algorithm, expected = re.search(r'integrity="(sha\d+)-([^"]+)"', tag).groups()
        digest = base64.b64encode(hashlib.new(algorithm, (site.ASSETS / local).read_bytes()).digest()).decode()
        assert (digest == expected) == (local in SAME_BYTES), (local, digest, expected)
    assert "version 0.8.3." in (site.ASSETS / "flot" / "jquery.flot.js").read_text(encoding="utf-8")[:100]
    for package in sorted({Path(local).parts[0] for local in site.VENDORED.values()}):
        files = list((site.ASSETS / package).iterdir())
        assert any(path.name.startswith("LICENSE") for path in files) or all(
            "mit license" in path.read_text(encoding="utf-8")[:400].lower() for path in files), package


def test_published_site_loads_nothing_from_the_network_and_previews(tmp_path):
    """``python -m benchmarks.site publish`` builds the site from the committed results with the
    vendored files in place; ``preview`` serves it on the loopback address."""
    import urllib.request

    from benchmarks import site

    html = tmp_path / "html"
    result = subprocess.run([sys.executable, "-m", "benchmarks.site", "publish", "--html-dir", str(html)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
    assert site.external_resources(html) == []
    index = (html / "index.html").read_text(encoding="utf-8")
    for local in site.VENDORED.values():
        assert f'"{site.VENDOR}/{local}"' in index, local
        assert (html / site.VENDOR / local).is_file(), local
    assert "integrity=" not in index and "crossorigin=" not in index
    graphs = list((html / "graphs").rglob("*.json"))
    assert any("bench_long.LongSequenceStep.time_step" in str(path) for path in graphs), "no graph of the long steps"

    server = subprocess.Popen([sys.executable, "-m", "benchmarks.site", "preview", "--no-publish", "--html-dir", str(html),
                               "--port", "0"], cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        url = re.search(r"http://127\.0\.0\.1:\d+/", server.stdout.readline())[0]
        with urllib.request.urlopen(url + "index.html", timeout=30) as response:
            assert response.read().decode() == index
        with urllib.request.urlopen(url + f"{site.VENDOR}/jquery/jquery.min.js", timeout=30) as response:
            assert response.read() == (site.ASSETS / "jquery" / "jquery.min.js").read_bytes()
    finally:
        server.terminate()
        server.wait(timeout=30)
