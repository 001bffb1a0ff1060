"""Secret values (the case's ``secrets``) replaced by *** in what a record holds."""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional


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
    """``value`` (JSON data) with ``mask`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return mask(value)
    if isinstance(value, list):
        return [mask_value(v, mask) for v in value]
    if isinstance(value, dict):
        return {mask(k): mask_value(v, mask) for k, v in value.items()}
    return value
