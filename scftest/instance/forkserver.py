"""The fork-server: per runtime and per worker, a pre-started interpreter (the zygote)
that forks one process per case instead of starting a new interpreter each time.

A zygote is ``_child.py --zygote`` started with the flags (``-u -E -s -S``) and the
environment a case's process is spawned with; it stops where a fresh bootstrap would
read its config, holds no thread, and on request forks a process that becomes what a
fresh bootstrap is at that point (see _child.py, "The zygote"). From there the case goes
exactly as on the spawn path: the same config, the same instance, the same watch
(spawn.py), with a ``ForkedProcess`` in place of the Popen. The runner measures and ends
the forked process as it does a spawned one: its pid, its session and group, its
cgroups; only its exit status comes through the zygote (its parent), read without
reaping until the case is over so the pid stays taken.

What a fresh process decides at start-up from its environment cannot be changed after
a fork: ``startup_differences`` names the variables of a case that differ from the
zygote's (the interpreter's ``PYTHON*``, the locale, ``TZ``, the C library's), and such a
case is spawned. A zygote serves ``RECYCLE_EVERY`` cases, then a new one (a new hash
seed, as a new cloud instance has) takes over. A zygote forks each case's process ahead
of its request (_child.py, Standby), and as root into a PID namespace of its own, where
the process is the instance's init (two processes per case instead of three), which
forks the function's process ahead of the request too. A zygote that cannot start, dies or
answers wrongly is replaced; the case it was serving is run again on the spawn path.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from functools import partial
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from scftest.errors import ScftestError
from scftest.instance import Backend, Instance, InstanceError, InstanceSpec, InvocationRequest
from scftest.i18n import _
from scftest.instance.bootstrap import BootstrapCache, Script
from scftest.instance.record import InvocationRecord
from scftest.instance.sandbox import NAMESPACE, CaseCgroups
from scftest.instance.spawn import SpawnBackend, SpawnInstance
from scftest.instance.spawn import _spawn as spawn_process

RECYCLE_EVERY = 50  # cases per zygote: then a new one (a new hash seed)
ZYGOTES_PER_WORKER = 4  # the most recently used are kept (one per runtime and start-up set)
READY_TIMEOUT_S = 30.0  # a zygote's start, on a loaded machine
RESERVED_EMPTY_S = 2.0  # a retired zygote's standby leaves the cgroups it joined ahead
REPLY_TIMEOUT_S = 10.0  # a fork or a status request
# The variables a fresh interpreter (and its C library) reads when it starts: a case
# whose values differ from its zygote's is spawned. Under -E Python ignores PYTHON*,
# but the bootstrap reads PYTHONPATH when it loads, so they count too.
STARTUP_NAMES = ("LANG", "LANGUAGE", "TZ", "GLIBC_TUNABLES")
STARTUP_PREFIXES = ("PYTHON", "LC_", "LD_", "MALLOC_")


class ZygoteLost(ScftestError):
    """The zygote died or answered what it should not: the case goes to the spawn path
    (never shown to a user: the backend handles it)."""


def is_startup_name(name: str) -> bool:
    return name in STARTUP_NAMES or name.startswith(STARTUP_PREFIXES)


# Start-up variables a forked process sets right anyway: TZ (time.tzset after the new
# environment) and PYTHONPATH (ignored under -E; the bootstrap's own use of it is redone
# after the fork). The runtime's own values of these (the code root on PYTHONPATH in a
# plain process) need no zygote of their own; a function that declares one is spawned.
RESET_AFTER_FORK = ("TZ", "PYTHONPATH")


StartupItems = Tuple[Tuple[str, str], ...]


def startup_items(environment: Mapping[str, str]) -> StartupItems:
    """The start-up variables a zygote must share with the cases it serves, sorted."""
    return tuple(sorted((n, v) for n, v in environment.items()
                        if is_startup_name(n) and n not in RESET_AFTER_FORK))


def startup_differences(mine: StartupItems, theirs: StartupItems) -> List[str]:
    """The start-up variables whose value (or presence) differs between a case's
    ``startup_items`` and those of the environment its zygote was started with, by name."""
    if mine == theirs:
        return []
    ours, zygotes = dict(mine), dict(theirs)
    return sorted(n for n in set(ours) | set(zygotes) if ours.get(n) != zygotes.get(n))


@dataclass(frozen=True)
class Refusal:
    """Why an interpreter does not serve as a zygote (it spawns every case)."""

    interpreter: str
    reason: str


class Zygote:
    """One zygote process and its control socket. One worker uses it; its requests are
    serialised all the same, as the sandbox's reaper reaps a finished case's process
    while the worker asks for the next fork."""

    def __init__(self, interpreter: str, script: Script, environment: Mapping[str, str]):
        self.worker = threading.get_ident()  # the thread whose cases it serves
        self.interpreter = interpreter
        self.environment = dict(environment)
        # Worked out once: each case it serves is compared on them (ForkInstance._start).
        self.startup = startup_items(self.environment)
        self.served = 0
        self.lost = False
        # The cgroups set aside for its next case: the standby forked after each fork
        # joins them ahead (_child.py, split_init); the case that takes them (ForkInstance)
        # is forked by this zygote, or the standby is dropped first. The backend's lock
        # guards it (a retirement in the reaper's thread gives it back).
        self.reserved: Optional[CaseCgroups] = None
        self.closed = False
        self.refused: Optional[str] = None
        self.pid: Optional[int] = None
        self.startup_additions: Dict[str, str] = {}
        self._ready = False
        self._io = threading.Lock()  # one request and its answer at a time
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        self.sock = ours
        try:
            self.proc = subprocess.Popen(
                [interpreter, "-u", "-E", "-s", "-S", script.path, "--zygote", str(theirs.fileno())],
                pass_fds=(theirs.fileno(),) + script.fds, stdin=subprocess.DEVNULL,
                # A pipe, as a case's stdout and stderr are: Python decides at start-up
                # how it writes to them (seekable? a terminal?), and the forks inherit that.
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
                env=self.environment)
        except OSError:
            ours.close()
            raise
        finally:
            theirs.close()
        self.pid = self.proc.pid

    # ------------------------------------------------------------------ the start

    def ready(self) -> bool:
        """Waits for the zygote's first word; False (and ``refused``/``lost`` say why)
        when it cannot serve."""
        if self._ready:
            return True
        if self.lost or self.refused:
            return False
        try:
            message = self._receive(READY_TIMEOUT_S)
        except ZygoteLost:
            return False
        if message.startswith(b"unable "):
            self.refused = message[len(b"unable "):].decode("utf-8", "replace")
            self.close()
            return False
        head, _, environ = message.partition(b"\n")
        if not head.startswith(b"ready "):
            self._lose()
            return False
        seen = dict(item.split("=", 1) for item in os.fsdecode(environ).split("\0") if "=" in item)
        # What Python's start-up wrote into its own environment (the locale coercion of
        # PEP 538): a fresh process of the case would have done the same.
        self.startup_additions = {k: v for k, v in seen.items() if self.environment.get(k) != v}
        self._ready = True
        return True

    # ------------------------------------------------------------------ requests

    def fork(self, fds: Sequence[int], stdout: int, argv: Sequence[str], cwd: Optional[str],
             environment: Mapping[str, str], pid_namespace: bool = False,
             next_cgroups: Sequence[str] = (), next_fs: Optional[dict] = None) -> Tuple[int, bool]:
        """Forks a case's process; ``fds`` are the parent's descriptors it gets, at the same
        numbers (``stdout``: the one that also becomes its 1 and 2). Returns its pid.
        ``pid_namespace``: into a PID namespace of its own, where the zygote can make one
        (the process is then the instance's init itself: _child.py, fork_case). Returns
        its pid, and whether it is its namespace's init. ``next_cgroups``: the cgroup.procs
        files of the cgroups set aside for the next case (its standby joins them).
        ``next_fs``: the part of the next case's file system every case shares (its
        standby builds it ahead: sandbox.py common_fs)."""
        environ = dict(environment)
        environ.update(self.startup_additions)
        body = {"fds": list(fds), "stdout": list(fds).index(stdout), "argv": list(argv),
                "cwd": cwd, "environ": environ, "pid_namespace": pid_namespace}
        if environ != environment:  # what /proc/PID/environ shows: the one given, as at exec
            body["exec_environ"] = dict(environment)
        if next_cgroups:
            body["next_cgroups"] = list(next_cgroups)
        if next_fs:
            body["next_fs"] = next_fs
        try:
            data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            data = json.dumps(body).encode("ascii")
        reply = self._request(b"fork " + data, fds)
        if not reply.startswith(b"forked "):
            raise ZygoteLost(f"the zygote could not fork: {reply[:200]!r}")
        self.served += 1
        words = reply.split()
        return int(words[1]), words[2:3] == [b"init"]

    def drop(self) -> None:
        """Ends the standby (and what it joined ahead), waiting for it: its cgroups go to
        a case another process serves."""
        reply = self._request(b"drop")
        if reply != b"dropped":
            raise ZygoteLost(f"unexpected answer {reply[:200]!r}")

    def poll(self, pid: int) -> Optional[int]:
        """The forked process's returncode once it exited (it is not reaped), else None."""
        reply = self._request(b"poll %d" % pid)
        if reply == b"running":
            return None
        if reply.startswith(b"exited "):
            return int(reply.split()[1])
        raise ZygoteLost(f"unexpected answer {reply[:200]!r}")

    def reap(self, pid: int) -> int:
        """Reaps an exited forked process; its returncode."""
        reply = self._request(b"reap %d" % pid)
        if reply.startswith(b"reaped "):
            return int(reply.split()[1])
        raise ZygoteLost(f"unexpected answer {reply[:200]!r}")

    def _request(self, message: bytes, fds: Sequence[int] = ()) -> bytes:
        with self._io:
            return self._exchange(message, fds)

    def _exchange(self, message: bytes, fds: Sequence[int]) -> bytes:
        if self.lost or self.closed or not self.ready():
            raise ZygoteLost("the zygote is gone")
        try:
            if fds:
                socket.send_fds(self.sock, [message], list(fds))
            else:
                self.sock.sendall(message)
        except OSError as exc:
            self._lose()
            raise ZygoteLost(f"the zygote is gone ({exc.strerror})") from exc
        return self._receive(REPLY_TIMEOUT_S)

    def _receive(self, timeout: float) -> bytes:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            try:
                readable = left > 0 and select.select([self.sock], [], [], left)[0]
            except (OSError, ValueError) as exc:  # closed meanwhile (ValueError: fd -1)
                self._lose()
                raise ZygoteLost("the zygote is gone") from exc
            if not readable:
                if left <= 0:
                    self._lose()
                    raise ZygoteLost(f"the zygote did not answer within {timeout:g} s")
                continue
            try:
                message = self.sock.recv(1 << 20)
            except OSError as exc:
                self._lose()
                raise ZygoteLost(f"the zygote is gone ({exc.strerror})") from exc
            if not message:
                self._lose()
                raise ZygoteLost("the zygote is gone")
            return message

    # ------------------------------------------------------------------ the end

    def _lose(self) -> None:
        self.lost = True
        self.close()

    def close(self) -> None:
        """Ends the zygote (its forked processes are ended by their cases)."""
        self.closed = True
        try:
            self.sock.close()
            self.proc.stdout.close()
        finally:
            if self.proc.returncode is None:
                try:
                    self.proc.send_signal(signal.SIGKILL)
                except OSError:
                    pass
                try:
                    self.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass


class ForkedProcess:
    start = "fork"  # the record says so (spawn.py reads it)

    """A case's process forked by a zygote, as the spawn path's watch uses a Popen:
    ``pid``, ``stdout`` (the read end of its log pipe), ``poll`` (the returncode once it
    exited, without freeing the pid), ``wait`` (reaps it), ``returncode``.

    Its exit is seen on a pidfd where the runner has one (Linux 5.3+), else asked of the
    zygote. If the zygote is lost meanwhile, the status is unknowable: ``lost`` is set
    (the case is run again on the spawn path) and the returncode is -SIGKILL."""

    def __init__(self, zygote: Zygote, pid: int, stdout_fd: int, is_init: bool = False):
        self.zygote = zygote
        self.pid = pid
        self.is_init = is_init  # pid 1 of the case's PID namespace (spawn.py reads it)
        self.stdout = os.fdopen(stdout_fd, "rb", buffering=0)
        self.returncode: Optional[int] = None
        self.reaped = False
        self.lost = False
        self._pidfd: Optional[int] = None
        if hasattr(os, "pidfd_open"):
            try:
                self._pidfd = os.pidfd_open(pid)
            except OSError:
                self._pidfd = None

    def _gone(self, timeout: float) -> bool:
        if self._pidfd is not None:
            return bool(select.select([self._pidfd], [], [], timeout)[0])
        deadline = time.monotonic() + timeout
        pause = 0.0005
        while True:
            try:
                if self.zygote.poll(self.pid) is not None:
                    return True
            except ZygoteLost:
                self.lost = True
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(min(pause, max(deadline - time.monotonic(), 0)))
            pause = min(pause * 2, 0.05)

    def poll(self) -> Optional[int]:
        if self.returncode is None and self._gone(0):
            self.returncode = self._status(self.zygote.poll)
        return self.returncode

    def wait(self, timeout: Optional[float] = None) -> int:
        if not self.reaped:
            if self.returncode is None and not self._gone(3600.0 if timeout is None else timeout):
                raise subprocess.TimeoutExpired(["forked", str(self.pid)], timeout)
            status = self._status(self.zygote.reap)
            if self.returncode is None:
                self.returncode = status
            self.reaped = True
            if self._pidfd is not None:
                os.close(self._pidfd)
                self._pidfd = None
        return self.returncode

    def _status(self, ask) -> int:
        if self.lost:
            return -signal.SIGKILL
        try:
            status = ask(self.pid)
        except ZygoteLost:
            self.lost = True
            return -signal.SIGKILL
        return -signal.SIGKILL if status is None else status

    def send_signal(self, sig: int) -> None:
        if not self.reaped:
            try:
                os.kill(self.pid, sig)
            except OSError:
                pass

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def close(self) -> None:
        if self._pidfd is not None:
            os.close(self._pidfd)
            self._pidfd = None



# ---------------------------------------------------------------------------------------
# The backend.

class ForkServerBackend(Backend):
    """Cases started by forking a zygote where that gives what a fresh process gives,
    else on the spawn path (``spawn``, which it wraps: the same bootstrap, sandbox and
    teardowns). Warm instances (``invocations`` > 1) are spawned: a zygote lost in the
    middle of a warm sequence could not be replaced without restarting the sequence.

    ``recycle_every``: cases per zygote before a new one takes over (a new hash seed)."""

    def __init__(self, spawn: SpawnBackend, recycle_every: int = RECYCLE_EVERY):
        self.spawn = spawn
        self.recycle_every = max(1, recycle_every)
        self._lock = threading.Lock()
        self._zygotes: Dict[tuple, Zygote] = {}
        self._successors: Dict[tuple, Zygote] = {}
        self._refused: Dict[str, str] = {}  # interpreter -> why it cannot serve
        self.started = 0  # zygotes started in this run (tests and the bench read it)

    def start(self, spec: InstanceSpec, invocations: int = 1) -> Instance:
        if invocations > 1 or startup_declared(spec) or spec.interpreter.path in self._refused:
            return self.spawn.start(spec, invocations)
        return ForkInstance(self, spec)

    def refusals(self) -> List[Refusal]:
        with self._lock:
            return [Refusal(i, r) for i, r in sorted(self._refused.items())]

    # ------------------------------------------------------------------ zygotes

    def zygote(self, interpreter: str, script: Script, environment: Mapping[str, str],
               startup: Optional[StartupItems] = None) -> Optional[Zygote]:
        """This worker's ready zygote for ``interpreter`` (started now if need be), or None
        when the interpreter cannot serve (it is remembered: its cases spawn).
        ``startup``: ``startup_items(environment)``, where the caller has them already."""
        key = (threading.get_ident(), interpreter,
               startup_items(environment) if startup is None else startup)
        for _attempt in range(2):  # a zygote that fails to start is tried once more
            retiring: List[Zygote] = []
            with self._lock:
                if interpreter in self._refused:
                    return None
                zygote = self._zygotes.get(key)
                if zygote is not None and (zygote.lost or zygote.served >= self.recycle_every):
                    retiring.append(zygote)
                    zygote = self._zygotes[key] = self._successors.pop(key, None)
            self._retire(*retiring)
            if zygote is None:
                zygote = self._new_zygote(interpreter, script, environment)
                if zygote is None:
                    return None
                with self._lock:
                    self._zygotes[key] = zygote
                    retiring = self._fewer(key[0])
                self._retire(*retiring)
            with self._lock:
                self._zygotes[key] = self._zygotes.pop(key)  # the most recently used last
            if zygote.ready():
                if zygote.served == self.recycle_every - 1:
                    self._prestart(key, interpreter, script, environment)
                return zygote
            with self._lock:
                if zygote.refused:
                    self._refused[interpreter] = zygote.refused
                self._zygotes.pop(key, None)
            self._retire(zygote)
        with self._lock:
            self._refused.setdefault(interpreter, "its zygote did not start twice in a row")
        return None

    def take_reserved(self, interpreter: str, limits) -> Tuple[Optional[Zygote], Optional[CaseCgroups]]:
        """The cgroups this worker's zygote for ``interpreter`` set aside for its next case,
        and that zygote, when the next case of ``interpreter`` is that zygote's to fork (it
        is the worker's only one for it, ready, and not due to be recycled) and they have
        ``limits``' process limit; else (None, None)."""
        worker = threading.get_ident()
        with self._lock:
            mine = [z for key, z in self._zygotes.items() if key[:2] == (worker, interpreter)]
            if len(mine) != 1:
                return None, None
            zygote = mine[0]
            reserved = zygote.reserved
            if (reserved is None or zygote.lost or zygote.closed or not zygote._ready
                    or zygote.served >= self.recycle_every
                    or reserved.processes_limit != limits.processes):
                return None, None
            zygote.reserved = None
            return zygote, reserved

    def reserve_for(self, zygote: Zygote, limits) -> Sequence[str]:
        """The cgroup.procs files of the cgroups ``zygote``'s next case is to have (set
        aside now where it has none), for the standby forked after this fork to join; none
        where that standby will serve no case (the zygote is recycled first)."""
        if zygote.served + 1 >= self.recycle_every:
            return ()
        with self._lock:
            if zygote.reserved is not None:
                return zygote.reserved.procs_files
        reserved = self.spawn.sandbox.reserve_cgroups(limits)
        if reserved is None:
            return ()
        with self._lock:
            # Only this worker sets them; a retirement (_end: closed first, then it takes
            # them under the lock) may have begun meanwhile, and then they go back.
            if not zygote.closed:
                zygote.reserved = reserved
                return reserved.procs_files
        self.spawn.sandbox.recycle(reserved)
        return ()

    def _new_zygote(self, interpreter: str, script: Script,
                    environment: Mapping[str, str]) -> Optional[Zygote]:
        try:
            zygote = Zygote(interpreter, script, environment)
        except OSError as exc:
            with self._lock:
                self._refused[interpreter] = f"cannot start it: {exc.strerror or exc}"
            return None
        self.spawn.sandbox.spawned(zygote.pid)  # a child of the runner's, not a stray
        with self._lock:
            self.started += 1
        return zygote

    def _prestart(self, key, interpreter, script, environment) -> None:
        """The successor of a zygote about to be recycled, started now so that its start
        overlaps the case under way."""
        with self._lock:
            if key in self._successors:
                return
        successor = self._new_zygote(interpreter, script, environment)
        if successor is not None:
            with self._lock:
                self._successors[key] = successor

    def _fewer(self, worker: int) -> List[Zygote]:
        """At most ZYGOTES_PER_WORKER zygotes of one worker: the least recently used are
        taken out (and returned, to be retired). Called with the lock held."""
        mine = [key for key in self._zygotes if key[0] == worker]
        return [self._zygotes.pop(key) for key in mine[:max(0, len(mine) - ZYGOTES_PER_WORKER)]]

    def _retire(self, *zygotes: Zygote) -> None:
        """Ends zygotes no case will ask for again, once the teardowns their worker's lane
        of the sandbox's reaper holds so far are done: those of their last cases reap
        through them (a zygote closed before would leave its forks' exit statuses unread)."""
        for zygote in zygotes:
            self.spawn.sandbox.reaper.hold(partial(self._end, zygote), "(fork-server)",
                                           lane=zygote.worker)

    def _end(self, zygote: Zygote) -> List[int]:
        zygote.close()
        self.spawn.sandbox.reaped(zygote.pid)
        with self._lock:
            reserved, zygote.reserved = zygote.reserved, None
        if reserved is not None:  # its standby dies with it (its parent-death signal)
            reserved.wait_empty(RESERVED_EMPTY_S)
            self.spawn.sandbox.recycle(reserved)
        return []

    def close(self) -> None:
        try:
            with self._lock:
                zygotes = list(self._zygotes.values()) + list(self._successors.values())
                self._zygotes.clear()
                self._successors.clear()
            self._retire(*zygotes)
        finally:
            self.spawn.close()  # then the sandbox (its keeper) and the bootstraps


def zygote_problem(interpreter: str, bootstrap: BootstrapCache) -> Optional[str]:
    """Why ``interpreter`` cannot serve as a zygote (its cases are spawned), or None when
    it can; found by starting one and asking it, as a run does (``scftest doctor``)."""
    try:
        zygote = Zygote(interpreter, bootstrap.script(interpreter), {"PATH": os.defpath})
    except OSError as exc:
        return _("cannot start it: {error}").format(error=exc.strerror or exc)
    try:
        if zygote.ready():
            return None
        return zygote.refused or _("its zygote did not start")
    finally:
        zygote.close()


def startup_declared(spec: InstanceSpec) -> bool:
    """Whether the function declares a variable a fresh process reads at start-up."""
    return any(is_startup_name(name) for name in list(spec.environment) + list(spec.credentials))


class ForkInstance(Instance):
    """One cold start, forked from this worker's zygote (spawned where it cannot be:
    the start-up variables differ, the zygote cannot serve or is lost; a case whose
    zygote was lost while it ran is run again, on the spawn path)."""

    def __init__(self, backend: ForkServerBackend, spec: InstanceSpec):
        self.backend = backend
        self.spec = spec
        self.forked: Optional[ForkedProcess] = None
        self.reserved_by: Optional[Zygote] = None  # whose set-aside cgroups the plan took
        self.instance = SpawnInstance(spec, backend.spawn.bootstrap, backend.spawn.sandbox,
                                      1, backend.spawn.host, starter=self._start,
                                      cgroups=self._reserved_cgroups)

    def invoke(self, request: InvocationRequest,
               cancel: Optional[threading.Event] = None) -> InvocationRecord:
        self.forked = None
        try:
            record = self.instance.invoke(request, cancel)
        except ZygoteLost:  # before the fork was made: nothing of the case ran
            record = None
        except InstanceError:
            if self.forked is None or not self.forked.lost:
                raise
            record = None
        # Without its zygote the process's exit status is unknown: an answer still counts
        # (the parent read it), a crash may have been the zygote's death.
        lost = record is None or (self.forked is not None and self.forked.lost and record.status == "crash")
        if lost:
            self.instance.close()
            with self.backend.spawn.start(self.spec) as fresh:
                return fresh.invoke(request, cancel)
        return record

    def close(self) -> None:
        self.instance.close()

    @staticmethod
    def _drop_standby(zygote: Zygote) -> None:
        try:
            zygote.drop()
        except ZygoteLost:  # it is dead: its standby died with it
            pass

    def _own_pid_namespace(self) -> bool:
        """Whether the case's process is forked into its PID namespace by the zygote: in a
        namespace instance made without a user namespace (the zygote, outside one, could
        not make a PID namespace the case's user namespace owns)."""
        sandbox = self.backend.spawn.sandbox
        return sandbox.isolation() == NAMESPACE and not sandbox.machine().userns

    def _next_fs(self, spec: InstanceSpec) -> Optional[dict]:
        """What the standby after this case builds of the next one's file system: the part
        cases of this runtime share. Not under --cov (the case imports coverage from the
        runner's folders before they are covered)."""
        return self.backend.spawn.sandbox.common_fs(spec.profile.limits) if spec.coverage is None else None

    def _reserved_cgroups(self, limits) -> Optional[CaseCgroups]:
        """The plan's cgroups (spawn.py asks): those the worker's zygote set aside for its
        next case, which its standby joined ahead, where this case is that zygote's."""
        if not self._own_pid_namespace():
            return None
        self.reserved_by, cgroups = self.backend.take_reserved(self.spec.interpreter.path, limits)
        return cgroups

    def _start(self, spec: InstanceSpec, script: Script, config: str, env: Dict[str, str],
               code_root: str, child_ends: List[int]):
        """The starter of the case's process (spawn.py calls it): forked, or spawned."""
        # The zygote's environment: the case's without what the function declares (its
        # secrets never sit in a process that outlives the case; a start-up variable it
        # declares sent it to the spawn path already).
        declared = set(spec.environment) | set(spec.credentials)
        base = {name: value for name, value in env.items() if name not in declared}
        # The same as base's: a function that declares a start-up variable is spawned
        # (start); worked out once a case, for the zygote's key and the check below.
        startup = startup_items(env)
        zygote = self.backend.zygote(spec.interpreter.path, script, base, startup)
        unsuited = zygote is None or startup_differences(startup, zygote.startup)
        if self.reserved_by is not None and (unsuited or zygote is not self.reserved_by):
            self._drop_standby(self.reserved_by)  # it sits in this case's cgroups
        if unsuited:
            return spawn_process(spec, script, config, env, code_root, child_ends)
        log_read, log_write = os.pipe()
        try:
            own = self._own_pid_namespace()
            pid, is_init = zygote.fork(list(child_ends) + [log_write], log_write,
                              [config] + [str(fd) for fd in child_ends[:2]],
                              code_root if os.path.isdir(code_root) else None, env,
                              pid_namespace=own,
                              next_cgroups=self.backend.reserve_for(zygote, spec.profile.limits) if own else (),
                              next_fs=self._next_fs(spec) if own else None)
        except ZygoteLost:
            # A fork may have happened all the same (it dies with its zygote, which is
            # ended now): the case starts over with pipes of its own (invoke).
            os.close(log_read)
            raise
        finally:
            os.close(log_write)
        self.forked = ForkedProcess(zygote, pid, log_read, is_init)
        return self.forked
