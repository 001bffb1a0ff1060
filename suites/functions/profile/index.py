# -*- coding: utf-8 -*-
"""A profile API behind API Gateway: who is asking, and what they may do.

The database connection is opened once per instance and reused by warm starts, as SCF
functions usually do; the reply is built fresh for every request.
"""
import json
import time

CONNECTION = None  # module state: kept while the instance stays warm


def connect():
    global CONNECTION
    if CONNECTION is None:
        CONNECTION = {"opened_at": time.time(), "queries": 0}
        print("opened a database connection")
    CONNECTION["queries"] += 1
    return CONNECTION


def build_reply(user, roles=None):
    # A default of roles=[] would be one list for every call of the instance: an admin's
    # role would still be in it for the next request (the tutorial shows that bug).
    roles = list(roles or [])
    if user.get("admin"):
        roles.append("admin")
    return {"user": user["name"], "roles": roles}


def main_handler(event, context):
    user = json.loads(event.get("body") or "{}")
    connection = connect()
    reply = build_reply(user)
    reply["queries_on_connection"] = connection["queries"]
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"},
            "body": json.dumps(reply, sort_keys=True)}
