"""Write ``expect`` keys into a suite file's text, every other byte kept as it is.

The edit is a splice of the few lines that change. A round-trip dump (ruamel.yaml's included)
re-emits the whole document with one global indentation and flow spacing, which rewrites
hand-made files that mix styles; splicing cannot. ruamel.yaml renders the new value, so quoting
and block layout follow YAML's rules. Each edit is then proven: the new file is parsed the way
the loader parses it, and must equal the old document plus exactly the new keys; an edit that
fails the proof (anchors, aliases, merge keys sharing text with other places) is not made, and
the caller hears why.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from scftest.errors import ScftestError
from scftest.load.loader import suite_tags
from scftest.model import UNSET
from scftest.render import EDIT_WIDTH, cut
from scftest.load.yamlio import YamlError, parse_text
# The loader's composer: libyaml when present (the pure-Python one makes recording a 200-case
# suite take minutes). Its nodes carry the marks the splices cut at.
from scftest.load.yamlio import SafeComposer as _COMPOSER

# A recorded value longer than this is no longer something a person reads or maintains.
MAX_RECORDED_LINES = 300


class UnsafeEdit(ScftestError):
    """The edit cannot be made without touching something else; the message says why."""


# Where an expectation goes: a case index, or (case index, step index) for a step of a
# case's invocations: (a warm sequence).
Place = Union[int, Tuple[int, int]]
Planned = Tuple[Place, str, Any]  # (place, key, value)


def _at(place: Place) -> Tuple[int, ...]:
    return (place,) if isinstance(place, int) else tuple(place)


def write_expectations(text: str, file: Path, planned: List[Planned]) -> Tuple[str, Dict[Place, str]]:
    """``text`` with each planned ``expect.<key>: value`` that proves out: (the new text,
    {place: why it was not written}). Nothing is written when the text does not parse."""
    try:
        new, failed = _write_all(_parse(text, file), file, planned)
    except UnsafeEdit as exc:
        return text, {index: str(exc) for index, _, _ in planned}
    return new.text, failed


def apply_write(text: str, file: Path, index: Place, key: str, value: Any) -> str:
    """``text`` with ``expect.<key>: value`` set at ``index`` (a case, or a case's step);
    proven, or UnsafeEdit."""
    return _write_into(_parse(text, file), file, index, key, value).text


# --- many writes, one proof ----------------------------------------------------------------


@dataclass(frozen=True)
class _Version:
    """The text of a suite file and what the loader reads from it."""

    text: str
    data: Any


def _parse(text: str, file: Path) -> _Version:
    try:
        return _Version(text, parse_text(text, file, suite_tags()).data)
    except YamlError as exc:
        raise UnsafeEdit(f"the edit would not parse ({exc.message}); edit it by hand") from None


def _write_into(current: _Version, file: Path, index: Place, key: str, value: Any) -> _Version:
    _check_size(key, value)
    new = _parse(_set_expectation(current.text, _compose(current.text), index, key, value), file)
    _prove(current.data, new.data, [(index, key, value)])
    return new


def _check_size(key: str, value: Any) -> None:
    lines = len(render_pair(key, value))
    if lines > MAX_RECORDED_LINES:
        raise UnsafeEdit(f"the observed {key} is {lines} lines of YAML, too long to keep in a suite; "
                         "write the part that matters with return_includes by hand")


def _write_all(current: _Version, file: Path, planned: List[Planned]) -> Tuple[_Version, Dict[Place, str]]:
    """All writes on one parse: (the new version, {place: why it was not written}).

    Edits go from the last case (and step) to the first, so the marks of one composition stay
    valid for every edit. If the result does not prove out as a whole, each write is made and proven
    on its own, which names the one that misbehaves.
    """
    root = _compose(current.text)
    text, failed = current.text, {}
    for index, key, value in sorted(planned, key=lambda item: _at(item[0]), reverse=True):
        try:
            _check_size(key, value)
            text = _set_expectation(text, root, index, key, value)
        except UnsafeEdit as exc:
            failed[index] = str(exc)
    made = [item for item in planned if item[0] not in failed]
    try:
        new = _parse(text, file)
        _prove(current.data, new.data, made)
        return new, failed
    except UnsafeEdit:
        return _write_each(current, file, made, failed)


def _write_each(current: _Version, file: Path, planned: List[Planned],
                failed: Dict[Place, str]) -> Tuple[_Version, Dict[Place, str]]:
    for index, key, value in planned:
        try:
            current = _write_into(current, file, index, key, value)
        except UnsafeEdit as exc:
            failed[index] = str(exc)
    return current, failed


# --- finding a case in the composed text ---------------------------------------------------


def composed(text: str) -> Optional[yaml.Node]:
    """The composed text, or None when it does not compose: for key_line and case_line."""
    try:
        return _compose(text)
    except UnsafeEdit:
        return None


def key_line(root: Optional[yaml.Node], index: Place, key: str, fallback: int) -> int:
    """The line of ``expect.<key>`` at ``index``; ``fallback`` when it is not there."""
    try:
        expect = _own_pair(_case_node(root, index), "expect")
    except UnsafeEdit:
        return fallback
    pair = _own_pair(expect[1], key) if expect and isinstance(expect[1], yaml.MappingNode) else None
    return pair[0].start_mark.line + 1 if pair else fallback


def case_line(root: Optional[yaml.Node], index: Place, fallback: int) -> int:
    """The line of case (or step) ``index``; ``fallback`` when it is not there."""
    try:
        return _case_node(root, index).start_mark.line + 1
    except UnsafeEdit:
        return fallback


def _compose(text: str) -> yaml.Node:
    try:
        return yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        raise UnsafeEdit(f"the file does not parse any more ({exc})") from None


def _case_node(root: Optional[yaml.Node], index: Place) -> yaml.MappingNode:
    """The mapping of case ``index``, or of the step (case, step) of its invocations:."""
    where = _at(index)
    case = _item(root, "cases", where[0], "case")
    return case if len(where) == 1 else _item(case, "invocations", where[1], "step")


def _item(mapping: Optional[yaml.Node], key: str, index: int, what: str) -> yaml.MappingNode:
    items = _own_pair(mapping, key) if isinstance(mapping, yaml.MappingNode) else None
    if items is None or not isinstance(items[1], yaml.SequenceNode) or index >= len(items[1].value):
        raise UnsafeEdit(f"the {what} is no longer at its place in the file")
    item = items[1].value[index]
    if not isinstance(item, yaml.MappingNode):
        raise UnsafeEdit(f"the {what} is not a mapping")
    return item


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _own_pair(mapping: yaml.MappingNode, key: str) -> Optional[Tuple[yaml.Node, yaml.Node]]:
    """The key and value nodes written in this mapping itself (not merged in with <<)."""
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG and key_node.value == key:
            return key_node, value_node
    return None


# --- splicing the text ---------------------------------------------------------------------


def _set_expectation(text: str, root: yaml.Node, index: Place, key: str, value: Any) -> str:
    """``text`` with the key set in case ``index``; ``root`` is the composed ``text``, or the
    composed text before edits made only to later cases (their marks lie after this case)."""
    case = _case_node(root, index)
    expect = _own_pair(case, "expect")
    if expect is None:
        if any(k.tag == _MERGE_TAG for k, _ in case.value):
            raise UnsafeEdit("the case takes keys from a YAML merge (<<:), which may hold its expect; "
                             "add the expectation by hand")
        return _set_key(text, case, "expect", {key: value})
    if isinstance(expect[1], yaml.MappingNode):
        return _set_key(text, expect[1], key, value)
    raise UnsafeEdit("its expect is not a mapping")


def _set_key(text: str, mapping: yaml.MappingNode, key: str, value: Any) -> str:
    pair = _own_pair(mapping, key)
    if mapping.flow_style:  # inside { }, block YAML and some plain text (a, b) would not parse
        if pair is not None:
            return _replace_flow_value(text, pair[0], pair[1], value)
        return _insert_flow(text, mapping, key, value)
    if pair is not None:
        return _replace_value(text, pair[0], pair[1], key, value)
    return _append_block(text, mapping, key, value)


def _refuse_alias(key_node: yaml.Node, value_node: yaml.Node) -> None:
    # An alias composes to the anchored node, whose marks lie before its key, elsewhere.
    if value_node.start_mark.index < key_node.end_mark.index:
        raise UnsafeEdit("its value is an alias (*name) of a node written elsewhere; edit it by hand")


def _replace_flow_value(text: str, key_node: yaml.Node, value_node: yaml.Node, value: Any) -> str:
    _refuse_alias(key_node, value_node)
    return text[:value_node.start_mark.index] + render_flow(value) + text[_content_end(text, value_node):]


def _replace_value(text: str, key_node: yaml.Node, value_node: yaml.Node, key: str, value: Any) -> str:
    start = key_node.start_mark.index
    end = _content_end(text, value_node)
    _refuse_alias(key_node, value_node)
    lines = render_pair(key, value)
    key_line_end = _line_end(text, start)
    if len(lines) == 1 and end <= key_line_end:
        return text[:start] + lines[0] + text[end:]  # the rest of the line (a comment) stays
    comment = _key_line_comment(text, key_node, value_node, end)
    if comment:
        lines[0] += "  " + comment
    indent = " " * key_node.start_mark.column
    block = _newline(text).join([lines[0]] + [indent + line for line in lines[1:]])
    return text[:start] + block + text[_line_end(text, end):]


def _key_line_comment(text: str, key_node: yaml.Node, value_node: yaml.Node, end: int) -> str:
    """A comment on the key's line, kept when the value under it is rewritten as a block."""
    line_end = _line_end(text, key_node.start_mark.index)
    if end <= line_end:
        tail = text[end:line_end]
    elif value_node.start_mark.index > line_end:
        tail = text[key_node.end_mark.index:line_end].lstrip().lstrip(":")
    else:
        return ""
    tail = tail.strip()
    return tail if tail.startswith("#") else ""


def _append_block(text: str, mapping: yaml.MappingNode, key: str, value: Any) -> str:
    indent = " " * mapping.value[0][0].start_mark.column
    at = _line_end(text, _content_end(text, mapping))
    newline = _newline(text)
    block = newline.join(indent + line for line in render_pair(key, value))
    return text[:at] + newline + block + text[at:]


def _insert_flow(text: str, mapping: yaml.MappingNode, key: str, value: Any) -> str:
    pair = f"{key}: {render_flow(value)}"
    if mapping.value:
        at = _content_end(text, mapping.value[-1][1])
        return text[:at] + ", " + pair + text[at:]
    at = text.index("{", mapping.start_mark.index) + 1
    return text[:at] + pair + text[at:]


def _content_end(text: str, node: yaml.Node) -> int:
    """Where the node's own text ends: the end mark of a block collection lies past the
    comments and blank lines that follow it, so descend to its last item."""
    if isinstance(node, yaml.MappingNode) and not node.flow_style and node.value:
        return _content_end(text, node.value[-1][1])
    if isinstance(node, yaml.SequenceNode) and not node.flow_style and node.value:
        return _content_end(text, node.value[-1])
    end = node.end_mark.index
    if isinstance(node, yaml.ScalarNode) and node.style in ("|", ">"):
        while end > node.start_mark.index and text[end - 1] in " \t\r\n":
            end -= 1
    return end


def _line_end(text: str, index: int) -> int:
    """The index of the line break ending the line that holds ``index`` (CR LF counts whole)."""
    at = text.find("\n", index)
    if at < 0:
        return len(text)
    return at - 1 if at > index and text[at - 1] == "\r" else at


def _newline(text: str) -> str:
    return "\r\n" if "\r\n" in text else "\n"


# --- the proof -----------------------------------------------------------------------------


def _prove(before: Any, after: Any, planned: List[Planned]) -> None:
    """The new document must be the old one plus exactly the planned ``expect`` keys."""
    cases = list(before["cases"])
    for index, key, value in planned:
        where = _at(index)
        entry = (after.get("cases") or [{}])[where[0]] or {}
        if len(where) == 2:
            entry = (entry.get("invocations") or [{}])[where[1]] or {}
        written = entry.get("expect", {}).get(key, UNSET)
        if not same_value(written, value):
            raise UnsafeEdit(f"scftest could not write this {key} so that it reads back the same "
                             f"(it would read {cut(render_flow(written), EDIT_WIDTH)}); please report it")
        case = dict(cases[where[0]])
        if len(where) == 1:
            case["expect"] = {**(case.get("expect") or {}), key: value}
        else:
            steps = list(case["invocations"])
            step = dict(steps[where[1]])
            step["expect"] = {**(step.get("expect") or {}), key: value}
            steps[where[1]] = step
            case["invocations"] = steps
        cases[where[0]] = case
    # Matchers and !env objects in the rest of the document compare by their own equality.
    if not same_value({**before, "cases": cases}, after):
        raise UnsafeEdit("the edit would change more than this case (YAML anchors, aliases or merge keys "
                         "share its text with other places); add the expectation by hand")


def same_value(a: Any, b: Any) -> bool:
    """Equality with JSON's types: ``1``, ``1.0`` and ``true`` are three different values here.
    Other objects (matchers, ``!env``) are equal when of one type and equal by their own ``==``."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (isinstance(a, Mapping) and isinstance(b, Mapping) and set(a) == set(b)
                and all(same_value(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(same_value(x, y) for x, y in zip(a, b)))
    if type(a) is not type(b):
        return False
    return bool(a == b)


# --- rendering new values ------------------------------------------------------------------


_NULL_TAG = "tag:yaml.org,2002:null"


class _Representer(RoundTripRepresenter):
    """ruamel's round-trip representer, writing values the way scftest's loader reads them back."""


def _represent_none(representer: RoundTripRepresenter, _data: None):
    return representer.represent_scalar(_NULL_TAG, "null")  # ruamel writes nothing, easy to miss


def _represent_float(representer: RoundTripRepresenter, data: float):
    return representer.represent_scalar("tag:yaml.org,2002:float", yaml_float(data))


_Representer.add_representer(type(None), _represent_none)
_Representer.add_representer(float, _represent_float)


def yaml_float(value: float) -> str:
    """A float as text that YAML 1.1 readers (PyYAML: scftest's loader) read back as that float."""
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "e" in text and "." not in text:
        text = text.replace("e", ".0e", 1)  # 1e+20 is a string to YAML 1.1; 1.0e+20 is a float
    return text


def _emitter() -> YAML:
    emitter = YAML()
    emitter.Representer = _Representer
    emitter.indent(mapping=2, sequence=4, offset=2)  # "- " indented under its key, as in the docs
    emitter.width = 4096  # never fold a long string over lines
    emitter.allow_unicode = True  # 茶叶, not \u8336\u53f6
    return emitter


def render_pair(key: str, value: Any) -> List[str]:
    """``key: value`` as block YAML lines, without indentation or line breaks."""
    out = io.StringIO()
    _emitter().dump({key: _quoted(value, pattern=key == "message")}, out)
    return out.getvalue().rstrip("\n").split("\n")


def _quoted(value: Any, pattern: bool = False) -> Any:
    """The value with its strings marked for quoting where plain text would read differently."""
    if isinstance(value, Mapping):
        return {_quote_text(str(k)): _quoted(v, pattern=k == "message") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_quoted(item) for item in value]
    if isinstance(value, str):
        return _quote_text(value, force=pattern)
    return value


_PLAIN_RESOLVER = yaml.resolver.Resolver()
_LINE_BREAKS = re.compile("[\r\n\x85\u2028\u2029]")


def _reads_as_text(text: str) -> bool:
    """Whether a YAML 1.1 reader takes ``text``, written plain, for a string."""
    return _PLAIN_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"


def _needs_escapes(text: str) -> bool:
    """Line breaks or unprintable characters: only double quotes hold them as they are."""
    return bool(_LINE_BREAKS.search(text) or yaml.reader.Reader.NON_PRINTABLE.search(text))


def _quote_text(text: str, force: bool = False) -> str:
    # Quote what a YAML 1.1 reader would take for something else ("yes", "12:30", "0x1F",
    # "2019-02-21", "null"), even though scftest reads some of them as text: people and
    # other tools read these files too. Patterns are always single-quoted, as the docs write them.
    if _needs_escapes(text):
        return DoubleQuotedScalarString(text)  # plain or single-quoted, line breaks would fold
    if not force and _reads_as_text(text):
        return text
    return SingleQuotedScalarString(text)


def render_flow(value: Any) -> str:
    """A value as one line of flow YAML, for a case or expect written as ``{...}``."""
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_flow_text(str(k))}: {render_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_flow(item) for item in value) + "]"
    if isinstance(value, str):
        return _flow_text(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return yaml_float(value)
    return str(value)


# Text a person would write unquoted, even inside { }: no , : # [ ] { } and no leading symbol.
_PLAIN_FLOW = re.compile(r"^[A-Za-z_][A-Za-z0-9_ ./-]*$")


def _flow_text(text: str) -> str:
    """Plain when safe, else single-quoted (backslashes stay single, as in the docs), else JSON."""
    if _reads_as_text(text) and _PLAIN_FLOW.match(text) and text == text.strip():
        return text
    if not _needs_escapes(text):
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text)  # escapes everything YAML's double quotes cannot hold as is
