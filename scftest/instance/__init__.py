"""The instance seam: where a case's function runs, whatever runs it.

A ``Backend`` starts an ``Instance`` for an ``InstanceSpec`` (the deployed function:
code, handler, interpreter, memory, timeout, environment, secrets); the instance serves
one ``InvocationRequest`` after another (``invoke``: event, context overrides, request
id, sync or async) and returns an ``InvocationRecord`` for each; ``close`` ends it and
everything it started, and is always called (an instance is a context manager). A
backend may hold what its instances share (a pinned bootstrap, pre-started
interpreters): it is closed at the end of the run.

The session knows only this module; which backend runs the cases is its caller's choice.
Today's backend is ``spawn.SpawnBackend``: a fresh process for a cold start, kept warm
(module state and /tmp kept) for the further invocations ``start`` announced; a timeout,
a crash or the memory limit ends it, and the next invoke is a cold start again. A
fork-server is another backend behind the same three calls.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Optional, Tuple

from scftest.errors import ScftestError
from scftest.instance.record import InvocationRecord
from scftest.scf.environment import FunctionIdentity
from scftest.scf.invocation import ASYNC, SYNC
from scftest.scf.limits import LIMITS
from scftest.scf.profiles import RuntimeProfile

# ErrorInfo.type of the record of an invocation that was cancelled (Ctrl-C).
CANCELLED = "Cancelled"


class InstanceError(ScftestError, RuntimeError):
    """The backend could not run the function at all (its interpreter cannot be
    started); not something the handler did. The session makes it an ERROR verdict of
    the case: the message says what failed, ``hint`` what to do about it."""

    def __init__(self, message: str, hint: str = ""):
        super().__init__(message)
        self.hint = hint


@dataclass(frozen=True)
class Interpreter:
    """A real interpreter chosen for a runtime."""

    runtime: str  # the SCF spelling the case asked for, e.g. Python3.6
    path: str
    version: str  # e.g. 3.6.15
    fallback: bool = False  # True when --runtime-fallback ran it on another version


@dataclass(frozen=True)
class InstanceSpec:
    """The function an instance runs, fully resolved: what SCF fixes when the function
    is deployed, the same for every invocation the instance serves."""

    code_root: Path
    handler: str
    runtime: str
    interpreter: Interpreter
    timeout_s: float  # the call's time limit (SCF's execution timeout)
    memory_mb: int
    environment: Mapping[str, str]  # the declared variables, !env already resolved
    profile: RuntimeProfile  # how the runtime behaves: its log framing, its limits
    identity: FunctionIdentity = field(default_factory=FunctionIdentity)
    secrets: tuple = ()  # values masked as *** in the judged outcome (check/masking.py)
    layers: Tuple[Path, ...] = ()  # host folders the function sees under /opt, in order (later wins)
    image: Optional[Path] = None  # the runtime's provisioned image libraries (a site-packages folder)
    init_timeout_s: float = LIMITS.init_timeout_default_s  # the import's time limit (SCF's initialization timeout)
    # The execution role's TENCENTCLOUD_* variables (scf/role.py), resolved; empty: no role.
    credentials: Mapping[str, str] = field(default_factory=dict)
    # --cov: where this interpreter's coverage.py is and the run's sink (coverage/sink.py); None: not measured.
    coverage: Optional[Any] = None


@dataclass(frozen=True)
class InvocationRequest:
    """One call of the function."""

    request_id: str
    event: Any = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)  # overrides over the generated context
    invocation: str = SYNC  # SYNC | ASYNC, as scf.invocation normalised it
    trigger: Optional[str] = None  # the trigger template the event came from (timer: TRIGGER_SRC=timer)

    def __post_init__(self) -> None:
        if self.invocation not in (SYNC, ASYNC):
            raise ValueError(f"invocation must be {SYNC!r} or {ASYNC!r}, not {self.invocation!r}")


class Instance(ABC):
    """A running function. ``invoke`` may be called several times in a row; ``close``
    is called once, always (use it as a context manager)."""

    @abstractmethod
    def invoke(self, request: InvocationRequest,
               cancel: Optional[threading.Event] = None) -> InvocationRecord:
        """Run one invocation and return its record.

        Whatever the handler does is in the record (errors, timeouts, crashes). A
        ``cancel`` set while it runs stops it: the record then has status crash and
        ``error.type == CANCELLED``. Raises InstanceError only when the function cannot
        be run at all."""

    def close(self) -> None:
        """End the instance and every process it started."""

    def __enter__(self) -> "Instance":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class Backend(ABC):
    """Starts instances; closed (``close``, or as a context manager) after the run."""

    @abstractmethod
    def start(self, spec: InstanceSpec, invocations: int = 1) -> Instance:
        """An instance of ``spec``, ready to invoke. ``invocations``: how many the caller
        will ask of it in a row (a warm sequence), so the backend can prepare for them.
        Raises InstanceError when the function cannot be run at all."""

    def close(self) -> None:
        """Release what the backend's instances share."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
