"""Checks of a suite that the JSON Schema cannot express, made before anything runs.

- Tags where they belong: matchers only inside ``expect: return``, ``return_includes``
  and ``ret_msg``; ``!env`` only as a value under ``environment`` or ``role``; ``!replace`` only
  inside ``event``. Anywhere else a tag
  would silently mean something else (or break a later step), so it is a problem at its
  line, and the schema check passes over those places (see ``misplaced_tags``).
- Regular expressions compile: ``log`` ``regex`` / ``absent_regex``, ``error.message``,
  ``error.traceback`` (``!regex`` checks its own when the tag is read).
- ``return_schema`` is a valid JSON Schema (checked against the 2020-12 metaschema).
- Budgets (``duration_ms`` / ``memory_mb`` ``max``) are finite numbers: ``.nan`` and
  ``.inf`` are YAML numbers that pass any comparison the schema can make.

The data may break the schema in any way when these run (the schema problems are
reported beside them), so every check looks at a value's type before using it.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterator, List, Tuple

import jsonschema
from jsonschema.exceptions import SchemaError

from scftest.i18n import _
from scftest.matchers import Matcher, RegexMatcher, yaml_quote
from scftest.model import EnvRef, NodePath, Replace, SourceMap, SuiteProblem
from scftest.render import cut

MATCHER_PLACES = ("return", "return_includes", "ret_msg")
LIMIT_KEYS = ("duration_ms", "memory_mb")


def misplaced_tags(data: Any, source: SourceMap, at: NodePath = ()) -> Tuple[List[SuiteProblem], List[NodePath]]:
    """A problem for every matcher or ``!env`` outside its place, and those places.
    ``at``: where ``data`` sits in the document (("cases", 3) for one case)."""
    problems: List[SuiteProblem] = []
    places: List[NodePath] = []
    for path, value in _tagged(data, at):
        problem = _misplaced(path, value, source)
        if problem is not None:
            problems.append(problem)
            places.append(path)
    return problems, places


def value_problems(data: Any, source: SourceMap) -> List[SuiteProblem]:
    """Regular expressions that do not compile, an invalid return_schema, endless budgets."""
    cases = data.get("cases") if isinstance(data, dict) else None
    problems: List[SuiteProblem] = []
    for index, case in enumerate(cases if isinstance(cases, list) else ()):
        problems += case_value_problems(index, case, source)
    return problems


def case_value_problems(index: int, case: Any, source: SourceMap) -> List[SuiteProblem]:
    """``value_problems`` of the written case ``cases[index]``."""
    problems: List[SuiteProblem] = []
    for path, expect in _expects(index, case):
        problems.extend(_log_patterns(expect.get("log"), path + ("log",), source))
        error = expect.get("error")
        if isinstance(error, dict):
            for key in ("message", "traceback"):
                problems.extend(_pattern(error.get(key), path + ("error", key), f"error.{key}", source))
        if "return_schema" in expect:
            problems.extend(_return_schema(expect["return_schema"], path + ("return_schema",), source))
        for key in LIMIT_KEYS:
            problems.extend(_limit(expect.get(key), path + (key,), key, source))
    return problems


# --------------------------------------------------------------------------- tags


def _tagged(value: Any, path: NodePath = ()) -> Iterator[Tuple[NodePath, Any]]:
    """(path, tag object) for every matcher, !env and !replace in the document (not
    inside matchers; inside !replace, which holds plain data). Depth first, the last
    child first; a stack of iterators, one per level, not of every child of each level
    met: the cases of a 10,000-case file (a path and a pair each) were all stacked at once."""
    stack: List[Iterator[Tuple[NodePath, Any]]] = [iter(((path, value),))]
    while stack:
        step = next(stack[-1], None)
        if step is None:
            stack.pop()
            continue
        path, value = step
        if isinstance(value, (Matcher, EnvRef)):
            yield path, value
        elif isinstance(value, Replace):
            yield path, value
            stack.append(iter(((path, value.value),)))
        elif isinstance(value, dict):
            stack.append(_children(path, reversed(value.items())))
        elif isinstance(value, list):
            stack.append(_children(path, zip(reversed(range(len(value))), reversed(value))))


def _children(path: NodePath, items: Iterator[Tuple[Any, Any]]) -> Iterator[Tuple[NodePath, Any]]:
    for key, item in items:
        yield path + (key,), item


def _is_case_key(path: NodePath, key: str, subkeys: Tuple[str, ...] = ()) -> bool:
    """Whether ``path`` is at or under cases[i].<key> (and then one of ``subkeys``, if given)."""
    if len(path) < 3 or path[0] != "cases" or not isinstance(path[1], int) or path[2] != key:
        return False
    return not subkeys or (len(path) >= 4 and path[3] in subkeys)


def _as_case_path(path: NodePath) -> NodePath:
    """A warm-start step's path as if the step were its case (cases[i].invocations[j].X
    -> cases[i].X): a step's event and expect take what a case's take."""
    if len(path) >= 5 and path[0] == "cases" and path[2] == "invocations" and isinstance(path[3], int):
        return path[:2] + path[4:]
    return path


def _matcher_allowed(path: NodePath) -> bool:
    return _is_case_key(_as_case_path(path), "expect", MATCHER_PLACES)


def _env_allowed(path: NodePath) -> bool:
    """A value under ``environment`` or ``role`` (of the function or of a case), or under
    one of ``matrix: environment``'s mappings."""
    if len(path) == 4 and path[:2] == ("matrix", "environment"):
        return True
    return any((len(path) == 3 and path[:2] == ("function", key)) or (
        len(path) == 4 and _is_case_key(path, key)) for key in ("environment", "role"))


def _in_event(path: NodePath) -> bool:
    """Under a case's ``event`` (or a warm-start step's: cases[i].invocations[j].event)."""
    return _is_case_key(_as_case_path(path), "event")


def _misplaced(path: NodePath, value: Any, source: SourceMap) -> Any:
    mark = source.at(path)
    if isinstance(value, Replace):
        if _in_event(path):
            return None
        return SuiteProblem(source.file, mark.line, mark.col, _("!replace is only allowed inside event:"),
                            _("it replaces what a trigger template or event file holds; elsewhere write "
                              "the value plainly"))
    if isinstance(value, EnvRef):
        if _env_allowed(path):
            return None
        return SuiteProblem(source.file, mark.line, mark.col,
                            _("{tag} is only allowed as a value under environment: or role:").format(tag=repr(value)),
                            _("write it like DB_PASSWORD: !env DB_PASSWORD under environment:"))
    if _matcher_allowed(path):
        return None
    return SuiteProblem(source.file, mark.line, mark.col,
                        _("the matcher {matcher} is only allowed inside expect: return, "
                          "return_includes or ret_msg").format(matcher=cut(repr(value), 60)), _matcher_hint(path, value))


def _matcher_hint(path: NodePath, value: Any) -> str:
    pattern = value.pattern if isinstance(value, RegexMatcher) else None
    path = _as_case_path(path)
    inside_expect = _is_case_key(path, "expect")
    if inside_expect and len(path) >= 5 and path[3] == "log":
        if pattern is not None:
            return _("a log entry is text or a mapping: write - regex: {pattern}").format(pattern=yaml_quote(pattern))
        return _("write the text that must appear in the log, or - regex: 'a pattern'")
    if inside_expect and len(path) >= 5 and path[3] == "error" and path[4] in ("message", "traceback"):
        example = yaml_quote(pattern) if pattern is not None else _("'a pattern'")
        return _("error.{key} is already a regular expression: write {key}: {example}").format(key=path[4], example=example)
    if inside_expect and len(path) >= 5 and path[3] == "error" and path[4] == "type":
        return _("error.type is the exception's class name: write type: ValueError (or myapp.errors.NotFound)")
    return _("write a plain value here")


# ---------------------------------------------------------------------- expectations


def _expects(index: int, case: Any) -> Iterator[Tuple[NodePath, dict]]:
    if isinstance(case, dict) and isinstance(case.get("expect"), dict):
        yield ("cases", index, "expect"), case["expect"]
    steps = case.get("invocations") if isinstance(case, dict) else None
    for number, step in enumerate(steps if isinstance(steps, list) else ()):
        if isinstance(step, dict) and isinstance(step.get("expect"), dict):
            yield ("cases", index, "invocations", number, "expect"), step["expect"]


def _log_patterns(log: Any, path: NodePath, source: SourceMap) -> Iterator[SuiteProblem]:
    for index, entry in enumerate(log if isinstance(log, list) else ()):
        if not isinstance(entry, dict):
            continue
        for kind in ("regex", "absent_regex"):
            yield from _pattern(entry.get(kind), path + (index, kind), f"log[{index}].{kind}", source)


def _pattern(pattern: Any, path: NodePath, what: str, source: SourceMap) -> List[SuiteProblem]:
    if not isinstance(pattern, str):
        return []
    try:
        re.compile(pattern, re.MULTILINE)  # the flags the checker searches with
    except re.error as exc:
        return [_problem(source, path, _("{what} {pattern} is not a valid regular expression ({error})").format(
            what=what, pattern=cut(yaml_quote(pattern), 60), error=exc),
            _("fix the pattern; to match text literally, put a backslash before any of "
              ". ^ $ * + ? ( ) [ ] {{ }} | \\").format())]
    except (RecursionError, OverflowError, ValueError) as exc:  # nesting or counts past re's limits
        return [_problem(source, path, _("{what} is too complex a regular expression ({error})").format(
            what=what, error=type(exc).__name__), _("simplify the pattern"))]
    return []


def _return_schema(schema: Any, path: NodePath, source: SourceMap) -> List[SuiteProblem]:
    if not isinstance(schema, (dict, bool)):
        return []  # the suite schema says what it must be
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        where = path + tuple(exc.path)
        shown = "return_schema" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in exc.path)
        return [_problem(source, where, _("{place} is not a valid JSON Schema: {error}").format(
            place=shown, error=cut(exc.message, 160)),
            _("see https://json-schema.org/understanding-json-schema/ (draft 2020-12), "
              "e.g. return_schema: {{type: object, required: [statusCode]}}").format())]
    except RecursionError:
        return [_problem(source, path, _("return_schema is nested too deeply to be checked"), _("flatten it"))]
    return []


def _limit(limit: Any, path: NodePath, key: str, source: SourceMap) -> List[SuiteProblem]:
    if not isinstance(limit, dict):
        return []
    value = limit.get("max")
    if isinstance(value, float) and not math.isfinite(value):
        unit = _("milliseconds") if key == "duration_ms" else "MB"
        example = "500" if key == "duration_ms" else "64"
        written = ".nan" if math.isnan(value) else (".inf" if value > 0 else "-.inf")
        return [_problem(source, path + ("max",), _("{key}.max must be a finite number, not {value}").format(
            key=key, value=written), _("write the budget in {unit}, e.g. {key}: {{max: {example}}}").format(
                unit=unit, key=key, example=example))]
    return []


def _problem(source: SourceMap, path: NodePath, message: str, hint: str) -> SuiteProblem:
    mark = source.at(path)
    return SuiteProblem(source.file, mark.line, mark.col, message, hint)
