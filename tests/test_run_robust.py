"""Run-time robustness through the real CLI (issue 10): runaway regular expressions, signals,
wrapped interpreters, and what the child sends. Each case that goes wrong costs that case
only: the other suites run, the reports are written, and the exit status is never 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import needs

pytestmark = needs("3.11")

HANDLERS = """\
import sys

def echo(event, context):
    print(event.get("log", ""))
    return event.get("value")

def fail(event, context):
    raise ValueError(event["message"])
"""

RUNAWAY = "a" * 40 + "!"  # 41 characters: (a|a)+ tries 2**40 ways before it gives up


def scftest(cwd: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1")
    # the timeout only keeps a regression from hanging the test run; nothing is timed
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


def write_suite(root: Path, name: str, cases: str) -> None:
    (root / "fn").mkdir(exist_ok=True)
    (root / "fn" / "index.py").write_text(HANDLERS)
    text = "function:\n  code: fn\n  handler: index.echo\n  runtime: Python3.11\ncases:\n"
    (root / name).write_text(text + textwrap.indent(textwrap.dedent(cases), "  "))


def test_a_runaway_regex_is_an_error_for_its_case_naming_the_pattern_and_line(tmp_path: Path) -> None:
    write_suite(tmp_path, "regex.yaml", f"""\
        - name: matcher
          event: {{value: {{id: "{RUNAWAY}"}}}}
          expect:
            return:
              id: !regex '^(a|a)+$'
        - name: log regex
          event: {{log: "{RUNAWAY}"}}
          expect:
            log:
              - absent_regex: '^(a|a)+$'
        - name: error message
          handler: index.fail
          event: {{message: "{RUNAWAY}"}}
          expect:
            error: {{message: '^(a|a)+$'}}
        - name: the issue's pattern finishes
          event: {{value: "{RUNAWAY}"}}
          expect:
            return: !regex '^(a+)+$'
    """)
    write_suite(tmp_path, "other.yaml", """\
        - name: fine
          event: {value: 1}
          expect: {return: 1}
    """)
    result = scftest(tmp_path, "run", ".", "--json", "r.json", "--junit-xml", "r.xml")
    assert result.returncode == 1, result.stdout + result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    cases = {c["name"]: c for c in report["cases"]}
    assert cases["fine"]["verdict"] == "passed"
    for name, line in (("matcher", 10), ("log regex", 15), ("error message", 20)):
        assert cases[name]["verdict"] == "error", cases[name]
        assert "'^(a|a)+$'" in cases[name]["summary"] and f"(line {line})" in cases[name]["summary"]
        assert "ran past" in cases[name]["summary"]
    # re would backtrack for hours here; regex answers at once, with re's meaning: no match
    assert cases["the issue's pattern finishes"]["verdict"] == "failed"
    assert "is not found in the string" in json.dumps(cases["the issue's pattern finishes"])
    assert (tmp_path / "r.xml").exists()
    assert "internal error" not in result.stdout + result.stderr
