"""The spawn backend: a fresh process for a cold start, the way SCF starts an instance, kept
warm for the invocations that follow it.

``SpawnBackend().start(spec, invocations=N)`` gives a ``SpawnInstance``; its first ``invoke``
starts ``_child.py`` (the bootstrap, handed over sealed in memory) under the spec's
interpreter, contained as the run's Sandbox plans it (sandbox.py: its own namespaces where
the machine allows, else a hardened plain process), and watches it: the handler's output
arrives on one pipe (stdout and stderr merged, so the order is kept), the bootstrap's frames
on another (RESULT_FD). The time limit runs from the bootstrap's "ready" frame (sent just
before the handler module is imported); the answer counts once the bootstrap has sent its
result and closed the channel. The case's memory is polled (sandbox.CaseProcesses).

A warm instance (N > 1): the process made for the cold start gets one channel per
invocation announced (pipes made before the spawn) and a request pipe. After its answer the
bootstrap waits for the next request with the module loaded (its globals and /tmp kept);
each request is written by the parent, answered on that invocation's own channel and closed
there, so a frame forged in one invocation garbles it and never counts for another. Each
invocation has its own log (the log pipe read into a capture of its own) and figures: the
duration from its call's start to its result, the memory as the instance's peak so far (the
cloud's figure for a warm instance). On a timeout, a memory overrun, a crash, an init
failure, a garbled channel, a cancel, or after the last invocation announced, every process
of the instance is ended, including those that left the process group with setsid; the next
invoke is a cold start. ``close`` ends whatever is still running: nothing outlives the
instance, and no instance sees another's module state or files. In a namespace the end is
split: every process gets SIGKILL before the record is made, and the kernel's teardown (the
exits, the bootstrap's reaping, the cgroups emptied and handed to a later case) is the
sandbox's reaper's (reaper.py), off the next case's way. An instance's config comes in
memory (bootstrap.config_in_memory) and it makes no folder on the host.

The pieces it uses: bootstrap.py (the compiled bootstrap and its config), channel.py (the
frames), logcapture.py (the capped log), sandbox.py (the containment, the case's
processes), observed.py (what was seen, made into the record); scf/environment.py says
what the function sees.

Nothing here is global: worker threads invoke instances in parallel, and share the
backend (its BootstrapCache and Sandbox are thread-safe).
"""

from __future__ import annotations

import json
import os
import selectors
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Dict, List, Optional, Tuple

from scftest.instance import Backend, Instance, InstanceError, InstanceSpec, InvocationRequest
from scftest.i18n import _
from scftest.instance.bootstrap import BootstrapCache, Script, child_config, config_in_memory, write_config
from scftest.instance.channel import ChannelGarbled, Frame, FrameReader
from scftest.instance.logcapture import LogCapture
from scftest.instance.observed import STARTUP_ALLOWANCE_S, Observed, is_async, make_record, refusal
from scftest.instance.record import InvocationRecord
from scftest.instance.sandbox import EXIT_NO_INSTANCE, KILL_WAIT_S, NAMESPACE, Sandbox
from scftest.scf.environment import TIMER_TRIGGER, Host, build_context, build_environment

MIB = 1024 * 1024
READ_CHUNK = 256 * 1024
MEMORY_POLL_S = 0.015  # RSS of the known processes
DISCOVERY_EVERY = 3  # scan /proc for new descendants every 3rd memory poll (~45 ms)
DRAIN_S = 0.3  # reading what is left in the log pipe once the case is over
ANSWER_CLOSE_S = 2.0  # between the result frame and the function's close of the channel
# --cov: the bootstrap analyses what coverage measured after the result frame (the call's
# duration ends at the frame), before it closes the channel; a large code folder takes seconds.
COVERAGE_SAVE_S = 60.0


class SpawnBackend(Backend):
    """Instances that start a fresh process for a cold start and keep it warm for the
    invocations announced (``start(spec, invocations=N)``).

    ``bootstrap``: the run's BootstrapCache (the bootstrap's source pinned when the run
    starts); ``sandbox``: the run's containment (sandbox.py; by default the strongest
    this machine allows). Each is made when none is given."""

    def __init__(self, bootstrap: Optional[BootstrapCache] = None,
                 sandbox: Optional[Sandbox] = None):
        self.bootstrap = bootstrap if bootstrap is not None else BootstrapCache()
        self.sandbox = sandbox if sandbox is not None else Sandbox()
        self.host = Host()

    def start(self, spec: InstanceSpec, invocations: int = 1) -> "SpawnInstance":
        return SpawnInstance(spec, self.bootstrap, self.sandbox, invocations, self.host)

    def close(self) -> None:
        self.bootstrap.close()
        self.sandbox.close()


class SpawnInstance(Instance):
    """One function. The first invoke is a cold start in a process (and an instance of
    the sandbox) of its own; the process stays warm for the further invocations
    announced, unless an invocation ends it (a timeout, a crash, the memory limit, an
    init failure, a cancel): the next invoke is a cold start again. An invoke beyond
    those announced is a cold start too. ``close`` ends whatever is still running."""

    def __init__(self, spec: InstanceSpec, bootstrap: BootstrapCache, sandbox: Sandbox,
                 invocations: int = 1, host: Optional[Host] = None, starter=None,
                 cgroups=None):
        self.spec = spec
        self.starter = starter if starter is not None else _spawn  # forkserver.py: a fork
        self.cgroups = cgroups  # forkserver.py: limits -> the cgroups set aside, or None
        self.bootstrap = bootstrap
        self.sandbox = sandbox
        self.host = host if host is not None else Host()
        self.code_root = sandbox.code_folder(str(spec.code_root))
        self.left = max(1, invocations)  # invocations still announced
        self.process: Optional[_Process] = None  # the warm process, between invocations

    def invoke(self, request: InvocationRequest,
               cancel: Optional[threading.Event] = None) -> InvocationRecord:
        refused = refusal(self.spec, request)  # 406: the cloud starts nothing either
        if refused is not None:
            return refused  # the instance, warm or not, is left as it was
        announced, self.left = max(1, self.left), max(1, self.left - 1)
        process = self.process
        self.process = None
        if process is None:
            process = _Process.spawn(self.spec, self.bootstrap, self.sandbox, self.code_root,
                                     request, announced, self.host, self.starter, self.cgroups)
        try:
            observed, log = process.step(request, cancel)
            if process.ended:
                process.close()
                if process.cold and observed.returncode == EXIT_NO_INSTANCE and observed.ready_at is None:
                    output, _truncated = log.text()
                    raise InstanceError(_("the case's instance could not be made: {output}").format(output=output.strip()),
                                        hint=_("`scftest doctor` says what this machine gives"))
            else:
                self.process = process
            return make_record(self.spec, request, observed, log, isolation=process.plan.isolation,
                               start=getattr(process.proc, "start", "spawn"))
        except BaseException:
            process.close()
            self.process = None
            raise

    def close(self) -> None:
        if self.process is not None:
            process, self.process = self.process, None
            process.close()


# Outcomes after which the instance goes on serving: the handler was loaded and returned
# or raised. Anything else (an init failure, MemoryError, a limit, a crash) ends it.
WARM_OUTCOMES = ("ok", "error", "too_large")


class _Process:
    """The function's process of one instance: spawned for a cold start, then asked
    for one invocation after another (``step``), each answered on a channel of its own
    (a pipe made before the spawn, closed by the bootstrap after its answer) and each
    request written on the request pipe. ``close`` (always called) ends every process
    of the instance, measures it one last time and removes its folder."""

    def __init__(self, spec, plan, folder, home, proc, tree, channels, requests, go, spawned_at):
        self.spec, self.plan, self.folder, self.home = spec, plan, folder, home
        self.proc, self.tree = proc, tree
        self.go: Optional[int] = go  # the write end of the cold start's go pipe
        self.spawned_at = spawned_at
        self.channels: List[int] = channels  # read ends, one per invocation still to serve
        self.requests = requests  # the write end of the request pipe, or None
        self.cold = True  # the next step is the cold start (its request is in the config)
        self.ended = False  # the process is done (nothing more can be asked of it)
        self.closed = False
        self.deferred = False  # the kernel's end of it is left to the sandbox's reaper
        self.log_fd = proc.stdout.fileno()
        self.observed: Optional[Observed] = None  # of the step that ended the process
        self.log: Optional[LogCapture] = None

    @classmethod
    def spawn(cls, spec: InstanceSpec, bootstrap: BootstrapCache, sandbox: Sandbox,
              code_root: str, request: InvocationRequest, invocations: int, host: Host,
              starter=None, cgroups=None) -> "_Process":
        given = cgroups(spec.profile.limits) if cgroups is not None else None
        try:
            plan = sandbox.plan(code_root, spec.profile.limits, spec.layers, spec.image, given)
        except BaseException:
            if given is not None:
                sandbox.recycle(given)
            raise
        folder = home = None
        pipes: List[Tuple[int, int]] = []
        child_ends: List[int] = []
        try:
            # A plain process's TMPDIR is a folder of the case's own on the host; an
            # instance has its private /tmp, and its config comes in memory: nothing of
            # it is made on the host's disk.
            if plan.isolation != NAMESPACE:
                folder = tempfile.mkdtemp(prefix="scftest-")
                home = os.path.join(folder, "home")
                os.mkdir(home, 0o700)
            config = child_config(
                handler=spec.handler, code_root=code_root, event=request.event,
                context=_context(spec, request), asynchronous=is_async(request),
                request_id=request.request_id, memory_mb=spec.memory_mb,
                code_root_inside=plan.code_root, instance=plan.instance,
                layer_path=plan.layer_path, image_path=plan.image_path,
                profile=spec.profile.bootstrap_config())
            pipes = [os.pipe() for _ in range(invocations)]
            requests = os.pipe() if invocations > 1 else None
            if requests is not None:
                pipes.append(requests)
                config["warm"] = {"channels": [w for _, w in pipes[1:invocations]],
                                  "requests": requests[0]}
            # The environment is the instance's, made at its cold start: a warm
            # invocation's own trigger cannot change TRIGGER_SRC (as in the cloud, where
            # the variable is the instance's too).
            env = build_environment(spec.identity, runtime=spec.runtime,
                                    environment=spec.environment, code_root=plan.code_root,
                                    tmp=plan.environment.get("TMPDIR", home),
                                    pythonpath=spec.profile.pythonpath,
                                    timer=request.trigger == TIMER_TRIGGER,
                                    lc_all=host.utf8_locale(),
                                    local_time_is_utc=host.local_time_is_utc())
            env.update(spec.credentials)  # the role's: set by the platform, like SCF_*
            env.update(plan.environment)
            script = bootstrap.script(spec.interpreter.path)
            go = os.pipe()
            pipes.append(go)
            # argv names the cold start's channel and the go pipe; the config the others.
            child_ends = ([pipes[0][1], go[0]] + [w for _, w in pipes[1:invocations]]
                          + ([requests[0]] if requests else []))
            if spec.coverage is not None:  # --cov: the instance writes what it measured there
                child_ends.append(spec.coverage.sink.open(Path(code_root)))
                config["coverage"] = {"lib": str(spec.coverage.folder), "fd": child_ends[-1]}
            handed = config_in_memory(config)
            if handed is None:  # no memfd here: a file in the case's folder
                if folder is None:
                    folder = tempfile.mkdtemp(prefix="scftest-")
                handed = write_config(config, folder)
            child_ends += handed.fds
            spawned_at = time.monotonic()
            proc = (starter or _spawn)(spec, script, handed.path, env, code_root, child_ends)
        except BaseException:
            piped = {fd for pipe in pipes for fd in pipe}
            for read_end, write_end in pipes:
                _close_fds(read_end, write_end)
            # Then the ends that are not pipes (coverage's, the config's), once each: a
            # number closed twice may be another thread's descriptor by then.
            _close_fds(*[fd for fd in child_ends if fd not in piped])
            _remove_folder(folder, home)
            plan.close()
            raise
        _close_fds(*child_ends)
        if plan.sandbox is not None:
            plan.sandbox.spawned(proc.pid, plan.cgroups.procs_files)
        tree = plan.processes(proc.pid, root_is_init=getattr(proc, "is_init", False))
        return cls(spec, plan, folder, home, proc, tree,
                   [r for r, _ in pipes[:invocations]], requests[1] if requests else None,
                   go[1], spawned_at)

    def step(self, request: InvocationRequest,
             cancel: Optional[threading.Event]) -> Tuple[Observed, LogCapture]:
        """One invocation: the cold start's (its request went in the config) or a warm
        one (its request is written now); the instance ends when it cannot go on."""
        observed = Observed(cold=self.cold)
        outgoing = b""
        if self.cold:
            observed.spawned_at = self.spawned_at
        else:
            outgoing = _request_bytes(self.spec, request)
            # The time limit runs from the request; the call's clock restarts at "loaded".
            observed.ready_at = observed.called_at = time.monotonic()
        self.cold = False
        channel = self.channels.pop(0)
        watch = _Watch(self.spec, self.proc, channel, self.go if observed.cold else None,
                       self.tree, observed, cancel, self.requests, outgoing)
        try:
            watch.run()
        finally:
            log = watch.log
            os.close(channel)
            if self.go is not None:
                _close_fds(self.go)
                self.go = None
            if observed.ended_at is None:
                observed.ended_at = time.monotonic()
            _pump_log(self.log_fd, log)  # what was written before the result frame
            if not self.channels or not _goes_on(observed):
                self.ended = True
                self._finish(observed, log)
            else:
                observed.tree_peak = self.tree.measure()
        return observed, log

    def _finish(self, observed: Observed, log: LogCapture) -> None:
        """End of the instance, whatever happened: every process dies, the log is drained."""
        proc = self.proc
        if self.requests is not None:
            _close_fds(self.requests)
            self.requests = None
        # A bootstrap still running means the case was answered or stopped; in a namespace
        # ending it all is then a matter of signals (CaseProcesses.deferrable), and the
        # kernel's teardown is the reaper's (close). One that exited by itself has a
        # status to read, and its namespace ended already.
        self.deferred = self.tree.deferrable and not _exited(proc)
        # The bootstrap lingers after its result: the handler's processes are still its
        # descendants now, so the scan in kill() finds even those that called setsid (and
        # measures the tree's memory one last time).
        observed.leftovers = self.tree.kill(wait=not self.deferred)
        observed.tree_peak = self.tree.peak_rss
        if self.deferred:
            # SIGKILL is pending for the bootstrap: nothing can change how it ends. The
            # log is what the pipe holds now; the dying processes can add nothing to it.
            observed.returncode = -signal.SIGKILL
            _pump_log(self.log_fd, log)
            return
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            observed.leftovers.append(proc.pid)
        observed.returncode = proc.returncode
        _drain(self.log_fd, log)

    def close(self) -> None:
        """Ends the instance (between invocations: a warm process no one asks any more)."""
        if self.closed:
            return
        self.closed = True
        try:
            if not self.ended:
                self.ended = True
                self._finish(Observed(), LogCapture(head=0, tail=0))
        finally:
            _close_fds(*self.channels)
            self.channels = []
            if self.go is not None:
                _close_fds(self.go)
                self.go = None
            if self.deferred and self.plan.sandbox is not None:
                self.plan.sandbox.reaper.hold(self._teardown, self.spec.identity.name)
            else:
                self._teardown()

    def _teardown(self) -> List[int]:
        """What is left once every process was killed: the wait for the kernel to end
        them (deferred: the reaper's thread), the bootstrap reaped, the pipe, the folder
        and the cgroups. Returns the pids still alive after the wait."""
        leftovers: List[int] = []
        emptied = False  # the cgroup's list was read empty just now
        try:
            if self.deferred:
                leftovers = self.tree.wait_gone()
                emptied = not leftovers
                try:
                    self.proc.wait(KILL_WAIT_S)
                except subprocess.TimeoutExpired:
                    leftovers.append(self.proc.pid)
        finally:
            self.proc.stdout.close()
            if self.plan.sandbox is not None:
                self.plan.sandbox.reaped(self.proc.pid)
            _remove_folder(self.folder, self.home)
            self.plan.close(emptied)
        return leftovers


def _goes_on(observed: Observed) -> bool:
    """Whether the instance can serve another invocation after this one."""
    return (observed.stop is None and observed.result is not None
            and observed.result.fields.get("outcome") in WARM_OUTCOMES)


def _context(spec: InstanceSpec, request: InvocationRequest) -> Dict[str, object]:
    return build_context(spec.identity, memory_mb=spec.memory_mb, timeout_s=spec.timeout_s,
                         request_id=request.request_id, environment=spec.environment,
                         overrides=request.context)


def _request_bytes(spec: InstanceSpec, request: InvocationRequest) -> bytes:
    """A warm request as _child.py's RequestReader reads it."""
    body = {"event": request.event, "context": _context(spec, request),
            "invocation": "async" if is_async(request) else "sync",
            "request_id": request.request_id}
    try:
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate in the event: keep it as an escape
        data = json.dumps(body).encode("ascii")
    return str(len(data)).encode("ascii") + b"\n" + data


def _close_fds(*fds: int) -> None:
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _remove_folder(folder: Optional[str], home: Optional[str]) -> None:
    """The per-case folder of a plain process (an instance has none): usually just the
    empty HOME (the bootstrap deleted any config), removed with two rmdir calls; anything
    else goes through rmtree."""
    if folder is None:
        return
    try:
        if home is not None:
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
           code_root: str, child_ends: List[int]) -> subprocess.Popen:
    """``child_ends``: the cold start's channel and the read end of its go pipe (one byte
    there starts the call, once the import is done; their numbers in argv), then the
    warm channels and the request pipe's read end (their numbers in the config)."""
    # -E -s -S: the interpreter's own site-packages, a venv's, the user site and any
    # PYTHON* variable stay out; _child.py builds the cloud's sys.path (isolated imports).
    command = [spec.interpreter.path, "-u", "-E", "-s", "-S", script.path, config,
               str(child_ends[0]), str(child_ends[1])]
    try:
        return subprocess.Popen(
            command, pass_fds=tuple(child_ends) + script.fds, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True, env=env,
            cwd=code_root if os.path.isdir(code_root) else None,
        )
    except OSError as exc:
        raise InstanceError(
            _("cannot start the interpreter {path}: {error}").format(path=spec.interpreter.path, error=exc.strerror or exc),
            _("it answered when the run began; check that it is still an executable Python "
              "{version}, or name another with --runtime {runtime}=PATH").format(
                version=spec.interpreter.version, runtime=spec.runtime)) from exc


def _new_log(spec: InstanceSpec) -> LogCapture:
    limits = spec.profile.limits
    return LogCapture(head=limits.log_head_bytes, tail=limits.log_tail_bytes)


class _Watch:
    """The parent's loop for one invocation: read the pipes, enforce the limits, and stop
    as soon as it is decided (a result, a limit, a cancel, a crash).

    ``log`` is the capture being written: on a cold start the import's output until the
    "loaded" frame (then kept as ``observed.init_log``), the call's after it. ``go_fd``:
    the cold start's go pipe (None for a warm invocation, whose request starts it)."""

    def __init__(self, spec, proc, result_fd, go_fd, tree, observed, cancel,
                 request_fd=None, outgoing=b""):
        self.spec, self.proc, self.tree, self.log = spec, proc, tree, _new_log(spec)
        self.observed, self.cancel = observed, cancel
        self.log_fd, self.result_fd, self.go_fd = proc.stdout.fileno(), result_fd, go_fd
        self.request_fd, self.outgoing = request_fd, memoryview(outgoing)
        self.frames = FrameReader()
        self.channel_open = True
        self.close_allowance = ANSWER_CLOSE_S if spec.coverage is None else COVERAGE_SAVE_S
        self.started = time.monotonic()
        # The first memory poll is one interval in, not at once: at the start the case's
        # process was only just made (on a cold start nothing of the function's is loaded
        # yet; a warm instance was measured after its last invocation), so that poll could
        # only repeat a figure the later ones (the Init Report's at "loaded", the final
        # one in CaseProcesses.kill with each process's high-water mark) cover.
        self.next_poll, self.polls = self.started + MEMORY_POLL_S, 0

    def run(self) -> None:
        os.set_blocking(self.log_fd, False)
        os.set_blocking(self.result_fd, False)
        with selectors.DefaultSelector() as selector:
            selector.register(self.log_fd, selectors.EVENT_READ)
            selector.register(self.result_fd, selectors.EVENT_READ)
            if self.outgoing:  # a warm request, written as the pipe takes it
                os.set_blocking(self.request_fd, False)
                selector.register(self.request_fd, selectors.EVENT_WRITE)
            while not self._decided():
                for key, _ in selector.select(self._wait()):
                    if key.fd == self.log_fd:
                        if not _pump_log(self.log_fd, self.log):
                            selector.unregister(self.log_fd)
                    elif key.fd == self.request_fd:
                        if not self._write_request():
                            selector.unregister(self.request_fd)
                    elif not self._read_channel():
                        selector.unregister(self.result_fd)
                    if self.observed.stop or self._answered():
                        break

    def _write_request(self) -> bool:
        """Writes what the pipe takes of the request; False once it is all written (or
        the function's process is gone: its end of the channel says how)."""
        try:
            written = os.write(self.request_fd, self.outgoing)
        except BlockingIOError:
            return True
        except OSError:
            self.outgoing = memoryview(b"")
            return False
        self.outgoing = self.outgoing[written:]
        return bool(self.outgoing)

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
            if time.monotonic() - observed.ended_at > self.close_allowance:
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
        ready frame), then the call (timeout, from its go byte, or a warm invocation's
        request); None before and after."""
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
        if self.observed.result is not None:
            # Only the channel's close is awaited now (or its allowance): no memory poll
            # is taken after the result (_decided), so a poll falling due meanwhile must
            # not end the wait. It did: the loop spun on select(0) from then until the
            # close, ~85 times a trivial case (~0.8 ms of the runner's CPU).
            return max(self.observed.ended_at + self.close_allowance - now, 0.0)
        wait = self.next_poll - now
        deadline = self._deadline()
        if deadline is not None:
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
        """The call starts. On a cold start the import is done: what it wrote is in the log
        pipe now (the bootstrap flushed before "loaded" and waits for the go byte), so it
        is read into the init log and the call's output starts a log of its own; the
        instance's memory is measured for the Init Report; then the go byte lets the call
        start, and its time limit with it. A warm invocation's call starts by itself."""
        observed = self.observed
        if self.go_fd is not None:
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
