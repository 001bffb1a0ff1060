# -*- coding: utf8 -*-
# The function from SCF's own Python page: prints the event and context, returns a greeting.
import json
import logging

logger = logging.getLogger()
logger.setLevel(logging.INFO)


def main_handler(event, context):
    print("Received event: " + json.dumps(event, indent=2))
    print("Received context: " + str(context))
    logger.info("greeting %s", event.get("name", "World"))
    return "Hello %s" % event.get("name", "World")


def whoami(event, context):
    """Reports what the runtime handed over, so suites can check the emulation itself."""
    import os
    return {
        "memory_limit_in_mb": context["memory_limit_in_mb"],
        "time_limit_in_ms": context["time_limit_in_ms"],
        "namespace": context["namespace"],
        "function_version": context["function_version"],
        "stage": os.environ.get("STAGE"),
        "runenv": os.environ.get("TENCENTCLOUD_RUNENV"),
        "cwd_is_code_root": os.getcwd().rstrip("/") == os.environ["USER_CODE_ROOT"].rstrip("/"),
    }
