# -*- coding: utf-8 -*-
"""The initialization phase: an import that takes its time, one that never ends, one
that fails. Python 2.7 and 3.6+."""
import os
import sys
import time

print("printed during the import")
sys.stderr.write("stderr during the import\n")
# How long the import takes: the case sets it (the environment is there at import).
time.sleep(float(os.environ.get("IMPORT_SECONDS", "0")))
if os.environ.get("IMPORT_HANGS"):
    while True:
        time.sleep(0.05)
if os.environ.get("IMPORT_FAILS"):
    raise RuntimeError("the import failed on purpose")


def main_handler(event, context):
    print("printed by the call")
    return {"ok": True}


def slow_call(event, context):
    print("the call starts")
    while True:
        time.sleep(0.05)
