"""Reports: terminal (``terminal``), JUnit XML (``junit``) and JSON (``json_report``).

Every reporter reads the same ``CaseOutcome`` / ``InvocationRecord`` / ``SuiteProblem``
data; the helpers here turn that data into the words all of them share (counts, the
one-line message, the full explanation, the log tail), so the terminal, the JUnit
file and the JSON file never tell different stories about one case.

Nothing here masks secrets: the executor already replaced them in the record.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, List, Optional, Sequence, Tuple

from scftest.check.judge import format_mismatch
from scftest.model import UNSET, SuiteProblem
from scftest.check.outcome import CaseOutcome, Mismatch, Verdict
from scftest.instance.record import InvocationRecord
from scftest.render import cut
from scftest.report.destination import write_atomically

__all__ = [
    "Totals",
    "count",
    "summary_words",
    "short_message",
    "explain",
    "render_mismatch",
    "log_tail",
    "record_lines",
    "render_value",
    "write_atomically",
    "without_ansi",
    "printable",
]

MESSAGE_MAX = 200  # characters of the one-line message (a JUnit attribute, a summary line)
VALUE_MAX = 2000  # characters of a rendered return value before it is cut


# ANSI escape sequences (colour codes in handler logs) go whole, not just their ESC byte:
# CSI (ESC [ ... final), OSC (ESC ] ... BEL or ESC \\) and two-byte escapes.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# What a terminal should not receive from a handler's output: C0 controls but tab and
# newline, DEL, and the C1 controls some terminals act on.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def without_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def printable(text: str) -> str:
    """Handler text made safe to print: no escape sequences, no control characters
    (a stray ESC or CR from a handler must not repaint or overwrite the report)."""
    return _UNPRINTABLE.sub("", without_ansi(text.replace("\r\n", "\n")))


# ------------------------------------------------------------------------------ counts


@dataclass(frozen=True)
class Totals:
    passed: int = 0
    failed: int = 0
    error: int = 0
    skipped: int = 0
    xfailed: int = 0
    xpassed: int = 0
    problems: int = 0  # suite files (or cases) the loader rejected

    @property
    def cases(self) -> int:
        return self.passed + self.failed + self.error + self.skipped + self.xfailed + self.xpassed

    def as_dict(self) -> dict:
        return {
            "cases": self.cases,
            "passed": self.passed,
            "failed": self.failed,
            "error": self.error,
            "skipped": self.skipped,
            "xfailed": self.xfailed,
            "xpassed": self.xpassed,
            "problems": self.problems,
        }


def count(outcomes: Iterable[CaseOutcome], problems: Sequence[SuiteProblem] = ()) -> Totals:
    tally = {verdict: 0 for verdict in Verdict}
    for outcome in outcomes:
        tally[outcome.verdict] += 1
    return Totals(
        passed=tally[Verdict.PASSED],
        failed=tally[Verdict.FAILED],
        error=tally[Verdict.ERROR],
        skipped=tally[Verdict.SKIPPED],
        xfailed=tally[Verdict.XFAILED],
        xpassed=tally[Verdict.XPASSED],
        problems=len(problems),
    )


def summary_words(totals: Totals, *, deselected: int = 0) -> List[Tuple[str, str]]:
    """``[("3 passed", "passed"), ("1 failed", "failed"), ...]``: text and its verdict word.

    Zero counts are left out; the verdict word lets the terminal colour each part.
    """
    parts = [
        (totals.passed, "passed", "passed", "passed"),
        (totals.failed, "failed", "failed", "failed"),
        (totals.error, "error", "errors", "error"),
        (totals.skipped, "skipped", "skipped", "skipped"),
        (totals.xfailed, "xfailed", "xfailed", "xfailed"),
        (totals.xpassed, "xpassed", "xpassed", "xpassed"),
        (totals.problems, "suite error", "suite errors", "error"),
        (deselected, "deselected", "deselected", "skipped"),
    ]
    return [
        (f"{number} {one if number == 1 else many}", verdict)
        for number, one, many, verdict in parts
        if number
    ]


# ------------------------------------------------------------------------ explanations


def _one_line(text: str, limit: int = MESSAGE_MAX) -> str:
    line = " ".join(text.split())  # newlines, tabs and runs of spaces become one space
    return cut(line, limit)


def short_message(outcome: CaseOutcome) -> str:
    """One line, never empty: why the case failed, errored or was skipped."""
    if outcome.summary.strip():
        return _one_line(outcome.summary)
    if outcome.mismatches:
        first = outcome.mismatches[0]
        return _one_line(f"{first.path}: {first.message}" if first.path else first.message)
    record = outcome.record
    if record is not None and record.error is not None:
        return _one_line(f"{record.error.type}: {record.error.message}")
    case = outcome.case
    fallback = {
        Verdict.PASSED: "passed",
        Verdict.FAILED: "the case failed",
        Verdict.ERROR: "scftest could not run or judge the case",
        Verdict.SKIPPED: f"skipped: {case.skip}" if case.skip else "skipped",
        Verdict.XFAILED: f"expected failure: {case.xfail}" if case.xfail else "expected failure",
        Verdict.XPASSED: (
            f"expected to fail ({case.xfail}) but passed" if case.xfail else "expected to fail but passed"
        ),
    }
    return fallback[outcome.verdict]


def render_mismatch(mismatch: Mismatch) -> str:
    """A mismatch as readable text: path, suite line, message, expected and actual.

    The checker owns the wording, so a mismatch reads the same in every report.
    """
    return format_mismatch(mismatch)


def explain(outcome: CaseOutcome) -> str:
    """The full explanation: summary, every mismatch, details, and an unexpected traceback."""
    summary = outcome.summary.strip()
    blocks: List[str] = [summary if "\n" in summary else short_message(outcome)]
    if _repeats_the_mismatch(summary, outcome.mismatches):
        blocks = []  # the mismatch's own headline says it, with the suite line
    blocks.extend(render_mismatch(m) for m in outcome.mismatches)
    if outcome.details.strip():
        blocks.append(outcome.details.rstrip())
    traceback = _traceback_to_show(outcome)
    if traceback:
        blocks.append(traceback)
    return "\n\n".join(blocks)


def _repeats_the_mismatch(summary: str, mismatches: Sequence[Mismatch]) -> bool:
    """True when the summary is just the only mismatch's headline (the checker's habit)."""
    if len(mismatches) != 1 or not summary:
        return False
    only = mismatches[0]
    return summary in (only.message, f"{only.path}: {only.message}")


def _traceback_to_show(outcome: CaseOutcome) -> str:
    record = outcome.record
    if record is None or record.error is None or not record.error.traceback.strip():
        return ""
    if outcome.verdict not in (Verdict.FAILED, Verdict.ERROR, Verdict.XFAILED):
        return ""
    traceback = record.error.traceback.rstrip()
    # The checker usually quotes the traceback (or its tail) in a mismatch already; its
    # last two lines (the raising line and the exception) tell whether it did.
    ending = "\n".join(traceback.splitlines()[-2:])
    quoted = [outcome.details] + [m.actual for m in outcome.mismatches] + [m.message for m in outcome.mismatches]
    if any(ending in text for text in quoted):
        return ""
    return "the function raised:\n" + traceback


# --------------------------------------------------------------------------- records


def log_tail(log: str, lines: int = 20) -> Tuple[str, int]:
    """The last ``lines`` lines of a log and how many lines came before them."""
    all_lines = log.rstrip("\n").splitlines()
    if len(all_lines) <= lines:
        return "\n".join(all_lines), 0
    return "\n".join(all_lines[-lines:]), len(all_lines) - lines


def render_value(value: Any, limit: int = VALUE_MAX) -> str:
    """A returned value as JSON text (what the caller of the function sees), cut if long."""
    if value is UNSET:
        return "(none)"
    try:
        text = json.dumps(value, ensure_ascii=False, sort_keys=False, default=str)
    except (TypeError, ValueError):  # e.g. a circular structure: never expected from JSON
        text = str(value)
    return cut(text, limit)


def interpreter_label(record: InvocationRecord) -> str:
    """``/usr/bin/python3.6 (3.6.15)``, with the fallback spelled out when it applied."""
    label = f"{record.interpreter} ({record.interpreter_version})" if record.interpreter else "(none)"
    if record.runtime_fallback:
        label += f" [fallback: {record.runtime} ran on Python {record.interpreter_version}]"
    return label


def record_lines(record: Optional[InvocationRecord]) -> List[str]:
    """The invocation record as ``key: value`` lines (no log): for -vv and JUnit system-out."""
    if record is None:
        return ["record: (the case did not run)"]
    lines = [
        f"request_id: {record.request_id}",
        f"invocation: {record.invocation}",
        f"runtime: {record.runtime}",
        f"interpreter: {interpreter_label(record)}",
        f"status: {record.status} ({record.status_code})",
    ]
    if record.return_value is not UNSET:
        lines.append(f"return: {render_value(record.return_value)}")
    if record.ret_msg is not None:
        lines.append(f"ret_msg: {_cut(record.ret_msg)}")
    if record.error is not None:
        lines.append(f"error: {record.error.qualified_type or record.error.type}: {_cut(record.error.message)}")
    lines.append(
        f"duration: {record.duration_ms:.1f} ms (billed {record.billed_duration_ms} ms), "
        f"memory: {record.max_memory_mb:.1f} MB"
    )
    exit_line = f"exit_code: {record.exit_code if record.exit_code is not None else '-'}"
    if record.signal:
        exit_line += f", signal: {record.signal}"
    lines.append(exit_line)
    if record.log_truncated_bytes:
        lines.append(f"log: {record.log_truncated_bytes} bytes cut from the captured log")
    return lines


def _cut(text: str, limit: int = VALUE_MAX) -> str:
    return cut(text, limit)
