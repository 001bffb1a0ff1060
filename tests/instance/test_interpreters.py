"""Runtime names to interpreters: overrides, pyproject, PATH, pyenv, fallback."""

import os
import subprocess
import threading
from pathlib import Path

import json

import pytest
from conftest import INTERPRETERS, NEWEST_OFFERED, namespaces_or_skip, python_params, run_scftest

import scftest.instance.interpreters as runtimes
from scftest.instance.interpreters import (
    KNOWN_RUNTIMES,
    RuntimeNotFound,
    RuntimeResolver,
    canonical,
    offered_runtime,
    parse_runtime,
    read_pyproject_runtimes,
)

needs = pytest.mark.skipif(not (INTERPRETERS["3.6"] and INTERPRETERS["3.7"]),
                           reason="needs Python 3.6 and 3.7 under pyenv")
PY36 = INTERPRETERS["3.6"][0] if INTERPRETERS["3.6"] else None
PY37 = INTERPRETERS["3.7"][0] if INTERPRETERS["3.7"] else None


def fake_pyenv(tmp_path, versions):
    """A pyenv root whose versions are symlinks to real interpreters."""
    root = tmp_path / "pyenv"
    for name, target in versions.items():
        folder = root / "versions" / name / "bin"
        folder.mkdir(parents=True)
        (folder / "python").symlink_to(target)
    return root


def script(folder, name, body):
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text("#!/bin/sh\n" + body + "\n")
    path.chmod(0o755)
    return path


def test_parse_and_canonical():
    assert parse_runtime("Python3.6") == (3, 6) and parse_runtime("python2.7") == (2, 7)
    assert canonical("python3.10") == "Python3.10"
    for bad in ("Python3", "Node12", "Python3.x", ""):
        with pytest.raises(ValueError):
            parse_runtime(bad)
    assert KNOWN_RUNTIMES == ("Python2.7", "Python3.6", "Python3.7", "Python3.9", "Python3.10")


def test_only_the_offered_runtimes_can_be_named():
    assert offered_runtime("python3.9") == "Python3.9"
    for bad in ("Python3.8", "Python3.11", "Python3.13", "Python3", "Node12"):
        with pytest.raises(ValueError, match="is not a runtime SCF offers; the runtimes are: "
                                             "Python2.7, Python3.6, Python3.7, Python3.9, Python3.10"):
            offered_runtime(bad)
    with pytest.raises(ValueError, match="'Python3.12' is not a runtime SCF offers"):
        RuntimeResolver({"Python3.12": "/usr/bin/python3"}, None)


def test_a_pyproject_entry_for_a_runtime_scf_does_not_offer_is_refused(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.scftest.runtimes]\n"Python3.8" = "/usr/bin/python3.8"\n')
    with pytest.raises(ValueError, match='"Python3.8" is not a runtime SCF offers; the runtimes are: Python2.7, '):
        read_pyproject_runtimes(tmp_path)


@needs
def test_pyenv_folder_gives_exactly_that_version(tmp_path):
    resolver = RuntimeResolver({}, None, path_env="", pyenv_root=fake_pyenv(
        tmp_path, {"3.6.15": PY36, "3.7.16": PY37}))
    interpreter = resolver.resolve("Python3.6")
    assert interpreter.version.startswith("3.6.") and not interpreter.fallback
    assert interpreter.runtime == "Python3.6"
    assert resolver.resolve("Python3.6") is interpreter  # cached


@needs
def test_failing_shim_and_wrong_version_on_path_are_passed_over(tmp_path):
    bin_dir = tmp_path / "bin"
    script(bin_dir, "python3.6", "echo 'pyenv: python3.6: command not found' >&2; exit 127")
    other = tmp_path / "other"
    other.mkdir()
    (other / "python3.6").symlink_to(PY37)  # claims 3.6, is 3.7
    resolver = RuntimeResolver({}, None, path_env=f"{bin_dir}{os.pathsep}{other}",
                               pyenv_root=fake_pyenv(tmp_path, {"3.6.15": PY36}))
    interpreter = resolver.resolve("Python3.6")
    assert interpreter.version.startswith("3.6.")
    row = resolver.describe(["Python3.6"])[0]
    assert row.source == "pyenv"
    assert "command not found" in row.problem and "is Python 3.7" in row.problem


@needs
def test_path_comes_before_pyenv(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3.6").symlink_to(PY36)
    resolver = RuntimeResolver({}, None, path_env=str(bin_dir),
                               pyenv_root=fake_pyenv(tmp_path, {"3.6.15": PY36}))
    # bin/python3.6 links to another folder: the interpreter is the file it links to
    assert resolver.resolve("Python3.6").path == os.path.realpath(bin_dir / "python3.6")
    assert resolver.describe(["Python3.6"])[0].source == "PATH"


@needs
def test_explicit_override_wins_and_must_be_right(tmp_path):
    empty = tmp_path / "nothing"
    resolver = RuntimeResolver({"Python3.6": PY36}, None, path_env="", pyenv_root=empty)
    assert resolver.resolve("Python3.6").path == PY36
    assert resolver.describe(["Python3.6"])[0].source == "--runtime"
    wrong = RuntimeResolver({"Python3.6": PY37}, None, path_env="",
                            pyenv_root=fake_pyenv(tmp_path, {"3.6.15": PY36}))
    with pytest.raises(RuntimeNotFound, match=r"--runtime is unusable: .* is Python 3\.7"):
        wrong.resolve("Python3.6")  # never silently another interpreter
    missing = RuntimeResolver({"Python3.6": "/nonexistent/python"}, None, path_env="",
                              pyenv_root=empty)
    with pytest.raises(RuntimeNotFound, match="does not exist"):
        missing.resolve("Python3.6")


@needs
def test_pyproject_table_and_flag_precedence(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.scftest.runtimes]\n'
        f'"Python3.6" = "{PY36}"  # a comment\nPython3.7 = "{PY37}"\n\n[tool.other]\na = 1\n')
    table = read_pyproject_runtimes(tmp_path)
    assert table == {"Python3.6": PY36, "Python3.7": PY37}  # the bare key is dotted in TOML
    resolver = RuntimeResolver({}, tmp_path, path_env="", pyenv_root=tmp_path / "none")
    assert resolver.resolve("Python3.6").path == PY36
    assert resolver.describe(["Python3.6"])[0].source == "pyproject"
    flag = RuntimeResolver({"Python3.6": PY37}, tmp_path, path_env="",
                           pyenv_root=tmp_path / "none")
    with pytest.raises(RuntimeNotFound):  # the flag wins over pyproject, and is checked
        flag.resolve("Python3.6")


def test_pyproject_relative_paths_are_relative_to_the_project(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.scftest.runtimes]\n"Python3.6" = "venvs/36/bin/python"\n')
    assert read_pyproject_runtimes(tmp_path) == {
        "Python3.6": str(tmp_path / "venvs/36/bin/python")}
    assert read_pyproject_runtimes(tmp_path / "missing") == {}
    assert read_pyproject_runtimes(None) == {}


def test_bare_and_quoted_runtime_keys(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.scftest]\nx = "y"\n'
        '[tool.scftest.runtimes]  # where interpreters live\n'
        '"Python3.6" = "/opt/py36/bin/python"\n'
        "'Python2.7' = '/opt/py27/bin/python'\n"
        'Python3.9 = "/opt/py39/python"   # a dotted key in TOML\n'
        '\n[tool.black]\n"Python3.8" = "/not/this/one"\n')
    assert read_pyproject_runtimes(tmp_path) == {
        "Python3.6": "/opt/py36/bin/python",
        "Python2.7": "/opt/py27/bin/python",
        "Python3.9": "/opt/py39/python",
    }


def test_missing_runtime_says_how_to_provide_one(tmp_path):
    resolver = RuntimeResolver({}, None, path_env="", pyenv_root=tmp_path)
    with pytest.raises(RuntimeNotFound) as info:
        resolver.resolve("Python3.5")
    message = str(info.value)
    assert "--runtime Python3.5=" in message
    assert "[tool.scftest.runtimes]" in message and "pyenv install 3.5" in message
    with pytest.raises(RuntimeNotFound, match="not an SCF Python runtime"):
        resolver.resolve("Node12")


@needs
def test_fallback_runs_on_the_nearest_version_labelled(tmp_path):
    root = fake_pyenv(tmp_path, {"3.7.16": PY37})
    strict = RuntimeResolver({}, None, path_env="", pyenv_root=root)
    with pytest.raises(RuntimeNotFound):
        strict.resolve("Python3.6")
    lenient = RuntimeResolver({}, None, fallback=True, path_env="", pyenv_root=root)
    interpreter = lenient.resolve("Python3.6")
    assert interpreter.fallback and interpreter.runtime == "Python3.6"
    assert interpreter.version.startswith("3.7.")
    assert not lenient.resolve("Python3.7").fallback
    with pytest.raises(RuntimeNotFound):
        lenient.resolve("Python2.7")  # never across major versions


def test_describe_lists_every_known_runtime(tmp_path):
    resolver = RuntimeResolver({"Python3.10": "/nonexistent"}, None, path_env="",
                               pyenv_root=tmp_path)
    rows = resolver.describe()
    assert [row.runtime for row in rows] == list(KNOWN_RUNTIMES)
    assert all(row.interpreter is None and row.problem for row in rows)
    assert rows[0].to_dict()["runtime"] == "Python2.7"


def test_real_machine_resolves_every_installed_version():
    resolver = RuntimeResolver({}, None)
    for version, found in INTERPRETERS.items():
        if found:
            interpreter = resolver.resolve(f"Python{version}")
            assert interpreter.version.rsplit(".", 1)[0] == version


@needs
def test_thread_safe_and_each_path_probed_once(tmp_path, monkeypatch):
    calls = []
    real = runtimes.probe_version

    def counting(path):
        calls.append(path)
        return real(path)

    monkeypatch.setattr(runtimes, "probe_version", counting)
    resolver = RuntimeResolver({}, None, path_env="", pyenv_root=fake_pyenv(
        tmp_path, {"3.6.15": PY36}))
    results = []
    threads = [threading.Thread(target=lambda: results.append(resolver.resolve("Python3.6")))
               for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 8 and len({id(r) for r in results}) == 1
    assert len(calls) == 1


def test_bad_pyproject_and_bad_override_are_value_errors(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.scftest.runtimes]\n"Python3.6" = 36\n')
    with pytest.raises(ValueError, match='"Python3.6" must be a path'):
        RuntimeResolver({}, tmp_path)
    (tmp_path / "pyproject.toml").write_text('[tool.scftest.runtimes\n')
    with pytest.raises(ValueError, match="pyproject.toml: cannot read"):
        RuntimeResolver({}, tmp_path)
    with pytest.raises(ValueError, match="'Node12' is not a runtime SCF offers"):
        RuntimeResolver({"Node12": "/usr/bin/node"}, None)


@pytest.mark.skipif(not (INTERPRETERS["3.10"] or INTERPRETERS["3.9"]), reason="needs Python 3.9 or 3.10 under pyenv")
def test_an_activated_virtualenv_does_not_change_the_interpreter(tmp_path):
    # Activating a virtualenv made from Python 3.10 puts its bin/python3.10 first on PATH.
    version = "3.10" if INTERPRETERS["3.10"] else "3.9"
    base = INTERPRETERS[version][0]
    venv = tmp_path / "venv"
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    assert (venv / "bin" / f"python{version}").exists()
    resolver = RuntimeResolver({}, None, path_env=str(venv / "bin"), pyenv_root=tmp_path / "no-pyenv")
    found = resolver.resolve(f"Python{version}")
    assert os.path.realpath(found.path) == os.path.realpath(base)
    assert venv not in Path(found.path).parents
    # and named explicitly, too
    explicit = RuntimeResolver({f"Python{version}": str(venv / "bin" / "python")}, None, path_env="",
                               pyenv_root=tmp_path / "no-pyenv").resolve(f"Python{version}")
    assert os.path.realpath(explicit.path) == os.path.realpath(base)


def test_an_interpreter_path_is_taken_without_symlinked_folders(tmp_path):
    real = tmp_path / "real" / "bin"
    real.mkdir(parents=True)
    (real / "python3.10").write_text("")
    (real / "python").symlink_to("python3.10")  # as pyenv and CPython's install make it
    (tmp_path / "link").symlink_to(tmp_path / "real")
    other = tmp_path / "other"
    other.mkdir()
    (other / "python").symlink_to(real / "python3.10")
    assert runtimes.real_interpreter(str(tmp_path / "link" / "bin" / "python")) == str(real / "python")
    assert runtimes.real_interpreter(str(real / "python")) == str(real / "python")
    assert runtimes.real_interpreter(str(other / "python")) == str(real / "python3.10")


SYMLINK_HANDLER = """\
import decimal, json, struct, sys, traceback


def main_handler(event, context):
    return {"version": "%d.%d" % sys.version_info[:2], "one": str(decimal.Decimal(1))}
"""


@pytest.mark.parametrize("version", python_params(["2.7", NEWEST_OFFERED or "3.10"]))
@pytest.mark.parametrize("how", ["PYENV_ROOT", "--runtime"])
def test_a_pyenv_root_reached_through_a_symlink_runs_cases_in_the_sandbox(tmp_path, version, how):
    # /tmp is the instance's own: a link there is gone inside it, the interpreter's real folder
    # is mounted back. Started through the link, the instance could not import its library.
    namespaces_or_skip()
    interpreter, full = INTERPRETERS[version]
    pyenv = Path(interpreter).parents[3]  # ~/.pyenv/versions/X.Y.Z/bin/python -> ~/.pyenv
    link = tmp_path / "pyenv-link"
    link.symlink_to(pyenv)
    runtime = f"Python{version}"
    (tmp_path / "fn").mkdir()  # pytest's tmp_path is the runner's own (0700)
    (tmp_path / "fn" / "index.py").write_text(SYMLINK_HANDLER)
    (tmp_path / "t.yaml").write_text(
        f"function: {{code: fn, handler: index.main_handler, runtime: {runtime}}}\n"
        f"cases:\n  - name: one\n    event: {{}}\n"
        f"    expect: {{return: {{version: '{version}', one: '1'}}}}\n")
    args = ["run", "t.yaml", "--isolation", "strict", "--fresh", "--json", "r.json"]
    env = {"PATH": "/usr/bin:/bin"}
    if how == "PYENV_ROOT":
        env["PYENV_ROOT"] = str(link)
    else:
        env["PYENV_ROOT"] = str(tmp_path / "no-pyenv")
        args += ["--runtime", f"{runtime}={link}/versions/{full}/bin/python"]
    result = run_scftest(tmp_path, *args, env_extra=env)
    assert result.returncode == 0, result.stdout + result.stderr
    case = json.loads((tmp_path / "r.json").read_text())["cases"][0]
    assert case["verdict"] == "passed" and case["record"]["isolation"] == "namespace"
    assert case["record"]["interpreter"] == str(Path(interpreter).resolve().parent / "python")
