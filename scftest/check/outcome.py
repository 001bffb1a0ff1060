"""The verdict on one case: what the checker concludes and every reporter prints."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Optional, Tuple

from scftest.model import Case
from scftest.instance.record import InvocationRecord


class Verdict(str, Enum):
    PASSED = "passed"
    FAILED = "failed"  # the function did not behave as expected
    ERROR = "error"  # scftest could not run or judge the case
    SKIPPED = "skipped"
    XFAILED = "xfailed"  # an xfail case failed, as expected (reported as skipped)
    XPASSED = "xpassed"  # an xfail case passed: reported as a failure


@dataclass(frozen=True)
class Mismatch:
    """One expectation that did not hold.

    ``path`` names the place in the value (``body.items[1].id``) or the expectation
    (``log[2]``, ``status``); ``line`` is the line of the expectation in the suite file.
    ``expected`` and ``actual`` are short, readable renderings, not raw values.
    """

    path: str
    message: str
    expected: str = ""
    actual: str = ""
    line: Optional[int] = None


@dataclass(frozen=True)
class CaseOutcome:
    case: Case
    verdict: Verdict
    summary: str = ""  # one line: why it failed, errored, was skipped
    mismatches: Tuple[Mismatch, ...] = ()
    details: str = ""  # longer explanation (an internal error, a suite problem)
    record: Optional[InvocationRecord] = None
    elapsed_s: float = 0.0  # wall time the runner spent on the case
    internal: bool = False  # an error of scftest itself, not of the case (exit status 3)

    @property
    def failed(self) -> bool:
        return self.verdict in (Verdict.FAILED, Verdict.XPASSED)
