"""The one place that turns values into text for a person.

Widths, quoting, placeholders, shortening around the first difference, the lines of a
mismatch and the terminal's colours all live here, so that every report (and every
reason the checker gives) shows a value the same way. Values stay values until a report
asks for text: the checker's ``Mismatch`` holds raw values, and the JSON report writes
them whole.

Any step may use this module: it imports only the value vocabulary it reads (the case
model's ``UNSET`` and the mismatch values of ``check/outcome.py``), never a step's logic.
Matchers are shown as the YAML that made them (their ``repr``).
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any, Callable, Dict, Iterable, List, Mapping, Sequence, Tuple

import yaml

from scftest.check.outcome import Gap, Key, Kind, Mismatch
from scftest.i18n import N_, _, ngettext
from scftest.model import UNSET
from scftest.scf.results import PLATFORM_PREFIX
from scftest.scf.status import Code, Status

# --- widths: how much of a value each place shows ---------------------------------------

VALUE_WIDTH = 72  # a value on a mismatch's expected / actual line
INLINE_WIDTH = 52  # a value inside a longer line: "returned …", a schema rule
PHRASE_WIDTH = 40  # a value named in a reason ("got the string …"), a ret_msg quoted in a hint
BRIEF_WIDTH = 50  # a log entry quoted in a case's one-line summary
LINE_WIDTH = 100  # the first line of an exception or a schema error, in a reason
EDIT_WIDTH = 70  # a value in a line of ``run --update``'s report
EDIT_REASON_WIDTH = 60  # why ``run --update`` left a case alone, in its report
MESSAGE_WIDTH = 200  # a one-line message (a JUnit attribute, a summary line)
RECORD_WIDTH = 2000  # a value in the invocation record's lines (-v, JUnit system-out)
TRACEBACK_LINES = 40  # the tail of an unexpected traceback that a mismatch shows
LOG_TAIL_LINES = 20  # the captured log's tail under a failure


def cut(text: str, width: int) -> str:
    """``text`` if it fits in ``width`` characters, else its start and an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"


def display_width(text: str) -> int:
    """The columns ``text`` takes on a terminal: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(char) in ("W", "F") else 1 for char in text)


def pad(text: str, width: int) -> str:
    """``text`` with spaces after it up to ``width`` columns (``str.ljust`` counts characters)."""
    return text + " " * max(width - display_width(text), 0)


def one_line(text: str, width: int = MESSAGE_WIDTH) -> str:
    """Newlines, tabs and runs of spaces as one space, cut to ``width``."""
    return cut(" ".join(text.split()), width)


def first_line(text: str, width: int = LINE_WIDTH) -> str:
    """The first line of ``text`` (stripped), cut to ``width``."""
    line = text.strip().splitlines()[0] if text.strip() else ""
    return cut(line, width)


# --- values ------------------------------------------------------------------------------


def render_value(value: Any) -> str:
    """Compact, one-line, JSON-like text; matchers (and any other object) as their repr."""
    if isinstance(value, Mapping):
        items = ", ".join(f"{_render_key(k)}: {render_value(v)}" for k, v in value.items())
        return "{" + items + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(render_value(v) for v in value) + "]"
    if value is None or isinstance(value, (bool, int, float, str)):
        try:
            return json.dumps(value, ensure_ascii=False)
        except ValueError:  # nan/inf with allow_nan off never happens; be safe anyway
            return repr(value)
    try:
        return repr(value)  # a matcher's repr is the YAML that made it: !regex '^a'
    except Exception:  # a broken __repr__ in the handler's object must not crash the report
        return f"<{type(value).__name__}>"


def _render_key(key: Any) -> str:
    return json.dumps(key, ensure_ascii=False) if isinstance(key, str) else render_value(key)


def short_text(value: Any, width: int = VALUE_WIDTH) -> str:
    """``render_value`` cut at ``width``."""
    return cut(render_value(value), width)


def json_text(value: Any, width: int = RECORD_WIDTH) -> str:
    """A returned value as JSON text (what the function's caller sees), cut if long."""
    if value is UNSET:
        return _("(none)")
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)
    except (TypeError, ValueError):  # e.g. a circular structure: never expected from JSON
        text = str(value)
    return cut(text, width)


def yaml_quote(text: str) -> str:
    """YAML single-quoted scalar, the way a user would write a pattern."""
    return "'" + text.replace("'", "''") + "'"


def yaml_example(key: Any, value: Any) -> str:
    """``value`` as the YAML lines a user writes for it: under the mapping key ``key``, as a
    list item when ``key`` is an int, or as a whole document when it is None.

    A key's mapping or list of plain values stays on its line (``event: {key: value}``); a
    list item's mapping is written in block style (``- regex: ...``), as suites are. A string
    that starts with ``!`` is a matcher or ``!env`` as written (the schema sees them so) and is
    shown untouched."""
    if key is None:
        return "\n".join(_yaml_block(value))
    return "\n".join(_yaml_entry(key, value))


def _yaml_entry(key: Any, value: Any) -> List[str]:
    if isinstance(key, int):
        if not isinstance(value, (Mapping, list)) or not value:
            return [f"- {_yaml_flow(value)}"]
        lines = _yaml_block(value)
        return [f"- {lines[0]}"] + ["  " + line for line in lines[1:]]
    head = f"{_yaml_scalar(key, flow=False)}:"
    if not _nested(value):
        return [f"{head} {_yaml_flow(value)}"]
    return [head] + ["  " + line for line in _yaml_block(value)]


def _yaml_block(value: Any) -> List[str]:
    if isinstance(value, Mapping) and value:
        return [line for key, item in value.items() for line in _yaml_entry(key, item)]
    if isinstance(value, list) and value:
        return [line for index, item in enumerate(value) for line in _yaml_entry(index, item)]
    return [_yaml_flow(value)]


def _nested(value: Any) -> bool:
    items = value.values() if isinstance(value, Mapping) else value if isinstance(value, list) else ()
    return any(isinstance(item, (Mapping, list)) for item in items)


def _yaml_flow(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_yaml_scalar(k, flow=True)}: {_yaml_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_yaml_flow(item) for item in value) + "]"
    return _yaml_scalar(value, flow=True)


def _yaml_scalar(value: Any, flow: bool) -> str:
    if isinstance(value, str) and value.startswith("!"):
        return value
    text = yaml.safe_dump(value, allow_unicode=True, width=float("inf")).strip()
    text = text[:-len("...")].rstrip() if text.endswith("\n...") else text
    plain = isinstance(value, str) and not text.startswith(("'", '"'))
    if flow and plain and any(mark in value for mark in ",[]{}"):
        return yaml_quote(value)
    return text


def amount(value: float) -> str:
    """1520.4, 130, 0.001: a measured figure as precisely as a budget is written."""
    return f"{value:.6g}"


_PLAIN_KEY = re.compile(r"^[^.\[\]\"'\s]+$")


def format_path(root: str, parts: Iterable[Key]) -> str:
    """("body", "items", 1) under "return" -> ``return.body.items[1]``; odd keys quoted.

    The text is what ``expect.ignore`` reads back, so a path copied from a report works."""
    text = root
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return text


# --- shortening around a position ---------------------------------------------------------


def shorten_pair(expected: str, actual: str, width: int = VALUE_WIDTH) -> Tuple[str, str]:
    """Cut two long texts to the same window around their first difference: ``…abXde…``."""
    if len(expected) <= width and len(actual) <= width:
        return expected, actual
    common = first_difference(expected, actual)
    return _window(expected, common, width), _window(actual, common, width)


def shorten_around(text: str, position: int, width: int = VALUE_WIDTH) -> str:
    """Cut a long text to a window around ``position``: ``…abXde…``; a short one stays whole."""
    return text if len(text) <= width else _window(text, position, width)


def _window(text: str, position: int, width: int) -> str:
    start = max(0, position - width // 3)  # keep some context before the position
    piece = text[start:start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(text) else "")


def first_difference(a: str, b: str) -> int:
    """The index of the first character where ``a`` and ``b`` differ (or the shorter length)."""
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def pair_texts(expected: Any, actual: Any) -> Tuple[str, str]:
    """Two leaves as a mismatch shows them: rendered, then cut around their first difference."""
    return shorten_pair(render_value(expected), render_value(actual))


# --- words about a record -----------------------------------------------------------------

# Conditions the platform or scftest reports (timeout, memory, exit) rather than a
# Python exception of the handler; the executor names them scf.Timeout and the like.
_PLATFORM_PREFIXES = (PLATFORM_PREFIX, "scftest.")


def failure_detail(record: Any) -> str:
    """What went wrong, in one line: the exception, the timeout text, the exit."""
    error = getattr(record, "error", None)
    if error is not None:
        kind = getattr(error, "type", "") or ""
        text = first_line(getattr(error, "message", "") or "")
        qualified = getattr(error, "qualified_type", "") or ""
        if qualified.startswith(_PLATFORM_PREFIXES) and text:
            return text  # "Invoking task timed out…" needs no "Timeout:" before it
        return f"{kind}: {text}" if kind and text else (kind or text)
    exit_code, signal = getattr(record, "exit_code", None), getattr(record, "signal", None)
    if signal:
        return _("the process was killed by {signal}").format(signal=signal)
    ret_msg = getattr(record, "ret_msg", None)
    if ret_msg:
        return first_line(str(ret_msg))
    if exit_code not in (None, 0):
        return _("the process exited with code {code}").format(code=exit_code)
    return ""


def traceback_tail(record: Any) -> str:
    """The innermost ``TRACEBACK_LINES`` lines of the record's traceback ("" without one)."""
    error = getattr(record, "error", None)
    trace = (getattr(error, "traceback", "") or "").rstrip() if error is not None else ""
    lines = trace.splitlines()
    if len(lines) > TRACEBACK_LINES:  # the innermost frames are the ones that matter
        left_out = len(lines) - TRACEBACK_LINES
        lines = [_("… {count} lines of traceback left out").format(count=left_out)] + lines[-TRACEBACK_LINES:]
    return "\n".join(lines)


def log_entry(kind: str, pattern: str) -> str:
    """An ``expect.log`` entry's pattern as a person wrote it: text JSON-quoted, a regex as
    written in YAML (``regex '\\d+'``: JSON quoting would double its backslashes)."""
    return render_value(pattern) if kind in ("contains", "absent") else f"regex {yaml_quote(pattern)}"


BUDGET_UNITS = {"duration_ms": "ms", "memory_mb": "MB"}


def budget_figure(value: float, key: str) -> str:
    """``1520.4 ms``: a figure of the budget ``key`` with its unit."""
    return f"{amount(value)} {BUDGET_UNITS.get(key, '')}".rstrip()


# --- a mismatch's two sides ---------------------------------------------------------------

Sides = Tuple[str, str]


def _gap_word(gap: Gap, side: str) -> str:
    if gap is Gap.ABSENT:
        return _("(absent)") if side == "expected" else _("(missing)")
    if gap is Gap.NOTHING:
        return ""
    return _({Gap.NONE: N_("(none)"), Gap.NOT_CHECKED: N_("(not checked)"), Gap.ANY: N_("a return value")}[gap])


def _side(m: Mismatch, side: str) -> str:
    """One side on its own: a placeholder, the judging matcher as written, or the value cut."""
    value = m.expected if side == "expected" else m.actual
    if isinstance(value, Gap):
        return _gap_word(value, side)
    if side == "expected" and m.matcher is not None:
        return repr(m.matcher)
    return short_text(value)


def _each(m: Mismatch, record: Any) -> Sides:
    return _side(m, "expected"), _side(m, "actual")


def _leaves(m: Mismatch, record: Any) -> Sides:
    return pair_texts(m.expected, m.actual)


def code_words(number: Any) -> str:
    """An SCF status code with what it means: ``437 (handler not found)``."""
    try:
        return f"{number} ({Code.of(number).meaning})"
    except (ValueError, TypeError):
        return str(number)


def _status(m: Mismatch, record: Any) -> Sides:
    got = m.actual
    if m.root == "status_code":  # numbers: each with its meaning
        text = code_words(got)
        detail = failure_detail(record) if record is not None and got != Code.SUCCESS.number else ""
        return code_words(m.expected), text + (f": {detail}" if detail else "")
    text = str(got)
    if record is not None:
        detail = failure_detail(record) if got != Status.SUCCESS else ""
        text += f": {detail}" if detail else ""
        returned = getattr(record, "return_value", UNSET)
        if got == Status.SUCCESS and returned is not UNSET:  # what came back instead of the failure
            text += _(", returned {value}").format(value=short_text(returned, INLINE_WIDTH))
        trace = traceback_tail(record)
        text += "\n" + trace if trace else ""
    return str(m.expected), text


def _error_type(m: Mismatch, record: Any) -> Sides:
    expected = repr(m.matcher) if m.matcher is not None else str(m.expected)
    found = m.actual if isinstance(m.actual, Mapping) else {"type": str(m.actual)}
    short, qualified = found.get("type") or "", found.get("qualified_type") or ""
    return expected, short + (f" ({qualified})" if qualified and qualified != short else "")


def _error_text(m: Mismatch, record: Any) -> Sides:
    expected = repr(m.matcher) if m.matcher is not None else f"regex {yaml_quote(str(m.expected))}"
    if isinstance(m.actual, Gap):
        return expected, _gap_word(m.actual, "actual")
    if m.path[-1:] == ("traceback",):  # a traceback's last line names the exception
        lines = str(m.actual).strip().splitlines()
        return expected, render_value(lines[-1]) if lines else '""'
    return expected, short_text(m.actual)  # a message reads from its start


def _log(m: Mismatch, record: Any) -> Sides:
    kind, pattern = log_entry_parts(m.expected)
    expected = log_entry(kind, pattern)
    if kind.startswith("absent"):
        expected = _("no {entry}").format(entry=expected)
    actual = m.actual
    if actual is Gap.ABSENT:  # no line is close to the pattern
        lines = [line for line in (getattr(record, "log", "") or "").splitlines() if line.strip()]
        if not lines:
            return expected, _("(the log is empty)")
        return expected, ngettext("(not in the {count} line of the log)", "(not in the {count} lines of the log)",
                                  len(lines)).format(count=len(lines))
    if isinstance(actual, Gap):
        return expected, _gap_word(actual, "actual")
    if kind.startswith("absent"):  # the line that holds the match, shortened around it
        return expected, render_value(shorten_around(str(actual), m.at or 0))
    return expected, _("closest line: {line}").format(line=short_text(str(actual).strip()))


def log_entry_parts(entry: Any) -> Tuple[str, str]:
    """(kind, pattern) of a log entry as written: a string, or ``{regex: P}`` and the like."""
    if isinstance(entry, Mapping) and len(entry) == 1:
        kind, pattern = next(iter(entry.items()))
        return str(kind), str(pattern)
    return "contains", str(entry)


def _schema(m: Mismatch, record: Any) -> Sides:
    rules = m.expected if isinstance(m.expected, Mapping) else {}
    rule = ", ".join(f"{keyword}: {short_text(value, INLINE_WIDTH)}" for keyword, value in rules.items())
    return rule, short_text(m.actual)


def _not_json(m: Mismatch, record: Any) -> Sides:
    return _("JSON data"), f"<{type(m.actual).__name__}>"


def _budget(m: Mismatch, record: Any) -> Sides:
    return _("at most {figure}").format(figure=budget_figure(m.expected, m.root)), budget_figure(m.actual, m.root)


_SIDES: Dict[Kind, Callable[[Mismatch, Any], Sides]] = {
    Kind.VALUE: _leaves,
    Kind.PART: _each,
    Kind.STATUS: _status,
    Kind.ERROR_TYPE: _error_type,
    Kind.ERROR_TEXT: _error_text,
    Kind.LOG: _log,
    Kind.SCHEMA: _schema,
    Kind.NOT_JSON: _not_json,
    Kind.BUDGET: _budget,
    Kind.NOTE: _each,
}


def sides(m: Mismatch, record: Any = None) -> Sides:
    """The expected and the actual text of a mismatch; "" for a side not shown.

    ``record`` is the case's invocation record: a status mismatch shows the exception,
    the returned value and the traceback from it, and a log mismatch the log's size.
    """
    return _SIDES[m.kind](m, record)


def where(m: Mismatch) -> str:
    """The mismatch's place as text: ``return.body.items[1].id``, ``log[2]``, ``status``."""
    return format_path(m.root, m.path)


def format_mismatch(m: Mismatch, record: Any = None) -> str:
    """The text reports show for one mismatch::

        return.body.items[1].id (suite line 42): values differ
          expected: 2
          actual:   3
    """
    line = _(" (suite line {line})").format(line=m.line) if m.line else ""
    lines = [_("{place}: {message}").format(place=where(m) + line, message=m.message)]
    for label, text in zip((_("expected:"), _("actual:")), sides(m, record)):
        if text:
            lines.append(_labelled(label, text))
    return "\n".join(lines)


def _labelled(label: str, value: str) -> str:
    head = "  " + pad(label, 10)  # "  expected: " and "  actual:   " line up (so do 期望： and 实际：)
    rest = value.splitlines() or [""]
    indent = "\n" + " " * display_width(head)
    return head + indent.join(rest)


def format_mismatches(mismatches: Iterable[Mismatch], record: Any = None) -> str:
    """All mismatches of a case, one block each."""
    return "\n".join(format_mismatch(m, record) for m in mismatches)


# --- handler text on a terminal, and colours ----------------------------------------------

# What a terminal must not receive from data (handler output, returned values, suite and
# case names, file names): the C0 controls, DEL and the C1 controls (ESC starts the
# sequences that repaint, retitle or hyperlink a terminal; CR overwrites a line; BEL
# rings), and the Unicode controls that reorder or break lines (bidi overrides and
# isolates, U+2028 / U+2029). They are shown escaped, as Python writes them in a string.
_OTHER_CONTROLS = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_IN_LINE = re.compile("[\x00-\x1f" + _OTHER_CONTROLS + "]")  # one line: newline and tab escaped too
_IN_BLOCK = re.compile("[\x00-\x08\x0b-\x1f" + _OTHER_CONTROLS + "]")  # a block keeps \t and \n
_NAMED = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}
TERMINAL_LINE_WIDTH = 1000  # a line of data in the terminal; the JSON report keeps it whole


def _escaped(match: "re.Match[str]") -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def printable(text: str) -> str:
    """A block of data (a log, an explanation) made safe for a terminal: line breaks stay
    line breaks (CRLF as one), tabs stay tabs, every other control character is shown
    escaped (``\\x1b``, ``\\r``), so nothing a handler writes can repaint or overwrite the report."""
    return _IN_BLOCK.sub(_escaped, text.replace("\r\n", "\n"))


def printable_line(text: str) -> str:
    """One line of data (a name, an id, a path, a record field) made safe for a terminal:
    newlines and tabs are escaped as well, so the line stays one line."""
    return _IN_LINE.sub(_escaped, text)


def without_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (for files read by tools, not terminals)."""
    return _ANSI.sub("", text)


# ANSI escape sequences (colour codes in handler logs) go whole, not just their ESC byte:
# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \\) and two-byte escapes.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def cut_long_lines(text: str, width: int = TERMINAL_LINE_WIDTH) -> str:
    """Each line of ``text`` longer than ``width`` characters cut there, with a marker
    saying how much of it was cut and where it is whole."""
    if len(text) <= width:
        return text
    lines = text.split("\n")
    for index, line in enumerate(lines):
        if len(line) > width:
            lines[index] = (f"{line[:width]}… [{len(line) - width} more characters of this line cut here; "
                            f"the JSON report (--json) has it whole]")
    return "\n".join(lines)


def terminal_block(text: str) -> str:
    """Data for the terminal as a block: long lines cut, then control characters escaped."""
    return printable(cut_long_lines(text))


def terminal_line(text: str, width: int = TERMINAL_LINE_WIDTH) -> str:
    """Data for the terminal on one line: cut if longer than ``width``, control
    characters (newlines and tabs included) escaped."""
    if len(text) > width:
        text = f"{text[:width]}… [{len(text) - width} more characters cut here; the JSON report (--json) has them]"
    return printable_line(text)


# ANSI SGR codes by verdict word; "title" for section rules.
COLORS: Dict[str, str] = {
    "passed": "32",  # green
    "failed": "31",  # red
    "error": "31",
    "xpassed": "31",
    "skipped": "33",  # yellow
    "xfailed": "33",
    "title": "1",  # bold
    "dim": "2",
}


def paint(text: str, kind: str, color: bool) -> str:
    """``text`` in the colour of ``kind`` (a verdict word, "title" or "dim") when ``color``."""
    code = COLORS.get(kind)
    if not color or not code:
        return text
    return f"\x1b[{code}m{text}\x1b[0m"


def unpainted(text: str) -> str:
    """Text without the colour codes ``paint`` adds, to measure it."""
    out: List[str] = []
    i = 0
    while i < len(text):
        if text.startswith("\x1b[", i):
            end = text.find("m", i)
            i = end + 1 if end >= 0 else len(text)
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


# ---------------------------------------------------------------------------------------
# scftest image: a runtime's library table and install progress.

def image_table(table, manifest, site_packages) -> str:
    """``scftest image list`` for one runtime: name, cloud version, import names, provisioned."""
    if not table.libraries:
        return _("{runtime}: no pre-installed libraries").format(runtime=table.runtime) + "\n" + _(
            "source: {source}").format(source=table.source) + "\n"
    rows = [(_("library"), _("version"), _("imports"), _("provisioned"))]
    notes = []
    for library in table.libraries:
        name = library.name
        if library.note:
            notes.append(f"  * {library.name}: {library.note}")
            name += " *"
        rows.append((name, library.version or "-", ", ".join(library.imports), _provisioned(library, manifest)))
    have = sum(1 for library in table.libraries if manifest.provisioned(library))
    lines = [_("{runtime}: {count} libraries in the cloud image").format(runtime=table.runtime, count=len(table.libraries)),
             _("source: {source}").format(source=table.source),
             _("{count} provisioned in {folder}").format(count=have, folder=site_packages)
             + (_(" with {interpreter} ({version})").format(interpreter=manifest.interpreter,
                                                          version=manifest.python_version)
                if have and manifest.interpreter else "")]
    widths = [max(display_width(row[column]) for row in rows) for column in range(3)]
    for row in rows:
        lines.append("  ".join(pad(cell, width) for cell, width in zip(row, widths)) + "  " + row[3])
    if have < len(table.libraries):
        lines.append(_("provision them with: scftest image install {runtime} [LIBRARY…]").format(runtime=table.runtime))
    return "\n".join(lines + notes) + "\n"


def _provisioned(library, manifest) -> str:
    if library.unavailable:
        return _("cannot be: {why}").format(why=library.unavailable)
    found = manifest.provisioned(library)
    if found is not None:
        return _("yes") if found.version == library.version else _("yes ({version})").format(version=found.version)
    last = manifest.failed.get(library.key)
    return _("no (last try: {error})").format(error=cut(last, LINE_WIDTH)) if last else _("no")


def install_heading(count: int, runtime: str, interpreter, site_packages) -> str:
    """``scftest image install``'s first line: what is provisioned, with what, where."""
    return _("provisioning {count} of the {runtime} image's libraries with {python} ({version}) into {folder}").format(
        count=count, runtime=runtime, python=interpreter.path, version=interpreter.version, folder=site_packages)


def event_delivery_note(delivered: str) -> str:
    """``scftest events show``'s note (on stderr) for a template the function receives encoded."""
    return "scftest events: " + _("this is what event: merges into; the function receives it as {delivered}").format(
        delivered=delivered)


def install_start(index: int, total: int, library) -> str:
    """The start of a progress line (its end is ``install_end``)."""
    width = len(str(total))
    return f"[{index:>{width}}/{total}] {library.name} {library.version or library.pinned_version or ''} ... "


def install_end(outcome) -> str:
    if outcome.status == "installed":
        text = _("installed ({seconds} s)").format(seconds=f"{outcome.seconds:.1f}")
    elif outcome.status == "already":
        text = _("already provisioned")
    elif outcome.status == "unavailable":
        text = _("skipped: {reason}").format(reason=outcome.reason)
    else:
        text = _("FAILED: {reason}").format(reason=outcome.reason)
    return "\n".join([text] + ["    " + _("warning: {message}").format(message=warning) for warning in outcome.warnings])


def install_summary(runtime: str, outcomes, site_packages) -> str:
    counts = {status: sum(1 for o in outcomes if o.status == status)
              for status in ("installed", "already", "failed", "unavailable")}
    parts = [_("{count} installed").format(count=counts["installed"]),
             _("{count} already there").format(count=counts["already"])]
    if counts["unavailable"]:
        parts.append(_("{count} cannot be provisioned").format(count=counts["unavailable"]))
    if counts["failed"]:
        parts.append(_("{count} FAILED").format(count=counts["failed"]))
    lines = [_("{runtime}: {counts}; handlers import them from {folder}").format(
        runtime=runtime, counts=_(", ").join(parts), folder=site_packages)]
    if counts["failed"]:
        lines.append(_("what failed could not be installed on this machine (the reason is on its line): "
                       "install what its build needs and run this again, or vendor it into the code folder"))
    return "\n".join(lines) + "\n"


# --- isolation ----------------------------------------------------------------------------


def findings_table(findings) -> str:
    """``scftest doctor``: one ``name: state`` line per finding, its reason under it."""
    lines = []
    for finding in findings:
        lines.append(_("{name}: {state}").format(name=finding.name, state=finding.state))
        if finding.why:
            lines.append(f"    {finding.why}")
    return "\n".join(lines)


def isolation_note(plain: int, ran: int) -> str:
    """The terminal's line under the summary when cases ran as plain processes."""
    return ngettext("isolation: process for {plain} of {ran} case: not contained in an instance "
                    "(scftest doctor says why)",
                    "isolation: process for {plain} of {ran} cases: not contained in an instance "
                    "(scftest doctor says why)", ran).format(plain=plain, ran=ran)


CODE_ROOT_INSIDE = "/var/user"  # where an instance (and the cloud) has the code


def code_root_note(code_root) -> str:
    """Maps the function's paths back to the user's files, under a failure that shows them."""
    return _("({inside}/ is {code_root}/ : the code root as the function saw it)").format(
        inside=CODE_ROOT_INSIDE, code_root=code_root)


IMPORT_ORIGINS = ("code", "layer", "image", "stdlib", "other")


def imports_text(imports: Sequence[Tuple[str, str]]) -> str:
    """``code: index, util; image: requests; stdlib: 12 modules`` from (module, origin)
    pairs: the record's imports grouped by where they came from, the handler's own first.
    The standard library's are counted, not named (a few imports pull in dozens; the
    JSON report names them)."""
    groups = {origin: [name for name, where in imports if where == origin] for origin in IMPORT_ORIGINS}
    parts = []
    for origin, names in groups.items():
        if names and origin == "stdlib":
            parts.append("stdlib: " + ngettext("{count} module", "{count} modules", len(names)).format(
                count=len(names)))
        elif names:
            parts.append(f"{origin}: {', '.join(names)}")
    return "; ".join(parts)


# --- the Fidelity page (docs/fidelity.md) -------------------------------------------------

FIDELITY_INTRO = """\
# Fidelity: what scftest emulates, runtime by runtime

This page is generated from the runtime profiles (`scftest/scf/profiles.py`) by
`scftest fidelity > docs/fidelity.md`, and a test fails when the two differ, so it says
what scftest does today. Each behaviour says what the function sees on each runtime SCF
offers, and on what basis:

- **confirmed**: a source shows the cloud doing it;
- **inferred**: sources suggest it, none shows it outright;
- **chosen**: no source says; scftest's choice, made so that a user of the real platform
  recognises it.

A behaviour the cloud is seen to do otherwise is one line of the profile to change.
"""


def fidelity_page(profiles, sources) -> str:
    """docs/fidelity.md: one table per behaviour, runtimes that agree on one row."""
    topics: List[str] = []
    for profile in profiles:
        topics += [fact.topic for fact in profile.facts if fact.topic not in topics]
    parts = [FIDELITY_INTRO]
    for topic in topics:
        rows: List[Tuple[Tuple[str, str, str], List[str]]] = []
        for profile in profiles:
            for fact in (f for f in profile.facts if f.topic == topic):
                key = (fact.behaviour, fact.basis, fact.source)
                for row in rows:
                    if row[0] == key:
                        row[1].append(profile.runtime)
                        break
                else:
                    rows.append((key, [profile.runtime]))
        parts.append(f"## {topic[0].upper()}{topic[1:]}\n\n| runtime | what the function sees | basis | source |\n"
                     "|---|---|---|---|\n")
        parts[-1] += "".join(f"| {', '.join(runtimes)} | {_cell(behaviour)} | {basis} | {_cell(source)} |\n"
                             for (behaviour, basis, source), runtimes in rows)
    parts.append("## Sources\n\n" + "".join(f"- {name}: {text}\n" for name, text in sources))
    return "\n".join(parts)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def rerun_line(rerun) -> str:
    """The header line of ``--lf`` / ``--ff`` (a ``plan.Rerun``), in pytest's words."""
    if rerun.previous and rerun.mode == "ff":
        return "run-last-failure: " + ngettext("rerun previous {count} failure first", "rerun previous {count} failures first",
                                               rerun.previous).format(count=rerun.previous)
    if rerun.previous:
        return "run-last-failure: " + ngettext("rerun previous {count} failure", "rerun previous {count} failures",
                                               rerun.previous).format(count=rerun.previous)
    if rerun.known:
        return "run-last-failure: " + ngettext(
            "{count} known failure not in the selected cases, running every selected case",
            "{count} known failures not in the selected cases, running every selected case", rerun.known).format(
                count=rerun.known)
    return "run-last-failure: " + _("no previously failed cases, not deselecting any")


def matrix_label(params: Mapping[str, Any]) -> str:
    """What a matrix expansion adds to a case's name, inside ``[ ]``: each axis's value,
    as written (``Python2.7``, ``vendor/py36``); an ``environment`` value as its
    variables, ``DB=mysql LOG=debug`` (``!env NAME`` for a pass-through, ``{}`` for none)."""
    return ", ".join(_matrix_value(value) for value in params.values())


def exit_line(exit_code, signal) -> str:
    """The record's exit line: the code, or the signal that ended the process; neither while
    it still runs (a warm step's: the instance went on to serve the next step)."""
    if exit_code is not None:
        return f"exit_code: {exit_code}"
    if signal:
        return f"exit_code: -, signal: {signal}"
    return "exit_code: " + _("none, the process still runs: the instance stayed warm for the next step")


def matrix_line(params: Mapping[str, Any]) -> str:
    """A case's matrix values for a CI reader (the JUnit report's ``matrix:`` line): each axis
    named, an ``environment`` value as its variables, ``environment: DB=mysql, LOG=debug``
    (``!env NAME`` for a pass-through: its value is never shown; ``(none)`` for no variable),
    axes apart by ``; ``."""
    return "; ".join(f"{axis}: {_matrix_value(value, ', ') if value != {} else '(none)'}"
                     for axis, value in params.items())


def _matrix_value(value: Any, between: str = " ") -> str:
    if isinstance(value, Mapping):
        return between.join(f"{key}={item!r}" if not isinstance(item, str) else f"{key}={item}"
                            for key, item in value.items()) or "{}"
    return str(value)


# --- the HTML report's words (report/html.py lays them out) -----------------------------

VERDICT_WORDS = {  # in English; a report shows _(word)
    "passed": N_("passed"),
    "failed": N_("failed"),
    "error": N_("could not run"),
    "skipped": N_("skipped"),
    "xfailed": N_("failed as expected"),
    "xpassed": N_("passed, but was expected to fail"),
}


def pretty_lines(value: Any, indent: str = "") -> List[str]:
    """A value over several lines, JSON-like, two spaces a level (matchers as their YAML,
    a text with newlines as its lines): the two sides of a diff."""
    if isinstance(value, Mapping) and value:
        inner = indent + "  "
        lines = ["{"]
        for index, (key, item) in enumerate(value.items()):
            sub = pretty_lines(item, inner)
            comma = "," if index < len(value) - 1 else ""
            lines.append(f"{inner}{_render_key(key)}: {sub[0]}" + ("" if len(sub) > 1 else comma))
            lines.extend(sub[1:-1])
            if len(sub) > 1:
                lines.append(sub[-1] + comma)
        return lines + [indent + "}"]
    if isinstance(value, (list, tuple)) and value:
        inner = indent + "  "
        lines = ["["]
        for index, item in enumerate(value):
            sub = pretty_lines(item, inner)
            comma = "," if index < len(value) - 1 else ""
            lines.append(inner + sub[0] + ("" if len(sub) > 1 else comma))
            lines.extend(sub[1:-1])
            if len(sub) > 1:
                lines.append(sub[-1] + comma)
        return lines + [indent + "]"]
    if isinstance(value, str) and "\n" in value:
        return value.splitlines()
    return [render_value(value)]


def wants_diff(m: Mismatch) -> bool:
    """Whether a mismatch's two values are worth a line-by-line diff: both present, and
    a container or a text of several lines on either side."""
    if isinstance(m.expected, Gap) or isinstance(m.actual, Gap):
        return False

    def big(value: Any) -> bool:
        return isinstance(value, (Mapping, list, tuple)) or (isinstance(value, str) and "\n" in value)

    return big(m.expected) or big(m.actual)


def diff_lines(expected: Any, actual: Any) -> List[Tuple[str, str]]:
    """A unified diff of the two values' ``pretty_lines``, as (mark, line) pairs: mark "-"
    for a line only expected, "+" only actual, " " for both (all of each side: they are
    one value, context helps)."""
    import difflib

    before, after = pretty_lines(expected), pretty_lines(actual)
    pairs: List[Tuple[str, str]] = []
    for line in difflib.ndiff(before, after):
        mark, text = line[:1], line[2:]
        if mark in ("-", "+", " "):
            pairs.append((mark, text))
    return pairs


def elapsed_words(seconds: float) -> str:
    """``12.3 ms``, ``4.56 s``: a duration a person reads."""
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


# --- coverage (--cov): the terminal's table; report/coverage.py writes the files ---------


def line_ranges(lines: Iterable[int]) -> str:
    """``3, 5-7, 10``: sorted line numbers with runs joined."""
    ordered = sorted(set(lines))
    parts: List[str] = []
    start = previous = None
    for line in ordered + [None]:
        if start is not None and (line is None or line != previous + 1):
            parts.append(str(start) if start == previous else f"{start}-{previous}")
            start = None
        if line is not None and start is None:
            start = line
        previous = line
    return ", ".join(parts)


def arc_words(arcs: Iterable[Tuple[int, int]]) -> str:
    """``6->9, 8->exit``: branches not taken, as coverage.py writes them."""
    return ", ".join(f"{a}->{b if b > 0 else 'exit'}" for a, b in sorted(arcs))


def percent(done: int, total: int) -> str:
    """``89%``; a total of nothing is 100% (nothing was left unrun), as coverage.py says."""
    if total == 0:
        return "100%"
    value = 100.0 * done / total
    # never round up to 100% (or down to 0%) what is not all (or nothing)
    shown = int(value) if 99 < value < 100 else (1 if 0 < value < 1 else round(value))
    return f"{shown}%"


def coverage_install(requirement: str, version: str, folder) -> str:
    """Said once per interpreter and cache, before its coverage.py is installed."""
    return _("scftest: installing {requirement} for Python {version} into {folder} (once: later runs reuse it)").format(
        requirement=requirement, version=version, folder=folder)


def coverage_gate(result, minimum: float) -> str:
    """The line ``--cov-fail-under`` adds after the coverage report (a ``CoverageResult``)."""
    if not result.files:
        return _("coverage: no handler code was measured, so --cov-fail-under {minimum} is not reached: "
                 "the run fails").format(minimum=f"{minimum:g}%")
    total = f"{result.total_percent:.2f}%"
    if result.fails_under(minimum):
        return _("coverage: the total {total} is below --cov-fail-under {minimum}: the run fails").format(
            total=total, minimum=f"{minimum:g}%")
    return _("coverage: the total {total} reaches --cov-fail-under {minimum}").format(
        total=total, minimum=f"{minimum:g}%")


def no_coverage(problems: Sequence[str]) -> str:
    lines = ["coverage: no handler code was measured (no case ran its function)"]
    return "\n".join(lines + [f"coverage: {problem}" for problem in problems]) + "\n"


def coverage_table(rows: Sequence[Tuple[str, int, int, int, int, str, str]], instances: int,
                   problems: Sequence[str]) -> str:
    """The terminal's coverage table: (name, statements, missed, branches, partial,
    cover, missing) per file, then TOTAL (the last row)."""
    head = ("Name", "Stmts", "Miss", "Branch", "BrPart", "Cover", "Missing")
    width = max([len(head[0])] + [len(row[0]) for row in rows])
    lines = [f"coverage of the handler code ({instances} instance{'s' if instances != 1 else ''} measured)"]
    header = f"{head[0]:<{width}} {head[1]:>6} {head[2]:>6} {head[3]:>6} {head[4]:>6} {head[5]:>6}   {head[6]}"
    rule = "-" * len(header)
    lines.append(header)
    lines.append(rule)
    for index, (name, stmts, miss, branch, part, cover, missing) in enumerate(rows):
        if index == len(rows) - 1 and len(rows) > 1:
            lines.append(rule)
        lines.append(f"{name:<{width}} {stmts:>6} {miss:>6} {branch:>6} {part:>6} {cover:>6}   {missing}".rstrip())
    for problem in problems:
        lines.append(f"coverage: {problem}")
    return "\n".join(lines) + "\n"
