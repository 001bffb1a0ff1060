"""``scftest deps`` as a user runs it: the table, --json, the exit codes, bad input."""

import json
import textwrap
from pathlib import Path

from conftest import needs, run_scftest

REPO = Path(__file__).resolve().parents[2]


def scftest(cwd, *args):
    return run_scftest(cwd, "deps", *args, env_extra={"XDG_CACHE_HOME": str(cwd / ".cache")})


def project(tmp_path, code, runtime="Python3.6", suite_name="api.yaml"):
    (tmp_path / "pyproject.toml").write_text("[tool.scftest]\nsuites = ['.']\n", encoding="utf-8")
    for name, text in code.items():
        path = tmp_path / "fn" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text), encoding="utf-8")
    (tmp_path / suite_name).write_text(textwrap.dedent(f"""\
        function: {{code: fn, handler: index.main_handler, runtime: {runtime}}}
        cases:
          - name: works
        """), encoding="utf-8")
    return tmp_path


@needs("2.7", "3.6", "3.7", "3.9", "3.10")
def test_the_bundled_suites_are_clean(tmp_path):
    done = run_scftest(REPO, "deps", "suites", env_extra={"XDG_CACHE_HOME": str(tmp_path)})
    assert done.returncode == 0, done.stdout + done.stderr
    assert "suites/functions/hello on Python2.7 (Python 2.7." in done.stdout
    assert "suites/functions/orders on Python3.6" in done.stdout
    assert "suites/functions/profile on Python3.6" in done.stdout  # suites/warm.yaml
    assert "suites/functions/runtimes on Python3.10" in done.stdout  # suites/runtimes.yaml: all five
    # hello, orders, worker, uploader on 2.7 and 3.6, profile (7), runtimes on the five runtimes (5)
    assert "deps: 12 function(s) checked: 0 problem(s), 0 warning(s)" in done.stdout
    assert done.stderr == ""


@needs("3.6")
def test_a_missing_import_fails_with_its_file_and_line_and_what_to_do(tmp_path):
    project(tmp_path, {"index.py": """\
        import json
        def main_handler(event, context):
            import simplejson
            return 1
        """})
    done = scftest(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "PROBLEM  fn/index.py:3  `simplejson` cannot be imported in the cloud" in done.stdout
    assert "what to do (missing): vendor it into the code folder" in done.stdout
    assert "deps: 1 function(s) checked: 1 problem(s), 0 warning(s)" in done.stdout


@needs("3.6")
def test_json_on_stdout_is_the_documented_shape(tmp_path):
    project(tmp_path, {"index.py": "try:\n    import ujson\nexcept ImportError:\n    ujson = None\n"
                                   "def main_handler(event, context):\n    import nope\n"})
    done = scftest(tmp_path, "--json", "-")
    assert done.returncode == 1
    document = json.loads(done.stdout)  # nothing but the JSON on stdout
    assert document["format_version"] == 1 and document["exit_code"] == 1
    assert document["summary"] == {"functions": 1, "problems": 1, "warnings": 1, "unchecked": 0}
    (function,) = document["functions"]
    assert function["code"] == "fn" and function["runtime"] == "Python3.6" and function["suites"] == ["api.yaml"]
    assert function["handlers"] == ["index.main_handler"] and function["interpreter"]["version"].startswith("3.6.")
    assert function["modules"] == {"nope": "missing", "ujson": "missing"}
    assert [(f["severity"], f["kind"], f["file"], f["line"], f["module"], f["excused"])
            for f in function["findings"]] == [("warning", "missing", "fn/index.py", 2, "ujson", "try"),
                                               ("problem", "missing", "fn/index.py", 6, "nope", None)]
    assert function["findings"][1]["message"].startswith("`nope` cannot be imported in the cloud")
    assert function["findings"][1]["hint"].startswith("vendor it")


@needs("3.6")
def test_json_to_a_file_keeps_the_table_on_the_terminal(tmp_path):
    project(tmp_path, {"index.py": "import os\n"})
    done = scftest(tmp_path, "--json", "deps.json")
    assert done.returncode == 0
    assert "ok: the cloud can import everything" in done.stdout
    assert json.loads((tmp_path / "deps.json").read_text())["summary"]["problems"] == 0
    unwritable = scftest(tmp_path, "--json", str(tmp_path / "no" / "such" / "dir" / "deps.json"))
    assert unwritable.returncode == 4 and "cannot write it" in unwritable.stderr
    assert "Traceback" not in unwritable.stderr


@needs("2.7", "3.10")
def test_a_code_folder_given_directly_is_checked_for_each_runtime_asked(tmp_path):
    folder = tmp_path / "code"
    folder.mkdir()
    (folder / "index.py").write_text("import tomllib, urllib2\n", encoding="utf-8")
    done = scftest(tmp_path, "code", "--for", "Python2.7", "--for", "python3.10")
    assert done.returncode == 1
    assert "code on Python2.7" in done.stdout and "code on Python3.10" in done.stdout
    assert "code/index.py:1  `tomllib` cannot be imported" in done.stdout
    assert "code/index.py:1  `urllib2` cannot be imported" in done.stdout
    assert "deps: 2 function(s) checked: 3 problem(s)" in done.stdout  # tomllib twice, urllib2 on 3.10


@needs("3.6")
def test_a_broken_suite_is_reported_and_the_others_are_still_checked(tmp_path):
    project(tmp_path, {"index.py": "import os\n"})
    (tmp_path / "broken.yaml").write_text("function: {code: fn, handler: index.main_handler}\ncases: [{name: a, "
                                          "expect: {status: maybe}}]\n", encoding="utf-8")
    done = scftest(tmp_path)
    assert done.returncode == 4
    assert "broken.yaml:2:" in done.stdout
    assert "fn on Python3.6" in done.stdout and "1 file(s) with problems" in done.stdout


def test_bad_paths_and_options_are_usage_errors_without_a_traceback(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.scftest]\n", encoding="utf-8")
    missing = scftest(tmp_path, "nowhere")
    assert missing.returncode == 4 and "nowhere: no such file or folder" in missing.stdout
    runtime = scftest(tmp_path, "--for", "Ruby2.5")
    assert runtime.returncode == 4 and "'Ruby2.5' is not a runtime SCF offers" in runtime.stderr
    layer = scftest(tmp_path, "--layer", "no-such-layer")
    assert layer.returncode == 4 and "--layer no-such-layer: no such folder" in layer.stderr
    (tmp_path / "index.py").write_text("import os\n")
    file = scftest(tmp_path, "index.py")
    assert file.returncode == 4 and "index.py is a Python file: give its code folder" in file.stderr
    for done in (missing, runtime, layer, file):
        assert "Traceback" not in done.stdout + done.stderr


def test_a_runtime_without_an_interpreter_is_not_checked(tmp_path):
    project(tmp_path, {"index.py": "import os\n"})
    done = scftest(tmp_path, "--runtime", f"Python3.6={tmp_path / 'no-python'}")
    assert done.returncode == 4
    assert "NOT CHECKED: Python3.6: the interpreter given by --runtime is unusable" in done.stdout
    assert "1 not checked" in done.stdout


@needs("3.6")
def test_a_layer_given_on_the_command_line_satisfies_imports(tmp_path):
    project(tmp_path, {"index.py": "import shared_lib\n"})
    (tmp_path / "layer" / "shared_lib").mkdir(parents=True)
    (tmp_path / "layer" / "shared_lib" / "__init__.py").write_text("")
    assert scftest(tmp_path).returncode == 1
    done = scftest(tmp_path, "--layer", "layer", "--json", "-")
    assert done.returncode == 0
    assert json.loads(done.stdout)["functions"][0]["modules"] == {"shared_lib": "layer"}


@needs("3.6")
def test_warnings_inside_a_vendored_package_are_one_line_unless_verbose(tmp_path):
    project(tmp_path, {"index.py": "import fastlib\ndef main_handler(event, context):\n    pass\n",
                       "fastlib/__init__.py": "try:\n    import _fast\nexcept ImportError:\n    _fast = None\n"
                                              "def dump():\n    import cjson\n",
                       "fastlib-2.0.dist-info/METADATA": "Name: fastlib\nVersion: 2.0\n"})
    done = scftest(tmp_path)
    assert done.returncode == 0, done.stdout
    assert ("warning  fn/fastlib  2 import(s) inside the vendored fastlib that the cloud cannot make, none of them "
            "on the handlers' way without a guard: most likely optional or for another Python (_fast, cjson); "
            "-v lists them") in done.stdout
    verbose = scftest(tmp_path, "-v")
    assert "fn/fastlib/__init__.py:2  `_fast` cannot be imported" in verbose.stdout
    assert "fn/fastlib/__init__.py:6  `cjson` cannot be imported" in verbose.stdout
    assert "it is imported inside a function of the vendored fastlib" in verbose.stdout


@needs("2.7", "3.6")
def test_for_rechecks_a_suites_function_for_another_runtime(tmp_path):
    project(tmp_path, {"index.py": "import asyncio\ndef main_handler(event, context):\n    pass\n"})
    assert scftest(tmp_path).returncode == 0
    done = scftest(tmp_path, "--for", "Python2.7", "--json", "-")
    (function,) = json.loads(done.stdout)["functions"]
    assert done.returncode == 1 and function["runtime"] == "Python2.7" and function["suites"] == ["api.yaml"]
    assert function["modules"] == {"asyncio": "missing"}


@needs("3.6")
def test_the_suites_layers_are_searched(tmp_path):
    project(tmp_path, {"index.py": "import shared_lib\ndef main_handler(event, context):\n    pass\n"})
    (tmp_path / "layer" / "shared_lib").mkdir(parents=True)
    (tmp_path / "layer" / "shared_lib" / "__init__.py").write_text("")
    suite = tmp_path / "api.yaml"
    suite.write_text(suite.read_text().replace("runtime: Python3.6}", "runtime: Python3.6, layers: [layer]}"))
    done = scftest(tmp_path, "--json", "-")
    (function,) = json.loads(done.stdout)["functions"]
    assert done.returncode == 0, done.stdout
    assert function["layers"] == ["layer"] and function["modules"] == {"shared_lib": "layer"}
    assert "fn on Python3.6, layers layer (Python 3.6." in scftest(tmp_path).stdout


@needs("3.6")
def test_a_code_folder_with_yaml_that_is_no_suite_is_still_a_code_folder(tmp_path):
    folder = tmp_path / "code"
    (folder / ".github").mkdir(parents=True)
    (folder / "index.py").write_text("import gone\n", encoding="utf-8")
    (folder / "serverless.yml").write_text("component: scf\ninputs: {runtime: Python3.6}\n", encoding="utf-8")
    (folder / ".github" / "broken.yml").write_text("a: [\n", encoding="utf-8")  # not scftest's business here
    done = scftest(tmp_path, "code")
    assert done.returncode == 1, done.stdout
    assert "code/index.py:1  `gone` cannot be imported" in done.stdout


def test_nothing_to_check_is_exit_5_and_json_needs_a_path(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.scftest]\n", encoding="utf-8")
    (tmp_path / "empty").mkdir()
    done = scftest(tmp_path, "empty")
    assert done.returncode == 5
    assert "nothing to check: no suite with cases and no folder of Python code" in done.stdout
    bare = scftest(tmp_path, "empty", "--json")  # never `--json SUITE`: that would overwrite it
    assert bare.returncode == 4 and "expected one argument" in bare.stderr
