"""``function.from`` (issue 17 item 4): a serverless.yml of the SCF component or an scf CLI
template.yaml gives the function's settings; the suite's keys win; every problem names the
from-file's line and the suite's. The sample files in tests/data/from follow the formats'
own documentation (cited in each file and in docs/matrix-and-from.md)."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import needs, run_scftest, suite_and_problems

from scftest.model import EnvRef

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "from"


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    shutil.copytree(SAMPLES, tmp_path / "project")
    (tmp_path / "project" / "tests").mkdir()
    return tmp_path / "project"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_serverless_yml_gives_the_function_and_the_suite_wins(project: Path) -> None:
    suite, problems = suite_and_problems(write(project / "tests", "orders.yaml", """\
        function:
          from: ../serverless.yml
          timeout: 5
          environment: {RETRIES: '1'}
        cases:
          - name: c
    """))
    assert problems == []
    function = suite.cases[0].function
    assert function.code == (project / "src").resolve()
    assert function.handler == "index.main_handler"
    assert function.runtime == "Python3.6"
    assert function.memory == 256  # memorySize
    assert function.timeout == 5  # the suite's own key wins
    # environment.variables, merged under the suite's own variables; ${stage} replaced,
    # a number as its text, ${env.NAME} passed from the runner as !env NAME is
    assert function.environment == {"STAGE": "dev", "RETRIES": "1", "TOKEN": EnvRef("SCFTEST_FROM_TOKEN")}
    # the deployed identity (inputs.name with its variables, inputs.region) as context keys
    assert suite.cases[0].context == {"function_name": "orders-dev-shop", "tencentcloud_region": "ap-guangzhou"}


def test_a_template_yaml_function_picked_by_name_with_its_globals(project: Path) -> None:
    suite, problems = suite_and_problems(write(project / "tests", "t.yaml", """\
        function: {from: ../template.yaml, name: orders}
        cases: [{name: c}]
    """))
    assert problems == []
    function = suite.cases[0].function
    assert (function.code, function.handler, function.runtime) == ((project / "src").resolve(),
                                                                   "index.main_handler", "Python3.6")
    assert (function.memory, function.timeout) == (512, 30)  # Timeout from Globals.Function
    assert function.environment == {"DB_NAME": "mydb", "STAGE": "prod"}  # Globals' under the function's
    assert suite.cases[0].context == {"function_name": "orders", "namespace": "default"}

    reports, problems = suite_and_problems(write(project / "tests", "r.yaml", """\
        function: {from: ../template.yaml, name: reports, runtime: Python3.6}
        cases: [{name: c, context: {function_name: mine}}]
    """))
    assert problems == []
    assert reports.cases[0].context == {"function_name": "mine", "namespace": "default"}  # the case's own wins
    function = reports.cases[0].function
    assert (function.code.name, function.handler, function.runtime) == ("reports", "app.main_handler", "Python3.6")


def test_the_older_multi_instance_serverless_yml(project: Path) -> None:
    suite, problems = suite_and_problems(write(project / "tests", "old.yaml", """\
        function: {from: ../old-serverless.yml, name: reports}
        cases: [{name: c}]
    """))
    assert problems == []
    assert (suite.cases[0].function.code.name, suite.cases[0].function.runtime) == ("reports", "Python2.7")
    _, problems = suite_and_problems(write(project / "tests", "which.yaml", """\
        function: {from: ../old-serverless.yml}
        cases: [{name: c}]
    """))
    assert problems == [
        f"{project / 'old-serverless.yml'}:16:3: this file holds 2 functions (orders, reports) and the suite does "
        f"not say which (function.from of {project / 'tests' / 'which.yaml'}:1) — write name: orders under "
        "function: beside from:"]


def suite_problems(folder: Path, from_text: str, name: str = "", **files: str):
    for file, text in files.items():
        write(folder, file, text)
    extra = f"\n  name: {name}" if name else ""
    return suite_and_problems(write(folder, "s.yaml", f"function:\n  from: {from_text}{extra}\ncases:\n  - name: c\n"))[1]


def test_problems_name_the_from_file_line_and_the_suite_line(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    suite = tmp_path / "s.yaml"
    at = f"(function.from of {suite}:2)"
    assert suite_problems(tmp_path, "missing.yml") == [
        f"{suite}:2:1: function.from: the file 'missing.yml' does not exist (looked for {tmp_path / 'missing.yml'}) "
        "— from is relative to the suite file; point it at a serverless.yml or template.yaml"]
    assert suite_problems(tmp_path, "web.yml", **{"web.yml": "component: express\nname: web\ninputs: {src: ./src}\n"}) == [
        f"{tmp_path / 'web.yml'}:1:12: component 'express' is not the SCF component {at} — function.from reads a "
        "serverless.yml whose component is scf (a single function); write the function's keys in the suite instead"]
    assert suite_problems(tmp_path, "ci.yml", **{"ci.yml": "stages: [test]\n"}) == [
        f"{tmp_path / 'ci.yml'}:1:1: this file is neither a Serverless Framework serverless.yml (no component:) nor "
        f"an scf CLI template.yaml (no Resources:) {at} — point function.from at the serverless.yml of a "
        "'component: scf' or at the template.yaml of scf init"]
    bad = textwrap.dedent("""\
        component: scf
        name: bad
        inputs:
          src: ./src
          handler: index-main
          runtime: Nodejs10.15
          memorySize: 100
          timeout: 1000
          layers:
            - {name: common, version: 2}
          environment:
            variables:
              1BAD: x
              URL: ${output:${stage}:${app}:db.url}
    """)
    problems = suite_problems(tmp_path, "bad.yml", **{"bad.yml": bad})
    file = tmp_path / "bad.yml"
    assert [p.split(" (function.from")[0] for p in problems] == [
        f"{file}:5:12: handler 'index-main' is not of the form <file>.<function>",
        f"{file}:6:12: inputs.runtime cannot be 'Nodejs10.15'",
        f"{file}:7:15: inputs.memorySize has a value that is not allowed: 100",
        f"{file}:8:12: inputs.timeout has a value that is not allowed: 1000",
        f"{file}:10:5: the function uses the cloud layers common (version 2), whose contents scftest does not have",
        f"{file}:13:7: inputs.environment.variables is not valid: '1BAD'",
        f"{file}:14:12: scftest cannot know the value of ${{output:${{stage}}:${{app}}:db.url}} without deploying",
    ]
    assert all(at in p for p in problems)
    assert "write layers: in the suite's function:" in problems[4]


def test_missing_keys_the_formats_need_and_code_that_is_no_folder(tmp_path: Path) -> None:
    (tmp_path / "build.zip").write_text("")
    problems = suite_problems(tmp_path, "sls.yml", **{"sls.yml": "component: scf\ninputs:\n  src: {bucket: b, object: c.zip}\n"})
    assert [p.split(" (function.from")[0] for p in problems] == [
        f"{tmp_path / 'sls.yml'}:3:3: inputs has no runtime, and the SCF component then deploys Nodejs10.15",
        f"{tmp_path / 'sls.yml'}:3:8: the code is not a local folder (a COS bucket or object?)"]
    template = ("Resources:\n  default:\n    Type: TencentCloud::Serverless::Namespace\n    f:\n"
                "      Type: TencentCloud::Serverless::Function\n      Properties:\n        CodeUri: ./build.zip\n")
    problems = suite_problems(tmp_path, "template.yaml", **{"template.yaml": template})
    assert [p.split(" (function.from")[0] for p in problems] == [
        f"{tmp_path / 'template.yaml'}:7:9: Properties has no Handler, which TCSAM requires",
        f"{tmp_path / 'template.yaml'}:7:9: Properties has no Runtime, which TCSAM requires",
        f"{tmp_path / 'template.yaml'}:7:18: the code './build.zip' is not a folder "
        f"({tmp_path / 'build.zip'}): scftest runs a folder, not a zip file"]
    # what the suite writes itself is neither taken nor checked
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(e, c):\n    return 1\n")
    suite, problems = suite_and_problems(write(tmp_path, "own.yaml", """\
        function: {from: template.yaml, code: fn, handler: index.main_handler, runtime: Python2.7}
        cases: [{name: c}]
    """))
    assert problems == [] and suite.cases[0].function.code == (tmp_path / "fn").resolve()


def test_choosing_a_function_by_name(project: Path) -> None:
    problems = suite_problems(project / "tests", "../template.yaml", name="nope")
    assert problems == [f"{project / 'template.yaml'}:3:1: no function named 'nope' here; it holds orders, reports "
                        f"(function.from of {project / 'tests' / 's.yaml'}:2) — write one of those names under "
                        "function: as name:"]
    problems = suite_problems(project / "tests", "../template.yaml")
    assert "this file holds 2 functions (orders, reports)" in problems[0]
    # a serverless.yml instance is picked by its instance name or its inputs.name
    for name in ("orders", "orders-dev-shop"):
        assert suite_problems(project / "tests", "../serverless.yml", name=name) == []


def test_name_without_from_and_bad_yaml_in_the_from_file(tmp_path: Path) -> None:
    (tmp_path / "fn").mkdir()
    _, problems = suite_and_problems(write(tmp_path, "s.yaml", """\
        function: {code: fn, handler: index.main_handler, name: orders}
        cases: [{name: c}]
    """))
    assert problems == [f"{tmp_path / 's.yaml'}:1:57: function.name picks one function of function.from, and there is "
                        "no from: — add from: ../serverless.yml (or a template.yaml), or remove name:"]
    problems = suite_problems(tmp_path, "broken.yml", **{"broken.yml": "component: scf\ninputs:\n  src: ./fn\n   handler: x\n"})
    assert problems[0].startswith(f"{tmp_path / 'broken.yml'}:4:11: YAML syntax error")
    assert f"(function.from of {tmp_path / 's.yaml'}:2)" in problems[0]


@needs("3.6")
def test_a_run_from_a_serverless_yml_and_a_template(project: Path) -> None:
    write(project / "tests", "orders.yaml", """\
        name: orders
        function: {from: ../serverless.yml}
        cases:
          - name: sees the deployed settings
            expect:
              return: {function: orders, stage: dev, db: null, retries: '3', has_token: true,
                       name: orders-dev-shop, namespace: default, region: ap-guangzhou}
    """)
    write(project / "tests", "reports.yaml", """\
        name: reports
        function: {from: ../template.yaml, name: reports, runtime: Python3.6}
        cases:
          - name: sees the globals
            expect: {return: {function: reports, db: mydb}}
    """)
    result = run_scftest(project, "run", "tests", "-v", env_extra={"SCFTEST_FROM_TOKEN": "s3cret"})
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED orders::sees the deployed settings" in result.stdout
    assert "PASSED reports::sees the globals" in result.stdout
    assert "s3cret" not in result.stdout  # passed with ${env.…}: masked as !env is

    missing = run_scftest(project, "run", "tests/orders.yaml")
    assert missing.returncode == 1
    assert "the runner has no environment variable SCFTEST_FROM_TOKEN" in missing.stdout


def test_a_broken_from_file_stops_its_suite_only_and_exits_4(project: Path) -> None:
    write(project / "tests", "good.yaml", """\
        function: {from: ../template.yaml, name: orders, runtime: Python3.6}
        cases: [{name: c, skip: only loaded}]
    """)
    write(project / "tests", "bad.yaml", """\
        function: {from: ../template.yaml}
        cases: [{name: c}]
    """)
    for command in ("validate", "run"):
        result = run_scftest(project, command, "tests")
        assert result.returncode == 4, result.stdout + result.stderr
        assert (f"{project / 'template.yaml'}:29:7: this file holds 2 functions (orders, reports) and the suite "
                "does not say which (function.from of tests/bad.yaml:1)") in result.stdout
        assert "Traceback" not in result.stdout + result.stderr
    assert "1 skipped" in result.stdout  # the other suite still ran
