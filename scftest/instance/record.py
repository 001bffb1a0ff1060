"""What goes into one fresh process, and what comes out of it.

``Invocation`` is fully resolved input: the executor needs nothing else (no suite,
no runner environment). ``InvocationRecord`` is the contract's invocation record;
the checker and every reporter read it the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Mapping, Optional

from scftest.model import UNSET

# SCF status codes (doc 583/35311), kept in the record next to scftest's status word.
STATUS_CODES = {
    "success": 200,
    "error": 430,  # user code exception
    "timeout": 433,
    "memory_exceeded": 434,
    "handler_not_found": 437,
    "crash": 439,  # user process exited while running
    "init_error": 443,  # user code failed while loading
    "response_too_large": 407,
}


@dataclass(frozen=True)
class Interpreter:
    """A real interpreter chosen for a runtime."""

    runtime: str  # the SCF spelling the case asked for, e.g. Python3.6
    path: str
    version: str  # e.g. 3.6.15
    fallback: bool = False  # True when --runtime-fallback ran it on another version


@dataclass(frozen=True)
class Invocation:
    """Everything the executor needs to run one case in a fresh process."""

    request_id: str
    code_root: Path
    handler: str
    runtime: str
    interpreter: Interpreter
    timeout_s: float
    memory_mb: int
    environment: Mapping[str, str]  # the declared variables, !env already resolved
    invocation: str = "sync"  # sync | async
    event: Any = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)  # overrides over the generated context
    function_name: str = "function"
    secrets: tuple = ()  # values to mask as *** wherever they would be shown


@dataclass(frozen=True)
class ErrorInfo:
    type: str  # short class name, e.g. ValueError
    qualified_type: str  # e.g. builtins.ValueError, myapp.errors.NotFound
    message: str
    traceback: str = ""

    def to_dict(self) -> Dict[str, str]:
        return {
            "type": self.type,
            "qualified_type": self.qualified_type,
            "message": self.message,
            "traceback": self.traceback,
        }


@dataclass(frozen=True)
class InvocationRecord:
    request_id: str
    invocation: str
    runtime: str
    interpreter: str
    interpreter_version: str
    status: str  # success | error | timeout | memory_exceeded | crash
    status_code: int
    return_value: Any = UNSET  # sync success only: the decoded RetMsg
    ret_msg: Optional[str] = None
    error: Optional[ErrorInfo] = None
    log: str = ""
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    max_memory_mb: float = 0.0
    exit_code: Optional[int] = None
    signal: Optional[str] = None
    log_truncated_bytes: int = 0
    runtime_fallback: bool = False

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON data; ``return`` is present only when the caller received a value."""
        data = {
            "request_id": self.request_id,
            "invocation": self.invocation,
            "runtime": self.runtime,
            "interpreter": self.interpreter,
            "interpreter_version": self.interpreter_version,
            "runtime_fallback": self.runtime_fallback,
            "status": self.status,
            "status_code": self.status_code,
            "ret_msg": self.ret_msg,
            "error": self.error.to_dict() if self.error else None,
            "log": self.log,
            "log_truncated_bytes": self.log_truncated_bytes,
            "duration_ms": self.duration_ms,
            "billed_duration_ms": self.billed_duration_ms,
            "max_memory_mb": self.max_memory_mb,
            "exit_code": self.exit_code,
            "signal": self.signal,
        }
        if self.return_value is not UNSET:
            data["return"] = self.return_value
        return data
