"""The coverage.py release of each interpreter, installed once into scftest's cache.

``$XDG_CACHE_HOME/scftest/coverage/python<X.Y>/coverage-<release>/`` (default under
``~/.cache``), installed by that interpreter's own pip (``pip install --no-deps --target``, as
``scftest image install`` does), into a staging folder renamed into place when complete, so a
reader never sees half of one; one install at a time per folder (a lock file), so parallel
runs (``-j``, pytest-xdist) share it. The folder is the runner's: inside an instance the
runner's home is hidden and the folder is on no sys.path, so the handler cannot import it.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Callable, Dict, Mapping, Optional

from scftest.coverage.releases import python_version, release_for
from scftest.errors import ScftestError
from scftest.i18n import _
from scftest.scf.images_install import pip_environment, pip_reason


class CoverageError(ScftestError):
    """coverage.py could not be provided for an interpreter; the message says why and what to do."""


def cache_root(environ: Optional[Mapping[str, str]] = None) -> Path:
    env = os.environ if environ is None else environ
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scftest" / "coverage"


def release_folder(version: str, root: Path) -> Path:
    major, minor = python_version(version)
    return root / f"python{major}.{minor}" / f"coverage-{release_for(version)}"


def installed(folder: Path) -> bool:
    return (folder / "coverage" / "__init__.py").is_file()


def provide(interpreter: str, version: str, root: Path,
            notice: Callable[[str, str, Path], None] = lambda requirement, version, folder: None) -> Path:
    """The folder holding ``coverage/`` for this interpreter, installed first if needed
    (``notice(requirement, version, folder)`` is told before an install starts)."""
    try:
        folder = release_folder(version, root)
    except ValueError as exc:
        raise CoverageError(str(exc)) from None
    if installed(folder):
        return folder
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another run may be installing the same one
        if not installed(folder):
            notice(f"coverage=={release_for(version)}", version, folder)
            _install(interpreter, version, folder)
    return folder


def _install(interpreter: str, version: str, folder: Path) -> None:
    staging = folder.with_name(folder.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    requirement = f"coverage=={release_for(version)}"
    command = [interpreter, "-s", "-m", "pip", "install", "--no-deps", "--target", str(staging), requirement]
    try:
        done = subprocess.run(command, env=pip_environment(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT)
    except OSError as exc:
        raise CoverageError(_("cannot run {interpreter} to install {requirement}: {error}").format(
            interpreter=interpreter, requirement=requirement, error=exc.strerror or exc)) from None
    if done.returncode != 0 or not installed(staging):
        shutil.rmtree(staging, ignore_errors=True)
        reason = pip_reason(done.stdout.decode("utf-8", "replace"), done.returncode)
        raise CoverageError(_("--cov needs {requirement} for Python {version} ({interpreter}), and pip could not "
                              "install it: {reason} — check the interpreter's pip and its package index").format(
            requirement=requirement, version=version, interpreter=interpreter, reason=reason))
    os.replace(staging, folder)


class Provider:
    """The run's coverage folders by interpreter, each provided once (worker threads ask)."""

    def __init__(self, root: Path, notice: Optional[Callable[[str, str, Path], None]] = None) -> None:
        self.root = root
        self.notice = notice or (lambda requirement, version, folder: None)
        self._lock = threading.Lock()
        self._folders: Dict[str, Path] = {}
        self._failed: Dict[str, CoverageError] = {}  # tried once per run, not once per case

    def folder(self, interpreter: str, version: str) -> Path:
        with self._lock:
            if interpreter in self._failed:
                raise self._failed[interpreter]
            if interpreter not in self._folders:
                try:
                    self._folders[interpreter] = provide(interpreter, version, self.root, self.notice)
                except CoverageError as exc:
                    self._failed[interpreter] = exc
                    raise
            return self._folders[interpreter]
