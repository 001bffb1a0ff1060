"""The CI recipes of docs/ci.md and ci/Dockerfile, checked as far as this machine can
(issue 17 item 2).

- Each GitHub Actions and GitLab CI block is valid against the schema the service publishes
  (vendored in tests/data/ci, README there says from where and when).
- Their shell steps run here, unchanged, in a copy of a small project: the pyenv lines (pyenv
  and the five versions are on this machine, so ``--skip-existing`` finds them built and
  nothing is compiled), ``scftest runtimes`` and the ``scftest run`` commands with their shard,
  JUnit, JSON (and coverage) options, which must pass and write their reports. ``apt-get`` is
  replaced by a function that checks each package name is one Debian has (``apt-cache show``),
  so nothing is installed. The install steps (``pip install "$SCFTEST_SPEC"``) are not run:
  the scftest under test is put on PATH instead, and tests/test_package.py installs the built
  wheel into a fresh virtualenv.
- The Jenkinsfile: its braces and quotes balance, its declarative sections are where a
  pipeline wants them, and its ``sh`` steps run here as above. No Jenkins here to load it.
- ci/Dockerfile: its instructions parse, its pyenv lines run as above, its apt packages exist.
  ``docker build`` itself is not run: it needs a Docker daemon (this machine has only the
  client) and compiles five Pythons; build it by hand with the lines at the top of the file.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Dict, List, Tuple

import jsonschema
import pytest
from ruamel.yaml import YAML
from conftest import needs

import scftest
from scftest.scf.profiles import offered

ROOT = Path(scftest.__file__).resolve().parent.parent
CI_MD = ROOT / "docs" / "ci.md"
DOCKERFILE = ROOT / "ci" / "Dockerfile"
DATA = Path(__file__).resolve().parent / "data" / "ci"
BIN = Path(sys.executable).parent  # where this scftest's command is
PYENV_ROOT = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
VERSIONS = ("2.7.18", "3.6.15", "3.7.16", "3.9.18", "3.10.13")  # what every recipe builds
RUN_TIMEOUT_S = 600  # an upper bound for a small suite on a loaded machine, not a measurement

needs_pyenv = pytest.mark.skipif(
    not ((PYENV_ROOT / "bin" / "pyenv").exists() and all((PYENV_ROOT / "versions" / v).is_dir() for v in VERSIONS)),
    reason=f"pyenv with {', '.join(VERSIONS)} built is not at {PYENV_ROOT}: the recipes' pyenv lines would compile them")

# apt-get and sudo as the recipes call them, without installing anything.
_SHIMS = r'''
sudo() { "$@"; }
apt-get() {
  case "$1" in
    update) return 0 ;;
    install) shift
      for package in "$@"; do
        case "$package" in -*) ;; *)
          apt-cache show "$package" >/dev/null 2>&1 || { echo "apt-get shim: no Debian package $package" >&2; return 1; } ;;
        esac
      done ;;
    *) echo "apt-get shim: not expected: $*" >&2; return 1 ;;
  esac
}
'''


def blocks(heading: str) -> List[Tuple[str, str]]:
    """(language, text) of each fenced block under the ``## heading`` of docs/ci.md."""
    found, section, lang, lines = [], None, None, []
    for line in CI_MD.read_text(encoding="utf-8").splitlines():
        if lang is not None:
            if line.startswith("```"):
                if section == heading:
                    found.append((lang, "\n".join(lines) + "\n"))
                lang, lines = None, []
            else:
                lines.append(line)
        elif line.startswith("```"):
            lang = line[3:].strip()
        elif line.startswith("## "):
            section = line[3:].strip()
    return found


def yaml_blocks(heading: str) -> List[dict]:
    texts = [text for lang, text in blocks(heading) if lang == "yaml"]
    assert texts, f"docs/ci.md has no yaml block under '## {heading}'"
    # YAML 1.2, as GitHub and GitLab read it (PyYAML's 1.1 would read the key `on:` as true)
    return [_plain(YAML(typ="safe", pure=True).load(text)) for text in texts]


def _plain(value):
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _validator(name: str) -> jsonschema.Draft7Validator:
    schema = json.loads((DATA / f"{name}.schema.json").read_text(encoding="utf-8"))
    return jsonschema.Draft7Validator(schema)


def _problems(validator, document) -> List[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small project as the recipes expect one: suites/ with a suite and its function."""
    suites = tmp_path / "project" / "suites"
    (suites / "functions").mkdir(parents=True)
    shutil.copy(ROOT / "suites" / "hello.yaml", suites / "hello.yaml")
    shutil.copytree(ROOT / "suites" / "functions" / "hello", suites / "functions" / "hello")
    return suites.parent


def _has_cov() -> bool:
    done = subprocess.run([str(BIN / "scftest"), "run", "--help"], capture_output=True, text=True, timeout=120)
    return "--cov" in done.stdout


def _shell(script: str, cwd: Path, env: Dict[str, str]) -> subprocess.CompletedProcess:
    """Run a recipe's shell text as CI would (bash, stop at the first failure)."""
    if not _has_cov():  # plugin16's --cov has not landed in this tree: run the rest of the line
        script = re.sub(r" --cov-report \S+| --cov\b", "", script)
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON"))}
    full_env.update(env)
    full_env["PATH"] = f"{BIN}{os.pathsep}{full_env.get('PATH', '')}"
    return subprocess.run(["bash", "-e", "-o", "pipefail", "-c", _SHIMS + script], cwd=cwd, env=full_env,
                          capture_output=True, text=True, timeout=RUN_TIMEOUT_S)


def _ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done.stdout


def _report_totals(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["totals"]


# --- the versions --------------------------------------------------------------------------------

def test_every_recipe_builds_the_five_runtimes_scf_offers() -> None:
    assert [f"Python{'.'.join(v.split('.')[:2])}" for v in VERSIONS] == list(offered())
    texts = [CI_MD.read_text(encoding="utf-8"), DOCKERFILE.read_text(encoding="utf-8")]
    for text in texts:
        for line in text.splitlines():
            if "pyenv install" in line and "for version in" in line:
                assert " ".join(VERSIONS) in line, line
    github = yaml_blocks("GitHub Actions")[0]
    assert github["env"]["SCF_PYTHONS"] == " ".join(VERSIONS)
    built = re.findall(r"^RUN pyenv install --skip-existing (\S+)$", texts[1], re.M)
    assert tuple(built) == VERSIONS


# --- GitHub Actions ------------------------------------------------------------------------------

def test_the_github_workflow_is_valid_against_the_published_schema() -> None:
    validator = _validator("github-workflow")
    for workflow in yaml_blocks("GitHub Actions"):
        assert _problems(validator, workflow) == []


def test_the_github_schema_would_catch_a_broken_workflow() -> None:
    validator = _validator("github-workflow")
    (workflow,) = yaml_blocks("GitHub Actions")
    job = workflow["jobs"]["scftest"]
    job["step"] = job.pop("steps")  # a typo
    assert _problems(validator, workflow)


def _github_steps() -> Dict[str, dict]:
    (workflow,) = yaml_blocks("GitHub Actions")
    return {step.get("name", step.get("uses")): step for step in workflow["jobs"]["scftest"]["steps"]}


def _github_expressions(text: str, shard: int) -> str:
    text = text.replace("${{ matrix.shard }}", str(shard))
    assert "${{" not in text, text  # an expression this test does not know how to give
    return text


@needs_pyenv
def test_the_github_runtime_step_runs_here(tmp_path: Path) -> None:
    (workflow,) = yaml_blocks("GitHub Actions")
    step = _github_steps()["Build the SCF runtimes (only when the cache missed)"]
    assert step["if"] == "steps.runtimes.outputs.cache-hit != 'true'"
    cache = _github_steps()["Restore the SCF runtimes"]
    assert cache["with"]["path"] == "~/.pyenv" and "${{ env.SCF_PYTHONS }}" in cache["with"]["key"]
    if PYENV_ROOT != Path.home() / ".pyenv":
        pytest.skip(f"the recipe caches ~/.pyenv; pyenv is at {PYENV_ROOT} here")
    _ok(_shell(step["run"], tmp_path, {"SCF_PYTHONS": workflow["env"]["SCF_PYTHONS"]}))


@needs(*(".".join(v.split(".")[:2]) for v in VERSIONS))
def test_the_github_scftest_steps_run_here(project: Path) -> None:
    steps = _github_steps()
    assert 'echo "$PWD/.venv/bin" >> "$GITHUB_PATH"' in steps["Install scftest"]["run"]
    assert "Python3.6" in _ok(_shell(steps["Show the runtimes"]["run"], project, {}))
    _ok(_shell(_github_expressions(steps["Run suites"]["run"], 1), project, {}))
    shard_1 = _report_totals(project / "reports" / "scftest-1.json")
    _ok(_shell(_github_expressions(steps["Run suites"]["run"], 2), project, {}))
    shard_2 = _report_totals(project / "reports" / "scftest-2.json")
    assert (project / "reports" / "junit-1.xml").is_file() and (project / "reports" / "junit-2.xml").is_file()
    assert shard_1["passed"] > 0 and shard_1["failed"] == shard_1["error"] == 0
    # The four shards split the cases: shard 1 and 2 are not the same cases twice.
    whole = json.loads(_ok(_shell("scftest run suites/ --json -", project, {})))["totals"]["cases"]
    assert shard_1["cases"] + shard_2["cases"] <= whole and abs(shard_1["cases"] - whole / 4) < 1


# --- GitLab CI -----------------------------------------------------------------------------------

def test_the_gitlab_configs_are_valid_against_the_published_schema() -> None:
    validator = _validator("gitlab-ci")
    configs = yaml_blocks("GitLab CI")
    assert len(configs) == 2
    for config in configs:
        assert _problems(validator, config) == []


def test_the_gitlab_schema_would_catch_a_broken_config() -> None:
    validator = _validator("gitlab-ci")
    config = yaml_blocks("GitLab CI")[0]
    config["scftest"]["artifacts"]["reports"]["coverage_report"]["coverage_format"] = "lcov-ish"
    assert _problems(validator, config)


def _gitlab_env(config: dict, project: Path, index: int) -> Dict[str, str]:
    env = {"CI_PROJECT_DIR": str(project), "CI_NODE_INDEX": str(index), "CI_NODE_TOTAL": str(config["parallel"])}
    for key, value in config.get("variables", {}).items():
        env[key] = re.sub(r"\$(\w+)", lambda m: env.get(m.group(1), ""), str(value))
    return env


@needs(*(".".join(v.split(".")[:2]) for v in VERSIONS))
def test_the_gitlab_image_job_runs_here(project: Path) -> None:
    job = yaml_blocks("GitLab CI")[0]["scftest"]
    assert job["image"].endswith("/scftest-ci:0.2.0")
    _ok(_shell("\n".join(job["script"]), project, _gitlab_env(job, project, 1)))
    totals = _report_totals(project / "reports" / "scftest.json")
    assert totals["passed"] > 0 and totals["failed"] == totals["error"] == 0
    assert (project / "reports" / "junit.xml").is_file()


@needs_pyenv
@needs(*(".".join(v.split(".")[:2]) for v in VERSIONS))
def test_the_gitlab_pyenv_job_runs_here(project: Path) -> None:
    job = yaml_blocks("GitLab CI")[1]["scftest"]
    (pythons,) = [cache for cache in job["cache"] if cache["key"].startswith("scf-pythons-")]
    assert pythons["paths"] == [".pyenv/"] and job["variables"]["PYENV_ROOT"] == "$CI_PROJECT_DIR/.pyenv"
    if PYENV_ROOT.name != ".pyenv":
        pytest.skip(f"the recipe's pyenv root is CI_PROJECT_DIR/.pyenv; here it is {PYENV_ROOT}")
    # The job runs in the project; CI_PROJECT_DIR names the folder whose .pyenv is this machine's
    # built one, as GitLab's cache restores it (a real folder: through a symlink the instance
    # cannot see the interpreter's files).
    env = _gitlab_env(job, PYENV_ROOT.parent, 2)
    assert env["PYENV_ROOT"] == str(PYENV_ROOT)
    lines = [line for line in job["before_script"] if 'pip install "$SCFTEST_SPEC"' not in line]
    assert len(lines) == len(job["before_script"]) - 1
    _ok(_shell("\n".join(lines + job["script"]), project, env))
    assert (project / ".venv" / "bin" / "python").exists()
    assert _report_totals(project / "reports" / "scftest.json")["failed"] == 0


# --- Jenkins -------------------------------------------------------------------------------------

def _jenkinsfile() -> str:
    (text,) = [text for lang, text in blocks("Jenkins") if lang == "groovy"]
    return text


def _strip_strings(text: str) -> str:
    text = re.sub(r"//[^\n]*", "", text)
    return re.sub(r"'(?:[^'\\\n]|\\.)*'|\"(?:[^\"\\\n]|\\.)*\"", "''", text)


def test_the_jenkinsfile_is_a_well_formed_declarative_pipeline() -> None:
    text = _jenkinsfile()
    code = _strip_strings(text)
    assert "'" not in code.replace("''", "") and '"' not in code, "an unclosed string"
    depth = 0
    for char in code:
        depth += {"{": 1, "}": -1}.get(char, 0)
        assert depth >= 0, "a } closes nothing"
    assert depth == 0, "a { is never closed"
    assert code.count("(") == code.count(")")
    assert re.match(r"\s*pipeline\s*\{\s*agent\s", code)
    for section in ("stages", "parallel", "environment"):
        assert re.search(rf"\b{section}\s*\{{", code), section
    stages = re.findall(r"stage\(''\)\s*\{", code)
    shards = re.findall(r"stage\('shard (\d+)'\)", text)
    assert len(stages) == len(shards) + 1 and shards == ["1", "2"]
    # with "agent none" at the top, every stage that runs steps names its agent
    assert len(re.findall(r"agent \{ docker \{ image '[^']+' \} \}", text)) == len(shards)


@needs(*(".".join(v.split(".")[:2]) for v in VERSIONS))
def test_the_jenkins_sh_steps_run_here(project: Path) -> None:
    commands = re.findall(r"sh '([^']*)'", _jenkinsfile())
    assert len(commands) == 2
    for index, command in enumerate(commands, start=1):
        assert f"--shard {index}/2" in command
        _ok(_shell(command, project, {}))
        assert (project / "reports" / f"junit-{index}.xml").is_file()
    cases = [_report_totals(project / "reports" / f"scftest-{i}.json")["cases"] for i in (1, 2)]
    whole = json.loads(_ok(_shell("scftest run suites/ --json -", project, {})))["totals"]["cases"]
    assert sum(cases) == whole and abs(cases[0] - cases[1]) <= 1


# --- the pyenv block and the command -------------------------------------------------------------

@needs_pyenv
def test_the_pyenv_block_runs_here(tmp_path: Path) -> None:
    (script,) = [text for lang, text in blocks("Providing the SCF runtimes") if lang == "sh" and "pyenv" in text]
    _ok(_shell(script, tmp_path, {"PYENV_ROOT": str(PYENV_ROOT)}))


@needs(*(".".join(v.split(".")[:2]) for v in VERSIONS))
def test_the_command_runs_here(project: Path) -> None:
    (script,) = [text for lang, text in blocks("The command") if lang == "sh"]
    _ok(_shell(script, project, {}))
    assert _report_totals(project / "reports" / "scftest.json")["failed"] == 0


def test_the_coverage_options_exist_in_this_scftest() -> None:
    if not _has_cov():
        pytest.skip("scftest run has no --cov in this tree yet (issue 16): the recipes' runs above leave it out")
    assert "--cov-report" in subprocess.run([str(BIN / "scftest"), "run", "--help"], capture_output=True,
                                            text=True, timeout=120).stdout


# --- ci/Dockerfile -------------------------------------------------------------------------------

def _instructions() -> List[Tuple[str, str]]:
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            found.append((word, rest.strip()))
    return found


def test_the_dockerfile_parses() -> None:
    instructions = _instructions()
    known = {"FROM", "RUN", "ENV", "COPY", "ARG", "WORKDIR", "LABEL", "USER", "ENTRYPOINT", "CMD"}
    assert [word for word, _ in instructions if word not in known] == []
    assert instructions[0] == ("FROM", "python:3.11-slim-bookworm")
    env = dict(rest.split("=", 1) for word, rest in instructions if word == "ENV")
    assert env["PYENV_ROOT"] == "/opt/pyenv" and env["PATH"].startswith("/opt/pyenv/bin:")
    copies = [rest for word, rest in instructions if word == "COPY"]
    assert copies == ["dist/ /tmp/dist/"]
    # the wheel that `python -m build --wheel` names is the one the RUN line installs
    assert any("pip install --no-cache-dir /tmp/dist/scftest-*.whl" in rest for word, rest in instructions if word == "RUN")


def test_the_dockerfile_apt_packages_exist() -> None:
    if shutil.which("apt-cache") is None or subprocess.run(["apt-cache", "show", "bash"], capture_output=True).returncode:
        pytest.skip("apt-cache has no package lists here (run apt-get update)")
    (install,) = [rest for word, rest in _instructions() if word == "RUN" and "apt-get install" in rest]
    packages = [word for word in install.split("apt-get install", 1)[1].split("&&")[0].split() if not word.startswith("-")]
    assert "build-essential" in packages and "libssl-dev" in packages
    for package in packages:
        assert subprocess.run(["apt-cache", "show", package], capture_output=True).returncode == 0, package


@needs_pyenv
def test_the_dockerfile_pyenv_lines_run_here(tmp_path: Path) -> None:
    lines = [rest for word, rest in _instructions() if word == "RUN" and rest.startswith("pyenv ")]
    assert len(lines) == len(VERSIONS)
    _ok(_shell("\n".join(lines), tmp_path, {"PYENV_ROOT": str(PYENV_ROOT),
                                            "PATH": f"{PYENV_ROOT / 'bin'}{os.pathsep}{os.environ['PATH']}"}))
    # pyenv knows how to build each version (--skip-existing found them built: this is what runs elsewhere)
    listed = subprocess.run([str(PYENV_ROOT / "bin" / "pyenv"), "install", "--list"], capture_output=True,
                            text=True, timeout=120).stdout.split()
    assert set(VERSIONS) <= set(listed)



# --- the last-failed cache between jobs ----------------------------------------------------------

FAILING_SUITE = """\
name: failing
function: {code: functions/hello, handler: index.main_handler, runtime: Python3.6}
cases:
  - name: expects another greeting
    event: {key: value}
    expect: {return: Goodbye}
"""


def _cache_paths() -> Dict[str, List[str]]:
    """Each recipe's paths for the last-failed cache, as the CI system reads them."""
    steps = _github_steps()
    restore, save = steps["Restore the last-failed cache"], steps["Save the last-failed cache"]
    assert restore["uses"] == "actions/cache/restore@v4" and save["uses"] == "actions/cache/save@v4"
    assert save["if"] == "always()"  # plain actions/cache saves only when the job succeeded
    assert restore["with"]["key"] == save["with"]["key"] and "${{ github.run_id }}" in save["with"]["key"]
    assert save["with"]["key"].startswith(restore["with"]["restore-keys"])
    found = {"GitHub": restore["with"]["path"].split()}
    assert save["with"]["path"].split() == found["GitHub"]
    for index, config in enumerate(yaml_blocks("GitLab CI")):
        (cache,) = [c for c in config["scftest"]["cache"] if c["key"].startswith("scftest-lastfailed-")]
        assert cache["when"] == "always" and "$CI_NODE_INDEX" in cache["key"]
        found[f"GitLab {index + 1}"] = [path.rstrip("/") for path in cache["paths"]]
    return found


def test_every_recipe_that_can_keeps_the_last_failed_cache_and_runs_failures_first() -> None:
    recipes = _cache_paths()
    assert len(recipes) == 3
    assert "--ff" in _github_steps()["Run suites"]["run"]
    for config in yaml_blocks("GitLab CI"):
        assert "scftest run suites/ -j auto --ff" in " ".join(config["scftest"]["script"])


@needs("2.7", "3.6")
@pytest.mark.parametrize("layout", ["pyproject", "plain"])
def test_the_recipes_cache_the_folder_scftest_writes(project: Path, layout: str) -> None:
    # A failing run writes the cache; in each layout exactly one of the recipes' paths holds it.
    if layout == "pyproject":
        (project / "pyproject.toml").write_text('[project]\nname = "functions"\nversion = "1"\n')
    (project / "suites" / "failing.yaml").write_text(FAILING_SUITE)
    done = _shell("scftest run suites/ -j auto", project, {})
    assert done.returncode == 1, done.stdout + done.stderr
    written = [path for path in ("suites/.scftest_cache", ".scftest_cache")
               if (project / path / "lastfailed.json").is_file()]
    assert written == [".scftest_cache" if layout == "pyproject" else "suites/.scftest_cache"]
    failed = json.loads((project / written[0] / "lastfailed.json").read_text(encoding="utf-8"))
    file = "suites/failing.yaml" if layout == "pyproject" else "failing.yaml"  # relative to its folder
    assert list(failed) == [f"{file}::expects another greeting"]
    for recipe, paths in _cache_paths().items():
        assert written[0] in paths, recipe
    # and the next job, having restored it, runs that failure first
    again = _shell("scftest run suites/ -j auto --ff", project, {})
    assert "run-last-failure: rerun previous 1 failure first" in again.stdout, again.stdout
