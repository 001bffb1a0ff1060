"""The selection and report options of issue 17 through the real CLI: --lf / --ff with the
last-failed cache (--cache-clear), --durations N, --tag expressions, -k phrases."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import NEWEST_OFFERED, needs, run_scftest

pytestmark = needs(NEWEST_OFFERED or "3.10")
RUNTIME = f"Python{NEWEST_OFFERED}"

# ``flaky`` fails until a file named ``fixed`` is in its code folder: the test "fixes" it.
HANDLERS = """\
import os

def ok(event, context):
    return "ok"

def flaky(event, context):
    if os.path.exists(os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixed")):
        return "ok"
    raise ValueError("not fixed yet")
"""

SUITE = """\
name: api
function:
  code: fn
  handler: index.ok
  runtime: {runtime}
matrix:
  memory: [128, 256]
cases:
  - name: hello returns ok
    tags: [smoke]
  - name: flaky one
    handler: index.flaky
    tags: [smoke, network]
  - name: needs a secret
    environment: {{TOKEN: !env SCFTEST_OPTIONS_TEST_UNSET}}
    tags: [network]
  - name: plain
  - name: on two memories
    handler: index.flaky
"""


def write_project(root: Path, *, pyproject: bool = False) -> Path:
    (root / "fn").mkdir(parents=True)
    (root / "fn" / "index.py").write_text(HANDLERS)
    (root / "api.yaml").write_text(SUITE.format(runtime=RUNTIME))
    if pyproject:
        (root / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    return root / "api.yaml"


def ran(output: str) -> list:
    """The case ids of a -v run, in the order they were reported."""
    return re.findall(r"^(?:PASSED|FAILED|ERROR) (\S.*?) \(\d", output, re.M)


def last_failed(folder: Path) -> dict:
    return json.loads((folder / ".scftest_cache" / "lastfailed.json").read_text())


FAILING = {
    "api.yaml::flaky one [128]", "api.yaml::flaky one [256]",
    "api.yaml::needs a secret [128]", "api.yaml::needs a secret [256]",
    "api.yaml::on two memories [128]", "api.yaml::on two memories [256]",
}


# ---------------------------------------------------------------- --lf / --ff cache


def test_last_failed_and_failed_first_follow_the_cache(tmp_path: Path) -> None:
    write_project(tmp_path)
    first = run_scftest(tmp_path, "run", "api.yaml", "-v")
    assert first.returncode == 1, first.stdout + first.stderr
    cache = tmp_path / ".scftest_cache"
    # FAILED and ERROR (the missing variable) count; each id holds its matrix values
    assert set(last_failed(tmp_path)) == FAILING
    assert (cache / ".gitignore").read_text().splitlines()[-1] == "*"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")

    only = run_scftest(tmp_path, "run", "api.yaml", "--lf", "-v")
    assert only.returncode == 1
    assert "run-last-failure: rerun previous 6 failures" in only.stdout
    assert "collected 6 cases (4 deselected)" in only.stdout
    assert ran(only.stdout) == [
        "api::flaky one [128]", "api::flaky one [256]", "api::needs a secret [128]",
        "api::needs a secret [256]", "api::on two memories [128]", "api::on two memories [256]",
    ]

    first_ = run_scftest(tmp_path, "run", "api.yaml", "--ff", "-v")
    assert "run-last-failure: rerun previous 6 failures first" in first_.stdout
    order = ran(first_.stdout)
    assert order[:6] == ran(only.stdout) and len(order) == 10
    assert order[6:] == ["api::hello returns ok [128]", "api::hello returns ok [256]",
                         "api::plain [128]", "api::plain [256]"]

    (tmp_path / "fn" / "fixed").write_text("")
    fixed = run_scftest(tmp_path, "run", "api.yaml", "--lf", "-k", "flaky or memories")
    assert fixed.returncode == 0, fixed.stdout
    assert "4 passed" in fixed.stdout
    # passed cases leave the cache; the one not run this time keeps its entry
    assert set(last_failed(tmp_path)) == {"api.yaml::needs a secret [128]", "api.yaml::needs a secret [256]"}

    outside = run_scftest(tmp_path, "run", "api.yaml", "--lf", "-k", "hello")
    assert "run-last-failure: 2 known failures not in the selected cases" in outside.stdout
    assert "2 passed" in outside.stdout


def test_lf_without_failures_runs_everything_and_cache_clear_forgets(tmp_path: Path) -> None:
    write_project(tmp_path)
    fresh = run_scftest(tmp_path, "run", "api.yaml", "--lf", "-q")
    assert "run-last-failure" not in fresh.stdout  # -q: no header
    assert "4 passed, 4 failed, 2 errors" in fresh.stdout
    assert len(last_failed(tmp_path)) == 6

    cleared = run_scftest(tmp_path, "run", "api.yaml", "--lf", "--cache-clear")
    assert "run-last-failure: no previously failed cases, not deselecting any" in cleared.stdout
    assert "collected 10 cases" in cleared.stdout

    (tmp_path / "fn" / "fixed").write_text("")
    run_scftest(tmp_path, "run", "api.yaml", "-k", "not secret")
    assert set(last_failed(tmp_path)) == {"api.yaml::needs a secret [128]", "api.yaml::needs a secret [256]"}


def test_the_cache_lives_in_the_project_root_or_beside_the_suites(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write_project(project / "suites", pyproject=False)
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n")
    run_scftest(project / "suites", "run", "api.yaml")
    assert set(last_failed(project)) == {f"suites/{key}" for key in FAILING}
    assert not (project / "suites" / ".scftest_cache").exists()
    # the same ids from another working directory of the project: --lf finds them
    again = run_scftest(project, "run", "suites", "--lf")
    assert "run-last-failure: rerun previous 6 failures" in again.stdout

    loose = tmp_path / "loose"
    write_project(loose / "a")
    (loose / "b").mkdir()
    (loose / "b" / "more.yaml").write_text((loose / "a" / "api.yaml").read_text().replace("code: fn", "code: ../a/fn")
                                           .replace("name: api", "name: more"))
    run_scftest(tmp_path, "run", "loose/a/api.yaml", "loose/b/more.yaml")
    assert {key.split("::")[0] for key in last_failed(loose)} == {"a/api.yaml", "b/more.yaml"}
    assert not (tmp_path / ".scftest_cache").exists()


def test_a_passing_run_leaves_no_cache_behind(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run_scftest(tmp_path, "run", "api.yaml", "-k", "hello or plain")
    assert result.returncode == 0
    assert not (tmp_path / ".scftest_cache").exists()


def test_a_broken_or_unwritable_cache_is_a_warning_never_a_verdict(tmp_path: Path) -> None:
    write_project(tmp_path)
    (tmp_path / ".scftest_cache").mkdir()
    (tmp_path / ".scftest_cache" / "lastfailed.json").write_text("{not json")
    broken = run_scftest(tmp_path, "run", "api.yaml", "--lf", "-k", "hello")
    assert broken.returncode == 0, broken.stdout + broken.stderr
    assert "scftest: warning: the last-failed cache" in broken.stderr
    assert "cannot be read (not JSON" in broken.stderr and "--cache-clear" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert last_failed(tmp_path) == {}  # rewritten whole

    blocked = tmp_path / "blocked"
    write_project(blocked)
    (blocked / ".scftest_cache").write_text("a file where the folder should be")
    result = run_scftest(blocked, "run", "api.yaml", "--lf", "-k", "flaky")
    assert result.returncode == 1  # the verdicts, not the cache, decide
    assert "cannot write the last-failed cache" in result.stderr
    assert "Traceback" not in result.stderr


# -------------------------------------------------------------------- --durations


def test_durations_lists_the_slowest_cases_with_their_times(tmp_path: Path) -> None:
    write_project(tmp_path)
    two = run_scftest(tmp_path, "run", "api.yaml", "-k", "hello or plain", "--durations", "2")
    section = two.stdout.split("slowest 2 cases")[1].splitlines()[1:3]
    assert all(re.match(r"^ *\d+\.\d\ds api::(hello returns ok|plain) \[\d+\]$", line) for line in section), section
    assert len(re.findall(r"^ *\d+\.\d\ds api::", two.stdout, re.M)) == 2

    every = run_scftest(tmp_path, "run", "api.yaml", "-k", "hello or plain", "--durations", "0", "-q")
    assert "slowest 4 cases" in every.stdout
    assert len(re.findall(r"^ *\d+\.\d\ds api::", every.stdout, re.M)) == 4

    default = run_scftest(tmp_path, "run", "api.yaml", "-k", "hello or plain", "-q")
    assert "slowest" not in default.stdout

    bad = run_scftest(tmp_path, "run", "api.yaml", "--durations", "-1")
    assert bad.returncode == 4
    assert "--durations: '-1': give a number of cases, 0 or more" in bad.stderr


# ----------------------------------------------------------------- --tag and -k


def test_tag_expressions_select_and_exclude(tmp_path: Path) -> None:
    write_project(tmp_path)
    result = run_scftest(tmp_path, "run", "api.yaml", "--tag", "not network", "-v")
    assert ran(result.stdout) == ["api::hello returns ok [128]", "api::hello returns ok [256]",
                                  "api::plain [128]", "api::plain [256]",
                                  "api::on two memories [128]", "api::on two memories [256]"]
    both = run_scftest(tmp_path, "run", "api.yaml", "--tag", "smoke and network", "-v")
    assert ran(both.stdout) == ["api::flaky one [128]", "api::flaky one [256]"]
    # the old meaning of several --tag: any of them
    old = run_scftest(tmp_path, "run", "api.yaml", "--tag", "network", "--tag", "smoke", "-v")
    assert len(ran(old.stdout)) == 6


@pytest.mark.parametrize("expr, message", [
    ("smoke network", "--tag 'smoke network': two tags side by side, found 'network' at column 7"),
    ("smoke and (network", "expected ')' to close the '(' at column 11, found the end at column 19"),
])
def test_a_bad_tag_expression_is_a_usage_error_naming_the_column(tmp_path: Path, expr: str, message: str) -> None:
    write_project(tmp_path)
    result = run_scftest(tmp_path, "run", "api.yaml", "--tag", expr)
    assert result.returncode == 4
    assert message in result.stderr
    assert 'e.g. --tag "smoke and not network"' in result.stderr
    assert "Traceback" not in result.stderr and "collected" not in result.stdout


def test_keyword_words_side_by_side_match_as_a_phrase(tmp_path: Path) -> None:
    write_project(tmp_path)
    phrase = run_scftest(tmp_path, "run", "api.yaml", "-k", "hello returns", "-v")
    assert phrase.returncode == 0, phrase.stdout + phrase.stderr
    assert ran(phrase.stdout) == ["api::hello returns ok [128]", "api::hello returns ok [256]"]
    # what -k took before still works: operators, quotes, a matrix value
    quoted = run_scftest(tmp_path, "run", "api.yaml", "-k", '"returns ok" and not [256]', "-v")
    assert ran(quoted.stdout) == ["api::hello returns ok [128]"]
    nothing = run_scftest(tmp_path, "run", "api.yaml", "-k", "returns hello")
    assert nothing.returncode == 5
    bad = run_scftest(tmp_path, "run", "api.yaml", "-k", "hello and")
    assert bad.returncode == 4 and "found the end at column 10" in bad.stderr


def test_last_failed_reruns_the_failures_of_its_own_shard(tmp_path: Path) -> None:
    write_project(tmp_path)
    run_scftest(tmp_path, "run", "api.yaml")
    shard = ran(run_scftest(tmp_path, "run", "api.yaml", "--shard", "2/2", "-v").stdout)
    again = run_scftest(tmp_path, "run", "api.yaml", "--shard", "2/2", "--lf", "-v")
    failing = {key.replace("api.yaml::", "api::") for key in FAILING}
    assert ran(again.stdout) == [case for case in shard if case in failing]
    assert 0 < len(ran(again.stdout)) < len(failing)  # the other shard's failures stay out
