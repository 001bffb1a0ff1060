"""Trigger templates, how they are delivered, and deep merge."""

import base64
import gzip
import json

import pytest

from scftest.scf import triggers as events

TEMPLATES = ["apigateway", "ckafka", "clb", "cls", "cmq", "cos_delete", "cos_post", "cos_put", "eventbridge",
             "function_url", "mps", "timer"]


def test_names_lists_templates_and_aliases():
    assert events.names() == sorted(TEMPLATES + ["cos"])
    assert all(events.describe(name) for name in events.names())


def test_load_returns_a_fresh_copy():
    first = events.load("timer")
    first["Type"] = "changed"
    assert events.load("timer")["Type"] == "Timer"


def test_unknown_trigger_names_the_templates():
    with pytest.raises(events.UnknownTrigger) as info:
        events.load("sqs")
    assert isinstance(info.value, KeyError)
    assert str(info.value).startswith("unknown trigger 'sqs'; the templates are: apigateway")
    with pytest.raises(KeyError):
        events.load("../events/timer")


def test_apigateway_is_shaped_like_real_requests():
    event = events.load("apigateway")
    assert set(event["requestContext"]) == {"serviceId", "path", "httpMethod", "identity", "sourceIp", "stage"}
    assert event["requestContext"]["identity"] == {}  # no auth configured
    headers = event["headers"]
    assert all(name == name.lower() for name in headers)
    assert headers["requestsource"] == "APIGW" and headers["x-api-scheme"] == "https"
    assert headers["x-api-requestid"] == headers["x-b3-traceid"]
    assert event["httpMethod"] == event["requestContext"]["httpMethod"] == "GET"
    assert "body" not in event  # a GET carries none
    for key in ("pathParameters", "queryStringParameters", "headerParameters", "queryString"):
        assert isinstance(event[key], dict), key
    assert event["isBase64Encoded"] is False


def test_timer_shape():
    assert set(events.load("timer")) == {"Type", "TriggerName", "Time", "Message"}


@pytest.mark.parametrize("name, event_name", [
    ("cos", "cos:ObjectCreated:Put"), ("cos_put", "cos:ObjectCreated:Put"),
    ("cos_post", "cos:ObjectCreated:Post"), ("cos_delete", "cos:ObjectRemove:Delete"),
])
def test_cos_shape(name, event_name):
    record = events.load(name)["Records"][0]
    assert record["event"]["eventName"] == event_name
    assert record["event"]["eventSource"] == "qcs::cos"
    assert set(record["cos"]["cosObject"]) == {"url", "meta", "vid", "key", "size"}
    assert type(record["cos"]["cosObject"]["size"]) is int
    assert set(record["cos"]["cosBucket"]) == {"region", "name", "appid", "cosRegion", "s3Region"}
    if name != "cos_delete":
        assert {"ETag", "x-cos-storage-class", "Content-Type"} <= set(record["cos"]["cosObject"]["meta"])
    for key in ("eventVersion", "eventTime", "requestParameters", "eventQueue",
                "reservedInfo", "reqid"):
        assert key in record["event"]


def test_cmq_and_ckafka_shapes():
    cmq = events.load("cmq")["Records"][0]["CMQ"]
    assert cmq["type"] == "topic"
    assert {"topicOwner", "topicName", "subscriptionName", "publishTime", "msgId",
            "requestId", "msgBody", "msgTag"} <= set(cmq)
    assert cmq["msgTag"] == "paid,web"  # a string of comma-separated tags, as real events carry it
    for record in events.load("ckafka")["Records"]:
        assert set(record["Ckafka"]) == {"topic", "partition", "offset", "msgKey", "msgBody"}


def test_deep_merge_mappings_recursively_everything_else_replaces():
    base = {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x"}
    override = {"a": {"c": [3], "d": None, "g": 2}, "f": {"now": "a mapping"}}
    merged = events.deep_merge(base, override)
    assert merged == {"a": {"b": 1, "c": [3], "d": None, "g": 2}, "f": {"now": "a mapping"}}
    assert base == {"a": {"b": 1, "c": [1, 2], "d": {"e": 1}}, "f": "x"}  # untouched
    merged["a"]["c"].append(9)
    assert override["a"]["c"] == [3]  # no shared parts either


def test_deep_merge_over_a_template():
    event = events.deep_merge(events.load("apigateway"),
                              {"httpMethod": "POST", "headers": {"x-trace": "1"}})
    assert event["httpMethod"] == "POST"
    assert event["headers"]["x-trace"] == "1" and "host" in event["headers"]


def test_deep_merge_non_mappings():
    assert events.deep_merge({"a": 1}, [1]) == [1]
    assert events.deep_merge([1], {"a": 1}) == {"a": 1}
    assert events.deep_merge({"a": 1}, None) is None


def test_every_template_has_a_description_and_a_source():
    for name in TEMPLATES:
        assert events.describe(name) and events.SOURCES[name], name


def test_cls_template_is_the_decoded_batch_and_is_delivered_encoded():
    batch = events.load("cls")
    assert set(batch) == {"topic_id", "topic_name", "records"}
    assert all(set(r) == {"timestamp", "content"} and r["timestamp"].isdigit() for r in batch["records"])
    delivered = events.deliver("cls", batch)
    assert list(delivered) == ["clslogs"] and list(delivered["clslogs"]) == ["data"]
    data = base64.b64decode(delivered["clslogs"]["data"], validate=True)
    assert data[:2] == b"\x1f\x8b"  # a gzip stream, as CLS sends
    assert json.loads(gzip.decompress(data).decode("utf-8")) == batch
    assert events.deliver("cls", batch) == delivered  # the same batch, the same text


def test_cls_records_written_plainly():
    delivered = events.deliver("cls", {"topic_name": "t", "records": [
        "GET / 200", {"content": {"status": 500, "path": "/x"}}, {"timestamp": 1605578090000009, "content": "z"}]})
    batch = json.loads(gzip.decompress(base64.b64decode(delivered["clslogs"]["data"])))
    assert batch["records"] == [
        {"timestamp": "1605578090000000", "content": "GET / 200"},
        {"timestamp": "1605578090000001", "content": '{"status": 500, "path": "/x"}'},
        {"timestamp": "1605578090000009", "content": "z"},
    ]


@pytest.mark.parametrize("event, message", [
    ({"clslogs": {"data": "x"}}, "leave out trigger: cls"),
    ({"records": "one line"}, "records must be a list"),
    ({"records": [3]}, "records[0] must be a line of text"),
    ({"records": [{"content": 3}]}, "records[0].content must be text"),
    (["a"], "a mapping of topic_id, topic_name and records"),
])
def test_cls_batch_errors(event, message):
    with pytest.raises(events.TriggerError) as info:
        events.deliver("cls", event)
    assert message in str(info.value)


def test_other_templates_are_delivered_as_written():
    for name in TEMPLATES:
        if name != "cls":
            assert events.deliver(name, events.load(name)) == events.load(name)


def test_clb_mps_eventbridge_function_url_shapes():
    clb = events.load("clb")
    assert set(clb) == {"headers", "payload", "isBase64Encoded"} and clb["isBase64Encoded"] is False
    assert {"X-Stgw-Time", "X-Real-IP", "X-Forwarded-For", "X-Vip", "X-Uri", "X-Method"} <= set(clb["headers"])
    mps = events.load("mps")
    assert mps["EventType"] == "WorkflowTask"
    task = mps["WorkflowTaskEvent"]
    assert task["Status"] == "FINISH" and task["MediaProcessResultSet"][0]["Type"] == "Transcode"
    eb = events.load("eventbridge")
    assert {"specversion", "id", "type", "source", "subject", "time", "region", "datacontenttype", "data"} == set(eb)
    assert eb["specversion"] == "1.0" and isinstance(eb["data"], dict)
    url = events.load("function_url")
    assert set(url) == {"body", "headers", "httpMethod", "path", "queryString"}
    assert all(name == name.lower() for name in url["headers"]) and "x-scf-remote-addr" in url["headers"]
    assert url["headers"]["content-length"] == str(len(url["body"].encode("utf-8")))
