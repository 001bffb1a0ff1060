"""--update on warm sequences (invocations:, issue 14): each step's expectation recorded
from that step's own record, in the step, and the rerun passes."""

from __future__ import annotations

from pathlib import Path

from conftest import HANDLERS, needs, run_scftest

from scftest.authoring.update import update_suites
from scftest.check.outcome import Verdict
from scftest.session import RunOptions, run

pytestmark = needs("3.10")

SUITE = """\
function:
  code: {code}
  handler: index.count
  runtime: Python3.10
matrix:
  invocation: [sync]
cases:
  - name: counts its calls
    invocations:
      - event: {{key: a}}   # the first call
      - name: warm
        event: {{key: b}}
        expect:
          return_includes: {{calls: 1}}   # wrong: the instance is warm
      - name: held
        event: {{key: c}}
        expect:
          return_includes: {{calls: 3}}
"""


def outcomes(file: Path):
    result = run(RunOptions(paths=[file], environ={}))
    assert not result.problems, result.problems
    return result.outcomes


def test_each_step_records_its_own_outcome_and_the_rerun_passes(tmp_path: Path) -> None:
    file = tmp_path / "suite.yaml"
    file.write_text(SUITE.format(code=HANDLERS / "warm"), encoding="utf-8")
    report = update_suites(outcomes(file), environ={})
    changes = [(c.case, c.key, c.line) for c in report.changes]
    assert [(name, key) for name, key, _ in changes] == [("counts its calls, step 1", "return")]
    left = {entry.case: entry.reason for entry in report.left_alone}
    assert "already expects return_includes" in left["counts its calls, step 2 (warm)"]
    text = file.read_text(encoding="utf-8")
    assert "      - event: {key: a}   # the first call\n        expect:\n          return:" in text
    assert report.changes[0].value == {"calls": 1, "keys": ["a"]}
    assert report.changes[0].line == 12  # the written return, in the step
    again = outcomes(file)[0]  # the recorded step holds; the wrong one still fails
    assert [s.verdict for s in again.steps] == [Verdict.PASSED, Verdict.FAILED, Verdict.PASSED]
    assert again.summary.startswith("step 2 (warm): ")


REWRITE = """\
function:
  code: {code}
  handler: index.count
  runtime: Python3.10
cases:
  - name: counts its calls
    invocations:
      - event: {{key: a}}
        expect: {{return: {{calls: 1, keys: [a]}}}}
      - event: {{key: b}}
        expect: {{return: {{calls: 1, keys: [b]}}}}   # as if it were a cold start: wrong
"""


def test_a_step_whose_return_did_not_hold_is_rewritten_and_the_case_then_passes(tmp_path: Path) -> None:
    file = tmp_path / "suite.yaml"
    file.write_text(REWRITE.format(code=HANDLERS / "warm"), encoding="utf-8")
    done = run_scftest(tmp_path, "run", "suite.yaml", "--update", env_extra={"CI": ""})
    assert "suite.yaml:11: counts its calls, step 2: return: {calls: 2, keys: [a, b]}" in done.stdout
    assert done.returncode == 0 and "1 passed" in done.stdout, done.stdout
    assert "expect: {return: {calls: 2, keys: [a, b]}}   # as if it were a cold start: wrong" in (
        file.read_text(encoding="utf-8"))
    again = run_scftest(tmp_path, "run", "suite.yaml")
    assert again.returncode == 0, again.stdout


HELD = """\
function:
  code: {code}
  handler: index.count
  runtime: Python3.10
cases:
  - name: alone
    event: {{key: a}}
    expect: {{return: {{calls: 1, keys: [a]}}}}
  - name: counts its calls
    invocations:
      - event: {{key: a}}
        expect: {{return_includes: {{calls: 1}}}}
      - event: {{key: b}}
        expect: {{return_includes: {{calls: 2}}}}
      - event: {{key: c}}
"""


def test_the_summary_counts_a_warm_sequence_as_one_case_and_names_its_steps(tmp_path: Path) -> None:
    file = tmp_path / "suite.yaml"
    file.write_text(HELD.format(code=HANDLERS / "warm"), encoding="utf-8")
    done = run_scftest(tmp_path, "run", "suite.yaml", "--update", env_extra={"CI": ""})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "--update: wrote 1 expectation(s) into 1 file(s)\n  suite.yaml:17: counts its calls, step 3: return:" in done.stdout
    assert ("2 case(s) already expect an outcome, and it held: left as written "
            "(2 step(s) of warm sequences among them).") in done.stdout
