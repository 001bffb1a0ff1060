"""compare: an expected value, matchers anywhere in it, against an actual value; ignore paths."""

from types import SimpleNamespace

import pytest

from scftest.check.compare import WILDCARD, IgnorePathError, compare, parse_ignore_path
from scftest.check.outcome import Mismatch
from scftest.matchers import build_matcher
from scftest.render import format_path, shorten_around, shorten_pair, sides


def m(tag, value=""):
    return build_matcher(tag, value)


def differences(expected, actual, ignore=(), includes=False):
    """What ``compare`` finds, as a report shows it: the path as ``return.a[1]``, the sides as text."""
    found = compare(expected, actual, ignore=[parse_ignore_path(text) for text in ignore], includes=includes)
    shown = []
    for d in found:
        mismatch = Mismatch(root="return", message=d.message, kind=d.kind, path=d.path, expected=d.expected,
                            actual=d.actual, matcher=d.matcher)
        texts = sides(mismatch)
        shown.append(SimpleNamespace(path=format_path("return", d.path), message=d.message,
                                     expected=texts[0], actual=texts[1]))
    return shown


def includes(expected, actual):
    return differences(expected, actual, includes=True)


# --- exact comparison (return) -----------------------------------------------------------


def test_return_equal_passes():
    assert differences({"a": [1, 2.0, None, True]}, {"a": [1, 2, None, True]}) == []
    assert differences("Hello World", "Hello World") == []
    assert differences(None, None) == []


def test_mismatches_come_in_the_order_the_expectation_is_written():
    got = differences({"z": 1, "a": [1, 2], "m": {"y": 1, "b": 2}},
                      {"a": [1, 2, 3], "z": 0, "extra": 1, "m": {"b": 0, "y": 0}})
    assert [x.path for x in got] == ["return.z", "return.a[2]", "return.m.y", "return.m.b", "return.extra"]


def test_bool_is_not_a_number_and_int_equals_float():
    got = differences({"ok": True}, {"ok": 1})
    assert [(x.path, x.message) for x in got] == [("return.ok", "expected a bool, got an int")]
    assert differences({"n": 1}, {"n": 1.0}) == []


def test_list_insertion_is_one_unexpected_item():
    got = differences([1, 2, 3], [1, 9, 2, 3])
    assert [(x.path, x.message, x.actual) for x in got] == [("return[1]", "unexpected item", "9")]
    got = differences([1, 2, 3], [1, 3])
    assert [(x.path, x.message, x.expected) for x in got] == [("return[1]", "missing item", "2")]


def test_matcher_lists_compare_by_index():
    got = differences([m("!type", "int"), 2], ["x", 2, 5])
    assert [(x.path, x.message) for x in got] == [
        ("return[0]", "expected a value of type int, got the string \"x\""),
        ("return[2]", "unexpected item"),
    ]


def test_matchers_anywhere_inside():
    expected = {"id": m("!regex", "^[0-9a-f]{8}$"), "price": m("!approx", "9.99"), "tags": m("!contains", "new"),
                "created": m("!any"), "count": m("!type", "int")}
    good = {"id": "deadbeef", "price": 9.99000001, "tags": ["new"], "created": None, "count": 3}
    assert differences(expected, good) == []
    bad = dict(good, price=10.5, count=3.0)
    got = differences(expected, bad)
    assert [(x.path, x.message) for x in got] == [  # in the order the expectation lists them
        ("return.price", "10.5 is not within ±0.0001% of 9.99"),
        ("return.count", "expected a value of type int, got the number 3.0"),
    ]


def test_json_matcher_on_a_string_that_is_not_json():
    got = differences({"body": m("!json", {"id": 1})}, {"body": "<html>"})
    assert len(got) == 1 and got[0].path == "return.body"
    assert got[0].message.startswith("the string is not valid JSON (Expecting value")
    assert got[0].expected == '!json {"id": 1}' and got[0].actual == '"<html>"'


def test_nested_json_in_json():
    inner = m("!json", {"n": 1})
    got = differences({"body": m("!json", {"payload": inner})}, {"body": '{"payload": "{\\"n\\": 2}"}'})
    assert [(x.path, x.expected, x.actual) for x in got] == [("return.body.payload.n", "1", "2")]


def test_long_strings_are_shortened_around_the_difference():
    expected = "a" * 100 + "X" + "b" * 100
    got = differences(expected, "a" * 100 + "Y" + "b" * 100)
    assert len(got) == 1
    assert got[0].message == "strings differ from character 101"
    assert got[0].expected == "…" + "a" * 24 + "X" + "b" * 47 + "…"
    assert got[0].actual == "…" + "a" * 24 + "Y" + "b" * 47 + "…"


def test_shorten_pair_keeps_short_values_whole():
    assert shorten_pair("abc", "abd") == ("abc", "abd")
    left, right = shorten_pair("x" * 10 + "1" * 100, "x" * 10 + "2" * 100, width=20)
    assert left == "…" + "x" * 6 + "1" * 14 + "…" and right == "…" + "x" * 6 + "2" * 14 + "…"


def test_shorten_around_a_position():
    assert shorten_around("short", 3) == "short"
    assert shorten_around("a" * 50 + "X" + "b" * 50, 50, width=20) == "…" + "a" * 6 + "X" + "b" * 13 + "…"
    assert shorten_around("X" + "b" * 50, 0, width=20) == "X" + "b" * 19 + "…"


# --- subset comparison (return_includes) -------------------------------------------------


def test_includes_allows_extra_keys_at_every_depth():
    expected = {"statusCode": 200, "body": {"id": 42}}
    actual = {"statusCode": 200, "headers": {}, "body": {"id": 42, "name": "x"}}
    assert includes(expected, actual) == []


def test_includes_uses_real_bipartite_matching():
    expected = [m("!any"), {"id": 1}]
    assert includes(expected, [{"id": 1}, {"id": 2}]) == []
    # a harder one: the only item that fits the second needs to be freed by the first
    expected = [{"kind": m("!any")}, {"kind": "a"}, {"kind": "b"}]
    actual = [{"kind": "a"}, {"kind": "b"}, {"kind": "c"}]
    assert includes(expected, actual) == []


def test_includes_items_must_be_distinct():
    got = includes([{"id": 1}, {"id": 1}], [{"id": 1}, {"id": 2}])
    assert [(x.path, x.message, x.expected, x.actual) for x in got] == [
        ("return[1].id", "values differ (closest item to expected item [1])", "1", "2")]


def test_includes_closest_item_may_need_another_pairing():
    # !any could take either item; the report must leave it the int and show the near-miss.
    expected = [m("!any"), {"id": 1, "name": "b"}]
    got = includes(expected, [{"id": 1, "name": "c"}, 5])
    assert [(x.path, x.message, x.expected, x.actual) for x in got] == [
        ("return[0].name", "values differ (closest item to expected item [1])", '"b"', '"c"')]


def test_a_difference_knows_its_place_in_both_values():
    # The expected path finds the suite line: expected item 1 was paired with actual item 0.
    [diff] = compare([m("!any"), {"id": 1, "name": "b"}], [{"id": 1, "name": "c"}, 5], includes=True)
    assert (diff.path, diff.expected_path) == ((0, "name"), (1, "name"))
    # An unexpected key has no line of its own: its place is its mapping's.
    [diff] = compare({"m": {"a": m("!any")}}, {"m": {"a": 1, "b": 2}})
    assert (diff.path, diff.expected_path) == (("m", "b"), ("m",))


def test_min_cost_assignment_is_optimal():
    import itertools
    import random

    from scftest.check.compare import _min_cost_assignment

    rng = random.Random(4)
    for _ in range(200):
        rows, cols = rng.randint(1, 4), rng.randint(4, 6)
        cost = [[rng.randint(0, 9) for _ in range(cols)] for _ in range(rows)]
        chosen = _min_cost_assignment(cost)
        assert len(set(chosen)) == rows
        best = min(sum(cost[r][c] for r, c in enumerate(p)) for p in itertools.permutations(range(cols), rows))
        assert sum(cost[r][c] for r, c in enumerate(chosen)) == best


def test_includes_long_lists_stay_fast_and_precise():
    actual = [{"id": i, "name": f"n{i}"} for i in range(300)]
    expected = [dict(item) for item in reversed(actual)]
    assert includes(expected, actual) == []
    expected[0]["name"] = "changed"  # id 299: past the size where the best pairing is searched
    got = includes(expected, actual)
    assert [(x.path, x.expected, x.actual) for x in got] == [("return[299].name", '"changed"', '"n299"')]


def test_includes_item_not_in_a_short_list():
    got = includes([1, 2, 3], [3, 1])
    assert [(x.path, x.message, x.expected, x.actual) for x in got] == [
        ("return", "expected item [1] is not in the list", "2", "[3, 1]")]


def test_includes_inside_json_is_a_subset_too():
    expected = {"body": m("!json", {"id": 42, "created": m("!any")})}
    assert includes(expected, {"body": '{"id": 42, "created": 1, "more": []}'}) == []


def test_includes_type_mismatch():
    got = includes({"items": [1]}, {"items": "1"})
    assert [(x.path, x.message) for x in got] == [("return.items", "expected a list, got a string")]


def test_includes_in_a_huge_list_compares_only_the_items_that_can_fit(monkeypatch):
    # Not timed: the number of item comparisons is what made 500,000 items cost 78 s.
    from scftest.check import compare as module

    calls = []
    real = module._diff

    def counting(expected, actual, at, rules):
        calls.append(1)
        return real(expected, actual, at, rules)

    monkeypatch.setattr(module, "_diff", counting)
    ints = list(range(100_000))
    dicts = [{"id": i, "name": f"n{i}"} for i in range(100_000)]
    assert compare({"v": [7, 50_000, 99_999]}, {"v": ints}, includes=True) == []
    assert compare({"v": [{"id": 99_999}, {"id": 3, "name": "n3"}]}, {"v": dicts}, includes=True) == []
    found = compare({"v": [{"id": 5}, {"id": -1, "name": "n42"}]}, {"v": dicts}, includes=True)
    assert [(d.path, d.message) for d in found] == [
        (("v", 42, "id"), "values differ (closest item to expected item [1])")]  # shares name n42
    assert compare({"v": [-1]}, {"v": ints}, includes=True)[0].message == \
        "values differ (closest item to expected item [0])"
    assert len(calls) < 3 * module.CLOSEST_LIMIT * 3


def test_includes_the_closest_item_search_has_a_budget_the_verdict_does_not():
    from scftest.check.compare import PAIR_BUDGET

    actual = [{"id": i} for i in range(1000)]
    expected = [{"id": -k} for k in range(1, 201)]  # none is there
    found = compare(expected, actual, includes=True)
    stopped = [d for d in found if "stopped after" in d.message]
    closest = [d for d in found if "(closest item to expected" in d.message]
    assert closest and stopped and len(closest) + len(stopped) == 200
    assert stopped[0].message == (f"expected item [{len(closest)}] is not in the list of 1000 items (the search "
                                  f"for its closest item stopped after {PAIR_BUDGET} comparisons)")
    assert compare(expected[:1] + [{"id": 3}], actual + [{"id": -1}], includes=True) == []


def test_max_matching_follows_a_path_through_thousands_of_items():
    from scftest.check.compare import _max_matching

    length = 5000  # past Python's recursion limit: the search is a loop
    fits = {(i, i) for i in range(length)} | {(i, i + 1) for i in range(length)} | {(length, 0)}
    pairs = _max_matching(length + 1, length + 1, lambda i, j: (i, j) in fits)
    assert len(pairs) == length + 1 and pairs[length] == 0


_LEAVES = [0, 1, 1.0, 2, True, False, None, "1", "a", "", float("nan"), -0.0]


@pytest.mark.parametrize("seed", range(40))
def test_the_value_index_gives_the_verdict_a_full_scan_gives(seed):
    import random

    from scftest.check import compare as module
    from scftest.check.compare import _At, _ListIndex, _max_matching, _Rules

    rng = random.Random(seed)

    def leaf():
        return rng.choice(_LEAVES)

    def item(expected):
        roll = rng.random()
        if expected and roll < 0.1:
            return m("!any") if rng.random() < 0.5 else m("!type", "int")
        if roll < 0.5:
            return leaf()
        if roll < 0.6:
            return [leaf()]
        keys = rng.sample(["a", "b", "c"], rng.randint(1, 3))
        return {k: (m("!any") if expected and rng.random() < 0.1 else leaf()) for k in keys}

    actual = [item(False) for _ in range(rng.randint(module.INDEX_MIN, 80))]
    expected = [item(True) for _ in range(rng.randint(1, 6))] + rng.sample(actual, 2)
    rules = _Rules(includes=True)

    def fits(i, j):
        return next(module._diff(expected[i], actual[j], _At((), ()).item(j, i), rules), None) is None

    index = _ListIndex(actual)
    full = _max_matching(len(expected), len(actual), fits)
    indexed = _max_matching(len(expected), len(actual), fits, lambda i: index.candidates(expected[i], i))
    assert len(indexed) == len(full)
    assert all(fits(i, j) for i, j in indexed.items())
    assert (compare(expected, actual, includes=True) == []) == (len(full) == len(expected))


# --- ignore paths ------------------------------------------------------------------------


def test_parse_ignore_path():
    assert parse_ignore_path("headers.X-Request-Id") == ("headers", "X-Request-Id")
    assert parse_ignore_path("body.items[0].id") == ("body", "items", 0, "id")
    assert parse_ignore_path("items[*].id") == ("items", WILDCARD, "id")
    assert parse_ignore_path('headers."x.y".z') == ("headers", "x.y", "z")
    assert parse_ignore_path("headers['x.y']") == ("headers", "x.y")
    assert parse_ignore_path('a["it\\"s"]') == ("a", 'it"s')
    assert parse_ignore_path("[2]") == (2,)
    assert parse_ignore_path("codes.200") == ("codes", "200")


@pytest.mark.parametrize("text", ["", "a..b", "a.", ".a", "a[x]", "a[0", "a]b", "a b[0]c"])
def test_bad_ignore_paths(text):
    with pytest.raises(IgnorePathError):
        parse_ignore_path(text)


def test_ignore_paths_with_dashes_and_indexes():
    expected = {"headers": {"Date": "x", "X-Request-Id": "1"}, "body": {"items": [{"id": 1, "n": "a"}]}}
    actual = {"headers": {"Date": "y", "X-Request-Id": "2"}, "body": {"items": [{"id": 9, "n": "a"}]}}
    ignore = ("headers.X-Request-Id", "headers.Date", "body.items[0].id")
    assert differences(expected, actual, ignore=ignore) == []
    got = differences(expected, actual, ignore=ignore[:2])
    assert [x.path for x in got] == ["return.body.items[0].id"]


def test_ignore_leaves_out_unexpected_keys_and_whole_subtrees():
    actual = {"a": 1, "headers": {"Date": "now"}, "debug": {"x": [1, 2]}}
    assert differences({"a": 1, "headers": {}}, actual, ignore=("headers.Date", "debug")) == []


def test_ignore_wildcards_dotted_keys_and_index_words():
    expected = {"items": [{"id": 1, "v": 1}, {"id": 2, "v": 2}], "m": {"a.b": 1}}
    actual = {"items": [{"id": 7, "v": 1}, {"id": 8, "v": 2}], "m": {"a.b": 2}}
    assert differences(expected, actual, ignore=("items[*].id", 'm."a.b"')) == []
    assert differences(expected, actual, ignore=("items.0.id", "items.1.id", "m['a.b']")) == []


def test_format_path_quotes_odd_keys():
    assert format_path("return", ("body", "items", 1, "X-Id")) == "return.body.items[1].X-Id"
    assert format_path("return", ("a.b", "c d", "")) == 'return["a.b"]["c d"][""]'
    assert format_path("", ("a", 0)) == "a[0]"
