"""What an installed wheel holds and runs, and the Python versions the project declares.

The wheel test builds a real wheel from a copy of the sources (``pip wheel --no-deps
--no-build-isolation``, no network), installs it with ``--no-deps`` in a fresh virtual environment
whose only view of the dependencies is this environment's site-packages (a ``.pth`` line, which
does not run this environment's editable-install hooks), and runs the installed commands from a
folder outside the checkout, so nothing can come from the source tree.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.specifiers import SpecifierSet
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
#: What a wheel is built from (the rest of the checkout is not packaged).
WHEEL_SOURCES = ("pyproject.toml", "setup.py", "README.md", "hadamrnn", "theory")


def declared_python() -> SpecifierSet:
    return SpecifierSet(tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["requires-python"])


def pinned_versions() -> dict[str, str]:
    pins = {}
    for line in (ROOT / "requirements" / "constraints.txt").read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            requirement = Requirement(line)
            pins[requirement.name] = str(next(iter(requirement.specifier)).version)
    return pins


def lowest_declared_python() -> Version:
    lower = [Version(spec.version) for spec in declared_python() if spec.operator in (">=", ">", "~=", "==")]
    assert lower, f"requires-python {declared_python()} has no lower bound"
    return max(lower)


#: The extras whose pins requires-python must hold for (the docs toolchain's own floor is documented
#: in docs/install.md: soupsieve, pinned for Sphinx, needs 3.11.5).
CHECKED_EXTRAS = ("test", "theory")


def dependency_closure(name: str, extras: tuple[str, ...] = ()) -> set[str]:
    """The installed distributions that ``pip install name[extras]`` pulls in, ``name`` excluded."""
    found: set[str] = set()
    pending = [(name, extras)]
    while pending:
        current, wanted = pending.pop()
        try:
            requirements = metadata.distribution(current).requires or []
        except metadata.PackageNotFoundError:
            continue
        for line in requirements:
            requirement = Requirement(line)
            environments = [{"extra": extra} for extra in wanted] or [{"extra": ""}]
            if requirement.marker and not any(requirement.marker.evaluate(env) for env in environments):
                continue
            key = requirement.name.lower().replace("_", "-")
            if key not in found:
                found.add(key)
                pending.append((requirement.name, tuple(requirement.extras)))
    return found


def test_requires_python_is_true_of_every_pinned_dependency():
    """No pin of constraints.txt that an install of hadamrnn (with its test and theory extras)
    resolves to may need a newer Python than the lowest one requires-python admits."""
    lowest = lowest_declared_python()
    needed = dependency_closure("hadamrnn", CHECKED_EXTRAS)
    assert {"numpy", "torch", "pytest", "sympy"} <= needed
    refusing = {}
    for name, version in pinned_versions().items():
        if name.lower().replace("_", "-") not in needed:
            continue
        installed = metadata.distribution(name)
        # Compared without the local label: the pin 2.13.0 installs the wheel 2.13.0+cpu.
        assert Version(installed.version).public == Version(version).public, (
            f"{name}: constraints.txt pins {version}, {installed.version} is installed"
        )
        needs = installed.metadata.get("Requires-Python")
        if needs and not SpecifierSet(needs).contains(lowest, prereleases=True):
            refusing[f"{name}=={version}"] = needs
    assert refusing == {}, f"requires-python admits Python {lowest}, which these pins refuse: {refusing}"
    # numpy 2.4 (pinned) needs 3.11: with the former ">=3.10" this test fails.
    assert SpecifierSet(metadata.distribution("numpy").metadata["Requires-Python"]).contains(str(lowest))


def test_the_running_python_is_admitted():
    assert declared_python().contains(".".join(map(str, sys.version_info[:3])))


@pytest.fixture(scope="module")
def built_wheel(tmp_path_factory) -> Path:
    work = tmp_path_factory.mktemp("wheel")
    source = work / "src"
    source.mkdir()
    for name in WHEEL_SOURCES:
        origin = ROOT / name
        if origin.is_dir():
            shutil.copytree(origin, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info"))
        else:
            shutil.copy2(origin, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", str(source), "--no-deps", "--no-build-isolation", "--no-index", "-q", "-w", str(work / "dist")],
        check=True, capture_output=True, text=True,
    )
    (wheel,) = (work / "dist").glob("hadamrnn-*.whl")
    return wheel


def test_wheel_holds_the_builtin_configs_and_no_top_level_theory(built_wheel):
    names = zipfile.ZipFile(built_wheel).namelist()
    assert "hadamrnn/configs/copy.toml" in names
    assert "hadamrnn_theory/__main__.py" in names and "hadamrnn_theory/cli.py" in names
    top_level = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert top_level == {"hadamrnn", "hadamrnn_theory"}, top_level
    assert not [name for name in names if name.startswith("hadamrnn/_native/")], "the C sources are build inputs, not package data"


def test_installed_wheel_trains_the_builtin_copy_task_and_verifies_the_theory(built_wheel, tmp_path):
    fresh = tmp_path / "fresh"
    venv.EnvBuilder(with_pip=False).create(fresh)
    python = fresh / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "--no-index", "-q", str(built_wheel)],
        check=True, capture_output=True, text=True,
    )
    # The dependencies (torch, numpy, ...) come from this environment, appended after the fresh
    # site-packages: a .pth line adds the folder but runs none of the .pth hooks inside it, so
    # this checkout's editable install stays out of sight.
    fresh_site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                     check=True, capture_output=True, text=True).stdout.strip())
    (fresh_site / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONPATH", "PYTHONHOME")}

    def run(*command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(list(command), cwd=outside, env=env, capture_output=True, text=True, timeout=300)

    where = run(str(python), "-c", "import hadamrnn, hadamrnn_theory; print(hadamrnn.__file__); print(hadamrnn_theory.__file__)")
    assert where.returncode == 0, where.stderr
    assert all(line.startswith(str(fresh_site)) for line in where.stdout.split()), where.stdout
    no_theory = run(str(python), "-c", "import theory")
    assert no_theory.returncode != 0 and "No module named 'theory'" in no_theory.stderr

    shrink = ["task.train_size=128", "task.val_size=32", "task.test_size=32", "task.seq_len=30", "train.batch_size=32"]
    trained = run(str(fresh / "bin" / "hadamrnn"), "train", "copy", "--set", "train.epochs=1",
                  *(argument for option in shrink for argument in ("--set", option)), "--out", "run", "--no-progress")
    assert trained.returncode == 0, trained.stderr[-2000:]
    assert (outside / "run" / "metrics.json").is_file()

    verified = run(str(python), "-m", "hadamrnn_theory", "verify", "--quick")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr[-2000:]
    assert re.search(r"\d+ claims: \d+ passed, 0 failed", verified.stdout), verified.stdout[-500:]


def test_python_m_theory_still_runs_from_the_checkout():
    """The documented name is hadamrnn_theory; from the root of a checkout the folder's own name works too."""
    done = subprocess.run([sys.executable, "-m", "theory", "construct", "4"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["++++", "+-+-", "++--", "+--+"]
