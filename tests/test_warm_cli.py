"""Warm sequences (``invocations:``, issue 14) through the real CLI: the verdict names
the failing step, JUnit keeps one <testcase> per case with every step's log, the JSON
report carries every step's record (valid against the report schema), and the
selection options (-k, --tag, --shard, -j, matrix) treat a sequence as one case."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import jsonschema
import pytest
from conftest import HANDLERS, needs, run_scftest

REPO = Path(__file__).resolve().parent.parent
pytestmark = needs("2.7", "3.6", "3.10")

SUITE = """\
name: warm
function:
  code: {code}
  handler: index.remember
  runtime: Python3.10
matrix:
  runtime: [Python2.7, Python3.6, Python3.10]
cases:
  - name: state and /tmp survive a warm start
    tags: [warm]
    invocations:
      - event: {{key: a}}
        expect:
          return_includes: {{calls: 1, tmp_seen: false}}
          log: [importing the module]
      - name: warm
        event: {{key: b}}
        expect:
          return_includes: {{calls: 2, keys: [a, b], tmp_seen: true}}
          log: [{{absent: importing the module}}]
      - name: a new instance
        cold: true
        event: {{key: c}}
        expect: {{return_includes: {{calls: 1, keys: [c], tmp_seen: false}}}}
  - name: the second step is wrong
    tags: [broken]
    runtime: Python3.10
    invocations:
      - event: {{key: a}}
      - name: expects a cold module
        event: {{key: b}}
        expect: {{return_includes: {{calls: 1}}}}
      - event: {{key: c}}
        expect: {{return_includes: {{calls: 3}}}}
"""


@pytest.fixture()
def suite(tmp_path: Path) -> Path:
    path = tmp_path / "warm.yaml"
    path.write_text(SUITE.format(code=HANDLERS / "warm"), encoding="utf-8")
    return path


def run(tmp_path: Path, *args: str):
    done = run_scftest(tmp_path, "run", "warm.yaml", "--junit", "j.xml", "--json", "r.json", *args)
    report = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    return done, report, ET.parse(tmp_path / "j.xml").getroot()


def test_each_step_is_judged_and_the_failing_one_named(tmp_path: Path, suite: Path) -> None:
    done, report, junit = run(tmp_path, "-j", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    verdicts = {case["name"]: case["verdict"] for case in report["cases"]}
    assert verdicts == {
        "state and /tmp survive a warm start [Python2.7]": "passed",
        "state and /tmp survive a warm start [Python3.6]": "passed",
        "state and /tmp survive a warm start [Python3.10]": "passed",
        "the second step is wrong": "failed",
    }
    failing = "FAILED warm::the second step is wrong - step 2 (expects a cold module): return differs at calls"
    assert failing in done.stdout
    assert "suite line 32" in done.stdout  # the failing step's expectation
    assert "call 2 for" in done.stdout  # the failing step's own log, not another's
    cases = junit.findall(".//testcase")
    assert len(cases) == 4  # one per case, however many steps
    broken = next(c for c in cases if c.get("name") == "the second step is wrong")
    assert "step 2 (expects a cold module)" in broken.find("failure").get("message")
    out = broken.find("system-out").text
    for label in ("step 1: passed", "step 2 (expects a cold module): failed", "step 3: passed"):
        assert f"----- {label} -----" in out
    assert out.count("----- captured log of step") == 3
    assert "call 3 for" in out.split("captured log of step 3")[1]


def test_the_json_report_carries_every_step_record(tmp_path: Path, suite: Path) -> None:
    _, report, _ = run(tmp_path)
    schema = json.loads((REPO / "schemas" / "report.schema.json").read_text(encoding="utf-8"))
    jsonschema.validate(report, schema)
    case = next(c for c in report["cases"] if c["name"].endswith("[Python2.7]"))
    steps = case["steps"]
    assert [s["label"] for s in steps] == ["step 1", "step 2 (warm)", "step 3 (a new instance)"]
    assert [s["record"]["cold_start"] for s in steps] == [True, False, True]
    # step 1's process serves step 2: no exit status yet, and no signal ended it
    assert (steps[0]["record"]["exit_code"], steps[0]["record"]["signal"]) == (None, None)
    assert [s["cold"] for s in steps] == [False, False, True]
    assert [s["line"] for s in steps] == [12, 16, 21]
    assert len({s["record"]["request_id"] for s in steps}) == 3
    assert all(s["record"]["interpreter_version"].startswith("2.7") for s in steps)
    broken = next(c for c in report["cases"] if c["name"] == "the second step is wrong")
    assert broken["summary"].startswith("step 2 (expects a cold module): ")
    assert broken["record"]["request_id"] == broken["steps"][1]["record"]["request_id"]
    assert [s["verdict"] for s in broken["steps"]] == ["passed", "failed", "passed"]


@pytest.mark.parametrize("args, expected", [
    (("-k", "second"), ["the second step is wrong"]),
    (("--tag", "warm", "-k", "Python3.6"), ["state and /tmp survive a warm start [Python3.6]"]),
    (("--shard", "2/2"), None),
])
def test_selection_takes_a_sequence_as_one_case(tmp_path: Path, suite: Path, args, expected) -> None:
    _, report, _ = run(tmp_path, *args)
    names = [case["name"] for case in report["cases"]]
    if expected is None:  # a shard holds whole cases: each with all its steps
        assert 0 < len(names) < 4
        assert all(len(case["steps"]) == 3 for case in report["cases"])
    else:
        assert names == expected
        assert len(report["cases"][0]["steps"]) == 3


def test_verbose_shows_every_step_with_its_record(tmp_path: Path, suite: Path) -> None:
    done, _, _ = run(tmp_path, "-v", "-k", "Python3.10")
    block = done.stdout.split("PASSED warm::state and /tmp survive a warm start [Python3.10]")[1]
    for label in ("step 1: PASSED", "step 2 (warm): PASSED", "step 3 (a new instance): PASSED"):
        assert f"    {label}\n      request_id: " in block
    assert block.count("start: warm (the module was already imported)") == 1  # step 2 only
    step_1 = block.split("step 2 (warm): PASSED")[0]
    assert "      exit_code: none, the process still runs: the instance stayed warm for the next step\n" in step_1
    assert "exit_code: -" not in block


def test_the_tutorial_bug_passes_a_single_case_and_fails_the_warm_sequence(tmp_path: Path) -> None:
    # docs/writing-cases.md section 12: the bundled function with its fix undone.
    (tmp_path / "functions" / "profile").mkdir(parents=True)
    source = (REPO / "suites" / "functions" / "profile" / "index.py").read_text(encoding="utf-8")
    fix = source[source.index("def build_reply(user, roles=None):"):source.index("    if user.get")]
    assert "roles = list(roles or [])" in fix
    (tmp_path / "functions" / "profile" / "index.py").write_text(
        source.replace(fix, "def build_reply(user, roles=[]):\n"), encoding="utf-8")
    (tmp_path / "warm.yaml").write_text((REPO / "suites" / "warm.yaml").read_text(encoding="utf-8"),
                                        encoding="utf-8")
    done = run_scftest(tmp_path, "run", "warm.yaml")
    assert done.returncode == 1
    assert ("FAILED warm starts::an admin's role does not leak into the next request - step 2 "
            "(bob, on the same warm instance): return differs at body.roles[0]") in done.stdout
    assert "1 passed, 1 failed" in done.stdout  # the single-invocation case cannot see it
    tutorial = (REPO / "docs" / "writing-cases.md").read_text(encoding="utf-8")
    assert "return.body.roles[0] (suite line 36): unexpected item" in tutorial
    assert "return.body.roles[0] (suite line 36): unexpected item" in done.stdout
