"""Run today's benchmark suite over the commits of main with one parameter set, then build the site.

    python -m benchmarks.history                    # every commit from the suite's first to main's head
    python -m benchmarks.history --last 5           # the last 5 commits of main only
    python -m benchmarks.history --rerun --last 1   # measure the newest commit again
    python -m benchmarks.site preview               # browse the published site, offline

Every commit is run with the same parameter set, :data:`benchmarks.common.HISTORY_SET`
(``HADAMRNN_ASV_QUICK=1`` and ``HADAMRNN_ASV_HEADLINE=1``: the small grids, the short sequences,
and the headline shapes at full length), with ``HADAMRNN_DATA`` unset (the sMNIST accuracy is
skipped: a minute of training per commit). The set is recorded in each result file
(``env_vars``), so that a point measured otherwise would show as a series of its own.

The commits that change the code (:data:`CODE_PATHS`) are measured first, then the others
(docs, results, tests), each group oldest first: a run stopped halfway has already measured every
change of the code. The run is incremental and resumable: a commit whose result file already holds the set and, for
every benchmark of today's suite, a result of the benchmark's current version (asv hashes each
benchmark's code) is skipped; one recorded with another set, or missing a benchmark, or holding
one whose code has changed since, is measured again. A run that is stopped loses at most the
commit it was measuring.

For each commit of ``main`` (first parent, oldest first) that needs it, it

1. checks the commit out in a detached git worktree under ``.asv/worktrees/``;
2. builds the commit's C extension in place (``setup.py build_ext --inplace``), or copies it
   from ``.asv/extensions/`` when an earlier commit had the same C sources and ``setup.py``;
3. makes that worktree's package the ``hadamrnn`` of a venv of its own, ``.asv/history-venv`` (a
   link in its site-packages), and checks that ``import hadamrnn`` there loads it with its extension. The project's
   ``.venv``, which other processes import hadamrnn from, is never touched;
4. runs ``asv run --python=same --set-commit-hash <sha>`` with that venv's Python and the
   benchmark suite of the *current* checkout (old commits get today's benchmarks; one whose API
   is missing is skipped by its ``setup``);
5. removes the worktree.

The results go to the committed ``benchmarks/results/<machine>/`` (``--machine``, default
``hadamrnn-ref-2core``), one file per commit; at the end ``python -m benchmarks.site publish``
writes the HTML to ``.asv/html``. Whatever happens, the worktrees and the link are removed.

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
import sysconfig
import tempfile
import time
from pathlib import Path

from .common import HISTORY_SET

ROOT = Path(__file__).resolve().parents[1]
STATE = ROOT / ".asv"
DEFAULT_VENV = STATE / "history-venv"
WORKTREES = STATE / "worktrees"
EXTENSIONS = STATE / "extensions"
RESULTS = ROOT / "benchmarks" / "results"  # results_dir of asv.conf.json
DEFAULT_MACHINE = "hadamrnn-ref-2core"
#: A commit "has the kernels" when it holds this file (the native backend landed with it).
KERNELS_MARKER = "hadamrnn/native.py"
#: The suite's first commit is the oldest commit of the branch (first parent) holding this file.
SUITE_MARKER = "asv.conf.json"
#: What the compiled extension depends on: a commit whose C sources and setup.py equal an
#: earlier build's reuses that build.
EXTENSION_INPUTS = ("hadamrnn/_native", "setup.py")
#: What the measured code is: a commit that changes none of these (docs, results, tests) measures
#: the same code as its parent.
CODE_PATHS = ("hadamrnn", "setup.py", "pyproject.toml")
#: The package a commit is measured through: a link in the history venv's site-packages.
PACKAGE = "hadamrnn"


def log(message: str) -> None:
    print(f"[history {time.strftime('%H:%M:%S')}] {message}", flush=True)


def run(command: list, **kwargs) -> subprocess.CompletedProcess:
    log("$ " + " ".join(str(part) for part in command))
    return subprocess.run([str(part) for part in command], check=True, **kwargs)


def git(*arguments: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *arguments], check=True, capture_output=True, text=True).stdout


def has_path(sha: str, path: str) -> bool:
    return subprocess.run(
        ["git", "-C", str(ROOT), "cat-file", "-e", f"{sha}:{path}"], capture_output=True
    ).returncode == 0


def has_kernels(sha: str) -> bool:
    return has_path(sha, KERNELS_MARKER)


def branch_commits(branch: str) -> list[str]:
    """Every commit of ``branch`` along first parents, oldest first."""
    return git("rev-list", "--first-parent", branch).split()[::-1]


def suite_start(commits: list[str]) -> str:
    """The oldest of ``commits`` (oldest first) holding :data:`SUITE_MARKER`."""
    for sha in commits:
        if has_path(sha, SUITE_MARKER):
            return sha
    raise SystemExit(f"no commit of the branch holds {SUITE_MARKER}")


def select_commits(commits: list[str], since: str | None, last: int | None) -> list[str]:
    """``commits`` (oldest first) from ``since`` (default: the suite's first commit) on, or the
    last ``last`` of them."""
    if last is not None:
        return commits[-last:]
    start = git("rev-parse", "--verify", f"{since}^{{commit}}").strip() if since else suite_start(commits)
    if start not in commits:
        raise SystemExit(f"{since} is not a first-parent commit of the branch")
    return commits[commits.index(start):]


def changes_code(sha: str) -> bool:
    """Whether ``sha`` changes :data:`CODE_PATHS` against its first parent (True for a root)."""
    parent = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--verify", "--quiet", f"{sha}^1"],
                            capture_output=True, text=True).stdout.strip()
    if not parent:
        return True
    return subprocess.run(["git", "-C", str(ROOT), "diff", "--quiet", parent, sha, "--", *CODE_PATHS]).returncode != 0


def code_first(plan: list[str]) -> list[str]:
    """``plan`` (oldest first) with its oldest commit and those that change the code first, each
    group oldest first: a run stopped halfway has measured every change of the code already."""
    changed = {sha for sha in plan[1:] if changes_code(sha)} | set(plan[:1])
    return [sha for sha in plan if sha in changed] + [sha for sha in plan if sha not in changed]


def result_path(machine: str, sha: str) -> Path:
    return RESULTS / machine / f"{sha[:8]}-{ENV_NAME}.json"


def why_measure(machine: str, sha: str, suite: dict) -> str | None:
    """Why ``sha`` needs measuring, or None when its result file is up to date: it holds
    :data:`HISTORY_SET` and, for every benchmark of ``suite`` (benchmarks.json), a result of the
    same version and parameters."""
    path = result_path(machine, sha)
    if not path.exists():
        return "not recorded"
    data = json.loads(path.read_text(encoding="utf-8"))
    if data.get("env_vars") != HISTORY_SET:
        return f"recorded with another parameter set ({data.get('env_vars')})"
    columns = data["result_columns"]
    version, params = columns.index("version"), columns.index("params")
    for name, benchmark in sorted(suite.items()):
        if name == "version":
            continue
        row = data["results"].get(name)
        if row is None:
            return f"no result for {name}"
        if row[version] != benchmark["version"]:
            return f"{name} has changed since"
        if row[params] != benchmark["params"]:
            return f"{name} was recorded with other parameters"
    return None


#: The environment name the committed results carry. asv names an "existing" environment after
#: the absolute path of its Python (``existing-py_work_..._bin_python``), which would put a path of
#: this machine into the tracked files and split one history into one series per checkout.
ENV_NAME = "existing-history-venv"


def normalise_results(machine: str) -> None:
    """Rename asv's result files of ``machine`` to :data:`ENV_NAME`, with the Python path
    replaced by its version and the parameter set recorded; atomically (temporary file, then
    ``os.replace``)."""
    for path in sorted((RESULTS / machine).glob("*-existing-py*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        version = f"{sys.version_info.major}.{sys.version_info.minor}"
        data["env_name"] = ENV_NAME
        data["env_vars"] = dict(HISTORY_SET)
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


def site_packages(python: Path) -> Path:
    return Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())


def extension_key(sha: str, python: Path) -> str:
    """The git hashes of the commit's :data:`EXTENSION_INPUTS`, with the Python the build is for."""
    tag = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_config_var('EXT_SUFFIX'))"],
                         check=True, capture_output=True, text=True).stdout.strip()
    hashes = [git("rev-parse", f"{sha}:{path}").strip()[:16] for path in EXTENSION_INPUTS]
    return "-".join(hashes) + tag.replace(".", "-")


def build_extension(python: Path, sha: str, worktree: Path) -> None:
    """The worktree's C extension, compiled in place or copied from a build of the same inputs."""
    cache = EXTENSIONS / extension_key(sha, python)
    if cache.is_dir() and any(cache.iterdir()):
        for built in cache.iterdir():
            shutil.copy2(built, worktree / "hadamrnn" / built.name)
        log(f"extension copied from {cache.relative_to(ROOT)}")
        return
    run([python, "setup.py", "-q", "build_ext", "--inplace"], cwd=worktree, stdout=subprocess.DEVNULL)
    built = sorted((worktree / "hadamrnn").glob("_kernels*" + sysconfig.get_config_var("SHLIB_SUFFIX")))
    if built:
        EXTENSIONS.mkdir(parents=True, exist_ok=True)
        temporary = Path(tempfile.mkdtemp(dir=EXTENSIONS))  # complete before it takes the cache's name
        for path in built:
            shutil.copy2(path, temporary / path.name)
        shutil.rmtree(cache, ignore_errors=True)
        os.replace(temporary, cache)


def install(python: Path, worktree: Path) -> None:
    """Make ``worktree``'s package the history venv's hadamrnn: a symbolic link to it in the
    venv's site-packages (the worktree's other top-level folders stay out of ``sys.path``)."""
    uninstall(python)
    (site_packages(python) / PACKAGE).symlink_to(worktree.resolve() / PACKAGE, target_is_directory=True)


def uninstall(python: Path) -> None:
    link = site_packages(python) / PACKAGE
    if link.is_symlink():
        link.unlink()
    elif link.exists():
        raise SystemExit(f"{link} is not the history's link: remove it, or give another --venv")


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


def history_environment() -> dict:
    """The environment of every asv run of the history: :data:`HISTORY_SET`, no data folder."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("HADAMRNN_")}
    env.update(HISTORY_SET)
    return env


def asv(python: Path, *arguments: str, env: dict | None = None) -> None:
    run([python, "-m", "asv", *arguments], cwd=ROOT, env=env)


def discover(machine: str) -> dict:
    """Today's suite under :data:`HISTORY_SET`, as asv describes it (results/benchmarks.json):
    discovered in this Python, which imports today's hadamrnn."""
    asv(Path(sys.executable), "run", "--python=same", "--machine", machine, "--bench", "just-discover",
        env=history_environment())
    return json.loads((RESULTS / "benchmarks.json").read_text(encoding="utf-8"))


def wait_for_load(limit: float | None, poll: float = 60.0) -> None:
    """Return once the one-minute load average is at most ``limit`` (at once when None): a commit
    measured while other processes hold the cores measures the scheduler, and a ``nice`` run
    barely advances."""
    if limit is None:
        return
    waited = False
    while (load := os.getloadavg()[0]) > limit:
        if not waited:
            log(f"load average {load:.2f} > {limit}: waiting for it to fall")
            waited = True
        time.sleep(poll)
    if waited:
        log(f"load average {load:.2f}: going on")


def remove_worktree(worktree: Path) -> None:
    subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(worktree)], capture_output=True)
    shutil.rmtree(worktree, ignore_errors=True)


def benchmark_commit(python: Path, sha: str, machine: str, bench: list[str]) -> bool:
    """Install ``sha`` in a worktree and record today's suite for it; False if it was skipped."""
    worktree = WORKTREES / sha[:12]
    remove_worktree(worktree)  # left over by an interrupted run
    WORKTREES.mkdir(parents=True, exist_ok=True)
    run(["git", "-C", ROOT, "worktree", "add", "--detach", "--quiet", worktree, sha])
    try:
        build_extension(python, sha, worktree)
        install(python, worktree)
        problem = check_install(python, worktree)
        if problem:
            log(f"skipping {sha[:12]}: {problem}")
            return False
        arguments = ["run", "--python=same", "--set-commit-hash", sha, "--machine", machine,
                     "--launch-method", "forkserver"]
        for pattern in bench:
            arguments += ["--bench", pattern]
        log("$ " + " ".join(str(part) for part in [python, "-m", "asv", *arguments]))
        code = subprocess.run([str(python), "-m", "asv", *arguments], cwd=ROOT, env=history_environment()).returncode
        if code not in (0, 2):
            raise subprocess.CalledProcessError(code, "asv run")
        if code == 2:  # asv records the failed benchmarks (no value) with the others: go on
            log(f"{sha[:12]}: some benchmarks failed (asv's output above names them)")
        normalise_results(machine)
        return True
    finally:
        uninstall(python)
        remove_worktree(worktree)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.history", description=__doc__.splitlines()[0])
    parser.add_argument("--since", metavar="REV",
                        help=f"the oldest commit to run (default: the suite's first, the oldest holding {SUITE_MARKER})")
    parser.add_argument("--last", type=int, metavar="N", help="only the last N commits of the branch")
    parser.add_argument("--branch", default="main", help="the branch to walk (first parent), default main")
    parser.add_argument("--machine", default=DEFAULT_MACHINE, help=f"asv machine name (default {DEFAULT_MACHINE})")
    parser.add_argument("--venv", type=Path, default=DEFAULT_VENV, help="the venv the commits are installed in")
    parser.add_argument("--rerun", action="store_true", help="measure the selected commits even where up to date")
    parser.add_argument("--oldest-first", action="store_true",
                        help="measure in commit order (default: the commits that change the code first)")
    parser.add_argument("--dry-run", action="store_true", help="say which commits would be measured, and stop")
    parser.add_argument("--wait-load", type=float, metavar="L",
                        help="before each commit, wait until the one-minute load average is at most L")
    parser.add_argument("--no-publish", action="store_true", help="skip the site at the end")
    args = parser.parse_args(argv)
    if args.last is not None and args.last < 1:
        parser.error(f"--last must be at least 1, got {args.last}")
    if args.last is not None and args.since:
        parser.error("--since and --last select the commits two ways: give one")

    commits = select_commits(branch_commits(args.branch), args.since, args.last)
    python = ensure_venv(args.venv.resolve())
    uninstall(python)  # a link left by an interrupted run
    asv(python, "machine", "--yes", "--machine", args.machine)
    wait_for_load(args.wait_load)
    suite = discover(args.machine)
    plan = []
    for sha in commits:
        subject = git("log", "-1", "--format=%h %s", sha).strip()[:90]
        if not has_kernels(sha):
            log(f"skip {subject}: no C kernels at this commit ({KERNELS_MARKER} is missing)")
            continue
        reason = "--rerun" if args.rerun else why_measure(args.machine, sha, suite)
        if reason is None:
            log(f"up to date: {subject}")
            continue
        log(f"to measure ({reason}): {subject}")
        plan.append(sha)
    if not args.oldest_first:
        plan = code_first(plan)
    log(f"{len(plan)} of {len(commits)} commit(s) to measure")
    if args.dry_run:
        return 0
    recorded, skipped = [], []
    try:
        for index, sha in enumerate(plan):
            wait_for_load(args.wait_load)
            log(f"[{index + 1}/{len(plan)}] {git('log', '-1', '--format=%h %s', sha).strip()[:90]}")
            (recorded if benchmark_commit(python, sha, args.machine, []) else skipped).append(sha)
    finally:
        uninstall(python)
        subprocess.run(["git", "-C", str(ROOT), "worktree", "prune"], check=False)
    normalise_results(args.machine)
    log(f"recorded {len(recorded)} commit(s), skipped {len(skipped)}")
    if not args.no_publish:
        run([sys.executable, "-m", "benchmarks.site", "publish"], cwd=ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
