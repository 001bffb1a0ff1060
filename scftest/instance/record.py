"""What comes out of an invocation: the contract's invocation record.

Every backend makes one per invocation; the checker and every reporter read it the same
way. ``to_dict`` is the record as the JSON report holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Optional, Tuple

from scftest.model import UNSET
from scftest.scf.status import Status


@dataclass(frozen=True)
class ErrorInfo:
    type: str  # short class name, e.g. ValueError
    qualified_type: str  # e.g. builtins.ValueError, myapp.errors.NotFound
    message: str
    traceback: str = ""
    # The qualified names of the class and its bases, nearest first (its MRO without
    # object); empty for a condition of the platform (a timeout), which has no class.
    mro: Tuple[str, ...] = ()

    def to_dict(self) -> Dict[str, Any]:
        return {
            "type": self.type,
            "qualified_type": self.qualified_type,
            "message": self.message,
            "traceback": self.traceback,
            "mro": list(self.mro),
        }


@dataclass(frozen=True)
class InvocationRecord:
    request_id: str
    invocation: str
    runtime: str
    interpreter: str
    interpreter_version: str
    status: Status
    status_code: int  # SCF's code, finer than the status (scf.status.Code)
    return_value: Any = UNSET  # sync success only: the decoded RetMsg
    ret_msg: Optional[str] = None
    error: Optional[ErrorInfo] = None
    # A failure's result as the cloud writes it (scf.results.error_result): JSON text, or
    # for a timeout plain text; None when the invocation succeeded.
    error_result: Optional[str] = None
    log: str = ""
    duration_ms: float = 0.0
    billed_duration_ms: int = 0
    max_memory_mb: float = 0.0
    exit_code: Optional[int] = None
    signal: Optional[str] = None
    log_truncated_bytes: int = 0
    runtime_fallback: bool = False
    isolation: str = "process"  # namespace | process: how the case was contained
    start: str = "spawn"  # spawn | fork: a fresh interpreter, or a fork of its runtime's zygote
    # Each top-level module the invocation imported, with where it came from:
    # (name, code | layer | image | stdlib | other), by name.
    imports: Tuple[Tuple[str, str], ...] = ()
    cold_start: bool = True  # the instance imported the handler module for this invocation
    init_ms: float = 0.0  # the import (SCF's initialization phase), as the parent timed it; 0 when warm

    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON data; ``return`` is present only when the caller received a value."""
        data = {
            "request_id": self.request_id,
            "invocation": self.invocation,
            "runtime": self.runtime,
            "interpreter": self.interpreter,
            "interpreter_version": self.interpreter_version,
            "runtime_fallback": self.runtime_fallback,
            "isolation": self.isolation,
            "start": self.start,
            "cold_start": self.cold_start,
            "init_ms": self.init_ms,
            "status": str(self.status),
            "status_code": self.status_code,
            "ret_msg": self.ret_msg,
            "error": self.error.to_dict() if self.error else None,
            "error_result": self.error_result,
            "log": self.log,
            "log_truncated_bytes": self.log_truncated_bytes,
            "duration_ms": self.duration_ms,
            "billed_duration_ms": self.billed_duration_ms,
            "max_memory_mb": self.max_memory_mb,
            "exit_code": self.exit_code,
            "signal": self.signal,
            "imports": [{"name": name, "origin": origin} for name, origin in self.imports],
        }
        if self.return_value is not UNSET:
            data["return"] = self.return_value
        return data
