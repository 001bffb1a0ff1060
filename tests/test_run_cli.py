"""The whole pipeline through the real CLI: bundled suites, reports, workers, Ctrl-C, secrets."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import List

import pytest
from conftest import INTERPRETERS, needs

# The cases run on real interpreters; the bundled suites use both.
pytestmark = needs("2.7", "3.6", "3.7", "3.9", "3.10")

REPO = Path(__file__).resolve().parent.parent

HANDLERS = """\
import os, time

def ok(event, context):
    print("ok %s" % event.get("n"))
    return {"n": event.get("n")}

def wrong(event, context):
    return {"n": -1}

def slow(event, context):
    print("sleeping")
    time.sleep(60)

def secret(event, context):
    print("the token is " + os.environ["TOKEN"])
    raise RuntimeError("failed with " + os.environ["TOKEN"])
"""


def scftest(cwd: Path, *args: str, env_extra: dict = None, **kwargs) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", **(env_extra or {}))
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=180, **kwargs)


def write_suite(root: Path, name: str, cases: str, function: str = "") -> None:
    (root / "fn").mkdir(exist_ok=True)
    (root / "fn" / "index.py").write_text(HANDLERS)
    text = f"function:\n  code: fn\n  handler: index.ok\n{textwrap.indent(textwrap.dedent(function), '  ')}cases:\n"
    (root / name).write_text(text + textwrap.indent(textwrap.dedent(cases), "  "))


def test_bundled_suites_pass() -> None:
    result = scftest(REPO, "run", "suites/", "-j", "2")
    assert result.returncode == 0, result.stdout + result.stderr
    assert " passed" in result.stdout and "failed" not in result.stdout


def test_exit_status_1_and_reports_on_a_failing_case(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", """\
        - name: good
          event: {n: 1}
          expect: {return: {n: 1}}
        - name: bad
          handler: index.wrong
          expect: {return: {n: 1}}
        - name: skipped
          skip: not today
        - name: known bug
          handler: index.wrong
          xfail: issue 12
          expect: {return: {n: 1}}
    """)
    result = scftest(tmp_path, "run", ".", "--junit-xml", "r.xml", "--json", "r.json")
    assert result.returncode == 1, result.stdout
    assert "return.n (suite line 10): values differ" in result.stdout
    assert "expected: 1" in result.stdout and "actual:   -1" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    verdicts = [(c["name"], c["verdict"]) for c in report["cases"]]
    assert verdicts == [("good", "passed"), ("bad", "failed"), ("skipped", "skipped"), ("known bug", "xfailed")]
    good = report["cases"][0]["record"]
    assert good["status"] == "success" and good["return"] == {"n": 1} and "ok 1" in good["log"]
    xml = (tmp_path / "r.xml").read_text()
    assert xml.count("<testcase") == 4 and "<failure" in xml and xml.count("<skipped") == 2


def test_parallel_workers_give_the_same_verdicts_in_the_same_order(tmp_path: Path) -> None:
    cases = "".join(
        f"- name: case {i}\n  handler: index.{'wrong' if i % 3 == 0 else 'ok'}\n  event: {{n: {i}}}\n"
        f"  expect: {{return: {{n: {i}}}}}\n" for i in range(12))
    write_suite(tmp_path, "s.yaml", cases)
    reports = []
    for jobs in ("1", "2", "auto"):
        scftest(tmp_path, "run", ".", "-j", jobs, "--json", f"r{jobs}.json")
        data = json.loads((tmp_path / f"r{jobs}.json").read_text())
        reports.append([(c["id"], c["verdict"]) for c in data["cases"]])
    assert reports[0] == reports[1] == reports[2]
    assert [v for _, v in reports[0]].count("failed") == 4


def test_exitfirst_stops_after_the_first_failure(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", """\
        - {name: a, handler: index.wrong, expect: {return: {n: 1}}}
        - {name: b}
        - {name: c}
    """)
    result = scftest(tmp_path, "run", ".", "-x", "--json", "r.json")
    assert result.returncode == 1
    names = [c["name"] for c in json.loads((tmp_path / "r.json").read_text())["cases"]]
    assert names == ["a"]


def test_secrets_passed_with_env_are_masked_everywhere(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", """\
        - name: leaks
          handler: index.secret
    """, function="environment: {TOKEN: !env SCFTEST_TEST_TOKEN}\n")
    token = "s3cr3t-value-4242"
    result = scftest(tmp_path, "run", ".", "-vv", "--junit-xml", "r.xml", "--json", "r.json",
                     env_extra={"SCFTEST_TEST_TOKEN": token})
    assert result.returncode == 1
    assert "the token is ***" in result.stdout and "failed with ***" in result.stdout
    for text in (result.stdout, result.stderr, (tmp_path / "r.xml").read_text(), (tmp_path / "r.json").read_text()):
        assert token not in text


def test_missing_env_variable_is_an_error_for_that_case(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", "- name: needs token\n", function="environment: {TOKEN: !env SCFTEST_NOT_SET_ANYWHERE}\n")
    env = {k: v for k, v in os.environ.items() if k != "SCFTEST_NOT_SET_ANYWHERE"}
    result = subprocess.run([sys.executable, "-m", "scftest", "run", "."], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    assert "the runner has no environment variable SCFTEST_NOT_SET_ANYWHERE" in result.stdout


def test_runner_secrets_do_not_reach_the_handler(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("import os\ndef main(e, c):\n    return sorted(os.environ)\n")
    (tmp_path / "s.yaml").write_text("function: {code: fn, handler: index.main}\ncases: [{name: env}]\n")
    result = scftest(tmp_path, "run", ".", "--json", "r.json", env_extra={"AWS_SECRET_ACCESS_KEY": "x"})
    assert result.returncode == 0, result.stdout
    seen = json.loads((tmp_path / "r.json").read_text())["cases"][0]["record"]["return"]
    assert "AWS_SECRET_ACCESS_KEY" not in seen and "NO_COLOR" not in seen
    assert {"TENCENTCLOUD_RUNENV", "SCF_RUNTIME", "PATH"} <= set(seen)


def _descendants(pid: int) -> list:
    """Every process under ``pid``: a case's process may be a zygote's child (a fork)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, pending = [], [pid]
    while pending:
        parent = pending.pop()
        kids = [child for child, ppid in parents.items() if ppid == parent]
        found += kids
        pending += kids
    return found


def _with_environment(pid: int, entry: bytes) -> List[int]:
    """The runner's descendants whose environment holds ``entry`` (a case's own variable:
    the handler cannot leave a mark on the host, its instance is read-only)."""
    found = []
    for child in _descendants(pid):
        try:
            if entry in Path(f"/proc/{child}/environ").read_bytes().split(b"\0"):
                found.append(child)
        except OSError:
            pass
    return found


def _like_a_foreground_command() -> None:
    """Run in the runner's process before exec: the stop signals at their default
    disposition, as a shell gives the command Ctrl-C is pressed at. pytest itself may run
    with SIGINT ignored (started with `&` by a non-interactive shell, or by nohup), and an
    ignored signal stays ignored across fork and exec: the runner would then drop this
    test's signal and run 'hangs' for its 60 s (the other cause of an old 30 s hang)."""
    for stop in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(stop, signal.SIG_DFL)


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name)
def test_ctrl_c_kills_children_writes_reports_and_exits_2(tmp_path: Path, stop: signal.Signals) -> None:
    write_suite(tmp_path, "s.yaml", """\
        - {name: quick, event: {n: 1}}
        - {name: hangs, handler: index.slow, timeout: 60, environment: {PHASE: hangs}}
        - {name: never started, handler: index.slow, timeout: 60}
    """)
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "scftest", "run", ".", "-v", "--json", "r.json",
                             "--junit-xml", "r.xml"], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            preexec_fn=_like_a_foreground_command)
    deadline = time.monotonic() + 120  # a guard against a hang, not a timing assertion
    while time.monotonic() < deadline and not _with_environment(proc.pid, b"PHASE=hangs"):
        time.sleep(0.05)  # "hangs" runs, so "quick" (before it, one worker) has finished
    children = _descendants(proc.pid)
    proc.send_signal(stop)  # SIGTERM (a cancelled CI job) and SIGHUP do what Ctrl-C does
    output, _ = proc.communicate(timeout=30)
    assert proc.returncode == 2, output
    report = json.loads((tmp_path / "r.json").read_text())
    assert [c["name"] for c in report["cases"]] == ["quick"]
    assert report["interrupted"] is True
    assert (tmp_path / "r.xml").exists()
    for pid in children:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


@pytest.mark.parametrize("argv, code", [
    (["run", ".", "-j", "0"], 4),
    (["run", ".", "-k", "a and (b"], 4),
    (["run", ".", "--runtime", "Python3.6"], 4),
    (["run", ".", "--runtime", "Python3x=/usr/bin/python3"], 4),
    (["frobnicate"], 4),
])
def test_usage_errors_exit_4(tmp_path: Path, argv: list, code: int) -> None:
    write_suite(tmp_path, "s.yaml", "- {name: a}\n")
    result = scftest(tmp_path, *argv)
    assert result.returncode == code, result.stdout + result.stderr
    assert "Traceback" not in result.stderr


def test_events_and_runtimes_commands(tmp_path: Path) -> None:
    listed = scftest(tmp_path, "events")
    assert listed.returncode == 0 and "apigateway" in listed.stdout and "cos_put" in listed.stdout
    shown = scftest(tmp_path, "events", "show", "timer")
    assert json.loads(shown.stdout)["Type"] == "Timer"
    runtimes = scftest(tmp_path, "runtimes")
    assert runtimes.returncode == 0 and "Python2.7" in runtimes.stdout and "Python3.6" in runtimes.stdout


def test_schema_command_prints_the_suite_schema(tmp_path: Path) -> None:
    printed = scftest(tmp_path, "schema")
    assert json.loads(printed.stdout)["title"].startswith("scftest suite")
    path = scftest(tmp_path, "schema", "--path").stdout.strip()
    assert Path(path).is_file()


def test_runtime_without_interpreter_is_an_error_unless_fallback_is_allowed(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", "- {name: old runtime, event: {n: 5}, expect: {return: {n: 5}}}\n",
                function="runtime: Python3.7\n")
    # A machine with only Python 3.10: a pyenv folder of one version, nothing on PATH.
    pyenv = tmp_path / "pyenv" / "versions" / "3.10.99" / "bin"
    pyenv.mkdir(parents=True)
    (pyenv / "python").symlink_to(INTERPRETERS["3.10"][0])
    machine = {"PYENV_ROOT": str(tmp_path / "pyenv"), "PATH": str(tmp_path / "empty")}
    strict = scftest(tmp_path, "run", ".", "--json", "strict.json", env_extra=machine)
    assert strict.returncode == 1, strict.stdout
    assert "no interpreter for Python3.7" in strict.stdout
    assert "--runtime Python3.7=" in strict.stdout  # says how to provide one
    case = json.loads((tmp_path / "strict.json").read_text())["cases"][0]
    assert case["verdict"] == "error"

    fallback = scftest(tmp_path, "run", ".", "-v", "--runtime-fallback", "--json", "fb.json", "--junit-xml", "fb.xml",
                       env_extra=machine)
    assert fallback.returncode == 0, fallback.stdout
    record = json.loads((tmp_path / "fb.json").read_text())["cases"][0]["record"]
    assert record["runtime"] == "Python3.7" and record["runtime_fallback"] is True
    assert record["interpreter_version"].startswith("3.10.")
    assert "fallback: Python3.7 ran on Python 3.10" in fallback.stdout
    assert "fallback: Python3.7 ran on Python 3.10" in (tmp_path / "fb.xml").read_text()


def test_a_runtime_option_for_a_runtime_scf_does_not_offer_is_a_usage_error(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", "- {name: a}\n")
    result = scftest(tmp_path, "run", ".", "--runtime", f"Python3.11={sys.executable}")
    assert result.returncode == 4 and "Traceback" not in result.stderr
    assert "'Python3.11' is not a runtime SCF offers; the runtimes are: Python2.7, Python3.6, " \
           "Python3.7, Python3.9, Python3.10" in result.stderr


def _unstartable(root: Path) -> dict:
    """Interpreters that cannot run a case, by what is wrong with them."""
    (root / "bin").mkdir()
    no_exec = root / "bin" / "no-exec-python"
    no_exec.write_bytes(Path(sys.executable).resolve().read_bytes()[:4096])  # a binary's head, mode 644
    text = root / "bin" / "text-python"
    text.write_text("this is not an interpreter\n")
    text.chmod(0o755)
    # Answers scftest's version probe, then makes itself non-executable: the interpreter
    # breaks during the run (a pyenv uninstall, a chmod), after it was found.
    vanishing = root / "bin" / "vanishing-python"
    vanishing.write_text('#!/bin/sh\nchmod -x "$0"\nprintf 3.6.15\n')
    vanishing.chmod(0o755)
    return {"not executable": str(no_exec), "not an interpreter": "/bin/false",
            "a text file": str(text), "a folder": str(root / "bin"), "breaks during the run": str(vanishing)}


def test_an_interpreter_that_cannot_be_started_is_an_error_verdict_never_an_internal_error(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", "- {name: a, event: {n: 1}, expect: {return: {n: 1}}}\n",
                function="runtime: Python3.6\n")
    for what, path in _unstartable(tmp_path).items():
        result = scftest(tmp_path, "run", ".", "--runtime", f"Python3.6={path}", "--json", "r.json")
        shown = result.stdout + result.stderr
        assert result.returncode == 1, (what, shown)  # a case error, not exit 3
        assert "internal error" not in shown and "Traceback" not in shown, (what, shown)
        assert path in shown, (what, shown)  # names the interpreter
        case = json.loads((tmp_path / "r.json").read_text())["cases"][0]
        assert case["verdict"] == "error" and case["record"] is None, (what, case)
        if what == "breaks during the run":
            assert f"cannot start the interpreter {path}: Permission denied" in shown
            assert "--runtime Python3.6=PATH" in shown  # says what to do
        else:
            assert "no interpreter for Python3.6" in shown and "unusable" in shown


def test_a_closed_stdout_does_not_lose_the_run_or_its_reports(tmp_path: Path) -> None:
    cases = "".join(f"- {{name: case {i}, event: {{n: {i}}}, expect: {{return: {{n: {i}}}}}}}\n" for i in range(20))
    write_suite(tmp_path, "s.yaml", cases)
    env = dict(os.environ, NO_COLOR="1")
    proc = subprocess.Popen([sys.executable, "-m", "scftest", "run", ".", "-vv", "--json", "r.json"],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # like `scftest run | head -1`
    stderr = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 0, stderr
    assert "Traceback" not in stderr and "Broken pipe" not in stderr
    assert len(json.loads((tmp_path / "r.json").read_text())["cases"]) == 20


def test_an_unwritable_report_path_costs_that_report_only(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", "- {name: a, event: {n: 1}}\n")
    (tmp_path / "blocker").write_text("a file where a folder should be")
    result = scftest(tmp_path, "run", ".", "--junit-xml", "blocker/r.xml", "--json", "r.json")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "scftest: cannot write the report blocker/r.xml" in result.stderr
    assert "Traceback" not in result.stderr
    assert json.loads((tmp_path / "r.json").read_text())["cases"][0]["verdict"] == "passed"


def test_color_on_request_and_never_with_no_color(tmp_path: Path) -> None:
    write_suite(tmp_path, "s.yaml", "- {name: a, event: {n: 1}}\n")
    colored = scftest(tmp_path, "run", ".", "--color", "yes")
    assert "\x1b[32m" in colored.stdout
    plain = scftest(tmp_path, "run", ".")  # NO_COLOR=1 in scftest()'s environment, and not a TTY
    assert "\x1b[" not in plain.stdout


def test_run_without_paths_uses_the_suites_folder(tmp_path: Path) -> None:
    (tmp_path / "suites").mkdir()
    write_suite(tmp_path / "suites", "s.yaml", "- {name: from suites folder, event: {n: 1}}\n")
    (tmp_path / "elsewhere.yaml").write_text("cases: [{name: not me}]\n")
    result = scftest(tmp_path, "run", "-v")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "s::from suites folder" in result.stdout and "not me" not in result.stdout
