"""Run-time robustness through the real CLI (issue 10): runaway regular expressions, signals,
wrapped interpreters, and what the child sends. Each case that goes wrong costs that case
only: the other suites run, the reports are written, and the exit status is never 3."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import INTERPRETERS, needs

pytestmark = needs("3.10")

HANDLERS = """\
import sys

def echo(event, context):
    print(event.get("log", ""))
    return event.get("value")

def fail(event, context):
    raise ValueError(event["message"])

def deep(event, context):
    value = "leaf"
    for _ in range(event["depth"]):
        value = [value]
    return {"v": value}

def whoami(event, context):
    import os
    return {"executable": sys.executable, "version": "%d.%d" % sys.version_info[:2],
            "pyenv": sorted(k for k in os.environ if k.startswith("PYENV"))}
"""

RUNAWAY = "a" * 40 + "!"  # 41 characters: (a|a)+ tries 2**40 ways before it gives up


def scftest(cwd: Path, *args: str, env_extra: dict = None, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", **(env_extra or {}))
    # the timeout only keeps a regression from hanging the test run; nothing is timed
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, **kwargs)


def write_suite(root: Path, name: str, cases: str) -> None:
    (root / "fn").mkdir(exist_ok=True)
    (root / "fn" / "index.py").write_text(HANDLERS)
    text = "function:\n  code: fn\n  handler: index.echo\n  runtime: Python3.10\ncases:\n"
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


def _whoami_suite(root: Path) -> None:
    write_suite(root, "who.yaml", """\
        - name: who
          handler: index.whoami
          expect: {return_includes: {version: "3.10", pyenv: []}}
    """)
    # what a pyenv shim would obey if it were the interpreter: another version
    (root / "fn" / ".python-version").write_text("2.7.18\n")


def _record(root: Path) -> dict:
    case = json.loads((root / "r.json").read_text())["cases"][0]
    assert case["verdict"] == "passed", case
    return case["record"]


def test_a_relative_runtime_wrapper_is_resolved_to_the_real_interpreter(tmp_path: Path) -> None:
    real = INTERPRETERS["3.10"][0]
    wrapper = tmp_path / "venv310" / "bin" / "python"
    wrapper.parent.mkdir(parents=True)
    # a wrapper as people write them: its environment must not reach the handler
    wrapper.write_text(f'#!/bin/sh\nexport PYENV_VERSION=2.7.18 PYENV_DIR=/nowhere\nexec {real} "$@"\n')
    wrapper.chmod(0o755)
    _whoami_suite(tmp_path)
    result = scftest(tmp_path, "run", "who.yaml", "--runtime", "Python3.10=venv310/bin/python", "--json", "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    record = _record(tmp_path)
    assert record["interpreter"] == real and record["interpreter_version"].startswith("3.10.")
    assert record["return"]["executable"] == real


@pytest.mark.skipif(not Path("/root/.pyenv/shims/python3.10").exists() or not shutil.which("pyenv"),
                    reason="needs pyenv with a python3.10 shim")
def test_a_pyenv_shim_is_resolved_once_and_leaves_nothing_behind(tmp_path: Path) -> None:
    _whoami_suite(tmp_path)
    # the shim runs python3.10 only where that version is active: the runner's PYENV_VERSION
    result = scftest(tmp_path, "run", "who.yaml", "--runtime", "Python3.10=/root/.pyenv/shims/python3.10",
                     "--json", "r.json", env_extra={"PYENV_VERSION": Path(INTERPRETERS["3.10"][0]).parent.parent.name})
    assert result.returncode == 0, result.stdout + result.stderr
    record = _record(tmp_path)
    assert "/shims/" not in record["interpreter"] and "/versions/3.10" in record["interpreter"]
    assert record["return"]["executable"] == record["interpreter"]


def test_a_value_nested_500_deep_is_an_error_for_its_case(tmp_path: Path) -> None:
    write_suite(tmp_path, "deep.yaml", """\
        - name: deep
          handler: index.deep
          event: {depth: 500}
          environment: {TOKEN: !env SCFTEST_DEEP_TOKEN}
          expect: {return_includes: {v: []}}
        - name: shallow
          handler: index.deep
          event: {depth: 3}
          expect: {return: {v: [[["leaf"]]]}}
    """)
    result = scftest(tmp_path, "run", ".", "--json", "r.json", "--junit-xml", "r.xml",
                     env_extra={"SCFTEST_DEEP_TOKEN": "leaf"})  # a secret: masking walks the value
    assert result.returncode == 1, result.stdout + result.stderr
    cases = {c["name"]: c for c in json.loads((tmp_path / "r.json").read_text())["cases"]}
    assert cases["shallow"]["verdict"] == "passed"
    assert cases["deep"]["verdict"] == "error" and not cases["deep"]["internal"]
    assert "nested more than 100 levels" in cases["deep"]["summary"]
    assert "***" in cases["deep"]["record"]["ret_msg"] and "leaf" not in cases["deep"]["record"]["ret_msg"]
    assert (tmp_path / "r.xml").exists()


def test_the_terminal_gets_no_control_characters_and_long_lines_cut(tmp_path: Path) -> None:
    # A suite name with an OSC sequence, a handler printing ESC / CR / BEL and a 10 MB line:
    # the terminal shows them escaped and the long line cut; the JSON has the capped log.
    write_suite(tmp_path, "ctl.yaml", """\
        - name: "paint \\e]0;title\\a and \\e[2J"
          event: {log: "colour \\e[31mred\\e[0m\\rover \\a bell", value: 1}
          expect: {return: 2}
        - name: floods
          handler: index.flood
          expect: {return: 2}
    """)
    (tmp_path / "fn" / "index.py").write_text(HANDLERS + textwrap.dedent("""\

        def flood(event, context):
            sys.stdout.write("y" * (10 * 1024 * 1024) + "\\n")
            return 1
    """))
    result = scftest(tmp_path, "run", ".", "-vv", "--json", "r.json")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr
    out = result.stdout
    assert [c for c in out if ord(c) < 32 and c not in "\n"] == []
    assert "paint \\x1b]0;title\\x07 and \\x1b[2J" in out
    assert "colour \\x1b[31mred\\x1b[0m\\rover \\x07 bell" in out
    assert "more characters of this line cut here; the JSON report (--json) has it whole]" in out
    assert len(out) < 100_000  # the 10 MB line is not printed (before: 4 MB)
    cases = {c["name"]: c for c in json.loads((tmp_path / "r.json").read_text())["cases"]}
    log = cases["floods"]["record"]["log"]
    assert len(log) > 3_000_000 and cases["floods"]["record"]["log_truncated_bytes"] > 0


SPAWNER = """\
import os, subprocess, sys, time

def spawn_and_sleep(event, context):
    marker = event["marker"]
    subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)", marker + "-child"])
    if os.fork() == 0:  # a daemon: double fork, its own session
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", "import time; time.sleep(600)", marker + "-daemon"])
        os._exit(0)
    time.sleep(600)
"""


@pytest.mark.parametrize("mode", ["namespace", "process"])
def test_when_the_runner_is_killed_outright_every_case_process_dies_with_it(tmp_path: Path, mode: str) -> None:
    import signal
    import time
    import uuid

    from conftest import end_processes, namespaces_or_skip, processes_of

    if mode == "namespace":
        namespaces_or_skip()
    marker = f"scftest-sigkill-{uuid.uuid4().hex}"
    write_suite(tmp_path, "s.yaml", f"""\
        - name: spawns and sleeps
          handler: spawner.spawn_and_sleep
          timeout: 300
          event: {{marker: {marker}}}
          environment: {{MARK: {marker}}}
    """)
    (tmp_path / "fn" / "spawner.py").write_text(SPAWNER)
    isolation = "strict" if mode == "namespace" else "process"
    runner = subprocess.Popen([sys.executable, "-m", "scftest", "run", ".", "--isolation", isolation],
                              cwd=tmp_path, env=dict(os.environ, NO_COLOR="1"),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120  # guards against a hang; nothing here is timed
        while time.monotonic() < deadline and not (processes_of(marker + "-child") and processes_of(marker + "-daemon")):
            assert runner.poll() is None, "the run ended before the handler spawned its children"
            time.sleep(0.05)
        case_processes = processes_of(marker)
        assert len(case_processes) >= 3, case_processes  # the handler, its child, the daemon
        runner.kill()  # SIGKILL: no handler of the runner's runs
        runner.wait()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and processes_of(marker):
            time.sleep(0.05)
        left = processes_of(marker)
        assert left == [], f"left running after SIGKILL of the runner ({mode}): {left}"
    finally:
        if runner.poll() is None:
            runner.send_signal(signal.SIGKILL)
            runner.wait()
        end_processes(processes_of(marker))
