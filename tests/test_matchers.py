"""The matcher tags: building them from YAML values, matching, and their repr; the one
registry of them and what follows it (the loader's tags, the docs)."""

import re
from pathlib import Path

import pytest

import scftest
from scftest.load.loader import suite_tags, tag_forms
from scftest.load.yamlio import YamlError, parse_text
from scftest.matchers import (
    MAPPING,
    MATCHER_TAGS,
    MATCHERS,
    SCALAR,
    SEQUENCE,
    AnyMatcher,
    ApproxMatcher,
    ContainsMatcher,
    JsonMatcher,
    Matcher,
    MatcherError,
    RegexMatcher,
    TypeMatcher,
    build_matcher,
    matches,
)
from scftest.render import render_value


def m(tag, value=""):
    return build_matcher(tag, value)


def test_tags_are_the_contract_ones():
    assert MATCHER_TAGS == ("!any", "!type", "!regex", "!contains", "!approx", "!json")
    for tag in MATCHER_TAGS:
        assert tag in repr(build_matcher(tag, {"!approx": "1", "!type": "int", "!regex": "a",
                                               "!contains": "a", "!json": "1"}.get(tag, "")))


# --- !any --------------------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, 0, "", "x", [], {}, False, [1, {"a": None}]])
def test_any_matches_everything_even_null(value):
    assert m("!any").match(value)
    assert m("!any", None).match(value)


def test_any_refuses_a_value():
    with pytest.raises(MatcherError) as err:
        m("!any", "something")
    assert str(err.value) == "!any takes no value, it matches anything; write it like: created: !any"


# --- !type -------------------------------------------------------------------------------


@pytest.mark.parametrize("name, good, bad", [
    ("string", ["", "x"], [1, None, ["x"]]),
    ("int", [0, -3, 10**20], [1.0, True, "1", None]),
    ("number", [0, 1.5, -2], [True, False, "1.5", None]),
    ("bool", [True, False], [0, 1, "true", None]),
    ("list", [[], [1]], [{}, "[]", "x"]),
    ("dict", [{}, {"a": 1}], [[], "{}", None]),
    ("null", [None], [0, "", "null", False]),
])
def test_type(name, good, bad):
    matcher = m("!type", name)
    for value in good:
        assert matcher.match(value), value
    for value in bad:
        assert not matcher.match(value), value


def test_type_aliases_and_spacing():
    assert m("!type", " integer ").match(3)
    assert m("!type", "boolean").match(True)
    assert m("!type", "array").match([])
    assert m("!type", "object").match({})
    assert repr(m("!type", "integer")) == "!type integer"


def test_type_reason_names_both_types():
    assert m("!type", "int").explain(True) == "expected a value of type int, got the bool true"
    assert m("!type", "int").explain(None) == "expected a value of type int, got null"


def test_type_unknown_name():
    with pytest.raises(MatcherError) as err:
        m("!type", "integr")
    assert str(err.value) == ("!type does not know the type 'integr'; use one of string, int, number, "
                              "bool, list, dict, null; write it like: count: !type int")
    with pytest.raises(MatcherError):
        m("!type", "")
    with pytest.raises(MatcherError):
        m("!type", {"a": 1})


# --- !regex ------------------------------------------------------------------------------


def test_regex_searches_strings_only():
    matcher = m("!regex", r"\d{3}")
    assert matcher.match("order 123 queued")
    assert not matcher.match("order 12 queued")
    assert not matcher.match(123)
    assert m("!regex", "^a$").explain("ab") == "the pattern '^a$' is not found in the string"
    assert matcher.explain(123) == "expected a string for !regex '\\d{3}', got the int 123"


def test_regex_repr_quotes_like_yaml():
    assert repr(m("!regex", "^a")) == "!regex '^a'"
    assert repr(m("!regex", "it's")) == "!regex 'it''s'"


def test_bad_regex_is_a_matcher_error():
    with pytest.raises(MatcherError) as err:
        m("!regex", "(")
    assert "is not a valid regular expression" in str(err.value)
    assert err.value.example == "id: !regex '^[0-9a-f]{8}$'"


# --- !contains ---------------------------------------------------------------------------


def test_contains_substring():
    assert m("!contains", "not found").match("user not found")
    assert not m("!contains", "not found").match("user found")
    assert m("!contains", "x").explain("abc") == 'the string does not contain "x"'


def test_contains_list_item():
    assert m("!contains", "b").match(["a", "b"])
    assert not m("!contains", "b").match(["a", "abc"])  # items are compared whole
    assert m("!contains", "42").match([1, 42])  # a bare YAML scalar may be a number
    assert m("!contains", "42").match(["42"])
    assert m("!contains", "true").match([True])
    assert not m("!contains", "1").match([True])  # bool is not a number
    assert m("!contains", {"id": 1}).match([{"id": 2}, {"id": 1}])
    assert m("!contains", {"id": m("!type", "int")}).match([{"id": 7}])
    assert m("!contains", "b").explain(["a"]) == 'no item of the list matches "b"'


def test_contains_other_types():
    assert m("!contains", "1").explain(1) == "expected a string or a list for !contains '1', got the int 1"
    assert not m("!contains", {"a": 1}).match("a")
    with pytest.raises(MatcherError):
        m("!contains", "")


# --- !approx -----------------------------------------------------------------------------


def test_approx_default_relative_tolerance():
    matcher = m("!approx", "1.5")
    assert matcher.match(1.5000001)
    assert not matcher.match(1.5001)
    assert m("!approx", "3").match(3)
    assert m("!approx", "0").match(1e-15)
    assert not matcher.match("1.5")
    assert not m("!approx", "1").match(True)  # bools are not numbers
    assert repr(matcher) == "!approx 1.5"


def test_approx_absolute_and_percent_tolerance():
    matcher = m("!approx", {"value": 10, "tol": 0.5})
    assert matcher.match(10.5) and matcher.match(9.5)
    assert not matcher.match(10.6)
    assert matcher.explain(10.6) == "10.6 is not within ±0.5 of 10"
    assert repr(matcher) == "!approx {value: 10, tol: 0.5}"
    percent = m("!approx", {"value": 200, "tol": "1%"})
    assert percent.match(202) and not percent.match(203)
    assert m("!approx", {"value": "2.5"}).match(2.5)
    assert percent.explain(203) == "203 is not within ±1% of 200"
    assert m("!approx", "9.99").explain(10) == "10 is not within ±0.0001% of 9.99"


@pytest.mark.parametrize("value", ["abc", "", "nan", {"tol": 1}, {"value": 1, "tol": -1},
                                   {"value": 1, "x": 2}, {"value": True}, [1]])
def test_approx_malformed(value):
    with pytest.raises(MatcherError):
        m("!approx", value)


def test_approx_non_number_message():
    with pytest.raises(MatcherError) as err:
        m("!approx", "abc")
    assert str(err.value) == ('!approx needs a number, got "abc"; write it like: price: !approx 9.99   '
                              "or   price: !approx {value: 9.99, tol: 0.01}")


# --- !json -------------------------------------------------------------------------------


def test_json_parses_then_matches_nested_matchers():
    matcher = m("!json", {"id": 42, "created": m("!any"), "tags": m("!contains", "new")})
    assert matcher.match('{"id": 42, "created": "2020", "tags": ["new"]}')
    assert not matcher.match('{"id": 43, "created": "2020", "tags": ["new"]}')
    assert not matcher.match({"id": 42})  # a dict is not a JSON string
    assert matcher.explain("{oops") .startswith("the string is not valid JSON (")
    assert matcher.explain(5) == "expected a string holding JSON, got the int 5"


def test_json_inside_json():
    inner = m("!json", {"a": m("!approx", "1")})
    outer = m("!json", {"payload": inner})
    assert outer.match('{"payload": "{\\"a\\": 1.0000001}"}')
    assert not outer.match('{"payload": "{\\"a\\": 2}"}')


def test_json_scalar_text():
    assert m("!json", "42").match("42")
    assert m("!json", '{"a": [1]}').match('{"a":[1]}')
    assert m("!json", "hello").match('"hello"')
    with pytest.raises(MatcherError):
        m("!json", "")


def test_json_repr_and_equality():
    a = m("!json", {"id": 1, "x": m("!any")})
    b = m("!json", {"id": 1, "x": m("!any")})
    assert a == b and hash(a) == hash(b)
    assert a != m("!json", {"id": True, "x": m("!any")})
    assert repr(a) == '!json {"id": 1, "x": !any}'


# --- shared rules ------------------------------------------------------------------------


def test_matchers_are_values():
    assert m("!regex", "a") == RegexMatcher("a") and hash(m("!regex", "a")) == hash(RegexMatcher("a"))
    assert m("!type", "int") == TypeMatcher("int")
    assert m("!any") == AnyMatcher()
    assert m("!approx", "1") == ApproxMatcher(1.0)
    assert m("!contains", "a") == ContainsMatcher("a")
    assert isinstance(m("!json", "1"), JsonMatcher)
    assert all(isinstance(m(t, v), Matcher) for t, v in [("!any", ""), ("!type", "int")])


# --- the registry ------------------------------------------------------------------------

REPO = Path(scftest.__file__).resolve().parent.parent
# A value of each form to write after a tag: a scalar each matcher takes, {value: 1}, [1].
SCALARS = {"!any": "", "!type": "int", "!regex": "a", "!contains": "a", "!approx": "1", "!json": "1"}
SAMPLES = {MAPPING: "{value: 1}", SEQUENCE: "[1]"}


def _load(tag: str, written: str):
    return parse_text(f"v: {tag} {written}\n", Path("t.yaml"), suite_tags()).data["v"]


def test_every_matcher_is_a_loader_tag_and_builds_its_own_class():
    assert set(MATCHER_TAGS) <= set(suite_tags())
    assert len(set(MATCHER_TAGS)) == len(MATCHERS)
    for kind in MATCHERS:
        assert type(_load(kind.tag, SCALARS[kind.tag])) is kind
        assert type(build_matcher(kind.tag, SCALARS[kind.tag])) is kind


@pytest.mark.parametrize("kind", MATCHERS, ids=lambda kind: kind.tag)
def test_a_matcher_declares_exactly_the_forms_the_loader_accepts(kind):
    # What editors are told (yaml.customTags) must be what a suite may hold: a form missing
    # shows a valid suite as "Unresolved tag"; a form too many hides a mistake.
    accepted = [SCALAR] if SCALAR in kind.forms else []
    assert accepted, f"{kind.tag} takes no scalar?"
    for form, written in SAMPLES.items():
        try:
            assert type(_load(kind.tag, written)) is kind
            accepted.append(form)
        except YamlError:
            pass
    assert tuple(accepted) == kind.forms


def test_tag_forms_are_the_matchers_then_env_and_replace():
    assert tag_forms()[:sum(len(kind.forms) for kind in MATCHERS)] == tuple(
        (kind.tag, form) for kind in MATCHERS for form in kind.forms)
    assert ("!contains", MAPPING) in tag_forms() and ("!any", MAPPING) not in tag_forms()
    assert {tag for tag, _ in tag_forms()} == set(suite_tags())


def test_the_docs_list_every_matcher():
    table = (REPO / "docs" / "writing-cases.md").read_text(encoding="utf-8")
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    matchers_line = re.search(r"\*\*Matchers\*\*.*?\n\n", readme, re.S).group(0)
    for tag in MATCHER_TAGS:
        assert re.search(rf"^\| `{tag}[ `]", table, re.M), f"docs/writing-cases.md has no row for {tag}"
        assert f"`{tag}" in matchers_line, f"README's Matchers line does not name {tag}"


def test_unknown_tag():
    with pytest.raises(MatcherError) as err:
        build_matcher("!anything", "")
    assert "unknown matcher tag !anything" in str(err.value)


def test_deep_matches_rules():
    assert matches({"a": [1, {"b": m("!any")}]}, {"a": [1.0, {"b": None}]})
    assert not matches({"a": 1}, {"a": 1, "b": 2})
    assert not matches([1], [1, 2])
    assert not matches(1, True)
    assert not matches(None, 0)
    assert matches(m("!type", "list"), [])


def test_render_value_is_compact_json_with_tags():
    assert render_value({"a": [1, None, True], "b": "é", "c": m("!regex", "x")}) == \
        '{"a": [1, null, true], "b": "é", "c": !regex \'x\'}'
    assert render_value(b"raw") == "b'raw'"
