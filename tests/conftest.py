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
from scftest.load.loader import load_suite
from scftest.scf.environment import FunctionIdentity
from scftest.scf.profiles import profile_for

HANDLERS = Path(__file__).parent / "handlers"

# The tests assert scftest's English messages; on a machine whose locale is Chinese scftest
# would speak Chinese (scftest/i18n.py). The tests of Chinese ask for it themselves
# (--lang zh, or LANG in the environment they pass).
for _variable in ("LC_ALL", "LC_MESSAGES", "LANG"):
    if os.environ.get(_variable, "").lower().startswith("zh"):
        os.environ[_variable] = "C.UTF-8"

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
# The runtimes a suite may name are the ones SCF offers (profiles.offered()); suites that
# tests write and run through the CLI use the newest of those that is installed.
OFFERED_VERSIONS = ("2.7", "3.6", "3.7", "3.9", "3.10")
NEWEST_OFFERED = next((v for v in reversed(OFFERED_VERSIONS) if INTERPRETERS[v]), None)


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


def suite_and_problems(path: Path):
    """The suite a file loads to (None when it cannot be) and its problems as the user reads them."""
    suite, problems, _ = load_suite(path)
    return suite, [str(p) for p in problems]


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


_SANDBOXES = {}


def seen_root(record, root: str) -> str:
    """The code root tests/handlers/ROOT as the function saw it: /var/user in a namespace
    (as in the cloud), the folder itself in a plain process."""
    if record.isolation == "namespace":
        return "/var/user"
    return str((HANDLERS / root).resolve())


def shared_sandbox(requested: str = "auto"):
    """One Sandbox per isolation request for the whole test session, as a run has one:
    the machine is probed once, not once per test."""
    from scftest.instance.sandbox import Sandbox

    if requested not in _SANDBOXES:
        _SANDBOXES[requested] = Sandbox(requested)
    return _SANDBOXES[requested]


def invoke_once(spec: InstanceSpec, request: InvocationRequest,
                cancel: Optional[threading.Event] = None,
                backend: Optional[Backend] = None) -> InvocationRecord:
    """One invocation in an instance of its own, on ``backend`` (default: a spawn
    backend of its own, closed afterwards; a given one stays open)."""
    from scftest.instance.spawn import SpawnBackend

    if backend is None:
        with SpawnBackend(sandbox=shared_sandbox()) as own:
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


def processes_of(marker):
    """Live processes whose command line or environment mention ``marker`` (tests mark
    what a case starts, then end what is found by PID)."""
    needle = marker.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as handle:
                state = handle.read().rsplit(b")", 1)[1].split()[0]
            if state in (b"Z", b"X"):
                continue
            with open(f"/proc/{name}/cmdline", "rb") as handle:
                cmdline = handle.read()
            with open(f"/proc/{name}/environ", "rb") as handle:
                environ = handle.read()
        except OSError:
            continue
        if needle in cmdline or needle in environ:
            found.append(int(name))
    return found


def end_processes(pids):
    """SIGKILL each of ``pids`` (what a test found left running)."""
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def namespaces_or_skip():
    """Skip, saying why, where this machine cannot make namespaces."""
    machine = shared_sandbox("auto").machine()
    if not machine.namespaces:
        pytest.skip(f"this machine cannot make namespaces: {machine.why}")


@pytest.fixture(params=["namespace", "process"])
def isolation(request):
    """Each isolation in turn (namespace tests skip where the machine cannot)."""
    if request.param == "namespace":
        namespaces_or_skip()
    return request.param


def sdist(folder: Path, name: str, version: str, files: dict, packages=(), py_modules=()) -> None:
    """A source distribution of ``files`` (path -> text) in ``folder`` that pip can build
    with setup.py alone (every Python has setuptools): for a local index, no network."""
    import io
    import tarfile
    import textwrap

    base = f"{name}-{version}"
    members = dict(files)
    members["setup.py"] = (f"from setuptools import setup\n"
                           f"setup(name={name!r}, version={version!r}, packages={list(packages)!r}, "
                           f"py_modules={list(py_modules)!r})\n")
    with tarfile.open(folder / f"{base}.tar.gz", "w:gz") as archive:
        for path, text in members.items():
            data = textwrap.dedent(text).encode("utf-8")
            info = tarfile.TarInfo(f"{base}/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))


_PYPI = []


def needs_pypi():
    """Skip a test that installs from PyPI where pypi.org cannot be reached (checked once)."""
    if not _PYPI:
        import socket

        try:
            socket.create_connection(("pypi.org", 443), timeout=5).close()
            _PYPI.append(True)
        except OSError:
            _PYPI.append(False)
    return pytest.mark.skipif(not _PYPI[0], reason="PyPI (pypi.org:443) is not reachable from this machine")
