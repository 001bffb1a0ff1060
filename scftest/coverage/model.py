"""What coverage found, as values: per file, its statements and branches, run or not."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Tuple

Arc = Tuple[int, int]  # coverage.py's (from line, to line); negative: entering or leaving a code object


@dataclass(frozen=True)
class FileCoverage:
    """One source file of a function's code, over every instance that ran it."""

    path: Path  # on the runner's disk (the code folder, not /var/user)
    statements: FrozenSet[int]
    executed: FrozenSet[int]
    arcs_possible: FrozenSet[Arc] = frozenset()
    arcs_executed: FrozenSet[Arc] = frozenset()

    @property
    def missing(self) -> FrozenSet[int]:
        return self.statements - self.executed

    def branches(self) -> Dict[int, Tuple[int, int]]:
        """{line: (exits, exits taken)} for each line with more than one way on (a branch)."""
        exits: Dict[int, set] = {}
        for start, end in self.arcs_possible:
            if start > 0:
                exits.setdefault(start, set()).add(end)
        taken = {(start, end) for start, end in self.arcs_executed}
        return {line: (len(ends), sum(1 for end in ends if (line, end) in taken))
                for line, ends in sorted(exits.items()) if len(ends) > 1}

    @property
    def branch_counts(self) -> Tuple[int, int]:
        """(branch exits, taken) over the file."""
        found = self.branches().values()
        return sum(total for total, _ in found), sum(taken for _, taken in found)


@dataclass(frozen=True)
class CoverageResult:
    """Every measured file (sorted by path) and what went wrong while measuring."""

    files: Tuple[FileCoverage, ...] = ()
    problems: Tuple[str, ...] = ()  # instances whose data is missing or partial, and why
    instances: int = 0  # how many instances wrote data

    @property
    def line_counts(self) -> Tuple[int, int]:
        return sum(len(f.statements) for f in self.files), sum(len(f.executed) for f in self.files)

    @property
    def branch_counts(self) -> Tuple[int, int]:
        counts = [f.branch_counts for f in self.files]
        return sum(total for total, _ in counts), sum(taken for _, taken in counts)

    @property
    def total_percent(self) -> float:
        """The TOTAL row's cover, unrounded: (statements run + branch exits taken) over
        (statements + branch exits), as coverage.py counts with branches; 100 for nothing."""
        (statements, run), (exits, taken) = self.line_counts, self.branch_counts
        return 100.0 if statements + exits == 0 else 100.0 * (run + taken) / (statements + exits)

    def fails_under(self, minimum: float) -> bool:
        """``--cov-fail-under``, as coverage.py's ``fail_under`` decides it: the total rounded
        to a whole percent is below ``minimum`` (100 asks for all of it, unrounded). A run that
        measured no file fails: a gate must not pass on nothing."""
        if not self.files:
            return True
        if minimum >= 100.0:
            return self.total_percent < 100.0
        return round(self.total_percent) < minimum
