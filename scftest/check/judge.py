"""Judge one invocation record against a case's ``expect``.

``check`` lists every expectation that did not hold, each as a ``Mismatch`` with the
path into the value, the raw values of both sides, the matcher that judged, the reason
in words and the line of the expectation in the suite file (``render.py`` turns it into
text). ``judge`` turns those into a verdict with a one-line summary. ``return``,
``return_includes`` and ``ret_msg`` are compared by ``compare.py``.

Nothing here may raise out to the runner: whatever the record holds, a fault in the
checker itself becomes an explained ``error`` verdict, never a Python traceback.

Ignore paths (``expect.ignore``) are relative to the returned value and written as
``compare.py`` describes; a path copied from a failure report keeps working:
``return.body.id`` means ``body.id``.
"""

from __future__ import annotations

import difflib
import json
import re
import traceback
from dataclasses import dataclass, replace
from typing import Any, List, Mapping, Optional, Sequence, Tuple

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from scftest.check.compare import Difference, IgnorePathError, compare, parse_ignore_path, quoted_hint
from scftest.check.outcome import CaseOutcome, Gap, Key, Kind, Mismatch, StepOutcome, Verdict
from scftest.i18n import N_, _
from scftest.instance.record import InvocationRecord
from scftest.matchers import Matcher, is_number, matches
from scftest.model import UNSET, Case, LogExpectation, NodePath, Step
from scftest.patterns import PatternTimeout, search
from scftest.render import (BRIEF_WIDTH, PHRASE_WIDTH, budget_figure, code_words, cut, failure_detail,
                            first_line, format_path, log_entry, render_value, yaml_quote)
from scftest.scf.invocation import SYNC
from scftest.scf.status import Code, Status

__all__ = ["check", "judge"]

MAX_MISMATCHES = 50  # past this, one line says how many more there were
# Checking, rendering and reporting walk a value recursively; real responses nest a few
# levels, a handler's value nested past this is an ERROR instead of a RecursionError.
MAX_VALUE_DEPTH = 100


# --- the keys of expect ------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    """A mismatch and the short phrase the case's one-line summary would use for it."""

    mismatch: Mismatch
    summary: str


@dataclass(frozen=True)
class _Context:
    case: Case
    record: InvocationRecord
    failed: bool  # the status was not the expected one: values would only add noise

    @property
    def expect(self):
        return self.case.expect

    def line(self, epath: NodePath) -> Optional[int]:
        """The suite line of the expectation at ``epath`` (relative to ``expect``)."""
        if not self.expect.path:  # no expect in the file: the case itself is the place
            return self.case.line
        return self.case.source.at(tuple(self.expect.path) + tuple(epath)).line

    def finding(self, root: str, message: str, epath: NodePath, kind: Kind = Kind.NOTE, *,
                path: Tuple[Key, ...] = (), expected: Any = Gap.NOTHING, actual: Any = Gap.NOTHING,
                matcher: Optional[Matcher] = None, at: Optional[int] = None,
                summary: Optional[str] = None) -> _Finding:
        mismatch = Mismatch(root=root, message=message, kind=kind, path=path, expected=expected,
                            actual=actual, matcher=matcher, line=self.line(epath), at=at)
        return _Finding(mismatch, summary or f"{format_path(root, path)}: {message}")


def _check_status(ctx: _Context) -> List[_Finding]:
    if ctx.expect.status_code is not UNSET:
        found = _check_status_code(ctx)
        if found:
            return found
    expect, record = ctx.expect, ctx.record
    want = expect.expected_status
    got = getattr(record, "status", None)
    if got == want:
        return []
    detail = failure_detail(record) if got != Status.SUCCESS else ""
    message = _("expected {want}, got {got}").format(want=want, got=got) + (
        _(": {detail}").format(detail=detail) if detail else "")
    key = "status" if expect.status is not UNSET or expect.error is UNSET else "error"
    # The exception, the returned value and the traceback are in the record; render.py
    # shows them with the actual status.
    return [ctx.finding(key, message, (key,), Kind.STATUS, expected=want, actual=got, summary=message)]


def _check_status_code(ctx: _Context) -> List[_Finding]:
    """``status_code``: SCF's code, finer than the status (437 and 443 are both errors)."""
    want, got = ctx.expect.status_code, getattr(ctx.record, "status_code", None)
    if got == want:
        return []
    detail = failure_detail(ctx.record) if got != Code.SUCCESS.number else ""
    message = (_("expected status code {want}, got {got}").format(want=code_words(want), got=code_words(got))
               + (_(": {detail}").format(detail=detail) if detail else ""))
    return [ctx.finding("status_code", message, ("status_code",), Kind.STATUS, expected=want, actual=got,
                        summary=message)]


def _check_error(ctx: _Context) -> List[_Finding]:
    wanted = ctx.expect.error
    if not isinstance(wanted, Mapping) or ctx.failed:
        return []
    error = getattr(ctx.record, "error", None)
    if error is None:
        return [ctx.finding("error", _("the invocation failed but no exception was recorded"), ("error",),
                            Kind.PART, expected=wanted, actual=Gap.NONE)]
    found: List[_Finding] = []
    if "type" in wanted and wanted["type"] is not None:
        found += _check_error_type(ctx, wanted["type"], error)
    for field in ("message", "traceback"):
        if field in wanted and wanted[field] is not None:
            found += _check_error_text(ctx, field, wanted[field], getattr(error, field, "") or "")
    return found


# Python 2 keeps the built-in exceptions in the module ``exceptions``, Python 3 in
# ``builtins``: ``builtins.ValueError`` names the same class on both.
_BUILTIN_MODULES = ("builtins.", "exceptions.")


def _spellings(qualified: str) -> Tuple[str, ...]:
    for module in _BUILTIN_MODULES:
        if qualified.startswith(module):
            rest = qualified[len(module):]
            return tuple(m + rest for m in _BUILTIN_MODULES)
    return (qualified,)


def _class_names(error: Any) -> Tuple[str, ...]:
    """The qualified names ``error.type`` may match: the class, then its bases (the MRO
    the function's interpreter sent), each in every spelling of its module."""
    qualified = getattr(error, "qualified_type", "") or getattr(error, "type", "") or ""
    chain = (qualified,) + tuple(getattr(error, "mro", ()) or ())
    return tuple(dict.fromkeys(spelling for name in chain if name for spelling in _spellings(name)))


def _is_a(name: str, error: Any) -> bool:
    """Whether the exception is a ``name``, as ``pytest.raises(name)`` would say: ``name``
    is its class or a base, written short (NotFound), qualified (myapp.errors.NotFound)
    or as any dotted tail (errors.NotFound)."""
    if name == (getattr(error, "type", "") or ""):
        return True
    return any(name == q or q.endswith("." + name) for q in _class_names(error))


def _check_error_type(ctx: _Context, wanted: Any, error: Any) -> List[_Finding]:
    short, qualified = getattr(error, "type", "") or "", getattr(error, "qualified_type", "") or ""
    if isinstance(wanted, Matcher):
        names = (short,) + _class_names(error)
        ok = any(wanted.match(n) or wanted.match(n.rpartition(".")[2]) for n in names)
    else:
        ok = _is_a(str(wanted).strip(), error)
    if ok:
        return []
    matcher = wanted if isinstance(wanted, Matcher) else None
    named = repr(wanted) if matcher else str(wanted)
    return [ctx.finding("error", _("the exception is of another type"), ("error", "type"), Kind.ERROR_TYPE,
                        path=("type",), expected=wanted, matcher=matcher,
                        actual={"type": short, "qualified_type": qualified,
                                "mro": list(getattr(error, "mro", ()) or ())},
                        summary=_("expected {want}, got {got}").format(want=named, got=failure_detail(ctx.record)))]


def _check_error_text(ctx: _Context, field: str, wanted: Any, actual: str) -> List[_Finding]:
    epath = ("error", field)

    def finding(message: str, shown: Any = actual, matcher: Optional[Matcher] = None) -> _Finding:
        return ctx.finding("error", message, epath, Kind.ERROR_TEXT, path=(field,), expected=wanted,
                           actual=shown, matcher=matcher)

    try:
        if isinstance(wanted, Matcher):
            reason = wanted.explain(actual)
            return [] if reason is None else [finding(reason, matcher=wanted)]
        pattern = str(wanted)
        found = search(pattern, actual, multiline=True)
    except PatternTimeout as exc:
        raise exc.at(ctx.line(epath)) from None
    except re.error as exc:
        return [finding(_("{pattern} is not a valid regular expression ({error})").format(
            pattern=yaml_quote(pattern), error=exc), Gap.NOT_CHECKED)]
    return [] if found else [finding(_("the pattern is not found in the exception {field}").format(field=field))]


def _return_problem(ctx: _Context, key: str) -> Optional[List[_Finding]]:
    """Why ``key`` cannot be compared with the returned value, if it cannot; else None."""
    if ctx.case.invocation != SYNC:
        return [ctx.finding(key, _("{key} cannot be checked: an async caller never receives the "
                                   "return value (use ret_msg)").format(key=key), (key,))]
    if ctx.failed:
        return []  # the status mismatch already says what happened
    if getattr(ctx.record, "return_value", UNSET) is UNSET:
        status = getattr(ctx.record, "status", "?")
        return [ctx.finding("return", _("the invocation returned no value (status {status})").format(status=status),
                            (key,),
                            Kind.PART, expected=Gap.ANY, actual=Gap.NONE)]
    return None


def _check_return(ctx: _Context) -> List[_Finding]:
    return _check_value(ctx, "return", ctx.expect.return_, includes=False)


def _check_return_includes(ctx: _Context) -> List[_Finding]:
    return _check_value(ctx, "return_includes", ctx.expect.return_includes, includes=True)


def _check_value(ctx: _Context, key: str, expected: Any, includes: bool) -> List[_Finding]:
    if expected is UNSET:
        return []
    problem = _return_problem(ctx, key)
    if problem is not None:
        return problem
    ignore, found = _ignore_patterns(ctx)
    diffs = compare(expected, ctx.record.return_value, ignore=ignore, includes=includes)
    return found + [_value_finding(ctx, key, "return", d) for d in diffs]


def _value_finding(ctx: _Context, key: str, root: str, diff: Difference) -> _Finding:
    """``root`` names the compared value in the path (``return.body.id``), ``key`` the
    expectation it was compared with (for the suite line)."""
    where = format_path("", diff.path)
    summary = _("{root} differs at {where}").format(root=root, where=where) if where else _(
        "{root} differs").format(root=root)
    return ctx.finding(root, diff.message, (key,) + diff.expected_path, diff.kind, path=diff.path,
                       expected=diff.expected, actual=diff.actual, matcher=diff.matcher, summary=summary)


def _ignore_patterns(ctx: _Context) -> Tuple[Tuple[Tuple[Any, ...], ...], List[_Finding]]:
    patterns, found = [], []
    for index, text in enumerate(ctx.expect.ignore or ()):
        try:
            pattern = parse_ignore_path(text)
        except IgnorePathError as exc:
            found.append(ctx.finding(f"ignore[{index}]", str(exc), ("ignore", index)))
            continue
        patterns.append(pattern)
        if len(pattern) > 1 and pattern[0] == "return":
            # A path copied from a failure report (return.body.id) means body.id.
            patterns.append(pattern[1:])
    return tuple(patterns), found


def _check_return_schema(ctx: _Context) -> List[_Finding]:
    schema = ctx.expect.return_schema
    if schema is UNSET:
        return []
    problem = _return_problem(ctx, "return_schema")
    if problem is not None:
        return problem
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [ctx.finding("return_schema", _("not a valid JSON Schema: {error}").format(error=first_line(exc.message)),
                            ("return_schema",) + tuple(exc.absolute_path))]
    odd = _not_json(ctx.record.return_value, ())
    if odd is not None:  # JSON Schema speaks about JSON data only; say so instead of guessing
        where, value = odd
        return [ctx.finding("return", _("not JSON data, so return_schema cannot check it "
                                      "(a Python {type})").format(type=type(value).__name__),
                            ("return_schema",), Kind.NOT_JSON,
                            path=where, actual=value)]
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(ctx.record.return_value),
                    key=lambda e: (_sort_key(tuple(e.absolute_path)), list(map(str, e.absolute_schema_path))))
    return [_schema_finding(ctx, e) for e in errors]


def _sort_key(path: Tuple[Key, ...]) -> Tuple[Tuple[int, Any], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in path)


def _not_json(value: Any, where: Tuple[Key, ...]) -> Optional[Tuple[Tuple[Key, ...], Any]]:
    """The first place in ``value`` that holds something JSON cannot, with that thing."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return where + (key,), key
            found = _not_json(item, where + (key,))
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, where + (index,))
            if found is not None:
                return found
        return None
    plain = value is None or isinstance(value, (str, int, float, bool))
    return None if plain else (where, value)


def _schema_finding(ctx: _Context, error: Any) -> _Finding:
    where = tuple(error.absolute_path)
    epath = ("return_schema",) + tuple(error.absolute_schema_path)
    summary = (_("return does not match return_schema at {where}").format(where=format_path("", where)) if where
               else _("return does not match return_schema"))
    return ctx.finding("return", f"schema: {first_line(error.message)}", epath, Kind.SCHEMA, path=where,
                       expected={error.validator: error.validator_value}, actual=error.instance,
                       summary=summary)


def _check_ret_msg(ctx: _Context) -> List[_Finding]:
    expected = ctx.expect.ret_msg
    if expected is UNSET or ctx.failed:
        return []
    actual = getattr(ctx.record, "ret_msg", None)
    if actual is None:
        return [ctx.finding("ret_msg", _("no ret_msg was recorded"), ("ret_msg",), Kind.PART,
                            expected=expected, actual=Gap.NONE)]
    diffs = compare(expected, actual)
    if diffs and _is_the_decoded_value(expected, actual):
        # ret_msg is text: `ret_msg: Hello` against the text "Hello" (quotes included) is
        # the commonest slip; say how to write it instead of only "values differ".
        written = f"ret_msg: {yaml_quote(actual)}" if len(actual) <= PHRASE_WIDTH else _("the JSON text exactly")
        hint = _("ret_msg is JSON text: write {written}, or use !json").format(written=written)
        # (this hint says more than the one about quotes that a value's comparison gives)
        said = diffs[0].message.replace(quoted_hint(expected, actual), "", 1)
        diffs = [replace(diffs[0], message=_("{message} ({hint})").format(message=said, hint=hint))]
    return [_value_finding(ctx, "ret_msg", "ret_msg", d) for d in diffs]


def _is_the_decoded_value(expected: Any, actual: str) -> bool:
    if isinstance(expected, Matcher):
        return False
    try:
        return matches(expected, json.loads(actual))
    except ValueError:
        return False


def _check_log(ctx: _Context) -> List[_Finding]:
    log = getattr(ctx.record, "log", "") or ""
    found: List[_Finding] = []
    for index, entry in enumerate(ctx.expect.log or ()):
        found += _check_log_entry(ctx, index, entry, log)
    return found


def _check_log_entry(ctx: _Context, index: int, entry: LogExpectation, log: str) -> List[_Finding]:
    root, epath = f"log[{index}]", _log_epath(ctx, index, entry)
    kind, pattern = entry.kind, str(entry.pattern)  # `- 42` in YAML means the text 42
    if kind not in ("contains", "regex", "absent", "absent_regex"):
        return [ctx.finding(root, _("unknown kind of log entry: {kind}").format(kind=kind), epath)]
    written = pattern if kind == "contains" else {kind: pattern}  # the entry as the suite has it

    def finding(message: str, actual: Any, at: Optional[int] = None, summary: Optional[str] = None) -> _Finding:
        return ctx.finding(root, message, epath, Kind.LOG, expected=written, actual=actual, at=at,
                           summary=summary)

    if kind in ("regex", "absent_regex"):
        try:
            hit = search(pattern, log, multiline=True)  # ^ and $ work line by line
        except PatternTimeout as exc:
            raise exc.at(ctx.line(epath)) from None
        except re.error as exc:
            return [finding(_("{pattern} is not a valid regular expression ({error})").format(
                pattern=yaml_quote(pattern), error=exc), Gap.NOT_CHECKED)]
        span = hit.span() if hit else None
    else:
        start = log.find(pattern)
        span = (start, start + len(pattern)) if start >= 0 else None
    brief = cut(log_entry(kind, pattern), BRIEF_WIDTH)
    if kind in ("contains", "regex") and span is None:
        what = _("text not found in the log") if kind == "contains" else _("pattern not found in the log")
        return [finding(what, _closest_line(log, pattern), summary=f"{root}: {what}: {brief}")]
    if kind in ("absent", "absent_regex") and span is not None:
        line, at = _line_around(log, span)
        return [finding(_("found in the log, but must be absent"), line, at,
                        summary=_("{root}: the log has {entry}, which must be absent").format(root=root, entry=brief))]
    return []


def _log_epath(ctx: _Context, index: int, entry: LogExpectation) -> NodePath:
    """The entry's place relative to ``expect`` (its own path may be absolute)."""
    own, base = tuple(entry.path or ()), tuple(ctx.expect.path)
    if own and base and own[: len(base)] == base:
        return own[len(base):]
    return own if own and own[0] == "log" else ("log", index)


def _closest_line(log: str, pattern: str) -> Any:
    """The log line most like the pattern, or Gap.ABSENT when no line is close."""
    lines = [line for line in log.splitlines() if line.strip()]
    close = difflib.get_close_matches(pattern, lines, n=1, cutoff=0.6) if lines else []
    return close[0] if close else Gap.ABSENT


def _line_around(log: str, span: Tuple[int, int]) -> Tuple[str, int]:
    """The log line(s) that hold the match, and where in them the match starts."""
    start = log.rfind("\n", 0, span[0]) + 1
    end = log.find("\n", span[1])
    return log[start: end if end >= 0 else len(log)], span[0] - start


def _check_budgets(ctx: _Context) -> List[_Finding]:
    found: List[_Finding] = []
    budgets = (("duration_ms", "duration_ms", N_("took {used}, over the budget of {limit}")),
               ("memory_mb", "max_memory_mb", N_("used {used}, over the budget of {limit}")))
    for key, field, over in budgets:
        budget = getattr(ctx.expect, key)
        if budget is UNSET or budget is None:
            continue
        limit = budget.get("max") if isinstance(budget, Mapping) else budget
        epath = (key, "max") if isinstance(budget, Mapping) else (key,)
        if not is_number(limit):
            found.append(ctx.finding(key, _("the budget must be {{max: N}}, got {value}").format(value=render_value(budget)),
                                     (key,)))
            continue
        used = getattr(ctx.record, field, None)
        if is_number(used) and used > limit:
            words = _(over).format(used=budget_figure(used, key), limit=budget_figure(limit, key))
            found.append(ctx.finding(key, words, epath, Kind.BUDGET, expected=limit, actual=used, summary=words))
    return found


# --- check, judge, format ----------------------------------------------------------------

# In the order a person reads a failure: did it end as expected, then how, then what.
_CHECKS = (
    ("error", _check_error),
    ("return", _check_return),
    ("return_includes", _check_return_includes),
    ("return_schema", _check_return_schema),
    ("ret_msg", _check_ret_msg),
    ("log", _check_log),
    ("budgets", _check_budgets),
)


@dataclass(frozen=True)
class _Internal:
    """A fault of scftest's own checker while checking one key."""

    key: str
    error: str
    details: str
    internal: bool = True  # False: the case's own expectation could not be judged (a runaway regex)


def _collect(case: Case, record: InvocationRecord) -> Tuple[List[_Finding], List[_Internal]]:
    findings: List[_Finding] = []
    faults: List[_Internal] = []
    ctx = _Context(case, record, failed=False)
    for key, run in (("status", _check_status),) + _CHECKS:
        try:
            found = run(ctx)
        except PatternTimeout as exc:
            faults.append(_timeout_fault(ctx, key, exc))
            continue
        except Exception as exc:  # a checker bug must become an explanation, not a crash
            faults.append(_Internal(key, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            continue
        # return and return_includes may both say "no value was returned": once is enough
        seen = {_identity(f.mismatch) for f in findings}
        findings.extend(f for f in found if _identity(f.mismatch) not in seen)
        if key == "status" and found:
            ctx = replace(ctx, failed=True)
    return findings, faults


def _timeout_fault(ctx: _Context, key: str, exc: PatternTimeout) -> _Internal:
    line = exc.line if exc.line is not None else ctx.line((key,) + tuple(exc.path))
    place = _(" (line {line})").format(line=line) if line is not None else ""
    error = _("the regular expression {pattern}{place} ran past the {seconds} s bound — "
              "it backtracks without end (nested repeats such as (a|a)+); simplify it").format(
        pattern=yaml_quote(exc.pattern), place=place, seconds=f"{exc.bound_s:g}")
    return _Internal(key, error, f"{ctx.case.file}:{line or ctx.case.line}: {error}", internal=False)


def _identity(m: Mismatch) -> Tuple[Any, ...]:
    """What makes two findings the same one (their raw values need not be hashable)."""
    return m.kind, m.root, m.path, m.message, m.line


def _capped(findings: List[_Finding]) -> List[_Finding]:
    if len(findings) <= MAX_MISMATCHES:
        return findings
    more = len(findings) - MAX_MISMATCHES
    note = Mismatch(root="expect", message=_("{count} more mismatches not shown").format(count=more))
    return findings[:MAX_MISMATCHES] + [_Finding(note, note.message)]


def _fault_mismatch(fault: _Internal) -> Mismatch:
    if not fault.internal:
        return Mismatch(root=fault.key, message=_("scftest could not check {key}: {error}").format(
            key=fault.key, error=fault.error))
    return Mismatch(root=fault.key, message=_("scftest could not check {key} (internal error: {error})").format(
        key=fault.key, error=fault.error))


def check(case: Case, record: InvocationRecord) -> Tuple[Mismatch, ...]:
    """Every expectation of ``case`` that ``record`` does not meet, in reading order."""
    try:
        findings, faults = _collect(case, record)
    except Exception as exc:  # pragma: no cover - _collect already guards each key
        return (Mismatch(root="expect", message=_("scftest could not check this case (internal error: {error})").format(
            error=f"{type(exc).__name__}: {exc}")),)
    return tuple(f.mismatch for f in _capped(findings)) + tuple(_fault_mismatch(f) for f in faults)


def judge(case: Case, record: InvocationRecord, elapsed_s: float = 0.0) -> CaseOutcome:
    """The verdict: passed, failed, or for an xfail case xfailed / xpassed.

    A fault in the checker itself is an ``error`` verdict (scftest could not judge),
    never an exception out of here; so is a returned value nested past ``MAX_VALUE_DEPTH``
    (the record keeps its ret_msg text, not the value, so no reporter walks it).
    """
    if _depth_past(getattr(record, "return_value", UNSET), MAX_VALUE_DEPTH):
        return CaseOutcome(case=case, verdict=Verdict.ERROR, record=replace(record, return_value=UNSET),
                           elapsed_s=elapsed_s,
                           summary=_("the returned value is nested more than {depth} levels deep; scftest checks "
                                     "values up to {depth} levels (ret_msg holds it as text)").format(
                               depth=MAX_VALUE_DEPTH))
    try:
        findings, faults = _collect(case, record)
        findings = _capped(findings)
    except Exception as exc:  # pragma: no cover - _collect already guards each key
        findings, faults = [], [_Internal("expect", f"{type(exc).__name__}: {exc}", traceback.format_exc())]
    outcome = CaseOutcome(case=case, verdict=Verdict.PASSED, record=record, elapsed_s=elapsed_s,
                          mismatches=tuple(f.mismatch for f in findings))
    if faults:
        first = faults[0]
        return replace(outcome, verdict=Verdict.ERROR,
                       summary=_("scftest could not check {key}: {error}").format(key=first.key, error=first.error),
                       mismatches=outcome.mismatches + tuple(_fault_mismatch(f) for f in faults),
                       details="\n".join(f.details for f in faults))
    summary = _summary(findings)
    xfail = case.xfail
    if xfail is not None and xfail is not False:
        reason = str(xfail).strip() if isinstance(xfail, str) and xfail.strip() else _("expected to fail")
        if findings:
            return replace(outcome, verdict=Verdict.XFAILED, summary=f"{summary} (xfail: {reason})")
        return replace(outcome, verdict=Verdict.XPASSED,
                       summary=_("passed, but is marked xfail: {reason}").format(reason=reason))
    if findings:
        return replace(outcome, verdict=Verdict.FAILED, summary=summary)
    return outcome


def judge_steps(case: Case, records: Sequence[Tuple[Step, InvocationRecord]],
                elapsed_s: float = 0.0) -> CaseOutcome:
    """The verdict on a warm sequence: each step judged on its own expectations (its
    lines in the suite), the case failing when any step does, and named by the first
    step that did. xfail is the case's: it applies to the whole sequence."""
    steps = []
    for step, record in records:
        single = replace(case, expect=step.expect, invocation=step.invocation, event_json=step.event_json,
                         path=step.path, steps=(), xfail=None)
        outcome = judge(single, record)
        steps.append(StepOutcome(step, outcome.verdict, outcome.summary, outcome.mismatches,
                                 outcome.record))
    bad = next((s for s in steps if s.verdict is Verdict.ERROR), None) or next(
        (s for s in steps if s.failed), None)
    if bad is None:
        last = steps[-1].record if steps else None
        passed = CaseOutcome(case, Verdict.PASSED, record=last, elapsed_s=elapsed_s, steps=tuple(steps))
        if case.xfail is not None:
            return replace(passed, verdict=Verdict.XPASSED,
                           summary=_("passed, but is marked xfail: {reason}").format(reason=case.xfail))
        return passed
    summary = f"{bad.step.label}: {bad.summary}"
    verdict = bad.verdict
    if verdict is Verdict.FAILED and case.xfail is not None:
        verdict, summary = Verdict.XFAILED, f"{summary} (xfail: {case.xfail})"
    return CaseOutcome(case, verdict, summary=summary, mismatches=bad.mismatches, record=bad.record,
                       elapsed_s=elapsed_s, steps=tuple(steps))


def _depth_past(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and mappings more than ``limit`` deep (a loop: no recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, Mapping) else item if isinstance(item, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (list, Mapping)))
    return False


def _summary(findings: List[_Finding]) -> str:
    if not findings:
        return ""
    text = findings[0].summary
    more = len(findings) - 1
    return text + (_(" (+{count} more)").format(count=more) if more else "")
