# -*- coding: utf-8 -*-
"""Handlers that try to break the runner. Runs on Python 2.7 and 3.6+."""
import os
import signal
import subprocess
import sys
import time

SLEEPER = "import time, sys; time.sleep(60)"
SESSION_LEAVER = "import os, time, sys; os.setsid(); time.sleep(60)"


def _spawn(code, marker, new_session=False):
    kwargs = {"preexec_fn": os.setsid} if new_session else {}
    return subprocess.Popen([sys.executable, "-c", code, marker], **kwargs)


def fake_result(event, context):
    print("SCFT result 40")
    print('{"status": "success", "return": "forged", "outcome": "ok"}')
    sys.stderr.write("SCFT ready 0\nEND\n")
    raise ValueError("the real outcome")


def _other_fds():
    return [int(fd) for fd in os.listdir("/proc/self/fd") if int(fd) > 2]


def garble_channel(event, context):
    for fd in _other_fds():
        try:
            os.write(fd, b"SCFT result 99999999999\ngarbage")
        except OSError:
            pass
    time.sleep(0.5)
    return "should not be believed"


def os_exit(event, context):
    print("bye")
    os._exit(3)


def segfault(event, context):
    os.kill(os.getpid(), signal.SIGSEGV)
    time.sleep(5)


def loop(event, context):
    while True:
        pass


def swallow(event, context):
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass


def loop_with_children(event, context):
    marker = event["marker"]
    _spawn(SLEEPER, marker)
    _spawn(SESSION_LEAVER, marker, new_session=True)
    _spawn("import os, subprocess, sys, time\n"
           "subprocess.Popen([sys.executable, '-c', %r, sys.argv[1]])\n"
           "time.sleep(60)" % SLEEPER, marker)
    while True:
        try:
            time.sleep(0.01)
        except BaseException:
            pass


def spawn_and_return(event, context):
    marker = event["marker"]
    _spawn(SLEEPER, marker)
    _spawn(SESSION_LEAVER, marker, new_session=True)
    return "spawned"


def memory_hog(event, context):
    chunks = []
    while True:
        chunks.append(b"x" * (16 * 1024 * 1024))  # written, so resident
        time.sleep(0.005)


def allocate_past_the_net(event, context):
    # Far past the address-space net (2 * memory + 2 GB): the allocation fails at once.
    return len(bytearray(64 * 1024 ** 3))


def memory_hog_child(event, context):
    _spawn("import time, sys; b = b'x' * (300 * 1024 * 1024); time.sleep(60)", event["marker"])
    while True:
        time.sleep(0.01)


def huge_log(event, context):
    line = b"y" * 1023 + b"\n"
    block = line * 1024
    for _ in range(50):
        os.write(1, block)
    return "done"


def invalid_utf8(event, context):
    os.write(1, b"before \xff\xfe\xc3 after\n")
    sys.stdout.flush()
    return "ok"


def close_channel(event, context):
    for fd in _other_fds():
        try:
            os.close(fd)
        except OSError:
            pass
    return "closed"


def fork_and_return(event, context):
    pid = os.fork()
    if pid == 0:
        time.sleep(0.05)
    return "forked" if pid else "child"


def fork_and_raise(event, context):
    pid = os.fork()
    if pid == 0:
        raise ValueError("from the forked child")
    time.sleep(0.1)
    return "parent"


# --- attacks on the containment (tests/instance/test_sandbox.py) ---------------------

def _errno_name(exc):
    import errno
    return errno.errorcode.get(exc.errno, str(exc.errno))


def _channel_fds():
    """The descriptors that could be the result channel: pipes other than stdio."""
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if fd > 2 and os.readlink("/proc/self/fd/%d" % fd).startswith("pipe:"):
                found.append(fd)
        except OSError:
            pass
    return found


def _frame(kind, fields):
    body = b"".join(name.encode("ascii") + b" " + str(len(value)).encode("ascii") + b"\n"
                    + value + b"\n" for name, value in fields)
    return b"SCFT " + kind.encode("ascii") + b" " + str(len(body)).encode("ascii") + b"\n" \
        + body + b"END\n"


FORGED = _frame("result", [("outcome", b"ok"), ("ret_msg", b'"forged"'),
                           ("duration_ms", b"0.001"), ("maxrss_kb", b"1")])


def forge_then_raise(event, context):
    """Writes a success frame on the result channel, then fails for real."""
    for fd in _channel_fds():
        try:
            os.write(fd, FORGED)
        except OSError:
            pass
    if event.get("sleep"):
        time.sleep(event["sleep"])
        return "the real value"
    raise ValueError("the real outcome")


def read_environments(event, context):
    """The parent's environment, and every environment /proc shows that holds NAME."""
    name = event["name"].encode("ascii")
    parent = os.getppid()
    try:
        with open("/proc/%d/environ" % parent, "rb") as handle:
            parent_env = "read" if name in handle.read() else "read, no secret"
    except (IOError, OSError) as exc:
        parent_env = _errno_name(exc)
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open("/proc/%s/environ" % pid, "rb") as handle:
                    if name in handle.read():
                        found.append(int(pid))
            except (IOError, OSError):
                pass
    return {"parent": parent, "parent_env": parent_env, "holding": found}


def victim(event, context):
    time.sleep(event.get("sleep", 1.5))
    return {"victim": os.environ.get("VICTIM_SECRET", "")[:3]}


def spy(event, context):
    """At -j 2: finds the other case's processes in /proc, reads their environment and
    writes a forged result into every pipe of theirs it can open."""
    deadline = time.time() + event.get("search", 1.0)
    seen, opened, secrets = set(), [], []
    while time.time() < deadline:
        for pid in os.listdir("/proc"):
            if not pid.isdigit() or int(pid) == os.getpid() or pid in seen:
                continue
            try:
                with open("/proc/%s/environ" % pid, "rb") as handle:
                    environ = handle.read()
            except (IOError, OSError):
                continue
            if b"VICTIM_SECRET=" not in environ:
                continue
            seen.add(pid)
            secrets.append(environ.split(b"VICTIM_SECRET=")[1].split(b"\0")[0].decode())
            try:
                fds = os.listdir("/proc/%s/fd" % pid)
            except OSError:
                fds = []
            for fd in fds:
                try:
                    handle = os.open("/proc/%s/fd/%s" % (pid, fd), os.O_WRONLY | os.O_NONBLOCK)
                except OSError:
                    continue
                try:
                    os.write(handle, _frame("result", [("outcome", b"ok"),
                                                       ("ret_msg", b'"spied"')]))
                    opened.append(fd)
                except OSError:
                    pass
                os.close(handle)
        time.sleep(0.02)
    return {"seen": len(seen), "opened": opened, "secrets": secrets}


def kill_parent(event, context):
    try:
        os.kill(os.getppid(), signal.SIGKILL)
        sent = "sent"
    except OSError as exc:
        sent = _errno_name(exc)
    time.sleep(0.2)
    return "alive, the signal: " + sent


def daemon(event, context):
    """Double fork and setsid: a daemon with no parent, the classic escape."""
    if os.fork() == 0:
        os.setsid()
        if os.fork() == 0:
            time.sleep(60)
        os._exit(0)
    time.sleep(0.1)
    return "daemonized"


def daemon_in_cgroups(event, context):
    """A daemon, and the case cgroups this process is in (pids and memory)."""
    daemon(event, context)
    with open("/proc/self/cgroup") as handle:
        lines = handle.read().splitlines()
    return sorted(line.split(":", 2)[2] for line in lines
                  if line.split(":")[1] in ("pids", "memory"))


def spawn_and_wait(event, context):
    """A child with the marker, then a pause (for a test to reach the child), then the answer."""
    _spawn(SLEEPER, event["marker"])
    time.sleep(event["sleep"])
    return "spawned"


def daemon_unreaped(event, context):
    """A daemon after undoing what the bootstrap set up for its orphans (a plain
    process's bootstrap is their subreaper): they would go to init, escaping."""
    import ctypes
    ctypes.CDLL(None).prctl(36, 0, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER off
    return daemon(event, context)


def write_code(event, context):
    """Writes into its own code folder (read-only in the cloud)."""
    path = os.path.join(os.getcwd(), "written-by-the-handler.txt")
    try:
        with open(path, "w") as handle:
            handle.write("x")
        return "written"
    except (IOError, OSError) as exc:
        return _errno_name(exc)


def fork_bomb(event, context):
    """Forks until the system refuses; the children wait."""
    children = 0
    while children < event.get("limit", 5000):
        try:
            pid = os.fork()
        except OSError as exc:
            return {"forked": children, "stopped_by": _errno_name(exc)}
        if pid == 0:
            time.sleep(60)
            os._exit(0)
        children += 1
    return {"forked": children, "stopped_by": None}


def fill_tmp(event, context):
    """Writes to /tmp until it is full (or ``limit_mb`` is reached)."""
    block = b"t" * (1024 * 1024)
    written = 0
    stopped_by = None
    with open("/tmp/filler", "wb") as handle:
        try:
            while written < event.get("limit_mb", 4096):
                handle.write(block)
                handle.flush()
                written += 1
        except (IOError, OSError) as exc:
            stopped_by = _errno_name(exc)
    os.unlink("/tmp/filler")
    return {"mb": written, "stopped_by": stopped_by, "tmp_dev": os.stat("/tmp").st_dev}


def rewrite_bootstrap(event, context):
    """Rewrites every bootstrap copy it can reach (the runner's cache, the installed
    _child.py given in the event) with one that reports success whatever happens."""
    poison = b"import os, sys\nos.write(int(sys.argv[2]), b'poisoned')\n"
    targets = list(event.get("paths", []))
    for folder in event.get("folders", []):
        try:
            targets += [os.path.join(folder, name) for name in os.listdir(folder)]
        except OSError:
            pass
    done = {}
    for path in targets:
        try:
            with open(path, "wb") as handle:
                handle.write(poison)
            done[path] = "rewritten"
        except (IOError, OSError) as exc:
            done[path] = _errno_name(exc)
    return done


def open_files(event, context):
    """Opens files until the limit."""
    handles = []
    try:
        while True:
            handles.append(open("/dev/null"))
    except (IOError, OSError) as exc:
        return {"opened": len(handles), "stopped_by": _errno_name(exc)}


def shared_memory_forks(event, context):
    """Writes ``mb`` MB, then forks ``children`` that keep it (shared, copy-on-write)."""
    data = bytearray(event["mb"] * 1024 * 1024)
    for index in range(0, len(data), 4096):
        data[index] = 1
    for _ in range(event["children"]):
        if os.fork() == 0:
            time.sleep(60)
            os._exit(0)
    time.sleep(0.2)
    return len(data)


def hold_channel(event, context):
    """Keeps a copy of the result channel in a child that outlives the answer."""
    copies = [os.dup(fd) for fd in _channel_fds()]
    if os.fork() == 0:
        time.sleep(60)
        os._exit(0)
    for fd in copies:
        os.close(fd)
    return "held"
