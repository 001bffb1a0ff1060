"""Bad suites through the real CLI: each problem names file:line:col, and the good suites still run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import needs

# The cases run on real interpreters; the bundled suites use both.
pytestmark = needs("3.6")

GOOD_HANDLER = """\
def main_handler(event, context):
    print("handled %s" % event.get("n"))
    return {"n": event.get("n")}
"""

GOOD_SUITE = """\
function:
  code: ../fn
  handler: index.main_handler
  runtime: Python3.6
cases:
  - name: good case
    event: {n: 1}
    expect:
      return: {n: 1}
"""


def write(root: Path, files: dict) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")


def scftest(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "NO_COLOR"}
    env["NO_COLOR"] = "1"
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    write(tmp_path, {"fn/index.py": GOOD_HANDLER, "suites/a_good.yaml": GOOD_SUITE})
    return tmp_path


# (suite text, the line:col the problem must be reported at, words the message must contain)
BAD_SUITES = {
    "syntax": (
        """\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: broken
            event: {a: 1
        """,
        "5:1", ["YAML syntax error", "started at line 4"],
    ),
    "unknown_key": (
        """\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: typo
            expect:
              retrun: 1
        """,
        "5:7", ["unknown key 'retrun'", "did you mean 'return'?"],
    ),
    "wrong_type": (
        """\
        function: {code: ../fn, handler: index.main_handler, timeout: three}
        cases:
          - name: t
        """,
        "1:63", ["function.timeout must be a whole number", "timeout: 3"],
    ),
    "duplicate_names": (
        """\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: same
          - name: other
          - name: same
        """,
        "5:11", ["the case name 'same' is used twice", "first at line 3"],
    ),
    "async_return": (
        """\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: queued
            invocation: async
            expect:
              return: 1
        """,
        "6:15", ["async case cannot expect 'return'", "ret_msg"],
    ),
    "missing_event_file": (
        """\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: from file
            event_file: events/nope.json
        """,
        "4:17", ["the event file 'events/nope.json' does not exist"],
    ),
    "unknown_trigger": (
        """\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: gw
            trigger: apigatway
        """,
        "4:14", ["unknown trigger 'apigatway'", "did you mean 'apigateway'?"],
    ),
    "handler_without_module": (
        """\
        function: {code: ../fn, handler: main_handler}
        cases:
          - name: h
        """,
        "1:", ["handler 'main_handler' is not of the form <file>.<function>", "index.main_handler"],
    ),
    "missing_code_folder": (
        """\
        function:
          code: ../nowhere
          handler: index.main_handler
        cases:
          - name: h
        """,
        "2:9", ["the code folder '../nowhere' does not exist"],
    ),
    # Contract 1.1 corrects 1.0 here: SCF offers five runtimes, any other is refused.
    "runtime_not_offered": (
        """\
        function: {code: ../fn, handler: index.main_handler, runtime: Python3.8}
        matrix:
          runtime: [Python3.6, Python3.12]
        cases:
          - name: h
        """,
        "1:63", ["function.runtime cannot be 'Python3.8'", "SCF does not offer it",
                 "use one of: Python2.7, Python3.6, Python3.7, Python3.9, Python3.10",
                 "matrix.runtime[1] cannot be 'Python3.12'"],
    ),
}


@pytest.mark.parametrize("kind", sorted(BAD_SUITES))
def test_bad_suite_is_reported_and_others_still_run(project: Path, kind: str) -> None:
    text, where, words = BAD_SUITES[kind]
    write(project, {f"suites/b_{kind}.yaml": text})
    result = scftest(project, "run", "suites", "-v", "--junit-xml", "out/report.xml", "--json", "out/report.json")
    output = result.stdout + result.stderr
    assert f"b_{kind}.yaml:{where}" in output, output
    for word in words:
        assert word in output, output
    assert result.returncode == 4, output
    # The good suite ran and passed, and both reports were written.
    assert "PASSED" in output and "a_good::good case" in output, output
    report = json.loads((project / "out/report.json").read_text())
    verdicts = {case["id"]: case["verdict"] for case in report["cases"]}
    assert verdicts["a_good::good case"] == "passed"
    xml = (project / "out/report.xml").read_text()
    assert f"b_{kind}.yaml" in xml


def test_validate_reports_every_bad_file_and_runs_nothing(project: Path) -> None:
    for kind in ("unknown_key", "async_return"):
        write(project, {f"suites/b_{kind}.yaml": BAD_SUITES[kind][0]})
    result = scftest(project, "validate", "suites")
    assert result.returncode == 4
    assert "b_unknown_key.yaml:5:7: unknown key 'retrun'" in result.stdout
    assert "b_async_return.yaml:6:15: an async case" in result.stdout
    assert "1 suite(s) valid with 1 case(s); 2 file(s) with problems" in result.stdout


def test_validate_ok_exits_zero(project: Path) -> None:
    result = scftest(project, "validate", "suites", "-v")
    assert result.returncode == 0, result.stdout
    assert "a_good::good case  (line 6)" in result.stdout


def test_yaml_that_is_not_a_suite_is_passed_over(project: Path) -> None:
    write(project, {"suites/config.yml": "settings: {a: 1}\n"})
    result = scftest(project, "run", "suites", "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "passed over" in result.stdout and "config.yml" in result.stdout


def test_unknown_matcher_tag_is_a_suite_error(project: Path) -> None:
    write(project, {"suites/b_tag.yaml": """\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: t
            expect:
              return: !regexp 'a'
        """})
    result = scftest(project, "validate", "suites")
    assert "b_tag.yaml:5:15: unknown YAML tag !regexp" in result.stdout
    assert "!regex" in result.stdout


def test_python_object_tags_are_never_constructed(project: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    write(project, {"suites/b_evil.yaml": f"""\
        cases:
          - name: !!python/object/apply:os.system ["touch {marker}"]
        """})
    result = scftest(project, "validate", "suites")
    assert result.returncode == 4
    assert "b_evil.yaml:2:11: unknown YAML tag tag:yaml.org,2002:python/object/apply:os.system" in result.stdout
    assert not marker.exists()


def test_no_case_selected_exits_5(project: Path) -> None:
    result = scftest(project, "run", "suites", "-k", "nothing_matches_this")
    assert result.returncode == 5, result.stdout


def test_usage_error_exits_4(project: Path) -> None:
    result = scftest(project, "run", "suites", "--shard", "3/2")
    assert result.returncode == 4
    assert "shard" in result.stderr


def test_missing_path_is_a_problem(project: Path) -> None:
    result = scftest(project, "run", "suites", "does-not-exist")
    assert result.returncode == 4
    assert "does-not-exist: no such file or folder" in result.stdout
