"""check / judge, and render.format_mismatch: every key of ``expect``, and the words a person reads.

The rules of value comparison (lists, matchers, return_includes pairing, ignore paths) are
tested in test_compare.py; here, that return, return_includes and ignore reach them and
that each mismatch carries its suite line."""

from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest

from scftest.check import judge as judging
from scftest.check.judge import judge
from scftest.check.outcome import Kind, Mismatch, Verdict
from scftest.instance.record import ErrorInfo, InvocationRecord
from scftest.matchers import Matcher, build_matcher
from scftest.model import UNSET, Case, Expectation, FunctionSpec, LogExpectation, Mark, SourceMap
from scftest.render import format_mismatch, format_mismatches, sides, where

EXPECT = ("cases", 0, "expect")
FUNCTION = FunctionSpec(code=Path("functions/orders"), handler="index.main_handler")


def m(tag, value=""):
    return build_matcher(tag, value)


def source(**lines):
    """Marks for the case (line 3), its expect (line 5) and the given expectation paths."""
    marks = {("cases", 0): Mark(3, 5), EXPECT: Mark(5, 5)}
    for dotted, line in lines.items():
        parts = tuple(int(p) if p.isdigit() else p for p in dotted.split("__"))
        marks[EXPECT + parts] = Mark(line, 9)
    return SourceMap(Path("suite.yaml"), marks)


def case(invocation="sync", xfail=None, marks=None, **expect):
    log = tuple(LogExpectation(kind, pattern, EXPECT + ("log", i))
                for i, (kind, pattern) in enumerate(expect.pop("log", ())))
    return Case(suite="orders", name="a case", source=marks or source(), path=("cases", 0),
                function=FUNCTION, invocation=invocation, xfail=xfail,
                expect=Expectation(owner=("cases", 0), log=log, **expect))


def record(status="success", **fields):
    codes = {"success": 200, "error": 430, "timeout": 433, "memory_exceeded": 434, "crash": 439}
    fields.setdefault("return_value", None if status == "success" else UNSET)
    return InvocationRecord(request_id="req-1", invocation="sync", runtime="Python3.6",
                            interpreter="/usr/bin/python3.6", interpreter_version="3.6.15",
                            status=status, status_code=codes[status], **fields)


BOOM = ErrorInfo(type="ValueError", qualified_type="builtins.ValueError", message='missing "id"',
                 traceback='Traceback (most recent call last):\n  File "index.py", line 4, in main_handler\n'
                           '    raise ValueError(\'missing "id"\')\nValueError: missing "id"')
NOT_FOUND = ErrorInfo(type="NotFound", qualified_type="myapp.errors.NotFound", message="order 42")


def failed(**fields):
    return record("error", error=BOOM, ret_msg='{"errorCode": -1}', **fields)


def shown(mismatch, record=None):
    """A mismatch as a report shows it: its place and its sides as text; the values kept."""
    expected, actual = sides(mismatch, record)
    return SimpleNamespace(path=where(mismatch), message=mismatch.message, expected=expected, actual=actual,
                           line=mismatch.line, mismatch=mismatch, record=record)


def check(case, record):
    """``check``'s mismatches, each as ``shown`` makes it."""
    return tuple(shown(x, record) for x in judging.check(case, record))


def texts(mismatches, record=None):
    """The blocks a report prints; ``record`` for an outcome's raw mismatches."""
    return [format_mismatch(x.mismatch, x.record) if isinstance(x, SimpleNamespace) else format_mismatch(x, record)
            for x in mismatches]


# --- return ------------------------------------------------------------------------------


def test_return_value_differs_word_for_word():
    marks = source(return__body__items__1__id=42)
    expected = {"body": {"items": [{"id": 1}, {"id": 2}]}}
    got = check(case(marks=marks, return_=expected), record(return_value={"body": {"items": [{"id": 1}, {"id": 3}]}}))
    assert texts(got) == ["return.body.items[1].id (suite line 42): values differ\n"
                          "  expected: 2\n"
                          "  actual:   3"]


def test_return_reports_every_difference_not_only_the_first():
    marks = source(**{"return": 6, "return__a": 7, "return__b": 8})
    got = check(case(marks=marks, return_={"a": 1, "b": "x", "c": [1]}), record(return_value={"a": 2, "b": 3, "d": 0}))
    assert [(x.path, x.message, x.expected, x.actual, x.line) for x in got] == [
        ("return.a", "values differ", "1", "2", 7),
        ("return.b", "expected a string, got an int", '"x"', "3", 8),
        ("return.c", "key is missing", "[1]", "(missing)", 6),
        ("return.d", "unexpected key", "(absent)", "0", 6),
    ]


def test_top_level_matcher():
    assert check(case(return_=m("!type", "dict")), record(return_value={"a": 1})) == ()
    got = check(case(return_=m("!regex", "^Hello")), record(return_value="Bye"))
    assert texts(got) == ["return (suite line 5): the pattern '^Hello' is not found in the string\n"
                          "  expected: !regex '^Hello'\n"
                          '  actual:   "Bye"']


def test_json_matcher_descends_into_the_body():
    marks = source(return__body__id=12)
    expected = {"statusCode": 200, "body": m("!json", {"id": 42, "tags": [m("!any"), "b"]})}
    actual = {"statusCode": 200, "body": '{"id": 43, "tags": [1, "c"]}'}
    got = check(case(marks=marks, return_=expected), record(return_value=actual))
    assert texts(got) == [
        "return.body.id (suite line 12): values differ\n  expected: 42\n  actual:   43",
        'return.body.tags[1] (suite line 5): values differ\n  expected: "b"\n  actual:   "c"',
    ]


# --- return_includes ---------------------------------------------------------------------


def test_includes_shows_the_closest_item_and_the_expected_line():
    marks = source(return_includes__items__1__name=20)
    expected = {"items": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    actual = {"items": [{"id": 2, "name": "c", "extra": True}, {"id": 1, "name": "a"}, 7]}
    got = check(case(marks=marks, return_includes=expected), record(return_value=actual))
    assert texts(got) == ['return.items[0].name (suite line 20): values differ (closest item to expected item [1])\n'
                          '  expected: "b"\n'
                          '  actual:   "c"']


# --- ignore ------------------------------------------------------------------------------


def test_ignore_applies_inside_json_and_includes():
    expected = {"body": m("!json", {"id": 1, "at": "then"})}
    actual = {"body": '{"id": 1, "at": "now"}'}
    assert check(case(return_includes=expected, ignore=("body.at",)), record(return_value=actual)) == ()
    assert check(case(return_=expected, ignore=("body.at",)), record(return_value=actual)) == ()


def test_ignore_path_copied_from_a_report():
    got = check(case(return_={"body": {"id": 1}}), record(return_value={"body": {"id": 2}}))
    assert got[0].path == "return.body.id"
    assert check(case(return_={"body": {"id": 1}}, ignore=(got[0].path,)), record(return_value={"body": {"id": 2}})) == ()


def test_a_bad_ignore_path_is_reported_not_raised():
    got = check(case(return_={"a": 1}, ignore=("a..b",)), record(return_value={"a": 1}))
    assert [x.path for x in got] == ["ignore[0]"]
    assert "cannot be read at character 3" in got[0].message


# --- return_schema -----------------------------------------------------------------------


SCHEMA = {"type": "object", "required": ["id"],
          "properties": {"id": {"type": "integer"}, "email": {"type": "string", "format": "email"},
                         "tags": {"type": "array", "items": {"type": "string"}}}}


def test_schema_passes():
    assert check(case(return_schema=SCHEMA), record(return_value={"id": 1, "tags": ["a"]})) == ()


def test_schema_failures_have_paths_and_schema_lines():
    marks = source(return_schema__properties__tags__items__type=30)
    got = check(case(marks=marks, return_schema=SCHEMA), record(return_value={"tags": ["a", 2]}))
    assert texts(got) == [
        "return (suite line 5): schema: 'id' is a required property\n"
        '  expected: required: ["id"]\n'
        '  actual:   {"tags": ["a", 2]}',
        "return.tags[1] (suite line 30): schema: 2 is not of type 'string'\n"
        '  expected: type: "string"\n'
        "  actual:   2",
    ]


def test_schema_checks_formats_and_draft_2020_12():
    got = check(case(return_schema=SCHEMA), record(return_value={"id": 1, "email": "not an email"}))
    assert [x.path for x in got] == ["return.email"]
    prefix = {"type": "array", "prefixItems": [{"type": "integer"}], "items": False}
    assert check(case(return_schema=prefix), record(return_value=[1])) == ()
    assert len(check(case(return_schema=prefix), record(return_value=[1, 2]))) == 1


def test_invalid_schema_is_explained():
    got = check(case(return_schema={"type": "integr"}), record(return_value=1))
    assert len(got) == 1 and got[0].path == "return_schema"
    assert got[0].message.startswith("not a valid JSON Schema: ")


# --- ret_msg -----------------------------------------------------------------------------


def test_ret_msg_plain_and_matchers():
    r = record(return_value={"queued": True}, ret_msg='{"queued": true}')
    assert check(case(ret_msg='{"queued": true}'), r) == ()
    assert check(case(ret_msg=m("!regex", '"queued": true')), r) == ()
    assert check(case(ret_msg=m("!json", {"queued": True})), r) == ()
    got = check(case(ret_msg='{"queued": false}'), r)
    assert texts(got) == ['ret_msg (suite line 5): values differ\n'
                          '  expected: "{\\"queued\\": false}"\n'
                          '  actual:   "{\\"queued\\": true}"']
    got = check(case(ret_msg=m("!json", {"queued": False})), r)
    assert [(x.path, x.expected, x.actual) for x in got] == [("ret_msg.queued", "false", "true")]


def test_ret_msg_written_as_the_value_gets_a_hint():
    got = check(case(ret_msg="Hello World"), record(return_value="Hello World", ret_msg='"Hello World"'))
    assert texts(got) == ['ret_msg (suite line 5): values differ (ret_msg is JSON text: write '
                          'ret_msg: \'"Hello World"\', or use !json)\n'
                          '  expected: "Hello World"\n'
                          '  actual:   "\\"Hello World\\""']
    got = check(case(ret_msg=42), record(return_value=42, ret_msg="42"))
    assert got[0].message == "expected an int, got a string (ret_msg is JSON text: write ret_msg: '42', or use !json)"


def test_ret_msg_on_async_and_missing():
    r = record(return_value=UNSET, ret_msg="ok")
    assert check(case(invocation="async", ret_msg="ok"), r) == ()
    got = check(case(ret_msg="ok"), record(ret_msg=None))
    assert [(x.path, x.message) for x in got] == [("ret_msg", "no ret_msg was recorded")]


# --- error and status --------------------------------------------------------------------


def test_error_true_holds_for_any_exception():
    assert check(case(error=True), failed()) == ()


def test_error_type_short_qualified_or_dotted_tail():
    for name in ("NotFound", "myapp.errors.NotFound", "errors.NotFound"):
        assert check(case(error={"type": name}), record("error", error=NOT_FOUND)) == ()
    got = check(case(error={"type": "Found"}), record("error", error=NOT_FOUND))
    assert texts(got) == ["error.type (suite line 5): the exception is of another type\n"
                          "  expected: Found\n"
                          "  actual:   NotFound (myapp.errors.NotFound)"]
    assert judge(case(error={"type": "Found"}), record("error", error=NOT_FOUND)).summary == \
        "expected Found, got NotFound: order 42"


MODULE_NOT_FOUND = ErrorInfo(type="ModuleNotFoundError", qualified_type="builtins.ModuleNotFoundError",
                             message="No module named 'requests'",
                             mro=("builtins.ModuleNotFoundError", "builtins.ImportError", "builtins.Exception",
                                  "builtins.BaseException"))
PY2_NOT_FOUND = ErrorInfo(type="NotFound", qualified_type="index.NotFound", message="order 42",
                          mro=("index.NotFound", "index.OrderError", "exceptions.LookupError",
                               "exceptions.StandardError", "exceptions.Exception", "exceptions.BaseException"))


def test_error_type_holds_for_a_base_class_as_pytest_raises_does():
    for name in ("ImportError", "builtins.ImportError", "Exception", "BaseException", "ModuleNotFoundError"):
        assert check(case(error={"type": name}), record("error", error=MODULE_NOT_FOUND)) == (), name
    for name in ("OrderError", "index.OrderError", "LookupError", "builtins.LookupError",
                 "exceptions.LookupError", "StandardError"):
        assert check(case(error={"type": name}), record("error", error=PY2_NOT_FOUND)) == (), name
    # Not a base: a sibling, a subclass, a name that only ends the same way.
    for name in ("KeyError", "ModuleNotFoundError", "Error", "rror", "errors.OrderError"):
        got = check(case(error={"type": name}), record("error", error=PY2_NOT_FOUND))
        assert [m.message for m in got] == ["the exception is of another type"], name
        assert got[0].mismatch.actual["mro"] == list(PY2_NOT_FOUND.mro)


def test_error_type_spells_builtins_alike_on_python_2_and_3():
    py2 = ErrorInfo(type="ValueError", qualified_type="exceptions.ValueError", message="x",
                    mro=("exceptions.ValueError", "exceptions.StandardError", "exceptions.Exception",
                         "exceptions.BaseException"))
    for name in ("builtins.ValueError", "exceptions.ValueError", "ValueError", "builtins.Exception"):
        assert check(case(error={"type": name}), record("error", error=py2)) == (), name
        py3 = ErrorInfo(type="ValueError", qualified_type="builtins.ValueError", message="x",
                        mro=("builtins.ValueError", "builtins.Exception", "builtins.BaseException"))
        assert check(case(error={"type": name}), record("error", error=py3)) == (), name


def test_error_type_without_a_class_chain_still_matches_the_class_itself():
    """A platform condition (scf.Timeout) or an older record carries no MRO."""
    assert check(case(error={"type": "NotFound"}), record("error", error=NOT_FOUND)) == ()
    assert check(case(error={"type": "Exception"}), record("error", error=NOT_FOUND)) != ()


def test_status_code_is_finer_than_the_status():
    not_found = ErrorInfo(type="AttributeError", qualified_type="builtins.AttributeError",
                          message="module 'index' has no attribute 'nofunc'")
    load_failure = replace(record("error", error=not_found), status_code=437)
    assert check(case(status_code=437), load_failure) == ()
    marks = source(status_code=6)
    got = check(case(marks=marks, status_code=443), load_failure)
    assert texts(got) == ["status_code (suite line 6): expected status code 443 (user code failed while loading), "
                          "got 437 (handler not found): AttributeError: module 'index' has no attribute 'nofunc'\n"
                          "  expected: 443 (user code failed while loading)\n"
                          "  actual:   437 (handler not found): AttributeError: module 'index' has no attribute "
                          "'nofunc'"]
    assert (got[0].mismatch.expected, got[0].mismatch.actual) == (443, 437)
    outcome = judge(case(status_code=443), load_failure)
    assert outcome.summary == ("expected status code 443 (user code failed while loading), got 437 (handler not "
                               "found): AttributeError: module 'index' has no attribute 'nofunc'")


def test_status_code_of_a_success_and_of_a_timeout():
    assert check(case(status_code=200), record(return_value=1)) == ()
    got = check(case(status_code=433), record(return_value=1))
    assert [m.message for m in got] == ["expected status code 433 (time limit reached), got 200 (success)"]
    assert check(case(status_code=433), record("timeout", error=ErrorInfo("Timeout", "scf.Timeout", "x"))) == ()


def test_error_message_and_traceback_are_searched_regexes():
    assert check(case(error={"type": "ValueError", "message": '^missing "id"', "traceback": r"line \d+"}),
                 failed()) == ()
    marks = source(error__message=9, error__traceback=10)
    got = check(case(marks=marks, error={"message": "^id", "traceback": "KeyError"}), failed())
    assert texts(got) == [
        "error.message (suite line 9): the pattern is not found in the exception message\n"
        "  expected: regex '^id'\n"
        '  actual:   "missing \\"id\\""',
        "error.traceback (suite line 10): the pattern is not found in the exception traceback\n"
        "  expected: regex 'KeyError'\n"
        '  actual:   "ValueError: missing \\"id\\""',
    ]


def test_error_expected_but_the_function_returned():
    marks = source(error=7)
    got = check(case(marks=marks, error={"type": "ValueError"}), record(return_value={"ok": True}))
    assert texts(got) == ["error (suite line 7): expected error, got success\n"
                          "  expected: error\n"
                          '  actual:   success, returned {"ok": true}']


def test_unexpected_exception_shows_type_message_and_traceback_not_a_value_diff():
    outcome = judge(case(return_={"id": 1}, ret_msg="x"), failed())
    assert outcome.verdict is Verdict.FAILED
    assert outcome.summary == 'expected success, got error: ValueError: missing "id"'
    assert texts(outcome.mismatches, outcome.record) == [
        'status (suite line 5): expected success, got error: ValueError: missing "id"\n'
        "  expected: success\n"
        '  actual:   error: ValueError: missing "id"\n'
        "            Traceback (most recent call last):\n"
        '              File "index.py", line 4, in main_handler\n'
        "                raise ValueError('missing \"id\"')\n"
        '            ValueError: missing "id"']


def test_timeout_summary():
    r = record("timeout", ret_msg="Invoking task timed out after 3 seconds", duration_ms=3001.0)
    outcome = judge(case(), r)
    assert outcome.summary == "expected success, got timeout: Invoking task timed out after 3 seconds"
    assert check(case(status="timeout"), r) == ()


def test_platform_conditions_read_without_their_type_name():
    timeout = ErrorInfo(type="Timeout", qualified_type="scf.Timeout",
                        message="Invoking task timed out after 3 seconds")
    outcome = judge(case(), record("timeout", error=timeout))
    assert outcome.summary == "expected success, got timeout: Invoking task timed out after 3 seconds"
    assert texts(outcome.mismatches, outcome.record) == [
        "status (suite line 5): expected success, got timeout: Invoking task timed out after 3 seconds\n"
        "  expected: success\n"
        "  actual:   timeout: Invoking task timed out after 3 seconds"]


def test_status_words():
    crash = record("crash", exit_code=3)
    assert check(case(status="crash"), crash) == ()
    marks = source(status=8)
    got = check(case(marks=marks, status="success"), crash)
    assert texts(got) == ["status (suite line 8): expected success, got crash: the process exited with code 3\n"
                          "  expected: success\n"
                          "  actual:   crash: the process exited with code 3"]
    killed = record("memory_exceeded", signal="SIGKILL")
    assert judge(case(status="timeout"), killed).summary == \
        "expected timeout, got memory_exceeded: the process was killed by SIGKILL"


def test_status_error_with_return_reports_the_missing_value():
    got = check(case(status="error", return_=1, return_includes=1), failed())
    assert [(x.path, x.message) for x in got] == [("return", "the invocation returned no value (status error)")]


# --- log ---------------------------------------------------------------------------------

LOG = ("START RequestId: req-1\nReceived event: {}\norder 42 queued\n"
       "password=hunter2 sent to db\nEND RequestId: req-1\n")


def test_log_entries_hold():
    r = record(log=LOG)
    entries = [("contains", "Received event"), ("regex", r"^order \d+ queued$"),
               ("absent", "secret"), ("absent_regex", r"token=\w+")]
    assert check(case(log=entries), r) == ()


def test_log_entries_fail_word_for_word():
    marks = SourceMap(Path("suite.yaml"), {EXPECT: Mark(5, 5), EXPECT + ("log", 0): Mark(6, 9),
                                           EXPECT + ("log", 1): Mark(7, 9), EXPECT + ("log", 2): Mark(8, 9),
                                           EXPECT + ("log", 3): Mark(9, 9)})
    entries = [("contains", "Received events"), ("regex", r"order [a-z]+ queued"),
               ("absent", "password"), ("absent_regex", r"hunter\d")]
    got = check(case(marks=marks, log=entries), record(log=LOG))
    assert texts(got) == [
        'log[0] (suite line 6): text not found in the log\n'
        '  expected: "Received events"\n'
        '  actual:   closest line: "Received event: {}"',
        'log[1] (suite line 7): pattern not found in the log\n'
        "  expected: regex 'order [a-z]+ queued'\n"
        '  actual:   closest line: "order 42 queued"',
        'log[2] (suite line 8): found in the log, but must be absent\n'
        '  expected: no "password"\n'
        '  actual:   "password=hunter2 sent to db"',
        'log[3] (suite line 9): found in the log, but must be absent\n'
        "  expected: no regex 'hunter\\d'\n"
        '  actual:   "password=hunter2 sent to db"',
    ]
    assert judge(case(log=entries[:1]), record(log=LOG)).summary == \
        'log[0]: text not found in the log: "Received events"'
    assert judge(case(log=[("absent_regex", r"hunter\d")]), record(log=LOG)).summary == \
        "log[0]: the log has regex 'hunter\\d', which must be absent"
    got = check(case(log=[("regex", "zzz")]), record(log=LOG))
    assert got[0].actual == "(not in the 5 lines of the log)"


def test_log_pattern_written_as_a_number():
    assert check(case(log=[("contains", 42)]), record(log="order 42 queued")) == ()


def test_log_on_empty_log_and_bad_regex():
    got = check(case(log=[("contains", "x"), ("regex", "(")]), record(log=""))
    assert [(x.path, x.actual) for x in got] == [("log[0]", "(the log is empty)"), ("log[1]", "(not checked)")]


# --- budgets -----------------------------------------------------------------------------


def test_budgets():
    r = record(duration_ms=1520.4, max_memory_mb=130.0)
    assert check(case(duration_ms={"max": 2000}, memory_mb={"max": 256}), r) == ()
    marks = source(duration_ms__max=11)
    got = check(case(marks=marks, duration_ms={"max": 1000}, memory_mb={"max": 128}), r)
    assert texts(got) == [
        "duration_ms (suite line 11): took 1520.4 ms, over the budget of 1000 ms\n"
        "  expected: at most 1000 ms\n"
        "  actual:   1520.4 ms",
        "memory_mb (suite line 5): used 130 MB, over the budget of 128 MB\n"
        "  expected: at most 128 MB\n"
        "  actual:   130 MB",
    ]


def test_small_budgets_keep_their_digits():
    got = check(case(duration_ms={"max": 0.001}), record(duration_ms=0.083))
    assert got[0].message == "took 0.083 ms, over the budget of 0.001 ms"


def test_malformed_budget_is_explained():
    got = check(case(duration_ms={"min": 1}), record())
    assert [x.message for x in got] == ['the budget must be {max: N}, got {"min": 1}']


# --- async -------------------------------------------------------------------------------


def test_async_case_with_return_is_explained():
    got = check(case(invocation="async", return_=1), record(return_value=UNSET))
    assert [x.path for x in got] == ["return"]
    assert "async caller never receives the return value" in got[0].message


# --- judge -------------------------------------------------------------------------------


def test_judge_passed_and_failed():
    ok = judge(case(return_=1), record(return_value=1), elapsed_s=0.5)
    assert (ok.verdict, ok.summary, ok.mismatches, ok.elapsed_s) == (Verdict.PASSED, "", (), 0.5)
    bad = judge(case(return_={"a": 1, "b": 2}), record(return_value={"a": 0, "b": 0}))
    assert bad.verdict is Verdict.FAILED and bad.failed
    assert bad.summary == "return differs at a (+1 more)"
    assert judge(case(return_=1), record(return_value=2)).summary == "return differs"


def test_judge_xfail():
    xfailed = judge(case(return_=1, xfail="bug #12"), record(return_value=2))
    assert (xfailed.verdict, xfailed.summary) == (Verdict.XFAILED, "return differs (xfail: bug #12)")
    assert len(xfailed.mismatches) == 1
    xpassed = judge(case(return_=1, xfail="bug #12"), record(return_value=1))
    assert (xpassed.verdict, xpassed.summary) == (Verdict.XPASSED, "passed, but is marked xfail: bug #12")
    assert xpassed.failed


class _Broken(Matcher):
    tag = "!broken"

    def explain(self, actual):
        raise RuntimeError("matcher bug")

    def __repr__(self):
        return "!broken"


def test_a_checker_fault_is_an_error_verdict_not_a_crash():
    outcome = judge(case(return_=_Broken(), log=[("contains", "x")]), record(log="x"))
    assert outcome.verdict is Verdict.ERROR
    assert outcome.summary == "scftest could not check return: RuntimeError: matcher bug"
    assert "RuntimeError: matcher bug" in outcome.details
    assert check(case(return_=_Broken()), record())[-1].message == \
        "scftest could not check return (internal error: RuntimeError: matcher bug)"


class _Weird:
    def __eq__(self, other):
        raise TypeError("no")

    __hash__ = object.__hash__

    def __repr__(self):
        raise ValueError("no repr either")


@pytest.mark.parametrize("value", [_Weird(), {1, 2}, b"raw", float("nan"), {"k": _Weird()}, [_Weird()],
                                   {"nested": [{"deep": object()}]}])
def test_odd_return_values_never_raise(value):
    for expect in ({"return_": {"k": 1}}, {"return_": [1]}, {"return_includes": {"k": [1]}},
                   {"return_schema": {"type": "object"}}, {"return_": m("!json", {"a": 1})}):
        outcome = judge(case(**expect), record(return_value=value))
        assert outcome.verdict in (Verdict.FAILED, Verdict.PASSED)
        for mismatch in outcome.mismatches:
            format_mismatch(mismatch, outcome.record)


def test_a_record_with_missing_fields_never_raises():
    partial = SimpleNamespace(status="error")
    outcome = judge(case(error={"type": "X"}, log=[("contains", "y")], duration_ms={"max": 1}), partial)
    assert outcome.verdict is Verdict.FAILED
    assert [where(x) for x in outcome.mismatches] == ["error", "log[0]"]
    assert judge(case(), SimpleNamespace()).verdict in (Verdict.FAILED, Verdict.ERROR)


def test_many_mismatches_are_capped():
    got = check(case(return_={f"k{i}": i for i in range(80)}), record(return_value={}))
    assert len(got) == 51
    assert got[-1].mismatch == Mismatch(root="expect", message="30 more mismatches not shown")


# --- format_mismatch ---------------------------------------------------------------------


def test_format_mismatch_without_line_or_values():
    assert format_mismatch(Mismatch(root="expect", message="30 more mismatches not shown")) == \
        "expect: 30 more mismatches not shown"
    assert format_mismatch(Mismatch(root="x", message="m", kind=Kind.PART, expected=1, actual=2, line=3)) == \
        "x (suite line 3): m\n  expected: 1\n  actual:   2"


def test_format_mismatches_joins_blocks():
    pair = (Mismatch(root="a", message="m"), Mismatch(root="b", message="n", kind=Kind.PART, actual=1))
    assert format_mismatches(pair) == "a: m\nb: n\n  actual:   1"
