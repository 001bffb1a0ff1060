"""Record mode, ``scftest run --update``: write what was observed into the suite files.

For each case entry that has no outcome expectation (``return``, ``return_includes``,
``return_schema``, ``error``, ``status``), or whose ``return`` did not hold, the observed
outcome is written under its ``expect``:

- a sync success: ``return: <the value the caller received>``;
- an exception: ``error: {type, message}``, the message as an anchored pattern of its first line;
- a timeout, a crash, running out of memory: ``status: <that word>``.

Everything else in the file is kept byte for byte: yamledit.py splices the few lines that
change and proves each edit by parsing the result the way the loader does; an edit that fails
the proof (anchors, aliases, merge keys sharing text with other places) is not made, and its
case is reported as left alone.

What is never touched: a case whose expectations hold matchers (written by hand), a case that was
skipped, errored or is marked xfail, a function that could not be loaded, an async case's return,
a ``return`` whose case now ends in an exception (that would turn an expected value into an
expected failure: a regression recorded as the truth), and a matrix case whose expansions
disagree or did not all run. The report says why.

Nothing is written when the ``CI`` environment variable is set: a CI job checks suites, it must
never rewrite them.
"""

from __future__ import annotations

import os
import re
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from scftest.errors import ScftestError
from scftest.i18n import _
from scftest.load.loader import load_suite
from scftest.matchers import Matcher
from scftest.model import UNSET, Case, Expectation, NodePath
from scftest.check.outcome import CaseOutcome, Verdict
from scftest.instance.record import ErrorInfo
from scftest.scf.invocation import SYNC
from scftest.scf.status import LOAD_FAILURES, Status
from scftest.authoring.yamledit import (Place, case_line, composed, key_line, render_flow, same_value,
                                       write_expectations)
from scftest.render import EDIT_REASON_WIDTH, EDIT_WIDTH, cut, where

CI_VARIABLE = "CI"
OUTCOME_KEYS = ("return", "return_includes", "return_schema", "error", "status")
_EXPECT_ATTRS = {"return": "return_", "return_includes": "return_includes",
                 "return_schema": "return_schema", "error": "error", "status": "status"}
FAILURE_STATUSES = (Status.TIMEOUT, Status.MEMORY_EXCEEDED, Status.CRASH)
# An exception message line longer than this is recorded as a prefix pattern.
MAX_MESSAGE_CHARS = 120


class UpdateRefused(ScftestError):
    """``--update`` must not write here (the CI variable is set). The CLI exits with status 4."""


def refuse_in_ci(environ: Optional[Mapping[str, str]] = None) -> None:
    """Raise UpdateRefused when ``CI`` is set to a non-empty value (empty counts as unset)."""
    env = os.environ if environ is None else environ
    value = env.get(CI_VARIABLE, "")
    if value.strip():
        raise UpdateRefused(
            _("--update never writes suite files when the {name} environment variable is set "
              "({name}={value}): a CI job checks the suites, it must not rewrite them. Record on "
              "your own machine, review the change and commit it (or, if this is not CI, run: "
              "{name}= scftest run --update)").format(name=CI_VARIABLE, value=value))


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
    step: Optional[int] = None  # the index of the step written into, in a warm sequence

    def __str__(self) -> str:
        text = f"{_shown_path(self.file)}:{self.line}: {self.case}: {self.key}: {cut(render_flow(self.value), EDIT_WIDTH)}"
        return text + _("  (still failing: {places})").format(places=", ".join(self.still_failing)) if self.still_failing \
            else text


@dataclass(frozen=True)
class LeftAlone:
    """A case entry --update did not write to, and why."""

    file: Path
    line: int
    case: str
    reason: str
    held: bool = False  # it already expects an outcome and the outcome held: nothing to do
    place: Place = -1  # the case's index in the file, or (case, step) for a step of a sequence

    def __str__(self) -> str:
        return f"{_shown_path(self.file)}:{self.line}: {self.case}: {self.reason}"

    @property
    def case_key(self) -> Tuple[Path, int]:
        """The case this entry belongs to (a step's: its sequence's)."""
        return self.file, self.place[0] if isinstance(self.place, tuple) else self.place


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
        of the case failed (a log line that is missing still fails it). A warm sequence's
        runs are not among them: see ``resolves``."""
        return frozenset(case_id for change in self.changes if not change.still_failing
                         and change.step is None for case_id in change.case_ids)

    def resolves(self, outcome: CaseOutcome) -> bool:
        """Whether the recorded expectations make ``outcome``'s run pass: for a warm
        sequence, every step that failed received one, and nothing else of it failed."""
        if not outcome.steps:
            return outcome.case.id in self.resolved_case_ids
        fixed = {change.step for change in self.changes if not change.still_failing
                 and change.step is not None and outcome.case.id in change.case_ids}
        failed = [s.step.index for s in outcome.steps if s.verdict is not Verdict.PASSED]
        return bool(failed) and all(index in fixed for index in failed)

    def format(self) -> str:
        """Plain text for the terminal: every change, then every case left alone and why."""
        files = len(self.files_written)
        lines = [_("--update: wrote {count} expectation(s) into {files} file(s)").format(count=len(self.changes), files=files)]
        lines += [f"  {change}" for change in self.changes]
        notable = [entry for entry in self.left_alone if not entry.held]
        if notable:
            lines.append(_("Left alone:"))
            lines += [f"  {entry}" for entry in notable]
        held = [entry for entry in self.left_alone if entry.held]
        cases = len({entry.case_key for entry in held})  # a warm sequence is one case, however many steps
        steps = sum(1 for entry in held if isinstance(entry.place, tuple))
        if steps:
            lines.append(_("{count} case(s) already expect an outcome, and it held: left as written "
                           "({steps} step(s) of warm sequences among them).").format(count=cases, steps=steps))
        elif held:
            lines.append(_("{count} case(s) already expect an outcome, and it held: left as written.").format(count=cases))
        if self.changes:
            lines.append(_("Review the change (git diff), then run scftest run again to check it."))
        return "\n".join(lines)

    __str__ = format


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
        return _Keep(_("skipped ({reason})").format(reason=outcome.summary or case.skip or "skip"))
    if outcome.verdict is Verdict.ERROR:
        return _Keep(_("scftest could not run it: {reason}").format(reason=outcome.summary))
    if case.xfail is not None or outcome.verdict in (Verdict.XFAILED, Verdict.XPASSED):
        return _Keep(_("marked xfail: remove xfail first if the function now behaves as it should"))
    if record is None:
        return _Keep(_("no invocation was recorded"))
    written = [key for key in OUTCOME_KEYS if getattr(case.expect, _EXPECT_ATTRS[key]) is not UNSET]
    if written and outcome.verdict is Verdict.PASSED:
        return _Keep(_("already expects an outcome, and it held"), held=True)
    if not written:
        decision = _observed(outcome)
    elif "return" in written and outcome.failed:
        decision = _rewrite_return(outcome)
    else:
        decision = _Keep(_("already expects {keys}; --update only rewrites a return that did not hold ({reason})").format(
            keys=", ".join(written), reason=outcome.summary))
    if isinstance(decision, _Write) and outcome.masked:
        # The value has *** where a secret was: writing it would expect the mask, and
        # writing the secret itself would put it into the suite file.
        return _Keep(_("what it shows holds a secret (a value passed with !env, or the role's), masked as ***; "
                       "--update never writes secrets into a suite: write this expectation by hand, "
                       "with !env where the secret goes"))
    tags = _matcher_tags(case.expect)
    if isinstance(decision, _Write) and tags:
        return _Keep(_("its expectations hold matchers ({tags}), written by hand: "
                       "scftest does not overwrite them; edit them yourself").format(tags=", ".join(tags)))
    return decision


def _observed(outcome: CaseOutcome) -> _Decision:
    """The expectation for a case that has none: what the function did."""
    case, record = outcome.case, outcome.record
    assert record is not None
    status = record.status
    if status == Status.SUCCESS:
        if case.invocation != SYNC:
            return _Keep(_("async: the caller never receives the return value, and success is already "
                           "what a case without expect checks"))
        if record.return_value is UNSET:
            return _Keep(_("the invocation succeeded but returned no value to record"))
        return _Write("return", record.return_value, _still_failing(outcome, _RETURN_PATHS))
    if record.status_code in [code.number for code in LOAD_FAILURES]:
        # A wrong handler name or a broken import is a problem of the set-up, not behaviour to keep.
        return _Keep(_("the function could not be loaded ({reason}); --update does not record "
                       "that: fix the handler or the code, or write the expectation by hand").format(reason=outcome.summary))
    if status == Status.ERROR and record.error is not None:
        return _Write("error", error_expectation(record.error), _still_failing(outcome, _OUTCOME_PATHS))
    if status == Status.ERROR or status in FAILURE_STATUSES:
        return _Write("status", str(status), _still_failing(outcome, _OUTCOME_PATHS))
    return _Keep(_("the invocation ended with a status scftest cannot record ({status})").format(status=status))


def _rewrite_return(outcome: CaseOutcome) -> _Decision:
    record = outcome.record
    assert record is not None
    if record.status != Status.SUCCESS or record.return_value is UNSET:
        # Recording the failure would turn an expected value into an expected failure.
        return _Keep(_("expects a return value, but the function ended with {status} "
                       "({reason}); fix the function, or change the case by hand").format(
            status=record.status, reason=outcome.summary))
    if not any(m.root == "return" for m in outcome.mismatches):
        return _Keep(_("its return held; something else failed ({reason})").format(reason=outcome.summary))
    return _Write("return", record.return_value, _still_failing(outcome, _RETURN_PATHS))


_RETURN_PATHS = ("return",)
_OUTCOME_PATHS = ("return", "status", "error")


def _still_failing(outcome: CaseOutcome, resolved: Tuple[str, ...]) -> Tuple[str, ...]:
    """The mismatches (by place) that the written value does not fix."""
    return tuple(where(m) for m in outcome.mismatches if m.root not in resolved)


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
    """One case entry of a suite file (or one step of a case's invocations:) and the runs
    (matrix expansions) it produced."""

    file: Path
    path: NodePath  # ("cases", i), or ("cases", i, "invocations", j) for a step
    outcomes: List[CaseOutcome] = field(default_factory=list)
    step: str = ""  # the step's label, for a step

    @property
    def index(self) -> Place:
        if len(self.path) == 4:
            return int(self.path[1]), int(self.path[3])
        return int(self.path[1])

    @property
    def name(self) -> str:
        written = _written_name(self.outcomes[0].case)
        return f"{written}, {self.step}" if self.step else written

    @property
    def line(self) -> int:
        return self.outcomes[0].case.line


def _written_name(case: Case) -> str:
    """The name as written in the file: without the " [Python2.7]" suffix of a matrix run."""
    if not case.variant:
        return case.name
    suffix = f" [{case.variant}]"
    return case.name[: -len(suffix)] if case.name.endswith(suffix) else case.name


def _label(case: Case) -> str:
    return f"[{case.variant}]" if case.variant else case.name


def decide(entry: _Entry, runs_in_file: int) -> _Decision:
    """One decision for the entry: every run must propose the same write."""
    if len(entry.outcomes) < runs_in_file:
        return _Keep(_("only {ran} of its {runs} matrix runs ran; select them all "
                       "(no -k, --tag or --shard that splits them) to record it").format(
            ran=len(entry.outcomes), runs=runs_in_file))
    decisions = [propose(o) for o in entry.outcomes]
    first = decisions[0]
    if all(_same_decision(first, d) for d in decisions[1:]):
        if isinstance(first, _Write):  # what still fails in any of the runs
            failing = sorted({path for d in decisions for path in d.still_failing})
            return _Write(first.key, first.value, tuple(failing))
        return first
    parts = [f"{_label(o.case)} {_describe(d)}" for o, d in zip(entry.outcomes, decisions)]
    return _Keep(_("its matrix runs disagree, so nothing was written: {runs}").format(runs="; ".join(parts)))


def _same_decision(a: _Decision, b: _Decision) -> bool:
    if isinstance(a, _Write) and isinstance(b, _Write):
        return a.key == b.key and same_value(a.value, b.value)
    return isinstance(a, _Keep) and isinstance(b, _Keep) and a.reason == b.reason


def _describe(decision: _Decision) -> str:
    if isinstance(decision, _Write):
        return f"{decision.key}: {cut(render_flow(decision.value), EDIT_WIDTH)}"
    return cut(decision.reason, EDIT_REASON_WIDTH)


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
    """Runs grouped by the case entry they came from, files and entries in first-seen order.
    A warm sequence gives one entry per step: each step's expectation is recorded from its
    own record."""
    entries: Dict[Tuple[Path, NodePath], _Entry] = {}
    for outcome in (one for each in outcomes for one in _per_step(each)):
        file = outcome.case.file.resolve()
        key = (file, tuple(outcome.case.path))
        label = outcome.case.steps[0].label if outcome.case.steps else ""
        entries.setdefault(key, _Entry(file, key[1], step=label)).outcomes.append(outcome)
    by_file: Dict[Path, List[_Entry]] = {}
    for (file, _key), entry in entries.items():
        by_file.setdefault(file, []).append(entry)
    return by_file


def _per_step(outcome: CaseOutcome) -> List[CaseOutcome]:
    """``outcome`` itself; for a warm sequence, one outcome per step that ran, each as if the
    step were a case of its own (its path, expect, invocation type and record), the step
    kept in ``steps`` so the entry can name it. A case whose steps did not run (skipped, an
    error before the first) stays one entry, left alone as such."""
    if not outcome.steps:
        return [outcome]
    return [CaseOutcome(replace(outcome.case, path=s.step.path, expect=s.step.expect,
                                invocation=s.step.invocation, steps=(s.step,)),
                        s.verdict, s.summary, s.mismatches, record=s.record,
                        masked=outcome.masked)  # a secret in any step: none is written
            for s in outcome.steps]


def _update_file(file: Path, entries: List[_Entry]) -> Tuple[List[Change], List[LeftAlone], bool]:
    runs = _runs_per_entry(file)
    if isinstance(runs, str):
        return [], [LeftAlone(file, e.line, e.name, runs, place=e.index) for e in entries], False
    decisions = [(e, _still_there(e, runs) or decide(e, runs[e.path[:2]][0])) for e in entries]
    original = _read(file)
    text, done, kept = _apply(file, original, decisions)
    if text != original:
        _write(file, text)
    root = composed(text)  # once: the lines of every entry in the file as it is now
    changes = [Change(file, key_line(root, e.index, w.key, e.line), e.name, w.key, w.value,
                      tuple(o.case.id for o in e.outcomes), w.still_failing,
                      e.index[1] if isinstance(e.index, tuple) else None) for e, w in done]
    left = [LeftAlone(file, case_line(root, e.index, e.line), e.name, k.reason, k.held, e.index) for e, k in kept]
    return sorted(changes, key=lambda c: c.line), sorted(left, key=lambda entry: entry.line), text != original


def _apply(file: Path, original: str, decisions: List[Tuple[_Entry, _Decision]]):
    """(new text, the writes made, the entries kept with their reasons)."""
    writes = [(e, d) for e, d in decisions if isinstance(d, _Write)]
    kept = [(e, d) for e, d in decisions if isinstance(d, _Keep)]
    text, failed = write_expectations(original, file, [(e.index, d.key, d.value) for e, d in writes])
    done = [(e, d) for e, d in writes if e.index not in failed]
    kept += [(e, _Keep(failed[e.index])) for e, _ in writes if e.index in failed]
    return text, done, kept


def _runs_per_entry(file: Path) -> Union[Dict[NodePath, Tuple[int, set]], str]:
    """For each case entry of the file as it is now: (number of runs, their names); or why not."""
    suite, problems, _warnings = load_suite(file, explicit=True)
    if suite is None:
        first = problems[0] if problems else _("it is not a suite")
        return _("the file no longer loads, so nothing was written to it: {problem}").format(problem=first)
    runs: Dict[NodePath, Tuple[int, set]] = {}
    for case in suite.cases:
        count, names = runs.get(tuple(case.path), (0, set()))
        runs[tuple(case.path)] = (count + 1, names | {case.name})
    return runs


def _still_there(entry: _Entry, runs: Mapping[NodePath, Tuple[int, set]]) -> Optional[_Keep]:
    """A reason to stop when the file changed under the run (the entry moved or was renamed)."""
    names = runs.get(tuple(entry.path[:2]), (0, set()))[1]
    if len(entry.path) not in (2, 4) or any(o.case.name not in names for o in entry.outcomes):
        return _Keep(_("the case is no longer at its place in the file (edited during the run?)"))
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
