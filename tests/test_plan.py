"""Selection: -k expressions, --tag, --shard."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from scftest.model import Case, FunctionSpec, Mark, SourceMap
from scftest.plan import LastFailed, PlanError, compile_keyword, in_shard, parse_shard, rerun, select


def make_case(suite: str, name: str, *, tags=(), file: str = "", index: int = 0) -> Case:
    path = Path(file or f"suites/{suite.replace(' ', '_')}.yaml")
    return Case(
        suite=suite,
        name=name,
        source=SourceMap(path, {("cases", index): Mark(3 + 4 * index, 5)}),
        path=("cases", index),
        function=FunctionSpec(code=Path("functions/demo"), handler="index.main_handler"),
        tags=tuple(tags),
    )


CASES = [
    make_case("orders API", "returns greeting", tags=("smoke",), index=0),
    make_case("orders API", "rejects bad input", tags=("sad", "Slow"), index=1),
    make_case("orders API", "slow path [Python2.7]", tags=("slow",), index=2),
    make_case("users", "login ok", tags=("smoke", "auth"), index=0),
    make_case("users", "login locked", index=1),
]


def names(cases):
    return [c.name for c in cases]


# ------------------------------------------------------------------------------ -k


@pytest.mark.parametrize(
    "expr, expected",
    [
        ("login", ["login ok", "login locked"]),
        ("LOGIN", ["login ok", "login locked"]),  # case-insensitive
        ("orders", ["returns greeting", "rejects bad input", "slow path [Python2.7]"]),
        ("users::login", ["login ok", "login locked"]),  # matches across the '::'
        ("not orders", ["login ok", "login locked"]),
        ("orders and not slow", ["returns greeting", "rejects bad input"]),
        ("ok or greeting", ["returns greeting", "login ok"]),
        ("login and ok or greeting", ["returns greeting", "login ok"]),  # and binds tighter
        ("login and (ok or greeting)", ["login ok"]),
        ("not not login", ["login ok", "login locked"]),
        ("not (login or orders)", []),
        ('"bad input"', ["rejects bad input"]),  # quoted words may hold spaces
        ("'[Python2.7]'", ["slow path [Python2.7]"]),
        ("[Python2.7]", ["slow path [Python2.7]"]),
        ('"not"', []),  # a quoted operator is a word
        ("Not", []),  # operators are lowercase, as in pytest: "Not" is a word
        ("  ", names(CASES)),  # blank: no filter
        # words side by side are a phrase: in this order, white space between them
        ("returns greeting", ["returns greeting"]),
        ("Login   OK", ["login ok"]),
        ("greeting returns", []),  # the order counts
        ("login ok or greeting", ["returns greeting", "login ok"]),
        ("not login ok", ["returns greeting", "rejects bad input", "slow path [Python2.7]", "login locked"]),
        ("(bad input) and orders", ["rejects bad input"]),
        ('rejects "bad input"', ["rejects bad input"]),  # a quoted word inside a phrase
        ("path [Python2.7]", ["slow path [Python2.7]"]),
        ("s l", []),  # a phrase is not two separate substrings
    ],
)
def test_keyword_grammar(expr, expected):
    assert names(select(CASES, keyword=expr)) == expected


def test_keyword_none_selects_all():
    assert select(CASES) == CASES


def test_compiled_predicate_takes_the_id_as_is():
    match = compile_keyword("Orders and GREETING")
    assert match("orders API::returns greeting")
    assert not match("orders API::rejects bad input")


@pytest.mark.parametrize(
    "expr, fragment",
    [
        ("login and", "expected a name or '(', found the end at column 10"),
        ("and login", "expected a name or '(', found 'and' at column 1"),
        ("(login or ok", "expected ')' to close the '(' at column 1"),
        ("login)", "expected 'and', 'or' or the end of the expression, found ')' at column 6"),
        ("login (ok)", "expected 'and', 'or' or the end of the expression, found '(' at column 7"),
        ("()", "expected a name or '(', found ')'"),
        ("not", "found the end"),
        ('"bad input', "the quote at column 1 is never closed"),
    ],
)
def test_malformed_keyword_raises_plan_error(expr, fragment):
    with pytest.raises(PlanError) as info:
        select(CASES, keyword=expr)
    message = str(info.value)
    assert message.startswith("-k ")
    assert fragment in message
    assert "e.g. -k " in message or "add the closing" in message  # what to do
    assert "Traceback" not in message


# ---------------------------------------------------------------------------- tags


def test_tag_selects_cases_with_any_given_tag():
    assert names(select(CASES, tags=["auth"])) == ["login ok"]
    assert names(select(CASES, tags=["smoke", "sad"])) == [
        "returns greeting",
        "rejects bad input",
        "login ok",
    ]


def test_tags_are_case_insensitive():
    assert names(select(CASES, tags=["SLOW"])) == ["rejects bad input", "slow path [Python2.7]"]


def test_tag_and_keyword_combine():
    assert names(select(CASES, keyword="orders", tags=["smoke"])) == ["returns greeting"]


def test_unknown_tag_selects_nothing():
    assert select(CASES, tags=["nope"]) == []


@pytest.mark.parametrize(
    "exprs, expected",
    [
        (["smoke and not auth"], ["returns greeting"]),
        (["not smoke"], ["rejects bad input", "slow path [Python2.7]", "login locked"]),
        (["slow and (sad or smoke)"], ["rejects bad input"]),
        (["SMOKE or sad"], ["returns greeting", "rejects bad input", "login ok"]),
        (["not (smoke or slow)"], ["login locked"]),
        (["auth", "not smoke and not slow"], ["login ok", "login locked"]),  # several: any of them
        (["smok"], []),  # a tag is matched whole, not as a substring
        (['"auth"'], ["login ok"]),
    ],
)
def test_tag_expressions(exprs, expected):
    assert names(select(CASES, tags=exprs)) == expected


@pytest.mark.parametrize(
    "expr, fragment",
    [
        ("smoke network", "two tags side by side, found 'network' at column 7"),
        ("smoke and", "expected a name or '(', found the end at column 10"),
        ("(smoke", "expected ')' to close the '(' at column 1"),
        ("not", "found the end"),
        ("", "no tag given"),
        ("'smoke", "the quote at column 1 is never closed"),
    ],
)
def test_malformed_tag_expression_raises_plan_error(expr, fragment):
    with pytest.raises(PlanError) as info:
        select(CASES, tags=[expr])
    message = str(info.value)
    assert message.startswith(f"--tag {expr!r}: ")
    assert fragment in message
    assert "e.g. --tag " in message or "closing" in message


# -------------------------------------------------------------------------- shards


@pytest.mark.parametrize("text, expected", [("1/1", (1, 1)), ("2/4", (2, 4)), (" 4/4 ", (4, 4))])
def test_parse_shard(text, expected):
    assert parse_shard(text) == expected


@pytest.mark.parametrize("text", ["", "2", "2/", "/4", "a/b", "2/4/1", "0/4", "5/4", "-1/4", "1/0", "1.5/4"])
def test_malformed_shard_raises_plan_error(text):
    with pytest.raises(PlanError) as info:
        parse_shard(text)
    assert str(info.value).startswith("--shard ")


def test_bad_shard_tuple_raises_even_with_no_cases():
    with pytest.raises(PlanError):
        select([], shard=(3, 2))


def many_cases(count=103):
    return [make_case(f"suite{i % 7}", f"case {i}", index=i) for i in range(count)]


@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 10, 200])
def test_every_case_in_exactly_one_shard(n):
    cases = many_cases()
    seen = []
    for k in range(1, n + 1):
        seen.extend(c.id for c in select(cases, shard=(k, n)))
    assert sorted(seen) == sorted(c.id for c in cases)
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("n", [2, 3, 4, 10])
def test_shards_are_balanced_within_one_case(n):
    cases = many_cases()
    sizes = [len(in_shard(cases, k, n)) for k in range(1, n + 1)]
    assert max(sizes) - min(sizes) <= 1


def test_shards_are_stable_when_input_is_reordered():
    cases = many_cases()
    shuffled = list(cases)
    random.Random(5).shuffle(shuffled)
    for k in range(1, 5):
        assert {c.id for c in select(cases, shard=(k, 4))} == {c.id for c in select(shuffled, shard=(k, 4))}


def test_shard_keeps_input_order():
    cases = many_cases()
    chosen = select(cases, shard="2/3")
    positions = [cases.index(c) for c in chosen]
    assert positions == sorted(positions)


def test_shard_applies_after_keyword_and_tags():
    # Three cases match; sharding them 3 ways gives one each, whatever the rest holds.
    for k in (1, 2, 3):
        assert len(select(CASES, keyword="orders", shard=(k, 3))) == 1


def test_same_suite_name_in_two_files_is_still_total():
    a = make_case("dup", "same", file="a/dup.yaml")
    b = make_case("dup", "same", file="b/dup.yaml")
    assert [c.file for c in select([a, b], shard=(1, 2))] == [Path("a/dup.yaml")]
    assert [c.file for c in select([b, a], shard=(1, 2))] == [Path("a/dup.yaml")]


# ------------------------------------------------------------------- --lf / --ff


def failed_before(*names_):
    return lambda case: case.name in names_


def test_last_failed_keeps_the_failures_in_input_order():
    last = LastFailed("lf", failed_before("login ok", "rejects bad input"), known=3)
    cases, info = rerun(CASES, last)
    assert names(cases) == ["rejects bad input", "login ok"]
    assert (info.mode, info.previous, info.known) == ("lf", 2, 3)


def test_failed_first_runs_them_first_then_the_others_in_order():
    cases, info = rerun(CASES, LastFailed("ff", failed_before("login locked", "returns greeting"), known=2))
    assert names(cases) == ["returns greeting", "login locked", "rejects bad input", "slow path [Python2.7]",
                            "login ok"]
    assert info.previous == 2


@pytest.mark.parametrize("mode", ["lf", "ff"])
def test_no_selected_failure_runs_every_selected_case(mode):
    cases, info = rerun(CASES, LastFailed(mode, failed_before("gone"), known=4))
    assert cases == CASES and (info.previous, info.known) == (0, 4)


def test_last_failed_applies_within_the_shard():
    shard = select(CASES, shard=(1, 2))
    failures = failed_before(*(c.name for c in CASES))  # every case failed before
    cases, _ = rerun(shard, LastFailed("lf", failures, known=len(CASES)))
    assert cases == shard  # never a case of the other shard
