"""scftest init: the scaffold passes at once with a plain ``scftest run`` and never overwrites."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import scftest
from scftest.load.loader import load_suite
from scftest.instance.interpreters import RuntimeNotFound, RuntimeResolver
from scftest.authoring.scaffold import InitError, init_project, next_steps
from scftest.load.validate import SCHEMA_PATH

REPO = Path(scftest.__file__).resolve().parent.parent
EXPECTED = {
    Path("functions/hello/index.py"),
    Path("suites/hello.yaml"),
    Path(".scftest/suite.schema.json"),
    Path("pyproject.toml"),
    Path(".vscode/settings.json"),
}


def scftest_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTHONPATH")}
    env.update(NO_COLOR="1", PYTHONPATH=str(REPO))  # the checkout, installed or not
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def _need_python36() -> None:
    try:
        RuntimeResolver({}, None).resolve("Python3.6")
    except RuntimeNotFound as exc:
        pytest.skip(f"no interpreter for Python3.6: {exc}")


def _relative(paths, root: Path) -> set:
    return {p.relative_to(root) for p in paths}


def test_init_then_a_plain_run_passes(tmp_path: Path) -> None:
    _need_python36()
    target = tmp_path / "new"

    created = init_project(target)

    assert _relative(created, target) == EXPECTED
    done = scftest_cli(target, "run")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_run_from_a_sub_folder_of_the_scaffold_finds_its_suites(tmp_path: Path) -> None:
    _need_python36()
    init_project(tmp_path)

    done = scftest_cli(tmp_path / "functions" / "hello", "run")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout


def test_inside_a_bigger_project_the_scaffold_runs_only_its_own_suites(tmp_path: Path) -> None:
    _need_python36()
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'outer'\n", encoding="utf-8")
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / "broken.yaml").write_text("cases: [{name: x}]\n", encoding="utf-8")
    target = tmp_path / "scf-tests"
    init_project(target)

    done = scftest_cli(target, "run")

    assert done.returncode == 0, done.stdout + done.stderr
    assert "4 passed" in done.stdout and "broken" not in done.stdout


def test_the_suite_validates_and_has_the_editor_schema_line(tmp_path: Path) -> None:
    init_project(tmp_path)
    suite_file = tmp_path / "suites" / "hello.yaml"

    suite, problems, _ = load_suite(suite_file)

    assert problems == [] and suite is not None
    assert [c.name for c in suite.cases] == ["greets the world", "greets by name", "refuses an empty name",
                                             "answers through API Gateway"]
    assert {c.trigger for c in suite.cases} == {None, "apigateway"}
    assert any(c.expect.error for c in suite.cases)
    first = suite_file.read_text(encoding="utf-8").splitlines()[0]
    assert first == "# yaml-language-server: $schema=../.scftest/suite.schema.json"
    schema = (suite_file.parent / first.split("$schema=")[1]).resolve()
    assert json.loads(schema.read_text(encoding="utf-8")) == json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def test_every_key_of_the_suite_is_explained_by_a_comment(tmp_path: Path) -> None:
    init_project(tmp_path)
    lines = (tmp_path / "suites" / "hello.yaml").read_text(encoding="utf-8").splitlines()
    keys_seen = {}
    for line in lines:
        stripped = line.strip().lstrip("- ")
        if stripped and not stripped.startswith("#") and ":" in stripped:
            key = stripped.split(":")[0]
            keys_seen[key] = keys_seen.get(key, False) or "#" in line
    unexplained = [k for k, explained in keys_seen.items()
                   if not explained and k not in ("name", "httpMethod", "path", "statusCode", "message")]
    assert unexplained == []


def test_init_refuses_to_overwrite_and_creates_nothing(tmp_path: Path) -> None:
    mine = tmp_path / "suites" / "hello.yaml"
    mine.parent.mkdir()
    mine.write_text("my own suite\n", encoding="utf-8")

    with pytest.raises(InitError) as caught:
        init_project(tmp_path)

    message = str(caught.value)
    assert "suites/hello.yaml" in message and "did not change anything" in message
    assert isinstance(caught.value, ValueError)
    assert mine.read_text(encoding="utf-8") == "my own suite\n"
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == [Path("suites"), Path("suites/hello.yaml")]


def test_init_twice_names_every_file_in_the_way(tmp_path: Path) -> None:
    init_project(tmp_path)
    with pytest.raises(InitError) as caught:
        init_project(tmp_path)
    for name in ("functions/hello/index.py", "suites/hello.yaml", ".scftest/suite.schema.json"):
        assert name in str(caught.value)


def test_an_existing_pyproject_is_kept_and_is_not_in_the_way(tmp_path: Path) -> None:
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[project]\nname = 'mine'\n", encoding="utf-8")

    created = init_project(tmp_path)

    assert Path("pyproject.toml") not in _relative(created, tmp_path)
    assert pyproject.read_text(encoding="utf-8") == "[project]\nname = 'mine'\n"


def test_existing_vscode_settings_are_kept(tmp_path: Path) -> None:
    settings = tmp_path / ".vscode" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"editor.tabSize": 4}\n', encoding="utf-8")

    init_project(tmp_path)

    assert settings.read_text(encoding="utf-8") == '{"editor.tabSize": 4}\n'


def test_vscode_settings_map_the_suites_to_the_schema_and_declare_every_tag(tmp_path: Path) -> None:
    from scftest.load.loader import suite_tags, tag_forms

    init_project(tmp_path)
    settings = json.loads((tmp_path / ".vscode" / "settings.json").read_text(encoding="utf-8"))

    (schema, patterns), = settings["yaml.schemas"].items()
    assert (tmp_path / schema).is_file() and "suites/**/*.yaml" in patterns
    assert {tag.split()[0] for tag in settings["yaml.customTags"]} == set(suite_tags())
    assert settings["yaml.customTags"] == [f"{tag} {form}" for tag, form in tag_forms()]


def test_docs_editors_shows_the_settings_init_writes(tmp_path: Path) -> None:
    page = (REPO / "docs" / "editors.md").read_text(encoding="utf-8")
    block = page[page.index("```json\n") + len("```json\n"):]
    init_project(tmp_path)

    written = json.loads((tmp_path / ".vscode" / "settings.json").read_text(encoding="utf-8"))
    assert json.loads(block[:block.index("```")]) == written


def test_a_file_as_target_is_refused(tmp_path: Path) -> None:
    file = tmp_path / "note.txt"
    file.write_text("x", encoding="utf-8")
    with pytest.raises(InitError, match="is a file"):
        init_project(file)


def test_next_steps_say_what_to_run_and_where_the_docs_are(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    text = next_steps(tmp_path / "svc")
    assert "cd svc" in text
    for words in ("scftest run", "scftest run --update", "suites/hello.yaml", "docs/writing-cases.md"):
        assert words in text
    assert "cd " not in next_steps(tmp_path)  # already there


def test_the_handler_runs_on_python_2_7_too(tmp_path: Path) -> None:
    try:
        RuntimeResolver({}, None).resolve("Python2.7")
    except RuntimeNotFound as exc:
        pytest.skip(f"no interpreter for Python2.7: {exc}")
    init_project(tmp_path)
    suite = tmp_path / "suites" / "hello.yaml"
    suite.write_text(suite.read_text(encoding="utf-8").replace("runtime: Python3.6 ", "runtime: Python2.7 "),
                     encoding="utf-8")

    done = scftest_cli(tmp_path, "run")

    assert done.returncode == 0, done.stdout + done.stderr


def test_cli_init_prints_the_next_steps_and_refuses_a_second_time(tmp_path: Path) -> None:
    done = scftest_cli(tmp_path, "init", "svc")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "cd svc\n" in done.stdout and "scftest run --update" in done.stdout
    assert (tmp_path / "svc" / "suites" / "hello.yaml").is_file()
    again = scftest_cli(tmp_path, "init", "svc")
    assert again.returncode == 4 and "suites/hello.yaml" in again.stderr
