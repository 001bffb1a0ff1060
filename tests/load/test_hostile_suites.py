"""Suites and folders that used to crash or hang the loader (issue 10), through the real CLI.

Each is a ``file:line:col: what — what to do`` problem (exit 4), or a note for a path that
is not a suite, while the good suite still runs and both reports are written.
"""

from __future__ import annotations

import json
import os
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import needs, run_scftest as scftest

from scftest.load.loader import load_paths

HEAD = "function: {code: ../fn, handler: index.main_handler}\ncases:\n  - name: c\n"

# name -> (suite text, "line:col" of the problem, words its message must hold)
HOSTILE = {
    "regex_tag_in_log": (HEAD + "    expect:\n      log: [!regex 'Hello W.rld']\n",
                         "5:13", ["the matcher !regex 'Hello W.rld' is only allowed inside expect",
                                  "write - regex: 'Hello W.rld'"]),
    "matcher_as_handler": (HEAD + "    handler: !any\n", "4:14", ["the matcher !any is only allowed"]),
    "matcher_as_name": (HEAD.replace("name: c", "name: !type string"), "3:11", ["the matcher !type string"]),
    "matcher_in_tags": (HEAD + "    tags: [smoke, !any]\n", "4:19", ["the matcher !any"]),
    "matcher_as_trigger": (HEAD + "    trigger: !regex api\n", "4:14", ["the matcher !regex 'api'"]),
    "matcher_as_runtime": (HEAD + "    runtime: !contains '3.6'\n", "4:14", ["the matcher !contains '3.6'"]),
    "matcher_as_error_type": (HEAD + "    expect:\n      error: {type: !regex Value}\n", "5:21",
                              ["the matcher !regex 'Value'", "write type: ValueError"]),
    "matcher_as_error_message": (HEAD + "    expect:\n      error: {message: !regex '^no'}\n", "5:24",
                                 ["error.message is already a regular expression: write message: '^no'"]),
    "matcher_in_ignore": (HEAD + "    expect:\n      ignore: [!any]\n", "5:16", ["the matcher !any"]),
    "matcher_in_event": (HEAD + "    event: {expect: {return: !any }}\n", "4:30", ["the matcher !any"]),
    "env_in_event": (HEAD + "    event: {environment: {X: !env HOME}}\n", "4:30",
                     ["!env HOME is only allowed as a value under environment:"]),
    "empty_int": (HEAD + "    timeout: !!int ''\n", "4:14", ["'' cannot be read as a whole number (!!int)"]),
    "endless_digits": (HEAD + "    event: {n: " + "9" * 5000 + "}\n", "4:16", ["cannot be read as a whole number"]),
    "nul_in_code": (HEAD + '    code: "fn\\0x"\n', "4:11", ["code contains a NUL character"]),
    "nul_in_event_file": (HEAD + '    event_file: "e\\0.json"\n', "4:17", ["event_file contains a NUL character"]),
    "raw_nul_byte": (HEAD + "    event: {a: \x00}\n", "4:16", ["control character U+0000"]),
    "nested_400_flow": (HEAD + "    event: " + "[" * 400 + "]" * 400 + "\n", "4:",
                        ["nested more than 100 levels deep"]),
    "nested_400_block": (HEAD + "    event:\n" + "".join(" " * (6 + 2 * i) + f"k{i}:\n" for i in range(400)),
                         "103:203", ["nested more than 100 levels deep"]),
    "json_2000_deep": (HEAD + "    expect:\n      return: !json '" + "[" * 2000 + "]" * 2000 + "'\n", "5:15",
                       ["!json: the values are nested more than 100 levels deep"]),
    "bad_log_regex": (HEAD + "    expect:\n      log: [{regex: 'order (\\d+'}]\n", "5:21",
                      ["log[0].regex 'order (\\d+' is not a valid regular expression", "missing )"]),
    "bad_absent_regex": (HEAD + "    expect:\n      log: [{absent_regex: '[a-'}]\n", "5:28",
                         ["log[0].absent_regex '[a-' is not a valid regular expression"]),
    "bad_regex_tag": (HEAD + "    expect:\n      return: !regex '*x'\n", "5:15",
                      ["!regex '*x' is not a valid regular expression"]),
    "bad_error_message": (HEAD + "    expect:\n      error: {message: '(unclosed'}\n", "5:24",
                          ["error.message '(unclosed' is not a valid regular expression"]),
    "bad_error_traceback": (HEAD + "    expect:\n      error: {traceback: 'a{2,1}'}\n", "5:26",
                            ["error.traceback 'a{2,1}' is not a valid regular expression"]),
    "bad_return_schema": (HEAD + "    expect:\n      return_schema: {type: object, required: statusCode}\n",
                          "5:47", ["return_schema.required is not a valid JSON Schema"]),
    "nan_budget": (HEAD + "    expect:\n      duration_ms: {max: .nan}\n", "5:26",
                   ["duration_ms.max must be a finite number, not .nan", "duration_ms: {max: 500}"]),
    "inf_budget": (HEAD + "    expect:\n      memory_mb: {max: .inf}\n", "5:24",
                   ["memory_mb.max must be a finite number, not .inf"]),
    "leading_tab": (HEAD + "    expect:\n\t  return: 1\n", "5:1", ["indented with a Tab character",
                                                                 "replace the Tab"]),
}

GOOD_SUITE = """\
function: {code: ../fn, handler: index.main_handler, runtime: Python3.6}
cases:
  - name: good case
    expect: {return: {n: 1}}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return {'n': 1}\n")
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "a_good.yaml").write_text(GOOD_SUITE)
    return tmp_path


def write_hostile(project: Path) -> None:
    for name, (text, _, _) in HOSTILE.items():
        (project / "suites" / f"b_{name}.yaml").write_text(text, encoding="utf-8")


def assert_every_problem_is_reported(output: str) -> None:
    for name, (_, where, words) in HOSTILE.items():
        lines = [line for line in output.splitlines() if f"b_{name}.yaml:" in line]
        assert lines, f"{name}: no problem reported\n{output}"
        assert any(f"b_{name}.yaml:{where}" in line for line in lines), (name, lines)
        for word in words:
            assert any(word in line for line in lines), (name, word, lines)
        assert all(" — " in line for line in lines), (name, lines)  # every problem says what to do


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_each_hostile_suite_is_one_located_problem(project: Path, name: str) -> None:
    text, where, words = HOSTILE[name]
    path = project / "suites" / "bad.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_paths([path])
    assert not loaded.suites
    shown = [str(problem) for problem in loaded.problems]
    assert any(f"bad.yaml:{where}" in line for line in shown), shown
    for word in words:
        assert any(word in line for line in shown), (word, shown)


@needs("3.6")
def test_hostile_suites_never_stop_the_good_suite_or_the_reports(project: Path) -> None:
    write_hostile(project)
    result = scftest(project, "run", "suites", "--junit-xml", "out/r.xml", "--json", "out/r.json")
    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    assert "Traceback" not in output and "internal error" not in output
    assert_every_problem_is_reported(output)
    report = json.loads((project / "out" / "r.json").read_text())
    assert {c["id"]: c["verdict"] for c in report["cases"]} == {"a_good::good case": "passed"}
    assert {Path(p["file"]).name for p in report["problems"]} == {f"b_{name}.yaml" for name in HOSTILE}
    junit = ET.parse(project / "out" / "r.xml").getroot()
    assert int(junit.get("errors")) == len(report["problems"])


def test_validate_reports_the_same_problems(project: Path) -> None:
    write_hostile(project)
    result = scftest(project, "validate", "suites")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert_every_problem_is_reported(result.stdout)
    assert f"1 suite(s) valid with 1 case(s); {len(HOSTILE)} file(s) with problems" in result.stdout


# ------------------------------------------------------------------------- folders


def unlistable_folder() -> str:
    """A folder that even root cannot list here (another process's cwd under /proc), or ''."""
    for candidate in ("/proc/1/cwd", "/proc/1/root"):
        try:
            os.listdir(candidate)
        except PermissionError:
            return candidate
        except OSError:
            continue
    return ""


REPORTS = ("--json", "r.json", "--junit-xml", "r.xml")


def assert_reports(project: Path, passed: int, problems: int) -> None:
    """Both reports were written: the good suite's case passed, each problem is there."""
    report = json.loads((project / "r.json").read_text())
    assert report["totals"]["passed"] == passed and len(report["problems"]) == problems, report
    assert int(ET.parse(project / "r.xml").getroot().get("errors")) == problems


@needs("3.6")
def test_fifo_loops_and_links_to_the_root_are_passed_over_with_a_note(project: Path) -> None:
    suites = project / "suites"
    os.mkfifo(suites / "x.yaml")  # reading it would block forever
    (suites / "root").symlink_to("/")
    (suites / "up").symlink_to("..")
    (suites / "self").symlink_to("self")
    (suites / "nothing").symlink_to("missing-folder")
    result = scftest(project, "run", "suites", "-v", *REPORTS)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "passed over suites/x.yaml: it is a FIFO (named pipe), not a regular file" in output
    assert "passed over suites/root: a link to /, a folder that holds this one" in output
    assert f"passed over suites/up: a link to {project}, a folder that holds this one" in output
    assert "passed over suites/self: a link that loops" in output
    assert "passed over suites/nothing: a link to nothing" in output
    assert_reports(project, passed=1, problems=0)


@needs("3.6")
def test_a_fifo_named_on_the_command_line_is_a_problem(project: Path) -> None:
    os.mkfifo(project / "x.yaml")
    result = scftest(project, "validate", "x.yaml", "suites")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "x.yaml: it is a FIFO (named pipe), not a suite file — give scftest suite files" in result.stdout
    assert "1 suite(s) valid with 1 case(s); 1 file(s) with problems" in result.stdout
    ran = scftest(project, "run", "x.yaml", "suites", *REPORTS)
    assert ran.returncode == 4, ran.stdout + ran.stderr
    assert "x.yaml: it is a FIFO (named pipe), not a suite file" in ran.stdout
    assert_reports(project, passed=1, problems=1)


@needs("3.6")
def test_a_suite_link_that_points_nowhere_or_loops_is_a_problem(project: Path) -> None:
    (project / "suites" / "gone.yaml").symlink_to("deleted.yaml")
    (project / "suites" / "loop.yaml").symlink_to("loop.yaml")
    for command in (("validate", "suites"), ("run", "suites", *REPORTS)):
        result = scftest(project, *command)
        assert result.returncode == 4, result.stdout + result.stderr
        assert "suites/gone.yaml: a broken link: the file it points to does not exist — fix or remove the " \
               "link" in result.stdout
        assert "suites/loop.yaml: cannot read this path: Too many levels of symbolic links" in result.stdout
    assert_reports(project, passed=1, problems=2)


@needs("3.6")
def test_a_link_into_an_unreadable_folder_is_a_problem_for_that_path(project: Path) -> None:
    folder = unlistable_folder()
    if not folder:
        pytest.skip("no folder here that root cannot list (/proc/1/cwd is readable)")
    (project / "suites" / "private").symlink_to(folder)
    (project / "suites" / "inside").symlink_to(folder + "/suites")
    result = scftest(project, "run", "suites", *REPORTS)
    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    assert "suites/private: cannot read this path: Permission denied — check its permissions" in output
    assert "suites/inside: cannot read this path: Permission denied" in output
    assert_reports(project, passed=1, problems=2)


def test_an_event_file_that_is_a_fifo_or_too_deep_is_a_problem(project: Path) -> None:
    os.mkfifo(project / "suites" / "event.json")
    (project / "suites" / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (project / "suites" / "b.yaml").write_text(textwrap.dedent("""\
        function: {code: ../fn, handler: index.main_handler}
        cases:
          - name: fifo
            event_file: event.json
          - name: deep
            event_file: deep.json
        """))
    result = scftest(project, "validate", "suites/b.yaml")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "b.yaml:4:17: the event file 'event.json' cannot be read: it is a FIFO (named pipe), not a " \
           "regular file" in result.stdout
    assert "b.yaml:6:17: the event file 'deep.json': the values are nested more than 100 levels deep" \
        in result.stdout


# ------------------------------------------------------------------------ warnings


@pytest.mark.parametrize("text, hint", [
    ("{msg: 你好, 张三}", "quote it: msg: '你好, 张三'"),
    ("{a: 1, b: 2, c, d}", "quote it: b: '2, c, d'"),
    ("{a: it's, b}", "quote it: a: 'it''s, b'"),
    ("{a: 1,\n      b}", "quote it: a: '1, b'"),
    ("{a: 1, b: }", None),  # the colon says the empty value is meant
    ("{a: x, ? b}", None),  # so does the explicit key
    ("{a: 'x', b}", None),  # a quoted value: its text has no comma in it
    ("[你好, 张三]", None),  # a list means its commas
    ("'你好, 张三'", None),
])
def test_a_flow_entry_without_a_value_after_text_is_a_warning(tmp_path: Path, text: str, hint) -> None:
    path = tmp_path / "w.yaml"
    path.write_text("function: {code: ., handler: index.main_handler}\ncases:\n  - name: c\n"
                    f"    event: {text}\n", encoding="utf-8")
    loaded = load_paths([path])
    assert not loaded.problems and len(loaded.suites) == 1  # a warning never stops the suite
    shown = [str(warning) for warning in loaded.warnings]
    if hint is None:
        assert shown == []
    else:
        assert len(shown) == 1 and hint in shown[0] and ": warning: " in shown[0], shown


@needs("3.6")
def test_warnings_reach_the_terminal_and_do_not_fail_the_run(project: Path) -> None:
    (project / "suites" / "w.yaml").write_text(
        "function: {code: ../fn, handler: index.main_handler, runtime: Python3.6}\n"
        "cases:\n  - name: greets\n    event: {msg: 你好, 张三}\n    expect: {return: {n: 1}}\n", encoding="utf-8")
    result = scftest(project, "run", "suites", "--json", "r.json", "--junit-xml", "r.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    line = ("suites/w.yaml:4:22: warning: '张三' has no value: inside { } a comma separates entries, so the "
            "text after the comma became a key of its own — to keep the comma in the text, quote it: "
            "msg: '你好, 张三'")
    assert line in result.stdout
    report = json.loads((project / "r.json").read_text(encoding="utf-8"))
    assert [w["text"] for w in report["warnings"]] == [line] and report["exit_status"] == 0
    junit = ET.parse(project / "r.xml").getroot()
    assert [s.find("system-err").text for s in junit.iter("testsuite") if s.get("file") == "suites/w.yaml"] == [line]
    checked = scftest(project, "validate", "suites")
    assert checked.returncode == 0, checked.stdout
    assert line in checked.stdout
    assert "2 suite(s) valid with 2 case(s); 0 file(s) with problems; 1 warning(s)" in checked.stdout
