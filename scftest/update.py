"""Record mode, ``scftest run --update``: write what was observed into the suite files.

For each case entry that has no outcome expectation (``return``, ``return_includes``,
``return_schema``, ``error``, ``status``), or whose ``return`` did not hold, the observed
outcome is written under its ``expect``:

- a sync success: ``return: <the value the caller received>``;
- an exception: ``error: {type, message}``, the message as an anchored pattern of its first line;
- a timeout, a crash, running out of memory: ``status: <that word>``.

Everything else in the file is kept byte for byte: the edit is a splice of the few lines that
change. A round-trip dump (ruamel.yaml's included) re-emits the whole document with one global
indentation and flow spacing, which rewrites hand-made files that mix styles; splicing cannot.
ruamel.yaml renders the new value, so quoting and block layout follow YAML's rules. Each edit is
then proven: the new file is parsed the way the loader parses it, and must equal the old
document plus exactly the new keys; an edit that fails the proof (anchors, aliases, merge keys
sharing text with other places) is not made, and its case is reported as left alone.

What is never touched: a case whose expectations hold matchers (written by hand), a case that was
skipped, errored or is marked xfail, a function that could not be loaded, an async case's return,
a ``return`` whose case now ends in an exception (that would turn an expected value into an
expected failure: a regression recorded as the truth), and a matrix case whose expansions
disagree or did not all run. The report says why.

Nothing is written when the ``CI`` environment variable is set: a CI job checks suites, it must
never rewrite them.
"""

from __future__ import annotations

import io
import json
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import yaml
from ruamel.yaml import YAML
from ruamel.yaml.representer import RoundTripRepresenter
from ruamel.yaml.scalarstring import DoubleQuotedScalarString, SingleQuotedScalarString

from .loader import load_suite, suite_tags
from .matchers import Matcher
from .model import UNSET, Case, Expectation, NodePath
from .outcome import CaseOutcome, Verdict
from .record import STATUS_CODES, ErrorInfo
from .yamlio import YamlError, parse_text

CI_VARIABLE = "CI"
OUTCOME_KEYS = ("return", "return_includes", "return_schema", "error", "status")
_EXPECT_ATTRS = {"return": "return_", "return_includes": "return_includes",
                 "return_schema": "return_schema", "error": "error", "status": "status"}
FAILURE_STATUSES = ("timeout", "memory_exceeded", "crash")
_LOAD_FAILURES = (STATUS_CODES["handler_not_found"], STATUS_CODES["init_error"])
# A recorded value longer than this is no longer something a person reads or maintains.
MAX_RECORDED_LINES = 300
# An exception message line longer than this is recorded as a prefix pattern.
MAX_MESSAGE_CHARS = 120
SHOWN_CHARS = 70


class UpdateRefused(Exception):
    """``--update`` must not write here (the CI variable is set). The CLI exits with status 4."""


def refuse_in_ci(environ: Optional[Mapping[str, str]] = None) -> None:
    """Raise UpdateRefused when ``CI`` is set to a non-empty value (empty counts as unset)."""
    env = os.environ if environ is None else environ
    value = env.get(CI_VARIABLE, "")
    if value.strip():
        raise UpdateRefused(
            f"--update never writes suite files when the {CI_VARIABLE} environment variable is set "
            f"({CI_VARIABLE}={value}): a CI job checks the suites, it must not rewrite them. Record on "
            f"your own machine, review the change and commit it (or, if this is not CI, run: "
            f"{CI_VARIABLE}= scftest run --update)")


# --- the report ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Change:
    """One expectation written into a suite file."""

    file: Path
    line: int  # the line of the written key, in the file as it is now
    case: str  # the case's name as written in the file (without a matrix suffix)
    key: str  # return | error | status
    value: Any
    case_ids: Tuple[str, ...] = ()  # every run (matrix expansion) this entry stands for
    still_failing: Tuple[str, ...] = ()  # other expectations of the case that did not hold

    def __str__(self) -> str:
        text = f"{_shown_path(self.file)}:{self.line}: {self.case}: {self.key}: {_shorten(render_flow(self.value))}"
        return f"{text}  (still failing: {', '.join(self.still_failing)})" if self.still_failing else text


@dataclass(frozen=True)
class LeftAlone:
    """A case entry --update did not write to, and why."""

    file: Path
    line: int
    case: str
    reason: str
    held: bool = False  # it already expects an outcome and the outcome held: nothing to do

    def __str__(self) -> str:
        return f"{_shown_path(self.file)}:{self.line}: {self.case}: {self.reason}"


@dataclass(frozen=True)
class UpdateReport:
    changes: Tuple[Change, ...] = ()
    left_alone: Tuple[LeftAlone, ...] = ()
    files_written: Tuple[Path, ...] = ()

    @property
    def updated_case_ids(self) -> frozenset:
        """Ids (``suite::case [params]``) of every run whose entry received an expectation."""
        return frozenset(case_id for change in self.changes for case_id in change.case_ids)

    @property
    def resolved_case_ids(self) -> frozenset:
        """Ids of the runs that the recorded expectation makes pass: updated, and nothing else
        of the case failed (a log line that is missing still fails it)."""
        return frozenset(case_id for change in self.changes if not change.still_failing
                         for case_id in change.case_ids)

    def format(self) -> str:
        """Plain text for the terminal: every change, then every case left alone and why."""
        files = len(self.files_written)
        lines = [f"--update: wrote {len(self.changes)} expectation(s) into {files} file(s)"]
        lines += [f"  {change}" for change in self.changes]
        notable = [entry for entry in self.left_alone if not entry.held]
        if notable:
            lines.append("Left alone:")
            lines += [f"  {entry}" for entry in notable]
        held = len(self.left_alone) - len(notable)
        if held:
            lines.append(f"{held} case(s) already expect an outcome, and it held: left as written.")
        if self.changes:
            lines.append("Review the change (git diff), then run scftest run again to check it.")
        return "\n".join(lines)

    __str__ = format


def _shorten(text: str, width: int = SHOWN_CHARS) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _shown_path(path: Path) -> str:
    """Relative to the working folder when inside it, as the user typed it; else absolute."""
    try:
        relative = os.path.relpath(path, Path.cwd())
    except ValueError:  # another drive on Windows
        return str(path)
    return str(path) if relative.startswith("..") else relative


# --- deciding what to write ----------------------------------------------------------------


@dataclass(frozen=True)
class _Write:
    key: str
    value: Any
    still_failing: Tuple[str, ...] = ()


@dataclass(frozen=True)
class _Keep:
    reason: str
    held: bool = False


_Decision = Union[_Write, _Keep]


def propose(outcome: CaseOutcome) -> _Decision:
    """What --update would write for one run of a case, or why it leaves the case alone."""
    case, record = outcome.case, outcome.record
    if outcome.verdict is Verdict.SKIPPED:
        return _Keep(f"skipped ({outcome.summary or case.skip or 'skip'})")
    if outcome.verdict is Verdict.ERROR:
        return _Keep(f"scftest could not run it: {outcome.summary}")
    if case.xfail is not None or outcome.verdict in (Verdict.XFAILED, Verdict.XPASSED):
        return _Keep("marked xfail: remove xfail first if the function now behaves as it should")
    if record is None:
        return _Keep("no invocation was recorded")
    written = [key for key in OUTCOME_KEYS if getattr(case.expect, _EXPECT_ATTRS[key]) is not UNSET]
    if written and outcome.verdict is Verdict.PASSED:
        return _Keep("already expects an outcome, and it held", held=True)
    if not written:
        decision = _observed(outcome)
    elif "return" in written and outcome.failed:
        decision = _rewrite_return(outcome)
    else:
        decision = _Keep(f"already expects {', '.join(written)}; --update only rewrites a return that "
                         f"did not hold ({outcome.summary})")
    tags = _matcher_tags(case.expect)
    if isinstance(decision, _Write) and tags:
        return _Keep(f"its expectations hold matchers ({', '.join(tags)}), written by hand: "
                     "scftest does not overwrite them; edit them yourself")
    return decision


def _observed(outcome: CaseOutcome) -> _Decision:
    """The expectation for a case that has none: what the function did."""
    case, record = outcome.case, outcome.record
    assert record is not None
    status = record.status
    if status == "success":
        if case.invocation != "sync":
            return _Keep("async: the caller never receives the return value, and success is already "
                         "what a case without expect checks")
        if record.return_value is UNSET:
            return _Keep("the invocation succeeded but returned no value to record")
        return _Write("return", record.return_value, _still_failing(outcome, _RETURN_PATHS))
    if record.status_code in _LOAD_FAILURES:
        # A wrong handler name or a broken import is a problem of the set-up, not behaviour to keep.
        return _Keep(f"the function could not be loaded ({outcome.summary}); --update does not record "
                     "that: fix the handler or the code, or write the expectation by hand")
    if status == "error" and record.error is not None:
        return _Write("error", error_expectation(record.error), _still_failing(outcome, _OUTCOME_PATHS))
    if status == "error" or status in FAILURE_STATUSES:
        return _Write("status", status, _still_failing(outcome, _OUTCOME_PATHS))
    return _Keep(f"the invocation ended with a status scftest cannot record ({status})")


def _rewrite_return(outcome: CaseOutcome) -> _Decision:
    record = outcome.record
    assert record is not None
    if record.status != "success" or record.return_value is UNSET:
        # Recording the failure would turn an expected value into an expected failure.
        return _Keep(f"expects a return value, but the function ended with {record.status} "
                     f"({outcome.summary}); fix the function, or change the case by hand")
    if not any(_is_return_path(m.path) for m in outcome.mismatches):
        return _Keep(f"its return held; something else failed ({outcome.summary})")
    return _Write("return", record.return_value, _still_failing(outcome, _RETURN_PATHS))


_RETURN_PATHS = ("return",)
_OUTCOME_PATHS = ("return", "status", "error")


def _is_return_path(path: str) -> bool:
    return path == "return" or path.startswith(("return.", "return["))


def _still_failing(outcome: CaseOutcome, resolved: Tuple[str, ...]) -> Tuple[str, ...]:
    """The mismatches (by path) that the written value does not fix."""
    return tuple(m.path for m in outcome.mismatches
                 if not any(m.path == r or m.path.startswith((r + ".", r + "[")) for r in resolved))


def error_expectation(error: ErrorInfo) -> Dict[str, str]:
    """``{type, message}`` that the same exception matches again."""
    expected = {"type": error.type or error.qualified_type}
    pattern = message_pattern(error.message or "")
    if pattern:
        expected["message"] = pattern
    return expected


_REGEX_SPECIAL = re.compile(r"([.^$*+?{}\[\]\\|()])")


def message_pattern(message: str) -> str:
    """An anchored pattern of the message's first non-blank line; "" when there is none.

    Only regex metacharacters are escaped (re.escape also escapes spaces, quotes and dashes,
    which makes a pattern a person cannot read). ``$`` is dropped when the line is cut to a
    prefix. The pattern is checked against the message with the checker's flags.
    """
    line = next((text for text in message.splitlines() if text.strip()), "")
    if not line:
        return ""
    cut = len(line) > MAX_MESSAGE_CHARS
    escaped = _REGEX_SPECIAL.sub(r"\\\1", line[:MAX_MESSAGE_CHARS] if cut else line)
    for pattern in ((f"^{escaped}" if cut else f"^{escaped}$"), f"^{escaped}"):
        if re.search(pattern, message, re.MULTILINE):
            return pattern
    return ""


def _matcher_tags(expect: Expectation) -> List[str]:
    found: List[str] = []
    for value in (expect.return_, expect.return_includes, expect.ret_msg, expect.error):
        _collect_matchers(value, found)
    return sorted(set(found))


def _collect_matchers(value: Any, found: List[str]) -> None:
    if isinstance(value, Matcher):
        found.append(value.tag)
        _collect_matchers(getattr(value, "expected", None), found)  # !json holds a tree
    elif isinstance(value, Mapping):
        for item in value.values():
            _collect_matchers(item, found)
    elif isinstance(value, (list, tuple)):
        for item in value:
            _collect_matchers(item, found)


# --- one entry in the file, several runs ---------------------------------------------------


@dataclass
class _Entry:
    """One case entry of a suite file and the runs (matrix expansions) it produced."""

    file: Path
    path: NodePath
    outcomes: List[CaseOutcome] = field(default_factory=list)

    @property
    def index(self) -> int:
        return int(self.path[1])

    @property
    def name(self) -> str:
        return _written_name(self.outcomes[0].case)

    @property
    def line(self) -> int:
        return self.outcomes[0].case.line


def _written_name(case: Case) -> str:
    """The name as written in the file: without the " [Python2.7]" suffix of a matrix run."""
    if not case.params:
        return case.name
    suffix = f" [{', '.join(str(v) for v in case.params.values())}]"
    return case.name[: -len(suffix)] if case.name.endswith(suffix) else case.name


def _label(case: Case) -> str:
    return "[" + ", ".join(str(v) for v in case.params.values()) + "]" if case.params else case.name


def decide(entry: _Entry, runs_in_file: int) -> _Decision:
    """One decision for the entry: every run must propose the same write."""
    if len(entry.outcomes) < runs_in_file:
        return _Keep(f"only {len(entry.outcomes)} of its {runs_in_file} matrix runs ran; select them all "
                     "(no -k, --tag or --shard that splits them) to record it")
    decisions = [propose(o) for o in entry.outcomes]
    first = decisions[0]
    if all(_same_decision(first, d) for d in decisions[1:]):
        if isinstance(first, _Write):  # what still fails in any of the runs
            failing = sorted({path for d in decisions for path in d.still_failing})
            return _Write(first.key, first.value, tuple(failing))
        return first
    parts = [f"{_label(o.case)} {_describe(d)}" for o, d in zip(entry.outcomes, decisions)]
    return _Keep("its matrix runs disagree, so nothing was written: " + "; ".join(parts))


def _same_decision(a: _Decision, b: _Decision) -> bool:
    if isinstance(a, _Write) and isinstance(b, _Write):
        return a.key == b.key and same_value(a.value, b.value)
    return isinstance(a, _Keep) and isinstance(b, _Keep) and a.reason == b.reason


def _describe(decision: _Decision) -> str:
    if isinstance(decision, _Write):
        return f"{decision.key}: {_shorten(render_flow(decision.value))}"
    return _shorten(decision.reason, 60)


def same_value(a: Any, b: Any) -> bool:
    """Equality with JSON's types: ``1``, ``1.0`` and ``true`` are three different values here."""
    if isinstance(a, Mapping) or isinstance(b, Mapping):
        return (isinstance(a, Mapping) and isinstance(b, Mapping) and set(a) == set(b)
                and all(same_value(a[k], b[k]) for k in a))
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        return (isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b)
                and all(same_value(x, y) for x, y in zip(a, b)))
    if type(a) is not type(b):
        return False
    return bool(a == b)


# --- the whole run -------------------------------------------------------------------------


def update_suites(outcomes: Sequence[CaseOutcome], *,
                  environ: Optional[Mapping[str, str]] = None) -> UpdateReport:
    """Write observed outcomes into the suite files of ``outcomes``; report every decision.

    Raises UpdateRefused, writing nothing, when the CI variable is set in ``environ``
    (default: the process environment).
    """
    refuse_in_ci(environ)
    changes: List[Change] = []
    left: List[LeftAlone] = []
    written: List[Path] = []
    for file, entries in _entries_by_file(outcomes).items():
        file_changes, file_left, wrote = _update_file(file, entries)
        changes += file_changes
        left += file_left
        if wrote:
            written.append(file)
    return UpdateReport(tuple(changes), tuple(left), tuple(written))


def _entries_by_file(outcomes: Iterable[CaseOutcome]) -> Dict[Path, List[_Entry]]:
    """Runs grouped by the case entry they came from, files and entries in first-seen order."""
    entries: Dict[Tuple[Path, NodePath], _Entry] = {}
    for outcome in outcomes:
        file = outcome.case.file.resolve()
        key = (file, tuple(outcome.case.path))
        entries.setdefault(key, _Entry(file, key[1])).outcomes.append(outcome)
    by_file: Dict[Path, List[_Entry]] = {}
    for (file, _), entry in entries.items():
        by_file.setdefault(file, []).append(entry)
    return by_file


def _update_file(file: Path, entries: List[_Entry]) -> Tuple[List[Change], List[LeftAlone], bool]:
    runs = _runs_per_entry(file)
    if isinstance(runs, str):
        return [], [LeftAlone(file, e.line, e.name, runs) for e in entries], False
    decisions = [(e, _still_there(e, runs) or decide(e, runs[e.path][0])) for e in entries]
    original = _read(file)
    text, done, kept = _apply(file, original, decisions)
    if text != original:
        _write(file, text)
    root = _composed(text)  # once: the lines of every entry in the file as it is now
    changes = [Change(file, _key_line(root, e.index, w.key, e.line), e.name, w.key, w.value,
                      tuple(o.case.id for o in e.outcomes), w.still_failing) for e, w in done]
    left = [LeftAlone(file, _case_line(root, e.index, e.line), e.name, k.reason, k.held) for e, k in kept]
    return sorted(changes, key=lambda c: c.line), sorted(left, key=lambda entry: entry.line), text != original


def _apply(file: Path, original: str, decisions: List[Tuple[_Entry, _Decision]]):
    """(new text, the writes made, the entries kept with their reasons)."""
    writes = [(e, d) for e, d in decisions if isinstance(d, _Write)]
    kept = [(e, d) for e, d in decisions if isinstance(d, _Keep)]
    try:
        current, failed = _write_all(_parse(original, file), file, [(e.index, d.key, d.value) for e, d in writes])
    except _Unsafe as exc:  # the file no longer parses
        current, failed = _Version(original, None), {e.index: str(exc) for e, _ in writes}
    done = [(e, d) for e, d in writes if e.index not in failed]
    kept += [(e, _Keep(failed[e.index])) for e, _ in writes if e.index in failed]
    return current.text, done, kept


def _runs_per_entry(file: Path) -> Union[Dict[NodePath, Tuple[int, set]], str]:
    """For each case entry of the file as it is now: (number of runs, their names); or why not."""
    suite, problems, _ = load_suite(file, explicit=True)
    if suite is None:
        first = problems[0] if problems else "it is not a suite"
        return f"the file no longer loads, so nothing was written to it: {first}"
    runs: Dict[NodePath, Tuple[int, set]] = {}
    for case in suite.cases:
        count, names = runs.get(tuple(case.path), (0, set()))
        runs[tuple(case.path)] = (count + 1, names | {case.name})
    return runs


def _still_there(entry: _Entry, runs: Mapping[NodePath, Tuple[int, set]]) -> Optional[_Keep]:
    """A reason to stop when the file changed under the run (the entry moved or was renamed)."""
    names = runs.get(entry.path, (0, set()))[1]
    if len(entry.path) != 2 or any(o.case.name not in names for o in entry.outcomes):
        return _Keep("the case is no longer at its place in the file (edited during the run?)")
    return None


def _read(file: Path) -> str:
    # Bytes, not read_text: universal newlines would turn a file's CRLF into LF on write.
    return file.read_bytes().decode("utf-8")


def _write(file: Path, text: str) -> None:
    """Replace the file atomically: an interrupted write never leaves half a suite."""
    target = file.resolve()
    handle, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=str(target.parent))
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(text.encode("utf-8"))
        os.chmod(temporary, target.stat().st_mode & 0o7777)
        os.replace(temporary, target)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


# --- editing the text ----------------------------------------------------------------------


class _Unsafe(Exception):
    """The edit cannot be made without touching something else; the message says why."""


def apply_write(text: str, file: Path, index: int, key: str, value: Any) -> str:
    """``text`` with ``expect.<key>: value`` set in case ``index``; proven, or _Unsafe."""
    return _write_into(_parse(text, file), file, index, key, value).text


@dataclass(frozen=True)
class _Version:
    """The text of a suite file and what the loader reads from it."""

    text: str
    data: Any


def _parse(text: str, file: Path) -> _Version:
    try:
        return _Version(text, parse_text(text, file, suite_tags()).data)
    except YamlError as exc:
        raise _Unsafe(f"the edit would not parse ({exc.message}); edit it by hand") from None


def _write_into(current: _Version, file: Path, index: int, key: str, value: Any) -> _Version:
    _check_size(key, value)
    new = _parse(_set_expectation(current.text, _compose(current.text), index, key, value), file)
    _prove(current.data, new.data, [(index, key, value)])
    return new


def _check_size(key: str, value: Any) -> None:
    lines = len(render_pair(key, value))
    if lines > MAX_RECORDED_LINES:
        raise _Unsafe(f"the observed {key} is {lines} lines of YAML, too long to keep in a suite; "
                      "write the part that matters with return_includes by hand")


_Planned = Tuple[int, str, Any]  # (case index, key, value)


def _write_all(current: _Version, file: Path, planned: List[_Planned]) -> Tuple[_Version, Dict[int, str]]:
    """All writes on one parse: (the new version, {case index: why it was not written}).

    Edits go from the last case to the first, so the marks of one composition stay valid for
    every edit. If the result does not prove out as a whole, each write is made and proven
    on its own, which names the one that misbehaves.
    """
    root = _compose(current.text)
    text, failed = current.text, {}
    for index, key, value in sorted(planned, key=lambda item: item[0], reverse=True):
        try:
            _check_size(key, value)
            text = _set_expectation(text, root, index, key, value)
        except _Unsafe as exc:
            failed[index] = str(exc)
    made = [item for item in planned if item[0] not in failed]
    try:
        new = _parse(text, file)
        _prove(current.data, new.data, made)
        return new, failed
    except _Unsafe:
        return _write_each(current, file, made, failed)


def _write_each(current: _Version, file: Path, planned: List[_Planned],
                failed: Dict[int, str]) -> Tuple[_Version, Dict[int, str]]:
    for index, key, value in planned:
        try:
            current = _write_into(current, file, index, key, value)
        except _Unsafe as exc:
            failed[index] = str(exc)
    return current, failed


# libyaml when present: the pure-Python composer makes recording a 200-case suite take minutes.
_COMPOSER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _compose(text: str) -> yaml.Node:
    try:
        return yaml.compose(text, Loader=_COMPOSER)
    except yaml.YAMLError as exc:
        raise _Unsafe(f"the file does not parse any more ({exc})") from None


def _case_node(root: Optional[yaml.Node], index: int) -> yaml.MappingNode:
    cases = _own_pair(root, "cases") if isinstance(root, yaml.MappingNode) else None
    if cases is None or not isinstance(cases[1], yaml.SequenceNode) or index >= len(cases[1].value):
        raise _Unsafe("the case is no longer at its place in the file")
    case = cases[1].value[index]
    if not isinstance(case, yaml.MappingNode):
        raise _Unsafe("the case is not a mapping")
    return case


def _set_expectation(text: str, root: yaml.Node, index: int, key: str, value: Any) -> str:
    """``text`` with the key set in case ``index``; ``root`` is the composed ``text``, or the
    composed text before edits made only to later cases (their marks lie after this case)."""
    case = _case_node(root, index)
    expect = _own_pair(case, "expect")
    if expect is None:
        if any(k.tag == _MERGE_TAG for k, _ in case.value):
            raise _Unsafe("the case takes keys from a YAML merge (<<:), which may hold its expect; "
                          "add the expectation by hand")
        return _set_key(text, case, "expect", {key: value})
    if isinstance(expect[1], yaml.MappingNode):
        return _set_key(text, expect[1], key, value)
    raise _Unsafe("its expect is not a mapping")


_MERGE_TAG = "tag:yaml.org,2002:merge"
_NULL_TAG = "tag:yaml.org,2002:null"


def _own_pair(mapping: yaml.MappingNode, key: str) -> Optional[Tuple[yaml.Node, yaml.Node]]:
    """The key and value nodes written in this mapping itself (not merged in with <<)."""
    for key_node, value_node in mapping.value:
        if isinstance(key_node, yaml.ScalarNode) and key_node.tag != _MERGE_TAG and key_node.value == key:
            return key_node, value_node
    return None


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
        raise _Unsafe("its value is an alias (*name) of a node written elsewhere; edit it by hand")


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


def _composed(text: str) -> Optional[yaml.Node]:
    try:
        return _compose(text)
    except _Unsafe:
        return None


def _key_line(root: Optional[yaml.Node], index: int, key: str, fallback: int) -> int:
    try:
        expect = _own_pair(_case_node(root, index), "expect")
    except _Unsafe:
        return fallback
    pair = _own_pair(expect[1], key) if expect and isinstance(expect[1], yaml.MappingNode) else None
    return pair[0].start_mark.line + 1 if pair else fallback


def _case_line(root: Optional[yaml.Node], index: int, fallback: int) -> int:
    try:
        return _case_node(root, index).start_mark.line + 1
    except _Unsafe:
        return fallback


def _prove(before: Any, after: Any, planned: List[_Planned]) -> None:
    """The new document must be the old one plus exactly the planned ``expect`` keys."""
    cases = list(before["cases"])
    for index, key, value in planned:
        written = ((after.get("cases") or [{}])[index] or {}).get("expect", {}).get(key, UNSET)
        if not same_value(written, value):
            raise _Unsafe(f"scftest could not write this {key} so that it reads back the same "
                          f"(it would read {_shorten(render_flow(written))}); please report it")
        case = dict(cases[index])
        case["expect"] = {**(case.get("expect") or {}), key: value}
        cases[index] = case
    if not _same_document({**before, "cases": cases}, after):
        raise _Unsafe("the edit would change more than this case (YAML anchors, aliases or merge keys "
                      "share its text with other places); add the expectation by hand")


def _same_document(a: Any, b: Any) -> bool:
    # same_value, but matchers and !env objects compare by their own equality.
    if isinstance(a, (Mapping, list, tuple)) or isinstance(b, (Mapping, list, tuple)):
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            return set(a) == set(b) and all(_same_document(a[k], b[k]) for k in a)
        if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
            return len(a) == len(b) and all(_same_document(x, y) for x, y in zip(a, b))
        return False
    return same_value(a, b)


# --- rendering new values ------------------------------------------------------------------


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


def _quote_text(text: str, force: bool = False) -> str:
    # Quote what a YAML 1.1 reader would take for something else ("yes", "12:30", "0x1F",
    # "2019-02-21", "null"), even though scftest reads some of them as text: people and
    # other tools read these files too. Patterns are always single-quoted, as the docs write them.
    if _LINE_BREAKS.search(text) or yaml.reader.Reader.NON_PRINTABLE.search(text):
        return DoubleQuotedScalarString(text)  # plain or single-quoted, line breaks would fold
    tag = _PLAIN_RESOLVER.resolve(yaml.ScalarNode, text, (True, False))
    if not force and tag == "tag:yaml.org,2002:str":
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
    is_text = _PLAIN_RESOLVER.resolve(yaml.ScalarNode, text, (True, False)) == "tag:yaml.org,2002:str"
    if is_text and _PLAIN_FLOW.match(text) and text == text.strip():
        return text
    if not (_LINE_BREAKS.search(text) or yaml.reader.Reader.NON_PRINTABLE.search(text)):
        return "'" + text.replace("'", "''") + "'"
    return json.dumps(text)  # escapes everything YAML's double quotes cannot hold as is
