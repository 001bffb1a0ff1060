"""From what the parent saw of the function's process to the invocation record.

``Observed`` is what a backend's watch of one invocation found (the bootstrap's result
frame, the times, why it stopped, the exit status, the memory peak); ``make_record``
turns it into the InvocationRecord: the ending (status, code, error or value) in SCF's
terms (scf/results.py), the framed log, the figures. The record holds the real values:
secrets are masked only after the case is judged (check/masking.py).
"""

from __future__ import annotations

import json
import signal
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

from scftest.instance import CANCELLED, InstanceSpec, InvocationRequest
from scftest.instance.channel import ChannelGarbled, Frame
from scftest.instance.logcapture import LogCapture
from scftest.instance.record import ErrorInfo, InvocationRecord
from scftest.model import UNSET
from scftest.scf import results
from scftest.scf.invocation import ASYNC
from scftest.scf.status import Code

MIB = 1024 * 1024
STARTUP_ALLOWANCE_S = 30.0  # interpreter start-up, before the bootstrap's ready frame


@dataclass
class Observed:
    """What the parent saw of the process."""

    result: Optional[Frame] = None
    spawned_at: Optional[float] = None  # the interpreter is started
    ready_at: Optional[float] = None  # the bootstrap is ready: the import starts
    loaded_at: Optional[float] = None  # the handler module is imported
    called_at: Optional[float] = None  # the call starts (its go byte was sent)
    ended_at: Optional[float] = None
    stop: Optional[str] = None  # timeout | init_timeout | memory | cancelled | startup | garbled
    garbled: str = ""
    returncode: Optional[int] = None
    tree_peak: int = 0  # bytes, the process tree's highest RSS seen by the poll
    leftovers: List[int] = field(default_factory=list)
    init_log: Optional[LogCapture] = None  # what the import wrote, once it is done
    init_memory: int = 0  # bytes, the instance's memory when the import was done
    cold: bool = True  # this invocation started the instance (imported the module)


@dataclass
class Ending:
    """How the invocation ended (code, error or value), before the record."""

    code: Code
    error: Optional[ErrorInfo] = None
    ret_msg: Optional[str] = None
    value: Any = UNSET


def is_async(request: InvocationRequest) -> bool:
    return request.invocation == ASYNC


def signal_name(returncode: Optional[int]) -> Optional[str]:
    if returncode is None or returncode >= 0:
        return None
    try:
        return signal.Signals(-returncode).name
    except ValueError:
        return f"signal {-returncode}"


def _platform_error(kind: str, message: str) -> ErrorInfo:
    return ErrorInfo(type=kind, qualified_type=results.PLATFORM_PREFIX + kind, message=message)


def _crash_message(observed: Observed) -> str:
    if observed.stop == "garbled":
        return (f"the result channel between scftest and the function's process was "
                f"garbled ({observed.garbled}); the process was killed")
    if observed.stop == "startup":
        return f"the interpreter did not start the bootstrap within {STARTUP_ALLOWANCE_S:g} s"
    code = observed.returncode
    how = (f"was killed by {signal_name(code)}" if code is not None and code < 0
           else f"exited with code {code}")
    if observed.ready_at is None:
        return f"the function's process {how} before loading the handler (see the log)"
    if code == 70:
        return f"the function's process {how}: the handler closed the result channel"
    return f"the function's process {how} while running (os._exit, sys.exit or a fatal signal)"


def _from_result(spec: InstanceSpec, request: InvocationRequest, fields: Dict[str, str]) -> Ending:
    code = results.OUTCOME_CODES.get(fields.get("outcome", ""))
    error = None
    if "error_type" in fields:
        mro = fields.get("error_mro", "")
        error = ErrorInfo(fields["error_type"], fields.get("error_qualified", ""),
                          fields.get("error_message", ""), fields.get("traceback", ""),
                          mro=tuple(mro.split("\n")) if mro else ())
    if code is Code.SUCCESS and "ret_msg" in fields:
        ret_msg = fields["ret_msg"]
        if is_async(request):
            return Ending(code, ret_msg=ret_msg)
        return Ending(code, ret_msg=ret_msg, value=json.loads(ret_msg))
    if code is Code.MEMORY_EXCEEDED:
        return Ending(code, error=_platform_error(
            results.MEMORY_ERROR, results.memory_message(spec.memory_mb) + " (MemoryError)"))
    if code is not None and code is not Code.SUCCESS and error is not None:
        return Ending(code, error=error)
    raise ChannelGarbled(f"a result frame without a usable outcome ({fields.get('outcome', '')!r})")


def ending(spec: InstanceSpec, request: InvocationRequest, observed: Observed) -> Ending:
    stop = observed.stop
    if stop == "timeout":
        return Ending(Code.TIMEOUT, error=_platform_error(
            results.TIMEOUT_ERROR, results.timeout_message(spec.timeout_s)))
    if stop == "init_timeout":
        return Ending(Code.INIT_TIMEOUT, error=_platform_error(
            results.INIT_TIMEOUT_ERROR, results.init_timeout_message(spec.init_timeout_s)))
    if stop == "memory":
        return Ending(Code.MEMORY_EXCEEDED, error=_platform_error(
            results.MEMORY_ERROR, results.memory_message(spec.memory_mb)))
    if stop == "cancelled":
        return Ending(Code.PROCESS_EXITED, error=ErrorInfo(
            CANCELLED, f"scftest.{CANCELLED}", "scftest stopped the invocation (interrupted)"))
    if observed.result is not None and stop is None:
        try:
            return _from_result(spec, request, observed.result.fields)
        except (ChannelGarbled, ValueError, RecursionError) as exc:  # RetMsg JSON nested past the limit
            observed.stop, observed.garbled = "garbled", str(exc)
    return Ending(Code.PROCESS_EXITED,
                  error=_platform_error(results.EXIT_ERROR, _crash_message(observed)))


def _span_ms(start: Optional[float], end: Optional[float]) -> float:
    if start is None:
        return 0.0
    return max(0.0, (end or start) - start) * 1000.0


def _duration_ms(observed: Observed) -> float:
    """As the parent timed it, never as the function said: the handler call, from its go
    byte to the result (or to the end: a timeout, a crash); 0 when the call never started
    (the import failed or ran out of time). SCF's Duration covers the call only."""
    return _span_ms(observed.called_at, observed.ended_at)


def _init_ms(observed: Observed) -> float:
    """The initialization phase as the parent timed it: from the bootstrap's ready frame
    to its "loaded" frame, or to the end when the import did not complete."""
    return _span_ms(observed.ready_at, observed.loaded_at or observed.ended_at)


def _init_report(observed: Observed) -> Optional[results.InitReport]:
    """The Init Report of a cold start whose import completed (a warm start has none)."""
    if observed.loaded_at is None or not observed.cold:
        return None
    return results.InitReport(runtime_ms=_span_ms(observed.spawned_at, observed.ready_at),
                              function_ms=_init_ms(observed),
                              memory_mb=observed.init_memory / MIB)


def _memory_mb(observed: Observed) -> float:
    """The instance's peak as the parent measured it (sandbox.CaseProcesses)."""
    return round(observed.tree_peak / MIB, 3)


def _error_result(spec: InstanceSpec, request: InvocationRequest, code: Code,
                  error: Optional[ErrorInfo]) -> Optional[str]:
    if error is None:
        return None
    # 434's message is the platform's own, whatever ended the function (the poll, or an
    # allocation past the address-space net).
    message = results.memory_message(spec.memory_mb) if code is Code.MEMORY_EXCEEDED else error.message
    return results.error_result(code, request_id=request.request_id, error_type=error.type,
                                message=message, traceback=error.traceback)


def refusal(spec: InstanceSpec, request: InvocationRequest) -> Optional[InvocationRecord]:
    """The record of a request the platform refuses before running anything (406: the
    event is over the size limit of its invocation type), or None when it may run.

    The size is the event's JSON as a caller would send it: UTF-8, no spaces between the
    items (what ``json.dumps(event, separators=(",", ":"), ensure_ascii=False)`` writes).
    No process is started and no function log is written, as in the cloud."""
    asynchronous = is_async(request)
    limit = spec.profile.limits.event_bytes(asynchronous)
    size = event_size(request.event)
    if size <= limit:
        return None
    message = results.request_too_large_message(size, limit, asynchronous)
    error = _platform_error(results.REQUEST_TOO_LARGE_ERROR, message)
    return InvocationRecord(
        **_invocation_fields(spec, request),
        status=Code.REQUEST_TOO_LARGE.status,
        status_code=Code.REQUEST_TOO_LARGE.number,
        error=error,
        error_result=_error_result(spec, request, Code.REQUEST_TOO_LARGE, error),
    )


def _invocation_fields(spec: InstanceSpec, request: InvocationRequest) -> Dict[str, Any]:
    """The record's fields that name the invocation and what ran it."""
    return dict(request_id=request.request_id, invocation=request.invocation, runtime=spec.runtime,
                interpreter=spec.interpreter.path, interpreter_version=spec.interpreter.version,
                runtime_fallback=spec.interpreter.fallback)


def event_size(event: Any) -> int:
    """Bytes of ``event`` as compact UTF-8 JSON (a lone surrogate counts as its 3 bytes)."""
    text = json.dumps(event, ensure_ascii=False, separators=(",", ":"))
    try:
        return len(text.encode("utf-8"))
    except UnicodeEncodeError:  # the error handler is slow: only for the text that needs it
        return len(text.encode("utf-8", "surrogatepass"))


def make_record(spec: InstanceSpec, request: InvocationRequest, observed: Observed,
                log: LogCapture, isolation: str = "process", start: str = "spawn") -> InvocationRecord:
    end = ending(spec, request, observed)
    duration = _duration_ms(observed)
    memory = _memory_mb(observed)
    init_output, init_cut = observed.init_log.text() if observed.init_log else ("", 0)
    output, cut = log.text()
    if observed.leftovers:
        output += (f"[scftest: could not kill processes {observed.leftovers} "
                   f"the function started]\n")
    error, ret_msg = end.error, end.ret_msg
    result = _error_result(spec, request, end.code, error)
    text = results.function_log(
        request.request_id, output, ret_msg=ret_msg, error_result=result,
        traceback=error.traceback if error is not None else "",
        duration_ms=duration, memory_limit_mb=spec.memory_mb, memory_mb=observed.tree_peak / MIB,
        form=spec.profile.log, init_output=init_output, init=_init_report(observed))
    code = observed.returncode
    if observed.result is not None and code == -signal.SIGKILL:
        code = 0  # it answered, then scftest ended the lingering (warm) process
    return InvocationRecord(
        **_invocation_fields(spec, request),
        status=end.code.status,
        status_code=end.code.number,
        return_value=end.value,
        ret_msg=ret_msg,
        error=error,
        error_result=result,
        log=text,
        duration_ms=round(duration, 3),
        # From the figure the record shows: 17.0001 ms is shown as 17.0 and billed 17, not 18.
        billed_duration_ms=results.billed_ms(round(duration, 3)),
        max_memory_mb=memory,
        exit_code=code if code is not None and code >= 0 else None,
        signal=signal_name(code),
        log_truncated_bytes=cut + init_cut,
        isolation=isolation,
        start=start,
        imports=imports_of(observed),
        cold_start=observed.cold,
        init_ms=round(_init_ms(observed), 3) if observed.cold else 0.0,
    )


ORIGINS = ("code", "layer", "image", "stdlib", "other")
MAX_IMPORTS = 5000


def imports_of(observed: Observed) -> Tuple[Tuple[str, str], ...]:
    """The result frame's "imports" lines as (module, origin) pairs; what does not read as
    one (the handler can reach sys.modules, never the frame) is left out."""
    text = observed.result.fields.get("imports", "") if observed.result is not None else ""
    pairs = []
    for line in text.splitlines()[:MAX_IMPORTS]:
        name, _, origin = line.partition(" ")
        if name.isidentifier() and origin in ORIGINS:
            pairs.append((name, origin))
    return tuple(pairs)
