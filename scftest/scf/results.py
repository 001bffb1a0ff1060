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

from scftest.scf.status import LOAD_FAILURES, Code

# The bootstrap's (_child.py's) outcome word -> the SCF code of that ending.
OUTCOME_CODES = {
    "ok": Code.SUCCESS,
    "error": Code.USER_ERROR,
    "not_found": Code.HANDLER_NOT_FOUND,
    "init_error": Code.INIT_ERROR,
    "too_large": Code.RESPONSE_TOO_LARGE,
    # A MemoryError the interpreter raised: an allocation past the address-space net, where
    # the cloud's memory limit would have ended the function. One that a ``raise``
    # statement raised is an ordinary exception, "error" (430), as in Tencent's runtime.
    "memory": Code.MEMORY_EXCEEDED,
}

# The error type of a condition the platform reports (a timeout, the memory limit, an
# exit) rather than an exception of the handler: "Timeout", qualified "scf.Timeout".
PLATFORM_PREFIX = "scf."
TIMEOUT_ERROR = "Timeout"
INIT_TIMEOUT_ERROR = "InitTimeout"
MEMORY_ERROR = "MemoryExceeded"
EXIT_ERROR = "ProcessExited"
REQUEST_TOO_LARGE_ERROR = "RequestTooLarge"  # 406: refused before the function runs

# What SCF writes as the error message of a user code exception (430).
USER_EXCEPTION_MESSAGE = "user code exception caught"


def timeout_message(seconds: float) -> str:
    return f"Invoking task timed out after {seconds:g} seconds"


def memory_message(memory_mb: int) -> str:
    return f"Task memory exceeded {memory_mb} MB"


# The errorCode of a failed call, and of code that failed while loading (443, S3).
CALL_ERROR_CODE = -1
LOAD_ERROR_CODE = 1


def request_too_large_message(size: int, limit: int, asynchronous: bool) -> str:
    kind = "an async" if asynchronous else "a sync"
    return (f"the request event is {size} bytes as JSON, over SCF's limit of {limit} bytes "
            f"({limit // 1024} KB) for {kind} invocation; the function was not run")


def error_result(code: Code, *, request_id: str, error_type: str, message: str,
                 traceback: str) -> str:
    """A failed invocation's result as the cloud writes it: the Result of the log's ERROR
    line, and the record's ``error_result`` (scf-runtime.md "Error results").

    430: SCF's fixed message, the traceback in ``stackTrace``; 443: ``errorCode`` 1 and the
    traceback as the message, no ``stackTrace``; 433: plain text, not JSON; 434: no
    ``requestId``, as the captures show. No capture shows 406, 407, 437 or 439: 437 is
    shaped like 443 (the code could not be loaded either), the others like 430 with
    their own message. Keys sorted and no spaces, as the captures print them."""
    if code is Code.TIMEOUT:
        return message
    data = {"errorCode": CALL_ERROR_CODE, "errorMessage": message, "requestId": request_id,
            "statusCode": code.number}
    if code is Code.USER_ERROR:
        data.update(errorMessage=USER_EXCEPTION_MESSAGE,
                    stackTrace=traceback or f"{error_type}: {message}")
    elif code in LOAD_FAILURES:
        data.update(errorCode=LOAD_ERROR_CODE, errorMessage=traceback or f"{error_type}: {message}")
    elif code is Code.MEMORY_EXCEEDED:
        del data["requestId"]
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def init_timeout_message(seconds: float) -> str:
    """The message of an import that outlived ``init_timeout`` (status 450). SCF's own
    wording is not in the sources: scftest's choice, naming the key to change."""
    return f"Function initialization timed out after {seconds:g} seconds (init_timeout)"


@dataclass(frozen=True)
class LogFormat:
    """The function log's framing lines around the handler's own output, as recent
    captures show them (scf-runtime.md "The log as recent captures show it", S4/S6):
    whole milliseconds, memory in MB with six decimals, no billed duration (it is a
    field of the Invoke result, and of the record); ``event`` is None for a runtime that
    writes no ``Event`` line (a 2020 capture has one, recent ones do not)."""

    start: str = "START RequestId:{request_id}"
    event: Optional[str] = None
    init_report: str = ("Init Report RequestId:{request_id} Coldstart:{coldstart_ms}ms "
                        "(PullCode:{pull_code_ms}ms InitRuntime:{init_runtime_ms}ms "
                        "InitFunction:{init_function_ms}ms) Memory:{memory_limit_mb}MB "
                        "MemUsage:{memory_mb:.6f}MB")
    error: str = "ERROR RequestId:{request_id} Result:{result}"
    response: str = "Response RequestId:{request_id} RetMsg:{ret_msg}"
    end: str = "END RequestId:{request_id}"
    report: str = ("Report RequestId:{request_id} Duration:{duration_ms}ms "
                   "Memory:{memory_limit_mb}MB MemUsage:{memory_mb:.6f}MB")


LOG_FORMAT = LogFormat()  # what every offered runtime writes (profiles.py)


def billed_ms(duration_ms: float) -> int:
    """Billed duration: whole milliseconds, rounded up (1 ms granularity today)."""
    return math.ceil(duration_ms)


def whole_ms(duration_ms: float) -> int:
    """A duration as the log shows it: whole milliseconds, rounded up (SCF's sample log
    of a trivial handler says Duration:1ms, never 0ms)."""
    return max(1, math.ceil(duration_ms)) if duration_ms > 0 else 0


@dataclass(frozen=True)
class InitReport:
    """The figures of a cold start's ``Init Report`` line, as the parent measured them:
    ``runtime_ms`` from starting the interpreter to the bootstrap's ready frame (the
    cloud's InitRuntime), ``function_ms`` the handler module's import (InitFunction),
    ``memory_mb`` the instance's memory when the import was done. Nothing is pulled, so
    PullCode is 0."""

    runtime_ms: float
    function_ms: float
    memory_mb: float

    def fields(self) -> dict:
        runtime, function = whole_ms(self.runtime_ms), whole_ms(self.function_ms)
        return {"pull_code_ms": 0, "init_runtime_ms": runtime, "init_function_ms": function,
                "coldstart_ms": runtime + function, "memory_mb": self.memory_mb}


def _lines(text: str) -> str:
    return text if not text or text.endswith("\n") else text + "\n"


def function_log(request_id: str, output: str, *, ret_msg: Optional[str],
                 error_result: Optional[str], traceback: str, duration_ms: float,
                 memory_limit_mb: int, memory_mb: float, form: LogFormat = LOG_FORMAT,
                 init_output: str = "", init: Optional[InitReport] = None) -> str:
    """The function log as the cloud writes it: START, what the import wrote
    (``init_output``), the ``Init Report`` of a cold start (``init``; None when the import
    did not complete, or on a warm start), the handler's ``output``, then an ERROR line
    (after the traceback) when ``error_result`` is given, else the Response; END, Report."""
    text = form.start.format(request_id=request_id) + "\n"
    if form.event is not None:
        text += form.event.format(request_id=request_id) + "\n"
    text += _lines(init_output)
    if init is not None:
        text += form.init_report.format(request_id=request_id, memory_limit_mb=memory_limit_mb,
                                        **init.fields()) + "\n"
    text += _lines(output)
    if error_result is not None:
        if traceback:
            text += traceback.rstrip("\n") + "\n"
        text += form.error.format(request_id=request_id, result=error_result) + "\n"
    else:
        text += form.response.format(request_id=request_id, ret_msg=ret_msg) + "\n"
    text += form.end.format(request_id=request_id) + "\n"
    text += form.report.format(request_id=request_id, duration_ms=whole_ms(duration_ms),
                               memory_limit_mb=memory_limit_mb, memory_mb=memory_mb) + "\n"
    return text
