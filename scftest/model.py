"""The case model: what a suite file means once it has been loaded and validated.

Everything here is plain, frozen data. The loader builds it; the planner, executor,
checker and reporters only read it.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple, Union

from scftest.i18n import _
from scftest.scf.invocation import SYNC
from scftest.scf.limits import LIMITS
from scftest.scf.status import Code, Status

# The model's per-case classes keep their fields in slots where dataclasses can make them
# (Python 3.10+): a 10,000-case suite holds 10,000 Cases and Expectations, and a slotted
# instance has no dict of its own (about 50 bytes less each on 3.11).
PER_CASE = {"slots": True} if sys.version_info >= (3, 10) else {}

# A path into the YAML document: ("cases", 2, "expect", "return", "body").
NodePath = Tuple[Union[str, int], ...]


class _Unset:
    """Marks an expectation key that the suite did not write (``return: null`` is a real value)."""

    _instance = None

    def __new__(cls):
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNSET"

    def __bool__(self) -> bool:
        return False


UNSET: Any = _Unset()

RUNTIME_DEFAULT = "Python3.6"
TIMEOUT_DEFAULT = LIMITS.timeout_default_s
INIT_TIMEOUT_DEFAULT = LIMITS.init_timeout_default_s
MEMORY_DEFAULT = LIMITS.memory_default_mb


@dataclass(frozen=True)
class Mark:
    """Where a node starts in the suite file, 1-based as editors count."""

    line: int
    col: int


@dataclass(frozen=True)
class SourceMap:
    """Line and column of every node of one suite file, by its path in the document."""

    file: Path
    marks: Mapping[NodePath, Mark] = field(default_factory=dict)

    def at(self, path: NodePath) -> Mark:
        """The mark of ``path``, or of its nearest ancestor the file has a mark for."""
        path = tuple(path)
        while path:
            mark = self.marks.get(path)
            if mark is not None:
                return mark
            path = path[:-1]
        return self.marks.get((), Mark(1, 1))


@dataclass(frozen=True)
class EnvRef:
    """``!env NAME`` under ``environment``: pass the runner's variable NAME on purpose."""

    name: str

    def __repr__(self) -> str:
        return f"!env {self.name}"


@dataclass(frozen=True)
class Replace:
    """``!replace`` before a mapping or list under ``event``: it takes the place of what the
    trigger template or event file holds there instead of merging into it."""

    value: Any

    def __repr__(self) -> str:
        return "!replace"


@dataclass(frozen=True)
class FunctionSpec:
    """The function under test, after case overrides were applied over ``function``."""

    code: Path
    handler: str
    runtime: str = RUNTIME_DEFAULT
    timeout: int = TIMEOUT_DEFAULT
    memory: int = MEMORY_DEFAULT
    environment: Mapping[str, Union[str, EnvRef]] = field(default_factory=dict)
    # ``layers:``: the folders the function sees under /opt, in order (later wins on the
    # same path); resolved (absolute, symlinks followed), each an existing folder.
    layers: Tuple[Path, ...] = ()
    init_timeout: int = INIT_TIMEOUT_DEFAULT  # seconds for the import; ``timeout`` covers the call only
    # An execution role: secret_id, secret_key and optionally session_token (text or
    # !env), which the function sees as TENCENTCLOUD_* variables (scf/role.py); None: no role.
    role: Optional[Mapping[str, Union[str, EnvRef]]] = None

    @property
    def name(self) -> str:
        """The SCF function name scftest reports: the code folder's name."""
        return self.code.name or "function"


@dataclass(frozen=True, **PER_CASE)
class LogExpectation:
    """One entry of ``expect.log``. kind: contains | regex | absent | absent_regex."""

    kind: str
    pattern: str
    path: NodePath


@dataclass(frozen=True, **PER_CASE)
class Expectation:
    """The ``expect`` mapping of a case. Keys the suite did not write are UNSET.

    Expected values may hold matcher objects (see ``scftest.matchers``) anywhere inside.
    ``owner`` is where the case (or step) that expects it sits in the document, and
    ``path`` where its ``expect`` does, so a checker can find the line of any expected
    value with ``source.at(path + ("return", "body"))``. The owner's path is kept, the
    case's own tuple, not one of the expectation's: a 10,000-case suite held 10,000 such
    tuples (64 bytes each) for nothing else.
    """

    owner: NodePath = ()
    return_: Any = UNSET
    return_includes: Any = UNSET
    return_schema: Any = UNSET
    ignore: Tuple[str, ...] = ()
    ret_msg: Any = UNSET
    error: Any = UNSET  # UNSET | True | False | {type?, message?, traceback?}
    log: Tuple[LogExpectation, ...] = ()
    status: Any = UNSET
    status_code: Any = UNSET  # UNSET | an SCF status code (scf.status.Code numbers)
    duration_ms: Any = UNSET  # UNSET | {"max": N}
    memory_mb: Any = UNSET  # UNSET | {"max": N}

    @property
    def expected_status(self) -> Status:
        """The status the invocation must end with, from ``status``, ``status_code`` or
        ``error``."""
        if self.status is not UNSET:
            return Status(self.status)
        if self.status_code is not UNSET:
            return Code.of(self.status_code).status
        if self.error is not UNSET and self.error is not False:
            return Status.ERROR
        return Status.SUCCESS

    @property
    def path(self) -> NodePath:
        """Where ``expect`` sits in the document; () for an expectation of no case."""
        return self.owner + ("expect",) if self.owner else ()


def event_json(event: Any) -> str:
    """``event`` as the compact JSON a case keeps it in (``Case.event_json``). Raises
    TypeError or ValueError for a value JSON cannot hold (the loader never builds one)."""
    return json.dumps(event, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True, **PER_CASE)
class Step:
    """One invocation of a case's ``invocations:`` (a warm sequence), in order.

    ``index`` counts from 0; ``path`` is where the step sits in the document
    (``("cases", 3, "invocations", 1)``); ``cold`` asks for a fresh instance (module
    state and /tmp start over) before this step. ``context`` is the case's, with the
    step's own keys over it. Its event is kept as JSON, as a case's is."""

    index: int
    path: NodePath
    name: str = ""
    invocation: str = SYNC
    event_json: str = "{}"
    trigger: Optional[str] = None
    context: Mapping[str, Any] = field(default_factory=dict)
    cold: bool = False
    expect: Expectation = field(default_factory=Expectation)

    @property
    def event(self) -> Any:
        return json.loads(self.event_json)

    @property
    def label(self) -> str:
        """How reports name the step: ``step 2`` or ``step 2 (after a new instance)``."""
        return f"step {self.index + 1}" + (f" ({self.name})" if self.name else "")


@dataclass(frozen=True, **PER_CASE)
class Case:
    """One runnable case, after matrix expansion. A case with ``steps`` (its
    ``invocations:``) runs them in order in one instance and has no event or expect of
    its own.

    The event is kept as the compact JSON the function receives it in (``event`` reads
    it back, a fresh value each time). A parsed event weighs several times its JSON (the
    apigateway trigger's, 30 values: about 4.6 KB as Python objects, 0.8 KB as text; a
    bench case's {n: 5}: 184 and 56 bytes), and a suite of thousands of cases held every one."""

    suite: str
    name: str
    source: SourceMap
    path: NodePath  # where the case sits in the document, e.g. ("cases", 3)
    function: FunctionSpec
    invocation: str = SYNC  # SYNC | ASYNC (scf.invocation)
    event_json: str = "{}"
    trigger: Optional[str] = None
    context: Mapping[str, Any] = field(default_factory=dict)
    expect: Expectation = field(default_factory=Expectation)
    description: str = ""
    tags: Tuple[str, ...] = ()
    skip: Optional[str] = None  # the reason, when skipped
    xfail: Optional[str] = None  # the reason, when expected to fail
    params: Mapping[str, Any] = field(default_factory=dict)  # matrix values of this expansion
    # How the name shows them: "Python2.7, DB=mysql" (render.matrix_label); the name is the
    # written one with " [variant]" after it. "" outside a matrix.
    variant: str = ""
    steps: Tuple[Step, ...] = ()  # invocations: the warm sequence, when the case has one

    @property
    def id(self) -> str:
        return f"{self.suite}::{self.name}"

    @property
    def event(self) -> Any:
        return json.loads(self.event_json)

    @property
    def file(self) -> Path:
        return self.source.file

    @property
    def line(self) -> int:
        return self.source.at(self.path).line


@dataclass(frozen=True)
class Suite:
    name: str
    source: SourceMap
    description: str = ""
    cases: Tuple[Case, ...] = ()

    @property
    def file(self) -> Path:
        return self.source.file


@dataclass(frozen=True)
class SuiteProblem:
    """A bad input, reported as ``file:line:col: what is wrong — what to do``."""

    file: Path
    line: int
    col: int
    message: str
    hint: str = ""

    def __str__(self) -> str:
        return _located(self.file, self.line, self.col, self.message, self.hint)


class SuiteWarning(SuiteProblem):
    """Legal YAML that probably does not say what its writer meant (``{msg: 你好, 张三}``),
    reported as ``file:line:col: warning: what — what to do``. It never fails a run: it
    travels in its own ``warnings`` lists, never among the problems."""

    def __str__(self) -> str:
        return _located(self.file, self.line, self.col, _("warning: {message}").format(message=self.message), self.hint)


def _located(file: Path, line: int, col: int, message: str, hint: str) -> str:
    where = f"{file}:{line}:{col}" if line else str(file)
    text = f"{where}: {message}"
    return _("{problem} — {hint}").format(problem=text, hint=hint) if hint else text


@dataclass(frozen=True)
class PassedOver:
    """A path found while searching for suites that is not one: shown with -v."""

    file: Path
    reason: str

    def __str__(self) -> str:
        return _("passed over {file}: {reason}").format(file=self.file, reason=self.reason)
