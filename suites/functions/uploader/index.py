# -*- coding: utf8 -*-
"""Uploads a file to COS with the credentials of the function's execution role, as real
SCF handlers do (the platform sets TENCENTCLOUD_SECRETID / _SECRETKEY / _SESSIONTOKEN
when the function has a role). The upload itself is left out: this example has no
network."""

import importlib
import os


def main_handler(event, context):
    secret_id = os.environ.get("TENCENTCLOUD_SECRETID")
    if not secret_id:
        raise RuntimeError("this function needs an execution role (no TENCENTCLOUD_SECRETID)")
    token = os.environ.get("TENCENTCLOUD_SESSIONTOKEN")
    print("uploading %s with key %s" % (event["key"], secret_id))
    return {"key": event["key"], "temporary_credentials": token is not None}



def export(event, context):
    # The format comes with the event: an unknown one has no module, which is an ImportError
    # on Python 2.7 and a ModuleNotFoundError (a kind of ImportError) on Python 3.6+.
    exporter = importlib.import_module("exporters." + event["format"])
    return exporter.export(event["rows"])
