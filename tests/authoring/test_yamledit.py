"""Writing expect keys into a suite's text: any value, into any shape of case, reads back the same."""

from __future__ import annotations

from pathlib import Path

import pytest

from scftest.load.loader import suite_tags
from scftest.authoring.yamledit import apply_write, same_value
from scftest.load.yamlio import parse_text

TRICKY = [
    "yes", "no", "on", "12:30", "0x1F", "1e3", "2019-02-21", "null", "~", "", " lead", "trail ",
    "a: b", "#hash", "- dash", "a, b", "{x}", "[y]", "'", '"', "multi\nline\n", "tab\there", "next\x85line", "茶叶", "\\d+",
    1e20, 1.5e-07, 0.1, -3, 0, True, False, None, [], {}, [[1, 2], [3]], [{"a": [None]}],
    {"200": "ok", "yes": "no", "0x1F": 1, "a b": {"c": "d"}}, "x" * 300,
]


@pytest.mark.parametrize("value", TRICKY, ids=[repr(v)[:20] for v in TRICKY])
@pytest.mark.parametrize("suite", [
    "cases:\n  - name: a\n",
    "cases:\n  - name: a\n    expect:\n      log: [x]\n",
    "cases:\n  - {name: a}\n",
    "cases:\n  - name: a\n    expect: {log: [x]}\n",
    "cases:\n  - name: a\n    expect:\n      return: old   # comment\n",
    "cases:\n  - name: a\n    expect:\n      return:\n        - old\n",
    "cases:\n  - {name: a, expect: {return: [1, {b: 2}], log: [x]}}  # note\n",
], ids=["no-expect", "block-expect", "flow-case", "flow-expect", "inline-return", "block-return", "flow-return"])
def test_any_value_is_read_back_exactly(value, suite: str, tmp_path: Path) -> None:
    file = tmp_path / "s.yaml"
    new = apply_write(suite, file, 0, "return", value)
    read = parse_text(new, file, suite_tags()).data["cases"][0]["expect"]["return"]
    assert same_value(read, value), new


def test_same_value_tells_json_types_apart() -> None:
    assert not same_value(1, True) and not same_value(1, 1.0) and not same_value({"a": 0}, {"a": False})
    assert same_value({"a": [1, "x", None]}, {"a": [1, "x", None]})
