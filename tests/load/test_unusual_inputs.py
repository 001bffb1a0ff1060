"""Values a process cannot be started with, bytes that are not UTF-8, a byte order mark,
aliases that expand a file a billionfold, a code path that is not a folder, an empty path
on the command line, a pyproject.toml table of the wrong shape, a path whose target
vanished (issue 10):
each is a located problem (exit 4) or simply works, through the real CLI, and the other
suite still runs with both reports written.
"""

from __future__ import annotations

import json
import os
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import needs, run_scftest as scftest

from scftest.load.loader import load_paths

HEAD = "function: {code: ../fn, handler: index.main_handler}\ncases:\n"
GOOD_SUITE = ("function: {code: ../fn, handler: index.main_handler, runtime: Python3.6}\n"
              "cases:\n  - name: good case\n    expect: {return: {n: 1}}\n")
# 9 ** 9 values from ten lines: a6 (9 ** 7) is the first anchor that alone is too many.
ALIAS_BOMB = "\n".join(["a0: &a0 [x, x, x, x, x, x, x, x, x]"] + [
    f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]) + "\n" + HEAD + \
    "  - {name: c, event: *a8}\n"

# name -> (suite bytes, "line:col" of the problem, words the problem must hold)
UNUSUAL = {
    "nul_in_case_environment": (HEAD + '  - {name: c, environment: {A: "x\\0y"}}\n', "3:32",
                                ["environment.A contains a NUL character (\\0), which no environment variable "
                                 "can hold — remove it from the value"]),
    "nul_in_function_environment": (
        'function: {code: ../fn, handler: index.main_handler, environment: {B: "\\0"}}\ncases:\n'
        "  - {name: c, environment: {A: ok}}\n", "1:71", ["environment.B contains a NUL character"]),
    "nul_in_context_function_name": (HEAD + '  - {name: c, context: {function_name: "f\\0"}}\n', "3:40",
                                     ["context.function_name contains a NUL character"]),
    "nul_in_context_region": (HEAD + '  - {name: c, context: {tencentcloud_region: "\\0"}}\n', "3:46",
                              ["context.tencentcloud_region contains a NUL character"]),
    "latin1_on_line_3": (HEAD.encode() + "  - name: caf\xe9\n".encode("latin-1"), "3:14",
                         ["the file is not UTF-8 text: the byte 0xE9 here", "save the file as UTF-8"]),
    "alias_bomb": (ALIAS_BOMB, "7:5", ["the document expands to more than 1,000,000 values",
                                       "check for aliases (*name) that repeat large parts"]),
    "code_is_a_file": (HEAD + "  - {name: c, code: ../fn/index.py}\n", "3:21",
                       ["code '../fn/index.py' is a file, not a folder", "point code at the folder"]),
}


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A handler returning {"n": 1} (index) and one returning its event (echo), a good suite."""
    for folder in ("fn", "suites"):
        (tmp_path / folder).mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return {'n': 1}\n")
    (tmp_path / "fn" / "echo.py").write_text("def main_handler(event, context):\n    return event\n")
    (tmp_path / "suites" / "a_good.yaml").write_text(GOOD_SUITE)
    return tmp_path


def write(path: Path, content) -> None:
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))


@pytest.mark.parametrize("name", sorted(UNUSUAL))
def test_each_unusual_suite_is_one_located_problem(project: Path, name: str) -> None:
    content, where, words = UNUSUAL[name]
    path = project / "suites" / "bad.yaml"
    write(path, content)
    loaded = load_paths([path])
    assert not loaded.suites
    shown = [str(problem) for problem in loaded.problems]
    assert len(shown) == 1 and f"bad.yaml:{where}: " in shown[0], shown
    for word in words:
        assert word in shown[0], (word, shown)


@needs("3.6")
def test_unusual_suites_never_stop_the_good_suite_or_the_reports(project: Path) -> None:
    for name, (content, _, _) in UNUSUAL.items():
        write(project / "suites" / f"b_{name}.yaml", content)
    result = scftest(project, "run", "suites", "--junit-xml", "out/r.xml", "--json", "out/r.json")
    output = result.stdout + result.stderr
    assert result.returncode == 4, output
    assert "Traceback" not in output and "internal error" not in output, output
    for name, (_, where, words) in UNUSUAL.items():
        assert f"suites/b_{name}.yaml:{where}: {words[0]}" in output, (name, output)
    report = json.loads((project / "out" / "r.json").read_text())
    assert {c["id"]: c["verdict"] for c in report["cases"]} == {"a_good::good case": "passed"}
    assert sorted(Path(p["file"]).name for p in report["problems"]) == sorted(f"b_{n}.yaml" for n in UNUSUAL)
    assert int(ET.parse(project / "out" / "r.xml").getroot().get("errors")) == len(UNUSUAL)
    checked = scftest(project, "validate", "suites")
    assert checked.returncode == 4 and "Traceback" not in checked.stdout + checked.stderr
    assert f"1 suite(s) valid with 1 case(s); {len(UNUSUAL)} file(s) with problems" in checked.stdout


@needs("3.6")
def test_a_byte_order_mark_is_read_past_in_suites_and_json_event_files(project: Path) -> None:
    """Windows editors (Notepad) save UTF-8 with a byte order mark first."""
    write(project / "suites" / "event.json", b'\xef\xbb\xbf{"who": "\xe5\xbc\xa0\xe4\xb8\x89"}')
    write(project / "suites" / "bom.yaml", b"\xef\xbb\xbf" + (
        "function: {code: ../fn, handler: echo.main_handler, runtime: Python3.6}\ncases:\n"
        "  - name: reads the event\n    event_file: event.json\n    expect: {return: {who: 张三}}\n").encode())
    result = scftest(project, "run", "suites", "--json", "r.json")
    assert result.returncode == 0, result.stdout + result.stderr
    verdicts = {c["id"]: c["verdict"] for c in json.loads((project / "r.json").read_text())["cases"]}
    assert verdicts == {"a_good::good case": "passed", "bom::reads the event": "passed"}


def test_an_event_file_that_is_not_utf8_names_the_place_in_it(project: Path) -> None:
    write(project / "suites" / "event.json", b'{"a": 1,\n "b": "\xff"}')
    write(project / "suites" / "b.yaml", HEAD + "  - {name: c, event_file: event.json}\n")
    result = scftest(project, "validate", "suites/b.yaml")
    assert result.returncode == 4, result.stdout + result.stderr
    assert ("b.yaml:3:27: the event file 'event.json' is not valid (2:8: the file is not UTF-8 text: the byte "
            "0xFF here (invalid start byte)) — save the file as UTF-8") in result.stdout


@pytest.mark.parametrize("args", [("run", "suites", "--json", ""), ("run", "--junit-xml", "", "suites"),
                                  ("validate", ""), ("run", "suites", "")])
def test_an_empty_path_on_the_command_line_is_a_usage_error(project: Path, args) -> None:
    """Path("") is "." : `scftest run "$SUITE"` with SUITE unset would run this whole folder."""
    result = scftest(project, *args)
    assert result.returncode == 4, result.stdout + result.stderr
    assert "an empty path: give a name (is a shell variable unset?)" in result.stderr
    assert result.stdout == "" and not list(project.glob("*.json"))


@pytest.mark.parametrize("pyproject, words", [
    ('[tool.scftest]\nsuites = 5\n', "[tool.scftest] suites must be a folder or a list of folders, not 5"),
    ('[tool.scftest]\nsuites = ["suites", 5]\n', "[tool.scftest] suites holds 5, which is not a path"),
    ('[tool.scftest]\nsuites = ["\\u0000"]\n', "[tool.scftest] suites holds '\\x00', which is not a path"),
    ('[tool.scftest]\nsuites = [""]\n', "[tool.scftest] suites holds '', which is not a path"),
    ('[tool.scftest]\nruntimes = 5\n', "[tool.scftest.runtimes] must be a table of runtime = path, not 5"),
    ('[tool.scftest.runtimes]\nPython3.6 = 5\n', '[tool.scftest.runtimes] "Python3.6" must be a path (a string)'),
    ('[tool]\nscftest = 5 # [tool.scftest\n', "tool.scftest must be a table ([tool.scftest]), not 5"),
    (b'\xff[tool.scftest]\n', "not UTF-8 text (invalid start byte) — save it as UTF-8"),
])
def test_a_pyproject_table_of_the_wrong_shape_is_a_usage_error(project: Path, pyproject, words: str) -> None:
    write(project / "pyproject.toml", pyproject)
    for command in ("run", "validate"):
        result = scftest(project, command)
        assert result.returncode == 4, result.stdout + result.stderr
        assert f"scftest: {project / 'pyproject.toml'}: {words}" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_path_whose_target_vanished_is_a_problem_not_a_crash(project: Path) -> None:
    """/proc/PID/cwd of a process that has ended is a link that cannot be resolved."""
    ended = subprocess.Popen(["true"])
    try:
        while not (Path(f"/proc/{ended.pid}/stat").read_text().split()[2] == "Z"):
            os.sched_yield()
        result = scftest(project, "validate", f"/proc/{ended.pid}/cwd", "suites")
    finally:
        ended.wait()
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"/proc/{ended.pid}/cwd: no such file or folder" in result.stdout
    assert "1 suite(s) valid with 1 case(s); 1 file(s) with problems" in result.stdout
