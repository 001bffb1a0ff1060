"""The JSON report (``--json PATH``): every case's verdict, explanation and record.

The format is described, and checked in the tests, by ``schemas/report.schema.json``.
It is versioned by ``format_version``: fields may be added within a version; a field
never changes meaning or disappears without a new version. Version 2 writes each
mismatch's values whole, as JSON values (version 1 wrote them as short, cut texts).

Values JSON cannot hold are written so that a strict reader accepts the file
(``json_safe``): a matcher as ``{"matcher": "regex", "pattern": "^a", "yaml": "!regex '^a'"}``;
NaN and the infinities as the strings ``"NaN"``, ``"Infinity"``, ``"-Infinity"``; bytes
as their text (UTF-8, undecodable bytes replaced); tuples and sets as lists; a key that
is not a string as its text; dates and paths as their ISO or plain text; anything else
as its ``repr``.

In a run that keeps passing outcomes compact (``RunPlan.compact``: no other file report
needs them whole), the cases are written as they end, in the plan's order, to a temporary
file, and the report is put together from it when the run is over: the same bytes as the
whole report, without holding 10,000 records until the end (``JsonReporter``).

Named ``json_report`` rather than ``json`` so it never shadows the standard library.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
import tempfile
import threading
from pathlib import PurePath
from typing import Any, Dict, Iterator, Mapping, Optional, Sequence, Union

from scftest import __version__
from scftest.check.outcome import CaseOutcome, Gap, Mismatch, StepOutcome
from scftest.i18n import N_
from scftest.matchers import Matcher
from scftest.model import Case, SuiteProblem
from scftest.render import render_value, where
from scftest.report import FileReporter, count, explain, short_message, write_report
from scftest.result import RunPlan, RunResult

__all__ = ["FORMAT_VERSION", "JsonReporter", "build_report", "json_report_string", "json_safe", "write_json"]

FORMAT_VERSION = 2


def build_report(
    outcomes: Sequence[CaseOutcome],
    problems: Sequence[SuiteProblem] = (),
    *,
    exit_status: int,
    elapsed: Optional[float] = None,
    interrupted: bool = False,
    created: Optional[str] = None,
    warnings: Sequence[SuiteProblem] = (),
) -> Dict[str, Any]:
    """The report as plain JSON data (outcomes in report order)."""
    head = _head(outcomes, problems, exit_status=exit_status, elapsed=elapsed, interrupted=interrupted,
                 created=created, warnings=warnings)
    return {**head, "cases": [_case(o) for o in outcomes]}


def _head(outcomes: Sequence[CaseOutcome], problems: Sequence[SuiteProblem], *, exit_status: int,
          elapsed: Optional[float], interrupted: bool, created: Optional[str],
          warnings: Sequence[SuiteProblem]) -> Dict[str, Any]:
    """The report without its cases, which come last."""
    return {
        "format": "scftest-report",
        "format_version": FORMAT_VERSION,
        "scftest_version": __version__,
        "created": created or _now(),
        "exit_status": exit_status,
        "interrupted": interrupted,
        "elapsed_s": round(elapsed if elapsed is not None else sum(o.elapsed_s for o in outcomes), 6),
        "totals": count(outcomes, problems).as_dict(),
        "problems": [_problem(p) for p in problems],
        "warnings": [_problem(w) for w in warnings],
    }


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _case(outcome: CaseOutcome) -> Dict[str, Any]:
    case = outcome.case
    return {
        "id": case.id,
        "suite": case.suite,
        "name": case.name,
        "file": str(case.file),
        "line": case.line,
        "tags": list(case.tags),
        "params": dict(case.params),
        "runtime": case.function.runtime,
        "verdict": outcome.verdict.value,
        "internal": outcome.internal,
        "summary": outcome.summary or ("" if outcome.verdict.value == "passed" else short_message(outcome)),
        "mismatches": [_mismatch(m) for m in outcome.mismatches],
        "details": outcome.details,
        # The same words the terminal and the JUnit file print, for tools that only show text.
        "explanation": "" if outcome.verdict.value == "passed" else explain(outcome),
        "elapsed_s": round(outcome.elapsed_s, 6),
        "record": outcome.record.to_dict() if outcome.record is not None else None,
        "steps": [_step(case, step) for step in outcome.steps],
    }


def _step(case: Case, outcome: StepOutcome) -> Dict[str, Any]:
    step = outcome.step
    return {
        "index": step.index,
        "name": step.name,
        "label": step.label,
        "line": case.source.at(step.path).line,
        "cold": step.cold,
        "verdict": outcome.verdict.value,
        "summary": outcome.summary,
        "mismatches": [_mismatch(m) for m in outcome.mismatches],
        "record": outcome.record.to_dict() if outcome.record is not None else None,
    }


def _mismatch(mismatch: Mismatch) -> Dict[str, Any]:
    """The mismatch's values whole; a side without a value (a Gap) is left out."""
    data: Dict[str, Any] = {
        "where": where(mismatch),
        "root": mismatch.root,
        "path": [json_safe(part) for part in mismatch.path],
        "kind": mismatch.kind.value,
        "message": mismatch.message,
        "line": mismatch.line,
    }
    for side in ("expected", "actual"):
        value = getattr(mismatch, side)
        if not isinstance(value, Gap):
            data[side] = json_safe(value)
    if mismatch.matcher is not None:
        data["matcher"] = json_safe(mismatch.matcher)
    if mismatch.at is not None:
        data["at"] = mismatch.at
    return data


def _problem(problem: SuiteProblem) -> Dict[str, Any]:
    return {
        "file": str(problem.file),
        "line": problem.line,
        "col": problem.col,
        "message": problem.message,
        "hint": problem.hint,
        "text": str(problem),
    }


def json_safe(value: Any) -> Any:
    """``value`` as data a strict JSON reader accepts, by the rules in this module's doc."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        # Python's json accepts NaN from a handler; the JSON standard has no spelling for it.
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Matcher):
        return json_safe(value.as_data())
    if isinstance(value, Mapping):
        return {key if isinstance(key, str) else render_value(key): json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [json_safe(item) for item in value]
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    return render_value(value)  # its repr, or <type> when even that fails


def json_report_string(outcomes: Sequence[CaseOutcome], problems: Sequence[SuiteProblem] = (), **kwargs: Any) -> str:
    """The report as indented JSON text; keyword arguments as for ``build_report``."""
    return _dumped(build_report(outcomes, problems, **kwargs)) + "\n"


def _dumped(data: Any) -> str:
    return json.dumps(json_safe(data), indent=2, ensure_ascii=False, allow_nan=False)


# A case of the report's ``cases`` list as json.dumps(indent=2) writes it there: two levels in.
# (Its strings hold no line break of their own: JSON writes those as \n.)
_CASE_INDENT = " " * 4


def _case_text(outcome: CaseOutcome) -> str:
    return _CASE_INDENT + _dumped(_case(outcome)).replace("\n", "\n" + _CASE_INDENT)


class _CaseStream:
    """The report's cases as the run's outcomes end (``add``, in completion order), written
    in the plan's order to a temporary file; an outcome that ends before an earlier case's
    waits in memory for its turn (a few at a time: the pool runs the plan in order)."""

    def __init__(self, cases: Sequence[Case]) -> None:
        self._cases = cases
        self._written = 0  # cases[:_written] are in the file, in order
        self._waiting: Dict[int, str] = {}  # by id(case): their text, ahead of their turn
        self._file = tempfile.TemporaryFile("w+", encoding="utf-8", errors="replace", newline="\n")
        self._lock = threading.Lock()  # outcomes may come from worker threads

    def add(self, outcome: CaseOutcome) -> None:
        text = _case_text(outcome)
        with self._lock:
            self._waiting[id(outcome.case)] = text
            while self._written < len(self._cases) and id(self._cases[self._written]) in self._waiting:
                if self._written:
                    self._file.write(",\n")
                self._file.write(self._waiting.pop(id(self._cases[self._written])))
                self._written += 1

    def texts(self, outcomes: Sequence[CaseOutcome]) -> Optional[Iterator[str]]:
        """The ``cases`` list's items for ``outcomes`` (the run's, in report order), comma
        separated, in pieces: the file's, then those still waiting, or made now for an
        outcome never told (it finished as the run was interrupted: the run kept it whole).
        None when ``outcomes`` do not begin with the cases written (never, from a run)."""
        if len(outcomes) < self._written or any(
                outcomes[index].case is not self._cases[index] for index in range(self._written)):
            return None
        return self._texts(outcomes)

    def _texts(self, outcomes: Sequence[CaseOutcome]) -> Iterator[str]:
        self._file.seek(0)
        yield from iter(lambda: self._file.read(1 << 16), "")
        for index in range(self._written, len(outcomes)):
            outcome = outcomes[index]
            text = self._waiting.pop(id(outcome.case), None)
            yield (",\n" if index else "") + (text if text is not None else _case_text(outcome))

    def close(self) -> None:
        self._file.close()


def _streamed_report(head: Dict[str, Any], cases: Iterator[str], any_case: bool) -> Iterator[str]:
    """The whole report's text, in pieces: ``head`` written as json.dumps writes it, with
    ``cases`` as the items of its last key's list."""
    text = _dumped({**head, "cases": []})
    end = '"cases": []\n}'
    assert text.endswith(end)  # "cases" comes last (build_report)
    if not any_case:
        yield text + "\n"
        return
    yield text[:-len(end)] + '"cases": [\n'
    yield from cases
    yield "\n  ]\n}\n"


def write_json(
    path: Union[str, os.PathLike],
    outcomes: Sequence[CaseOutcome],
    problems: Sequence[SuiteProblem] = (),
    *,
    exit_status: int,
    elapsed: Optional[float] = None,
    interrupted: bool = False,
    warnings: Sequence[SuiteProblem] = (),
) -> None:
    """Write the report to ``path`` (parent folders created), replaced atomically;
    ReportError when the path cannot be written."""
    text = json_report_string(
        outcomes, problems, exit_status=exit_status, elapsed=elapsed, interrupted=interrupted,
        warnings=warnings,
    )
    write_report(path, text)


class JsonReporter(FileReporter):
    """The ``--json PATH`` reporter: writes the file when the run is over, from the cases
    it wrote as they ended when the run keeps outcomes compact (see the module)."""

    option = "--json"
    help = N_("write a JSON report (schemas/report.schema.json)")
    streams = True  # needs no outcome whole at the end: a run may keep them compact

    def __init__(self, path: Union[str, "os.PathLike[str]"], settings=None) -> None:
        super().__init__(path, settings)
        self._stream: Optional[_CaseStream] = None

    def start(self, plan: RunPlan) -> None:
        if plan.compact:
            self._stream = _CaseStream(plan.cases)

    def case_finished(self, outcome: CaseOutcome) -> None:
        if self._stream is not None:
            self._stream.add(outcome)

    def finish(self, result: RunResult) -> None:
        stream, self._stream = self._stream, None
        try:
            cases = stream.texts(result.outcomes) if stream is not None else None
            if cases is None:
                write_json(self.path, result.outcomes, result.problems, exit_status=result.exit_code,
                           elapsed=result.elapsed_s, interrupted=result.interrupted, warnings=result.warnings)
                return
            head = _head(result.outcomes, result.problems, exit_status=result.exit_code, elapsed=result.elapsed_s,
                         interrupted=result.interrupted, created=None, warnings=result.warnings)
            write_report(self.path, _streamed_report(head, cases, bool(result.outcomes)))
        finally:
            if stream is not None:
                stream.close()
