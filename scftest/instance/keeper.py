"""The keeper: one small process per run that ends the running cases' processes when the
runner itself is killed outright (SIGKILL, the OOM killer), which no handler of the
runner's can catch.

Why a process of its own: when the runner dies, a case's bootstrap gets its parent-death
signal, but what the handler started does not (that signal is not inherited across
fork), and the orphans are re-parented past the dead runner (a child subreaper no more)
to the machine's init. In a namespace instance the kernel ends them with the instance's
init; a plain process (``--isolation process``) has no such end. The keeper is told each
case's process group and cgroups as the case starts and ends; it reads them from a pipe
whose only writer is the runner, so end-of-file means the runner is gone (or closed it at
the end of the run, with nothing left to watch). It then kills every watched process
group and everything the watched cgroups list, until they list nothing.

Honest limit: without a cgroup to ask (a machine where scftest cannot make one), a
process the handler moved out of the case's process group (setsid, a double-forked
daemon) is not found. The keeper runs as the runner's user; in process mode a handler
could kill it as it could kill the runner.
"""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Optional, Sequence

# Run with -I -S: no site, no user paths; stdlib only, read from this text.
KEEPER_SOURCE = r'''
import os, signal, time
for stop in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
    signal.signal(stop, signal.SIG_IGN)  # only the end of the pipe ends the keeper
watched, pending = {}, b""
while True:
    try:
        chunk = os.read(0, 65536)
    except InterruptedError:
        continue
    if not chunk:
        break
    pending += chunk
    lines = pending.split(b"\n")
    pending = lines.pop()
    for line in lines:
        fields = line.split(b"\t")
        if fields[0] == b"+" and len(fields) > 1:
            watched[fields[1]] = fields[2:]
        elif fields[0] == b"-" and len(fields) > 1:
            watched.pop(fields[1], None)

def listed(files):
    pids = []
    for name in files:
        try:
            with open(name, "rb") as handle:
                pids += [int(p) for p in handle.read().split()]
        except (OSError, ValueError):
            pass
    return pids

for group, files in watched.items():
    try:
        os.killpg(int(group), signal.SIGKILL)
    except (OSError, ValueError):
        pass
    for _ in range(200):  # a fork racing the kill shows up in the next read
        pids = listed(files)
        if not pids:
            break
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.01)
'''


class Keeper:
    """The runner's side: starts the keeper on first use, tells it what each case is."""

    def __init__(self, python: str = sys.executable) -> None:
        self.python = python
        self._lock = threading.Lock()
        self._proc: Optional[subprocess.Popen] = None
        self._broken = False  # could not start or write: the cases still run, unwatched

    @property
    def pid(self) -> Optional[int]:
        return self._proc.pid if self._proc is not None else None

    def watch(self, group: int, cgroup_procs: Sequence[str] = ()) -> None:
        """A case started: its process group (its bootstrap's pid) and cgroup.procs files."""
        fields = ["+", str(group)] + [name for name in cgroup_procs if "\t" not in name and "\n" not in name]
        self._send("\t".join(fields))

    def release(self, group: int) -> None:
        """The case is over and its processes ended."""
        self._send(f"-\t{group}")

    def close(self) -> None:
        """The run is over: the keeper reads end-of-file with nothing watched and exits."""
        with self._lock:
            proc, self._proc = self._proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
        except OSError:
            pass
        proc.wait()

    def _send(self, line: str) -> None:
        with self._lock:
            if self._broken:
                return
            try:
                if self._proc is None:
                    # Its own session: a kill of the runner's process group (a CI job's
                    # cancel) must leave the keeper to do its work.
                    self._proc = subprocess.Popen(
                        [self.python, "-I", "-S", "-c", KEEPER_SOURCE], stdin=subprocess.PIPE,
                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
                self._proc.stdin.write((line + "\n").encode("utf-8", "surrogateescape"))
                self._proc.stdin.flush()
            except OSError:
                self._broken = True
