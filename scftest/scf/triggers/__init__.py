"""Built-in SCF trigger event templates (``trigger:`` in a case), stored as JSON files.

Each template is the event SCF hands the function, from Tencent's documentation or, where
published captures of real invocations differ from the documentation's samples, from the
captures (``SOURCES`` says which, per template; docs/triggers.md shows them to people). A
case's ``event`` is deep-merged over the template with ``deep_merge``; ``!replace`` before a
mapping or list takes the place of what the template holds there.

One template is not delivered as stored: ``cls``. CLS hands the function its log batch
gzipped and base64-encoded in ``clslogs.data``; ``cls.json`` (and so a case's ``event``)
holds the decoded batch, and ``deliver`` encodes it as CLS does, so a suite writes the log
records as plain YAML and a handler that decodes ``clslogs.data`` gets them back.
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping

from scftest.errors import ScftestError
from scftest.i18n import N_, _
from scftest.model import Replace

_FOLDER = Path(__file__).resolve().parent

ALIASES: Mapping[str, str] = {"cos": "cos_put"}

DESCRIPTIONS: Mapping[str, str] = {
    "apigateway": N_("API Gateway integration request (GET /orders/42)"),
    "timer": N_("timer trigger firing"),
    "cos_put": N_("COS object created by PUT"),
    "cos_post": N_("COS object created by POST (form upload)"),
    "cos_delete": N_("COS object deleted"),
    "cmq": N_("CMQ topic message"),
    "ckafka": N_("CKafka messages (two records)"),
    "cls": N_("CLS log batch (event: holds the decoded records; delivered gzipped and base64-encoded)"),
    "clb": N_("CLB load balancer request (POST /orders)"),
    "mps": N_("MPS media processing: a finished WorkflowTask (one transcode)"),
    "eventbridge": N_("EventBridge event (CloudEvents 1.0, a TDMQ message)"),
    "function_url": N_("Function URL request to an event function (POST /orders)"),
}

_TRIGGER_DOCS = "tencentyun/qcloud-documents, product/计算与网络/无服务器云函数/开发指南/触发器/"
SOURCES: Mapping[str, str] = {
    "apigateway": "published captures of real GET requests (lower-case headers with requestsource: APIGW "
                  "and x-api-scheme, identity {}, no body, no requestContext.requestId or stageVariables); "
                  "the keys are those of " + _TRIGGER_DOCS + "API 网关触发器/概述.md",
    "timer": _TRIGGER_DOCS + "触发器事件消息结构汇总.md",
    "cos_put": "published captures of real COS events (2022: size an integer, cosBucket with cosRegion and "
               "s3Region, meta with ETag and x-cos-storage-class); the keys are those of "
               + _TRIGGER_DOCS + "COS 触发器.md@0780735",
    "cos_post": "as cos_put, with the eventName of " + _TRIGGER_DOCS + "COS 触发器.md@0780735",
    "cos_delete": "as cos_put, with the eventName of " + _TRIGGER_DOCS + "COS 触发器.md@0780735 "
                  "(no capture of a delete's meta was found: it keeps the documentation's two keys)",
    "cmq": _TRIGGER_DOCS + "触发器事件消息结构汇总.md (msgTag is a string: \"tag1,tag2\")",
    "ckafka": _TRIGGER_DOCS + "触发器事件消息结构汇总.md",
    "cls": _TRIGGER_DOCS + "CLS触发器.md@039605f (the decoded batch: topic_id, topic_name, records of "
           "timestamp in microseconds and content); the encoding is gzip then base64, as Tencent's own "
           "CLS handler templates decode it",
    "clb": _TRIGGER_DOCS + "CLB 触发器.md@06f7a89; isBase64Encoded is written as a boolean, as real API "
           "Gateway events carry it, where the sample writes the text \"false\"",
    "mps": _TRIGGER_DOCS + "MPS触发器.md@535e8cd, with the first of its four results",
    "eventbridge": _TRIGGER_DOCS + "事件总线触发器/概述.md@07d3a18 and TDMQ 触发.md (its data); "
                   "'subject' and specversion 1.0 as CloudEvents 1.0 spells them, where the samples "
                   "write 'subjuect'; with batch delivery on, events arrive as {\"EventList\": [...]}",
    "function_url": "docs 583/96099 and 583/69491 (an event function's request: body, headers, httpMethod, "
                    "path, queryString; no requestContext, isBase64Encoded or *Parameters) with "
                    "x-scf-remote-addr, the client's address",
}

# CLS's timestamps are microseconds since 1970, as text.
_CLS_FIRST_TIMESTAMP = 1605578090000000


class UnknownTrigger(ScftestError, KeyError):
    """``load`` was given a name that is not a template."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else "unknown trigger"


class TriggerError(ScftestError, ValueError):
    """A case's event cannot be delivered as its trigger would deliver it; says why."""


def names() -> List[str]:
    """Every name ``load`` accepts, templates and aliases, sorted."""
    templates = [path.stem for path in _FOLDER.glob("*.json")]
    return sorted(set(templates) | set(ALIASES))


def describe(name: str) -> str:
    """A one-line description for listings (aliases say what they stand for)."""
    if name in ALIASES:
        target = ALIASES[name]
        return _("alias of {name}: {description}").format(name=target, description=_(DESCRIPTIONS[target])) \
            if target in DESCRIPTIONS else _("alias of {name}").format(name=target)
    return _(DESCRIPTIONS[name]) if name in DESCRIPTIONS else ""


def load(name: str) -> Dict[str, Any]:
    """A fresh copy of the template ``name`` (for ``cls``, the decoded batch); raises UnknownTrigger."""
    target = ALIASES.get(name, name)
    path = _FOLDER / f"{target}.json"
    if "/" in target or "\\" in target or not path.is_file():
        raise UnknownTrigger(
            f"unknown trigger {name!r}; the templates are: {', '.join(names())}")
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def encoded(name: str) -> bool:
    """Whether ``deliver`` turns the template's form into another (``cls``)."""
    return ALIASES.get(name, name) == "cls"


def deliver(name: str, event: Any) -> Any:
    """The event as trigger ``name`` hands it to the function, from the template's form
    (merged with the case's ``event``); raises TriggerError when it cannot be."""
    if encoded(name):
        return {"clslogs": {"data": encode_cls(_cls_batch(event))}}
    return event


def encode_cls(batch: Any) -> str:
    """base64 of gzip of the batch's JSON, as CLS delivers ``clslogs.data`` (mtime 0, so the
    same batch gives the same text every run)."""
    text = json.dumps(batch, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(gzip.compress(text, mtime=0)).decode("ascii")


def _cls_batch(event: Any) -> Dict[str, Any]:
    if not isinstance(event, Mapping):
        raise TriggerError("with trigger: cls, event: is the decoded log batch: a mapping of "
                           "topic_id, topic_name and records")
    if "clslogs" in event:
        raise TriggerError("with trigger: cls, event: is the decoded log batch (topic_id, topic_name, "
                           "records) and scftest encodes it into clslogs.data; to give clslogs.data "
                           "yourself, leave out trigger: cls")
    batch = dict(event)
    records = batch.get("records", [])
    if not isinstance(records, list):
        raise TriggerError("records must be a list of log records (text, or {timestamp, content})")
    batch["records"] = [_cls_record(record, index) for index, record in enumerate(records)]
    return batch


def _cls_record(record: Any, index: int) -> Dict[str, Any]:
    if isinstance(record, str):  # a bare line of log text
        return {"timestamp": str(_CLS_FIRST_TIMESTAMP + index), "content": record}
    if not isinstance(record, Mapping):
        raise TriggerError(f"records[{index}] must be a line of text or a mapping with timestamp and content")
    out = dict(record)
    content = out.get("content", "")
    if isinstance(content, (Mapping, list)):  # a structured log: CLS hands its fields over as JSON text
        out["content"] = json.dumps(content, ensure_ascii=False)
    elif not isinstance(content, str):
        raise TriggerError(f"records[{index}].content must be text, or a mapping scftest writes as JSON text")
    out.setdefault("timestamp", str(_CLS_FIRST_TIMESTAMP + index))
    if not isinstance(out["timestamp"], str):
        out["timestamp"] = str(out["timestamp"])  # CLS writes it as text
    return out


def deep_merge(base: Any, override: Any) -> Any:
    """``override`` over ``base``: mappings merge key by key, recursively; anything else
    (lists included) replaces, and so does a mapping marked ``!replace`` (``Replace``).
    Returns a new value without ``Replace`` marks; neither argument is modified."""
    if isinstance(base, Mapping) and isinstance(override, Mapping):
        merged = {key: copy.deepcopy(value) for key, value in base.items()}
        for key, value in override.items():
            merged[key] = deep_merge(merged[key], value) if key in merged else unmarked(value)
        return merged
    return unmarked(override)


def unmarked(value: Any) -> Any:
    """A copy of ``value`` with every ``!replace`` mark taken off (the value it marks stays)."""
    if isinstance(value, Replace):
        return unmarked(value.value)
    if isinstance(value, Mapping):
        return {key: unmarked(item) for key, item in value.items()}
    if isinstance(value, list):
        return [unmarked(item) for item in value]
    return copy.deepcopy(value)
