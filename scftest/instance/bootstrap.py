"""The bootstrap (``_child.py``) as the function's process runs it: compiled once per
interpreter and cached on disk, its source pinned for the whole run (BootstrapCache),
and the config file it reads (child_config, write_config).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

MIB = 1024 * 1024

CHILD_SCRIPT = Path(__file__).with_name("_child.py")

_COMPILE = (
    "import py_compile, sys; "
    "py_compile.compile(sys.argv[1], cfile=sys.argv[2], dfile=sys.argv[3], doraise=True)"
)
# Part of every cache key: files written before the compiled copy was pinned to the bytes
# its name hashes (any of them may hold other code than its name says) are never used.
KEY_FORMAT = b"scftest-bootstrap-2"


def bootstrap_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "scftest" / "bootstrap"


def bootstrap_script(interpreter: str, cache_dir: Optional[Path] = None,
                     source: Optional[bytes] = None) -> str:
    """The bootstrap file to run under ``interpreter``: a copy compiled by that very
    interpreter (cached on disk, like __pycache__), else the source file itself.

    A script run by path is compiled anew at every start, ~1.5 ms of a ~12 ms case; the
    function's process never writes bytecode (PYTHONDONTWRITEBYTECODE, as in SCF), so
    the runner compiles it once. The name hashes the source and the interpreter binary,
    so an edit or a reinstall gets a new file; any problem falls back to the source.

    ``source`` is the bootstrap's text as the run pinned it (BootstrapCache); without it,
    _child.py is read now. Either way the compiled file holds exactly the bytes its name
    hashes: they are compiled from a private copy, never from _child.py again, which an
    edit or a git checkout may be rewriting at that very moment (compiling it half-written
    once cached an empty bootstrap: a process that exits 0 without a word).
    """
    fallback = str(CHILD_SCRIPT)
    try:
        text = CHILD_SCRIPT.read_bytes() if source is None else source
        folder = cache_dir or bootstrap_cache_dir()
        target = folder / f"_child-{_bootstrap_key(interpreter, text)}.pyc"
        if _trusted(target):
            return str(target)
        failed = target.with_suffix(".failed")  # compile once, even when it cannot be done
        if failed.exists() or not _ensure_private(folder):
            return fallback
        stem = f".{target.stem}.{os.getpid()}.{threading.get_ident()}"
        copy, partial = folder / f"{stem}.py", folder / f"{stem}.pyc"
        fd = os.open(copy, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(text)
        try:
            done = subprocess.run(
                [interpreter, "-E", "-s", "-c", _COMPILE, str(copy), str(partial), fallback],
                stdin=subprocess.DEVNULL, capture_output=True, timeout=30, env={},
            )
        finally:
            copy.unlink()
        if done.returncode != 0 or not partial.is_file():
            failed.touch()
            return fallback
        os.replace(partial, target)  # atomic: concurrent runners never see half a file
        return str(target)
    except (OSError, subprocess.SubprocessError):
        return fallback


class BootstrapCache:
    """The bootstrap of one run: its source read once, its compiled file found once per
    interpreter.

    The source is pinned when the run starts, so every case of the run gets the same
    bootstrap, the one that goes with the executor already loaded, even if _child.py is
    edited (or checked out, or half-written) while the run goes on. Finding the compiled
    file means hashing that source and resolving and stat-ing the interpreter: runner
    CPU paid on every case without this. The session owns one (nothing module-level);
    worker threads share it. The file found is still checked before each use (one stat),
    so a cache emptied during the run is filled again from the pinned source.
    """

    def __init__(self, cache_dir: Optional[Path] = None):
        self.cache_dir = cache_dir
        try:
            self.source: Optional[bytes] = CHILD_SCRIPT.read_bytes()
        except OSError:
            self.source = None  # bootstrap_script falls back to the file, case by case
        self._lock = threading.Lock()
        self._scripts: Dict[str, str] = {}

    def script(self, interpreter: str) -> str:
        with self._lock:
            known = self._scripts.get(interpreter)
        if known is not None and known != str(CHILD_SCRIPT) and _trusted(Path(known)):
            return known
        found = bootstrap_script(interpreter, self.cache_dir, self.source)
        with self._lock:
            self._scripts[interpreter] = found
        return found


def _bootstrap_key(interpreter: str, source: bytes) -> str:
    real = os.path.realpath(interpreter)
    binary = os.stat(real)
    digest = hashlib.sha256(KEY_FORMAT)
    digest.update(b"\0" + source + b"\0")
    digest.update(f"{real}:{binary.st_mtime_ns}:{binary.st_size}".encode())
    return digest.hexdigest()[:20]


def _ensure_private(folder: Path) -> bool:
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return _trusted(folder)


def _trusted(path: Path) -> bool:
    """Ours and writable by us alone: nobody else may plant code the runner executes."""
    try:
        info = path.stat()
    except OSError:
        return False
    return info.st_uid == os.getuid() and not info.st_mode & 0o022



# ---------------------------------------------------------------------------------------
# The config the bootstrap reads (and deletes) before it loads the handler.

def address_space_limit(memory_mb: int) -> int:
    """RLIMIT_AS for the function: a safety net far above the case's memory, so only a
    runaway allocation meets it (the parent's memory poll enforces the real limit)."""
    return (2 * int(memory_mb) + 2048) * MIB


def child_config(*, handler: str, code_root: str, event: Any, context: Mapping[str, Any],
                 asynchronous: bool, request_id: str, memory_mb: int) -> Dict[str, Any]:
    return {
        "handler": handler,
        "code_root": code_root,
        "event": event,
        "context": dict(context),
        "invocation": "async" if asynchronous else "sync",  # _child.py's words
        "request_id": request_id,
        "address_space_limit": address_space_limit(memory_mb),
    }


def write_config(config: Mapping[str, Any], folder: str) -> str:
    """``config`` as ``folder/config.json``, readable by its owner only; its path."""
    path = os.path.join(folder, "config.json")
    try:
        data = json.dumps(config, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in the event: keep it as an escape
        data = json.dumps(config).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path
