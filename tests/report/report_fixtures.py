"""Outcomes the report tests share: one of every verdict, built directly from the model.

Imported by tests/report/test_*.py; holds no tests itself.
"""

from __future__ import annotations

from pathlib import Path

from scftest.model import Case, FunctionSpec, Mark, SourceMap, SuiteProblem, SuiteWarning
from scftest.check.outcome import CaseOutcome, Kind, Mismatch, Verdict
from scftest.instance.record import ErrorInfo, InvocationRecord

REPO = Path(__file__).resolve().parents[2]
ORDERS = Path("suites/orders.yaml")
USERS = Path("suites/users v1.2.yaml")

# 30 lines, with a NUL, an ANSI colour sequence and a bell, as a handler may print them.
NOISY_LOG = "\n".join(
    ["START RequestId: req-2"]
    + [f"processing item {i}" for i in range(1, 28)]
    + ["\x1b[31mboom\x1b[0m \x00 nul and \x07 bell", "END RequestId: req-2"]
)


def make_case(suite, name, file, index, **kw):
    source = SourceMap(file, {("cases", index): Mark(10 + 8 * index, 5)})
    function = FunctionSpec(
        code=Path("functions/orders"), handler="index.main_handler", runtime=kw.pop("runtime", "Python3.6")
    )
    return Case(suite=suite, name=name, source=source, path=("cases", index), function=function, **kw)


def make_record(**kw):
    data = dict(
        request_id="req-1",
        invocation="sync",
        runtime="Python3.6",
        interpreter="/usr/bin/python3.6",
        interpreter_version="3.6.15",
        status="success",
        status_code=200,
        ret_msg='"Hello World"',
        log="START RequestId: req-1\nReceived event\nEND RequestId: req-1\n",
        duration_ms=12.5,
        billed_duration_ms=13,
        max_memory_mb=20.25,
        exit_code=0,
        isolation="namespace",
    )
    data.update(kw)
    return InvocationRecord(**data)


def passed():
    case = make_case("orders API", "returns greeting", ORDERS, 0, tags=("smoke",))
    return CaseOutcome(case, Verdict.PASSED, record=make_record(return_value="Hello World"), elapsed_s=0.031)


def failed():
    case = make_case("orders API", "api gateway request", ORDERS, 1)
    mismatch = Mismatch(
        root="body", path=("id",), message="values differ", kind=Kind.VALUE, expected=42, actual=43, line=21
    )
    log_mismatch = Mismatch(root="log[0]", message="not found in the log", kind=Kind.LOG, expected="Received event",
                            line=24)
    record = make_record(
        request_id="req-2",
        return_value={"statusCode": 200, "body": '{"id": 43}'},
        ret_msg='{"statusCode": 200, "body": "{\\"id\\": 43}"}',
        log=NOISY_LOG,
    )
    return CaseOutcome(
        case,
        Verdict.FAILED,
        summary="2 expectations did not hold",
        mismatches=(mismatch, log_mismatch),
        record=record,
        elapsed_s=0.25,
    )


def raised():
    case = make_case("orders API", "fire and forget", ORDERS, 2, invocation="async")
    traceback = (
        "Traceback (most recent call last):\n"
        '  File "index.py", line 7, in main_handler\n'
        "    raise KeyError('id')\n"
        "KeyError: 'id'"
    )
    record = make_record(
        request_id="req-3",
        invocation="async",
        status="error",
        status_code=430,
        ret_msg=None,
        error=ErrorInfo("KeyError", "builtins.KeyError", "'id'", traceback),
        log="START RequestId: req-3\n" + traceback + "\nEND RequestId: req-3\n",
        exit_code=0,
    )
    return CaseOutcome(case, Verdict.FAILED, summary="unexpected KeyError: 'id'", record=record, elapsed_s=0.12)


def errored():
    case = make_case("orders API", "slow path [Python2.7]", ORDERS, 3, runtime="Python2.7", params={"runtime": "Python2.7"})
    return CaseOutcome(
        case,
        Verdict.ERROR,
        summary="no interpreter for Python2.7",
        details="looked for python2.7 on PATH; install it or pass --runtime-fallback",
        elapsed_s=0.0,
    )


def skipped():
    case = make_case("users v1.2", "login ok", USERS, 0, skip="waiting for the auth mock")
    return CaseOutcome(case, Verdict.SKIPPED, summary="waiting for the auth mock")


def xfailed():
    case = make_case("users v1.2", "login locked", USERS, 1, xfail="bug 12")
    mismatch = Mismatch(root="status", message="status differs", kind=Kind.STATUS, expected="error", actual="success",
                        line=30)
    return CaseOutcome(
        case, Verdict.XFAILED, summary="expected failure: bug 12", mismatches=(mismatch,), record=make_record(), elapsed_s=0.05
    )


def xpassed():
    case = make_case("users v1.2", "订单 unicode", USERS, 2, xfail="bug 13")
    return CaseOutcome(case, Verdict.XPASSED, record=make_record(request_id="req-7"), elapsed_s=0.07)


def all_outcomes():
    return [passed(), failed(), raised(), errored(), skipped(), xfailed(), xpassed()]


def problems():
    return [
        SuiteProblem(Path("suites/broken.yaml"), 7, 3, "mapping values are not allowed here", "check the indentation"),
        SuiteProblem(ORDERS, 40, 9, "async cases never receive a return value", "use ret_msg instead"),
    ]


def warnings():
    return [
        SuiteWarning(ORDERS, 12, 22, "'张三' has no value", "to keep the comma in the text, quote it: msg: '你好, 张三'"),
        SuiteWarning(Path("suites/only warned.yaml"), 3, 9, "'b' has no value", "quote it: a: '1, b'"),
    ]
