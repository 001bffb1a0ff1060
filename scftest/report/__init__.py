"""Reports: terminal (``terminal``), JUnit XML (``junit``) and JSON (``json_report``).

Each is a Reporter (``reporters.py`` has the protocol and the registry by name) and reads
the same ``RunResult``: ``CaseOutcome`` / ``InvocationRecord`` / ``SuiteProblem`` data;
the helpers here put together the words all of them share (counts, the one-line
message, the full explanation, the log tail), so the terminal, the JUnit file and the
JSON file never tell different stories about one case. The text of each value comes
from ``scftest.render``.

Nothing here masks secrets: the session masked the judged outcome (check/masking.py)
before any reporter receives it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

from scftest import render
from scftest.check.outcome import CaseOutcome, Mismatch, Verdict
from scftest.errors import ScftestError
from scftest.i18n import _, ngettext
from scftest.instance.record import InvocationRecord
from scftest.model import UNSET, SuiteProblem
from scftest.render import format_mismatch, one_line
from scftest.report.destination import write_atomically
from scftest.result import RunPlan

__all__ = [
    "Totals",
    "count",
    "summary_words",
    "short_message",
    "explain",
    "log_tail",
    "record_lines",
    "write_atomically",
    "ReportError",
    "ReportSettings",
    "FileReporter",
    "write_report",
]


@dataclass(frozen=True)
class ReportSettings:
    """What the command line says about the output: ``-v`` and ``-q`` counts, ``--color``,
    ``--durations``."""

    verbose: int = 0
    quiet: int = 0
    color: Optional[bool] = None  # None: on a terminal, unless NO_COLOR is set
    durations: Optional[int] = None  # --durations N: the N slowest cases (0: all); None: the default


class ReportError(ScftestError):
    """A report that could not be written; the message names it and what to do."""


def write_report(path: Union[str, "os.PathLike[str]"], text: Union[str, Iterable[str]]) -> None:
    """Write a report file's text, whole or in pieces (``destination.write_atomically``); ReportError when the
    path cannot be written, so that one bad path costs that report and not the others."""
    try:
        write_atomically(Path(path), text)
    except OSError as exc:
        raise ReportError(f"cannot write the report {path}: {exc.strerror or exc} — "
                          "choose a path in a folder you can write to") from None


class FileReporter:
    """A report written whole to ``path`` when the run is over (JUnit, JSON).

    Subclasses name their command-line ``option`` and its ``help``, and write in
    ``finish(result)``, raising ReportError when the path cannot be written."""

    option = ""
    help = ""
    # Whether the report is written from what case_finished told it, not from every outcome
    # whole at the end: a run whose file reports all stream keeps its outcomes compact.
    streams = False

    def __init__(self, path: Union[str, "os.PathLike[str]"], settings: Optional[ReportSettings] = None) -> None:
        self.path = path
        self.settings = settings or ReportSettings()

    def start(self, plan: RunPlan) -> None:
        pass  # nothing to show while the cases run

    def case_finished(self, outcome: CaseOutcome) -> None:
        pass


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
        (totals.passed, ngettext("{count} passed", "{count} passed", totals.passed), "passed"),
        (totals.failed, ngettext("{count} failed", "{count} failed", totals.failed), "failed"),
        (totals.error, ngettext("{count} error", "{count} errors", totals.error), "error"),
        (totals.skipped, ngettext("{count} skipped", "{count} skipped", totals.skipped), "skipped"),
        (totals.xfailed, ngettext("{count} xfailed", "{count} xfailed", totals.xfailed), "xfailed"),
        (totals.xpassed, ngettext("{count} xpassed", "{count} xpassed", totals.xpassed), "xpassed"),
        (totals.problems, ngettext("{count} suite error", "{count} suite errors", totals.problems), "error"),
        (deselected, ngettext("{count} deselected", "{count} deselected", deselected), "skipped"),
    ]
    return [(text.format(count=number), verdict) for number, text, verdict in parts if number]


# ------------------------------------------------------------------------ explanations


def short_message(outcome: CaseOutcome) -> str:
    """One line, never empty: why the case failed, errored or was skipped."""
    if outcome.summary.strip():
        return one_line(outcome.summary)
    if outcome.mismatches:
        first = outcome.mismatches[0]
        where = render.where(first)
        return one_line(f"{where}: {first.message}" if where else first.message)
    record = outcome.record
    if record is not None and record.error is not None:
        return one_line(f"{record.error.type}: {record.error.message}")
    case = outcome.case
    fallback = {
        Verdict.PASSED: _("passed"),
        Verdict.FAILED: _("the case failed"),
        Verdict.ERROR: _("scftest could not run or judge the case"),
        Verdict.SKIPPED: _("skipped: {reason}").format(reason=case.skip) if case.skip else _("skipped"),
        Verdict.XFAILED: (_("expected failure: {reason}").format(reason=case.xfail) if case.xfail
                          else _("expected failure")),
        Verdict.XPASSED: (
            _("expected to fail ({reason}) but passed").format(reason=case.xfail) if case.xfail
            else _("expected to fail but passed")
        ),
    }
    return fallback[outcome.verdict]


def explain(outcome: CaseOutcome) -> str:
    """The full explanation: summary, every mismatch, details, and an unexpected traceback."""
    summary = outcome.summary.strip()
    blocks: List[str] = [summary if "\n" in summary else short_message(outcome)]
    if _repeats_the_mismatch(summary, outcome.mismatches):
        blocks = []  # the mismatch's own headline says it, with the suite line
    blocks.extend(format_mismatch(m, outcome.record) for m in outcome.mismatches)
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
    return summary in (only.message, f"{render.where(only)}: {only.message}")


def _traceback_to_show(outcome: CaseOutcome) -> str:
    record = outcome.record
    if record is None or record.error is None or not record.error.traceback.strip():
        return ""
    if outcome.verdict not in (Verdict.FAILED, Verdict.ERROR, Verdict.XFAILED):
        return ""
    traceback = record.error.traceback.rstrip()
    # A mismatch usually shows the traceback (or its tail) already; its last two lines
    # (the raising line and the exception) tell whether one did.
    ending = "\n".join(traceback.splitlines()[-2:])
    shown = [render.sides(m, record)[1] for m in outcome.mismatches]
    quoted = [outcome.details] + shown + [m.message for m in outcome.mismatches]
    if any(ending in text for text in quoted):
        return ""
    return _("the function raised:") + "\n" + traceback


# --------------------------------------------------------------------------- records


def log_tail(log: str, lines: int = render.LOG_TAIL_LINES) -> Tuple[str, int]:
    """The last ``lines`` lines of a log and how many lines came before them."""
    all_lines = log.rstrip("\n").splitlines()
    if len(all_lines) <= lines:
        return "\n".join(all_lines), 0
    return "\n".join(all_lines[-lines:]), len(all_lines) - lines


def interpreter_label(record: InvocationRecord) -> str:
    """``/usr/bin/python3.6 (3.6.15)``, with the fallback spelled out when it applied."""
    label = f"{record.interpreter} ({record.interpreter_version})" if record.interpreter else _("(none)")
    if record.runtime_fallback:
        label += _(" [fallback: {runtime} ran on Python {version}]").format(runtime=record.runtime,
                                                                           version=record.interpreter_version)
    return label


def record_lines(record: Optional[InvocationRecord]) -> List[str]:
    """The invocation record as ``key: value`` lines (no log): for -vv and JUnit system-out."""
    if record is None:
        return ["record: " + _("(the case did not run)")]
    lines = [
        f"request_id: {record.request_id}",
        f"invocation: {record.invocation}",
        f"runtime: {record.runtime}",
        f"interpreter: {interpreter_label(record)}",
        f"isolation: {record.isolation}",
        f"status: {record.status} ({record.status_code})",
    ]
    if not record.cold_start:  # a warm sequence's step served by the instance already running
        lines.insert(4, "start: " + _("warm (the module was already imported)"))
    if record.return_value is not UNSET:
        lines.append(f"return: {render.json_text(record.return_value)}")
    if record.ret_msg is not None:
        lines.append(f"ret_msg: {render.cut(record.ret_msg, render.RECORD_WIDTH)}")
    if record.error is not None:
        error = record.error
        lines.append(f"error: {error.qualified_type or error.type}: {render.cut(error.message, render.RECORD_WIDTH)}")
    start = (_("cold start, init {ms} ms").format(ms=f"{record.init_ms:.1f}") if record.cold_start
             else _("warm start"))
    lines.append(
        f"duration: {record.duration_ms:.1f} ms " + _("(billed {billed} ms; {start})").format(
            billed=record.billed_duration_ms, start=start) + f", memory: {record.max_memory_mb:.1f} MB"
    )
    lines.append(render.exit_line(record.exit_code, record.signal))
    if record.imports:
        lines.append(f"imports: {render.imports_text(record.imports)}")
    if record.log_truncated_bytes:
        lines.append("log: " + _("{count} bytes cut from the captured log").format(count=record.log_truncated_bytes))
    return lines
