"""Regular expressions from suites, searched with a time bound.

A suite's pattern meets text the handler produced, and a pattern such as ``^(a+)+$``
backtracks for longer than the universe lasts on a 41-character line; Python's ``re``
cannot be interrupted (not even by Ctrl-C) while it does. The ``regex`` library runs the
same patterns with the same meaning (its VERSION0 is ``re``-compatible) and gives up after
``timeout`` seconds, so a runaway pattern costs one case an ERROR verdict, not the run.

Validation still compiles with ``re`` (the documented meaning of a pattern); a pattern that
``re`` accepts and ``regex`` rejects is searched with ``re``, unbounded (none is known).
"""

from __future__ import annotations

import re
from typing import Any, Optional, Tuple

from scftest.errors import ScftestError

__all__ = ["PatternTimeout", "TIME_BOUND_S", "search"]

TIME_BOUND_S = 1.0  # per search: an ordinary pattern on a capped log takes milliseconds


class PatternTimeout(ScftestError):
    """A search ran past the time bound. Callers that know where the pattern is written
    place it: ``path`` inside the expected value (a matcher in ``return``), or the suite ``line``."""

    def __init__(self, pattern: str, bound_s: float, line: Optional[int] = None, path: Tuple[Any, ...] = ()):
        super().__init__(pattern, bound_s, line, path)
        self.pattern = pattern
        self.bound_s = bound_s
        self.line = line
        self.path = path

    def at(self, line: Optional[int]) -> "PatternTimeout":
        """The same timeout, placed at ``line`` unless a deeper caller already placed it."""
        return self if self.line is not None else PatternTimeout(self.pattern, self.bound_s, line, self.path)

    def within(self, path: Tuple[Any, ...]) -> "PatternTimeout":
        """The same timeout, at ``path`` in the expected value unless already placed."""
        return self if self.path else PatternTimeout(self.pattern, self.bound_s, self.line, tuple(path))

    def __str__(self) -> str:
        return f"the regular expression {self.pattern!r} ran past {self.bound_s:g} s"


def search(pattern: str, text: str, *, multiline: bool = False,
           bound_s: float = TIME_BOUND_S) -> Optional[Any]:
    """``re.search(pattern, text)`` (with ``re.MULTILINE`` if asked) that gives up after
    ``bound_s`` seconds by raising ``PatternTimeout``. An invalid pattern raises ``re.error``."""
    import regex  # here, not at the top: a run whose suites search no text never pays its import

    try:
        compiled = regex.compile(pattern, regex.VERSION0 | (regex.MULTILINE if multiline else 0))
    except regex.error:
        # re's verdict is the one a suite is validated against: its error, or its search
        return re.search(pattern, text, re.MULTILINE if multiline else 0)
    try:
        return compiled.search(text, timeout=bound_s)
    except TimeoutError:
        raise PatternTimeout(pattern, bound_s) from None
