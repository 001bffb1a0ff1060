"""Trigger templates and deep merge."""

import pytest

from scftest.scf import triggers as events

TEMPLATES = ["apigateway", "ckafka", "cmq", "cos_delete", "cos_post", "cos_put", "timer"]


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


def test_apigateway_shape():
    event = events.load("apigateway")
    assert set(event["requestContext"]) == {"serviceId", "path", "httpMethod", "requestId",
                                            "identity", "sourceIp", "stage"}
    for key in ("headers", "pathParameters", "queryStringParameters", "headerParameters",
                "stageVariables", "queryString"):
        assert isinstance(event[key], dict), key
    assert isinstance(event["body"], str)
    assert event["httpMethod"] == event["requestContext"]["httpMethod"]


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
    assert set(record["cos"]["cosBucket"]) == {"region", "name", "appid"}
    for key in ("eventVersion", "eventTime", "requestParameters", "eventQueue",
                "reservedInfo", "reqid"):
        assert key in record["event"]


def test_cmq_and_ckafka_shapes():
    cmq = events.load("cmq")["Records"][0]["CMQ"]
    assert cmq["type"] == "topic"
    assert {"topicOwner", "topicName", "subscriptionName", "publishTime", "msgId",
            "requestId", "msgBody", "msgTag"} <= set(cmq)
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
