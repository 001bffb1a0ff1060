"""The spawn backend: every invocation in a fresh process, the way SCF runs a cold start.

``SpawnBackend().start(spec)`` gives a ``SpawnInstance``; each ``invoke`` starts
``_child.py`` (the bootstrap, handed over sealed in memory) under the spec's interpreter,
contained as the run's Sandbox plans it (sandbox.py: its own namespaces where the machine
allows, else a hardened plain process), and watches it: the handler's output arrives on
one pipe (stdout and stderr merged, so the order is kept), the bootstrap's frames on
another (RESULT_FD). The time limit runs from the bootstrap's "ready" frame (sent just
before the handler module is imported); the answer counts once the bootstrap has sent
its result and closed the channel. The case's memory is polled (sandbox.CaseProcesses);
on a timeout, a memory overrun, a cancel or simply the end of the invocation every
process the handler started is ended, including those that left the process group with
setsid. Nothing outlives ``invoke``, so ``close`` has nothing to end, and no invocation
sees another's module state or files.

The pieces it uses: bootstrap.py (the compiled bootstrap and its config), channel.py (the
frames), logcapture.py (the capped log), sandbox.py (the containment, the case's
processes), observed.py (what was seen, made into the record); scf/environment.py says
what the function sees.

Nothing here is global: worker threads invoke instances in parallel, and share the
backend (its BootstrapCache and Sandbox are thread-safe).
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, Optional, Tuple

from scftest.instance import Backend, Instance, InstanceError, InstanceSpec, InvocationRequest
from scftest.instance.bootstrap import BootstrapCache, Script, child_config, write_config
from scftest.instance.channel import ChannelGarbled, Frame, FrameReader
from scftest.instance.logcapture import LogCapture
from scftest.instance.observed import STARTUP_ALLOWANCE_S, Observed, is_async, make_record, refusal
from scftest.instance.record import InvocationRecord
from scftest.instance.sandbox import EXIT_NO_INSTANCE, CasePlan, CaseProcesses, Sandbox
from scftest.scf.environment import build_context, build_environment

MIB = 1024 * 1024
READ_CHUNK = 256 * 1024
MEMORY_POLL_S = 0.015  # RSS of the known processes
DISCOVERY_EVERY = 3  # scan /proc for new descendants every 3rd memory poll (~45 ms)
DRAIN_S = 0.3  # reading what is left in the log pipe once the case is over
ANSWER_CLOSE_S = 2.0  # between the result frame and the function's close of the channel


class SpawnBackend(Backend):
    """Instances that start a fresh process for every invocation.

    ``bootstrap``: the run's BootstrapCache (the bootstrap's source pinned when the run
    starts); ``sandbox``: the run's containment (sandbox.py; by default the strongest
    this machine allows). Each is made when none is given."""

    def __init__(self, bootstrap: Optional[BootstrapCache] = None,
                 sandbox: Optional[Sandbox] = None):
        self.bootstrap = bootstrap if bootstrap is not None else BootstrapCache()
        self.sandbox = sandbox if sandbox is not None else Sandbox()

    def start(self, spec: InstanceSpec) -> "SpawnInstance":
        return SpawnInstance(spec, self.bootstrap, self.sandbox)

    def close(self) -> None:
        self.bootstrap.close()


class SpawnInstance(Instance):
    """One function; each invoke is a cold start in a process (and an instance of the
    sandbox) of its own."""

    def __init__(self, spec: InstanceSpec, bootstrap: BootstrapCache, sandbox: Sandbox):
        self.spec = spec
        self.bootstrap = bootstrap
        self.sandbox = sandbox
        self.code_root = str(Path(spec.code_root).resolve())

    def invoke(self, request: InvocationRequest,
               cancel: Optional[threading.Event] = None) -> InvocationRecord:
        spec = self.spec
        refused = refusal(spec, request)  # 406: the cloud starts nothing either
        if refused is not None:
            return refused
        plan = self.sandbox.plan(self.code_root, spec.profile.limits, spec.layers, spec.image)
        folder = tempfile.mkdtemp(prefix="scftest-")
        try:
            home = os.path.join(folder, "home")
            os.mkdir(home, 0o700)
            context = build_context(spec.identity, memory_mb=spec.memory_mb,
                                    timeout_s=spec.timeout_s, request_id=request.request_id,
                                    environment=spec.environment, overrides=request.context)
            config = write_config(child_config(
                handler=spec.handler, code_root=self.code_root, event=request.event,
                context=context, asynchronous=is_async(request),
                request_id=request.request_id, memory_mb=spec.memory_mb,
                code_root_inside=plan.code_root, instance=plan.instance,
                layer_path=plan.layer_path, image_path=plan.image_path), folder)
            env = build_environment(spec.identity, runtime=spec.runtime,
                                    environment=spec.environment, code_root=self.code_root,
                                    home=home, path=os.environ.get("PATH", os.defpath))
            env.update(spec.credentials)  # the role's: set by the platform, like SCF_*
            env.update(plan.environment)
            script = self.bootstrap.script(spec.interpreter.path)
            observed, log = _run(spec, script, config, env, cancel, self.code_root, plan)
            if observed.returncode == EXIT_NO_INSTANCE and observed.ready_at is None:
                output, _ = log.text(spec.secrets)
                raise InstanceError(f"the case's instance could not be made: {output.strip()}",
                                    hint="`scftest doctor` says what this machine gives")
            return make_record(spec, request, observed, log, isolation=plan.isolation)
        finally:
            _remove_folder(folder, home)
            plan.close()


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


def _spawn(spec: InstanceSpec, script: Script, config: str, env: Dict[str, str],
           code_root: str) -> Tuple[subprocess.Popen, int, int]:
    """The bootstrap's process, the read end of its result channel and the write end of
    its go pipe (one byte there starts the call, once the import is done)."""
    read_fd, write_fd = os.pipe()
    go_read, go_write = os.pipe()
    # -E -s -S: the interpreter's own site-packages, a venv's, the user site and any
    # PYTHON* variable stay out; _child.py builds the cloud's sys.path (isolated imports).
    command = [spec.interpreter.path, "-u", "-E", "-s", "-S", script.path, config, str(write_fd), str(go_read)]
    try:
        proc = subprocess.Popen(
            command, pass_fds=(write_fd, go_read) + script.fds, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, start_new_session=True, env=env,
            cwd=code_root if os.path.isdir(code_root) else None,
        )
    except OSError as exc:
        os.close(read_fd)
        os.close(go_write)
        raise InstanceError(
            f"cannot start the interpreter {spec.interpreter.path}: {exc.strerror or exc}",
            f"it answered when the run began; check that it is still an executable Python "
            f"{spec.interpreter.version}, or name another with --runtime {spec.runtime}=PATH") from exc
    finally:
        os.close(write_fd)
        os.close(go_read)
    return proc, read_fd, go_write


def _run(spec: InstanceSpec, script: Script, config: str, env: Dict[str, str],
         cancel: Optional[threading.Event], code_root: str,
         plan: CasePlan) -> Tuple[Observed, LogCapture]:
    observed = Observed(spawned_at=time.monotonic())
    proc, result_fd, go_fd = _spawn(spec, script, config, env, code_root)
    sandbox = plan.sandbox
    if sandbox is not None:
        sandbox.spawned(proc.pid)
    tree = plan.processes(proc.pid)
    watch = _Watch(spec, proc, result_fd, go_fd, tree, observed, cancel)
    try:
        watch.run()
    finally:
        _finish(proc, tree, watch.log, observed)
        os.close(result_fd)
        os.close(go_fd)
        if sandbox is not None:
            sandbox.reaped(proc.pid)
    return observed, watch.log


def _new_log(spec: InstanceSpec) -> LogCapture:
    limits = spec.profile.limits
    return LogCapture(head=limits.log_head_bytes, tail=limits.log_tail_bytes)


class _Watch:
    """The parent's loop for one process: read both pipes, enforce the limits, and stop
    as soon as the case is decided (a result, a limit, a cancel, a crash).

    ``log`` is the capture being written: the import's output until the "loaded" frame
    (then kept as ``observed.init_log``), the call's after it."""

    def __init__(self, spec, proc, result_fd, go_fd, tree, observed, cancel):
        self.spec, self.proc, self.tree, self.log = spec, proc, tree, _new_log(spec)
        self.observed, self.cancel = observed, cancel
        self.log_fd, self.result_fd, self.go_fd = proc.stdout.fileno(), result_fd, go_fd
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
                    if self.observed.stop or self._answered():
                        break

    def _answered(self) -> bool:
        """The result came, and the function closed the channel after it: nothing can
        follow. A second result frame before the close garbles the channel, so a frame
        the handler forged before raising (or returning) is never believed."""
        return self.observed.result is not None and not self.channel_open

    def _decided(self) -> bool:
        observed = self.observed
        if self._answered():
            return True  # answered: a limit reached since then does not count
        if observed.stop is None and observed.result is not None:
            # The result came, but the channel is still open: the bootstrap closes it at
            # once; only a process of the handler's (holding a copy) keeps it open.
            if time.monotonic() - observed.ended_at > ANSWER_CLOSE_S:
                observed.stop, observed.garbled = "garbled", (
                    "a process of the function kept the result channel open after the result")
            return observed.stop is not None
        if observed.stop is None:
            observed.stop = self._limit_reached(time.monotonic())
        if observed.stop is not None:
            return True
        # Without its channel the process can only die (a crash) or run into a limit.
        return not self.channel_open and _exited(self.proc)

    def _deadline(self) -> Optional[float]:
        """When the phase under way runs out of time: the import (init_timeout, from the
        ready frame), then the call (timeout, from its go byte); None before and after."""
        observed = self.observed
        if observed.result is not None or observed.ready_at is None:
            return None
        if observed.called_at is not None:
            return observed.called_at + self.spec.timeout_s
        if observed.loaded_at is None:
            return observed.ready_at + self.spec.init_timeout_s
        return None

    def _limit_reached(self, now: float) -> Optional[str]:
        observed = self.observed
        if self.cancel is not None and self.cancel.is_set():
            return "cancelled"
        if observed.ready_at is None and now - self.started > STARTUP_ALLOWANCE_S:
            return "startup"
        deadline = self._deadline()
        if deadline is not None and now >= deadline:
            return "timeout" if observed.called_at is not None else "init_timeout"
        if now >= self.next_poll:
            # Not on the first poll: a short case is over before it has a child, and the
            # scan at the end (CaseProcesses.kill) still finds any it left.
            if self.polls % DISCOVERY_EVERY == DISCOVERY_EVERY - 1:
                self.tree.discover()
            self.polls += 1
            self.next_poll = now + MEMORY_POLL_S
            if self.tree.rss_bytes() > self.spec.memory_mb * MIB:
                return "memory"
        return None

    def _wait(self) -> float:
        now = time.monotonic()
        wait = self.next_poll - now
        deadline = self._deadline()
        if self.observed.result is not None:
            wait = min(wait, self.observed.ended_at + ANSWER_CLOSE_S - now)
        elif deadline is not None:
            wait = min(wait, deadline - now)
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
                if frame.kind == "loaded":
                    self._start_call()
        except ChannelGarbled as exc:
            observed.stop, observed.garbled = "garbled", str(exc)
            observed.ended_at = time.monotonic()  # the case ends here, not at a forged frame
        return True


    def _start_call(self) -> None:
        """The import is done: what it wrote is in the log pipe now (the bootstrap flushed
        before "loaded" and waits for the go byte), so it is read into the init log and
        the call's output starts a log of its own; the instance's memory is measured for
        the Init Report; then the call may start, and its time limit with it."""
        observed = self.observed
        _pump_log(self.log_fd, self.log)
        observed.init_log, self.log = self.log, _new_log(self.spec)
        observed.init_memory = self.tree.rss_bytes()
        try:
            os.write(self.go_fd, b"g")
        except OSError:
            pass  # the process is gone: the watch sees it exit
        observed.called_at = time.monotonic()


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
    """The frames come once each, in this order: ready, loaded (not when the handler
    cannot be loaded), result; anything else garbles the channel."""
    now = time.monotonic()
    if frame.kind == "ready" and observed.ready_at is None:
        observed.ready_at = now
    elif (frame.kind == "loaded" and observed.ready_at is not None
          and observed.loaded_at is None and observed.result is None):
        observed.loaded_at = now
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


def _finish(proc, tree: CaseProcesses, log: LogCapture, observed: Observed) -> None:
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
