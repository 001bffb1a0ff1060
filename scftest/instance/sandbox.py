"""The containment of a case, parent side: which isolation this machine gives and why,
the plan the bootstrap enters (_child.py does the entering, in the function's own
process, before anything of the user's runs), the case's cgroups, and the case's
processes measured and ended.

Two isolations (``Sandbox.isolation``):

- ``namespace``: the case gets its own mount, pid, ipc and uts namespaces (and a user
  namespace when the runner is not root); its code root read-only at /var/user, a
  private 512 MB /tmp and a minimal /dev, the rest of the host read-only, the runner's
  HOME and /run/user hidden, its own /proc; the function runs without capabilities and,
  when the runner is root, as ``nobody``. Ending the bootstrap ends the namespace.
- ``process``: where namespaces cannot be made. A plain process with what still
  applies: no capabilities, no_new_privs, non-dumpable, a parent-death signal, the
  runner a child subreaper (orphans come back to it and are killed) and non-dumpable.

Where they can be made (as root, cgroup v1 here), each case also gets a pids cgroup
(1024 processes and threads, as in the cloud) and a memory cgroup (its memory counted
once however many processes share it), both under the runner's own cgroups.
"""

from __future__ import annotations

import itertools
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from scftest.i18n import _
from scftest.instance import InstanceError
from scftest.instance.keeper import Keeper
from scftest.instance.proctree import (EXIT_ROUND_S, PAGE_SIZE, ProcessTree, children, read_file,
                                      read_stat, scan_processes, wait_for_exits)
from scftest.instance.reaper import Reaper
from scftest.scf.limits import LIMITS, Limits

CHILD_SCRIPT = Path(__file__).with_name("_child.py")
REQUESTS = ("auto", "strict", "process")  # --isolation
NAMESPACE, PROCESS = "namespace", "process"
CONTROLLERS = ("pids", "memory")
CASE_PREFIX = "scftest-"
PROBE_TIMEOUT_S = 20.0
KILL_WAIT_S = 2.0
CODE_ROOT = "/var/user"  # where the cloud (and an instance) has the code
OPT = "/opt"  # where the cloud unpacks a function's layers
# Where an instance has the runtime's image libraries: beside where SCF keeps its runtime
# (/var/runtime/python37/bootstrap.py in the cloud's tracebacks), read-only.
IMAGE = "/var/runtime/site-packages"
TMP = "/tmp"
EXIT_NO_INSTANCE = 71  # _child.py: the instance could not be made


# ---------------------------------------------------------------------------------------
# What the machine gives.

@dataclass(frozen=True)
class Finding:
    """One line of ``scftest doctor``: what, the state, why."""

    name: str
    state: str
    why: str


@dataclass(frozen=True)
class MachineIsolation:
    """What this machine gives a case, found once per run."""

    namespaces: bool
    why: str  # how they are made, or why they cannot be
    userns: bool  # the runner is not root: a user namespace maps it
    function_user: Optional[Tuple[int, int]]  # uid, gid the function runs as (root runner)
    cgroup_bases: Mapping[str, str] = field(default_factory=dict)  # controller -> folder
    cgroup_why: Mapping[str, str] = field(default_factory=dict)  # controller -> why not

    def findings(self, requested: str = "auto") -> List[Finding]:
        chosen = isolation_for(self, requested)
        # What a person reads is translated (the isolation's own name stays as --isolation spells it).
        findings = [Finding(_("isolation"), chosen or _("none (strict)"), self.why)]
        if self.namespaces:
            who = (_("root inside a user namespace, the runner's user outside")
                   if self.userns else _("uid {uid} (nobody)").format(uid=self.function_user[0])
                   if self.function_user else _("the runner's user"))
            findings.append(Finding(_("function user"), who, _("no capabilities, no_new_privs")))
        pids = self.cgroup_bases.get("pids")
        findings.append(Finding(
            _("processes and threads"),
            _("{count} per case").format(count=LIMITS.processes) if pids else _("not limited"),
            _("a pids cgroup per case under {folder}").format(folder=pids) if pids
            else self.cgroup_why.get("pids", "")))
        if chosen == NAMESPACE:
            findings += [
                Finding(_("code"), _("read-only at /var/user"), _("writing there fails with EROFS, as in the cloud")),
                Finding("/tmp", _("private, 512 MB"), _("a tmpfs of the instance's own, gone with it")),
                Finding(_("the runner"), _("invisible"), _("its processes, environment, HOME and files: "
                        "a private /proc, HOME hidden, the host read-only")),
                Finding(_("network"), _("the host's"), _("not contained: handlers reach what the runner reaches"))]
        else:
            findings += [
                Finding(_("code"), _("writable"), _("labelled limit: the code folder is the host's")),
                Finding("/tmp", _("the host's, not capped"), _("labelled limit: no private /tmp")),
                Finding(_("the runner"), _("visible, can be signalled"), _("labelled limit: the function "
                        "runs as the runner's user (without capabilities; the runner is "
                        "non-dumpable, so its environment cannot be read, and a child subreaper, "
                        "so orphans come back to it and are killed)")),
                Finding(_("network"), _("the host's"), _("not contained"))]
        memory = self.cgroup_bases.get("memory")
        findings.append(Finding(
            _("memory"), _("memory cgroup") if memory else _("per process"),
            _("a memory cgroup per case under {folder}: the case's anonymous memory, "
              "counted once, plus the file pages of its largest process").format(folder=memory) if memory else
            _("each process's resident memory from /proc, pages shared after a fork counted "
              "in every process ({why})").format(why=self.cgroup_why.get("memory", ""))))
        return findings


def isolation_for(machine: MachineIsolation, requested: str) -> Optional[str]:
    """The isolation a case gets: None when ``strict`` cannot be honoured."""
    if requested == PROCESS:
        return PROCESS
    if machine.namespaces:
        return NAMESPACE
    return None if requested == "strict" else PROCESS


def probe_machine(python: Optional[str] = None) -> MachineIsolation:
    """Tries what a case will need, for real: the cgroups, then an instance entered by
    the bootstrap itself under ``python`` (the runner's interpreter by default)."""
    bases, why = _cgroup_bases()
    if not sys.platform.startswith("linux"):
        return MachineIsolation(False, _("namespaces are a Linux feature"), False, None,
                                bases, why)
    root = os.geteuid() == 0
    user = _nobody() if root else None
    folder = tempfile.mkdtemp(prefix="scftest-probe-")
    try:
        os.chmod(folder, 0o755)  # a code root the function's user can read
        plan = instance_plan(folder, hidden_folders(), user, not root)
        report, error = _run_probe(python or sys.executable, plan)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    if report is None:
        return MachineIsolation(False, _("namespaces cannot be made here: {error}").format(error=error),
                                not root, user, bases, why)
    expected = {"capabilities": "0000000000000000", "var_user": "EROFS", "tmp": "yes",
                "etc": "EROFS"}
    wrong = {k: report.get(k) for k, v in expected.items() if report.get(k) != v}
    if wrong:
        return MachineIsolation(False, _("an instance was made but does not hold: {wrong}").format(wrong=wrong),
                                not root, user, bases, why)
    how = (_("unprivileged user, mount, pid, ipc and uts namespaces") if not root else
           _("mount, pid, ipc and uts namespaces (the runner is root)"))
    return MachineIsolation(True, how, not root, user, bases, why)


def _run_probe(python: str, plan: dict) -> Tuple[Optional[dict], str]:
    try:
        done = subprocess.run([python, "-s", "-E", str(CHILD_SCRIPT), "--probe", json.dumps(plan)],
                              stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=PROBE_TIMEOUT_S, env={"PATH": os.defpath})
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)
    lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        report = json.loads(lines[-1])
    except (IndexError, ValueError):
        report = {}
    if done.returncode == 0 and report.get("ok"):
        return report, ""
    detail = report.get("error") or done.stderr.decode("utf-8", "replace").strip()[-300:]
    return None, detail or f"the probe exited with code {done.returncode}"


def _nobody() -> Tuple[int, int]:
    try:
        entry = pwd.getpwnam("nobody")
        return entry.pw_uid, entry.pw_gid
    except KeyError:
        return 65534, 65534


def hidden_folders() -> List[str]:
    """The runner's folders an instance does not show: its HOME (credentials, caches,
    its interpreters are mounted back) and the users' runtime folders (agent sockets)."""
    folders = []
    home = os.path.realpath(os.path.expanduser("~"))
    if home != "/" and os.path.isdir(home) and not _under(home, TMP):
        folders.append(home)
    if os.path.isdir("/run/user"):
        folders.append("/run/user")
    return folders


def _under(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip("/") + "/")


def instance_plan(code_root: str, hide: Sequence[str], user: Optional[Tuple[int, int]],
                  userns: bool, cgroups: Sequence[str] = (), limits: Limits = LIMITS,
                  layers: Sequence[str] = (), image: Optional[str] = None) -> dict:
    """config["instance"] for a namespace (see _child.py, "The instance")."""
    return {"isolation": NAMESPACE, "code_root": code_root, **common_fs(hide, limits),
            "user": list(user) if user else None, "userns": userns,
            "cgroups": list(cgroups),
            "opt": opt_mounts(layers), "image": [str(image), IMAGE] if image else None}


def common_fs(hide: Sequence[str], limits: Limits) -> dict:
    """The part of an instance plan every case of a run with these ``limits`` shares: the
    runner's folders it covers and the size of /tmp. A fork-server's standby builds that
    part of the file system before its request (_child.py, prepare_ahead), and the case
    only its code, image and layers; a case whose plan differs builds it all."""
    return {"hide": list(hide), "tmp_bytes": limits.tmp_bytes}


def opt_mounts(layers: Sequence[str]) -> List[List[str]]:
    """How the instance's /opt is made of ``layers`` (host folders, in order): SCF unpacks
    each layer's zip into /opt in turn, so a later layer's file replaces an earlier one's
    on the same path and folders merge.

    /opt is an empty tmpfs; on it, each entry is ``["bind", path, host path]`` (a file or
    folder only one layer has, or the one that wins: bound read-only in place),
    ``["dir", path]`` (a folder several layers have: made in the tmpfs, and its entries
    merged the same way) or ``["link", path, target]`` (a symbolic link, copied). Paths
    are relative to /opt, parents before children. The alternatives were weighed: an
    overlay mount merges the same way but cannot be made in a user namespace on kernels
    before 5.11 and needs its folder list escaped; copying costs time per case."""
    mounts: List[List[str]] = []
    _merge([os.path.realpath(layer) for layer in layers], "", mounts)
    return mounts


def _merge(folders: Sequence[str], relative: str, mounts: List[List[str]]) -> None:
    names: Set[str] = set()
    for folder in folders:
        try:
            names.update(os.listdir(folder))
        except OSError:
            continue  # unreadable: it adds nothing, as an unreadable zip entry would
    for name in sorted(names):
        path = f"{relative}/{name}" if relative else name
        having = [os.path.join(folder, name) for folder in folders
                  if os.path.lexists(os.path.join(folder, name))]
        winner = having[-1]
        if os.path.islink(winner):
            mounts.append(["link", path, os.readlink(winner)])
            continue
        # The folders that merge: the last run of folders (a file in a later layer replaces
        # a folder of an earlier one, as unpacking it over the folder would).
        run: List[str] = []
        for candidate in reversed(having):
            if os.path.islink(candidate) or not os.path.isdir(candidate):
                break
            run.insert(0, candidate)
        if len(run) > 1:
            mounts.append(["dir", path])
            _merge(run, path, mounts)
        else:
            mounts.append(["bind", path, winner])


# ---------------------------------------------------------------------------------------
# Cgroups (v1: the unified hierarchy cannot have controllers below a cgroup that holds
# processes, which the runner's own does).

def _cgroup_bases() -> Tuple[Dict[str, str], Dict[str, str]]:
    """(controller -> the runner's own cgroup folder where a child can be made, controller
    -> why not)."""
    found, why = {}, {}
    for controller, folder in _own_cgroup_folders().items():
        _remove_stale(folder)
        test = os.path.join(folder, f"{CASE_PREFIX}probe-{os.getpid()}-{threading.get_ident()}")
        try:
            os.mkdir(test)
            os.rmdir(test)
            found[controller] = folder
        except OSError as exc:
            why[controller] = _("cannot make a cgroup in {folder}: {error}").format(folder=folder, error=exc.strerror)
    for controller in CONTROLLERS:
        if controller not in found and controller not in why:
            why[controller] = _("no cgroup v1 {controller} controller is mounted").format(controller=controller)
    return found, why


def _remove_stale(base: str) -> None:
    """Empty case cgroups a runner that was killed left behind (its pid is gone)."""
    try:
        names = os.listdir(base)
    except OSError:
        return
    for name in names:
        owner = name[len(CASE_PREFIX):].split("-")[0]
        if name.startswith(CASE_PREFIX) and owner.isdigit() and not os.path.exists(f"/proc/{owner}"):
            _rmdir(os.path.join(base, name))


def _own_cgroup_folders() -> Dict[str, str]:
    try:
        with open("/proc/self/cgroup") as handle:
            own = handle.read().splitlines()
        with open("/proc/self/mountinfo") as handle:
            mounts = handle.read().splitlines()
    except OSError:
        return {}
    paths = {}
    for line in own:
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths[controller] = parts[2]
    folders = {}
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if len(tail) < 3 or tail[0] != "cgroup" or len(fields) < 5:
            continue
        options = tail[2].split(",")
        for controller in CONTROLLERS:
            if controller in options and controller in paths and controller not in folders:
                relative = paths[controller]
                if fields[3] != "/" and relative.startswith(fields[3]):
                    relative = relative[len(fields[3]):]
                folders[controller] = fields[4] + relative
    return folders


class CaseCgroups:
    """The cgroups of one case (those that could be made)."""

    def __init__(self, folders: Mapping[str, str], processes_limit: Optional[int] = None):
        self.folders = dict(folders)
        self.processes_limit = processes_limit  # what pids.max says (None: not known)
        # memory.stat, kept open while the cgroup lives (and serves later cases): the
        # memory poll reads it every 15 ms, and a read at offset 0 of the open file makes
        # the figures anew, for half the cost of opening the file each time.
        self._stat_fd: Optional[int] = None

    @classmethod
    def make(cls, bases: Mapping[str, str], name: str, limits: Limits = LIMITS) -> "CaseCgroups":
        folders = {}
        for controller, base in bases.items():
            folder = os.path.join(base, name)
            try:
                os.mkdir(folder)
                if controller == "pids":
                    _write(os.path.join(folder, "pids.max"), str(limits.processes))
                folders[controller] = folder
            except OSError:
                _rmdir(folder)
        return cls(folders, limits.processes)

    @property
    def procs_files(self) -> List[str]:
        return [os.path.join(folder, "cgroup.procs") for folder in self.folders.values()]

    @property
    def listed(self) -> bool:
        """Whether there is a cgroup to list the case's processes."""
        return bool(self.folders)

    def members(self) -> Optional[List[int]]:
        """Every process of the case (None without a cgroup to ask)."""
        for folder in self.folders.values():
            data = read_file(os.path.join(folder, "cgroup.procs"))
            if data is not None:
                return [int(pid) for pid in data.split()]
        return None

    def wait_empty(self, timeout: float) -> bool:
        """Waits (at most ``timeout`` seconds) until the cgroups list no process."""
        deadline = time.monotonic() + timeout
        while self.members():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True

    def anonymous_bytes(self) -> Optional[int]:
        """The case's anonymous memory, each page once (None without a memory cgroup)."""
        text = b"\n" + (self._memory_stat() or b"")
        at = text.find(b"\nrss ")
        if at < 0:
            return None
        end = text.find(b"\n", at + 1)
        try:
            return int(text[at + 5:end if end >= 0 else len(text)])
        except ValueError:
            return None

    def _memory_stat(self) -> Optional[bytes]:
        folder = self.folders.get("memory")
        if folder is None:
            return None
        try:
            if self._stat_fd is None:
                self._stat_fd = os.open(os.path.join(folder, "memory.stat"), os.O_RDONLY)
            return os.pread(self._stat_fd, 65536, 0)
        except OSError:  # gone, or not a file that can be read: no figure, as before
            return None

    def remove(self) -> bool:
        """Removes the (empty) cgroups; False if one is still busy."""
        if self._stat_fd is not None:
            fd, self._stat_fd = self._stat_fd, None
            os.close(fd)
        removed = True
        for controller, folder in list(self.folders.items()):
            if _rmdir(folder, retries=40):
                del self.folders[controller]
            else:
                removed = False
        return removed


def _write(path: str, text: str) -> None:
    with open(path, "w") as handle:
        handle.write(text)


def _rmdir(folder: str, retries: int = 0) -> bool:
    for attempt in range(retries + 1):
        try:
            os.rmdir(folder)
            return True
        except FileNotFoundError:
            return True
        except OSError:
            if attempt < retries:
                time.sleep(0.005)  # the last exits are still being accounted
    return False


# ---------------------------------------------------------------------------------------
# The processes of one case: found, measured, ended.

def _statm(pid: int) -> Optional[Tuple[int, int]]:
    """(resident, file-backed resident) pages of ``pid``, or None if it is gone."""
    try:
        fd = os.open(f"/proc/{pid}/statm", os.O_RDONLY)
        try:
            fields = os.read(fd, 256).split()
        finally:
            os.close(fd)
        return int(fields[1]), int(fields[2])
    except (OSError, IndexError, ValueError):
        return None


def _high_water(pid: int) -> int:
    """The process's peak resident memory since its exec (VmHWM), in bytes."""
    status = read_file(f"/proc/{pid}/status")  # os.read: a buffered open() costs more
    at = -1 if status is None else status.find(b"\nVmHWM:")
    if at < 0:
        return 0
    try:
        return int(status[at + 7:status.index(b"\n", at + 1)].split()[0]) * 1024
    except (ValueError, IndexError):
        return 0


class CaseProcesses:
    """What ProcessTree is to a plain process, for a case in its instance: every process
    of the case (its cgroup's list where there is one, else its process tree), the
    case's memory, and the end of it all.

    Memory, the figure the record reports and the limit is held against: the case's
    anonymous memory (from its memory cgroup, each page once; else summed over its
    processes) plus the file-backed pages of its largest process (the interpreter and
    the libraries every process maps), never the runner's pages, and never scftest's own
    processes of a namespace (the bootstrap outside and init inside, or init alone where
    a zygote forked the case into its PID namespace). At the end, each
    process's own high-water mark since its exec is a floor, so a peak between two polls
    still counts.
    """

    def __init__(self, root: int, isolation: str, cgroups: CaseCgroups,
                 sandbox: Optional["Sandbox"] = None, root_is_init: bool = False):
        self.root = root
        self.isolation = isolation
        self.cgroups = cgroups
        self.sandbox = sandbox
        self.tree = ProcessTree(root)
        self.peak_rss = 0
        self._own: Set[int] = {root} if isolation == NAMESPACE else set()
        # scftest's own processes of a namespace: the bootstrap and init, found as its
        # child; or init alone, where the case's process is init (a fork's: forkserver.py).
        self._own_count = 1 if root_is_init else 2
        self._listed: Optional[bool] = None  # whether the last read of the cgroup's list worked
        self._signalled: List[int] = []  # what kill(wait=False) sent SIGKILL to (wait_gone waits for it)

    @property
    def known(self) -> Dict[int, int]:
        return self.tree.known

    def discover(self) -> None:
        if not self.cgroups.listed:
            self.tree.discover()

    def _listing(self) -> Optional[List[int]]:
        """The cgroup's list of the case's processes (a read of cgroup.procs), or None."""
        members = self.cgroups.members()
        self._listed = members is not None
        return members

    def _members(self, listing: Optional[List[int]]) -> List[int]:
        """The case's processes: ``listing`` (the cgroup's), else the tree's live ones."""
        if listing is None:
            return [stat.pid for stat in self.tree._live()]
        return listing

    def _measured(self, members: Iterable[int]) -> List[int]:
        """The members that are the function's (not scftest's bootstrap and init)."""
        if self.isolation == NAMESPACE and len(self._own) < self._own_count:
            for pid in members:
                if pid in self._own:
                    continue
                stat = read_stat(pid)
                if stat is not None and stat.ppid == self.root:
                    self._own.add(pid)  # init: the bootstrap's only child
                    break
        return [pid for pid in members if pid not in self._own]

    def rss_bytes(self) -> int:
        """The case's memory now (see the class); also tracks the peak."""
        return self._rss_of(self._measured(self._members(self._listing())))

    def _rss_of(self, measured: List[int]) -> int:
        anonymous = self.cgroups.anonymous_bytes()
        summed, largest_file = 0, 0
        for pid in measured:
            pages = _statm(pid)
            if pages is not None:
                summed += pages[0] - pages[1]
                largest_file = max(largest_file, pages[1])
        if anonymous is None:
            anonymous = summed * PAGE_SIZE
        total = anonymous + largest_file * PAGE_SIZE
        self.peak_rss = max(self.peak_rss, total)
        return total

    def measure(self) -> int:
        """The case's peak so far (bytes): one more poll, and each process's own
        high-water mark as a floor (a warm instance's figure after an invocation)."""
        self._measure()
        return self.peak_rss

    def _measure(self) -> Optional[List[int]]:
        """measure(), reading the cgroup's list once (the poll and the floor are taken of
        the same processes); returns that list (None: no cgroup lists them)."""
        listing = self._listing()
        if self.isolation == NAMESPACE and listing is None:
            self.discover()
        measured = self._measured(self._members(listing))
        self._rss_of(measured)
        self.peak_rss = max([self.peak_rss] + [_high_water(pid) for pid in measured])
        return listing

    @property
    def deferrable(self) -> bool:
        """Whether the end can be split (``kill(wait=False)``, then ``wait_gone``): in a
        namespace with a cgroup that lists the case's processes, where SIGKILL to every
        one of them and to init (whose death ends any process forked meanwhile) leaves
        nothing of the case that can run again; only the kernel's teardown remains.
        Whether the cgroup lists them is known from the last poll's read of the list
        (a cgroup the run made stays readable while its case lasts); read if none was."""
        if self.isolation != NAMESPACE:
            return False
        if self._listed is None:
            self._listing()
        return bool(self._listed)

    def kill(self, wait: bool = True) -> List[int]:
        """Measures one last time, then ends every process of the case; returns the
        pids still alive afterwards (none, unless the kernel refuses). ``wait=False``
        (only where ``deferrable``): send the signals and return at once; ``wait_gone``
        then waits for the kernel's teardown."""
        # The cgroup's list read by the last measure is the one signalled: a process
        # forked since is in the namespace, and ends with init (signalled too).
        members = self._measure()
        if self.isolation == NAMESPACE:
            _signal(self.root)  # init's parent-death signal: the namespace ends with it
        listed = members is not None
        if not wait and self.isolation == NAMESPACE and listed:  # deferrable
            for pid in members:
                _signal(pid)  # side by side, not one after the other through init
            self._signalled = list(members)
            return []
        leftovers = self._end_members(members) if listed else []
        if self.isolation == PROCESS or not listed:  # a plain process may leave its cgroup
            leftovers += [pid for pid in self.tree.kill() if pid not in leftovers]
        if self.sandbox is not None and self.isolation == PROCESS:
            self.sandbox.sweep()
        return leftovers

    def wait_gone(self) -> List[int]:
        """After ``kill(wait=False)``: waits (at most KILL_WAIT_S) until the cgroup lists
        nothing, killing again what it still lists; returns what it lists in the end.
        The processes kill() signalled are waited for before the list is read: read
        first, it would list most of them still (a read of the list is ~60 us here)."""
        signalled, self._signalled = self._signalled, []
        if signalled:
            wait_for_exits(signalled, EXIT_ROUND_S)
        return self._end_members()

    def _end_members(self, members: Optional[List[int]] = None) -> List[int]:
        """SIGKILL what the cgroup lists until it lists nothing (``members``: the list
        just read, for the first round). In a namespace too: init's death would end the
        rest, but one after the other (the bootstrap, then init, then the function);
        killed together, they exit side by side."""
        deadline = time.monotonic() + KILL_WAIT_S
        while True:
            if members is None:
                members = self.cgroups.members() or []
            if not members:
                return []
            if time.monotonic() > deadline:
                return members
            for pid in members:
                _signal(pid)
            wait_for_exits(members, EXIT_ROUND_S)
            members = None


def _signal(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass


# ---------------------------------------------------------------------------------------
# One run's sandbox.

@dataclass
class CasePlan:
    """How one case is contained: what the bootstrap is told, what changes in the
    function's environment, and its cgroups (closed after the case, always)."""

    isolation: str
    instance: dict  # config["instance"]
    code_root: str  # the code root as the function sees it
    environment: Dict[str, str]  # over the function's environment
    cgroups: CaseCgroups
    sandbox: Optional["Sandbox"] = None
    layer_path: List[str] = field(default_factory=list)  # sys.path entries of the layers
    image_path: Optional[str] = None  # the image libraries as the function sees them

    def processes(self, root: int, root_is_init: bool = False) -> CaseProcesses:
        """``root_is_init``: the case's process is its namespace's init itself (forked
        into its PID namespace by a zygote), not a bootstrap outside that started one."""
        return CaseProcesses(root, self.isolation, self.cgroups, self.sandbox, root_is_init)

    def close(self, emptied: bool = False) -> None:
        """The case is over and its processes are gone: its cgroups serve a later case
        of the run (or are removed). ``emptied``: the cgroup's list was just read empty
        (CaseProcesses.wait_gone returned nothing), so recycling need not read it again."""
        if self.sandbox is not None:
            self.sandbox.recycle(self.cgroups, emptied)
        else:
            self.cgroups.remove()


class Sandbox:
    """The containment of one run: the machine's isolation (probed once, on first use),
    the case cgroups' home, the runner's own hardening. Worker threads share one."""

    def __init__(self, requested: str = "auto", python: Optional[str] = None):
        if requested not in REQUESTS:
            raise ValueError(f"isolation {requested!r}: one of {', '.join(REQUESTS)}")
        self.requested = requested
        self.python = python
        self._lock = threading.Lock()
        self._machine: Optional[MachineIsolation] = None
        self._counter = itertools.count(1)
        self._bootstraps: Set[int] = set()  # the runner's own children (see sweep)
        self._hardened = False
        self._keeper = Keeper()  # ends the cases' processes if the runner is killed outright
        self.reaper = Reaper()  # the kernel's end of a case, off the next case's way
        # Empty case cgroups, by their process limit, for later cases: making one and
        # removing it again (mkdir, rmdir) takes a millisecond or more each per case.
        self._free: Dict[int, List[CaseCgroups]] = {}
        self._hidden: Optional[List[str]] = None  # the runner's folders an instance hides
        self._code_folders: Dict[str, str] = {}  # code root as given -> its real path

    def machine(self) -> MachineIsolation:
        with self._lock:
            if self._machine is None:
                if self.requested == PROCESS:
                    bases, why = _cgroup_bases()
                    self._machine = MachineIsolation(
                        False, "--isolation process: no namespaces", os.geteuid() != 0,
                        None, bases, why)
                else:
                    self._machine = probe_machine(self.python)
            return self._machine

    def isolation(self) -> Optional[str]:
        return isolation_for(self.machine(), self.requested)

    def plan(self, code_root: str, limits: Limits = LIMITS, layers: Sequence[str] = (),
             image: Optional[str] = None, cgroups: Optional[CaseCgroups] = None) -> CasePlan:
        """The containment of a case whose code is at ``code_root`` (a host folder), with
        its runtime's ``limits`` (processes, /tmp), ``layers`` (host folders seen under
        /opt) and ``image`` (the runtime's provisioned libraries, a host folder, mounted
        read-only at IMAGE). ``cgroups``: the case's, set aside for it (reserve_cgroups),
        else taken from the pool. Raises InstanceError when ``strict`` cannot be honoured
        here."""
        machine = self.machine()
        chosen = isolation_for(machine, self.requested)
        if chosen is None:
            raise InstanceError(
                _("--isolation strict: this case cannot be contained here ({why})").format(why=machine.why),
                hint=_("`scftest doctor` says what this machine gives; without --isolation strict "
                       "the case runs as a plain process, labelled in every report"))
        cgroups = cgroups if cgroups is not None else self._cgroups(machine, limits)
        if chosen == PROCESS:
            self._harden_runner()
            instance = {"isolation": PROCESS, "cgroups": cgroups.procs_files}
            # No /opt of its own: the layers go on sys.path where they are, the last
            # first, so a later layer's module wins (folders they share do not merge).
            layer_path = [str(layer) for layer in reversed(layers)]
            return CasePlan(PROCESS, instance, code_root, {}, cgroups, self, layer_path,
                            str(image) if image else None)
        has_code = os.path.isdir(code_root)
        instance = instance_plan(code_root, self._hidden_folders(), machine.function_user,
                                 machine.userns, cgroups.procs_files, limits, layers, image)
        inside = CODE_ROOT if has_code else code_root  # a missing root is reported as such
        environment = {"TMPDIR": TMP}  # HOME is /home/qcloud, as in the cloud (scf/environment.py)
        return CasePlan(NAMESPACE, instance, inside, environment, cgroups, self, [OPT],
                        IMAGE if image else None)

    def code_folder(self, code_root: str) -> str:
        """The real path of a function's code folder (what plan() is given and an instance
        mounts at /var/user), resolved once per run: cases of a function share it, and
        resolving takes a stat per path component (0.1 to 0.2 ms a case here). A folder a
        handler renames or replaces meanwhile does not move a later case elsewhere."""
        with self._lock:
            found = self._code_folders.get(code_root)
        if found is None:
            found = str(Path(code_root).resolve())
            with self._lock:
                found = self._code_folders.setdefault(code_root, found)
        return found

    def common_fs(self, limits: Limits = LIMITS) -> dict:
        """common_fs() of this run's plans with ``limits``."""
        return common_fs(self._hidden_folders(), limits)

    def _hidden_folders(self) -> List[str]:
        """hidden_folders(), found once per run (a realpath and two stats a case otherwise)."""
        with self._lock:
            if self._hidden is None:
                self._hidden = hidden_folders()
            return list(self._hidden)

    def _cgroups(self, machine: MachineIsolation, limits: Limits) -> CaseCgroups:
        with self._lock:
            free = self._free.get(limits.processes)
            if free:
                return free.pop()
        name = f"{CASE_PREFIX}{os.getpid()}-{next(self._counter)}"
        return CaseCgroups.make(machine.cgroup_bases, name, limits)

    def reserve_cgroups(self, limits: Limits = LIMITS) -> Optional[CaseCgroups]:
        """Cgroups set aside for a case to come (the fork-server's standby joins them
        ahead: forkserver.py), from the pool; None where cases get none."""
        machine = self.machine()
        if not machine.cgroup_bases:
            return None
        cgroups = self._cgroups(machine, limits)
        if not cgroups.listed:
            cgroups.remove()
            return None
        return cgroups

    def recycle(self, cgroups: CaseCgroups, emptied: bool = False) -> None:
        """An ended case's cgroups: kept for a later case if they are all there and list
        no process (a fresh cgroup's state: the memory figures read are the processes'
        own, which are gone), else removed. ``emptied``: the list was just read empty
        (no process is left to join them: none is read again)."""
        limit = cgroups.processes_limit
        if (limit is None or self._machine is None
                or set(cgroups.folders) != set(self._machine.cgroup_bases)
                or (not emptied and cgroups.members())):
            cgroups.remove()
            return
        with self._lock:
            self._free.setdefault(limit, []).append(cgroups)

    def _harden_runner(self) -> None:
        """For plain processes (see harden_runner), once per run."""
        with self._lock:
            if self._hardened:
                return
            self._hardened = True
        harden_runner()

    def spawned(self, pid: int, cgroup_procs: Sequence[str] = ()) -> None:
        """A case's bootstrap started (its own process group): the keeper watches it."""
        with self._lock:
            self._bootstraps.add(pid)
        self._keeper.watch(pid, cgroup_procs)

    def reaped(self, pid: int) -> None:
        with self._lock:
            self._bootstraps.discard(pid)
        self._keeper.release(pid)

    def close(self) -> None:
        """The run is over: every case's end is waited for, the kept cgroups go, and the
        keeper ends (it has nothing left to watch)."""
        try:
            self.reaper.close()
            with self._lock:
                kept = [cgroups for free in self._free.values() for cgroups in free]
                self._free.clear()
            for cgroups in kept:
                cgroups.remove()
        finally:
            self._keeper.close()

    def sweep(self) -> List[int]:
        """Kills and reaps the orphans that came back to the runner (a child subreaper):
        its children that are neither one of its bootstraps nor in its own session
        (the runner's other helpers, compilers and probes, are); returns their pids."""
        if not self._hardened:
            return []
        me, session = os.getpid(), os.getsid(0)
        with self._lock:
            bootstraps = set(self._bootstraps)
        strays = [pid for pid, (ppid, _, sid, _) in _children_of(me).items()
                  if ppid == me and sid != session and pid not in bootstraps and pid != self._keeper.pid]
        for pid in strays:
            _signal(pid)
        for pid in strays:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        return strays


def _children_of(pid: int) -> Dict[int, Tuple[int, int, int, int]]:
    """scan_processes() for ``pid``'s children alone (the whole machine where the kernel
    cannot list a process's children)."""
    listed = children(pid)
    if listed is None:
        return scan_processes()
    found = {}
    for child in listed:
        stat = read_stat(child)
        if stat is not None:
            found[child] = (stat.ppid, stat.pgrp, stat.session, stat.start_time)
    return found


PR_GET_DUMPABLE, PR_SET_DUMPABLE, PR_SET_CHILD_SUBREAPER, PR_GET_CHILD_SUBREAPER = 3, 4, 36, 37


def harden_runner() -> Dict[str, str]:
    """Makes this process (the runner, for plain processes) a child subreaper, so orphans
    come back to it (it kills them after each case), and non-dumpable, so its /proc
    entries (its environment) are closed to processes without CAP_SYS_PTRACE. Returns
    what it could not do: {"child subreaper" | "non-dumpable": why}; both are read back."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        prctl = libc.prctl
    except (ImportError, OSError, AttributeError) as exc:
        reason = _("prctl(2) cannot be called here ({error})").format(error=exc)
        return {"child subreaper": reason, "non-dumpable": reason}
    missing = {}
    subreaper = ctypes.c_int(0)
    if prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0 or prctl(
            PR_GET_CHILD_SUBREAPER, ctypes.byref(subreaper), 0, 0, 0) != 0 or subreaper.value != 1:
        missing["child subreaper"] = f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}"
    if prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 or prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 0:
        missing["non-dumpable"] = f"prctl(PR_SET_DUMPABLE): {os.strerror(ctypes.get_errno())}"
    return missing


# ---------------------------------------------------------------------------------------
# scftest doctor: each mitigation, tried for real.

def mitigations(machine: MachineIsolation, requested: str = "auto",
                python: Optional[str] = None) -> List[Finding]:
    """Each mitigation a case gets here in the isolation ``requested`` leads to, tried
    for real (this process takes the runner's hardening; the bootstrap is compiled and
    sealed; a plain process's bootstrap is started and reports its settings), with the
    reason for each one this machine cannot give."""
    from scftest.instance.bootstrap import seal_problem

    python = python or sys.executable
    chosen = isolation_for(machine, requested)
    kinds = "mount, pid, ipc, uts" + (", user" if machine.userns else "")
    findings = [Finding(_("namespaces"), kinds if machine.namespaces else _("none"),
                        _("an instance was made and held: code read-only, /tmp private, no "
                          "capabilities") if machine.namespaces else machine.why)]
    given = [c for c in CONTROLLERS if c in machine.cgroup_bases]
    why = _("; ").join([_("{controller} under {folder}").format(controller=c, folder=machine.cgroup_bases[c])
                        for c in given]
                       + [_("no {controller}: {why}").format(controller=c, why=machine.cgroup_why.get(
                           c, _("not looked for"))) for c in CONTROLLERS if c not in given])
    findings.append(Finding("cgroups", ", ".join(given) or _("none"), why))
    problem = seal_problem(python)
    findings.append(Finding(
        _("sealed bootstrap"), _("no") if problem else _("yes"),
        _("the bootstrap file is run from disk: {problem}").format(problem=problem) if problem else
        _("compiled once per run by each interpreter, handed to every case as a sealed "
          "in-memory file (memfd): nothing a handler writes changes what later cases run")))
    if chosen == NAMESPACE:
        findings += [
            Finding(_("parent-death signal"), _("on the instance's init"),
                    _("when the bootstrap ends, init dies and the kernel ends every process "
                      "of the namespace (the instance is not made without it)")),
            Finding(_("child subreaper"), _("not needed"),
                    _("orphans stay in the case's pid namespace: its init reaps them, and they end with it")),
            Finding(_("non-dumpable"), _("the instance's init"),
                    _("the function cannot open init's /proc entries, and the runner is not in "
                      "the function's /proc at all"))]
    else:
        findings += _process_mitigations(python)
    return findings


def _process_mitigations(python: str) -> List[Finding]:
    """A plain process's: the runner's hardening, and what its bootstrap reports."""
    runner = harden_runner()
    report, error = _run_probe(python, {"isolation": PROCESS, "cgroups": []})
    settings = (report or {}).get("prctl", {})

    def child(name: str, key: str, wanted: int) -> str:
        if report is None:
            return _("the bootstrap could not set it: {error}").format(error=error)
        return "" if settings.get(key) == wanted else _("the bootstrap reports {key} = {value}").format(
            key=key, value=settings.get(key))

    def finding(name: str, state: str, why: str, problems: Sequence[str]) -> Finding:
        problems = [p for p in problems if p]
        return Finding(name, _("no") if problems else state, _("; ").join(problems) or why)

    # ``runner``'s keys ("child subreaper", "non-dumpable") are harden_runner's own: never shown.
    return [
        finding(_("parent-death signal"), _("on the function's process"),
                _("SIGKILL when the runner dies"), [child("pdeathsig", "pdeathsig", signal.SIGKILL)]),
        finding(_("child subreaper"), _("the runner and the bootstrap"),
                _("orphans come back to them, and are killed after the case"),
                [runner.get("child subreaper", ""), child("subreaper", "subreaper", 1)]),
        finding(_("non-dumpable"), _("the runner and the function's process"),
                _("their /proc entries (the environment) are closed to processes without "
                  "CAP_SYS_PTRACE"), [runner.get("non-dumpable", ""), child("dumpable", "dumpable", 0)]),
        finding("no_new_privs", _("on the function's process"),
                _("no setuid program or file capability gives privileges back"),
                [child("no_new_privs", "no_new_privs", 1)]),
    ]
