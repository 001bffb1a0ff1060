"""The terminal reporter: progress while cases run, then failures, problems and a summary.

The session calls ``start(plan)``, ``case_finished(outcome)`` once per case (from any
thread, in report order or in completion order: the progress only counts), and
``finish(result)`` with the run's result, from which every section after the progress
is written: failures and errors (each with its ``file:line``, mismatches and log tail),
suite errors, the slowest cases, a short summary line per failed case, the counts, then
the loader's warnings and, with ``passed_over``, the YAML files that are not suites.

Verbosity: -2 prints only failures and the summary line; -1 (``-q``) adds the progress
letters; 0 adds the slowest cases; 1 (``-v``) prints a line per case instead of letters,
each followed by its invocation record; 2 (``-vv``) adds the captured log.

Every piece of data written (names, ids, paths, explanations, logs, record fields) goes
through ``render.terminal_line`` or ``render.terminal_block``: control characters shown
escaped, long lines cut with a marker. Only the reporter's own colour codes are raw.

The slowest cases: by default the 5 slowest when at least two cases ran; ``--durations N``
(pytest's option) asks for the N slowest (0: every case that ran), shown at any verbosity.
"""

from __future__ import annotations

import os
import shutil
import threading
from typing import Dict, Mapping, Optional, Sequence, TextIO

from scftest.check.outcome import CaseOutcome, Verdict
from scftest.i18n import N_, _, ngettext
from scftest.instance.record import InvocationRecord
from scftest.model import SuiteProblem
from scftest.render import (CODE_ROOT_INSIDE, LOG_TAIL_LINES, code_root_note, display_width, isolation_note, paint,
                            rerun_line, terminal_block, terminal_line, unpainted)
from scftest.report import ReportSettings, count, explain, log_tail, record_lines, short_message, summary_words
from scftest.result import RunPlan, RunResult

LETTERS: Dict[Verdict, str] = {
    Verdict.PASSED: ".",
    Verdict.FAILED: "F",
    Verdict.ERROR: "E",
    Verdict.SKIPPED: "s",
    Verdict.XFAILED: "x",
    Verdict.XPASSED: "X",
}
WORDS: Dict[Verdict, str] = {  # in English; the terminal shows _(word)
    Verdict.PASSED: N_("PASSED"),
    Verdict.FAILED: N_("FAILED"),
    Verdict.ERROR: N_("ERROR"),
    Verdict.SKIPPED: N_("SKIPPED"),
    Verdict.XFAILED: N_("XFAIL"),
    Verdict.XPASSED: N_("XPASS"),
}
SLOWEST = 5


def use_color(stream: TextIO, color: Optional[bool] = None, environ: Optional[Mapping[str, str]] = None) -> bool:
    """Whether to colour: an explicit ``color`` wins; otherwise only on a TTY, never
    when NO_COLOR is set (to any value, even empty) or TERM is ``dumb``."""
    if color is not None:
        return color
    env = os.environ if environ is None else environ
    if "NO_COLOR" in env or env.get("TERM") == "dumb":
        return False
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


class TerminalReporter:
    """Writes a run's progress and results to ``stream`` (any text stream)."""

    def __init__(
        self,
        stream: TextIO,
        *,
        verbose: int = 0,
        color: Optional[bool] = None,
        width: Optional[int] = None,
        environ: Optional[Mapping[str, str]] = None,
        passed_over: bool = False,
        durations: Optional[int] = None,
    ) -> None:
        self.stream = stream
        self.verbose = verbose
        self.passed_over = passed_over  # list the YAML files that are not suites
        self.durations = durations  # --durations N (0: all); None: the default section
        self.color = use_color(stream, color, environ)
        self.width = width or _terminal_width(stream)
        self._lock = threading.Lock()  # case_finished may come from worker threads
        self._gone = False  # the stream was closed under us (a pipe to head)
        self._total = 0
        self._done = 0
        self._column = 0  # letters written on the current progress line

    @classmethod
    def for_run(cls, stream: TextIO, settings: ReportSettings) -> "TerminalReporter":
        """The reporter ``scftest run`` starts: -v / -q set the level; -v also lists the
        YAML files passed over (even with -q)."""
        return cls(stream, verbose=settings.verbose - settings.quiet, color=settings.color,
                   passed_over=settings.verbose > 0, durations=settings.durations)

    # ----------------------------------------------------------------- the run's life

    def start(self, plan: RunPlan) -> None:
        total = self._total = plan.total
        if self.verbose >= 0:
            text = ngettext("collected {count} case", "collected {count} cases", total).format(count=total)
            if plan.deselected:
                text += _(" ({count} deselected)").format(count=plan.deselected)
            self._write(self._paint(text, "title") + "\n")
            if plan.rerun is not None:
                self._write(rerun_line(plan.rerun) + "\n")

    def case_finished(self, outcome: CaseOutcome) -> None:
        with self._lock:
            self._done += 1
            if self.verbose >= 1:
                self._case_line(outcome)
            elif self.verbose >= -1:
                self._progress_letter(outcome)
            self._flush()

    def finish(self, result: RunResult) -> None:
        outcomes, problems = result.outcomes, result.problems
        with self._lock:
            self._end_progress_line()
            self._failures_section(outcomes)
            self._problems_section(problems)
            if self.verbose >= 0 or self.durations is not None:
                self._slowest_section(outcomes)
            self._short_summary(outcomes)
            self._summary_line(outcomes, problems, result.elapsed_s, result.interrupted, result.deselected)
            self._isolation_line(outcomes)
            for warning in result.warnings:  # after the summary: they never change the verdict
                self._write(f"{terminal_block(str(warning))}\n")
            for note in result.passed_over if self.passed_over else ():
                self._write(f"{terminal_line(str(note))}\n")
            self._flush()

    def _isolation_line(self, outcomes: Sequence[CaseOutcome]) -> None:
        """Said whenever a case ran uncontained, so a green run never hides it."""
        ran = [o.record for o in outcomes if o.record is not None]
        plain = sum(1 for record in ran if record.isolation != "namespace")
        if plain:
            self._write(self._paint(isolation_note(plain, len(ran)), "skipped") + "\n")

    # -------------------------------------------------------------------- progress

    def _progress_letter(self, outcome: CaseOutcome) -> None:
        verdict = outcome.verdict.value
        self._write(self._paint(LETTERS[outcome.verdict], verdict))
        self._column += 1
        # pytest's layout: letters up to the width, the percentage at the right edge.
        if self._column >= self.width - len(" [100%]") or self._done == self._total:
            self._write(self._percent(pad_to=self.width - self._column) + "\n")
            self._column = 0

    def _percent(self, pad_to: int) -> str:
        percent = 100 * self._done // self._total if self._total else 100
        return f"[{percent:3d}%]".rjust(max(pad_to, 7))

    def _end_progress_line(self) -> None:
        # An interrupted run, or more outcomes than announced, leaves a line open.
        if self._column:
            self._write("\n")
            self._column = 0

    def _case_line(self, outcome: CaseOutcome) -> None:
        verdict = outcome.verdict
        text = f"{self._paint(_(WORDS[verdict]), verdict.value)} {terminal_line(outcome.case.id)} ({outcome.elapsed_s:.2f}s)"
        if verdict in (Verdict.SKIPPED, Verdict.XFAILED, Verdict.XPASSED):
            text += f" - {terminal_line(short_message(outcome))}"
        self._write(text + "\n")
        if outcome.record is not None:
            self._record_block(outcome, with_log=self.verbose >= 2)

    def _record_block(self, outcome: CaseOutcome, with_log: bool) -> None:
        if not outcome.steps:
            self._one_record(outcome.record, with_log, "    ")
        for step in outcome.steps:  # a warm sequence: each step with its own record
            verdict = step.verdict
            self._write(f"    {terminal_line(step.step.label)}: {self._paint(_(WORDS[verdict]), verdict.value)}\n")
            self._one_record(step.record, with_log, "      ")

    def _one_record(self, record: Optional[InvocationRecord], with_log: bool, indent: str) -> None:
        for line in record_lines(record):
            self._write(f"{indent}{terminal_line(line)}\n")
        if with_log and record is not None and record.log.strip():
            self._write(f"{indent}{_('log:')}\n")
            for line in terminal_block(record.log).rstrip("\n").splitlines():
                self._write(f"{indent}  {line}\n")

    # -------------------------------------------------------------------- sections

    def _failures_section(self, outcomes: Sequence[CaseOutcome]) -> None:
        sections = (
            (_("FAILURES"), [o for o in outcomes if o.failed]),
            (_("ERRORS"), [o for o in outcomes if o.verdict is Verdict.ERROR]),
        )
        for title, chosen in sections:
            if not chosen:
                continue
            self._rule(title, "=")
            for outcome in chosen:
                self._failure_block(outcome)

    def _failure_block(self, outcome: CaseOutcome) -> None:
        case = outcome.case
        verdict = outcome.verdict.value
        self._rule(terminal_line(case.id), "_", kind=verdict)
        self._write(f"{terminal_line(str(case.file))}:{case.line}: {self._paint(_(WORDS[outcome.verdict]), verdict)}\n")
        explained = explain(outcome)
        self._write(_indent(terminal_block(explained), "  ") + "\n")
        record = outcome.record
        tail = ""
        if record is not None and record.log.strip():
            tail, before = log_tail(record.log, LOG_TAIL_LINES)
            shown = (_("captured log (last {lines} lines, {before} before)").format(lines=LOG_TAIL_LINES, before=before)
                     if before else _("captured log"))
            if record.log_truncated_bytes:
                shown += _(" ({count} bytes cut by the runner)").format(count=record.log_truncated_bytes)
            self._write("\n" + self._paint(f"  --- {shown} ---", "dim") + "\n")
            self._write(_indent(terminal_block(tail), "  ") + "\n")
        if record is not None and record.isolation == "namespace" and (
                CODE_ROOT_INSIDE + "/" in explained + tail):
            self._write(self._paint("  " + code_root_note(case.function.code), "dim") + "\n")
        self._write("\n")

    def _problems_section(self, problems: Sequence[SuiteProblem]) -> None:
        if not problems:
            return
        self._rule(_("SUITE ERRORS"), "=")
        for problem in problems:
            self._write(self._paint(terminal_block(str(problem)), "error") + "\n")
        self._write("\n")

    def _slowest_section(self, outcomes: Sequence[CaseOutcome]) -> None:
        ran = [o for o in outcomes if o.elapsed_s > 0]
        if self.durations is None and len(ran) < 2:  # one case is its own "slowest": nothing to learn
            return
        if not ran:
            return
        wanted = SLOWEST if self.durations is None else self.durations or len(ran)
        slowest = sorted(ran, key=lambda o: o.elapsed_s, reverse=True)[:wanted]
        title = ngettext("slowest {count} case", "slowest {count} cases", len(slowest)).format(count=len(slowest))
        self._rule(title, "=")
        for outcome in slowest:
            self._write(f"{outcome.elapsed_s:7.2f}s {terminal_line(outcome.case.id)}\n")

    def _short_summary(self, outcomes: Sequence[CaseOutcome]) -> None:
        """One line per failed or errored case, last, where a CI log is read first."""
        bad = [o for o in outcomes if o.failed or o.verdict is Verdict.ERROR]
        if not bad:
            return
        self._rule(_("short summary"), "=")
        for outcome in bad:
            word = self._paint(_(WORDS[outcome.verdict]), outcome.verdict.value)
            self._write(f"{word} {terminal_line(outcome.case.id)} - {terminal_line(short_message(outcome))}\n")

    def _summary_line(
        self,
        outcomes: Sequence[CaseOutcome],
        problems: Sequence[SuiteProblem],
        elapsed: float,
        interrupted: bool,
        deselected: int,
    ) -> None:
        totals = count(outcomes, problems)
        words = summary_words(totals, deselected=deselected)
        body = _(", ").join(self._paint(text, verdict) for text, verdict in words) or _("no cases ran")
        text = _("{counts} in {seconds}s").format(counts=body, seconds=f"{elapsed:.2f}")
        if interrupted:
            text = _("interrupted: {summary}").format(summary=text)
        bad = totals.failed or totals.error or totals.xpassed or totals.problems or interrupted
        fill = "failed" if bad else ("passed" if totals.passed else "skipped")
        self._rule(text, "=", kind=fill, plain_len=display_width(unpainted(text)))

    # ------------------------------------------------------------------- low level

    def _rule(self, title: str, char: str, *, kind: str = "title", plain_len: Optional[int] = None) -> None:
        """`==== title ====` across the width (the title may already be painted)."""
        length = plain_len if plain_len is not None else display_width(title)
        side = max((self.width - length - 2) // 2, 3)
        left = self._paint(char * side, kind)
        right = self._paint(char * max(self.width - side - length - 2, 3), kind)
        title_text = title if plain_len is not None else self._paint(title, kind)
        self._write(f"{left} {title_text} {right}\n")

    def _paint(self, text: str, kind: str) -> str:
        return paint(text, kind, self.color)

    def _write(self, text: str) -> None:
        if self._gone:
            return
        try:
            self.stream.write(text)
        except BrokenPipeError:
            # `scftest run | head` closed our stdout: stop printing, but the run, its
            # exit status and its report files must not be lost with it.
            self._gone = True

    @property
    def gone(self) -> bool:
        """True once the stream was closed under us: nothing more reaches it."""
        return self._gone

    def _flush(self) -> None:
        if self._gone:
            return
        try:
            self.stream.flush()
        except BrokenPipeError:
            self._gone = True


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line if line else line for line in text.splitlines())


def _terminal_width(stream: TextIO) -> int:
    # Only a real terminal has a width worth asking for; logs and CI get a steady 80.
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty and isatty():
            return max(shutil.get_terminal_size((80, 24)).columns, 40)
    except ValueError:
        pass
    return 80
