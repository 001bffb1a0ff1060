"""The function's processes, found and measured through /proc, and killed.

The bootstrap runs as a session and process group leader; the tree is that session and
group plus every descendant seen, even one that left both with setsid. Without procfs
(not Linux) only the process group can be killed.
"""

from __future__ import annotations

import os
import select
import signal
import time
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Tuple


@dataclass(frozen=True)
class ProcStat:
    pid: int
    state: str
    ppid: int
    pgrp: int
    session: int
    start_time: int
    rss_pages: int


# Where _stat_fields puts what the tree needs: proc(5) numbers the fields from 1, and
# _stat_fields starts at field 3 (the state).
STATE, PPID, PGRP, SESSION, START_TIME, RSS = 0, 1, 2, 3, 19, 21


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


def read_file(path: str) -> Optional[bytes]:
    """The whole of a small /proc or /sys file (os.open/os.read: several times cheaper
    than open(), and the memory poll reads these every 15 ms); None if it cannot be read."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        chunks = []
        while True:
            chunk = os.read(fd, 65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
    except OSError:
        return None
    finally:
        os.close(fd)


def read_stat(pid: int) -> Optional[ProcStat]:
    rest = _stat_fields(pid, RSS + 1)
    try:
        return ProcStat(pid, rest[STATE].decode(), int(rest[PPID]), int(rest[PGRP]),
                        int(rest[SESSION]), int(rest[START_TIME]), int(rest[RSS]))
    except (TypeError, ValueError):  # gone (None), or not a stat line
        return None


def scan_processes() -> Dict[int, Tuple[int, int, int, int]]:
    """Every process now: pid -> (ppid, process group, session, start time).

    The process tree's discovery reads every process on the machine; this is the lean
    version of read_stat for it (no object per process, only the fields it needs)."""
    found = {}
    for pid in all_pids():
        rest = _stat_fields(pid, START_TIME + 1)
        if rest is not None:
            try:
                found[pid] = (int(rest[PPID]), int(rest[PGRP]), int(rest[SESSION]),
                              int(rest[START_TIME]))
            except ValueError:
                pass
    return found


def children(pid: int) -> Optional[List[int]]:
    """The children of ``pid`` (of each of its threads), from /proc/PID/task/TID/children;
    [] when it is gone, None where the kernel has no such files (CONFIG_PROC_CHILDREN)."""
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return [] if os.path.exists("/proc/self/task") else None
    found: List[int] = []
    for tid in threads:
        try:
            fd = os.open(f"/proc/{pid}/task/{tid}/children", os.O_RDONLY)
        except FileNotFoundError:
            if not os.path.exists(f"/proc/{pid}/task/{tid}"):
                continue  # the thread ended meanwhile
            return None  # no children files here
        except OSError:
            continue
        try:
            found += [int(child) for child in os.read(fd, 1 << 16).split()]
        except (OSError, ValueError):
            pass
        finally:
            os.close(fd)
    return found


def scan_from(roots: Iterable[int]) -> Optional[Dict[int, Tuple[int, int, int, int]]]:
    """What scan_processes gives, for ``roots`` and all their descendants only: the
    case's own processes, without reading every process of the machine. None where the
    kernel cannot list a process's children (the caller scans the machine instead)."""
    found: Dict[int, Tuple[int, int, int, int]] = {}
    pending = list(roots)
    while pending:
        pid = pending.pop()
        if pid in found:
            continue
        rest = _stat_fields(pid, START_TIME + 1)
        if rest is None:
            continue
        try:
            found[pid] = (int(rest[PPID]), int(rest[PGRP]), int(rest[SESSION]), int(rest[START_TIME]))
        except ValueError:
            continue
        kids = children(pid)
        if kids is None:
            return None
        pending += kids
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
        """Adds the processes of the tree found now. Not the whole machine's processes:
        the known ones and their descendants, and the runner's own children of the root's
        session or group (where an orphan goes once the root is gone: the runner is a child
        subreaper), which holds every process of the tree; the machine is scanned only
        where the kernel cannot list children."""
        known, root = self.known, self.root
        stats = scan_from(list(known) + self._returned())
        if stats is None:
            stats = scan_processes()
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

    def _returned(self) -> List[int]:
        """The runner's children in the root's session or group (orphans of the tree)."""
        mine = children(os.getpid()) or []
        returned = []
        for pid in mine:
            rest = _stat_fields(pid, SESSION + 1)
            try:
                if rest is not None and self.root in (int(rest[PGRP]), int(rest[SESSION])):
                    returned.append(pid)
            except ValueError:
                pass
        return returned

    def _live(self) -> List[ProcStat]:
        return _alive(list(self.known.items()))

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
            _kill_group(self.root)
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
            if in_group:  # only the signalled processes, until they are dead
                live = _alive([(stat.pid, stat.start_time) for stat in live])
            else:
                self.discover()
                live = self._live()
            if live and time.monotonic() > deadline:
                return [stat.pid for stat in live]
        return []

    def _signal(self, live: List[ProcStat]) -> None:
        # The group id is only trusted while one of ours still holds it (never a
        # recycled id), and each pid was checked against its start time.
        if any(stat.pgrp == self.root for stat in live):
            _kill_group(self.root)
        for stat in live:
            try:
                os.kill(stat.pid, signal.SIGKILL)
            except OSError:
                pass


EXIT_ROUND_S = 0.05  # the longest wait for killed processes before looking again
POLL_FALLBACK_S = 0.0005  # without pidfds: the pause between looks


def wait_for_exits(pids: Iterable[int], timeout: float) -> None:
    """Returns as soon as every one of ``pids`` has exited (a zombie, or gone), or after
    ``timeout`` seconds; the caller looks again either way.

    A process's pidfd becomes readable when it exits (Linux 5.3+), so the wait ends the
    moment the kernel is done, not at the next tick of a doubling sleep. Without pidfds:
    one short sleep."""
    fds: List[int] = []
    try:
        for pid in pids:
            try:
                fds.append(os.pidfd_open(pid))
            except ProcessLookupError:
                pass  # already gone (reaped)
        _poll_all(fds, timeout)
    except (AttributeError, OSError):  # no pidfd_open (kernel, platform): sleep a little
        time.sleep(min(timeout, POLL_FALLBACK_S))
    finally:
        for fd in fds:
            os.close(fd)


def _poll_all(fds: List[int], timeout: float) -> None:
    if not fds:
        return
    poller = select.poll()
    for fd in fds:
        poller.register(fd, select.POLLIN)
    waiting, deadline = len(fds), time.monotonic() + timeout
    while waiting:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        for fd, _ in poller.poll(left * 1000):
            poller.unregister(fd)
            waiting -= 1


def _alive(processes: Iterable[Tuple[int, int]]) -> List[ProcStat]:
    """The stats of those of ``processes`` (pid, start time) still running: the same
    process (its start time matches, so not a recycled pid), not a zombie."""
    alive = []
    for pid, start in processes:
        stat = read_stat(pid)
        if stat is not None and stat.start_time == start and stat.state not in ("Z", "X"):
            alive.append(stat)
    return alive


def _kill_group(pgrp: int) -> None:
    try:
        os.killpg(pgrp, signal.SIGKILL)
    except OSError:
        pass
