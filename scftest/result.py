"""What a run is about to do and what it found: the values every reporter reads.

``RunPlan`` is known before the first case starts; ``RunResult`` when the run is over.
Both are plain data, apart from the session, so a report never imports the run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, List, Optional, Tuple

from scftest.check.outcome import CaseOutcome, Verdict
from scftest.model import Case, PassedOver, Suite, SuiteProblem, SuiteWarning
from scftest.plan import Rerun

if TYPE_CHECKING:
    from scftest.coverage.model import CoverageResult

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INTERRUPTED = 2
EXIT_INTERNAL = 3
EXIT_USAGE = 4
EXIT_NO_CASES = 5


@dataclass(frozen=True)
class RunPlan:
    """The cases a run will start, in report order, how many the selection left out, and
    what ``--lf`` / ``--ff`` did (None without them)."""

    cases: Tuple[Case, ...] = ()
    deselected: int = 0
    rerun: Optional[Rerun] = None
    # The run keeps the outcomes of passing, skipped and xfailed cases compact (RunOptions.compact):
    # a report that needs them whole takes them from case_finished as they end (the JSON report streams).
    compact: bool = False

    @property
    def total(self) -> int:
        return len(self.cases)


@dataclass
class RunResult:
    suites: List[Suite] = field(default_factory=list)
    problems: List[SuiteProblem] = field(default_factory=list)
    passed_over: List[PassedOver] = field(default_factory=list)
    warnings: List[SuiteWarning] = field(default_factory=list)  # shown and reported; never fail the run
    outcomes: List[CaseOutcome] = field(default_factory=list)  # report order
    selected: int = 0
    deselected: int = 0
    interrupted: bool = False
    elapsed_s: float = 0.0
    coverage: Optional["CoverageResult"] = None  # --cov: what the instances measured
    coverage_fail_under: Optional[float] = None  # --cov-fail-under N: the run fails below N percent

    @property
    def exit_code(self) -> int:
        """pytest's convention, as the suite format states it."""
        if self.interrupted:
            return EXIT_INTERRUPTED
        if any(o.internal for o in self.outcomes):
            return EXIT_INTERNAL
        if self.problems:
            return EXIT_USAGE  # a gate must never pass over a broken suite
        if any(o.failed or o.verdict is Verdict.ERROR for o in self.outcomes):
            return EXIT_FAILED
        if self.selected == 0:
            return EXIT_NO_CASES
        if self.coverage_failed:
            return EXIT_FAILED  # pytest-cov's --cov-fail-under: every case passed, too little was run
        return EXIT_OK

    @property
    def coverage_failed(self) -> bool:
        return (self.coverage is not None and self.coverage_fail_under is not None
                and self.coverage.fails_under(self.coverage_fail_under))
