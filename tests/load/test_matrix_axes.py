"""``matrix`` over ``code`` and ``environment`` (issue 17 item 5): the loader's expansion,
names, problems at their line; and a run on real interpreters with code vendored per Python."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
from conftest import needs, run_scftest, suite_and_problems

from scftest.model import EnvRef

REPO = Path(__file__).resolve().parents[2]


def suite(tmp_path: Path, text: str) -> Path:
    for build in ("py27", "py36", "py310"):
        (tmp_path / "build" / build).mkdir(parents=True, exist_ok=True)
        (tmp_path / "build" / build / "index.py").write_text(
            "import os, sys\n"
            "def main(event, context):\n"
            f"    return {{'build': '{build}', 'db': os.environ.get('DB'), 'log': os.environ.get('LOG'),\n"
            "            'python': '%d.%d' % sys.version_info[:2]}\n")
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_code_and_environment_axes_expand_with_readable_unique_names(tmp_path: Path) -> None:
    loaded, problems = suite_and_problems(suite(tmp_path, """\
        name: m
        function:
          handler: index.main
          environment: {DB: none, LOG: info}
        matrix:
          code: [build/py27, build/py36]
          environment:
            - {DB: mysql}
            - {DB: postgres, LOG: debug}
        cases:
          - name: sees its build
          - name: pinned code
            code: build/py310
          - name: own environment
            environment: {DB: own}
    """))
    assert problems == []
    cases = {case.name: case for case in loaded.cases}
    assert list(cases) == [
        "sees its build [build/py27, DB=mysql]",
        "sees its build [build/py27, DB=postgres LOG=debug]",
        "sees its build [build/py36, DB=mysql]",
        "sees its build [build/py36, DB=postgres LOG=debug]",
        # a key the case sets itself is not expanded, as for every matrix key
        "pinned code [DB=mysql]", "pinned code [DB=postgres LOG=debug]",
        "own environment [build/py27]", "own environment [build/py36]",
    ]
    second = cases["sees its build [build/py27, DB=postgres LOG=debug]"]
    assert second.function.code == (tmp_path / "build" / "py27").resolve()
    assert second.function.environment == {"DB": "postgres", "LOG": "debug"}  # over function:'s
    assert cases["sees its build [build/py36, DB=mysql]"].function.environment == {"DB": "mysql", "LOG": "info"}
    assert cases["pinned code [DB=mysql]"].function.code == (tmp_path / "build" / "py310").resolve()
    assert cases["own environment [build/py36]"].function.environment == {"DB": "own", "LOG": "info"}
    assert second.params == {"code": "build/py27", "environment": {"DB": "postgres", "LOG": "debug"}}
    assert second.variant == "build/py27, DB=postgres LOG=debug"
    assert second.id == "m::sees its build [build/py27, DB=postgres LOG=debug]"


def test_env_pass_through_and_an_empty_set_in_the_matrix(tmp_path: Path) -> None:
    loaded, problems = suite_and_problems(suite(tmp_path, """\
        function: {code: build/py36, handler: index.main}
        matrix:
          environment:
            - {DB_URL: !env SCFTEST_DB_URL}
            - {}
        cases:
          - name: c
    """))
    assert problems == []
    assert [case.name for case in loaded.cases] == ["c [DB_URL=!env SCFTEST_DB_URL]", "c [{}]"]
    assert loaded.cases[0].function.environment == {"DB_URL": EnvRef("SCFTEST_DB_URL")}


def test_problems_in_matrix_values_name_their_line(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {handler: index.main}
        matrix:
          code: [build/py27, build/missing]
          environment:
            - {SCF_REGION: here}
            - {OK: 'a B=b'}
            - {OK: a, B: b}
        cases:
          - name: c
    """)
    _, problems = suite_and_problems(path)
    assert problems == [
        f"{path}:3:22: the code folder 'build/missing' does not exist (looked for {tmp_path / 'build' / 'missing'}) "
        "— code is relative to the suite file; point it at the folder that holds the handler file",
        f"{path}:5:8: the environment variable SCF_REGION uses a prefix SCF reserves — SCF_, QCLOUD_ and "
        "TENCENTCLOUD_ names are set by the platform; choose another name",
        f"{path}:7:7: matrix environment values 2 and 3 both show as '[OK=a B=b]' in case names — make every "
        "value of the axis differ in what it shows",
    ]


def test_the_schema_takes_the_new_axes_and_refuses_wrong_shapes(tmp_path: Path) -> None:
    schema = json.loads((REPO / "schemas" / "suite.schema.json").read_text())
    good = {"cases": [{"name": "c"}], "matrix": {"code": ["a", "b"], "environment": [{"A": "1"}, {}]}}
    jsonschema.Draft202012Validator(schema).validate(good)
    for bad in ({"code": "a"}, {"code": []}, {"environment": [{"A": 1}]}, {"environment": [{"A": "1"}, {"A": "1"}]},
                {"environment": {"A": "1"}}):
        errors = list(jsonschema.Draft202012Validator(schema).iter_errors({"cases": [{"name": "c"}], "matrix": bad}))
        assert errors, bad
    _, problems = suite_and_problems(suite(tmp_path, """\
        function: {code: build/py36, handler: index.main}
        matrix:
          environment: {DB: mysql}
        cases:
          - name: c
    """))
    assert len(problems) == 1 and ":3:" in problems[0] and "matrix.environment" in problems[0]


@needs("2.7", "3.6")
def test_a_run_over_code_vendored_per_python(tmp_path: Path) -> None:
    """The case the issue names: one handler, its dependencies built per Python, no duplicated cases."""
    suite(tmp_path, """\
        name: vendored
        function: {handler: index.main, environment: {LOG: info}}
        matrix:
          runtime: [Python2.7, Python3.6]
          environment: [{DB: mysql}, {DB: postgres}]
        cases:
          - name: each build on its Python
            code: build/py27
            runtime: Python2.7
            expect: {return_includes: {build: py27, python: '2.7', log: info}}
          - name: the py36 build on its Python
            code: build/py36
            runtime: Python3.6
            expect: {return_includes: {build: py36, python: '3.6', db: !regex '^(mysql|postgres)$'}}
    """)
    (tmp_path / "m.yaml").write_text(textwrap.dedent("""\
        name: matrix
        function: {handler: index.main}
        matrix:
          code: [build/py27, build/py36]
          environment: [{DB: mysql}, {DB: postgres}]
        cases:
          - name: on Python2.7
            runtime: Python2.7
            expect: {return_includes: {python: '2.7', db: !regex '^(mysql|postgres)$'}}
    """))
    result = run_scftest(tmp_path, "run", "m.yaml", "s.yaml", "-v", "--json", "r.json", "--junit-xml", "j.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    for name in ("matrix::on Python2.7 [build/py27, DB=mysql]", "matrix::on Python2.7 [build/py36, DB=postgres]",
                 "vendored::each build on its Python [DB=postgres]",
                 "vendored::the py36 build on its Python [DB=mysql]"):
        assert f"PASSED {name} (" in result.stdout
    assert "8 passed" in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    params = [case["params"] for case in report["cases"] if case["suite"] == "matrix"]
    assert params[1] == {"code": "build/py27", "environment": {"DB": "postgres"}}
    records = [case["record"]["return"] for case in report["cases"] if case["suite"] == "matrix"]
    assert [(r["build"], r["db"]) for r in records] == [
        ("py27", "mysql"), ("py27", "postgres"), ("py36", "mysql"), ("py36", "postgres")]
    junit = (tmp_path / "j.xml").read_text()
    assert 'name="on Python2.7 [build/py36, DB=mysql]"' in junit
