"""What SCF makes of an invocation's end: the status code of each outcome, the messages
of the platform's own errors, the error result's JSON and the function log's framing
lines (scf-runtime.md: "Errors", "The function log").

Data and small functions of plain values: the instance decides *what* happened, this
module says how the platform words it.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Optional

from scftest.scf.status import Code

# The bootstrap's (_child.py's) outcome word -> the SCF code of that ending.
OUTCOME_CODES = {
    "ok": Code.SUCCESS,
    "error": Code.USER_ERROR,
    "not_found": Code.HANDLER_NOT_FOUND,
    "init_error": Code.INIT_ERROR,
    "too_large": Code.RESPONSE_TOO_LARGE,
    "memory": Code.MEMORY_EXCEEDED,  # a MemoryError: the address-space net was reached
}

# The error type of a condition the platform reports (a timeout, the memory limit, an
# exit) rather than an exception of the handler: "Timeout", qualified "scf.Timeout".
PLATFORM_PREFIX = "scf."
TIMEOUT_ERROR = "Timeout"
MEMORY_ERROR = "MemoryExceeded"
EXIT_ERROR = "ProcessExited"

# What SCF writes as the error message of a user code exception (430).
USER_EXCEPTION_MESSAGE = "user code exception caught"


def timeout_message(seconds: float) -> str:
    return f"Invoking task timed out after {seconds:g} seconds"


def memory_message(memory_mb: int) -> str:
    return f"Task memory exceeded {memory_mb} MB"


def error_result(code: Code, error_type: str, message: str, traceback: str) -> str:
    """The JSON of a failed invocation's result, as the log's ERROR line shows it."""
    if code is Code.USER_ERROR:
        data = {"errorCode": -1, "errorMessage": USER_EXCEPTION_MESSAGE,
                "stackTrace": traceback or f"{error_type}: {message}"}
    else:
        data = {"errorCode": -1, "errorMessage": message, "stackTrace": traceback,
                "statusCode": code.number}
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


@dataclass(frozen=True)
class LogFormat:
    """The function log's framing lines around the handler's own output; ``event`` is
    None for a runtime that writes no ``Event`` line."""

    start: str = "START RequestId:{request_id}"
    event: Optional[str] = "Event RequestId:{request_id}"
    error: str = "ERROR RequestId:{request_id} Result:{result}"
    response: str = "Response RequestId:{request_id} RetMsg:{ret_msg}"
    end: str = "END RequestId:{request_id}"
    report: str = ("Report RequestId:{request_id} Duration:{duration_ms:.3f}ms "
                   "BilledDuration:{billed_ms}ms Memory:{memory_limit_mb}MB MemUsage:{memory_mb:g}MB")


LOG_FORMAT = LogFormat()  # what scftest writes for every runtime today


def billed_ms(duration_ms: float) -> int:
    """Billed duration: whole milliseconds, rounded up (1 ms granularity today)."""
    return math.ceil(duration_ms)


def function_log(request_id: str, output: str, *, ret_msg: Optional[str],
                 error_result: Optional[str], traceback: str, duration_ms: float,
                 memory_limit_mb: int, memory_mb: float, form: LogFormat = LOG_FORMAT) -> str:
    """The function log as the cloud writes it around the handler's ``output``: an
    ERROR line (after the traceback) when ``error_result`` is given, else the Response."""
    lines = [form.start.format(request_id=request_id)]
    if form.event is not None:
        lines.append(form.event.format(request_id=request_id))
    text = "\n".join(lines) + "\n" + output
    if output and not output.endswith("\n"):
        text += "\n"
    if error_result is not None:
        if traceback:
            text += traceback.rstrip("\n") + "\n"
        text += form.error.format(request_id=request_id, result=error_result) + "\n"
    else:
        text += form.response.format(request_id=request_id, ret_msg=ret_msg) + "\n"
    text += form.end.format(request_id=request_id) + "\n"
    text += form.report.format(request_id=request_id, duration_ms=duration_ms,
                               billed_ms=billed_ms(duration_ms), memory_limit_mb=memory_limit_mb,
                               memory_mb=memory_mb) + "\n"
    return text
