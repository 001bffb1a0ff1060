"""The Reporter protocol, and every report scftest has, registered by name.

A reporter is told three things, each a value: ``start(plan)`` before the first case
(``RunPlan``), ``case_finished(outcome)`` as each case ends (from a worker thread, in
completion order), and ``finish(result)`` once the run is over (``RunResult``, outcomes
in report order). A file report raises ``ReportError`` from ``finish`` when its path
cannot be written.

``REPORTERS`` maps a name to a factory ``(target, settings) -> Reporter``: the terminal's
target is a text stream, a file report's the path its command-line ``option`` gave. The
command line only chooses among them; a new report is one module with a ``FileReporter``
subclass and one line here (its option comes with it).
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Protocol, Sequence, Tuple, Type

from scftest.check.outcome import CaseOutcome
from scftest.report import FileReporter, ReportError, ReportSettings
from scftest.report.html import HtmlReporter
from scftest.report.json_report import JsonReporter
from scftest.report.junit import JunitReporter
from scftest.report.terminal import TerminalReporter
from scftest.result import RunPlan, RunResult

__all__ = ["Reporter", "REPORTERS", "FILE_REPORTERS", "create", "Group"]


class Reporter(Protocol):
    def start(self, plan: RunPlan) -> None: ...

    def case_finished(self, outcome: CaseOutcome) -> None: ...

    def finish(self, result: RunResult) -> None: ...


# The reports written to a file, in the order ``run --help`` lists their options.
FILE_REPORTERS: Dict[str, Type[FileReporter]] = {
    "junit": JunitReporter,
    "json": JsonReporter,
    "html": HtmlReporter,
}

REPORTERS: Dict[str, Callable[[Any, ReportSettings], Reporter]] = {
    "terminal": TerminalReporter.for_run,
    **FILE_REPORTERS,
}


def create(name: str, target: Any, settings: ReportSettings) -> Reporter:
    """The reporter registered as ``name``, writing to ``target``."""
    return REPORTERS[name](target, settings)


class Group:
    """Several reporters told the same things, in order. ``finish`` gives every member its
    turn even when one cannot write its report, and returns the errors of those that could not."""

    def __init__(self, members: Sequence[Reporter]) -> None:
        self.members: Tuple[Reporter, ...] = tuple(members)

    def start(self, plan: RunPlan) -> None:
        for member in self.members:
            member.start(plan)

    def case_finished(self, outcome: CaseOutcome) -> None:
        for member in self.members:
            member.case_finished(outcome)

    def finish(self, result: RunResult) -> List[ReportError]:
        errors: List[ReportError] = []
        for member in self.members:
            try:
                member.finish(result)
            except ReportError as exc:
                errors.append(exc)
        return errors
