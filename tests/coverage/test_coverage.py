"""--cov: coverage.py measures the handler code inside each instance, on the real interpreters
(2.7, 3.6, 3.10), each with the coverage.py release scftest provisions for it; the data is
combined across cases, runtimes and warm steps and written as a terminal table, Cobertura XML
and HTML."""

from __future__ import annotations

import json
import os
import textwrap
import threading
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import INTERPRETERS, invoke_once, make_call, needs, run_scftest, shared_sandbox
from scftest import render
from scftest.coverage.model import CoverageResult, FileCoverage
from scftest.coverage.provision import CoverageError, Provider
from scftest.coverage.sink import CoverageSetup, Sink
from scftest.coverage.releases import release_for
from scftest.errors import UsageError
from scftest.instance.bootstrap import BootstrapCache
from scftest.instance.spawn import SpawnInstance
from scftest.report.coverage_report import cobertura, parse_report, term

HANDLER = textwrap.dedent('''\
    import sys

    SEEN = []


    def main(event, context):
        SEEN.append(event.get("kind"))
        if sys.version_info[0] == 2:
            major = "two"
        else:
            major = "three"
        if event.get("kind") == "a":
            kind = "A"
        elif event.get("kind") == "b":
            kind = "B"
        else:
            kind = "other"
        return {"major": major, "kind": kind, "seen": len(SEEN)}


    def import_coverage(event, context):
        try:
            import coverage
            return "imported " + coverage.__file__
        except ImportError:
            return "no coverage here"


    def leave(event, context):
        import os
        os._exit(3)


    def never_called(event, context):
        return "never"
    ''')

SUITE = textwrap.dedent('''\
    name: cov
    function: {code: fn, handler: index.main}
    matrix:
      runtime: [Python2.7, Python3.6, Python3.10]
    cases:
      - name: kind a
        event: {kind: a}
        expect: {return_includes: {kind: A}}
      - name: warm steps
        invocations:
          - event: {kind: b}
            expect: {return_includes: {kind: B, seen: 1}}
          - event: {}
            expect: {return_includes: {kind: other, seen: 2}}
      - name: the handler cannot import coverage
        handler: index.import_coverage
        expect: {return: no coverage here}
    ''')

# the lines of HANDLER (1-based) the assertions name
MAJOR_TWO, MAJOR_THREE, IMPORTED, NEVER = 9, 11, 24, 35


def test_each_interpreter_gets_the_newest_release_that_supports_it():
    assert [release_for(v) for v in ("2.7.18", "3.6.15", "3.7.16", "3.8.18", "3.9.18", "3.10.13", "3.13.0")] == \
        ["5.5", "6.2", "7.2.7", "7.6.1", "7.10.7", "7.10.7", "7.10.7"]
    with pytest.raises(ValueError, match="2.7 and 3.6"):
        release_for("3.5.10")


def test_branches_and_figures_from_arcs():
    f = FileCoverage(Path("/code/index.py"), frozenset({1, 2, 3, 5}), frozenset({1, 2, 3}),
                     frozenset({(-1, 1), (1, 2), (2, 3), (2, 5), (3, -1), (5, -1)}),
                     frozenset({(-1, 1), (1, 2), (2, 3), (3, -1)}))
    assert f.branches() == {2: (2, 1)}
    assert f.missing == {5}
    table = term(CoverageResult(files=(f,), instances=1), Path("/code"))
    assert "index.py" in table and "TOTAL" in table
    # (3 statements run + 1 exit taken) / (4 statements + 2 exits)
    assert "   67%   5, 2->5" in table


def test_words_of_the_table():
    assert render.line_ranges([7, 1, 2, 3, 5, 9, 10]) == "1-3, 5, 7, 9-10"
    assert render.percent(0, 0) == "100%" and render.percent(199, 200) == "99%" and render.percent(1, 300) == "1%"
    assert render.arc_words([(8, -1), (6, 9)]) == "6->9, 8->exit"


def test_cov_report_spellings():
    assert parse_report("term").kind == "term" and parse_report("term-missing").kind == "term"
    assert parse_report("xml").path == Path("coverage.xml")
    assert parse_report("html:out/cov").path == Path("out/cov")
    with pytest.raises(UsageError, match="term, xml\\[:PATH\\] or html\\[:DIR\\]"):
        parse_report("lcov:x")


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """One provisioned cache for the module: each interpreter's coverage.py, installed by its pip."""
    root = tmp_path_factory.mktemp("cache")
    provider = Provider(root / "scftest" / "coverage")
    for version in ("2.7", "3.6", "3.10"):
        found = INTERPRETERS.get(version)  # (path, full version) or None
        if not found:
            continue
        try:
            provider.folder(*found)
        except CoverageError as exc:
            if "pip could not install" in str(exc):
                pytest.skip(f"coverage.py cannot be installed here: {exc}")
            raise
    return root


def project(tmp_path: Path, suite: str = SUITE) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(HANDLER)
    (tmp_path / "suite.yaml").write_text(suite)
    return tmp_path


@needs("2.7", "3.6", "3.10")
def test_cov_measures_inside_each_instance_and_combines_runtimes_and_warm_steps(tmp_path, cache):
    root = project(tmp_path)
    done = run_scftest(root, "run", "suite.yaml", "--cov", "--cov-report", "term", "--cov-report", "xml:out/cov.xml",
                       "--cov-report", "html:out/html", env_extra={"XDG_CACHE_HOME": str(cache)}, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr  # the handler could not import coverage
    assert "9 passed" in done.stdout
    # the table: the file by its path on the runner's disk, never /var/user
    assert "coverage of the handler code (9 instances measured)" in done.stdout
    line = next(text for text in done.stdout.splitlines() if text.startswith("fn/index.py"))
    # (20 statements run + 6 branch exits taken) / (24 + 6): 87%
    assert line.split() == ["fn/index.py", "24", "4", "6", "0", "87%", f"{IMPORTED},", "30-31,", f"{NEVER}"], line
    assert "/var/user" not in done.stdout
    # the XML: Cobertura, lines and branches combined over 2.7 and 3.x (each ran one arm of the if)
    tree = ET.parse(root / "out" / "cov.xml").getroot()
    assert tree.tag == "coverage" and tree.find("sources/source").text == str(root.resolve())
    cls = tree.find("packages/package/classes/class")
    assert cls.get("filename") == "fn/index.py" and cls.get("name") == "index.py"
    hits = {int(node.get("number")): node for node in cls.iter("line")}
    assert hits[MAJOR_TWO].get("hits") == "1" and hits[MAJOR_THREE].get("hits") == "1"
    assert hits[IMPORTED].get("hits") == "0" and hits[NEVER].get("hits") == "0"
    # the if on the version took both ways, over the runtimes
    assert hits[MAJOR_TWO - 1].get("condition-coverage") == "100% (2/2)"
    # the elif chain saw a, b (a warm step) and other (the next warm step)
    assert hits[MAJOR_THREE + 1].get("condition-coverage") == "100% (2/2)"
    assert hits[MAJOR_THREE + 3].get("condition-coverage") == "100% (2/2)"
    assert tree.get("lines-valid") == str(len(hits))
    # the HTML: one page, each line marked
    page = (root / "out" / "html" / "index.html").read_text()
    assert "Coverage of the handler code: 87%" in page
    assert f'<tr class="miss" title="not run"><td class="n">{NEVER}</td>' in page
    assert f'<tr class="run"><td class="n">{MAJOR_TWO}</td>' in page


@needs("3.6")
def test_an_instance_that_leaves_with_os_exit_is_named_and_the_others_still_count(tmp_path, cache):
    suite = textwrap.dedent('''\
        name: cov
        function: {code: fn, handler: index.main, runtime: Python3.6}
        cases:
          - name: fine
            event: {kind: a}
            expect: {return_includes: {kind: A}}
          - name: leaves
            handler: index.leave
            expect: {status: crash}
        ''')
    root = project(tmp_path, suite)
    fresh = {"XDG_CACHE_HOME": str(tmp_path / "fresh")}  # its first run installs coverage.py, and says so
    done = run_scftest(root, "run", "suite.yaml", "--cov", env_extra=fresh, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    folder = tmp_path / "fresh" / "scftest" / "coverage" / "python3.6" / "coverage-6.2"
    assert f"scftest: installing coverage==6.2 for Python {INTERPRETERS['3.6'][1]} into {folder}" in done.stderr
    assert (folder / "coverage" / "__init__.py").is_file()
    again = run_scftest(root, "run", "suite.yaml", "--cov", env_extra=fresh, timeout=600)
    assert "installing" not in again.stderr and again.stdout.count("instance measured") == 1
    assert "coverage of the handler code (1 instance measured)" in done.stdout
    assert "an instance wrote no coverage data: it ended before its first answer" in done.stdout
    assert f"{root.resolve() / 'fn'}: an instance wrote no coverage data" in done.stdout


def test_a_run_that_measured_nothing_says_so():
    assert term(CoverageResult(problems=("x: an instance wrote no coverage data",)), Path(".")) == (
        "coverage: no handler code was measured (no case ran its function)\n"
        "coverage: x: an instance wrote no coverage data\n")


def test_no_cov_no_measurement(tmp_path):
    version = next((v for v in ("3.10", "3.6", "2.7") if INTERPRETERS.get(v)), None)
    if version is None:
        pytest.skip("no interpreter for Python 3.10, 3.6 or 2.7")
    suite = SUITE.replace("[Python2.7, Python3.6, Python3.10]", f"[Python{version}]")
    root = project(tmp_path, suite)
    done = run_scftest(root, "run", "suite.yaml", env_extra={"XDG_CACHE_HOME": str(tmp_path / "empty")})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "coverage" not in done.stdout.replace("cannot import coverage", "")
    assert not (tmp_path / "empty" / "scftest" / "coverage").exists()


def test_a_bad_cov_report_is_a_usage_error(tmp_path):
    root = project(tmp_path)
    done = run_scftest(root, "run", "suite.yaml", "--cov-report", "lcov")
    assert done.returncode == 4 and "--cov-report 'lcov'" in done.stderr and "Traceback" not in done.stderr


def test_python_two_source_reports_without_the_runner_parsing_it(tmp_path):
    """The analysis is the instance's: a Python 2 file the runner's Python cannot parse still reports."""
    f = FileCoverage(tmp_path / "old.py", frozenset({1, 2}), frozenset({1}))
    (tmp_path / "old.py").write_text('print "hello"\nprint "world"\n')
    xml = cobertura(CoverageResult(files=(f,), instances=1), tmp_path)
    assert 'filename="old.py"' in xml and 'line-rate="0.5"' in xml


def test_the_sink_maps_each_instance_to_its_code_folder_and_counts_the_silent_ones(tmp_path):
    sink = Sink()
    try:
        first = sink.open(tmp_path / "fn")
        os.write(first, b'{"root": "/var/user", "files": {"index.py": {"statements": [1, 2], "executed": [1],'
                        b' "arcs_possible": [[-1, 1], [1, 2]], "arcs_executed": [[-1, 1]]}}, "warnings": []}')
        os.close(first)
        second = sink.open(tmp_path / "fn")
        os.write(second, b'{"root": "/var/user", "files": {"index.py": {"statements": [1, 2], "executed": [2],'
                         b' "arcs_possible": [], "arcs_executed": []}}, "warnings": []}')
        os.close(second)
        for _ in range(2):  # two instances that never answered
            os.close(sink.open(tmp_path / "fn"))
        result = sink.combine()
    finally:
        sink.close()
    assert not sink.folder.exists()
    (only,) = result.files
    assert only.path == tmp_path / "fn" / "index.py" and only.executed == {1, 2} and result.instances == 2
    assert result.problems == (f"{tmp_path / 'fn'}: an instance wrote no coverage data: it ended before its first "
                               "answer (a crash, a timeout, or the handler called os._exit) (2 instances)",)


# ------------------------------------------------------------ the instance's descriptor and clock

FIFO_HANDLER = textwrap.dedent('''\
    import os


    def main(event, context):
        # code whose file is a FIFO the test holds: coverage's analysis of it waits for the test
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "held.py")
        exec(compile("def held():\\n    return 1\\n\\n\\nheld()\\n", path, "exec"), {})
        return "answered"
    ''')


def cov_spec(tmp_path, cache, version, code, **overrides):
    folder = Provider(cache / "scftest" / "coverage").folder(*INTERPRETERS[version])
    spec, request = make_call(version, "hello", "index.main", code_root=code, **overrides)
    sink = Sink()
    return spec.__class__(**dict(vars(spec), coverage=CoverageSetup(folder, sink))), request, sink


def sink_descriptors(sink):
    found = []
    for name in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{name}").startswith(str(sink.folder)):
                found.append(int(name))
        except OSError:
            pass
    return found


@needs("3.10")
def test_a_process_start_that_fails_leaves_no_coverage_descriptor_open(tmp_path, cache):
    def refuse(*args):
        raise OSError(24, "Too many open files")

    code = project(tmp_path) / "fn"
    spec, request, sink = cov_spec(tmp_path, cache, "3.10", code)
    bootstrap = BootstrapCache()
    try:
        instance = SpawnInstance(spec, bootstrap, shared_sandbox(), 1, starter=refuse)
        for _ in range(3):
            with pytest.raises(OSError, match="Too many open files"):
                instance.invoke(request)
        assert sink_descriptors(sink) == []
        assert len(list(sink.folder.iterdir())) == 3  # each start had its file; none is held
    finally:
        bootstrap.close()
        sink.close()


@pytest.mark.parametrize("version", [pytest.param(v, marks=needs(v), id=f"py{v}") for v in ("2.7", "3.10")])
def test_saving_coverage_is_not_the_calls_time(tmp_path, cache, version):
    # The save waits on a file the test holds until the call's time limit has passed: had it
    # been part of the call (before the result), the case would time out; it is after the
    # result, so the case answered, its duration within the limit, and the data still came.
    code = tmp_path / "fn"
    code.mkdir()
    (code / "index.py").write_text(FIFO_HANDLER)
    held = code / "held.py"
    os.mkfifo(held)
    spec, request, sink = cov_spec(tmp_path, cache, version, code, timeout_s=1)
    done = threading.Event()

    def hold():
        while not done.is_set():
            try:  # fails (ENXIO) until the instance opens the FIFO to read it
                fd = os.open(held, os.O_WRONLY | os.O_NONBLOCK)
                break
            except OSError:
                done.wait(0.01)
        else:
            return
        deadline = time.monotonic() + spec.timeout_s + 1.0  # the call's limit, and some
        while time.monotonic() < deadline and not done.is_set():
            done.wait(0.05)
        try:
            os.write(fd, b"def held():\n    return 1\n\n\nheld()\n")
        except OSError:
            pass  # the instance is gone (it was timed out): the verdict says so
        os.close(fd)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        record = invoke_once(spec, request)
        result = sink.combine()
    finally:
        done.set()
        holder.join()
        sink.close()
    assert record.status == "success" and record.return_value == "answered", record.log
    assert record.duration_ms <= spec.timeout_s * 1000
    measured = {f.path.name: f for f in result.files}
    assert measured["held.py"].executed == {1, 2, 5} and not result.problems


GATED = textwrap.dedent('''\
    def main(event, context):
        if event.get("a"):
            return 1
        return 2
    ''')


@needs("3.10")
def test_cov_fail_under_fails_the_run_below_the_total_and_says_so(tmp_path, cache):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(GATED)
    (tmp_path / "suite.yaml").write_text(
        "function: {code: fn, handler: index.main, runtime: Python3.10}\ncases:\n  - name: a\n    event: {a: 1}\n")
    env = {"XDG_CACHE_HOME": str(cache)}
    # (3 statements run + 1 branch exit taken) / (4 + 2): 66.67%, shown as 67%
    below = run_scftest(tmp_path, "run", "suite.yaml", "--cov-fail-under", "67.5", "--json", "r.json", env_extra=env)
    assert below.returncode == 1, below.stdout + below.stderr
    assert "1 passed" in below.stdout and "TOTAL            4      1      2      1    67%" in below.stdout
    assert below.stdout.rstrip().endswith("coverage: the total 66.67% is below --cov-fail-under 67.5%: the run fails")
    assert json.loads((tmp_path / "r.json").read_text())["exit_status"] == 1  # the reports agree
    # as coverage.py's fail_under: the total rounded to a whole percent (67) is what is compared
    reached = run_scftest(tmp_path, "run", "suite.yaml", "--cov-fail-under", "67", "--cov-report", "xml:c.xml",
                          env_extra=env)
    assert reached.returncode == 0, reached.stdout + reached.stderr
    assert reached.stdout.rstrip().endswith("coverage: the total 66.67% reaches --cov-fail-under 67%")
    assert (tmp_path / "c.xml").is_file()
    # 100 means every line and branch; a run of nothing measured fails the gate
    assert run_scftest(tmp_path, "run", "suite.yaml", "--cov-fail-under", "100", env_extra=env).returncode == 1
    nothing = run_scftest(tmp_path, "run", "suite.yaml", "-k", "nothing-matches", "--cov-fail-under", "10",
                          env_extra=env)
    assert nothing.returncode == 5  # no case selected: pytest's 5, as without the gate
    for bad in ("101", "x", "nan", "-1"):
        refused = run_scftest(tmp_path, "run", "suite.yaml", "--cov-fail-under", bad, env_extra=env)
        assert refused.returncode == 4 and f"'{bad}': give a percentage from 0 to 100" in refused.stderr
        assert "Traceback" not in refused.stderr


def test_the_gate_follows_coverage_py_fail_under():
    result = CoverageResult(files=(FileCoverage(Path("/c/i.py"), frozenset(range(1, 201)), frozenset(range(1, 200))),))
    assert result.total_percent == 99.5
    assert not result.fails_under(99.5) and not result.fails_under(90)
    assert result.fails_under(100)  # 100 is every statement: 99.5 is not rounded up to it
    assert CoverageResult().fails_under(0)  # nothing measured never passes a gate
    assert render.coverage_gate(CoverageResult(), 80) == (
        "coverage: no handler code was measured, so --cov-fail-under 80% is not reached: the run fails")
