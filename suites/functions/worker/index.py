# -*- coding: utf8 -*-
# Background work: queue consumers, timers, COS uploads, and the ways a function goes wrong.
import base64
import gzip
import io
import json
import os
import time


def enqueue(event, context):
    order = event.get("order", 0)
    print("order %d queued" % order)
    return {"queued": True, "order": order}


def on_timer(event, context):
    print("timer %s fired at %s" % (event["TriggerName"], event["Time"]))
    return {"trigger": event["Type"], "message": event.get("Message", "")}


def on_upload(event, context):
    keys = []
    for record in event["Records"]:
        keys.append(record["cos"]["cosObject"]["key"])
        print("%s %s" % (record["event"]["eventName"], record["cos"]["cosObject"]["key"]))
    return {"objects": keys}


def on_message(event, context):
    bodies = []
    for record in event["Records"]:
        message = record.get("CMQ") or record.get("Ckafka")
        bodies.append(message["msgBody"])
    return {"count": len(bodies), "bodies": bodies}


def on_logs(event, context):
    # CLS hands over its log batch as base64 of gzipped JSON.
    batch = json.loads(gzip.GzipFile(fileobj=io.BytesIO(base64.b64decode(event["clslogs"]["data"]))).read())
    errors = []
    for record in batch["records"]:
        try:
            fields = json.loads(record["content"])
        except ValueError:
            continue  # a plain text line
        if fields.get("status", 0) >= 500:
            errors.append(fields["path"])
    return {"lines": len(batch["records"]), "errors": errors}


def slow(event, context):
    time.sleep(event.get("seconds", 10))
    return "done"


def crash(event, context):
    print("about to exit")
    os._exit(3)


def secret_length(event, context):
    # Reads a secret passed with !env: scftest masks its value in every report.
    value = os.environ.get("API_TOKEN", "")
    print("token is %s" % value)
    return {"length": len(value), "path_given": "PATH" in os.environ}


def counts(event, context):
    return {"items": [{"id": 1, "n": 3}, {"id": 2, "n": 5}], "ratio": 2.0 / 3, "payload": json.dumps({"ok": True})}
