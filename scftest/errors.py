"""The base of scftest's own errors.

Every error scftest raises on purpose (a bad suite, a bad option, a project file it cannot
read, an interpreter it cannot start, an edit it refuses) derives from ``ScftestError``:
its message is written for the user (which file, what is wrong, what to do), so showing
``str(error)`` is enough, and the CLI's top level turns any that reaches it into that
message and exit status 4 (usage or suite problem), never a traceback. Anything else that
reaches the top is a fault of scftest itself (exit status 3, with the traceback to report).

Each error stays in the module that raises it (``ProjectError`` in load/project.py,
``RuntimeNotFound`` in instance/interpreters.py, ``InstanceError`` in instance/, ...);
most also keep the built-in base they had (ValueError, LookupError, OSError), so code
that catches those still does. tests/test_errors.py checks that every exception class in
the package derives from ``ScftestError``.
"""

from __future__ import annotations


class ScftestError(Exception):
    """An error of scftest's input or set-up; ``str()`` is the message for the user."""


class UsageError(ScftestError):
    """Bad command-line input or project configuration (exit status 4)."""
