"""Text helpers shared by every place that shows a value to a person."""

from __future__ import annotations


def cut(text: str, width: int) -> str:
    """``text`` if it fits in ``width`` characters, else its start and an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"
