"""Secrets (the values a suite passes with ``!env``) replaced by *** in everything a run
shows or writes.

Masking is applied to a case's outcome once it is judged (``masked``), never before:
the checks compare the real values, so a secret that happens to equal a word the case
expects cannot turn a pass into a failure. Everything a reporter reads comes from the
masked outcome: the record (log, return value, ret_msg, the exception), the mismatches'
values and messages, the summary and the details; the terminal, the JUnit and the JSON
report, and ``--update``, never see the real value.

A secret is searched in every form a report can hold it in: as it is; JSON-escaped (a
``"`` as ``\\"``, a ``\\`` as ``\\\\``, non-ASCII as itself or as ``\\u4e2d``), as
``context["environment"]`` holds it; escaped again (a return value holding that text,
dumped once more into ret_msg or a logged JSON line); and Python's ``repr`` forms (a
traceback quoting it). Secrets shorter than ``MIN_SECRET_LENGTH`` characters are not
masked (masking ``a`` would mangle every report); ``short_secret_warnings`` says so.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Set, Tuple

from scftest.check.outcome import CaseOutcome, Mismatch, StepOutcome
from scftest.i18n import _, ngettext
from scftest.instance.logcapture import CUT_MARKER
from scftest.model import UNSET, Case, EnvRef, SuiteWarning

MASK = "***"
MIN_SECRET_LENGTH = 4  # shorter values are not masked: they would match inside ordinary text
PIECE_LENGTH = 3  # the shortest piece of a secret cut by the log cap that is still masked


def is_maskable(secret: str) -> bool:
    return len(secret) >= MIN_SECRET_LENGTH


def forms(secret: str) -> Set[str]:
    """The texts ``secret`` can appear as: itself, escaped once and twice as JSON (with and
    without ``ensure_ascii``), and Python's ``repr`` / ``ascii`` of it."""
    found = {secret}
    for _round in range(2):  # once: context["environment"]; twice: that text dumped again
        found |= {json.dumps(text, ensure_ascii=ascii_only)[1:-1]
                  for text in found for ascii_only in (False, True)}
    found |= {repr(secret)[1:-1], ascii(secret)[1:-1]}
    return {text for text in found if text}


@dataclass(frozen=True)
class Masker:
    """Replaces every form of every secret by ``MASK`` in a text."""

    secrets: Tuple[str, ...] = ()
    pattern: Optional["re.Pattern[str]"] = None

    def __call__(self, text: Any) -> Any:
        if self.pattern is None or not isinstance(text, str) or not text:
            return text
        return self.pattern.sub(MASK, text)

    def __bool__(self) -> bool:
        return self.pattern is not None


def masker(secrets: Iterable[str]) -> Masker:
    """A Masker for the secrets long enough to be masked."""
    kept = tuple(sorted({str(s) for s in secrets if s and is_maskable(str(s))}))
    needles = set()
    for secret in kept:
        needles |= forms(secret)
    if not needles:
        return Masker()
    # Longest first: where one form holds another, the whole of it is replaced.
    ordered = sorted(needles, key=len, reverse=True)
    return Masker(kept, re.compile("|".join(re.escape(n) for n in ordered)))


def mask_value(value: Any, mask: Masker) -> Any:
    """``value`` (JSON data) with ``mask`` applied to every string in it, keys included.

    A loop, not recursion: a handler may return a value nested deeper than Python's
    recursion limit, and masking must never be what fails on it."""
    if not mask:
        return value
    root = [value]  # a holder, so that the top level is replaced like any other slot
    stack: List[Tuple[Any, Any]] = [(root, 0)]
    while stack:
        holder, slot = stack.pop()
        item = holder[slot]
        if isinstance(item, str):
            holder[slot] = mask(item)
        elif isinstance(item, list):
            holder[slot] = copy = list(item)
            stack.extend((copy, index) for index in range(len(copy)))
        elif isinstance(item, Mapping):
            holder[slot] = copy = {mask(k): v for k, v in item.items()}
            stack.extend((copy, key) for key in copy)
    return root[0]


def mask_log(log: str, mask: Masker) -> str:
    """The log masked, including the pieces of a secret the log cap cut through (the
    head's end and the tail's start beside the cut marker hold a part of it each).

    Every line that looks like the marker is treated so: a handler may print one itself,
    and the real one must not escape because a forged one came first."""
    if not mask or not log:
        return log
    text = mask(log)
    parts = CUT_MARKER.split(text)
    if len(parts) == 1:
        return text
    markers = CUT_MARKER.findall(text)
    out = [parts[0]]
    for marker, after in zip(markers, parts[1:]):
        out[-1] = _before_cut(out[-1], mask.secrets)
        out += [marker, _after_cut(after, mask.secrets)]
    return "".join(out)


def _before_cut(head: str, secrets: Sequence[str]) -> str:
    newline = head.endswith("\n")  # the capture ends the head's line before the marker
    head = head[:-1] if newline else head
    for secret in secrets:
        head = _mask_head_piece(head, secret)
    return head + ("\n" if newline else "")


def _after_cut(tail: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        tail = _mask_tail_piece(tail, secret)
    return tail


def _mask_head_piece(head: str, secret: str) -> str:
    for size in range(len(secret) - 1, PIECE_LENGTH - 1, -1):  # the longest piece first
        if head.endswith(secret[:size]):
            return head[:-size] + MASK
    return head


def _mask_tail_piece(tail: str, secret: str) -> str:
    for size in range(len(secret) - 1, PIECE_LENGTH - 1, -1):
        if tail.startswith(secret[-size:]):
            return MASK + tail[size:]
    return tail


def _mask_mismatch(m: Mismatch, mask: Masker) -> Mismatch:
    actual = mask_value(m.actual, mask)
    at = m.at
    if at is not None and isinstance(m.actual, str):
        # where the match starts, in the masked text: what came before it may have shrunk
        at = min(len(mask(m.actual[:at])), len(actual))
    return replace(m, message=mask(m.message), expected=mask_value(m.expected, mask), actual=actual, at=at)


def _mask_record(record: Any, mask: Masker) -> Any:
    if record is None:
        return None
    error = record.error
    if error is not None:
        error = replace(error, type=mask(error.type), qualified_type=mask(error.qualified_type),
                        message=mask(error.message), traceback=mask(error.traceback),
                        mro=tuple(mask(name) for name in error.mro))
    return replace(record, log=mask_log(record.log, mask), ret_msg=mask(record.ret_msg), error=error,
                   error_result=mask(record.error_result), return_value=mask_value(record.return_value, mask))


def masked(outcome: CaseOutcome, secrets: Iterable[str]) -> CaseOutcome:
    """``outcome`` with every secret replaced by ``MASK`` in all it shows."""
    return masked_with(outcome, masker(secrets))


def masked_with(outcome: CaseOutcome, mask: Masker) -> CaseOutcome:
    """``masked`` with a Masker made once (a run makes one per function, not per case)."""
    if not mask:
        return outcome
    records = [outcome.record] + [step.record for step in outcome.steps]
    return replace(outcome, summary=mask(outcome.summary), details=mask(outcome.details),
                   mismatches=tuple(_mask_mismatch(m, mask) for m in outcome.mismatches),
                   record=_mask_record(outcome.record, mask),
                   steps=tuple(_mask_step(step, mask) for step in outcome.steps),
                   masked=any(_shows_secret(record, mask) for record in records))


def _shows_secret(record: Any, mask: Masker) -> bool:
    """Whether what --update would write from ``record`` (its return value, its error's
    type and message) holds a secret: masked, it is no longer what the function did."""
    if record is None or mask.pattern is None:
        return False
    texts = [record.error.type, record.error.message] if record.error is not None else []
    if record.return_value is not UNSET:
        try:
            texts.append(json.dumps(record.return_value, ensure_ascii=False, default=str))
        except (RecursionError, TypeError, ValueError):
            return True  # cannot tell: as if it did, so nothing is written from it
    return any(isinstance(text, str) and mask.pattern.search(text) for text in texts)


def _mask_step(step: StepOutcome, mask: Masker) -> StepOutcome:
    # a warm sequence's step: its own summary, mismatches and record
    return replace(step, summary=mask(step.summary),
                   mismatches=tuple(_mask_mismatch(m, mask) for m in step.mismatches),
                   record=_mask_record(step.record, mask))


def short_secret_warnings(cases: Sequence[Case], environ: Mapping[str, str]) -> List[SuiteWarning]:
    """One warning per ``!env`` entry whose value in ``environ`` is too short to be masked."""
    warnings: List[SuiteWarning] = []
    seen = set()
    for case in cases:
        for key, value in case.function.environment.items():
            if not isinstance(value, EnvRef):
                continue
            secret = environ.get(value.name, "")
            if not secret or is_maskable(secret):
                continue
            mark = _env_mark(case, key)
            place = (case.file, mark.line, value.name)
            if place in seen:
                continue
            seen.add(place)
            warnings.append(SuiteWarning(
                case.file, mark.line, mark.col,
                ngettext("the value of {name} (passed with !env) is {length} character long: secrets under {minimum} "
                         "characters are not masked as {mask} (masking it would mangle every report), "
                         "so the reports show it as it is",
                         "the value of {name} (passed with !env) is {length} characters long: secrets under {minimum} "
                         "characters are not masked as {mask} (masking it would mangle every report), "
                         "so the reports show it as it is", len(secret)).format(
                    name=value.name, length=len(secret), minimum=MIN_SECRET_LENGTH, mask=MASK),
                _("use a secret of {minimum} characters or more, or pass a value that "
                  "is not secret without !env").format(minimum=MIN_SECRET_LENGTH)))
    return warnings


def _env_mark(case: Case, key: str):
    """The suite mark of the ``!env`` entry for ``key``: the case's own, else the suite's."""
    for path in (tuple(case.path) + ("environment", key), ("function", "environment", key)):
        mark = case.source.marks.get(path)
        if mark is not None:
            return mark
    return case.source.at(case.path)
