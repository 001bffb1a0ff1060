"""Record mode (--update): real runs, then the suite file compared byte for byte.

The round trips run real handlers through ``scftest.session.run``; they are skipped, with
the reason, when no Python 3.6 (or, for the matrix, 2.7) interpreter can be found.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from scftest.model import UNSET, Case, Expectation, FunctionSpec, SourceMap
from scftest.check.outcome import CaseOutcome, Verdict
from scftest.instance.record import ErrorInfo, InvocationRecord
from scftest.instance.interpreters import RuntimeNotFound, RuntimeResolver
from scftest.session import RunOptions, run
from scftest.authoring.update import UpdateRefused, message_pattern, propose, refuse_in_ci, update_suites

HANDLERS = """\
import json
import sys
import time


def main_handler(event, context):
    print("got " + json.dumps(event, sort_keys=True))
    return {"greeting": "Hello %s" % event.get("name", "World"), "count": 2, "ok": True}


def text(event, context):
    print("text handler")
    return "Hello World"


def boom(event, context):
    raise ValueError('missing "id" (got %s) [see docs]' % event.get("n"))


def slow(event, context):
    time.sleep(10)


def version(event, context):
    return sys.version_info[0]


def leak(event, context):
    import os
    return {"token": os.environ["TOKEN"], "public": "ok"}
"""


def _need(runtime: str) -> None:
    try:
        RuntimeResolver({}, None).resolve(runtime)
    except RuntimeNotFound as exc:
        pytest.skip(f"no interpreter for {runtime}: {exc}")


def _project(tmp_path: Path, suite: str, newline: str = "\n") -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(HANDLERS, encoding="utf-8")
    file = tmp_path / "suite.yaml"
    file.write_bytes(suite.replace("\n", newline).encode("utf-8"))
    return file


def _run(*paths: Path, keyword=None) -> List[CaseOutcome]:
    result = run(RunOptions(paths=list(paths), keyword=keyword, environ={}))
    assert not result.problems, result.problems
    return result.outcomes


def _verdicts(file: Path) -> dict:
    return {o.case.name: o.verdict for o in _run(file)}


# --- the round trip of a commented suite ----------------------------------------------------

COMMENTED = """\
# yaml-language-server: $schema=../schema.json
# A suite written by hand: comments, blank lines and odd spacing must survive --update.
name: recorded   # a comment after a value

function:
  code: fn
  handler: index.main_handler
  runtime: Python3.6

cases:
  # no expect at all: the return value is recorded
  - name: no expect
    event: {name: Ada}     # inline event


  - name: stale return
    handler: index.text
    expect:
      return: Goodbye      # the old greeting
      log:
      - text handler       # a list written without indentation

  - name: raises
    handler: index.boom
    event:
      n: 3
    expect:
      log: [got]           # comment after a flow list

  - name: too slow
    handler: index.slow
    timeout: 1

  - {name: written in flow, handler: index.text}

  - name: a matcher that fails
    handler: index.text
    expect:
      return: !regex '^Bye'   # written by hand: never overwritten

  - name: stale block
    handler: index.text
    expect:
      return:        # used to be a mapping
        a: 1
        b: [1, 2]
      # a comment that closes the expect block

  - name: already right
    handler: index.text
    expect: {return: Hello World}
# the end
"""

COMMENTED_AFTER = """\
# yaml-language-server: $schema=../schema.json
# A suite written by hand: comments, blank lines and odd spacing must survive --update.
name: recorded   # a comment after a value

function:
  code: fn
  handler: index.main_handler
  runtime: Python3.6

cases:
  # no expect at all: the return value is recorded
  - name: no expect
    event: {name: Ada}     # inline event
    expect:
      return:
        greeting: Hello Ada
        count: 2
        ok: true


  - name: stale return
    handler: index.text
    expect:
      return: Hello World      # the old greeting
      log:
      - text handler       # a list written without indentation

  - name: raises
    handler: index.boom
    event:
      n: 3
    expect:
      log: [got]           # comment after a flow list
      error:
        type: ValueError
        message: '^missing "id" \\(got 3\\) \\[see docs\\]$'

  - name: too slow
    handler: index.slow
    timeout: 1
    expect:
      status: timeout

  - {name: written in flow, handler: index.text, expect: {return: Hello World}}

  - name: a matcher that fails
    handler: index.text
    expect:
      return: !regex '^Bye'   # written by hand: never overwritten

  - name: stale block
    handler: index.text
    expect:
      return: Hello World  # used to be a mapping
      # a comment that closes the expect block

  - name: already right
    handler: index.text
    expect: {return: Hello World}
# the end
"""


@pytest.mark.parametrize("newline", ["\n", "\r\n"], ids=["LF", "CRLF"])
def test_round_trip_keeps_every_other_byte_and_the_rerun_passes(tmp_path: Path, newline: str) -> None:
    _need("Python3.6")
    file = _project(tmp_path, COMMENTED, newline)

    report = update_suites(_run(file), environ={})

    assert file.read_bytes().decode("utf-8") == COMMENTED_AFTER.replace("\n", newline)
    assert [(c.case, c.key, c.line) for c in report.changes] == [
        ("no expect", "return", 15), ("stale return", "return", 24), ("raises", "error", 34),
        ("too slow", "status", 42), ("written in flow", "return", 44), ("stale block", "return", 54)]
    assert report.files_written == (file.resolve(),)
    assert report.resolved_case_ids == report.updated_case_ids and len(report.updated_case_ids) == 6
    left = {entry.case: entry for entry in report.left_alone}
    assert "matchers (!regex)" in left["a matcher that fails"].reason
    assert left["already right"].held
    verdicts = _verdicts(file)
    assert verdicts.pop("a matcher that fails") is Verdict.FAILED  # left alone, still red
    assert set(verdicts.values()) == {Verdict.PASSED}


def test_report_lists_each_change_with_file_line_and_the_cases_left_alone(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    _need("Python3.6")
    file = _project(tmp_path, COMMENTED)
    monkeypatch.chdir(tmp_path)

    text = update_suites(_run(file), environ={}).format()

    assert "wrote 6 expectation(s) into 1 file(s)" in text
    assert "suite.yaml:15: no expect: return: {greeting: Hello Ada, count: 2, ok: true}" in text
    assert "suite.yaml:34: raises: error: {type: ValueError, message: '^missing \"id\"" in text
    assert "suite.yaml:42: too slow: status: timeout" in text
    assert re.search(r"Left alone:\n  suite\.yaml:46: a matcher that fails: its expectations hold matchers", text)
    assert "1 case(s) already expect an outcome, and it held" in text


def test_a_second_update_changes_nothing(tmp_path: Path) -> None:
    _need("Python3.6")
    file = _project(tmp_path, COMMENTED)
    update_suites(_run(file), environ={})
    once = file.read_bytes()

    report = update_suites(_run(file), environ={})

    assert file.read_bytes() == once
    assert report.changes == () and report.files_written == ()


# --- CI ---------------------------------------------------------------------------------------


def test_ci_refuses_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _need("Python3.6")
    file = _project(tmp_path, COMMENTED)
    outcomes = _run(file)
    before = file.read_bytes()

    with pytest.raises(UpdateRefused, match="CI environment variable is set"):
        update_suites(outcomes, environ={"CI": "1"})
    monkeypatch.setenv("CI", "true")  # the process environment is the default
    with pytest.raises(UpdateRefused, match="CI= scftest run --update"):
        update_suites(outcomes)

    assert file.read_bytes() == before


def test_an_empty_ci_variable_counts_as_unset() -> None:
    refuse_in_ci({"CI": ""})
    refuse_in_ci({})
    with pytest.raises(UpdateRefused):
        refuse_in_ci({"CI": "false"})  # set is set: the contract says "when CI is set"


# --- what is left alone -----------------------------------------------------------------------

MATRIX = """\
function: {code: fn, handler: index.text}
matrix:
  runtime: [Python2.7, Python3.6]
cases:
  - name: same everywhere
  - name: differs by runtime
    handler: index.version
  - name: pinned
    runtime: Python3.6
    handler: index.version
"""


def test_matrix_runs_are_written_once_when_they_agree_and_never_when_they_differ(tmp_path: Path) -> None:
    _need("Python2.7")
    _need("Python3.6")
    file = _project(tmp_path, MATRIX)

    report = update_suites(_run(file), environ={})

    assert [(c.case, c.key, c.value) for c in report.changes] == [
        ("same everywhere", "return", "Hello World"), ("pinned", "return", 3)]
    assert report.changes[0].case_ids == ("suite::same everywhere [Python2.7]", "suite::same everywhere [Python3.6]")
    (left,) = report.left_alone
    assert left.case == "differs by runtime"
    assert "matrix runs disagree" in left.reason and "[Python2.7] return: 2" in left.reason
    assert file.read_text(encoding="utf-8") == MATRIX.replace(
        "  - name: same everywhere\n", "  - name: same everywhere\n    expect:\n      return: Hello World\n"
    ).replace("    handler: index.version\n", "    handler: index.version\n    expect:\n      return: 3\n", 2).replace(
        "  - name: differs by runtime\n    handler: index.version\n    expect:\n      return: 3\n",
        "  - name: differs by runtime\n    handler: index.version\n")
    assert set(_verdicts(file).values()) == {Verdict.PASSED}


def test_a_matrix_case_with_only_some_runs_selected_is_left_alone(tmp_path: Path) -> None:
    _need("Python3.6")
    file = _project(tmp_path, MATRIX)
    before = file.read_bytes()

    report = update_suites(_run(file, keyword="same and Python3"), environ={})

    (left,) = report.left_alone
    assert "only 1 of its 2 matrix runs ran" in left.reason
    assert file.read_bytes() == before


OTHERS = """\
function: {code: fn, handler: index.text}
cases:
  - name: async success
    invocation: async
  - name: async failure
    invocation: async
    handler: index.boom
  - name: skipped
    skip: not today
  - name: expected to fail
    xfail: known bug
    expect: {return: nope}
  - name: return expected but it raises
    handler: index.boom
    expect:
      return: Hello World
  - name: includes did not hold
    expect:
      return_includes: {a: 1}
  - name: a matcher that holds
    expect:
      return: !regex '^Hello'
  - name: wrong handler name
    handler: index.no_such_function
  - name: recorded but a log line is missing
    expect:
      log: [no such line]
"""


def test_cases_that_must_not_be_recorded_are_left_alone_with_a_reason(tmp_path: Path) -> None:
    _need("Python3.6")
    file = _project(tmp_path, OTHERS)

    report = update_suites(_run(file), environ={})

    assert [(c.case, c.key, c.still_failing) for c in report.changes] == [
        ("async failure", "error", ()), ("recorded but a log line is missing", "return", ("log[0]",))]
    assert "(still failing: log[0])" in str(report.changes[1])
    # the CLI passes a recorded case only when nothing else of it failed
    assert report.resolved_case_ids == {"suite::async failure"}
    reasons = {entry.case: entry.reason for entry in report.left_alone}
    assert "never receives the return value" in reasons["async success"]
    assert reasons["skipped"] == "skipped (not today)"
    assert "xfail" in reasons["expected to fail"]
    assert "ended with error" in reasons["return expected but it raises"]
    assert "only rewrites a return" in reasons["includes did not hold"]
    assert "could not be loaded" in reasons["wrong handler name"]
    held = [entry.case for entry in report.left_alone if entry.held]
    assert held == ["a matcher that holds"]  # nothing to do: not listed as "left alone" in the text
    assert "return:" not in file.read_text(encoding="utf-8").split("async success")[1].split("- name")[0]


SHARED = """\
function: {code: fn, handler: index.text}
cases:
  - &base
    name: base
    expect:
      log: [text handler]
  - <<: *base
    name: merged
  - name: aliased
    expect: &shared
      log: [text handler]
  - name: alias user
    expect: *shared
"""


def test_anchors_aliases_and_merge_keys_are_never_edited(tmp_path: Path) -> None:
    _need("Python3.6")
    file = _project(tmp_path, SHARED)
    before = file.read_bytes()

    report = update_suites(_run(file), environ={})

    assert report.changes == ()
    reasons = {entry.case: entry.reason for entry in report.left_alone}
    assert "merge (<<:)" in reasons["merged"]
    for name in ("base", "aliased", "alias user"):
        assert "anchors, aliases or merge keys" in reasons[name]
    assert file.read_bytes() == before


def test_a_case_moved_since_the_run_is_left_alone(tmp_path: Path) -> None:
    _need("Python3.6")
    file = _project(tmp_path, "function: {code: fn, handler: index.text}\ncases:\n  - name: a\n  - name: b\n")
    outcomes = _run(file)
    file.write_text("function: {code: fn, handler: index.text}\ncases:\n  - name: b\n", encoding="utf-8")
    before = file.read_bytes()

    report = update_suites(outcomes, environ={})

    reasons = {e.case: e.reason for e in report.left_alone}
    assert set(reasons) == {"a", "b"}  # b moved up: its place in the file no longer matches the run
    assert all(r.startswith("the case is no longer at its place") for r in reasons.values())
    assert report.changes == () and file.read_bytes() == before


# --- an exception message as a pattern ----------------------------------------------------------

@pytest.mark.parametrize("message", [
    'missing "id"', "invalid literal for int() with base 10: 'abc'", "a.b*c+d?e[f]{g}|h^i$j\\k",
    "first line\nsecond line", "\n\n  indented after blank lines", "x" * 500, "ends with a space ",
    "crlf line\r\nnext", "",
])
def test_message_patterns_match_their_message_again(message: str) -> None:
    pattern = message_pattern(message)
    if not message.strip():
        assert pattern == ""
        return
    assert pattern.startswith("^")
    assert re.search(pattern, message, re.MULTILINE)  # the checker's search
    assert "\\ " not in pattern and '\\"' not in pattern  # readable: only metacharacters escaped


def test_a_long_message_becomes_a_prefix_pattern() -> None:
    assert message_pattern("y" * 500) == "^" + "y" * 120


# --- the decisions, without running anything ---------------------------------------------------


def _case(expect: Expectation = Expectation(), invocation: str = "sync") -> Case:
    source = SourceMap(Path("/nowhere/s.yaml"))
    return Case(suite="s", name="c", source=source, path=("cases", 0),
                function=FunctionSpec(code=Path("/nowhere"), handler="index.main_handler"),
                invocation=invocation, expect=expect)


def _record(status: str, value=UNSET, error=None) -> InvocationRecord:
    return InvocationRecord(request_id="r", invocation="sync", runtime="Python3.6", interpreter="python",
                            interpreter_version="3.6.15", status=status, status_code=200,
                            return_value=value, error=error)


@pytest.mark.parametrize("record, key, value", [
    (_record("success", {"a": 1}), "return", {"a": 1}),
    (_record("error", error=ErrorInfo("KeyError", "builtins.KeyError", "'id'")), "error",
     {"type": "KeyError", "message": "^'id'$"}),
    (_record("error", error=ErrorInfo("Boom", "app.Boom", "")), "error", {"type": "Boom"}),
    (_record("memory_exceeded"), "status", "memory_exceeded"),
    (_record("crash"), "status", "crash"),
])
def test_what_is_recorded_for_each_observed_status(record: InvocationRecord, key: str, value) -> None:
    decision = propose(CaseOutcome(_case(), Verdict.PASSED, record=record))
    assert (decision.key, decision.value) == (key, value)


# --- through the command line ---------------------------------------------------------------------


def _cli(cwd: Path, *args: str, ci: str = "") -> "subprocess.CompletedProcess[str]":
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    env.update(NO_COLOR="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    if ci:
        env["CI"] = ci
    done = subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)
    return done


def test_cli_update_writes_prints_each_change_and_the_rerun_passes(tmp_path: Path) -> None:
    _need("Python3.6")
    file = _project(tmp_path, COMMENTED)

    done = _cli(tmp_path, "run", "--update", "suite.yaml")

    assert "suite.yaml:15: no expect: return: {greeting: Hello Ada, count: 2, ok: true}" in done.stdout
    assert file.read_text(encoding="utf-8") == COMMENTED_AFTER
    again = _cli(tmp_path, "run", "suite.yaml", "-k", "not matcher")
    assert again.returncode == 0, again.stdout + again.stderr


def test_cli_update_in_ci_exits_4_and_writes_nothing(tmp_path: Path) -> None:
    file = _project(tmp_path, COMMENTED)

    done = _cli(tmp_path, "run", "--update", "suite.yaml", ci="true")

    assert done.returncode == 4, done.stdout + done.stderr
    assert "CI" in done.stderr
    assert file.read_text(encoding="utf-8") == COMMENTED


SECRET_SUITE = """\
function: {code: fn, handler: index.main_handler, runtime: Python3.6}
cases:
  - name: returns the secret
    handler: index.leak
    environment: {TOKEN: !env SCFTEST_UPDATE_TOKEN}
  - name: returns no secret
    event: {name: Ada}
"""


def test_update_never_writes_a_masked_value_or_a_secret(tmp_path: Path) -> None:
    _need("Python3.6")
    file = _project(tmp_path, SECRET_SUITE)
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    env.update(NO_COLOR="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]),
               SCFTEST_UPDATE_TOKEN="s3cret-update-token")
    done = subprocess.run([sys.executable, "-m", "scftest", "run", "--update", "suite.yaml"], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=120)
    written = file.read_text(encoding="utf-8")
    assert "s3cret-update-token" not in written and "***" not in written, written
    assert "--update never writes secrets into a suite" in done.stdout, done.stdout
    assert "greeting: Hello Ada" in written  # the other case is recorded as usual
