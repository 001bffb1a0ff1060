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

At most ``backlog`` teardowns wait at any time: a worker that would add one more waits
for the oldest (the kernel's teardown cannot fall behind without bound).
"""

from __future__ import annotations

import sys
import threading
from collections import deque
from typing import Callable, Deque, List, Optional, TextIO

from scftest.i18n import _

# A teardown: does the waiting and the cleaning, returns the pids still alive after it
# (none, unless the kernel refuses), and names the case's function for the warning.
Teardown = Callable[[], List[int]]

BACKLOG = 8


class Reaper:
    def __init__(self, backlog: int = BACKLOG, report: Optional[TextIO] = None):
        self.backlog = max(1, backlog)
        self._report = report
        self._cond = threading.Condition()
        self._queue: Deque[tuple] = deque()
        self._busy = 0  # teardowns taken by the thread and not done yet
        self._thread: Optional[threading.Thread] = None
        self._closing = False
        self.done = 0  # teardowns finished (tests read it)

    def hold(self, teardown: Teardown, function: str) -> None:
        """Runs ``teardown`` in the reaper's thread (in this one once the reaper is
        closing: the run's end waits anyway)."""
        with self._cond:
            if self._closing:
                run_now = True
            else:
                run_now = False
                while len(self._queue) + self._busy >= self.backlog:
                    self._cond.wait()
                self._queue.append((teardown, function))
                if self._thread is None:
                    self._thread = threading.Thread(target=self._serve, name="scftest-reaper", daemon=True)
                    self._thread.start()
                self._cond.notify_all()
        if run_now:
            self._run(teardown, function)

    @property
    def pending(self) -> int:
        with self._cond:
            return len(self._queue) + self._busy

    def close(self) -> None:
        """Waits until every teardown held so far is done (those held meanwhile run in
        their caller). The reaper can serve again afterwards: a new thread starts with
        the next teardown held."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()
        with self._cond:
            self._closing = False
            self._thread = None

    def _serve(self) -> None:
        while True:
            with self._cond:
                while not self._queue and not self._closing:
                    self._cond.wait()
                if not self._queue:
                    return  # closing, and nothing left
                teardown, function = self._queue.popleft()
                self._busy += 1
            try:
                self._run(teardown, function)
            finally:
                with self._cond:
                    self._busy -= 1
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
