"""The package as a user gets it (issue 17 item 1): ``python -m build`` makes an sdist and a
wheel that ``twine check`` accepts, the wheel carries every file the run needs, and scftest
installed from it into a fresh virtualenv (no ``-e``, no source tree on its path) runs the
bundled suites as the README's first command does from a clone.

The build runs as a release's would: in an isolated environment whose setuptools pip fetches,
so these tests need the package index (skipped, saying so, without it). They build once per
test session from a copy of the project's files, never in the work tree.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import zipfile
from email.parser import Parser
from pathlib import Path
from typing import List

import pytest
from conftest import needs, needs_pypi

import scftest

ROOT = Path(scftest.__file__).resolve().parent.parent
VERSION = scftest.__version__
pytestmark = needs_pypi()
BUILD_TIMEOUT_S = 900  # an upper bound for pip and setuptools on a loaded machine, not a measurement
_SKIP = {".git", ".venv", "build", "dist", "__pycache__", ".pytest_cache", "scftest.egg-info"}


def _project_files() -> List[Path]:
    """The project's files as a clone has them (git's list when there is one)."""
    if (ROOT / ".git").exists() and shutil.which("git"):
        listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others",
                                 "--exclude-standard"], capture_output=True, check=True).stdout
        return [Path(name) for name in listed.decode().split("\0") if name and (ROOT / name).exists()]
    return [path.relative_to(ROOT) for path in ROOT.rglob("*")
            if not _SKIP & set(path.relative_to(ROOT).parts) and (path.is_file() or path.is_symlink())]


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    done = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=BUILD_TIMEOUT_S, **kwargs)
    assert done.returncode == 0, f"{args}: exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in _project_files():
        target = source / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if (ROOT / name).is_symlink():
            target.symlink_to(os.readlink(ROOT / name))
        else:
            shutil.copy2(ROOT / name, target)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "build", "--outdir", out, source])
    return out


def _wheel(dist: Path) -> Path:
    (wheel,) = dist.glob("*.whl")
    return wheel


def _sdist(dist: Path) -> Path:
    (sdist,) = dist.glob("*.tar.gz")
    return sdist


def test_build_gives_an_sdist_and_a_wheel_of_this_version(dist: Path) -> None:
    assert _wheel(dist).name == f"scftest-{VERSION}-py3-none-any.whl"
    assert _sdist(dist).name == f"scftest-{VERSION}.tar.gz"


def test_twine_accepts_both(dist: Path) -> None:
    done = _run([sys.executable, "-m", "twine", "check", "--strict", _wheel(dist), _sdist(dist)])
    assert done.stdout.count("PASSED") == 2, done.stdout


def test_the_metadata(dist: Path) -> None:
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        text = wheel.read(f"scftest-{VERSION}.dist-info/METADATA").decode()
        entry_points = wheel.read(f"scftest-{VERSION}.dist-info/entry_points.txt").decode()
    meta = Parser().parsestr(text)
    assert meta["Name"] == "scftest" and meta["Version"] == VERSION
    assert meta["License-Expression"] == "MIT" and meta["Requires-Python"] == ">=3.9"
    assert meta["Description-Content-Type"] == "text/markdown"
    assert meta.get_payload().startswith("# scftest")  # the README is the long description
    classifiers = meta.get_all("Classifier")
    assert "Topic :: Software Development :: Testing" in classifiers
    assert {"Programming Language :: Python :: 3.9", "Programming Language :: Python :: 3.11"} <= set(classifiers)
    assert "scftest = scftest.cli:main" in entry_points


def test_the_wheel_carries_every_file_of_the_package(dist: Path) -> None:
    # Every file under scftest/ in the source (the schemas through their link included), not
    # a list of ours: a new data file that package-data misses fails here.
    package = ROOT / "scftest"
    wanted = {path.relative_to(ROOT).as_posix() for path in package.rglob("*")
              if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"}
    wanted |= {f"scftest/schemas/{path.name}" for path in (ROOT / "schemas").glob("*.json")}
    with zipfile.ZipFile(_wheel(dist)) as wheel:
        names = set(wheel.namelist())
    assert {"scftest/instance/_child.py", "scftest/schemas/suite.schema.json", "scftest/scf/images.json",
            "scftest/scf/triggers/apigateway.json"} <= wanted
    assert sorted(wanted - names) == []
    assert not [name for name in names if not name.startswith(("scftest/", f"scftest-{VERSION}.dist-info/"))]


def test_the_sdist_is_the_whole_project(dist: Path) -> None:
    with tarfile.open(_sdist(dist)) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    for name in ("CHANGELOG.md", "LICENSE", "README.md", "pyproject.toml", "docs/ci.md", "suites/hello.yaml",
                 "tests/conftest.py", "schemas/suite.schema.json", "scftest/instance/_child.py"):
        assert name in names, name


@needs("2.7", "3.6", "3.7", "3.9", "3.10")
def test_installed_from_the_wheel_it_runs_the_bundled_suites(dist: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run([sys.executable, "-m", "venv", venv])
    _run([venv / "bin" / "pip", "install", "-q", _wheel(dist)])
    scftest_cli = venv / "bin" / "scftest"
    assert _run([scftest_cli, "--version"]).stdout.strip() == f"scftest {VERSION}"
    # The schema it uses is the wheel's copy, not this source tree's.
    installed = Path(_run([scftest_cli, "schema", "--path"]).stdout.strip())
    assert venv in installed.parents and installed.read_bytes() == (ROOT / "schemas/suite.schema.json").read_bytes()

    work = tmp_path / "work"
    shutil.copytree(ROOT / "suites", work / "suites", symlinks=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    done = subprocess.run([str(scftest_cli), "run", "suites/", "--json", "report.json", "--junit-xml", "report.xml"],
                          cwd=work, env=env, capture_output=True, text=True, timeout=BUILD_TIMEOUT_S)
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    report = json.loads((work / "report.json").read_text())
    assert report["scftest_version"] == VERSION
    totals = report["totals"]
    assert totals["cases"] == totals["passed"] > 0 and totals["problems"] == 0, totals
    assert (work / "report.xml").read_text().startswith("<?xml")
