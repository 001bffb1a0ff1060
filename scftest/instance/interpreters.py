"""SCF runtime names (``Python2.7``, ``Python3.6``, ...) to real interpreters.

The runtimes a suite, ``--runtime`` or ``[tool.scftest.runtimes]`` may name are the ones
SCF offers (``scftest.scf.profiles.offered()``: Python 2.7, 3.6, 3.7, 3.9 and 3.10); any
other is refused with the list. The bootstrap itself runs on 2.7 and 3.6-3.13 (its tests
run it there), so a runtime SCF adds is one profile away.

A runtime resolves to an interpreter of exactly that major.minor version, looked for in
this order:

1. explicit overrides: ``--runtime Python3.6=/path`` (the ``overrides`` argument), then
   the ``[tool.scftest.runtimes]`` table of the project's pyproject.toml; an explicit
   interpreter that is missing or of another version is an error, never skipped;
2. ``pythonX.Y`` in every PATH folder, in order (a pyenv shim that fails because that
   version is not active is skipped);
3. pyenv's versions folder: ``$PYENV_ROOT/versions/X.Y.*/bin/python`` (default root
   ``~/.pyenv``), newest patch release first.

Every candidate is run once to read its ``sys.version_info`` and ``sys.executable``;
results are cached per resolver, which is safe to share between threads. The interpreter
used (and named in the record) is ``sys.executable``: a wrapper (a pyenv shim, a shell
script that execs python) is resolved once to the real interpreter, so the wrapper's
choices (PYENV_* variables, a ``.python-version`` in the code root) never reach a case.
The path is then taken without symlinked folders (``PYENV_ROOT`` or ``--runtime`` through a
link: the instance sees only real folders), keeping the file's name where it links within its
folder (``bin/python`` -> ``python3.10``) and following a link to another folder to its file.
A virtualenv's python counts as the interpreter it was made from: activating a virtualenv
(its ``bin/`` first on PATH) does not change which interpreter a runtime resolves to.

A ``--runtime`` path is relative to the working directory; a bare name (``python3.6``)
is looked up on PATH, as a shell would.

The pyproject table maps runtime names to paths, e.g.::

    [tool.scftest.runtimes]
    "Python3.6" = "/opt/python3.6/bin/python"
    "Python2.7" = "~/.pyenv/versions/2.7.18/bin/python"

Relative paths are relative to the project root. The file is read by ``scftest.project``
(tomllib, or tomli on Python < 3.11). A bare ``Python3.6 = ...`` is a dotted key in TOML
(``Python3`` -> ``6``); both spellings are accepted.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from scftest.errors import ScftestError
from scftest.i18n import _
from scftest.instance import Interpreter
from scftest.load.project import read_tool_table
from scftest.scf.profiles import offered

# The runtimes `scftest runtimes` lists and a suite may name: the ones SCF offers.
KNOWN_RUNTIMES = offered()
PROBE_TIMEOUT_S = 15.0
_NAME = re.compile(r"^python(\d+)\.(\d+)$", re.IGNORECASE)
# Python 2.7 to 3.13: the version, then the real interpreter behind any wrapper. A virtualenv's
# python (venv: base_prefix, virtualenv on 2.7: real_prefix) names the interpreter it was made
# from, so activating one, which puts its bin/ first on PATH, never changes what a case runs on.
_PROBE = ("import os, sys; sys.stdout.write('%d.%d.%d\\n' % tuple(sys.version_info[:3])); "
          "base = getattr(sys, 'real_prefix', None) or getattr(sys, 'base_prefix', sys.prefix); "
          "own = os.path.join(base, 'bin', 'python%d.%d' % sys.version_info[:2]); "
          "venv = base != sys.prefix and os.path.isfile(own); "
          "sys.stdout.write(own if venv else (sys.executable or ''))")


class RuntimeNotFound(ScftestError, LookupError):
    """No interpreter for a runtime; the message says how to provide one."""


def parse_runtime(name: str) -> Tuple[int, int]:
    """``Python3.6`` -> (3, 6). Raises ValueError for anything else."""
    match = _NAME.match(name.strip())
    if not match:
        raise ValueError(f"{name!r} is not an SCF Python runtime (Python2.7, Python3.6, Python3.N)")
    return int(match.group(1)), int(match.group(2))


def runtime_name(major: int, minor: int) -> str:
    return f"Python{major}.{minor}"


def canonical(name: str) -> str:
    return runtime_name(*parse_runtime(name))


def offered_runtime(name: str) -> str:
    """``python3.9`` -> ``Python3.9``; ValueError for a name SCF does not offer, listing
    the ones it does."""
    try:
        runtime = canonical(name)
    except ValueError:
        runtime = None
    if runtime not in KNOWN_RUNTIMES:
        raise ValueError(_("{runtime} is not a runtime SCF offers; the runtimes are: {runtimes}").format(
            runtime=repr(name), runtimes=", ".join(KNOWN_RUNTIMES)))
    return runtime


@dataclass(frozen=True)
class RuntimeInfo:
    """One row of ``scftest runtimes``."""

    runtime: str
    interpreter: Optional[str]  # the interpreter's path, None when there is none
    version: Optional[str]  # e.g. 3.6.15
    source: Optional[str]  # --runtime | pyproject | PATH | pyenv
    problem: Optional[str] = None  # why there is none (or what was passed over)

    def to_dict(self) -> Dict[str, Optional[str]]:
        return {"runtime": self.runtime, "interpreter": self.interpreter,
                "version": self.version, "source": self.source, "problem": self.problem}


@dataclass(frozen=True)
class _Found:
    interpreter: Interpreter
    source: str
    passed_over: Tuple[str, ...] = ()


# ---------------------------------------------------------------------------------------
# pyproject.toml

def read_pyproject_runtimes(project_root: Optional[Path]) -> Dict[str, str]:
    """``[tool.scftest.runtimes]`` of ``project_root/pyproject.toml`` as {runtime: path}."""
    if project_root is None:
        return {}
    path = Path(project_root) / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        table = read_tool_table(path).get("runtimes") or {}
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # TOMLDecodeError is a ValueError
        raise ValueError(f"{path}: cannot read [tool.scftest.runtimes]: {exc}") from None
    if not isinstance(table, dict):
        raise ValueError(f"{path}: [tool.scftest.runtimes] must be a table of runtime = path")
    result = {}
    for key, value in _flatten(table).items():
        try:
            name = canonical(key)
        except ValueError:
            continue  # not a runtime name: ignored, like unknown keys elsewhere
        if not isinstance(value, str):
            raise ValueError(f'{path}: [tool.scftest.runtimes] "{key}" must be a path '
                             f"(a string), not {value!r}")
        result[name] = _resolve_path(value, Path(project_root))
    return result


def _flatten(table: Mapping[str, object], prefix: str = "") -> Dict[str, object]:
    """{"Python3": {"6": p}} (a bare dotted key) -> {"Python3.6": p}."""
    flat: Dict[str, object] = {}
    for key, value in table.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            flat.update(_flatten(value, name))
        else:
            flat[name] = value
    return flat


def _command_path(value: str) -> str:
    """A ``--runtime`` path as the shell that typed it meant it: ``~`` expanded, relative to
    the working directory, a bare name looked up on PATH (left as given when not found, so
    the error names it)."""
    value = os.path.expanduser(value)
    if os.sep not in value:
        return shutil.which(value) or value
    return os.path.abspath(value)


def _resolve_path(value: str, root: Path) -> str:
    path = Path(os.path.expanduser(value))
    return str(path if path.is_absolute() else (root / path))


# ---------------------------------------------------------------------------------------
# The resolver.

@dataclass(frozen=True)
class Probe:
    """What running a candidate once told: its version and the real interpreter, or why not."""

    version: Optional[str]
    executable: Optional[str] = None  # sys.executable: the wrapper's target, or the path itself
    problem: Optional[str] = None


def probe_version(path: str) -> Probe:
    """Run ``path`` once: its X.Y.Z version and ``sys.executable``, or why it is unusable."""
    try:
        done = subprocess.run(
            [path, "-E", "-s", "-c", _PROBE], stdin=subprocess.DEVNULL,
            capture_output=True, timeout=PROBE_TIMEOUT_S,
        )
    except FileNotFoundError:
        return Probe(None, problem=_("{path} does not exist").format(path=path))
    except PermissionError:
        return Probe(None, problem=_("{path} is not executable").format(path=path))
    except subprocess.TimeoutExpired:
        return Probe(None, problem=_("{path} did not answer within {seconds} s").format(
            path=path, seconds=f"{PROBE_TIMEOUT_S:g}"))
    except OSError as exc:
        return Probe(None, problem=_("{path} cannot be run ({error})").format(path=path, error=exc))
    version, _sep, executable = done.stdout.decode("utf-8", "surrogateescape").partition("\n")
    version = version.strip()
    if done.returncode != 0 or not re.fullmatch(r"\d+\.\d+\.\d+", version):
        first = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[0]
        return Probe(None, problem=_("{path} fails ({error})").format(path=path, error=first))
    real = executable.strip()
    # An embedded or odd build may leave sys.executable empty: then the path is all we have.
    real = real if real and os.path.isabs(real) and os.access(real, os.X_OK) else path
    return Probe(version, real_interpreter(real))


def real_interpreter(path: str) -> str:
    """``path`` reached without a symlinked folder: the interpreter's library path is computed
    from the path it is started by, and a case's instance sees only real folders (the sandbox
    mounts them back, a link under the covered /tmp or HOME is gone), so an interpreter started
    through ``/tmp/pyenv-link/versions/...`` could import nothing once isolated. The file's name is
    kept where it links within its folder (``python`` -> ``python3.10``); a link elsewhere is
    followed to the real file."""
    folder = os.path.realpath(os.path.dirname(os.path.abspath(path)))
    within = os.path.join(folder, os.path.basename(path))
    if os.path.dirname(os.path.realpath(within)) == folder:
        return within
    return os.path.realpath(path)


class RuntimeResolver:
    """Finds the interpreter for each runtime; see the module's docstring for the order.

    ``overrides`` are the ``--runtime NAME=PATH`` options (they win over pyproject).
    The constructor raises ValueError for an override that names no runtime SCF offers and for a
    pyproject.toml it cannot read (the message names the file).
    With ``fallback=True`` an unavailable runtime runs on the nearest available version
    of the same major (3.7 for 3.6 before 3.5; the newer on a tie), with
    ``Interpreter.fallback`` set so reports can say so.
    """

    def __init__(self, overrides: Optional[Mapping[str, str]] = None,
                 project_root: Optional[Path] = None, fallback: bool = False,
                 path_env: Optional[str] = None, pyenv_root: Optional[Path] = None):
        self.fallback = fallback
        self._project_root = Path(project_root) if project_root is not None else None
        explicit = {name: (path, "pyproject") for name, path in
                    read_pyproject_runtimes(self._project_root).items()}
        for name, path in (overrides or {}).items():
            explicit[offered_runtime(name)] = (_command_path(path), "--runtime")
        self._explicit = explicit
        self._path_env = path_env if path_env is not None else os.environ.get("PATH", "")
        root = pyenv_root or os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv"
        self._pyenv_versions = Path(root) / "versions"
        self._lock = threading.Lock()
        self._probes: Dict[str, Tuple[Optional[str], Optional[str]]] = {}
        self._found: Dict[str, object] = {}  # runtime -> _Found | RuntimeNotFound

    # public ------------------------------------------------------------------------

    def resolve(self, runtime: str) -> Interpreter:
        """The interpreter for ``runtime``; raises RuntimeNotFound with advice."""
        try:
            name = canonical(runtime)
        except ValueError as exc:
            raise RuntimeNotFound(str(exc)) from None
        found = self._lookup(name)
        if isinstance(found, _Found):
            return found.interpreter
        if self.fallback and name not in self._explicit:
            substitute = self._nearest(name)
            if substitute is not None:
                return Interpreter(runtime=name, path=substitute.interpreter.path,
                                   version=substitute.interpreter.version, fallback=True)
        raise found  # type: ignore[misc]

    def describe(self, runtimes: Optional[Sequence[str]] = None) -> List[RuntimeInfo]:
        """One row per runtime (default: the known ones and any configured explicitly)."""
        names = list(runtimes) if runtimes else self._default_names()
        rows = []
        for runtime in names:
            try:
                name = canonical(runtime)
            except ValueError as exc:
                rows.append(RuntimeInfo(runtime, None, None, None, str(exc)))
                continue
            found = self._lookup(name)
            if isinstance(found, _Found):
                problem = "; ".join(found.passed_over) or None
                rows.append(RuntimeInfo(name, found.interpreter.path,
                                        found.interpreter.version, found.source,
                                        _("passed over: {paths}").format(paths=problem) if problem else None))
            else:
                rows.append(RuntimeInfo(name, None, None, None, str(found)))
        return rows

    # lookup ------------------------------------------------------------------------

    def _default_names(self) -> List[str]:
        names = list(KNOWN_RUNTIMES)
        names += sorted((n for n in self._explicit if n not in names), key=parse_runtime)
        return names

    def _lookup(self, name: str) -> object:
        with self._lock:  # probes are quick; one lock keeps each done exactly once
            if name not in self._found:
                self._found[name] = self._search(name)
            return self._found[name]

    def _search(self, name: str) -> object:
        major, minor = parse_runtime(name)
        wanted = f"{major}.{minor}"
        if name in self._explicit:
            path, source = self._explicit[name]
            probe = self._probe(path)
            if probe.version is not None and _major_minor(probe.version) == wanted:
                return _Found(Interpreter(name, probe.executable, probe.version), source)
            problem = probe.problem or _("{path} is Python {version}, not {wanted}").format(
                path=path, version=probe.version, wanted=wanted)
            where = "--runtime" if source == "--runtime" else _("[tool.scftest.runtimes] in pyproject.toml")
            return RuntimeNotFound(_("{runtime}: the interpreter given by {where} is unusable: {problem}").format(
                runtime=name, where=where, problem=problem))
        passed_over = []
        for path, source in self._candidates(major, minor):
            probe = self._probe(path)
            if probe.version is not None and _major_minor(probe.version) == wanted:
                return _Found(Interpreter(name, probe.executable, probe.version), source, tuple(passed_over))
            passed_over.append(probe.problem or _("{path} is Python {version}").format(path=path, version=probe.version))
        return RuntimeNotFound(self._advice(name, wanted, passed_over))

    def _candidates(self, major: int, minor: int) -> List[Tuple[str, str]]:
        found: List[Tuple[str, str]] = []
        for folder in self._path_env.split(os.pathsep):
            candidate = Path(folder or ".") / f"python{major}.{minor}"
            if os.access(candidate, os.X_OK) and candidate.is_file():
                found.append((str(candidate), "PATH"))
        for folder in self._pyenv_folders(major, minor):
            candidate = folder / "bin" / "python"
            if os.access(candidate, os.X_OK):
                found.append((str(candidate), "pyenv"))
        return found

    def _pyenv_folders(self, major: int, minor: int) -> List[Path]:
        try:
            folders = [p for p in self._pyenv_versions.iterdir() if p.is_dir()]
        except OSError:
            return []
        pattern = re.compile(rf"^{major}\.{minor}\.(\d+)$")  # plain CPython releases only
        matching = [(int(m.group(1)), p) for p in folders if (m := pattern.match(p.name))]
        return [p for _, p in sorted(matching, reverse=True)]

    def _probe(self, path: str) -> Probe:
        # Called with the lock held; each path is run at most once per resolver.
        if path not in self._probes:
            self._probes[path] = probe_version(path)
        return self._probes[path]

    def _nearest(self, name: str) -> Optional[_Found]:
        major, minor = parse_runtime(name)
        minors = {parse_runtime(n)[1] for n in self._default_names() if parse_runtime(n)[0] == major}
        minors |= set(self._pyenv_minors(major))
        minors.discard(minor)
        for other in sorted(minors, key=lambda m: (abs(m - minor), -m)):
            found = self._lookup(runtime_name(major, other))
            if isinstance(found, _Found):
                return found
        return None

    def _pyenv_minors(self, major: int) -> List[int]:
        try:
            names = [p.name for p in self._pyenv_versions.iterdir()]
        except OSError:
            return []
        pattern = re.compile(rf"^{major}\.(\d+)\.\d+$")
        return [int(m.group(1)) for n in names if (m := pattern.match(n))]

    def _advice(self, name: str, wanted: str, passed_over: List[str]) -> str:
        tried = _(" (passed over: {paths})").format(paths="; ".join(passed_over)) if passed_over else ""
        return _(
            "no interpreter for runtime {runtime}: no python{wanted} on PATH and none in "
            "{pyenv}{tried}. Provide one with --runtime {runtime}=/path/to/python, "
            'or in pyproject.toml under [tool.scftest.runtimes]: "{runtime}" = "/path/to/python", '
            "or install it with `pyenv install {wanted}`"
        ).format(runtime=name, wanted=wanted, pyenv=self._pyenv_versions, tried=tried)


def _major_minor(version: str) -> str:
    return ".".join(version.split(".")[:2])
