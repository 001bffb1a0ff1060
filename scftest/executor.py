"""Run one invocation in a fresh process, the way SCF runs it, and record what happened.

``execute(inv)`` starts ``scftest/_child.py`` (the bootstrap) under the invocation's
interpreter and watches it: the handler's output arrives on one pipe (stdout and stderr
merged, so the order is kept), the bootstrap's frames on another (RESULT_FD). The time
limit runs from the bootstrap's "ready" frame (sent just before the handler module is
imported). The process tree's memory is polled through /proc; on a timeout, a memory
overrun, a cancel or simply the end of the case every process the handler started is
killed, including those that left the process group with setsid.

Nothing here is global or shared: worker threads call ``execute`` in parallel.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .model import UNSET
from .record import STATUS_CODES, ErrorInfo, Invocation, InvocationRecord

CHILD_SCRIPT = Path(__file__).with_name("_child.py")

MIB = 1024 * 1024
LOG_HEAD_BYTES = 2 * MIB  # the kept log is at most head + tail (+ a marker)
LOG_TAIL_BYTES = 2 * MIB
READ_CHUNK = 256 * 1024
MEMORY_POLL_S = 0.015  # RSS of the known processes
DISCOVERY_EVERY = 3  # scan /proc for new descendants every 3rd memory poll (~45 ms)
STARTUP_ALLOWANCE_S = 30.0  # interpreter start-up, before the bootstrap's ready frame
DRAIN_S = 0.3  # reading what is left in the log pipe once the case is over
MAX_FRAME_BYTES = 64 * MIB
CANCELLED = "Cancelled"  # ErrorInfo.type of a record whose invocation was cancelled

# What the generated context and the SCF variables say when the case does not override it.
SCF_REGION = "ap-guangzhou"
SCF_APPID = "1250000000"
SCF_UIN = "100000000001"
SCF_NAMESPACE = "default"
SCF_VERSION = "$LATEST"


class ExecutorError(RuntimeError):
    """scftest could not run the case at all (the interpreter cannot be started)."""


# ---------------------------------------------------------------------------------------
# What the function sees: context and environment.

def build_context(inv: Invocation) -> Dict[str, Any]:
    """The context dict the handler receives, the case's ``context`` merged over it."""
    declared = {str(k): str(v) for k, v in inv.environment.items()}
    context: Dict[str, Any] = {
        "memory_limit_in_mb": int(inv.memory_mb),
        "time_limit_in_ms": int(round(inv.timeout_s * 1000)),
        "request_id": inv.request_id,
        "environment": json.dumps(declared, ensure_ascii=False, separators=(",", ":")),
        "environ": ";".join(f"{k}={v}" for k, v in declared.items()),
        "function_version": SCF_VERSION,
        "function_name": inv.function_name,
        "namespace": SCF_NAMESPACE,
        "tencentcloud_region": SCF_REGION,
        "tencentcloud_appid": SCF_APPID,
        "tencentcloud_uin": SCF_UIN,
    }
    context.update(inv.context)
    return context


def build_environment(
    inv: Invocation, home: str, runner_path: Optional[str] = None,
    code_root: Optional[str] = None, context: Optional[Dict[str, Any]] = None,
) -> Dict[str, str]:
    """The complete environment of the function's process, built from scratch.

    Layers, later wins: what an interpreter needs (PATH, LANG, TZ), the declared
    ``environment`` (a user may set TZ, as in the cloud), then the SCF runtime variables
    (users cannot set those in the cloud) and HOME/TMPDIR (the per-case folder scftest
    removes afterwards). Nothing else of the runner's environment gets through.
    ``code_root`` and ``context``: the resolved code root and build_context(inv), when
    the caller has them already.
    """
    if context is None:
        context = build_context(inv)
    if code_root is None:
        code_root = str(Path(inv.code_root).resolve())
    env = {
        "PATH": runner_path if runner_path is not None else os.environ.get("PATH", os.defpath),
        "LANG": "en_US.UTF8",
        "TZ": "UTC",
    }
    env.update({str(k): str(v) for k, v in inv.environment.items()})
    env.update({
        "HOME": home,
        "TMPDIR": home,
        "PYTHONDONTWRITEBYTECODE": "x",
        "TENCENTCLOUD_RUNENV": "SCF",
        "TENCENTCLOUD_TZ": "UTC",
        "USER_CODE_ROOT": code_root + "/",
        "SCF_RUNTIME": inv.runtime,
        "SCF_FUNCTIONNAME": str(context["function_name"]),
        "SCF_FUNCTIONVERSION": str(context["function_version"]),
        "SCF_NAMESPACE": str(context["namespace"]),
        "TENCENTCLOUD_REGION": str(context["tencentcloud_region"]),
        "TENCENTCLOUD_APPID": str(context["tencentcloud_appid"]),
        "TENCENTCLOUD_UIN": str(context["tencentcloud_uin"]),
    })
    return env


def is_async(inv: Invocation) -> bool:
    """``async``, or the Invoke API's own word ``Event``, is an asynchronous call."""
    return str(inv.invocation).lower() in ("async", "event")


def address_space_limit(memory_mb: int) -> int:
    """RLIMIT_AS for the function: a safety net far above the case's memory, so only a
    runaway allocation meets it (the RSS poll enforces the real limit)."""
    return (2 * int(memory_mb) + 2048) * MIB


def child_config(inv: Invocation, code_root: Optional[str] = None,
                 context: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    return {
        "handler": inv.handler,
        "code_root": code_root if code_root is not None else str(Path(inv.code_root).resolve()),
        "event": inv.event,
        "context": context if context is not None else build_context(inv),
        "invocation": "async" if is_async(inv) else "sync",
        "request_id": inv.request_id,
        "address_space_limit": address_space_limit(inv.memory_mb),
    }


def write_config(inv: Invocation, folder: str, code_root: Optional[str] = None,
                 context: Optional[Dict[str, Any]] = None) -> str:
    path = os.path.join(folder, "config.json")
    config = child_config(inv, code_root, context)
    try:
        text = json.dumps(config, ensure_ascii=False)
        data = text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in the event: keep it as an escape
        data = json.dumps(config).encode("ascii")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


# ---------------------------------------------------------------------------------------
# The bootstrap, compiled once per interpreter.

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
# The log pipe.

class LogCapture:
    """Keeps the head and the tail of a log of any size; counts what was cut."""

    def __init__(self, head: int = LOG_HEAD_BYTES, tail: int = LOG_TAIL_BYTES):
        self.head_cap, self.tail_cap = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.tail_cap:  # trim in batches, not per chunk
                del self.tail[: len(self.tail) - self.tail_cap]

    def text(self, secrets: Iterable[str] = ()) -> Tuple[str, int]:
        """The log as text (bytes that are not UTF-8 replaced) and the bytes cut.

        A secret the cut went through would leave a piece on each side that masking the
        whole value cannot find: those pieces become *** here."""
        tail_bytes = bytes(self.tail[-self.tail_cap:]) if self.tail_cap else b""
        cut = self.total - len(self.head) - len(tail_bytes)
        head = self.head.decode("utf-8", errors="replace")
        tail = tail_bytes.decode("utf-8", errors="replace")
        if not cut:
            return head + tail, 0
        head, tail = _mask_cut_pieces(head, tail, secrets)
        if head and not head.endswith("\n"):
            head += "\n"
        marker = f"[scftest: {cut} bytes of log cut here; {self.total} bytes in all]\n"
        return head + marker + tail, cut


def _mask_cut_pieces(head: str, tail: str, secrets: Iterable[str]) -> Tuple[str, str]:
    for secret in (str(s) for s in secrets if s):
        for size in range(len(secret) - 1, 2, -1):  # longest piece first; 3+ characters
            if head.endswith(secret[:size]):
                head = head[:-size] + "***"
                break
        for size in range(len(secret) - 1, 2, -1):
            if tail.startswith(secret[-size:]):
                tail = "***" + tail[size:]
                break
    return head, tail


# ---------------------------------------------------------------------------------------
# The result channel.

class ChannelGarbled(Exception):
    pass


@dataclass
class Frame:
    kind: str
    fields: Dict[str, str]


class FrameReader:
    """Parses ``SCFT <kind> <n>\\n<n bytes>END\\n`` frames (see _child.py)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> List[Frame]:
        self.buffer += data
        frames = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def leftover(self) -> int:
        return len(self.buffer)

    def _next(self) -> Optional[Frame]:
        newline = self.buffer.find(b"\n", 0, 80)
        if newline < 0:
            if len(self.buffer) >= 80:
                raise ChannelGarbled(f"unexpected bytes {bytes(self.buffer[:40])!r}")
            return None
        parts = bytes(self.buffer[:newline]).split(b" ")
        if len(parts) != 3 or parts[0] != b"SCFT" or not parts[2].isdigit():
            raise ChannelGarbled(f"bad frame header {bytes(self.buffer[:newline])!r}")
        size = int(parts[2])
        if size > MAX_FRAME_BYTES:
            raise ChannelGarbled(f"frame of {size} bytes announced")
        end = newline + 1 + size
        if len(self.buffer) < end + 4:
            return None
        if self.buffer[end:end + 4] != b"END\n":
            raise ChannelGarbled("frame does not end where its length says")
        payload = bytes(self.buffer[newline + 1:end])
        del self.buffer[:end + 4]
        return Frame(parts[1].decode("ascii", "replace"), parse_fields(payload))


def parse_fields(payload: bytes) -> Dict[str, str]:
    fields, pos = {}, 0
    while pos < len(payload):
        newline = payload.find(b"\n", pos, pos + 80)
        if newline < 0:
            raise ChannelGarbled("bad field header")
        name, _, size = payload[pos:newline].partition(b" ")
        if not size.isdigit():
            raise ChannelGarbled(f"bad field header {payload[pos:newline]!r}")
        start, end = newline + 1, newline + 1 + int(size)
        if payload[end:end + 1] != b"\n":
            raise ChannelGarbled(f"field {name!r} does not end where its length says")
        fields[name.decode("ascii", "replace")] = payload[start:end].decode("utf-8", "replace")
        pos = end + 1
    return fields


# ---------------------------------------------------------------------------------------
# The process tree.

@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int
    start_time: int
    rss_pages: int


def _stat_fields(pid: int, fields: int) -> Optional[List[bytes]]:
    """The first ``fields`` fields after the command name in /proc/<pid>/stat (field 3
    on, so [0] is the state), unsplit rest last; None if the process is gone."""
    try:  # os.open/os.read: several times cheaper than open(), and this runs a lot
        fd = os.open(f"/proc/{pid}/stat", os.O_RDONLY)
        try:
            data = os.read(fd, 4096)
        finally:
            os.close(fd)
    except OSError:
        return None
    # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
    rest = data[data.rfind(b")") + 2:].split(None, fields)
    return rest if len(rest) > fields else None


def read_stat(pid: int) -> Optional[ProcStat]:
    rest = _stat_fields(pid, 22)
    try:
        return ProcStat(pid, rest[0].decode(), int(rest[1]), int(rest[2]), int(rest[3]),
                        int(rest[19]), int(rest[21]))
    except (TypeError, ValueError):  # gone (None), or not a stat line
        return None


def scan_processes() -> Dict[int, Tuple[int, int, int, int]]:
    """Every process now: pid -> (ppid, process group, session, start time).

    The process tree's discovery reads every process on the machine; this is the lean
    version of read_stat for it (no object per process, only the fields it needs)."""
    found = {}
    for pid in all_pids():
        rest = _stat_fields(pid, 20)
        if rest is not None:
            try:
                found[pid] = (int(rest[1]), int(rest[2]), int(rest[3]), int(rest[19]))
            except ValueError:
                pass
    return found


def all_pids() -> Iterable[int]:
    try:
        names = os.listdir("/proc")
    except OSError:  # no procfs (not Linux): see ProcessTree.kill
        return
    for name in names:
        if name.isdigit():
            yield int(name)


PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


class ProcessTree:
    """The function's processes: the bootstrap (a session and group leader), whatever
    shares its session or group, and every descendant seen, even one that called setsid.
    Each is remembered with its start time so a recycled pid is never killed."""

    def __init__(self, root: int):
        self.root = root
        self.known: Dict[int, int] = {}  # pid -> start time
        self.peak_rss = 0
        stat = read_stat(root)
        if stat is not None:
            self.known[root] = stat.start_time

    def discover(self) -> None:
        stats = scan_processes()
        known, root = self.known, self.root
        grew = True
        while grew:  # a fixed point: grandchildren may come before their parents
            grew = False
            for pid, (ppid, pgrp, session, start) in stats.items():
                if pid in known:
                    continue
                # Adopted: in the root's session or group, or the child of a process we
                # know (the same one: its start time matches, so not a recycled pid).
                parent = stats.get(ppid) if ppid in known else None
                if session == root or pgrp == root or (
                        parent is not None and parent[3] == known[ppid]):
                    known[pid] = start
                    grew = True

    def _live(self) -> List[ProcStat]:
        live = []
        for pid, start in list(self.known.items()):
            stat = read_stat(pid)
            if stat is not None and stat.start_time == start and stat.state not in ("Z", "X"):
                live.append(stat)
        return live

    def rss_bytes(self) -> int:
        """The tree's resident memory now; also tracks the peak."""
        return self._measure(self._live())

    def _measure(self, live: List[ProcStat]) -> int:
        total = sum(s.rss_pages for s in live) * PAGE_SIZE
        self.peak_rss = max(self.peak_rss, total)
        return total

    def kill(self) -> List[int]:
        """SIGKILL every process of the tree; returns the pids still alive afterwards.

        The first scan also takes a last memory measurement (a short case may not have
        been polled at all). When every live process is in the bootstrap's group, one
        scan is enough: killpg reaches the whole group at once, a fork racing it included
        (the kernel restarts a fork that a group signal interrupts, so the new child is
        signalled too), and the scan already found whatever had left the group; only the
        signalled processes are then watched until they are gone. Otherwise (a process
        outside the group, which could fork one more the group signal misses) scan again
        until nothing is left.
        """
        if not self.known:  # no procfs: only the group can be found and killed
            try:
                os.killpg(self.root, signal.SIGKILL)
            except OSError:
                pass
            return []
        deadline = time.monotonic() + 2.0
        pause = 0.0005
        self.discover()
        live = self._live()
        self._measure(live)
        while live:
            self._signal(live)
            in_group = all(stat.pgrp == self.root for stat in live)
            time.sleep(pause)  # SIGKILL takes effect within a scheduler tick or two
            pause = min(pause * 2, 0.05)
            if in_group:
                live = self._still_alive(live)
            else:
                self.discover()
                live = self._live()
            if live and time.monotonic() > deadline:
                return [stat.pid for stat in live]
        return []

    @staticmethod
    def _still_alive(signalled: List[ProcStat]) -> List[ProcStat]:
        """Those of ``signalled`` not dead yet (same pid and start time, not a zombie)."""
        alive = []
        for old in signalled:
            stat = read_stat(old.pid)
            if stat is not None and stat.start_time == old.start_time and \
                    stat.state not in ("Z", "X"):
                alive.append(stat)
        return alive

    def _signal(self, live: List[ProcStat]) -> None:
        # The group id is only trusted while one of ours still holds it (never a
        # recycled id), and each pid was checked against its start time.
        if any(stat.pgrp == self.root for stat in live):
            try:
                os.killpg(self.root, signal.SIGKILL)
            except OSError:
                pass
        for stat in live:
            try:
                os.kill(stat.pid, signal.SIGKILL)
            except OSError:
                pass


# ---------------------------------------------------------------------------------------
# Masking.

def masker(secrets: Iterable[str]):
    """A function replacing every secret value (and its JSON-escaped form) by ***."""
    needles = set()
    for secret in secrets:
        if secret:
            needles.add(str(secret))
            needles.add(json.dumps(str(secret), ensure_ascii=False)[1:-1])
            needles.add(json.dumps(str(secret))[1:-1])
    ordered = sorted(needles, key=len, reverse=True)

    def mask(text: Optional[str]) -> Optional[str]:
        if not text or not ordered:
            return text
        for needle in ordered:
            if needle in text:
                text = text.replace(needle, "***")
        return text

    return mask


def mask_value(value: Any, mask) -> Any:
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [mask_value(v, mask) for v in value]
    if isinstance(value, dict):
        return {mask(k): mask_value(v, mask) for k, v in value.items()}
    return value


# ---------------------------------------------------------------------------------------
# One execution.

@dataclass
class Observed:
    """What the parent saw of the process."""

    result: Optional[Frame] = None
    ready_at: Optional[float] = None
    ended_at: Optional[float] = None
    stop: Optional[str] = None  # timeout | memory | cancelled | startup | garbled
    garbled: str = ""
    returncode: Optional[int] = None
    tree_peak: int = 0  # bytes, the process tree's highest RSS seen by the poll
    leftovers: List[int] = field(default_factory=list)


def execute(inv: Invocation, cancel: Optional[threading.Event] = None,
            bootstrap: Optional[BootstrapCache] = None) -> InvocationRecord:
    """Run ``inv`` in a fresh process and return its record.

    A cancelled invocation (``cancel`` set while it runs) comes back with status crash
    and ``error.type == CANCELLED``. Raises ExecutorError when the interpreter cannot be
    started at all. ``bootstrap``: the run's BootstrapCache (without one, the compiled
    bootstrap is looked up afresh).
    """
    folder = tempfile.mkdtemp(prefix="scftest-")
    try:
        home = os.path.join(folder, "home")
        os.mkdir(home, 0o700)
        code_root = str(Path(inv.code_root).resolve())
        context = build_context(inv)
        config = write_config(inv, folder, code_root, context)
        env = build_environment(inv, home, code_root=code_root, context=context)
        script = (bootstrap.script(inv.interpreter.path) if bootstrap is not None
                  else bootstrap_script(inv.interpreter.path))
        observed, log = _run(inv, script, config, env, cancel, code_root)
        return _record(inv, observed, log)
    finally:
        _remove_folder(folder, home)


def _remove_folder(folder: str, home: str) -> None:
    """The per-case folder: usually just the empty HOME (the bootstrap deleted the
    config), removed with two rmdir calls; anything else goes through rmtree."""
    try:
        os.rmdir(home)
        os.rmdir(folder)
    except OSError:
        _remove_tree(folder)


def _remove_tree(folder: str) -> None:
    def retry_writable(func, path, _exc):  # a handler may leave read-only folders behind
        try:
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)
            func(path)
        except OSError:
            pass

    shutil.rmtree(folder, onerror=retry_writable)


def _spawn(inv: Invocation, script: str, config: str, env: Dict[str, str],
           code_root: str) -> Tuple[subprocess.Popen, int]:
    read_fd, write_fd = os.pipe()
    command = [inv.interpreter.path, "-u", "-s", script, config, str(write_fd)]
    try:
        proc = subprocess.Popen(
            command, pass_fds=(write_fd,), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, env=env,
            cwd=code_root if os.path.isdir(code_root) else None,
        )
    except OSError as exc:
        os.close(read_fd)
        raise ExecutorError(f"cannot start {inv.interpreter.path}: {exc}") from exc
    finally:
        os.close(write_fd)
    return proc, read_fd


def _run(inv: Invocation, script: str, config: str, env: Dict[str, str],
         cancel: Optional[threading.Event], code_root: str) -> Tuple[Observed, LogCapture]:
    proc, result_fd = _spawn(inv, script, config, env, code_root)
    tree = ProcessTree(proc.pid)
    log = LogCapture()
    observed = Observed()
    try:
        _Watch(inv, proc, result_fd, tree, log, observed, cancel).run()
    finally:
        _finish(proc, tree, log, observed)
        os.close(result_fd)
    return observed, log


class _Watch:
    """The parent's loop for one process: read both pipes, enforce the limits, and stop
    as soon as the case is decided (a result, a limit, a cancel, a crash)."""

    def __init__(self, inv, proc, result_fd, tree, log, observed, cancel):
        self.inv, self.proc, self.tree, self.log = inv, proc, tree, log
        self.observed, self.cancel = observed, cancel
        self.log_fd, self.result_fd = proc.stdout.fileno(), result_fd
        self.frames = FrameReader()
        self.channel_open = True
        self.started = time.monotonic()
        self.next_poll, self.polls = self.started, 0

    def run(self) -> None:
        os.set_blocking(self.log_fd, False)
        os.set_blocking(self.result_fd, False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.log_fd, selectors.EVENT_READ)
            selector.register(self.result_fd, selectors.EVENT_READ)
            while not self._decided():
                for key, _ in selector.select(self._wait()):
                    if key.fd == self.log_fd:
                        if not _pump_log(self.log_fd, self.log):
                            selector.unregister(self.log_fd)
                    elif not self._read_channel():
                        selector.unregister(self.result_fd)
                    if self.observed.stop or self.observed.result:
                        break

    def _decided(self) -> bool:
        observed = self.observed
        if observed.result is not None:
            return True  # answered: a limit reached since then does not count
        if observed.stop is None:
            observed.stop = self._limit_reached(time.monotonic())
        if observed.stop is not None:
            return True
        # Without its channel the process can only die (a crash) or run into a limit.
        return not self.channel_open and _exited(self.proc)

    def _limit_reached(self, now: float) -> Optional[str]:
        ready_at = self.observed.ready_at
        if self.cancel is not None and self.cancel.is_set():
            return "cancelled"
        if ready_at is None and now - self.started > STARTUP_ALLOWANCE_S:
            return "startup"
        if ready_at is not None and now - ready_at >= self.inv.timeout_s:
            return "timeout"
        if now >= self.next_poll:
            # Not on the first poll: a short case is over before it has a child, and the
            # scan at the end (ProcessTree.kill) still finds any it left.
            if self.polls % DISCOVERY_EVERY == DISCOVERY_EVERY - 1:
                self.tree.discover()
            self.polls += 1
            self.next_poll = now + MEMORY_POLL_S
            if self.tree.rss_bytes() > self.inv.memory_mb * MIB:
                return "memory"
        return None

    def _wait(self) -> float:
        now = time.monotonic()
        wait = self.next_poll - now
        if self.observed.ready_at is not None:
            wait = min(wait, self.observed.ready_at + self.inv.timeout_s - now)
        return max(wait, 0.0)

    def _read_channel(self) -> bool:
        """Reads the result channel; False once it is closed."""
        data = _read(self.result_fd)
        if data is None:
            return True
        observed = self.observed
        if not data:
            self.channel_open = False
            if self.frames.leftover():
                observed.stop, observed.garbled = "garbled", (
                    f"the channel closed in the middle of a frame "
                    f"({self.frames.leftover()} bytes)")
            return False
        try:
            for frame in self.frames.feed(data):
                _take_frame(frame, observed)
        except ChannelGarbled as exc:
            observed.stop, observed.garbled = "garbled", str(exc)
        return True


def _exited(proc: subprocess.Popen) -> bool:
    """Whether the bootstrap has exited, without reaping it: until _finish has killed the
    tree, its pid (the session and group id the tree is recognised by) stays taken, so
    no new process can get it and be adopted as one of the function's."""
    if proc.returncode is not None:
        return True
    try:
        return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
    except (AttributeError, ChildProcessError):  # no waitid here; or reaped elsewhere
        return proc.poll() is not None


def _take_frame(frame: Frame, observed: Observed) -> None:
    now = time.monotonic()
    if frame.kind == "ready" and observed.ready_at is None:
        observed.ready_at = now
    elif frame.kind == "result" and observed.ready_at is not None and observed.result is None:
        observed.result = frame
        observed.ended_at = now
    else:
        raise ChannelGarbled(f"unexpected {frame.kind!r} frame")


def _read(fd: int) -> Optional[bytes]:
    try:
        return os.read(fd, READ_CHUNK)
    except BlockingIOError:
        return None  # nothing after all: a spurious wake-up
    except OSError:
        return b""


def _pump_log(fd: int, log: LogCapture) -> bool:
    """Read what the log pipe holds now; False at end of file."""
    while True:
        try:
            data = os.read(fd, READ_CHUNK)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        log.feed(data)


def _finish(proc, tree: ProcessTree, log: LogCapture, observed: Observed) -> None:
    """End of the case, whatever happened: every process dies, the log is drained."""
    if observed.ended_at is None:
        observed.ended_at = time.monotonic()
    _pump_log(proc.stdout.fileno(), log)  # what was written before the result frame
    # The bootstrap lingers after its result: the handler's processes are still its
    # descendants now, so the scan in kill() finds even those that called setsid (and
    # measures the tree's memory one last time).
    observed.leftovers = tree.kill()
    observed.tree_peak = tree.peak_rss
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        observed.leftovers.append(proc.pid)
    observed.returncode = proc.returncode
    _drain(proc.stdout.fileno(), log)
    proc.stdout.close()


def _drain(fd: int, log: LogCapture) -> None:
    """Whatever the processes wrote before dying; bounded, as a process scftest could not
    see may still hold the pipe open."""
    deadline = time.monotonic() + DRAIN_S
    with selectors.DefaultSelector() as selector:
        selector.register(fd, selectors.EVENT_READ)
        while time.monotonic() < deadline:
            if not selector.select(max(deadline - time.monotonic(), 0)):
                return
            if not _pump_log(fd, log):
                return


# ---------------------------------------------------------------------------------------
# The record.

def _signal_name(returncode: Optional[int]) -> Optional[str]:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _timeout_text(seconds: float) -> str:
    return f"{seconds:g}"


@dataclass
class Ending:
    """How the invocation ended (status, code, error or value), before the record."""

    status: str
    code: int
    error: Optional[ErrorInfo] = None
    ret_msg: Optional[str] = None
    value: Any = UNSET


def _platform_error(kind: str, message: str) -> ErrorInfo:
    return ErrorInfo(type=kind, qualified_type=f"scf.{kind}", message=message)


def _crash_message(observed: Observed) -> str:
    if observed.stop == "garbled":
        return (f"the result channel between scftest and the function's process was "
                f"garbled ({observed.garbled}); the process was killed")
    if observed.stop == "startup":
        return f"the interpreter did not start the bootstrap within {STARTUP_ALLOWANCE_S:g} s"
    code = observed.returncode
    how = (f"was killed by {_signal_name(code)}" if code is not None and code < 0
           else f"exited with code {code}")
    if observed.ready_at is None:
        return f"the function's process {how} before loading the handler (see the log)"
    if code == 70:
        return f"the function's process {how}: the handler closed the result channel"
    return f"the function's process {how} while running (os._exit, sys.exit or a fatal signal)"


def _from_result(inv: Invocation, fields: Dict[str, str]) -> Ending:
    outcome = fields.get("outcome", "")
    error = None
    if "error_type" in fields:
        error = ErrorInfo(fields["error_type"], fields.get("error_qualified", ""),
                          fields.get("error_message", ""), fields.get("traceback", ""))
    if outcome == "ok" and "ret_msg" in fields:
        ret_msg = fields["ret_msg"]
        if is_async(inv):
            return Ending("success", STATUS_CODES["success"], ret_msg=ret_msg)
        return Ending("success", STATUS_CODES["success"], ret_msg=ret_msg,
                      value=json.loads(ret_msg))
    if outcome == "memory":
        return Ending("memory_exceeded", STATUS_CODES["memory_exceeded"], error=_platform_error(
            "MemoryExceeded", f"Task memory exceeded {inv.memory_mb} MB (MemoryError)"))
    codes = {"error": "error", "not_found": "handler_not_found", "init_error": "init_error",
             "too_large": "response_too_large"}
    if outcome in codes and error is not None:
        return Ending("error", STATUS_CODES[codes[outcome]], error=error)
    raise ChannelGarbled(f"a result frame without a usable outcome ({outcome!r})")


def _ending(inv: Invocation, observed: Observed) -> Ending:
    stop = observed.stop
    if stop == "timeout":
        return Ending("timeout", STATUS_CODES["timeout"], error=_platform_error(
            "Timeout", f"Invoking task timed out after {_timeout_text(inv.timeout_s)} seconds"))
    if stop == "memory":
        return Ending("memory_exceeded", STATUS_CODES["memory_exceeded"], error=_platform_error(
            "MemoryExceeded", f"Task memory exceeded {inv.memory_mb} MB"))
    if stop == "cancelled":
        return Ending("crash", STATUS_CODES["crash"], error=ErrorInfo(
            CANCELLED, f"scftest.{CANCELLED}", "scftest stopped the invocation (interrupted)"))
    if observed.result is not None and stop is None:
        try:
            return _from_result(inv, observed.result.fields)
        except (ChannelGarbled, ValueError) as exc:
            observed.stop, observed.garbled = "garbled", str(exc)
    return Ending("crash", STATUS_CODES["crash"],
                  error=_platform_error("ProcessExited", _crash_message(observed)))


def _duration_ms(observed: Observed) -> float:
    if observed.result is not None and "duration_ms" in observed.result.fields:
        return float(observed.result.fields["duration_ms"])
    if observed.ready_at is None:
        return 0.0
    return max(0.0, (observed.ended_at or observed.ready_at) - observed.ready_at) * 1000.0


def _memory_mb(observed: Observed, tree_peak: int) -> float:
    child_kb = 0
    if observed.result is not None:
        value = observed.result.fields.get("maxrss_kb", "0")
        child_kb = int(value) if value.isdigit() else 0
    return round(max(tree_peak, child_kb * 1024) / MIB, 3)


def _error_json(error: ErrorInfo, code: int) -> str:
    if code == STATUS_CODES["error"]:  # what SCF writes for a user code exception
        data = {"errorCode": -1, "errorMessage": "user code exception caught",
                "stackTrace": error.traceback or f"{error.type}: {error.message}"}
    else:
        data = {"errorCode": -1, "errorMessage": error.message,
                "stackTrace": error.traceback, "statusCode": code}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def frame_log(inv: Invocation, output: str, ending: Ending, duration_ms: float,
              memory_mb: float) -> str:
    """The function log as the cloud writes it around the handler's own output."""
    rid = inv.request_id
    lines = [f"START RequestId:{rid}", f"Event RequestId:{rid}"]
    text = "\n".join(lines) + "\n" + output
    if output and not output.endswith("\n"):
        text += "\n"
    if ending.error is not None:
        if ending.error.traceback:
            text += ending.error.traceback.rstrip("\n") + "\n"
        text += f"ERROR RequestId:{rid} Result:{_error_json(ending.error, ending.code)}\n"
    else:
        text += f"Response RequestId:{rid} RetMsg:{ending.ret_msg}\n"
    text += f"END RequestId:{rid}\n"
    text += (f"Report RequestId:{rid} Duration:{duration_ms:.3f}ms "
             f"BilledDuration:{math.ceil(duration_ms)}ms Memory:{inv.memory_mb}MB "
             f"MemUsage:{memory_mb:g}MB\n")
    return text


def _mask_error(error: Optional[ErrorInfo], mask) -> Optional[ErrorInfo]:
    if error is None:
        return None
    return ErrorInfo(mask(error.type), mask(error.qualified_type), mask(error.message),
                     mask(error.traceback))


def _record(inv: Invocation, observed: Observed, log: LogCapture) -> InvocationRecord:
    ending = _ending(inv, observed)
    duration = _duration_ms(observed)
    memory = _memory_mb(observed, observed.tree_peak)
    output, cut = log.text(inv.secrets)
    if observed.leftovers:
        output += (f"[scftest: could not kill processes {observed.leftovers} "
                   f"the function started]\n")
    mask = masker(inv.secrets)
    ending.error = _mask_error(ending.error, mask)
    ending.ret_msg = mask(ending.ret_msg)
    text = mask(frame_log(inv, output, ending, duration, memory))
    code = observed.returncode
    if observed.result is not None and code == -signal.SIGKILL:
        code = 0  # it answered, then scftest ended the lingering (warm) process
    return InvocationRecord(
        request_id=inv.request_id,
        invocation=inv.invocation,
        runtime=inv.runtime,
        interpreter=inv.interpreter.path,
        interpreter_version=inv.interpreter.version,
        status=ending.status,
        status_code=ending.code,
        return_value=mask_value(ending.value, mask) if ending.value is not UNSET else UNSET,
        ret_msg=ending.ret_msg,
        error=ending.error,
        log=text,
        duration_ms=round(duration, 3),
        billed_duration_ms=math.ceil(duration),
        max_memory_mb=memory,
        exit_code=code if code is not None and code >= 0 else None,
        signal=_signal_name(code),
        log_truncated_bytes=cut,
        runtime_fallback=inv.interpreter.fallback,
    )
