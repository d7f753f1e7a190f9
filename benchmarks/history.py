"""Run today's benchmark suite over the last commits of main, then build the asv site.

    python -m benchmarks.history --last 10            # every commit, full parameter set
    python -m benchmarks.history --last 10 --quick-older   # HADAMRNN_ASV_QUICK=1 but for the newest
    .asv/history-venv/bin/python -m asv preview       # browse .asv/html

For each commit of ``main`` (first parent, oldest first) that has the C kernels
(``hadamrnn/native.py``), it

1. checks the commit out in a detached git worktree under ``.asv/worktrees/``;
2. installs that worktree, C extension included, into a venv of its own,
   ``.asv/history-venv`` (``pip install --no-deps --no-build-isolation -e``), so that
   ``import hadamrnn`` there loads that commit's code. The project's ``.venv``, which other
   processes import hadamrnn from, is never touched;
3. runs ``asv run --python=same --set-commit-hash <sha>`` with that venv's Python and the
   benchmark suite of the *current* checkout (old commits get today's benchmarks; one whose API
   is missing is skipped by its ``setup``);
4. removes the worktree.

Commits without the kernels are skipped with a message. The results go to the committed
``benchmarks/results/<machine>/`` (``--machine``, default ``hadamrnn-ref-2core``); at the end
``asv publish`` writes the HTML to ``.asv/html``. Whatever happens, the worktrees are removed
and hadamrnn is uninstalled from the history venv (it would point at a removed worktree).

The history venv is created on first use (``python -m venv`` and the pinned constraints of
``requirements/constraints.txt``; pip reuses its cache, so no download is needed when the
project's venv was installed on this machine).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".asv"
DEFAULT_VENV = STATE / "history-venv"
WORKTREES = STATE / "worktrees"
RESULTS = ROOT / "benchmarks" / "results"  # results_dir of asv.conf.json
DEFAULT_MACHINE = "hadamrnn-ref-2core"
#: A commit "has the kernels" when it holds this file (the native backend landed with it).
KERNELS_MARKER = "hadamrnn/native.py"


def log(message: str) -> None:
    print(f"[history] {message}", flush=True)


def run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(part) for part in command))
    return subprocess.run([str(part) for part in command], check=True, **kwargs)


def git(*arguments: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *arguments], check=True, capture_output=True, text=True).stdout


def first_parent_commits(branch: str, count: int) -> list[str]:
    """The last ``count`` commits of ``branch`` along first parents, oldest first."""
    return git("rev-list", "--first-parent", f"--max-count={count}", branch).split()[::-1]


def has_kernels(sha: str) -> bool:
    return subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{sha}:{KERNELS_MARKER}"], capture_output=True
    ).returncode == 0


def recorded_before(machine: str, sha: str) -> bool:
    """Whether asv has a result file for ``sha`` on ``machine`` (named ``<sha[:8]>-<env>.json``)."""
    return any((RESULTS / machine).glob(f"{sha[:8]}-*.json"))


#: The environment name the committed results carry. asv names an "existing" environment after
#: the absolute path of its Python (``existing-py_work_..._bin_python``), which would put a path of
#: this machine into the tracked files and split one history into one series per checkout.
ENV_NAME = "existing-history-venv"


def normalise_results(machine: str) -> None:
    """Rename asv's result files of ``machine`` to :data:`ENV_NAME`, with the Python path
    replaced by its version; atomically (temporary file, then ``os.replace``)."""
    for path in sorted((RESULTS / machine).glob("*-existing-py*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        data["env_name"] = ENV_NAME
        data["python"] = version
        data.setdefault("params", {})["python"] = version
        target = path.with_name(f"{data['commit_hash'][:8]}-{ENV_NAME}.json")
        temporary = target.with_suffix(".json.tmp")
        temporary.write_text(json.dumps(data, indent=4, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(temporary, target)
        if path != target:
            path.unlink()


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


def ensure_venv(venv: Path) -> Path:
    """The history venv's Python, creating the venv (pinned dependencies, no hadamrnn) if needed."""
    python = venv_python(venv)
    if not python.exists():
        log(f"creating {venv}")
        run([sys.executable, "-m", "venv", venv])
        constraints = ROOT / "requirements" / "constraints.txt"
        # The runtime dependencies of hadamrnn, asv, and what building its extension needs.
        run([python, "-m", "pip", "install", "-q", "-c", constraints, "torch", "numpy", "safetensors", "pydantic",
             "tqdm", "matplotlib", "asv", "setuptools>=68", "wheel"])
    return python


def install(python: Path, source: Path) -> None:
    """Install ``source`` (a checkout) editable into the history venv, building its C extension."""
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "-e", source],
        stdout=subprocess.DEVNULL)


def check_install(python: Path, worktree: Path) -> str | None:
    """None if ``import hadamrnn`` in the venv loads ``worktree``'s code with its C extension;
    otherwise why not. Run from an empty directory, as asv runs benchmarks."""
    probe = (
        "import hadamrnn, hadamrnn.native as n; "
        "print(hadamrnn.__file__); print(n.is_available()); print(n.unavailable_reason())"
    )
    with tempfile.TemporaryDirectory() as empty:
        result = subprocess.run([str(python), "-c", probe], cwd=empty, capture_output=True, text=True)
    if result.returncode != 0:
        return f"import hadamrnn failed: {result.stderr.strip().splitlines()[-1:]}"
    location, available, reason = result.stdout.strip().splitlines()[-3:]
    if not Path(location).resolve().is_relative_to(worktree.resolve()):
        return f"import hadamrnn loads {location}, not the worktree {worktree}"
    if available != "True":
        return f"the C extension did not build: {reason}"
    return None


def asv(python: Path, *arguments: str, env: dict | None = None) -> None:
    run([python, "-m", "asv", *arguments], cwd=ROOT, env=env)


def benchmark_commit(python: Path, sha: str, machine: str, quick: bool, bench: list[str]) -> bool:
    """Install ``sha`` in a worktree and record today's suite for it; False if it was skipped."""
    worktree = WORKTREES / sha[:12]
    if worktree.exists():  # left over by an interrupted run
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], capture_output=True)
        shutil.rmtree(worktree, ignore_errors=True)
    WORKTREES.mkdir(parents=True, exist_ok=True)
    run(["git", "-C", ROOT, "worktree", "add", "--detach", "--quiet", worktree, sha])
    try:
        install(python, worktree)
        problem = check_install(python, worktree)
        if problem:
            log(f"skipping {sha[:12]}: {problem}")
            return False
        env = dict(os.environ)
        env["HADAMRNN_ASV_QUICK"] = "1" if quick else "0"
        env["HADAMRNN_ASV_HEADLINE"] = "1"  # a quick commit still gets the full-length ratios
        arguments = ["run", "--python=same", "--set-commit-hash", sha, "--machine", machine,
                     "--launch-method", "forkserver"]
        for pattern in bench:
            arguments += ["--bench", pattern]
        asv(python, *arguments, env=env)
        normalise_results(machine)
        return True
    finally:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], check=False)
        shutil.rmtree(worktree, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history", description=__doc__.splitlines()[0])
    parser.add_argument("--last", type=int, required=True, metavar="N", help="the last N commits of the branch")
    parser.add_argument("--branch", default="main", help="the branch to walk (first parent), default main")
    parser.add_argument("--machine", default=DEFAULT_MACHINE, help=f"asv machine name (default {DEFAULT_MACHINE})")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the venv the commits are installed in")
    parser.add_argument("--quick-older", action="store_true",
                        help="HADAMRNN_ASV_QUICK=1 (short sequences, small grids) for all but the newest commit")
    parser.add_argument("--quick", action="store_true", help="HADAMRNN_ASV_QUICK=1 for every commit")
    parser.add_argument("--bench", action="append", default=[], help="asv --bench regex (repeatable)")
    parser.add_argument("--skip-existing", action="store_true",
                        help="skip commits that already have results for this machine")
    parser.add_argument("--no-publish", action="store_true", help="skip asv publish at the end")
    args = parser.parse_args(argv)
    if args.last < 1:
        parser.error(f"--last must be at least 1, got {args.last}")

    commits = first_parent_commits(args.branch, args.last)
    python = ensure_venv(args.venv.resolve())
    # The data-backed benchmarks (sMNIST) read $HADAMRNN_DATA; default to the shared data folder
    # of a checkout that has one.
    if "HADAMRNN_DATA" not in os.environ and (ROOT / "shared" / "data").is_dir():
        os.environ["HADAMRNN_DATA"] = str(ROOT / "shared" / "data")
    asv(python, "machine", "--yes", "--machine", args.machine)
    recorded, skipped = [], []
    try:
        for index, sha in enumerate(commits):
            subject = git("log", "-1", "--format=%h %s", sha).strip()
            if not has_kernels(sha):
                log(f"skipping {subject}: no C kernels at this commit ({KERNELS_MARKER} is missing)")
                skipped.append(sha)
                continue
            if args.skip_existing and recorded_before(args.machine, sha):
                log(f"skipping {subject}: already recorded for {args.machine}")
                continue
            quick = args.quick or (args.quick_older and index < len(commits) - 1)
            log(f"benchmarking {subject}{' (quick parameter set)' if quick else ''}")
            (recorded if benchmark_commit(python, sha, args.machine, quick, args.bench) else skipped).append(sha)
    finally:
        # The venv must not keep pointing at a worktree that no longer exists.
        subprocess.run([str(python), "-m", "pip", "uninstall", "-q", "-y", "hadamrnn"], check=False)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)
    normalise_results(args.machine)
    log(f"recorded {len(recorded)} commit(s), skipped {len(skipped)}")
    if not args.no_publish:
        asv(python, "publish")
        log(f"site: {STATE / 'html'} (browse with: {python} -m asv preview)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
