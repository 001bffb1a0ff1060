# Handlers that read trigger events the way real ones do (Python 2.7 and 3.x alike).
import base64
import gzip
import io
import json


def cls_handler(event, context):
    # CLS: clslogs.data is base64 of a gzip stream of the JSON log batch.
    raw = base64.b64decode(event["clslogs"]["data"])
    batch = json.loads(gzip.GzipFile(fileobj=io.BytesIO(raw)).read().decode("utf-8"))
    for record in batch["records"]:
        print("%s %s" % (record["timestamp"], record["content"]))
    return {"topic": batch["topic_name"], "contents": [r["content"] for r in batch["records"]]}


def cos_handler(event, context):
    obj = event["Records"][0]["cos"]["cosObject"]
    return {"kilobytes": obj["size"] // 1024, "region": event["Records"][0]["cos"]["cosBucket"]["cosRegion"]}


def cmq_handler(event, context):
    return event["Records"][0]["CMQ"]["msgTag"].split(",")


def url_handler(event, context):
    return {"ip": event["headers"]["x-scf-remote-addr"], "item": json.loads(event["body"])["item"]}
