# -*- coding: utf-8 -*-
"""Returns what a handler can observe of the process it runs in (tests/instance/
test_forkserver.py compares it between a spawned and a forked process). Python 2.7 and 3."""
import gc
import os
import resource
import signal
import sys
import time


def _fds():
    """What 0, 1 and 2 are, and what the others are (their numbers are the runner's own)."""
    found = {}
    for name in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            target = os.readlink("/proc/self/fd/" + name)
        except OSError:
            continue  # the listing's own descriptor, closed by now
        found[int(name)] = target.split(":")[0] if ":" in target else target
    return {"std": [found.get(fd) for fd in (0, 1, 2)],
            "others": sorted(kind for fd, kind in found.items() if fd > 2)}


def _signals():
    handlers = {}
    for number in range(1, signal.NSIG):
        try:
            handler = signal.getsignal(number)
        except (ValueError, OSError):
            continue
        handlers[str(number)] = handler if handler in (signal.SIG_DFL, signal.SIG_IGN, None) else getattr(handler, "__name__", "python")
    return handlers


def _limits():
    return dict((name, list(resource.getrlimit(getattr(resource, name))))
                for name in dir(resource) if name.startswith("RLIMIT_"))


def _stream(stream):
    return {"encoding": stream.encoding, "errors": getattr(stream, "errors", None),
            "line_buffering": getattr(stream, "line_buffering", None),
            "isatty": stream.isatty(), "fileno": stream.fileno()}


def _proc(name):
    with open("/proc/self/" + name, "rb") as handle:
        return handle.read().split(b"\0")[:-1]


def _shown():
    """/proc/self/cmdline (without the per-case config path) and environ, as ps shows them."""
    cmdline = [part.decode("utf-8", "replace") for part in _proc("cmdline")]
    environ = sorted(entry.decode("utf-8", "replace") for entry in _proc("environ")
                     if not entry.startswith((b"HOME=", b"TMPDIR=")))
    orig = getattr(sys, "orig_argv", None)
    # After the script: the config and the channels' descriptor numbers, the runner's own.
    return {"cmdline": _script(cmdline[:6]) + [len(cmdline)], "environ": environ,
            "orig_argv": _script(orig[:6]) + [len(orig)] if orig else None}


def _processes():
    """In an instance (its own PID namespace: the function is pid 2 under its init), the
    processes it sees, and what each is (its parent, its /proc/N/cmdline's length); None
    as a plain process, whose pids are the host's."""
    if os.getpid() != 2:
        return None
    seen = []
    for name in sorted(os.listdir("/proc"), key=lambda n: int(n) if n.isdigit() else 0):
        if name.isdigit():
            with open("/proc/%s/stat" % name) as handle:
                ppid = int(handle.read().rsplit(")", 1)[1].split()[1])
            seen.append([int(name), ppid])
    return seen


def _capabilities():
    """This process's capability sets and no_new_privs (all empty, set)."""
    with open("/proc/self/status") as handle:
        return sorted(line.strip() for line in handle
                      if line.startswith(("Cap", "NoNewPrivs")))


def _mounts():
    """Mount point, per-mount options and type of each mount, in order (mountinfo)."""
    mounts = []
    with open("/proc/self/mountinfo") as handle:
        for line in handle:
            fields = line.split()
            dash = fields.index("-")
            mounts.append([fields[4], fields[5], fields[dash + 1]])
    return mounts


def _tmp_bytes():
    found = os.statvfs("/tmp")
    return found.f_blocks * found.f_frsize


def _script(argv):
    """The bootstrap's /proc/self/fd/N: N is the runner's, which differs between two
    backends of one test (one run has one)."""
    return [arg if not arg.startswith("/proc/self/fd/") else "/proc/self/fd/N" for arg in argv]


def main_handler(event, context):
    before = sorted(sys.modules)
    mask = os.umask(0)
    os.umask(mask)
    import random
    environment = dict(os.environ)
    for varying in ("HOME", "TMPDIR"):  # a plain process's HOME is a folder of its case
        environment.pop(varying, None)
    return {
        "modules": before,
        "random": random.random(),
        "hash": hash("scftest-observe"),
        "signals": _signals(),
        "environment": environment,
        "environment_order": list(environment),  # as the exec environment had them
        "tz": [time.timezone, time.altzone, time.daylight, list(time.tzname), time.strftime("%Z")],
        "cwd": os.getcwd(),
        "fds": _fds(),
        "limits": _limits(),
        "umask": mask,
        "flags": [getattr(sys.flags, name) for name in dir(sys.flags)
                  if not name.startswith("_") and not callable(getattr(sys.flags, name))],
        "argv": sys.argv,
        "path": sys.path,
        "stdout": _stream(sys.stdout),
        "stderr": _stream(sys.stderr),
        "encodings": [sys.getdefaultencoding(), sys.getfilesystemencoding()],
        "gc": [gc.isenabled(), list(gc.get_threshold())],
        "recursion": sys.getrecursionlimit(),
        "ids": [os.getuid(), os.getgid(), os.getpid() == os.getpgrp(), os.getpid() == os.getsid(0)],
        "name": __name__,
        "shown": _shown(),
        "processes": _processes(),
        "capabilities": _capabilities(),
        "mounts": _mounts(),
        "tmp_bytes": _tmp_bytes(),
        "main": sorted(k for k in vars(sys.modules["__main__"]) if not k.startswith("__"))[:5],
    }


def linger(event, context):
    """Runs for event["s"] seconds (a case whose processes a test counts meanwhile)."""
    time.sleep(event["s"])
    return "done"


def hold(event, context):
    """Holds event["mb"] MB while it returns (a memory figure to compare)."""
    data = bytearray(event["mb"] * 1024 * 1024)
    for i in range(0, len(data), 4096):
        data[i] = 1
    return len(data)
