"""The bootstrap (``_child.py``) as the function's process runs it, and the config it
reads (child_config; config_in_memory, else write_config).

Per run (BootstrapCache), the bootstrap's source is read once and compiled once per
interpreter, by that interpreter, and the compiled bytes are handed to every case as a
sealed in-memory file (memfd, F_SEAL_WRITE and friends): the child runs
``/proc/self/fd/N``. Nothing on disk is executed, so nothing a handler writes (a cached
.pyc, a file in the runner's HOME) can change what a later case or a later run executes.
Where that cannot be done (no memfd, the compile fails) the source file itself is run.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

MIB = 1024 * 1024

CHILD_SCRIPT = Path(__file__).with_name("_child.py")

_COMPILE = (
    "import py_compile, sys; "
    "py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile=sys.argv[3], doraise=True)"
)
SEALS = ("F_SEAL_SEAL", "F_SEAL_SHRINK", "F_SEAL_GROW", "F_SEAL_WRITE")


@dataclass(frozen=True)
class Script:
    """What a case's interpreter runs: ``path``, which needs ``fds`` passed on."""

    path: str
    fds: Tuple[int, ...] = ()

    @property
    def sealed(self) -> bool:
        return bool(self.fds)


def compile_bootstrap(interpreter: str, source: bytes) -> Optional[bytes]:
    """``source`` compiled by ``interpreter`` (its own bytecode format), or None.

    The compile happens in a private folder made for it and removed at once; the bytes
    are read back into the runner's memory, which no handler can reach. Tracebacks name
    the bootstrap by its real file (dfile), so its frames can be told apart."""
    folder = tempfile.mkdtemp(prefix="scftest-bootstrap-")
    try:
        copy, compiled = os.path.join(folder, "_child.py"), os.path.join(folder, "_child.pyc")
        with open(copy, "wb") as handle:
            handle.write(source)
        done = subprocess.run(
            [interpreter, "-E", "-s", "-c", _COMPILE, copy, compiled, str(CHILD_SCRIPT)],
            stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env={})
        if done.returncode != 0:
            return None
        with open(compiled, "rb") as handle:
            return handle.read()
    except (OSError, subprocess.SubprocessError):
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def sealed_file(data: bytes, name: str = "scftest-bootstrap") -> Optional[int]:
    """A descriptor of an in-memory file holding ``data`` that nobody can change any
    more (sealed against writes, growing and shrinking); None where there is no memfd."""
    if not hasattr(os, "memfd_create") or not all(hasattr(_fcntl(), n) for n in SEALS):
        return None
    fcntl = _fcntl()
    try:
        fd = os.memfd_create(name, os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
    except OSError:
        return None
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        seals = 0
        for name in SEALS:
            seals |= getattr(fcntl, name)
        fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
        return fd
    except OSError:
        os.close(fd)
        return None


def seal_problem(interpreter: str) -> str:
    """Why cases of ``interpreter`` would run the bootstrap from disk, or "" when it is
    compiled and sealed (scftest doctor); tried for real, as a run does it."""
    if not hasattr(os, "memfd_create"):
        return "no memfd_create here (Linux 3.17+)"
    if not all(hasattr(_fcntl(), n) for n in SEALS):
        return "this Python's fcntl has no file seals (Python 3.8+ on Linux)"
    try:
        source = CHILD_SCRIPT.read_bytes()
    except OSError as exc:
        return f"cannot read {CHILD_SCRIPT}: {exc.strerror}"
    compiled = compile_bootstrap(interpreter, source)
    if compiled is None:
        return f"{interpreter} could not compile it"
    fd = sealed_file(compiled)
    if fd is None:
        return "a sealed in-memory file could not be made (memfd_create or F_ADD_SEALS failed)"
    os.close(fd)
    return ""


def _fcntl():
    import fcntl

    return fcntl


class BootstrapCache:
    """The bootstrap of one run: its source read once, compiled and sealed once per
    interpreter, then the same for every case of the run, even if _child.py is edited
    (or checked out, or half-written, or rewritten by a handler) while the run goes on.
    The backend owns one (nothing module-level); worker threads share it; ``close``
    releases the sealed files."""

    def __init__(self) -> None:
        try:
            self.source: Optional[bytes] = CHILD_SCRIPT.read_bytes()
        except OSError:
            self.source = None  # the file itself is run, case by case
        self._lock = threading.Lock()
        self._scripts: Dict[str, Script] = {}
        self._fds: List[int] = []

    def script(self, interpreter: str) -> Script:
        with self._lock:
            known = self._scripts.get(interpreter)
            if known is None:
                known = self._scripts[interpreter] = self._make(interpreter)
            return known

    def _make(self, interpreter: str) -> Script:
        compiled = compile_bootstrap(interpreter, self.source) if self.source else None
        fd = sealed_file(compiled) if compiled is not None else None
        if fd is None:
            return Script(str(CHILD_SCRIPT))
        self._fds.append(fd)
        return Script(f"/proc/self/fd/{fd}", (fd,))

    def close(self) -> None:
        with self._lock:
            for fd in self._fds:
                os.close(fd)
            self._fds.clear()
            self._scripts.clear()


# ---------------------------------------------------------------------------------------
# The config the bootstrap reads (and deletes) before it loads the handler.

def address_space_limit(memory_mb: int) -> int:
    """RLIMIT_AS for the function: a safety net far above the case's memory, so only a
    runaway allocation meets it (the parent's memory poll enforces the real limit)."""
    return (2 * int(memory_mb) + 2048) * MIB


def child_config(*, handler: str, code_root: str, event: Any, context: Mapping[str, Any],
                 asynchronous: bool, request_id: str, memory_mb: int,
                 code_root_inside: Optional[str] = None,
                 instance: Optional[Mapping[str, Any]] = None,
                 layer_path: Sequence[str] = (), image_path: Optional[str] = None,
                 profile: Optional[Mapping[str, Any]] = None) -> Dict[str, Any]:
    """``code_root_inside``: where the function finds the code root (/var/user in a
    namespace); ``instance``: the containment the bootstrap enters (sandbox.CasePlan);
    ``layer_path``: the layers' sys.path entries, after the code root (/opt in a namespace);
    ``image_path``: the runtime's image libraries as the function sees them (a site directory);
    ``profile``: how the runtime's bootstrap loads the handler and sets up logging
    (RuntimeProfile.bootstrap_config())."""
    config = {
        "handler": handler,
        "code_root": code_root_inside or code_root,
        "event": event,
        "context": dict(context),
        "invocation": "async" if asynchronous else "sync",  # _child.py's words
        "request_id": request_id,
        "address_space_limit": address_space_limit(memory_mb),
        "layer_path": list(layer_path),
        "image_path": image_path,
    }
    if instance:
        config["instance"] = dict(instance)
    if profile:
        config["profile"] = dict(profile)
    return config


def encode_config(config: Mapping[str, Any]) -> bytes:
    try:
        return json.dumps(config, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in the event: keep it as an escape
        return json.dumps(config).encode("ascii")


def config_in_memory(config: Mapping[str, Any]) -> Optional[Script]:
    """``config`` as a sealed in-memory file the bootstrap opens as ``path`` (its
    descriptor in ``fds``, passed on), reads, and closes: no file on disk to make and
    remove per case (on a busy machine each of those calls can take milliseconds, and a
    case in an instance then needs no folder on the host at all). None where there is
    no memfd; the caller closes its own descriptor once the process has started."""
    fd = sealed_file(encode_config(config), "scftest-config")
    return None if fd is None else Script(f"/proc/self/fd/{fd}", (fd,))


def write_config(config: Mapping[str, Any], folder: str) -> Script:
    """``config`` as ``folder/config.json``, readable by its owner only (the bootstrap
    deletes it once read)."""
    path = os.path.join(folder, "config.json")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(encode_config(config))
    return Script(path)
