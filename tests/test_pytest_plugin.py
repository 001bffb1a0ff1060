"""The pytest plugin (scftest/pytest_plugin.py) on a small project, run as a user runs pytest:
``python -m pytest`` in a subprocess, in the project's folder, with the plugin found through
its ``pytest11`` entry point (the editable install of scftest)."""

import json
import os
import subprocess
import sys
import textwrap
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import needs

pytestmark = needs("3.6")

HANDLER = textwrap.dedent('''\
    import sys

    def main(event, context):
        print("serving " + str(event.get("id")))
        return {"id": event.get("id"), "item": "coffee", "python": "%d.%d" % sys.version_info[:2]}

    def boom(event, context):
        raise ValueError("no such order")
    ''')

ORDERS = textwrap.dedent('''\
    name: orders
    function: {code: fn, handler: index.main, runtime: Python3.6}
    cases:
      - name: get an order
        tags: [smoke]
        event: {id: 42}
        expect:
          return_includes: {id: 42, item: coffee}
          log: [serving 42]
      - name: wrong item
        event: {id: 7}
        expect:
          return_includes: {item: tea}
      - name: not ready
        skip: the tea API is not deployed yet
        event: {id: 1}
      - name: known bug
        xfail: the handler cannot find orders yet
        handler: index.boom
        expect: {return: {id: 1}}
    ''')

MATRIX = textwrap.dedent('''\
    name: matrix
    function: {code: fn, handler: index.main}
    matrix:
      runtime: [Python3.6]
    cases:
      - name: runs on each runtime
        event: {id: 3}
        expect:
          return_includes: {id: 3}
    ''')

BROKEN = textwrap.dedent('''\
    name: broken
    function: {code: fn, handler: index.main}
    cases:
      - name: a typo
        event: {id: 1}
        expect:
          retrun: {id: 1}
    ''')

NOT_A_SUITE = "name: ci settings\njobs: [build, test]\n"


def make_project(root: Path, suites: str = "", testpaths: str = "", extra=None) -> Path:
    """A project with a function, suites/orders.yaml, suites/matrix.yaml and YAML that is
    not a suite (.github-like config, in the suites folder and beside it)."""
    (root / "suites" / "fn").mkdir(parents=True)
    (root / "suites" / "fn" / "index.py").write_text(HANDLER)
    (root / "suites" / "orders.yaml").write_text(ORDERS)
    (root / "suites" / "matrix.yaml").write_text(MATRIX)
    (root / "suites" / "settings.yaml").write_text(NOT_A_SUITE)
    (root / "deploy.yaml").write_text(NOT_A_SUITE)
    lines = ["[project]", 'name = "shop"']
    if suites:
        lines += ["[tool.scftest]", f"suites = {suites}"]
    if testpaths:
        lines += ["[tool.pytest.ini_options]", f"testpaths = {testpaths}"]
    (root / "pyproject.toml").write_text("\n".join(lines) + "\n")
    for name, text in (extra or {}).items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def pytest_in(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, NO_COLOR="1", PY_COLORS="0")
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", *args], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)


def pytest_lf(root: Path, *args: str) -> subprocess.CompletedProcess:
    """As ``pytest_in``, with the cache (``--lf`` needs it)."""
    env = dict(os.environ, NO_COLOR="1", PY_COLORS="0")
    env.pop("PYTEST_ADDOPTS", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-rA", *args], cwd=root,
                          env=env, capture_output=True, text=True, timeout=300)


def outcomes(stdout: str) -> dict:
    """``-rA``'s short summary: {node id: PASSED | FAILED | SKIPPED | XFAIL | ERROR}."""
    found = {}
    for line in stdout.splitlines():
        word, _, rest = line.partition(" ")
        if word in ("PASSED", "FAILED", "SKIPPED", "XFAIL", "XPASS", "ERROR"):
            if word == "SKIPPED":  # SKIPPED [1] suites/orders.yaml:12: reason
                continue
            found[rest.split(" - ")[0]] = word
    return found


def test_a_suite_file_given_to_pytest_is_run_case_by_case_with_scftest_verdicts(tmp_path):
    root = make_project(tmp_path)
    done = pytest_in(root, "suites/orders.yaml")
    assert done.returncode == 1, done.stdout + done.stderr
    seen = outcomes(done.stdout)
    assert seen == {"suites/orders.yaml::get an order": "PASSED",
                    "suites/orders.yaml::wrong item": "FAILED",
                    "suites/orders.yaml::known bug": "XFAIL"}, done.stdout
    assert "1 failed, 1 passed, 1 skipped, 1 xfailed" in done.stdout
    # the skip reason is the suite's (pytest folds a skip by marker to its file)
    assert "SKIPPED [1] suites/orders.yaml: the tea API is not deployed yet" in done.stdout
    # the failure is explained by scftest: the suite line, the path, both values
    failure = done.stdout.split("_ orders::wrong item _")[1].split("= short test summary")[0]
    assert "suites/orders.yaml:10: case 'wrong item' failed" in failure
    # pytest's short summary shows the explanation's first line
    assert "FAILED suites/orders.yaml::wrong item - return differs at item" in done.stdout
    assert 'return.item (suite line 13): values differ\n  expected: "tea"\n  actual:   "coffee"' in failure
    assert "Traceback" not in failure and "CaseFailed" not in failure
    # the record and the function's log come with the failure
    assert "Captured scftest record call" in failure and "status: success" in failure
    assert "Captured function log call" in failure and "serving 7" in failure


def test_plain_pytest_collects_the_configured_suites_and_no_other_yaml(tmp_path):
    root = make_project(tmp_path, suites='["suites"]', testpaths='["tests"]',
                        extra={"tests/test_unit.py": "def test_unit():\n    assert 1 + 1 == 2\n"})
    done = pytest_in(root, "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert ids == ["tests/test_unit.py::test_unit",
                   "suites/matrix.yaml::runs on each runtime [Python3.6]",
                   "suites/orders.yaml::get an order", "suites/orders.yaml::wrong item",
                   "suites/orders.yaml::not ready", "suites/orders.yaml::known bug"], done.stdout


def test_without_configuration_only_the_suites_folder_and_named_files_are_collected(tmp_path):
    root = make_project(tmp_path, extra={"other/orders.yaml": ORDERS.replace("code: fn", "code: ../suites/fn")})
    everything = pytest_in(root, "--collect-only", "-q")
    ids = [line for line in everything.stdout.splitlines() if "::" in line]
    assert len(ids) == 5 and all(i.startswith("suites/") for i in ids), everything.stdout
    # a folder outside the suite paths is not enough, the file itself is
    folder = pytest_in(root, "--collect-only", "-q", "other")
    assert "::" not in folder.stdout, folder.stdout
    named = pytest_in(root, "--collect-only", "-q", "other/orders.yaml")
    assert "other/orders.yaml::get an order" in named.stdout, named.stdout


def test_a_yaml_file_named_explicitly_that_is_no_suite_is_a_collection_error(tmp_path):
    root = make_project(tmp_path)
    done = pytest_in(root, "deploy.yaml")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "deploy.yaml:1:1: this file is not a suite: it has no top-level 'cases' list" in done.stdout


def test_a_broken_suite_is_a_collection_error_naming_its_line_and_the_others_still_collect(tmp_path):
    root = make_project(tmp_path, extra={"suites/broken.yaml": BROKEN})
    done = pytest_in(root, "--collect-only", "-q")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "ERROR collecting suites/broken.yaml" in done.stdout
    assert "suites/broken.yaml:7:" in done.stdout and "retrun" in done.stdout
    assert "Traceback" not in done.stdout
    assert "suites/orders.yaml::get an order" in done.stdout  # the other suites are collected


def test_k_selects_by_case_name_and_by_tag(tmp_path):
    root = make_project(tmp_path)
    by_name = pytest_in(root, "suites", "-k", "wrong and item")
    assert outcomes(by_name.stdout) == {"suites/orders.yaml::wrong item": "FAILED"}, by_name.stdout
    by_tag = pytest_in(root, "suites", "-k", "smoke")
    assert outcomes(by_tag.stdout) == {"suites/orders.yaml::get an order": "PASSED"}, by_tag.stdout
    node = pytest_in(root, "suites/orders.yaml::get an order")
    assert outcomes(node.stdout) == {"suites/orders.yaml::get an order": "PASSED"}, node.stdout


def test_x_stops_after_the_first_failing_case(tmp_path):
    root = make_project(tmp_path)
    done = pytest_in(root, "suites/orders.yaml", "suites/matrix.yaml", "-x")
    assert done.returncode == 1
    seen = outcomes(done.stdout)
    assert seen == {"suites/orders.yaml::get an order": "PASSED", "suites/orders.yaml::wrong item": "FAILED"}, \
        done.stdout


def test_lf_runs_only_the_cases_that_failed_last_time(tmp_path):
    root = make_project(tmp_path)
    first = pytest_lf(root, "suites")
    assert outcomes(first.stdout)["suites/orders.yaml::wrong item"] == "FAILED", first.stdout
    again = pytest_lf(root, "suites", "--lf")
    assert outcomes(again.stdout) == {"suites/orders.yaml::wrong item": "FAILED"}, again.stdout
    assert "run-last-failure: rerun previous 1 failure" in again.stdout


def test_xdist_runs_the_cases_in_two_workers(tmp_path):
    pytest.importorskip("xdist", reason="pytest-xdist is in the test extra: pip install -e '.[test]'")
    root = make_project(tmp_path, suites='["suites"]')
    done = pytest_in(root, "-n", "2")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "created: 2/2 workers" in done.stdout
    seen = outcomes(done.stdout)
    assert seen == {"suites/orders.yaml::get an order": "PASSED",
                    "suites/orders.yaml::wrong item": "FAILED",
                    "suites/orders.yaml::known bug": "XFAIL",
                    "suites/matrix.yaml::runs on each runtime [Python3.6]": "PASSED"}, done.stdout
    assert "suites/orders.yaml:10: case 'wrong item' failed" in done.stdout  # scftest's explanation from a worker


def test_junitxml_holds_a_testcase_per_case_with_scftest_explanation(tmp_path):
    root = make_project(tmp_path)
    done = pytest_in(root, "suites/orders.yaml", "--junitxml", "out.xml")
    assert done.returncode == 1
    suite = ET.parse(root / "out.xml").getroot().find("testsuite")
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert set(cases) == {"get an order", "wrong item", "not ready", "known bug"}
    assert {case.get("classname") for case in cases.values()} == {"suites.orders.yaml"}
    failure = cases["wrong item"].find("failure")
    assert failure is not None and 'return.item (suite line 13): values differ' in failure.text
    assert 'expected: "tea"' in failure.text
    assert cases["not ready"].find("skipped").get("message") == "the tea API is not deployed yet"
    assert cases["known bug"].find("skipped") is not None  # pytest writes an xfail as skipped
    assert cases["get an order"].find("failure") is None


@needs("2.7", "3.10")
def test_a_warm_sequence_and_a_matrix_over_runtimes_are_items_too(tmp_path):
    warm = textwrap.dedent('''\
        name: warm
        function: {code: fn, handler: index.main}
        matrix:
          runtime: [Python2.7, Python3.10]
        cases:
          - name: two calls
            invocations:
              - event: {id: 1}
                expect: {return_includes: {id: 1}}
              - event: {id: 2}
                expect: {return_includes: {id: 3}}
        ''')
    root = make_project(tmp_path, extra={"suites/warm.yaml": warm})
    done = pytest_in(root, "suites/warm.yaml")
    seen = outcomes(done.stdout)
    assert seen == {"suites/warm.yaml::two calls [Python2.7]": "FAILED",
                    "suites/warm.yaml::two calls [Python3.10]": "FAILED"}, done.stdout
    assert "step 2" in done.stdout and "return.id" in done.stdout
    assert "Captured scftest record (step 1) call" in done.stdout
    assert "python" in json.dumps(done.stdout)


def test_a_bad_runtime_option_is_a_usage_error_not_a_traceback(tmp_path):
    root = make_project(tmp_path)
    done = pytest_in(root, "suites/orders.yaml", "--scftest-runtime", "Python9=/bin/false")
    assert done.returncode != 0
    assert "--scftest-runtime 'Python9=/bin/false'" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr


def test_an_xfail_case_that_passes_fails_with_scftest_words(tmp_path):
    xpass = textwrap.dedent('''\
        name: xpass
        function: {code: fn, handler: index.main, runtime: Python3.6}
        cases:
          - name: fixed already
            xfail: the handler used to lose the id
            event: {id: 5}
            expect: {return_includes: {id: 5}}
        ''')
    root = make_project(tmp_path, extra={"suites/xpass.yaml": xpass})
    done = pytest_in(root, "suites/xpass.yaml")
    assert done.returncode == 1
    assert outcomes(done.stdout) == {"suites/xpass.yaml::fixed already": "FAILED"}, done.stdout
    assert "passed, but is marked xfail: the handler used to lose the id" in done.stdout
    assert "suites/xpass.yaml:4: case 'fixed already' was expected to fail (xfail)" in done.stdout


def test_this_repository_collects_no_yaml_of_its_own():
    """scftest's own tests write their suites into temporary folders; the plugin must not
    start collecting YAML under tests/ (nor the bundled suites/, which testpaths leaves out)."""
    repo = Path(__file__).resolve().parents[1]
    done = pytest_in(repo, "--collect-only", "-q")
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr
    ids = [line for line in done.stdout.splitlines() if "::" in line]
    assert len(ids) > 1000 and all(line.startswith("tests/") and ".py::" in line for line in ids)
