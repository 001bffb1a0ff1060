"""Run one invocation in a fresh process, the way SCF runs it, and record what happened.

``execute(inv)`` starts ``scftest/_child.py`` (the bootstrap) under the invocation's
interpreter and watches it: the handler's output arrives on one pipe (stdout and stderr
merged, so the order is kept), the bootstrap's frames on another (RESULT_FD). The time
limit runs from the bootstrap's "ready" frame (sent just before the handler module is
imported). The process tree's memory is polled through /proc; on a timeout, a memory
overrun, a cancel or simply the end of the case every process the handler started is
killed, including those that left the process group with setsid.

The pieces it uses: bootstrap.py (the compiled bootstrap), channel.py (the frames),
logcapture.py (the capped log), proctree.py (the process tree), masking.py (secrets).

Nothing here is global or shared: worker threads call ``execute`` in parallel.
"""

from __future__ import annotations

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
from typing import Any, Dict, List, Optional, Tuple

from scftest.instance.bootstrap import BootstrapCache, bootstrap_script
from scftest.instance.channel import ChannelGarbled, Frame, FrameReader
from scftest.instance.logcapture import LogCapture
from scftest.instance.masking import mask_value, masker
from scftest.model import UNSET
from scftest.instance.proctree import ProcessTree
from scftest.instance.record import STATUS_CODES, ErrorInfo, Invocation, InvocationRecord

MIB = 1024 * 1024
READ_CHUNK = 256 * 1024
MEMORY_POLL_S = 0.015  # RSS of the known processes
DISCOVERY_EVERY = 3  # scan /proc for new descendants every 3rd memory poll (~45 ms)
STARTUP_ALLOWANCE_S = 30.0  # interpreter start-up, before the bootstrap's ready frame
DRAIN_S = 0.3  # reading what is left in the log pipe once the case is over
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
        data = _read(fd)
        if data is None:
            return True
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
