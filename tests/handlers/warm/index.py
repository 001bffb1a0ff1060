# -*- coding: utf-8 -*-
"""Handlers whose behaviour depends on what an earlier invocation of the same instance
left behind (tests/instance/test_warm.py). Python 2.7 and 3.6+."""
import binascii
import os
import sys
import time

print("importing the module")  # once per instance: the cold start's log only
IMPORTS = [time.time()]
CALLS = []
# Named once per instance: in process isolation /tmp is the host's, shared by every run.
TMP_FILE = "/tmp/scftest-warm-%s" % binascii.hexlify(os.urandom(8)).decode("ascii")


def remember(event, context):
    """Module state and /tmp as this invocation finds them, then adds to both."""
    CALLS.append(event.get("key"))
    seen_file = os.path.exists(TMP_FILE)
    with open(TMP_FILE, "a") as handle:
        handle.write("x")
    print("call %d for %s" % (len(CALLS), context["request_id"]))
    return {"calls": len(CALLS), "keys": list(CALLS), "tmp_seen": seen_file,
            "pid": os.getpid(), "request_id": context["request_id"]}


def misbehave(event, context):
    """What the event asks: sleep past the timeout, exit, grow memory, or just count."""
    CALLS.append(1)
    action = event.get("do")
    if action == "sleep":
        time.sleep(event.get("seconds", 10))
    elif action == "exit":
        os._exit(3)
    elif action == "grow":
        hold = [bytearray(1024 * 1024) for _ in range(event.get("mb", 400))]
        return len(hold)
    elif action == "raise":
        raise ValueError("asked to raise")
    elif action == "forge":  # a success frame on every pipe it holds, then the real work
        frame = b"SCFT result 32\noutcome 2\nok\nret_msg 8\n\"forged\"\nEND\n"
        for name in os.listdir("/proc/self/fd"):
            try:
                if int(name) > 2 and os.readlink("/proc/self/fd/" + name).startswith("pipe:"):
                    os.write(int(name), frame)
            except OSError:
                pass
        time.sleep(0.2)
    elif action == "alloc":
        global HELD
        HELD = bytearray(event["mb"] * 1024 * 1024)
        for i in range(0, len(HELD), 4096):
            HELD[i] = 1
    return {"calls": len(CALLS), "pid": os.getpid()}


def tag(event, context, seen=[]):  # noqa: B006 (the bug the suites/ example shows)
    """A mutable default: request state leaks into the next warm request."""
    seen.append(event["user"])
    sys.stdout.write("users so far: %s\n" % ",".join(seen))
    return {"user": event["user"], "seen": list(seen)}


def count(event, context):
    """The keys of the calls this instance has served, deterministic for --update."""
    CALLS.append(event.get("key"))
    return {"calls": len(CALLS), "keys": list(CALLS)}
