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

Named ``json_report`` rather than ``json`` so it never shadows the standard library.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from pathlib import PurePath
from typing import Any, Dict, Mapping, Optional, Sequence, Union

from scftest import __version__
from scftest.check.outcome import CaseOutcome, Gap, Mismatch, StepOutcome
from scftest.i18n import N_
from scftest.matchers import Matcher
from scftest.model import Case, SuiteProblem
from scftest.render import render_value, where
from scftest.report import FileReporter, count, explain, short_message, write_report
from scftest.result import RunResult

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
        "cases": [_case(o) for o in outcomes],
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
    data = json_safe(build_report(outcomes, problems, **kwargs))
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


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
    """The ``--json PATH`` reporter: writes the file when the run is over."""

    option = "--json"
    help = N_("write a JSON report (schemas/report.schema.json)")

    def finish(self, result: RunResult) -> None:
        write_json(self.path, result.outcomes, result.problems, exit_status=result.exit_code,
                   elapsed=result.elapsed_s, interrupted=result.interrupted, warnings=result.warnings)
