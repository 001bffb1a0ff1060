"""Built-in SCF trigger event templates (``trigger:`` in a case), stored as JSON files.

The payloads follow Tencent's "trigger event message structure" pages (doc 583/31927):
API Gateway integration requests, timers, COS object events, CMQ topics, CKafka. A case's
``event`` is deep-merged over the template with ``deep_merge``; ``!replace`` before a
mapping or list takes the place of what the template holds there.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any, Dict, List, Mapping

from scftest.model import Replace

_FOLDER = Path(__file__).resolve().parent

ALIASES: Mapping[str, str] = {"cos": "cos_put"}

DESCRIPTIONS: Mapping[str, str] = {
    "apigateway": "API Gateway integration request (GET /orders/42)",
    "timer": "timer trigger firing",
    "cos_put": "COS object created by PUT",
    "cos_post": "COS object created by POST (form upload)",
    "cos_delete": "COS object deleted",
    "cmq": "CMQ topic message",
    "ckafka": "CKafka messages (two records)",
}


class UnknownTrigger(KeyError):
    """``load`` was given a name that is not a template."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else "unknown trigger"


def names() -> List[str]:
    """Every name ``load`` accepts, templates and aliases, sorted."""
    templates = [path.stem for path in _FOLDER.glob("*.json")]
    return sorted(set(templates) | set(ALIASES))


def describe(name: str) -> str:
    """A one-line description for listings (aliases say what they stand for)."""
    if name in ALIASES:
        return f"alias of {ALIASES[name]}: {DESCRIPTIONS.get(ALIASES[name], '')}".rstrip(": ")
    return DESCRIPTIONS.get(name, "")


def load(name: str) -> Dict[str, Any]:
    """A fresh copy of the template ``name``; raises UnknownTrigger."""
    target = ALIASES.get(name, name)
    path = _FOLDER / f"{target}.json"
    if "/" in target or "\\" in target or not path.is_file():
        raise UnknownTrigger(
            f"unknown trigger {name!r}; the templates are: {', '.join(names())}")
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


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
