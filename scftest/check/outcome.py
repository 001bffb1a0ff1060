"""The verdict on one case, and the mismatches that explain it: values, not text.

A ``Mismatch`` holds what the checker compared (the raw expected and actual values, the
matcher that judged, the place) and the reason in words; ``scftest.render`` turns it into
the lines a person reads, and the JSON report writes its values whole.

This module imports nothing of scftest at run time (the case model and the record are
only named in annotations), so ``render.py``, which every step may use, can read these
values without importing a step.
"""

from __future__ import annotations

import sys
from dataclasses import FrozenInstanceError, dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any, Dict, Optional, Tuple, Union

if TYPE_CHECKING:
    from scftest.instance.record import InvocationRecord
    from scftest.matchers import Matcher
    from scftest.model import Case, Step

Key = Union[str, int]

# A run keeps an outcome per case until its end: slotted where dataclasses can make them
# (Python 3.10+), an outcome has no dict of its own (about 50 bytes less each on 3.11).
PER_CASE = {"slots": True} if sys.version_info >= (3, 10) else {}


class Verdict(str, Enum):
    PASSED = "passed"
    FAILED = "failed"  # the function did not behave as expected
    ERROR = "error"  # scftest could not run or judge the case
    SKIPPED = "skipped"
    XFAILED = "xfailed"  # an xfail case failed, as expected (reported as skipped)
    XPASSED = "xpassed"  # an xfail case passed: reported as a failure


class Kind(str, Enum):
    """What a mismatch is about; it decides how its two sides read."""

    VALUE = "value"  # two leaves at one place of return / ret_msg differ: shown around their first difference
    PART = "part"  # a key, an item, a type or a matcher's verdict: each side shown on its own
    STATUS = "status"  # how the invocation ended (success, error, timeout, ...)
    ERROR_TYPE = "error_type"  # the exception's class; actual is {type, qualified_type}
    ERROR_TEXT = "error_text"  # the exception's message or traceback against a pattern or matcher
    LOG = "log"  # an entry of expect.log; expected is the entry as written
    SCHEMA = "schema"  # a return_schema rule; expected is {keyword: its value in the schema}
    NOT_JSON = "not_json"  # return_schema met a value JSON cannot hold
    BUDGET = "budget"  # duration_ms / memory_mb over the budget
    NOTE = "note"  # no values: the expectation cannot be checked, or a note about the check


class Gap(Enum):
    """A side of a mismatch that has no value, and why (render.py has the words for each)."""

    NOTHING = "nothing"  # nothing to show on this side
    ABSENT = "absent"  # the key or item is not in this side's value
    NONE = "none"  # the record holds none: no exception, no ret_msg, no return value
    NOT_CHECKED = "not checked"  # the expectation could not be tried (an invalid regex)
    ANY = "any"  # the case needs some value here, whatever it is


@dataclass(frozen=True, **PER_CASE)
class Mismatch:
    """One expectation that did not hold.

    ``root`` names what was checked (``return``, ``ret_msg``, ``status``, ``error``,
    ``log[2]``, ``duration_ms``, ``ignore[0]``, ``expect``); ``path`` leads from there
    into the actual value (``("body", "items", 1, "id")``). ``expected`` and ``actual``
    are the raw values (a ``Gap`` where a side has none); ``matcher`` is the suite's
    matcher that judged the actual value, if one did; ``message`` says why in words;
    ``line`` is the line of the expectation in the suite file. ``at`` is where in a text
    ``actual`` the match starts, when showing it needs that (a log line).
    """

    root: str
    message: str
    kind: Kind = Kind.NOTE
    path: Tuple[Key, ...] = ()
    expected: Any = Gap.NOTHING
    actual: Any = Gap.NOTHING
    matcher: Optional["Matcher"] = None
    line: Optional[int] = None
    at: Optional[int] = None


@dataclass(frozen=True, **PER_CASE)
class StepOutcome:
    """The verdict on one step of a warm sequence (``invocations:``), with its record."""

    step: "Step"
    verdict: Verdict
    summary: str = ""
    mismatches: Tuple[Mismatch, ...] = ()
    record: Optional["InvocationRecord"] = None

    @property
    def failed(self) -> bool:
        return self.verdict in (Verdict.FAILED, Verdict.ERROR)


@dataclass(frozen=True, **PER_CASE)
class CaseOutcome:
    """The verdict on a case. For a warm sequence, ``steps`` holds each step's; the
    case's summary, mismatches and record are those of the first step that failed (its
    summary names the step), else the last step's record."""

    case: "Case"
    verdict: Verdict
    summary: str = ""  # one line: why it failed, errored, was skipped
    mismatches: Tuple[Mismatch, ...] = ()
    details: str = ""  # longer explanation (an internal error, a suite problem)
    record: Optional["InvocationRecord"] = None
    elapsed_s: float = 0.0  # wall time the runner spent on the case
    internal: bool = False  # an error of scftest itself, not of the case (exit status 3)
    steps: Tuple[StepOutcome, ...] = ()
    masked: bool = False  # a secret was replaced by *** somewhere in what it shows
    compact: bool = False  # only what a run's summary needs was kept (``Compactor``)

    @property
    def failed(self) -> bool:
        return self.verdict in (Verdict.FAILED, Verdict.XPASSED)


# Verdicts whose outcome the terminal's summary shows only as a count, a time and a case id.
QUIET_VERDICTS = (Verdict.PASSED, Verdict.SKIPPED, Verdict.XFAILED)

# The record's fields that say how a case ran (the runtime, the interpreter, the
# containment, fork or spawn, how it ended), the same for many cases: a compact outcome's
# record keeps these; what the invocation returned, logged and measured is dropped.
HOW_IT_RAN = ("invocation", "runtime", "interpreter", "interpreter_version", "status", "status_code",
              "runtime_fallback", "isolation", "start")


class Compactor:
    """Makes the outcomes a run keeps until its end small (``compacted``), for a run whose
    reports read only the verdicts, the times and the case ids of the cases that passed
    (the terminal's summary, the exit status, the last-failed cache, --durations).

    An outcome that passed, was skipped or xfailed keeps its case, verdict, summary, time
    and flags, and as record an outline of how it ran shared by every case that ran alike
    (``HOW_IT_RAN``; its value, log, imports, ids and figures are left out); its
    mismatches, details and steps are dropped. A failure or an error is kept whole: the
    failures section shows all of it. One Compactor per run: it remembers the outlines.
    """

    def __init__(self) -> None:
        self._outlines: Dict[Tuple[Any, ...], "InvocationRecord"] = {}
        self._endings: Dict[Tuple[Any, ...], _Ending] = {}

    def compacted(self, outcome: CaseOutcome) -> Union[CaseOutcome, "CompactOutcome"]:
        if outcome.verdict not in QUIET_VERDICTS or outcome.compact:
            return outcome
        record = self._outline(outcome.record)
        key = (outcome.verdict, outcome.summary, id(record), outcome.internal, outcome.masked)
        ending = self._endings.get(key)
        if ending is None:
            ending = self._endings[key] = _Ending(outcome.verdict, outcome.summary, record, outcome.internal,
                                                  outcome.masked)
        return CompactOutcome(outcome.case, outcome.elapsed_s, ending)

    def _outline(self, record: Optional["InvocationRecord"]) -> Optional["InvocationRecord"]:
        if record is None:
            return None
        key = tuple(getattr(record, name) for name in HOW_IT_RAN)
        outline = self._outlines.get(key)
        if outline is None:
            # Every other field at its default; the request id (which has none) empty.
            outline = self._outlines[key] = type(record)(request_id="", **dict(zip(HOW_IT_RAN, key)))
        return outline


@dataclass(frozen=True, **PER_CASE)
class _Ending:
    """How compact outcomes of cases that ended alike ended: one for them all (the cases
    that passed with the same outline share one)."""

    verdict: Verdict
    summary: str
    record: Optional["InvocationRecord"]
    internal: bool
    masked: bool


class CompactOutcome:
    """A compacted ``CaseOutcome`` (``Compactor``), read as one: its case, its time and how
    it ended, shared by the cases that ended alike; no mismatches, details or steps. Three
    slots where an outcome has eleven: a run keeps one a case until its end (56 bytes, not
    120)."""

    __slots__ = ("case", "elapsed_s", "_ending")

    mismatches: Tuple[Mismatch, ...] = ()
    details = ""
    steps: Tuple[StepOutcome, ...] = ()
    compact = True

    def __init__(self, case: "Case", elapsed_s: float, ending: _Ending) -> None:
        object.__setattr__(self, "case", case)
        object.__setattr__(self, "elapsed_s", elapsed_s)
        object.__setattr__(self, "_ending", ending)

    def __setattr__(self, name: str, value: Any) -> None:  # frozen, as CaseOutcome is
        raise FrozenInstanceError(f"cannot assign to field {name!r}")

    @property
    def verdict(self) -> Verdict:
        return self._ending.verdict

    @property
    def summary(self) -> str:
        return self._ending.summary

    @property
    def record(self) -> Optional["InvocationRecord"]:
        return self._ending.record

    @property
    def internal(self) -> bool:
        return self._ending.internal

    @property
    def masked(self) -> bool:
        return self._ending.masked

    @property
    def failed(self) -> bool:
        return self._ending.verdict in (Verdict.FAILED, Verdict.XPASSED)

    def __repr__(self) -> str:
        return f"CompactOutcome({self.case.id!r}, {self.verdict.value}, {self.elapsed_s:.3f} s)"
