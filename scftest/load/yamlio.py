"""Read a YAML file into plain data plus the line and column of every node.

Only plain data is ever constructed: mappings, lists, strings, numbers, booleans,
null, and scftest's own tags (the matchers and ``!env``). Nothing else a YAML file
can ask for (``!!python/object``, arbitrary tags) is built; it is reported instead.

Choices made for people who do not program, and written down in the docs:
- ``yes`` / ``no`` / ``on`` / ``off`` stay strings (YAML 1.2 booleans: only true/false),
  so ``country: NO`` means the text NO.
- Unquoted dates and times (``2019-02-21T11:49:00Z``) stay strings, as they would be in
  the JSON event the cloud delivers.
- Mapping keys are JSON keys: ``200: ok`` has the key "200".
- A key written twice in one mapping is an error, not a silent overwrite.
"""

from __future__ import annotations

import errno
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping, Optional, Protocol, Tuple

import yaml
import yaml.composer

from scftest.errors import ScftestError
from scftest.i18n import N_, _
from scftest.load.marks import MarkRecorder
from scftest.model import EnvRef, Mark, NodePath, Replace, SourceMap
from scftest.render import cut

try:  # the C composer is several times faster; the pure one gives the same nodes
    SafeComposer = yaml.CSafeLoader
except AttributeError:  # pragma: no cover - libyaml missing
    SafeComposer = yaml.SafeLoader

# Past this many constructed nodes a file is refused: aliases can make a small file
# expand exponentially ("billion laughs").
MAX_NODES = 1_000_000
# Past this many levels of nesting a file is refused. Every later step walks values by
# recursion (and Python's stack is about 1,000 frames); an SCF event or return value
# rarely goes past 10 levels.
MAX_DEPTH = 100

_STR_TAG = "tag:yaml.org,2002:str"
_YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


class _Loader(SafeComposer):
    """SafeLoader with YAML 1.2 booleans."""


# Drop the YAML 1.1 boolean resolver (yes/no/on/off) and put back true/false only.
_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver("tag:yaml.org,2002:bool", _YAML12_BOOL, list("tTfF"))

# PyYAML's own conversions for the scalar types left after ours. Called per node, they
# keep no state (construct_object would cache every node it ever saw).
_CONVERT = yaml.constructor.SafeConstructor()
_CONVERSIONS = {
    "tag:yaml.org,2002:int": _CONVERT.construct_yaml_int,
    "tag:yaml.org,2002:float": _CONVERT.construct_yaml_float,
    "tag:yaml.org,2002:null": _CONVERT.construct_yaml_null,
}


class YamlError(ScftestError):
    """A problem at a place in the file: the loader turns it into a SuiteProblem."""

    def __init__(self, mark: Mark, message: str, hint: str = ""):
        super().__init__(message)
        self.mark = mark
        self.message = message
        self.hint = hint


# Builds the object for a custom tag: (tag, constructed value, mark) -> object.
TagBuilder = Callable[[str, Any, Mark], Any]


@dataclass(frozen=True)
class Document:
    data: Any
    source: SourceMap
    warnings: Tuple["YamlWarning", ...] = ()  # legal YAML that likely means something else
    # What took the items of the top-level lists as they were read (see ``parse_text``);
    # None when the document was read whole, its data as written.
    parts: Any = None


# What a PartTaker gives back for an item the list does not keep (a list of 10,000 cases
# taken kept 10,000 Nones).
LET_GO = object()


class PartTaker(Protocol):
    """Takes each item of a top-level list (a case of ``cases:``) as soon as it is read,
    and gives what the list keeps in its place, or LET_GO: nothing (the list is then the
    items kept)."""

    def item(self, key: str, index: int, value: Any, head: Mapping[str, Any]) -> Any:
        """``head``: the top-level keys read before this list, with their values."""


# Makes the PartTaker of one read of a document, given the SourceMap the read fills in.
PartTakers = Callable[[SourceMap], PartTaker]


@dataclass(frozen=True)
class YamlWarning:
    """Legal YAML that probably does not say what its writer meant: reported, not fatal."""

    mark: Mark
    message: str
    hint: str = ""


def _mark(node: yaml.Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def read_document(path: Path, tags: Dict[str, TagBuilder], parts: Optional[PartTakers] = None) -> Document:
    """Parse ``path``. Raises YamlError for syntax errors, unknown tags and the like,
    and OSError when it cannot be read. ``parts``: see ``parse_text``."""
    return parse_text(decode_text(read_regular_file(path)), path, tags, parts)


def decode_text(data: bytes) -> str:
    """``data`` as UTF-8 text, without the byte order mark some editors put first.
    Raises YamlError at the line and column of the first byte that is not UTF-8."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line_start = data.rfind(b"\n", 0, exc.start) + 1
        col = len(data[line_start:exc.start].decode("utf-8-sig", "replace")) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        raise YamlError(Mark(line, col), _("the file is not UTF-8 text: the byte 0x{byte} here ({reason})").format(
            byte=f"{data[exc.start]:02X}", reason=exc.reason),
            _("save the file as UTF-8 (most editors offer it when saving)")) from None


class NotARegularFile(ScftestError, OSError):
    """The path is a FIFO, a device or a socket: reading it could block or never end."""


def read_regular_file(path: Path) -> bytes:
    """The bytes of ``path``, which must be a regular file (through symlinks).

    Opened without blocking and checked on the open descriptor, so a FIFO put where a
    file was expected is refused rather than waited on forever."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise NotARegularFile(errno.EINVAL, _("it is {kind}, not a regular file").format(kind=file_kind(mode)))
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as handle:
            return handle.read()
    finally:
        os.close(fd)


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words: ``a FIFO (named pipe)``."""
    kinds = ((stat.S_ISDIR, N_("a folder")), (stat.S_ISFIFO, N_("a FIFO (named pipe)")),
             (stat.S_ISCHR, N_("a character device")), (stat.S_ISBLK, N_("a block device")),
             (stat.S_ISSOCK, N_("a socket")))
    return _(next((word for test, word in kinds if test(mode)), N_("a special file")))


def parse_text(text: str, path: Path, tags: Dict[str, TagBuilder], parts: Optional[PartTakers] = None) -> Document:
    """The document in ``text``. With ``parts``, a document read a part at a time (most
    are: see below) hands each item of its top-level lists to a PartTaker made for that
    read, as soon as the item is read, and keeps what it gives back (nothing for LET_GO); the Document's
    ``parts`` is that taker. A document read whole is not handed out (``parts`` None)."""
    streamed = _in_parts(text, path, tags, parts)
    if streamed is not None:
        return streamed
    try:
        root, composed = _compose(text, tags)
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text) from None
    except yaml.reader.ReaderError as exc:
        raise _unacceptable_character(exc, text) from None
    except yaml.YAMLError as exc:
        raise YamlError(Mark(1, 1), _("YAML syntax error: {error}").format(error=exc), _("fix the YAML syntax")) from None
    except RecursionError:  # the pure-Python composer, when libyaml is missing
        raise _too_deep(Mark(1, 1)) from None
    if root is None:
        return Document(None, SourceMap(path, {}))
    _refuse_expansion(root)
    marks = MarkRecorder()
    builder = _Builder(tags, marks)
    try:
        data = builder.build(root, ())
    except RecursionError:  # a chain of merge keys (<<: *a) longer than the stack
        raise _too_deep(_mark(root)) from None
    return Document(data, SourceMap(path, marks.packed()), _comma_warnings(root, composed))


# Reading a document a part at a time. Composed whole, a 10,000-case suite's nodes (each
# with two marks) weigh about 5 KB a case, all held at once before the first value is
# built: most of loading's peak. Read in parts, only one case's nodes are held at a time.
# Only a successful read is done this way: a document that has any problem, or whose top
# level is unusual (an anchor or tag on it, a merge key, a { } mapping), is read whole
# again, so every problem and warning is the one the whole read gives.


if issubclass(_Loader, yaml.composer.Composer):  # the pure-Python loader (libyaml missing) composes so already
    _PartLoader = _Loader
else:
    class _PartLoader(yaml.composer.Composer, _Loader):  # type: ignore[no-redef]
        """libyaml's events (_Loader's parser) composed by PyYAML's own composer, which,
        unlike libyaml's, can compose one node of a document at a time."""

        def __init__(self, text: str):
            _Loader.__init__(self, _Chunks(text))
            yaml.composer.Composer.__init__(self)


class _Chunks:
    """``text`` as a stream the parser reads a piece at a time. Given the text itself,
    libyaml keeps its own UTF-8 copy of all of it while the document is read (about 85
    bytes a case of a generated suite, on top of the text: loading's peak is at the end
    of that read, every written case held); read from here, one piece at a time."""

    __slots__ = ("_text", "_at")
    name = "<unicode string>"  # the name marks give, as for the text itself

    def __init__(self, text: str) -> None:
        self._text = text
        self._at = 0

    def read(self, size: int = -1) -> str:
        end = len(self._text) if size < 0 else self._at + size
        piece = self._text[self._at:end]
        self._at = end
        return piece


class _Whole(ScftestError):
    """This document is read whole (see above)."""


def _in_parts(text: str, path: Path, tags: Dict[str, TagBuilder], parts: Optional[PartTakers] = None) -> Optional[Document]:
    """The document read a part at a time: each top-level value, and each item of a
    top-level list (a case); None when it has to be read whole."""
    for attempt in (text, None):
        if attempt is None:  # `{id: !any}`, read as `{id: !any }` (see _compose)
            attempt = _tag_before_flow_end(tags).sub(r"\1 \2", text) if tags else text
            if attempt == text:
                return None
        loader = _PartLoader(attempt)
        try:
            return _PartReader(loader, attempt, tags, path, parts).document()
        except yaml.MarkedYAMLError as exc:
            if "scanning a tag" not in str(exc.context):
                return None
        except (_Whole, YamlError, yaml.YAMLError, RecursionError):
            return None
        finally:
            loader.dispose()
    return None


class _PartReader:
    """Builds a document's top-level mapping from its parts, as _Builder would have
    built it from the whole tree: the same data, marks and warnings."""

    def __init__(self, loader: _PartLoader, text: str, tags: Dict[str, TagBuilder], path: Path,
                 parts: Optional[PartTakers]):
        self.loader = loader
        self.text = text
        self.marks = MarkRecorder()
        self.source = SourceMap(path, self.marks.marks())
        self.builder = _Builder(tags, self.marks)
        self.size = 1  # the document's values, counted as _refuse_expansion counts them
        self.warnings: List[YamlWarning] = []
        self.taker = parts(self.source) if parts is not None else None

    def document(self) -> Document:
        loader = self.loader
        loader.get_event()  # the stream's start
        if loader.check_event(yaml.StreamEndEvent):
            raise _Whole  # no document at all
        loader.get_event()  # the document's start
        start = loader.peek_event()
        if not isinstance(start, yaml.MappingStartEvent) or start.anchor is not None or start.tag is not None \
                or start.flow_style:
            raise _Whole
        loader.get_event()
        self._started(start, ())
        data: Dict[str, Any] = {}
        while not loader.check_event(yaml.MappingEndEvent):
            key_node = loader.compose_node(None, None)
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                raise _Whole
            key = _json_key(_scalar(key_node))
            if key in data:
                raise _Whole
            self.marks.record((key, "<key>"), key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            value = loader.peek_event()
            if isinstance(value, yaml.SequenceStartEvent) and value.anchor is None and value.tag is None:
                data[key] = self._list(key, data)
            else:
                data[key] = self._part(loader.compose_node(None, None), (key,))
        loader.get_event()  # the mapping's end
        loader.get_event()  # the document's end
        if not loader.check_event(yaml.StreamEndEvent):
            raise _Whole  # a second document: the whole read says so
        warnings = {(w.mark.line, w.mark.col, w.message): w for w in self.warnings}  # an alias repeats a node's
        self.marks.end_part()
        return Document(data, self.source, tuple(sorted(warnings.values(), key=lambda w: (w.mark.line, w.mark.col))),
                        self.taker)

    def _started(self, event: yaml.Event, path: NodePath) -> None:
        """A mapping or list that is not composed into a node, counted and marked as the
        builder would have done it."""
        self.builder.count += 1
        self.marks.record(path, event.start_mark.line + 1, event.start_mark.column + 1)

    def _list(self, key: str, head: Mapping[str, Any]) -> List[Any]:
        self._started(self.loader.get_event(), (key,))
        self.size += 1
        items: List[Any] = []
        index = 0
        while not self.loader.check_event(yaml.SequenceEndEvent):
            value = self._part(self.loader.compose_node(None, None), (key, index))
            if self.taker is not None:
                self.marks.end_part()  # its marks, for what the taker says of it
                value = self.taker.item(key, index, value, head)
            if value is not LET_GO:
                items.append(value)
            index += 1
        self.loader.get_event()
        return items

    def _part(self, node: yaml.Node, path: NodePath) -> Any:
        self.size += _size(node, len(path), {})
        if self.size > MAX_NODES:
            raise _Whole  # the whole read finds the part that repeats
        self.builder.scalars = {}
        try:
            value = self.builder.build(node, path)
        finally:
            self.builder.scalars = None
        self.warnings.extend(_comma_warnings(node, self.text))
        return value


def _refuse_expansion(root: yaml.Node) -> None:
    """Refuse, before building anything, a document whose aliases expand it past
    MAX_NODES values ("billion laughs"). Counted over the nodes, each node once, so a few
    lines that would expand to 10**9 values are refused at once, not after a million."""
    sizes: Dict[int, int] = {}
    if _size(root, 0, sizes) <= MAX_NODES:
        return
    node, seen = root, {id(root)}
    while True:  # down to the innermost node that alone is too large: the repeated part
        heavy = [c for c in _children(node) if sizes.get(id(c), 0) > MAX_NODES and id(c) not in seen]
        if not heavy:
            break
        node = heavy[0]
        seen.add(id(node))
    raise YamlError(_mark(node), _("the document expands to more than {count} values").format(count=f"{MAX_NODES:,}"),
                    _("check for aliases (*name) that repeat large parts"))


def _size(node: yaml.Node, depth: int, sizes: Dict[int, int]) -> int:
    """How many values ``node`` expands to, its aliases repeated (past MAX_NODES, a count
    just past it); ``sizes`` keeps each node's, by id."""
    if id(node) in sizes:
        return sizes[id(node)]
    if depth > MAX_DEPTH:  # the builder reports it as too deep
        return 1
    sizes[id(node)] = 1  # while its children are counted: an alias to itself counts once
    total = 1
    for child in _children(node):
        total += _size(child, depth + 1, sizes)
        if total > MAX_NODES:
            break
    sizes[id(node)] = total
    return total


def _children(node: yaml.Node) -> List[yaml.Node]:
    """The value nodes under ``node`` (a mapping's keys are not values)."""
    if isinstance(node, yaml.MappingNode):
        return [value for _, value in node.value]
    return list(node.value) if isinstance(node, yaml.SequenceNode) else []


def _too_deep(mark: Mark) -> YamlError:
    return YamlError(mark, too_deep_message(), _(TOO_DEEP_HINT))


TOO_DEEP = N_("the values are nested more than {depth} levels deep")
TOO_DEEP_HINT = N_("flatten the structure, or check for a missing closing bracket")


def too_deep_message() -> str:
    """TOO_DEEP in the active language, with the depth (show TOO_DEEP_HINT as _(TOO_DEEP_HINT))."""
    return _(TOO_DEEP).format(depth=MAX_DEPTH)


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """Whether lists and mappings in ``value`` (JSON decoded from a file or a !json
    string) nest more than ``limit`` levels. Walks without recursion."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > limit:
            return True
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
    return False


def _compose(text: str, tags: Dict[str, TagBuilder]) -> Tuple[Optional[yaml.Node], str]:
    """The root node, and the text it was composed from (its marks index that text)."""
    try:
        return yaml.compose(text, Loader=_Loader), text
    except yaml.MarkedYAMLError as exc:
        if "scanning a tag" not in str(exc.context) or not tags:
            raise
        # YAML reads `{id: !any}` as the tag "!any}". People write it that way all the
        # time; for scftest's own tags the intent is plain, so read it as `{id: !any }`.
        spaced = _tag_before_flow_end(tags).sub(r"\1 \2", text)
        if spaced == text:
            raise
        return yaml.compose(spaced, Loader=_Loader), spaced


def _comma_warnings(root: yaml.Node, text: str) -> Tuple[YamlWarning, ...]:
    """Every entry of a { } mapping that has no value and follows a plain text value:
    ``{msg: 你好, 张三}`` means {"msg": "你好", "张三": null}, not the text "你好, 张三".
    Walks the nodes without recursion, each node once (aliases repeat nodes)."""
    found: List[YamlWarning] = []
    seen = set()
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, yaml.MappingNode):
            if node.flow_style:
                found.extend(_valueless_after_text(node.value, text))
            stack.extend(child for pair in node.value for child in pair)
        elif isinstance(node, yaml.SequenceNode):
            stack.extend(node.value)
    return tuple(sorted(found, key=lambda w: (w.mark.line, w.mark.col)))


def _valueless_after_text(pairs, text: str) -> List[YamlWarning]:
    warnings = []
    for index in range(1, len(pairs)):
        (before_key, before), (key, value) = pairs[index - 1], pairs[index]
        plain = [isinstance(n, yaml.ScalarNode) and not n.style for n in (before_key, before, key)]  # C: "", Python: None
        if not all(plain) or not before.value or not _has_no_value(key, value, text):
            continue
        if "?" in text[before.end_mark.index:key.start_mark.index]:
            continue  # `? b` asks for a key without a value on purpose
        last = key
        for later_key, later_value in pairs[index + 1:]:  # {msg: a, b, c}: the text was 'a, b, c'
            if not (isinstance(later_key, yaml.ScalarNode) and _has_no_value(later_key, later_value, text)):
                break
            last = later_key
        meant = " ".join(text[before.start_mark.index:last.end_mark.index].split())
        quoted = "'" + meant.replace("'", "''") + "'"
        warnings.append(YamlWarning(
            _mark(key), _("'{key}' has no value: inside {{ }} a comma separates entries, so the text "
                          "after the comma became a key of its own").format(key=key.value),
            _("to keep the comma in the text, quote it: {key}: {quoted}").format(key=before_key.value, quoted=quoted)))
    return warnings


def _has_no_value(key: yaml.Node, value: yaml.Node, text: str) -> bool:
    """A key written without ':' (``{a: 1, b}``), not one with an empty value (``{a: 1, b: }``)."""
    return (isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:null"
            and value.value == "" and value.start_mark.index == key.end_mark.index
            and not _COLON_NEXT.match(text, key.end_mark.index))


# Looked for at a place in the text, not in a copy of the rest of it (per key: a file of
# many `{a, b}` keys copied its text once for each).
_COLON_NEXT = re.compile(r"[ \t\r\n]*:")


def _tag_before_flow_end(tags: Dict[str, TagBuilder]) -> "re.Pattern[str]":
    names = "|".join(re.escape(tag) for tag in sorted(tags, key=len, reverse=True))
    return re.compile(rf"({names})([}}\],])")


def _syntax_error(exc: yaml.MarkedYAMLError, text: str) -> YamlError:
    mark = exc.problem_mark or exc.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
    tab = _leading_tab(text, where.line)
    if tab is not None:
        return YamlError(tab, _("this line is indented with a Tab character; YAML indents with spaces only"),
                         _("replace the Tab at the start of the line with spaces (in your editor, turn "
                           "on 'indent using spaces')"))
    problem = exc.problem or "not valid YAML"
    if exc.context:
        problem = f"{exc.context}, {problem}"
    started = exc.context_mark
    if started is not None and mark is not None and started.line != mark.line:
        problem += _(" (the construct started at line {line})").format(line=started.line + 1)
    hint = _("fix the YAML syntax at this line (indentation, a missing ':' or an unclosed quote)")
    if "\t" in (exc.problem or "") or "tab" in problem:
        hint = _("YAML indents with spaces, not tabs")
    elif "scanning a tag" in problem:
        hint = _("a tag needs a space after it inside {{ }} or [ ]: write {{id: !any }} rather than {{id: !any}}").format()
    return YamlError(where, _("YAML syntax error: {error}").format(error=problem), hint)


def _unacceptable_character(exc: "yaml.reader.ReaderError", text: str) -> YamlError:
    """A control character (NUL, ESC, ...) written into the file as it is."""
    before = text[:exc.position]
    line = before.count("\n") + 1
    col = exc.position - (before.rfind("\n") + 1) + 1
    code = exc.character if isinstance(exc.character, int) else ord(str(exc.character)[:1] or "\0")
    return YamlError(Mark(line, col), _("the file holds the control character U+{code} here, which YAML "
                                        "does not allow in a file").format(code=f"{code:04X}"),
                     _("remove it; to put one in a value, write it as an escape "
                       'in double quotes, e.g. "\\u001b"'))


def _leading_tab(text: str, upto: int) -> Optional[Mark]:
    """Where the first Tab in a line's indentation is, on the line of a syntax error or
    before it (the error often shows a line or two after the Tab that caused it)."""
    lines = text.splitlines()
    for number in [upto] + list(range(1, upto)):
        if 1 <= number <= len(lines):
            line = lines[number - 1]
            indent = line[:len(line) - len(line.lstrip(" \t"))]
            if "\t" in indent:
                return Mark(number, indent.index("\t") + 1)
    return None


class _Builder:
    """Turns composed nodes into plain data, recording each node's mark by path."""

    def __init__(self, tags: Dict[str, TagBuilder], marks: MarkRecorder):
        self.tags = tags
        self.marks = marks
        self.count = 0
        self.active: List[int] = []  # ids of nodes being built: a repeat is a recursive alias
        # Each mapping key once per document: the parser makes a new string for every key it
        # reads, so 10,000 cases written alike held 10,000 copies of each key (about 270 bytes
        # a case while the whole document is held, 50 kept in the model). Not sys.intern:
        # interned strings outlive the document (for good on Python 3.12).
        self.keys: Dict[str, str] = {}
        # Within one part (a case of cases:), equal whole numbers and texts are one object: a
        # case often writes a value of its event again in what it expects back ({id: 42} and
        # {id: 42, ok: true}: 32 bytes each int above 256). Per part, not per document, so the
        # values of 10,000 cases are never all held in a table at once; None: no sharing.
        self.scalars: Optional[Dict[Tuple[type, Any], Any]] = None

    def build(self, node: yaml.Node, path: NodePath) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise YamlError(_mark(node), _("the document expands to more than {count} values").format(count=f"{MAX_NODES:,}"),
                            _("check for aliases (*name) that repeat large parts"))
        if id(node) in self.active:
            raise YamlError(_mark(node), _("an alias refers to a node that contains it"),
                            _("remove the recursive alias"))
        if len(path) > MAX_DEPTH:
            raise _too_deep(_mark(node))
        start = node.start_mark
        self.marks.record(path, start.line + 1, start.column + 1)
        self.active.append(id(node))
        try:
            return self._build(node, path)
        finally:
            self.active.pop()

    def _build(self, node: yaml.Node, path: NodePath) -> Any:
        tag = node.tag
        if tag.startswith("!") and not tag.startswith("!!"):
            return self._custom(node, path)
        if isinstance(node, yaml.MappingNode):
            if tag != "tag:yaml.org,2002:map":
                raise _unknown_tag(node)
            return self._mapping(node, path)
        if isinstance(node, yaml.SequenceNode):
            if tag != "tag:yaml.org,2002:seq":
                raise _unknown_tag(node)
            return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        value = _scalar(node)
        if self.scalars is not None and type(value) in _SHARED_SCALARS:  # exact types: True == 1, 1.0 == 1
            value = self.scalars.setdefault((type(value), value), value)
        return value

    def _mapping(self, node: yaml.MappingNode, path: NodePath) -> Dict[str, Any]:
        result: Dict[str, Any] = {}
        for key_node, value_node in _merged_pairs(node):
            if not isinstance(key_node, yaml.ScalarNode):
                raise YamlError(_mark(key_node), _("a key must be plain text, not a list or mapping"),
                                _("write the key as a word, e.g. name:"))
            key = _json_key(_scalar(key_node))
            key = self.keys.setdefault(key, key)
            if key in result:
                raise YamlError(_mark(key_node), _("the key '{key}' is written twice in this mapping").format(key=key),
                                _("keep one of them"))
            # The key's own line, so "unknown key" points at the key, not the mapping.
            start = key_node.start_mark
            self.marks.record(path + (key, "<key>"), start.line + 1, start.column + 1)
            result[key] = self.build(value_node, path + (key,))
        return result

    def _custom(self, node: yaml.Node, path: NodePath) -> Any:
        builder = self.tags.get(node.tag)
        if builder is None:
            raise _unknown_tag(node, known=sorted(self.tags))
        if isinstance(node, yaml.ScalarNode):
            value: Any = node.value  # the raw text: matchers parse their own argument
        elif isinstance(node, yaml.MappingNode):
            value = self._mapping(node, path)
        else:
            value = [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
        return builder(node.tag, value, _mark(node))


def _merged_pairs(node: yaml.MappingNode):
    """Key/value node pairs with YAML merge keys (``<<: *base``) applied, as PyYAML does."""
    pairs = []
    merged = []
    for key_node, value_node in node.value:
        if key_node.tag == "tag:yaml.org,2002:merge":
            sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
            for source in sources:
                if not isinstance(source, yaml.MappingNode):
                    raise YamlError(_mark(source), _("'<<' must merge a mapping"),
                                    _("write <<: *name where &name marks a mapping"))
                merged.extend(_merged_pairs(source))
        else:
            pairs.append((key_node, value_node))
    own = {_scalar_text(k) for k, _ in pairs}
    return [(k, v) for k, v in merged if _scalar_text(k) not in own] + pairs


def _scalar_text(node: yaml.Node) -> Optional[str]:
    return node.value if isinstance(node, yaml.ScalarNode) else None


_SHARED_SCALARS = (int, str)


def _scalar(node: yaml.ScalarNode) -> Any:
    if node.tag in (_STR_TAG, "tag:yaml.org,2002:timestamp"):
        return node.value
    if node.tag in ("tag:yaml.org,2002:binary", "tag:yaml.org,2002:set",
                    "tag:yaml.org,2002:omap", "tag:yaml.org,2002:pairs"):
        raise _unknown_tag(node)
    if node.tag == "tag:yaml.org,2002:bool":
        return node.value.lower() == "true"
    convert = _CONVERSIONS.get(node.tag)
    if convert is None:
        raise _unknown_tag(node)
    try:
        return convert(node)
    except (ValueError, IndexError, yaml.YAMLError):  # `!!int ''` is an IndexError in PyYAML
        raise _not_convertible(node) from None


def _not_convertible(node: yaml.ScalarNode) -> YamlError:
    # `!!int ''` or a 5,000-digit number (past Python's limit for reading an int).
    kind = {"tag:yaml.org,2002:int": N_("whole number"), "tag:yaml.org,2002:float": N_("number")}.get(
        node.tag, N_("value"))
    short = node.tag.replace("tag:yaml.org,2002:", "!!")
    return YamlError(_mark(node), _("{value} cannot be read as a {kind} ({tag})").format(
        value=cut(repr(node.value), 40), kind=_(kind), tag=short),
        _("write a {kind}, or quote the text (and remove any {tag} tag) to keep it as text").format(kind=_(kind), tag=short))


def _json_key(key: Any) -> str:
    # JSON object keys are strings: the handler's dict with key 200 arrives as "200".
    return key if isinstance(key, str) else json.dumps(key)


def _unknown_tag(node: yaml.Node, known=()) -> YamlError:
    hint = _("remove the tag")
    if known:
        hint = _("scftest knows these tags: {tags}").format(tags=", ".join(known))
    return YamlError(_mark(node), _("unknown YAML tag {tag}").format(tag=node.tag), hint)


def env_tag(tag: str, value: Any, mark: Mark) -> EnvRef:
    """``!env NAME``: an explicit pass-through of the runner's variable NAME."""
    if not isinstance(value, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", value.strip()):
        raise YamlError(mark, _("!env needs the name of an environment variable"),
                        _("write it like DB_PASSWORD: !env DB_PASSWORD"))
    return EnvRef(value.strip())


def replace_tag(tag: str, value: Any, mark: Mark) -> Replace:
    """``!replace {...}`` / ``!replace [...]`` under ``event``: replace, do not merge."""
    if not isinstance(value, (dict, list)):
        raise YamlError(mark, _("!replace needs a mapping or a list after it"),
                        _("write queryString: !replace {{}} to empty a mapping; a plain value "
                          "replaces what the template holds anyway, without the tag").format())
    return Replace(value)
