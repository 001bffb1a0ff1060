"""Secret values (the case's ``secrets``) replaced by *** in what a record holds."""

from __future__ import annotations

import json
from typing import Any, Iterable, List, Optional, Tuple


def masker(secrets: Iterable[str]):
    """A function replacing every secret value (and its JSON-escaped form) by ***."""
    needles = set()
    for secret in secrets:
        if secret:
            needles.add(str(secret))
            needles.add(json.dumps(str(secret), ensure_ascii=False)[1:-1])
            needles.add(json.dumps(str(secret))[1:-1])
    ordered = sorted(needles, key=len, reverse=True)

    def mask(text: Optional[str]) -> Optional[str]:
        if not text or not ordered:
            return text
        for needle in ordered:
            if needle in text:
                text = text.replace(needle, "***")
        return text

    return mask


def mask_value(value: Any, mask) -> Any:
    """``value`` (JSON data) with ``mask`` applied to every string in it, keys included.

    A loop, not recursion: a handler may return a value nested deeper than Python's
    recursion limit, and masking must never be what fails on it."""
    root = [value]  # a holder, so that the top level is replaced like any other slot
    stack: List[Tuple[Any, Any]] = [(root, 0)]
    while stack:
        holder, slot = stack.pop()
        item = holder[slot]
        if isinstance(item, str):
            holder[slot] = mask(item)
        elif isinstance(item, list):
            holder[slot] = copy = list(item)
            stack.extend((copy, index) for index in range(len(copy)))
        elif isinstance(item, dict):
            holder[slot] = copy = {mask(k): v for k, v in item.items()}
            stack.extend((copy, key) for key in copy)
    return root[0]
