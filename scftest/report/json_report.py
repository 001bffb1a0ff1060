"""The JSON report (``--json PATH``): every case's verdict, explanation and record.

The format is described, and checked in the tests, by ``schemas/report.schema.json``.
It is versioned by ``format_version``: fields may be added within a version; a field
never changes meaning or disappears without a new version.

Named ``json_report`` rather than ``json`` so it never shadows the standard library.
"""

from __future__ import annotations

import datetime as _dt
import json
import math
import os
from pathlib import Path, PurePath
from typing import Any, Dict, Optional, Sequence, Union

from scftest import __version__
from scftest.model import SuiteProblem
from scftest.check.outcome import CaseOutcome, Mismatch
from scftest.report import count, explain, short_message, write_atomically

__all__ = ["FORMAT_VERSION", "build_report", "json_report_string", "write_json"]

FORMAT_VERSION = 1


def build_report(
    outcomes: Sequence[CaseOutcome],
    problems: Sequence[SuiteProblem] = (),
    *,
    exit_status: int,
    elapsed: Optional[float] = None,
    interrupted: bool = False,
    created: Optional[str] = None,
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
    }


def _mismatch(mismatch: Mismatch) -> Dict[str, Any]:
    return {
        "path": mismatch.path,
        "message": mismatch.message,
        "expected": mismatch.expected,
        "actual": mismatch.actual,
        "line": mismatch.line,
    }


def _problem(problem: SuiteProblem) -> Dict[str, Any]:
    return {
        "file": str(problem.file),
        "line": problem.line,
        "col": problem.col,
        "message": problem.message,
        "hint": problem.hint,
        "text": str(problem),
    }


def _plain(value: Any) -> Any:
    """``json.dumps`` fallback for the few non-JSON values YAML can produce in params."""
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, (_dt.date, _dt.datetime, _dt.time)):
        return value.isoformat()
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def json_report_string(outcomes: Sequence[CaseOutcome], problems: Sequence[SuiteProblem] = (), **kwargs: Any) -> str:
    """The report as indented JSON text; keyword arguments as for ``build_report``."""
    data = _finite(build_report(outcomes, problems, **kwargs))
    return json.dumps(data, indent=2, ensure_ascii=False, default=_plain, allow_nan=False) + "\n"


def _finite(value: Any) -> Any:
    """NaN and infinities (which Python's json accepts from a handler) as strings: the
    JSON standard has no spelling for them and strict readers reject the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {key: _finite(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_finite(item) for item in value]
    return value


def write_json(
    path: Union[str, os.PathLike],
    outcomes: Sequence[CaseOutcome],
    problems: Sequence[SuiteProblem] = (),
    *,
    exit_status: int,
    elapsed: Optional[float] = None,
    interrupted: bool = False,
) -> None:
    """Write the report to ``path`` (parent folders created), replaced atomically."""
    text = json_report_string(
        outcomes, problems, exit_status=exit_status, elapsed=elapsed, interrupted=interrupted
    )
    write_atomically(Path(path), text)
