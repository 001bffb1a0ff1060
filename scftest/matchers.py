"""Matchers: the YAML tags that stand for "any value like this" inside an expected value.

One small frozen class per tag, and ``MATCHERS``, the one list of them. A class carries
everything the rest of scftest needs to know about its tag: the tag itself, how it is built
from the value of the tagged node (``from_yaml``: the raw scalar text for ``!type int``, a
mapping for ``!approx {value: 1, tol: 0.1}``, any constructed value for ``!json``) and what
may follow the tag in YAML (``forms``: the words of VS Code's ``yaml.customTags``). The
loader's tag table, ``scftest init``'s editor settings and docs/editors.md follow that list
(tests/test_matchers.py and tests/authoring/test_scaffold.py check the docs against it), so a
new matcher is one class, one entry in ``MATCHERS`` and its row in the docs. The suite schema
needs nothing per matcher: matchers stand only under ``expect`` where any value or text is
allowed, and the schema sees them as the text they were written as.

The loader calls ``build_matcher(tag, value)`` and reports a ``MatcherError`` with the file
and line.

Each matcher answers ``explain(actual)``: None when ``actual`` matches, otherwise a reason
in plain words. Its ``repr`` looks like what the user wrote (``!regex '^a'``), so that a
failure report can quote the expectation back.

``matches(expected, actual)`` is the deep equality every matcher and the checker share:
matchers may sit anywhere inside ``expected``; a bool is never equal to a number; an int
equals the float with the same value (JSON does not tell 1 from 1.0 apart reliably).
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import Any, ClassVar, Dict, Mapping, Optional, Tuple, Type

from scftest.errors import ScftestError
from scftest.i18n import _
from scftest.patterns import search
from scftest.render import PHRASE_WIDTH, render_value, short_text, yaml_quote


class MatcherError(ScftestError, ValueError):
    """A malformed matcher in a suite: what is wrong, and an example of the right form."""

    def __init__(self, problem: str, example: str) -> None:
        super().__init__(_("{problem}; write it like: {example}").format(problem=problem, example=example))
        self.problem = problem
        self.example = example


# What may follow a tag in YAML, in the words of yaml-language-server's ``yaml.customTags``.
SCALAR, MAPPING, SEQUENCE = "scalar", "mapping", "sequence"


class Matcher:
    """Base of every matcher. Subclasses set ``tag`` and ``forms`` and implement
    ``from_yaml`` and ``explain``."""

    tag: ClassVar[str] = ""
    forms: ClassVar[Tuple[str, ...]] = (SCALAR,)  # the node kinds ``from_yaml`` accepts

    @classmethod
    def from_yaml(cls, value: Any) -> Matcher:
        """The matcher for the value of a node tagged ``tag``; MatcherError when malformed."""
        raise NotImplementedError

    def explain(self, actual: Any) -> Optional[str]:
        """None when ``actual`` matches; otherwise why not, in plain words."""
        raise NotImplementedError

    def match(self, actual: Any) -> bool:
        return self.explain(actual) is None

    def arguments(self) -> Dict[str, Any]:
        """What the matcher was written with, by name (for the JSON report)."""
        return {}

    def as_data(self) -> Dict[str, Any]:
        """The matcher as plain data: ``{"matcher": "regex", "pattern": "^a", "yaml": "!regex '^a'"}``."""
        return {"matcher": self.tag.lstrip("!"), **self.arguments(), "yaml": repr(self)}


# --- value words shared by matchers and the checker ------------------------------------


def is_number(value: Any) -> bool:
    """int or float, never bool: ``true`` is not the number 1 in a JSON document."""
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def type_word(value: Any) -> str:
    """The JSON type name of a value, in the words ``!type`` uses."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, Mapping):
        return "dict"
    if isinstance(value, Matcher):
        return "matcher"
    return type(value).__name__


def same_scalar(expected: Any, actual: Any) -> bool:
    """Equality of two leaves, with JSON's idea of types (bool is not a number)."""
    if isinstance(expected, bool) or isinstance(actual, bool):
        return isinstance(expected, bool) and isinstance(actual, bool) and expected == actual
    if is_number(expected) and is_number(actual):
        return expected == actual
    if type_word(expected) != type_word(actual):  # "1" is not 1, null is not ""
        return False
    try:
        return bool(expected == actual)
    except Exception:  # an exotic actual object whose __eq__ raises: simply not equal
        return False


def matches(expected: Any, actual: Any) -> bool:
    """Deep equality where ``expected`` may hold matchers anywhere."""
    if isinstance(expected, Matcher):
        return expected.match(actual)
    if isinstance(expected, Mapping):
        if not isinstance(actual, Mapping) or set(expected) != set(actual):
            return False
        return all(matches(value, actual[key]) for key, value in expected.items())
    if isinstance(expected, (list, tuple)):
        if not isinstance(actual, (list, tuple)) or len(expected) != len(actual):
            return False
        return all(matches(e, a) for e, a in zip(expected, actual))
    return same_scalar(expected, actual)


def _text(value: Any) -> Optional[str]:
    """The scalar text of a node value; None when the node was a mapping or a list."""
    if value is None:
        return ""
    if isinstance(value, (Mapping, list, tuple)):
        return None
    return value if isinstance(value, str) else str(value)


def describe(value: Any) -> str:
    """A short phrase naming a value and its type, for reasons: ``the int 42``."""
    text = short_text(value, PHRASE_WIDTH)
    word = type_word(value)
    return text if word == "null" else _("the {type} {value}").format(type=word, value=text)


# --- the matchers ------------------------------------------------------------------------


@dataclass(frozen=True)
class AnyMatcher(Matcher):
    """``!any``: anything at all, null included."""

    tag: ClassVar[str] = "!any"

    @classmethod
    def from_yaml(cls, value: Any) -> Matcher:
        if _text(value) != "":
            raise MatcherError(_("!any takes no value, it matches anything"), "created: !any")
        return cls()

    def explain(self, actual: Any) -> Optional[str]:
        return None

    def __repr__(self) -> str:
        return "!any"


# Canonical names first; the aliases are the JSON Schema and Python spellings people try.
_TYPE_NAMES = {
    "string": "string", "str": "string",
    "int": "int", "integer": "int",
    "number": "number", "float": "number",
    "bool": "bool", "boolean": "bool",
    "list": "list", "array": "list",
    "dict": "dict", "object": "dict", "mapping": "dict",
    "null": "null", "none": "null",
}
TYPE_NAMES: Tuple[str, ...] = ("string", "int", "number", "bool", "list", "dict", "null")


def has_type(value: Any, name: str) -> bool:
    """Whether ``value`` is of the canonical type ``name``: bool is not int; int is a number."""
    if name == "number":
        return is_number(value)
    return type_word(value) == name


@dataclass(frozen=True)
class TypeMatcher(Matcher):
    """``!type int``: a value of one JSON type."""

    name: str  # as written, e.g. "integer"
    tag: ClassVar[str] = "!type"

    @classmethod
    def from_yaml(cls, value: Any) -> Matcher:
        example = "count: !type int"
        text = _text(value)
        if not text or not text.strip():
            raise MatcherError(_("!type needs a type name: {names}").format(names=", ".join(TYPE_NAMES)), example)
        name = text.strip()
        if name.lower() not in _TYPE_NAMES:
            raise MatcherError(_("!type does not know the type '{name}'; use one of {names}").format(
                name=name, names=", ".join(TYPE_NAMES)), example)
        return cls(name)

    @property
    def canonical(self) -> str:
        return _TYPE_NAMES[self.name.lower()]

    def arguments(self) -> Dict[str, Any]:
        return {"type": self.canonical}

    def explain(self, actual: Any) -> Optional[str]:
        if has_type(actual, self.canonical):
            return None
        return _("expected a value of type {type}, got {actual}").format(type=self.canonical, actual=describe(actual))

    def __repr__(self) -> str:
        return f"!type {self.name}"


@dataclass(frozen=True)
class RegexMatcher(Matcher):
    """``!regex P``: a string in which P is found (``re.search``'s meaning, searched with a
    time bound: ``scftest.patterns``; anchor with ^…$)."""

    pattern: str
    tag: ClassVar[str] = "!regex"

    @classmethod
    def from_yaml(cls, value: Any) -> Matcher:
        example = "id: !regex '^[0-9a-f]{8}$'"
        text = _text(value)
        if text is None:
            raise MatcherError(_("!regex needs a regular expression, not a list or mapping"), example)
        try:
            re.compile(text)
        except re.error as exc:
            raise MatcherError(_("!regex {pattern} is not a valid regular expression ({error})").format(
                pattern=yaml_quote(text), error=exc), example) from None
        return cls(text)

    def arguments(self) -> Dict[str, Any]:
        return {"pattern": self.pattern}

    def explain(self, actual: Any) -> Optional[str]:
        if not isinstance(actual, str):
            return _("expected a string for {matcher}, got {actual}").format(matcher=repr(self), actual=describe(actual))
        if search(self.pattern, actual):  # bounded in time; raises PatternTimeout past it
            return None
        return _("the pattern {pattern} is not found in the string").format(pattern=yaml_quote(self.pattern))

    def __repr__(self) -> str:
        return f"!regex {yaml_quote(self.pattern)}"


def scalar_meanings(text: str) -> Tuple[Any, ...]:
    """What a raw YAML scalar may stand for in a list: ``42`` means 42 or "42"."""
    meanings: list = [text]
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        meanings.append(lowered == "true")
    elif lowered in ("null", "~"):
        meanings.append(None)
    else:
        for convert in (int, float):
            try:
                meanings.append(convert(text))
                break
            except ValueError:
                continue
    return tuple(meanings)


@dataclass(frozen=True)
class ContainsMatcher(Matcher):
    """``!contains S``: a string containing S, or a list with an item that matches S.

    A list item matches when it equals S; a bare scalar written in YAML may mean a number
    or a string, so ``!contains 42`` finds 42 and "42". S may also be a mapping, a list
    or a matcher (``!contains {id: 1}``), compared with ``matches``.
    """

    needle: Any
    tag: ClassVar[str] = "!contains"
    forms: ClassVar[Tuple[str, ...]] = (SCALAR, MAPPING, SEQUENCE)

    @classmethod
    def from_yaml(cls, value: Any) -> Matcher:
        example = "message: !contains not found"
        if value is None or value == "":
            raise MatcherError(_("!contains needs the text or item to look for"), example)
        return cls(value)

    def arguments(self) -> Dict[str, Any]:
        return {"needle": self.needle}

    def explain(self, actual: Any) -> Optional[str]:
        if isinstance(actual, str):
            if not isinstance(self.needle, str):
                return _("expected a list for {matcher}, got {actual}").format(matcher=repr(self), actual=describe(actual))
            if self.needle in actual:
                return None
            return _("the string does not contain {needle}").format(needle=render_value(self.needle))
        if isinstance(actual, (list, tuple)):
            wanted = scalar_meanings(self.needle) if isinstance(self.needle, str) else (self.needle,)
            if any(matches(w, item) for w in wanted for item in actual):
                return None
            return _("no item of the list matches {needle}").format(needle=render_value(self.needle))
        return _("expected a string or a list for {matcher}, got {actual}").format(matcher=repr(self),
                                                                                  actual=describe(actual))

    def __repr__(self) -> str:
        if isinstance(self.needle, str):
            return f"!contains {yaml_quote(self.needle)}"
        return f"!contains {render_value(self.needle)}"

    def __hash__(self) -> int:
        return hash((self.tag, repr(self)))


DEFAULT_REL_TOL = 1e-6
_ABS_FLOOR = 1e-12  # so that !approx 0 accepts the 1e-17 that float arithmetic leaves


@dataclass(frozen=True)
class ApproxMatcher(Matcher):
    """``!approx N`` (relative 1e-6) or ``!approx {value: N, tol: T}`` (absolute T,
    or relative when written as a percentage: ``tol: 1%``)."""

    value: float
    tol: Optional[float] = None  # absolute; None means the default relative tolerance
    rel: Optional[float] = None  # relative, from a percentage
    written_tol: str = ""  # the tolerance as written, for repr
    tag: ClassVar[str] = "!approx"
    forms: ClassVar[Tuple[str, ...]] = (SCALAR, MAPPING)

    @classmethod
    def from_yaml(cls, value: Any) -> Matcher:
        if isinstance(value, Mapping):
            return _approx_from_mapping(value)
        text = _text(value)
        number = _parse_number(text)
        if number is None:
            raise MatcherError(_("!approx needs a number, got {value}").format(value=render_value(value)),
                               "price: !approx 9.99   or   price: !approx {value: 9.99, tol: 0.01}")
        return cls(number)

    def arguments(self) -> Dict[str, Any]:
        if self.tol is not None:
            return {"value": self.value, "tol": self.tol}
        return {"value": self.value, "rel": DEFAULT_REL_TOL if self.rel is None else self.rel}

    def explain(self, actual: Any) -> Optional[str]:
        if not is_number(actual):
            return _("expected a number, got {actual}").format(actual=describe(actual))
        if self._close(float(actual)):
            return None
        return _("{actual} is not within {tolerance} of {value}").format(
            actual=render_value(actual), tolerance=self._tolerance_words(), value=_num(self.value))

    def _close(self, actual: float) -> bool:
        if self.tol is not None:
            return abs(actual - self.value) <= self.tol
        rel = DEFAULT_REL_TOL if self.rel is None else self.rel
        return math.isclose(actual, self.value, rel_tol=rel, abs_tol=_ABS_FLOOR)

    def _tolerance_words(self) -> str:
        if self.tol is not None:
            return f"±{_num(self.tol)}"
        rel = DEFAULT_REL_TOL if self.rel is None else self.rel
        return f"±{_num(round(rel * 100, 12))}%"

    def __repr__(self) -> str:
        if not self.written_tol:
            return f"!approx {_num(self.value)}"
        return f"!approx {{value: {_num(self.value)}, tol: {self.written_tol}}}"


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else repr(value)


def _approx_from_mapping(value: Mapping) -> Matcher:
    example = "price: !approx {value: 9.99, tol: 0.01}"
    unknown = sorted(set(value) - {"value", "tol"})
    if unknown:
        raise MatcherError(_("!approx takes the keys value and tol, not {keys}").format(keys=", ".join(map(str, unknown))),
                           example)
    number = _parse_number(value.get("value"))
    if number is None:
        raise MatcherError(_("!approx needs a number under value, got {value}").format(
            value=render_value(value.get("value"))),
                           example)
    if "tol" not in value:
        return ApproxMatcher(number)
    written = value["tol"]
    text = _text(written)
    if text is not None and text.strip().endswith("%"):
        percent = _parse_number(text.strip()[:-1])
        if percent is None or percent < 0:
            raise MatcherError(_("!approx tol {tol} is not a percentage").format(tol=repr(text)), "tol: 1%")
        return ApproxMatcher(number, rel=percent / 100, written_tol=text.strip())
    tol = _parse_number(written)
    if tol is None or tol < 0:
        raise MatcherError(_("!approx tol must be a number of zero or more, got {value}").format(
            value=render_value(written)),
                           example)
    return ApproxMatcher(number, tol=tol, written_tol=_num(tol))


def _parse_number(value: Any) -> Optional[float]:
    """A finite number from a YAML number or its raw text; None otherwise (bools too)."""
    if is_number(value):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    try:
        number = float(value.strip().replace("_", ""))
    except ValueError:
        return None
    return number if math.isfinite(number) else None


@dataclass(frozen=True, eq=False)
class JsonMatcher(Matcher):
    """``!json X``: a string that parses as JSON and whose value matches X."""

    expected: Any
    tag: ClassVar[str] = "!json"
    forms: ClassVar[Tuple[str, ...]] = (SCALAR, MAPPING, SEQUENCE)

    @classmethod
    def from_yaml(cls, value: Any) -> Matcher:
        # A scalar under !json is raw text: JSON text stands for its value (!json 42, !json
        # '{"id": 1}'); any other text stands for that JSON string (!json hello).
        if value is None or (isinstance(value, str) and not value.strip()):
            raise MatcherError(_("!json needs the value the JSON must match"),
                               "body: !json {id: 42, name: !type string}")
        if isinstance(value, str):
            try:
                return cls(json.loads(value))
            except ValueError:
                return cls(value)
        return cls(value)

    def arguments(self) -> Dict[str, Any]:
        return {"expected": self.expected}

    def parse(self, actual: Any) -> Tuple[bool, Any]:
        """(True, decoded value) or (False, the reason it is not a JSON string)."""
        if not isinstance(actual, str):
            return False, _("expected a string holding JSON, got {actual}").format(actual=describe(actual))
        try:
            return True, json.loads(actual)
        except ValueError as exc:
            return False, _("the string is not valid JSON ({error})").format(error=exc)

    def explain(self, actual: Any) -> Optional[str]:
        ok, value = self.parse(actual)
        if not ok:
            return value
        if matches(self.expected, value):
            return None
        return _("the JSON in the string does not match {expected}").format(expected=render_value(self.expected))

    def __repr__(self) -> str:
        return f"!json {render_value(self.expected)}"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, JsonMatcher) and _same_structure(self.expected, other.expected)

    def __hash__(self) -> int:
        return hash((self.tag, repr(self)))


def _same_structure(a: Any, b: Any) -> bool:
    """Structural equality of two expected trees (``==`` would call 1 == True equal)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, Mapping):
        return set(a) == set(b) and all(_same_structure(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same_structure(x, y) for x, y in zip(a, b))
    return a == b


# --- the registry ------------------------------------------------------------------------

# Every matcher scftest knows, in the order the docs list them. The loader's tag table,
# ``scftest init``'s yaml.customTags and the docs follow this tuple.
MATCHERS: Tuple[Type[Matcher], ...] = (AnyMatcher, TypeMatcher, RegexMatcher, ContainsMatcher,
                                       ApproxMatcher, JsonMatcher)
MATCHER_TAGS: Tuple[str, ...] = tuple(kind.tag for kind in MATCHERS)


def build_matcher(tag: str, value: Any) -> Matcher:
    """The matcher for a YAML tag and the value of its node; MatcherError when malformed."""
    for kind in MATCHERS:
        if kind.tag == tag:
            return kind.from_yaml(value)
    raise MatcherError(_("unknown matcher tag {tag}; scftest knows {tags}").format(tag=tag, tags=", ".join(MATCHER_TAGS)),
                       "created: !type string")
