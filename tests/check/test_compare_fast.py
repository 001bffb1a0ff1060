"""compare's fast path: equal plain data is "no difference" without the full walk (deepdiff).

The fast path may only ever say "equal" where the full comparison finds nothing; every
other pair must get exactly what the full comparison says. Each pair below runs through
both, exact, as a subset (return_includes) and with an ignore path.
"""

import math
import subprocess
import sys
from pathlib import Path

import pytest

from scftest.check import compare as compare_module
from scftest.check.compare import _At, _diff, _identical, _Rules, compare
from scftest.matchers import build_matcher
from scftest.model import Replace


class Text(str):
    """A str subclass: not plain data for the fast path (the full path decides)."""


NAN = math.nan

# (expected, actual, whether the fast path answers "equal")
PAIRS = [
    ({"n": 0, "ok": True}, {"n": 0, "ok": True}, True),
    ({"a": 1, "b": 2}, {"b": 2, "a": 1}, True),  # key order is not a difference
    ([[1, [2, {"x": True}]], "s", None], [[1, [2, {"x": True}]], "s", None], True),
    ({"a": {"b": [1.5, "x", None]}}, {"a": {"b": [1.5, "x", None]}}, True),
    (10 ** 30, 10 ** 30, True),
    ("Hello", "Hello", True),
    (None, None, True),
    ({}, {}, True),
    ([], [], True),
    (0.0, -0.0, True),
    (True, 1, False),  # bool is not int
    (1, True, False),
    (0, False, False),
    ({"ok": True}, {"ok": 1}, False),
    ([[1, [2, {"x": True}]]], [[1, [2, {"x": 1}]]], False),  # deep down too
    (1, 1.0, False),  # equal for compare (JSON keeps no difference), but decided by the full path
    (1.0, 1, False),
    ({"n": 1}, {"n": 1.0}, False),
    ("1", 1, False),
    (1, "1", False),
    (None, "", False),
    ("", None, False),
    ([], {}, False),
    ({}, [], False),
    ([1, 2], [2, 1], False),  # list order is
    ({"a": [1, 2, 3]}, {"a": [1, 2, 3, 4]}, False),
    ({"a": 1}, {"a": 1, "b": 2}, False),  # an extra key: a subset still passes
    ({"a": None}, {}, False),
    ({"a": {"b": [1.5, "x"]}}, {"a": {"b": [1.5000001, "x"]}}, False),
    (NAN, NAN, False),
    ((1, 2), [1, 2], False),  # a tuple is not plain data here
    ([1, 2], (1, 2), False),
    ({1: "a"}, {"1": "a"}, False),  # a YAML int key
    ({True: 1}, {"True": 1}, False),
    (Text("x"), "x", False),
    ("x", Text("x"), False),
    ({"a": "x"}, {Text("a"): "x"}, False),
    ({1}, {1}, False),  # a set: no JSON value
    (Replace({"a": 1}), {"a": 1}, False),
]


def _matcher_pairs():
    any_ = build_matcher("!any", "")
    number = build_matcher("!type", "number")
    return [
        ({"a": any_}, {"a": 1}, False),
        ({"a": [1, number]}, {"a": [1, 2.5]}, False),
        ({"id": any_, "body": {"items": [1, 2]}}, {"id": 7, "body": {"items": [1, 2]}}, False),
        ({"id": any_, "body": {"items": [1, True]}}, {"id": 7, "body": {"items": [1, 1]}}, False),
        (build_matcher("!json", "{a: 1}"), '{"a": 1}', False),
    ]


MODES = [
    pytest.param({}, id="exact"),
    pytest.param({"includes": True}, id="includes"),
    pytest.param({"ignore": [("a",)]}, id="ignore"),
    pytest.param({"ignore": [("body", "items", 0)]}, id="ignore-deep"),
]


def _full(expected, actual, includes=False, ignore=()):
    """The comparison without the fast path at the top (as compare was before it)."""
    rules = _Rules(includes=includes, ignore=tuple(ignore))
    return list(_diff(expected, actual, _At((), ()), rules))


def _all_pairs():
    return [pytest.param(e, a, fast, id=f"{i}") for i, (e, a, fast) in enumerate(PAIRS + _matcher_pairs())]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("expected, actual, fast", _all_pairs())
def test_the_fast_path_says_equal_only_where_the_full_comparison_finds_nothing(expected, actual, fast, mode):
    assert _identical(expected, actual) is fast
    full = _full(expected, actual, **mode)
    if fast:
        assert full == []
    assert compare(expected, actual, **mode) == full


def test_an_equal_plain_value_is_judged_without_deepdiff(monkeypatch):
    def boom(*args, **kwargs):
        raise AssertionError("deepdiff was asked about an equal pair")

    monkeypatch.setattr(compare_module, "_run_deepdiff", boom)
    assert compare({"n": 0, "ok": True}, {"ok": True, "n": 0}) == []
    # a plain sub-tree beside a matcher: the sub-tree is spared deepdiff too
    any_ = build_matcher("!any", "")
    assert compare({"id": any_, "body": {"items": [1, {"x": None}]}},
                   {"id": 3, "body": {"items": [1, {"x": None}]}}) == []


def test_a_difference_still_goes_to_deepdiff(monkeypatch):
    asked = []
    real = compare_module._run_deepdiff

    def counting(*args, **kwargs):
        asked.append(args[:2])
        return real(*args, **kwargs)

    monkeypatch.setattr(compare_module, "_run_deepdiff", counting)
    found = compare({"n": 0, "ok": True}, {"n": 0, "ok": 1})
    assert asked and [(d.path, d.message) for d in found] == [(("ok",), "expected a bool, got an int")]


def test_a_value_nested_deeper_than_the_stack_is_compared_without_recursion():
    deep_expected, deep_actual = [], []
    want, got = deep_expected, deep_actual
    for _ in range(5000):
        want.append([])
        got.append([])
        want, got = want[0], got[0]
    assert _identical(deep_expected, deep_actual)
    want.append(1)
    got.append(True)
    assert not _identical(deep_expected, deep_actual)


def test_a_run_of_passing_cases_never_imports_deepdiff_or_regex(tmp_path):
    """Their imports (~90 and ~16 ms of CPU) are paid only where a difference is found or
    a text searched: a run whose cases all pass, with no pattern, imports neither."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(
        "def main_handler(event, context):\n    return {'n': event['n'], 'ok': True}\n")
    (tmp_path / "suite.yaml").write_text(
        "function: {code: fn, handler: index.main_handler}\n"
        "cases:\n"
        "  - {name: one, event: {n: 1}, expect: {return: {n: 1, ok: true}}}\n"
        "  - {name: two, event: {n: 2}, expect: {return: {n: 2, ok: true}}}\n")
    code = ("import sys; from scftest.cli import main; code = main(['run', sys.argv[1], '-q']); "
            "print(code, sorted(m for m in ('deepdiff', 'regex') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "suite.yaml")], capture_output=True,
                         text=True, check=True, cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip().splitlines()[-1] == "0 []", out


def test_a_difference_imports_deepdiff_and_finds_it():
    code = ("import sys; from scftest.check.compare import compare; "
            "found = compare({'n': 0, 'items': [1, 2]}, {'n': 0, 'items': [1, 3]}); "
            "print([d.path for d in found], 'deepdiff' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[('items', 1)] True"
