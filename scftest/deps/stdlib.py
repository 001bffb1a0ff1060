"""Ask a runtime's own interpreter: its standard library's module names, and the imports of
files only it can parse. Both run ``_imports.py`` under that interpreter (one process per
request); the standard library list is cached on disk per interpreter."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path
from typing import Any, Dict, FrozenSet, Mapping, Optional, Sequence

from scftest.errors import ScftestError
from scftest.i18n import _
from scftest.scf.images import cache_root

_SCRIPT = Path(__file__).resolve().parent / "_imports.py"
# -E -s -S: no PYTHON* variables, no user site, no site-packages (2.7 has no -I). The
# interpreter's own packages must not pass for its standard library.
_FLAGS = ("-E", "-s", "-S")
_TIMEOUT_S = 60.0
_PER_FILE_S = 0.5  # a parse request grows with the files it carries


class ProbeFailed(ScftestError, RuntimeError):
    """The runtime's interpreter could not answer; the message says which and why."""


def ask(interpreter: str, request: Mapping[str, Any]) -> Dict[str, Any]:
    """Run ``_imports.py`` under ``interpreter`` with ``request``; its JSON answer."""
    timeout = _TIMEOUT_S + _PER_FILE_S * len(request.get("files", ()))
    try:
        done = subprocess.run([interpreter, *_FLAGS, str(_SCRIPT)], input=json.dumps(request).encode("utf-8"),
                              capture_output=True, timeout=timeout, env=_plain_env())
    except subprocess.TimeoutExpired:
        raise ProbeFailed(_("{python} did not answer within {seconds} s").format(
            python=interpreter, seconds=f"{timeout:g}")) from None
    except OSError as exc:
        raise ProbeFailed(_("{python} cannot be run ({error})").format(
            python=interpreter, error=exc.strerror or exc)) from None
    try:
        answer = json.loads(done.stdout.decode("utf-8"))
        if done.returncode != 0 or not isinstance(answer, dict) or not isinstance(answer.get("files"), dict) \
                or (request.get("stdlib") and not isinstance(answer.get("stdlib"), list)):
            raise ValueError("no answer")
    except ValueError:
        last = (done.stderr.decode("utf-8", "replace").strip().splitlines() or ["no output"])[-1]
        raise ProbeFailed(_("{python} could not list imports ({last})").format(python=interpreter, last=last)) from None
    return answer


def _plain_env() -> Dict[str, str]:
    # Only what an interpreter needs to start; nothing of the runner's Python set-up.
    return {key: value for key, value in os.environ.items() if key in ("PATH", "LANG", "LC_ALL", "HOME")}


def stdlib_names(interpreter: str, cache: Optional[Path] = None) -> FrozenSet[str]:
    """The top-level module names of ``interpreter``'s standard library (builtin modules and
    its stdlib folder's modules and packages), from the cache when the interpreter's file has
    not changed since it was asked."""
    path = (cache or default_cache()) / f"stdlib-{_fingerprint(interpreter)}.json"
    try:
        with path.open(encoding="utf-8") as handle:
            names = json.load(handle)["names"]
        if isinstance(names, list) and all(isinstance(name, str) for name in names):
            return frozenset(names)
    except (OSError, ValueError, KeyError, TypeError):
        pass  # not cached yet, or unreadable: ask again
    names = ask(interpreter, {"stdlib": True})["stdlib"]
    _write(path, {"interpreter": interpreter, "names": names})
    return frozenset(names)


def parse_with(interpreter: str, files: Sequence[Path]) -> Dict[str, Dict[str, Any]]:
    """``_imports.imports_in`` of each file, parsed by ``interpreter``: path -> {imports} or
    {error, line}."""
    if not files:
        return {}
    return ask(interpreter, {"files": [str(file) for file in files]})["files"]


def default_cache() -> Path:
    """``$XDG_CACHE_HOME/scftest/deps`` (default ``~/.cache/scftest/deps``)."""
    return cache_root().parent / "deps"


def _fingerprint(interpreter: str) -> str:
    real = os.path.realpath(interpreter)
    try:
        info = os.stat(real)
        stamp = f"{info.st_size}:{info.st_mtime_ns}"
    except OSError:
        stamp = "missing"
    return hashlib.sha256(f"{real}\0{stamp}".encode("utf-8", "surrogateescape")).hexdigest()[:16]


def _write(path: Path, value: Any) -> None:
    # A cache that cannot be written costs speed next time, never this answer.
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_suffix(f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(value), encoding="utf-8")
        os.replace(temporary, path)
    except OSError:
        pass
