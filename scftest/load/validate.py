"""Check a parsed suite against ``schemas/suite.schema.json`` and say what is wrong in plain words.

The schema is the single description of the format. Its ``description`` and standard
``examples`` annotations feed the messages, so a wrong type is explained with a one-line
example of the right form: the example values written as YAML under the key the problem is
at. The schema holds only JSON Schema 2020-12 keywords (strict validators such as ajv's
strict mode accept it); what scftest says beyond them is kept here.
"""

from __future__ import annotations

import difflib
import json
from functools import lru_cache
from pathlib import Path
from typing import Any, List, Optional, Sequence

import jsonschema
from jsonschema.exceptions import ValidationError

from scftest.i18n import N_, _
from scftest.matchers import Matcher
from scftest.model import EnvRef, NodePath, Replace, SourceMap, SuiteProblem
from scftest.render import cut, yaml_example
from scftest.scf import images

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "schemas" / "suite.schema.json"

# Said of a runtime the schema's enum leaves out (strict JSON Schema validators refuse
# keywords of one's own, so this is not in the schema).
_RUNTIME_REFUSED = N_("SCF does not offer it (scftest 1.0 ran any Python3.N; contract 1.1 refuses it)")

_JSON_TYPES = {  # in English; shown as _(words)
    "string": N_("text"),
    "integer": N_("a whole number"),
    "number": N_("a number"),
    "boolean": N_("true or false"),
    "object": N_("a mapping (key: value lines)"),
    "array": N_("a list (lines starting with '- ', or [a, b])"),
    "null": N_("empty"),
}


# The schema keywords whose failure quotes the failing node's description as the hint.
HINT_KEYWORDS = ("minimum", "maximum", "exclusiveMinimum", "multipleOf", "anyOf", "oneOf", "pattern")


def hint_descriptions(schema: Any) -> List[str]:
    """The descriptions a problem can quote as its hint (the catalog translates them)."""
    found: List[str] = []
    if isinstance(schema, dict):
        if isinstance(schema.get("description"), str) and any(k in schema for k in HINT_KEYWORDS):
            found.append(schema["description"])
        for value in schema.values():
            found += hint_descriptions(value)
    elif isinstance(schema, list):
        for value in schema:
            found += hint_descriptions(value)
    return found


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _validator() -> jsonschema.protocols.Validator:
    return jsonschema.Draft202012Validator(load_schema())


@lru_cache(maxsize=1)
def _case_validator() -> jsonschema.protocols.Validator:
    """The schema's ``case``, with the schema's definitions for what it refers to."""
    schema = load_schema()
    return jsonschema.Draft202012Validator({"$schema": schema["$schema"], "$id": schema["$id"],
                                            "$defs": schema["$defs"], "$ref": "#/$defs/case"})


def schema_problems(data: Any, source: SourceMap, misplaced: Sequence[NodePath] = ()) -> List[SuiteProblem]:
    """Every schema violation in ``data``, as problems sorted by line.

    Matchers and !env stand where text stands (a ret_msg, an environment value): the
    schema sees them as the text they were written as. ``misplaced`` are the places of
    tags that do not belong where they are (``checks.misplaced_tags`` reports those);
    what the schema would add about them is left out.
    """
    return _problems(_validator(), data, (), source, data, misplaced)


def case_schema_problems(index: int, case: Any, source: SourceMap,
                         misplaced: Sequence[NodePath] = ()) -> List[SuiteProblem]:
    """``schema_problems`` of the written case ``cases[index]`` alone: the same problems
    a check of the whole document gives at that case."""
    # describe_path names a case by data["cases"][index]["name"]: a mapping of one index does
    return _problems(_case_validator(), case, ("cases", index), source, {"cases": {index: case}}, misplaced)


def _problems(validator: jsonschema.protocols.Validator, value: Any, at: NodePath, source: SourceMap, data: Any,
              misplaced: Sequence[NodePath]) -> List[SuiteProblem]:
    errors = [e for e in validator.iter_errors(_as_written(value))
              if not _under(at + tuple(e.absolute_path), misplaced)]
    problems = [_explain(error, at, source, data) for error in errors]
    unique = {(p.line, p.col, p.message): p for p in problems}
    return sorted(unique.values(), key=lambda p: (p.line, p.col))


def _as_written(value: Any) -> Any:
    """``value`` with every matcher and !env replaced by its text (``!regex '^a'``), and
    every !replace by the value it holds. A mapping or list that holds none of them is
    ``value`` itself, not a copy: a copy of a 10,000-case document made loading's peak
    memory half as much again as the document."""
    if isinstance(value, (EnvRef, Matcher)):
        return repr(value)
    if isinstance(value, Replace):
        return _as_written(value.value)
    if isinstance(value, dict):
        written = {key: _as_written(item) for key, item in value.items()}
        return value if all(written[key] is item for key, item in value.items()) else written
    if isinstance(value, list):
        items = [_as_written(item) for item in value]
        return value if all(new is old for new, old in zip(items, value)) else items
    return value


def _under(path: NodePath, places: Sequence[NodePath]) -> bool:
    return any(path[:len(place)] == place for place in places)


def _explain(error: ValidationError, at: NodePath, source: SourceMap, data: Any) -> SuiteProblem:
    """The problem ``error`` (of the value at ``at`` in the document) says, in words."""
    error = _most_specific(error)
    path: NodePath = at + tuple(error.absolute_path)
    where = describe_path(path, data)
    kind = error.validator
    if kind == "additionalProperties":
        return _unknown_key(error, path, source, where)
    mark = source.at(path)
    if kind == "required":
        missing = error.message.split("'")[1] if "'" in error.message else _("a key")
        example = _example_for(error.schema.get("properties", {}).get(missing, {}), missing) or _example(error, path)
        return _problem(source, mark, _("{where} needs the key '{key}'").format(where=where, key=missing),
                        _with_example(_("add it"), example))
    if kind == "type":
        wanted = _wanted_types(error.validator_value)
        return _problem(source, mark, _("{where} must be {wanted}, not {value}").format(
            where=where, wanted=wanted, value=_describe_value(error.instance)),
            _with_example(_("write it like this"), _example(error, path)))
    if kind in ("enum", "const"):
        return _bad_choice(error, where, mark, source)
    if kind in ("minimum", "maximum", "exclusiveMinimum", "multipleOf", "anyOf", "oneOf"):
        text = _(error.schema["description"]) if error.schema.get("description") else error.message
        return _problem(source, mark, _("{where} has a value that is not allowed: {value}").format(
            where=where, value=_short(error.instance)), _with_example(text.rstrip(".。"), _example(error, path)))
    if kind == "pattern":
        text = (_(error.schema["description"]) if error.schema.get("description")
                else _("it must match {pattern}").format(pattern=error.validator_value))
        return _problem(source, mark, _("{where} is not valid: {value}").format(where=where, value=_short(error.instance)),
                        _with_example(text.rstrip(".。"), _example(error, path)))
    if kind == "propertyNames":
        return _problem(source, mark, _("{where} has a variable name that is not allowed: {value}").format(
            where=where, value=_short(error.instance)), _("names are letters, digits and '_', not starting with a digit"))
    if kind in ("minLength", "minItems", "minProperties"):
        return _problem(source, mark, _("{where} is empty").format(where=where),
                        _with_example(_("give it a value"), _example(error, path)))
    if kind == "maxItems":
        return _problem(source, mark, _("{where} has {count} items; at most {limit} are allowed").format(
            where=where, count=len(error.instance), limit=error.validator_value), _("split it into several cases"))
    return _problem(source, mark, f"{where}: {error.message}", _with_example("", _example(error, path)))


def _most_specific(error: ValidationError) -> ValidationError:
    """For anyOf/oneOf, the branch error that best explains the problem, when there is one."""
    if error.validator in ("anyOf", "oneOf") and error.context:
        deeper = [e for e in error.context if len(e.absolute_path) > len(error.absolute_path)]
        if deeper:
            return _most_specific(jsonschema.exceptions.best_match(deeper))
        # An object branch that rejects a key explains a typo better than "not a string".
        typo = [e for e in error.context if e.validator == "additionalProperties"]
        if typo and isinstance(error.instance, dict):
            return typo[0]
    return error


def _unknown_key(error: ValidationError, path: NodePath, source: SourceMap, where: str) -> SuiteProblem:
    allowed = sorted(error.schema.get("properties", {}))
    extra = [key for key in error.instance if key not in allowed]
    key = extra[0] if extra else "?"
    mark = source.at(path + (key, "<key>"))
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        hint = _("did you mean '{name}'?").format(name=close[0])
    else:
        hint = _("the keys allowed here are: {keys}").format(keys=", ".join(allowed))
    message = _("unknown key '{key}' in {where}").format(key=key, where=where)
    if len(extra) > 1:
        message += _(" (and {keys})").format(keys=", ".join(repr(k) for k in extra[1:]))
    return _problem(source, mark, message, hint)


def _bad_choice(error: ValidationError, where: str, mark, source: SourceMap) -> SuiteProblem:
    choices = error.validator_value if error.validator == "enum" else [error.validator_value]
    words = [str(c) for c in choices]
    hint = _("use one of: {choices}").format(choices=", ".join(words))
    # Why the choices are what they are (a runtime SCF does not offer), where a near miss
    # ("Python3.8" for "Python3.9") would be bad advice; a different case only ("python3.6")
    # is still a plain slip.
    why = _(_RUNTIME_REFUSED) if sorted(words) == sorted(images.runtimes()) else None
    if isinstance(error.instance, str):
        same = [w for w in words if w.lower() == error.instance.lower()]
        close = same or ([] if why else difflib.get_close_matches(error.instance, words, n=1, cutoff=0.6))
        if close:
            hint = _("did you mean '{name}'? ({choices})").format(name=close[0], choices=hint)
        elif why:
            hint = f"{why}: {hint}"
    return _problem(source, mark, _("{where} cannot be {value}").format(where=where, value=_short(error.instance)),
                    hint)


def _problem(source: SourceMap, mark, message: str, hint: str) -> SuiteProblem:
    return SuiteProblem(source.file, mark.line, mark.col, message, hint)


def _example(error: ValidationError, path: NodePath) -> Optional[str]:
    """The schema's examples for ``error``, at ``path`` in the document."""
    return _example_for(error.schema, path[-1] if path else None)


def _example_for(schema: Any, key: Any) -> Optional[str]:
    """The schema's ``examples`` as YAML under ``key`` (the problem's mapping key, a list
    index, or None for the whole suite), one per line."""
    if not isinstance(schema, dict):
        return None
    if schema.get("examples"):
        return "\n".join(yaml_example(key, value) for value in schema["examples"])
    ref = schema.get("$ref", "")
    if ref.startswith("#/$defs/"):
        return _example_for(load_schema()["$defs"].get(ref[len("#/$defs/"):]), key)
    return None


def _with_example(text: str, example: Optional[str]) -> str:
    if not example:
        return text
    shown = example.replace("\n", " / ")
    return _("{text}, e.g. {example}").format(text=text, example=shown) if text else _("e.g. {example}").format(
        example=shown)


def _wanted_types(value: Any) -> str:
    names = value if isinstance(value, list) else [value]
    return _(" or ").join(_(_JSON_TYPES[n]) if n in _JSON_TYPES else n for n in names)


def _describe_value(value: Any) -> str:
    if isinstance(value, bool):
        return f"{str(value).lower()} (true/false)"
    if isinstance(value, (int, float)):
        return _("the number {value}").format(value=value)
    if isinstance(value, str):
        return _("the text {value}").format(value=_short(value))
    if isinstance(value, list):
        return _("a list")
    if isinstance(value, dict):
        return _("a mapping")
    if value is None:
        return _("empty")
    return repr(value)


def _short(value: Any, limit: int = 60) -> str:
    text = json.dumps(value, ensure_ascii=False, default=repr) if not isinstance(value, str) else repr(value)
    return cut(text, limit)


def describe_path(path: NodePath, data: Any = None) -> str:
    """("cases", 2, "expect", "status") -> "case 'slow path': expect.status"; () -> "the suite".

    People know their cases by name, not by index, so a case is named when it has one.
    """
    parts = list(path)
    prefix = ""
    if len(parts) >= 2 and parts[0] == "cases" and isinstance(parts[1], int):
        name = _case_name(data, parts[1])
        prefix = _("case '{name}'").format(name=name) if name else _("case #{number}").format(number=parts[1] + 1)
        parts = parts[2:]
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    if prefix:
        return _("{case}: {place}").format(case=prefix, place=text) if text else prefix
    return text or _("the suite")


def _case_name(data: Any, index: int) -> str:
    try:
        name = data["cases"][index]["name"]
    except (KeyError, IndexError, TypeError):
        return ""
    return name if isinstance(name, str) else ""
