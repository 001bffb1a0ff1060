"""Interpreter discovery, and an instance spec and request factory for the tests that run
handlers on real Pythons.

Only pyenv's versions folder is looked at (the real binaries: the shims on PATH fail unless
a version is active). A version that is not installed gives a skipped test, with the reason.
"""

import importlib.util
import os
import subprocess
import sys
import threading
import uuid
from dataclasses import fields
from pathlib import Path
from typing import Optional, Tuple

import pytest

from scftest.instance import Backend, InstanceSpec, Interpreter, InvocationRequest
from scftest.instance.bootstrap import CHILD_SCRIPT
from scftest.instance.record import InvocationRecord
from scftest.scf.environment import FunctionIdentity
from scftest.scf.profiles import profile_for

HANDLERS = Path(__file__).parent / "handlers"

VERSIONS = ("2.7",) + tuple(f"3.{minor}" for minor in range(6, 14))


def _pyenv_versions() -> Path:
    return Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"


def find_python(version: str):
    """(path, full version) of the newest installed ``version`` (e.g. "3.6"), or None."""
    prefix = version + "."
    try:
        folders = [p for p in _pyenv_versions().iterdir() if p.name.startswith(prefix)]
    except OSError:
        return None
    releases = []
    for folder in folders:
        patch = folder.name[len(prefix):]
        binary = folder / "bin" / "python"
        if patch.isdigit() and os.access(binary, os.X_OK):
            releases.append((int(patch), str(binary), folder.name))
    if not releases:
        return None
    _, path, full = max(releases)
    return path, full


INTERPRETERS = {v: find_python(v) for v in VERSIONS}
NEWEST = next((v for v in reversed(VERSIONS) if INTERPRETERS[v]), None)


def python_params(versions=None):
    """pytest params over ``versions`` (default: every known one); missing ones skip."""
    params = []
    for version in versions or VERSIONS:
        marks = () if INTERPRETERS.get(version) else pytest.mark.skip(
            reason=f"Python {version} is not installed under {_pyenv_versions()}")
        params.append(pytest.param(version, marks=marks, id=f"py{version}"))
    return params


# The hostile tests run on these: the two seed runtimes and the newest present.
CORE_VERSIONS = tuple(dict.fromkeys(("2.7", "3.6", NEWEST or "3.13")))


def needs(*versions: str):
    """Skip a test (or a module, as ``pytestmark``) when any of ``versions`` is missing."""
    missing = [v for v in versions if not INTERPRETERS.get(v)]
    return pytest.mark.skipif(bool(missing), reason=f"needs Python {', '.join(missing)} under {_pyenv_versions()}")


def run_scftest(cwd: Path, *args: str, env_extra=None, **kwargs) -> subprocess.CompletedProcess:
    """``python -m scftest ARGS`` in ``cwd`` as a user runs it (no colour), output captured as text."""
    env = dict(os.environ, NO_COLOR="1", **(env_extra or {}))
    kwargs.setdefault("capture_output", True)
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env, text=True,
                          timeout=kwargs.pop("timeout", 120), **kwargs)


REQUEST_FIELDS = frozenset(f.name for f in fields(InvocationRequest))


def make_call(version: str, root: str, handler: str, **overrides) -> Tuple[InstanceSpec, InvocationRequest]:
    """The spec and a request of a handler under tests/handlers/ROOT on the pyenv Python
    ``version``. ``overrides`` are fields of either (``event=``, ``timeout_s=``...), and
    ``function_name=`` names the function (a unique name by default: tests find the
    invocation's processes by it)."""
    path, full = INTERPRETERS[version]
    runtime = f"Python{version}"
    request = {key: overrides.pop(key) for key in list(overrides) if key in REQUEST_FIELDS}
    name = overrides.pop("function_name", f"scftest-{uuid.uuid4().hex}")
    spec = dict(
        code_root=HANDLERS / root, handler=handler, runtime=runtime,
        interpreter=Interpreter(runtime, path, full), timeout_s=3, memory_mb=128,
        environment={}, profile=profile_for(runtime), identity=FunctionIdentity(name=name),
    )
    spec.update(overrides)
    request.setdefault("request_id", str(uuid.uuid4()))
    return InstanceSpec(**spec), InvocationRequest(**request)


def invoke_once(spec: InstanceSpec, request: InvocationRequest,
                cancel: Optional[threading.Event] = None,
                backend: Optional[Backend] = None) -> InvocationRecord:
    """One invocation in an instance of its own, on ``backend`` (default: a spawn
    backend of its own, closed afterwards; a given one stays open)."""
    from scftest.instance.spawn import SpawnBackend

    if backend is None:
        with SpawnBackend() as own:
            return invoke_once(spec, request, cancel, own)
    with backend.start(spec) as instance:
        return instance.invoke(request, cancel)


@pytest.fixture(scope="module")
def child():
    """_child.py loaded in-process, for its pure functions and constants."""
    spec = importlib.util.spec_from_file_location("scftest_child_under_test", CHILD_SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
