"""The reaper: the end of a case's instance that its verdict need not wait for.

When a case in a namespace is over, every one of its processes is sent SIGKILL at once
(CaseProcesses.kill(wait=False)): nothing of it can run again, and how it ended is known.
What is left is the kernel's work, a few milliseconds that used to sit between one case
and the next: the exits, the namespace's end, the bootstrap's reaping, the cgroups
emptied. The reaper does that in a thread of its own, so the worker starts its next case
at once; the run's end (``close``) waits for every teardown, so nothing of any case
outlives the run, and the processes of a case are never running beside a later case of
the same worker: they had SIGKILL before its start (only their exits may overlap).

A teardown that finds processes still there once its wait is over (a process frozen by a
cgroup freezer survives SIGKILL) is reported on the runner's stderr: the case's verdict
was given by then.

At most ``backlog`` teardowns wait in a lane at any time: a worker that would add one
more waits for the oldest (the kernel's teardown cannot fall behind without bound). Each
worker has a lane (a thread) of its own: a teardown is mostly waiting for the kernel, and
at -j 2 one thread waiting for both workers' teardowns in turn fell behind.
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Callable, Deque, Dict, Hashable, List, Optional, TextIO

from scftest.i18n import _

# A teardown: does the waiting and the cleaning, returns the pids still alive after it
# (none, unless the kernel refuses), and names the case's function for the warning.
Teardown = Callable[[], List[int]]

BACKLOG = 8


class _Lane:
    """One lane's teardowns: those waiting, how many run, its thread, and the condition
    its thread waits on (on the reaper's lock): a teardown held in one lane wakes that
    lane's thread alone, not every lane's (each wake-up of a thread costs the runner
    tens of microseconds of CPU here)."""

    def __init__(self, lock: threading.Lock) -> None:
        self.waiting: Deque[tuple] = deque()
        self.busy = 0
        self.thread: Optional[threading.Thread] = None
        self.held = threading.Condition(lock)


class Reaper:
    """Teardowns run in lanes, one thread each: by default a lane per thread that holds
    them (per worker), so one worker's slow teardowns never queue behind another's; a
    lane's teardowns run in the order held (a zygote's end is held in its worker's lane
    after its cases' teardowns, which reap through it: forkserver.py)."""

    def __init__(self, backlog: int = BACKLOG, report: Optional[TextIO] = None):
        self.backlog = max(1, backlog)  # per lane
        self._report = report
        self._lock = threading.Lock()
        # What hold (a lane full) and close wait for: a teardown done.
        self._cond = threading.Condition(self._lock)
        self._lanes: Dict[Hashable, _Lane] = {}
        self._closing = False
        self.done = 0  # teardowns finished (tests read it)

    def hold(self, teardown: Teardown, function: str, lane: Optional[Hashable] = None) -> None:
        """Runs ``teardown`` in ``lane``'s thread (the calling thread's lane by default;
        in this thread once the reaper is closing: the run's end waits anyway)."""
        key = threading.get_ident() if lane is None else lane
        with self._cond:
            if self._closing:
                run_now = True
            else:
                run_now = False
                queue = self._lanes.get(key)
                if queue is None:
                    queue = self._lanes[key] = _Lane(self._lock)
                while len(queue.waiting) + queue.busy >= self.backlog:
                    self._cond.wait()
                queue.waiting.append((teardown, function))
                if queue.thread is None:
                    queue.thread = threading.Thread(target=self._serve, args=(queue,),
                                                    name="scftest-reaper", daemon=True)
                    queue.thread.start()
                queue.held.notify()
        if run_now:
            self._run(teardown, function)

    @property
    def pending(self) -> int:
        with self._cond:
            return sum(len(q.waiting) + q.busy for q in self._lanes.values())

    def close(self) -> None:
        """Waits until every teardown held so far is done (those held meanwhile run in
        their caller). The reaper can serve again afterwards: new threads start with the
        next teardowns held."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            for lane in self._lanes.values():
                lane.held.notify()
            threads = [q.thread for q in self._lanes.values() if q.thread is not None]
        for thread in threads:
            thread.join()
        with self._cond:
            self._closing = False
            self._lanes.clear()

    def _serve(self, lane: "_Lane") -> None:
        while True:
            with self._cond:
                while not lane.waiting and not self._closing:
                    lane.held.wait()
                if not lane.waiting:
                    lane.thread = None
                    return  # closing, and nothing left
                teardown, function = lane.waiting.popleft()
                lane.busy += 1
            try:
                self._run(teardown, function)
            finally:
                with self._cond:
                    lane.busy -= 1
                    self.done += 1
                    self._cond.notify_all()

    def _run(self, teardown: Teardown, function: str) -> None:
        try:
            leftovers = teardown()
        except Exception as exc:  # a fault of scftest's: the run goes on, and says so
            leftovers = []
            print(_("scftest: warning: the end of a case of function {function} failed: {error}").format(
                function=function, error=exc), file=self._report or sys.stderr)
        if leftovers:
            print(_("scftest: warning: processes {pids} of a case of function {function} were still "
                    "running after SIGKILL and the wait for them; scftest left them behind").format(
                pids=", ".join(str(pid) for pid in leftovers), function=function),
                file=self._report or sys.stderr)
