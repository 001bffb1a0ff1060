# -*- coding: utf-8 -*-
# One function, run on every runtime SCF offers (suites/runtimes.yaml): where the runtimes'
# bootstraps differ, the cases show it.
import io
import logging
import os

logger = logging.getLogger()   # no setLevel, no handler of its own: as many real handlers


def main_handler(event, context):
    logger.info("order %s received", event.get("order"))
    logger.warning("stock is low")
    return {"order": event.get("order"), "module": __name__}


def render(event, context):
    # open() without an encoding, as real handlers read their templates: UTF-8 in the cloud.
    with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates", "greeting.txt")) as handle:
        text = handle.read()
    if isinstance(text, bytes):  # Python 2.7: open() gives bytes
        text = text.decode("utf-8")
    return text.strip().replace(u"{name}", event["name"])
