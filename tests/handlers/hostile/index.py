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
