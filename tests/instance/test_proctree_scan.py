"""A case's processes are found from the case's own tree, not by reading every process of
the machine (issue 15: the scan per case grew with the host's process count)."""

import os
import subprocess
import sys
import time

import pytest

from scftest.instance import proctree
from scftest.instance.proctree import ProcessTree, children, scan_from

pytestmark = pytest.mark.skipif(children(os.getpid()) is None,
                                reason="this kernel lists no children in /proc (CONFIG_PROC_CHILDREN)")

# A session leader and child subreaper (as the bootstrap of a plain process is) whose child
# double-forks into a daemon of its own session, then waits.
TREE = """\
import ctypes, os, sys, time
ctypes.CDLL(None).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
if os.fork() == 0:
    if os.fork() == 0:
        os.setsid()
        time.sleep(30)
    os._exit(0)
sys.stdout.write("up\\n"); sys.stdout.flush()
time.sleep(30)
"""


def test_the_tree_is_found_from_its_root_even_a_setsid_daemon(monkeypatch):
    root = subprocess.Popen([sys.executable, "-c", TREE], stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert root.stdout.readline() == b"up\n"
        tree = ProcessTree(root.pid)
        scanned = []
        monkeypatch.setattr(proctree, "scan_processes", lambda: scanned.append(1) or {})
        deadline = time.monotonic() + 10
        daemons = []
        while not daemons and time.monotonic() < deadline:
            tree.discover()  # its parent exits: it comes back to the root, still found
            daemons = [s.pid for s in tree._live() if s.pid != root.pid and s.session == s.pid]
        assert scanned == []  # the machine's process table was never read
        assert len(daemons) == 1
        assert set(scan_from([root.pid])) <= {root.pid, daemons[0]} | set(tree.known)
        assert tree.kill() == []
        assert not [s for s in tree._live()]
    finally:
        root.kill()
        root.wait()
