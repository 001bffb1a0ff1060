"""Isolation through the real CLI: --isolation, every report's label, scftest doctor, and
the attacks that need a runner of their own (its environment, its death)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import uuid
import xml.etree.ElementTree as ET
from pathlib import Path

from conftest import HANDLERS, NEWEST_OFFERED, end_processes, needs, processes_of, shared_sandbox

pytestmark = needs(NEWEST_OFFERED)

RUNTIME = f"Python{NEWEST_OFFERED}"


def flag(isolation):
    return "strict" if isolation == "namespace" else "process"


def suite(folder: Path, cases: str, marker: str) -> Path:
    code = folder / "fn"
    shutil.copytree(HANDLERS / "hostile", code)
    (folder / "attacks.yaml").write_text(
        f"function:\n  code: fn\n  runtime: {RUNTIME}\n  handler: index.daemon\n"
        f"  environment: {{SCFTEST_MARKER: {marker}}}\ncases:\n{cases}")
    return folder


def scftest(cwd: Path, *args: str, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd,
                          env=dict(env or os.environ, NO_COLOR="1"), capture_output=True,
                          text=True, timeout=300)


def test_attacks_through_the_cli_and_every_report_says_the_isolation(isolation, tmp_path):
    marker = f"scftest-cli-{uuid.uuid4().hex}"
    secret = f"ci-secret-{uuid.uuid4().hex}"
    suite(tmp_path, """\
  - name: reads the runner's environment
    handler: index.read_environments
    event: {name: SCFTEST_CI_SECRET}
  - name: leaves a daemon
  - name: forges its result, then raises
    handler: index.forge_then_raise
    expect: {status: crash}
""", marker)
    result = scftest(tmp_path, "run", ".", "--isolation", flag(isolation), "--json", "r.json",
                     "--junit-xml", "r.xml", env=dict(os.environ, SCFTEST_CI_SECRET=secret))
    left = processes_of(marker)
    end_processes(left)
    assert left == []
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    records = {case["name"]: case["record"] for case in report["cases"]}
    assert {r["isolation"] for r in records.values()} == {isolation}
    spied = records["reads the runner's environment"]["return"]
    assert spied["holding"] == [] and spied["parent_env"] != "read"
    assert secret not in result.stdout + (tmp_path / "r.json").read_text()
    properties = {p.get("name"): p.get("value")
                  for p in ET.parse(tmp_path / "r.xml").getroot().iter("property")}
    assert properties["isolation"] == isolation
    note = "isolation: process for 3 of 3 cases: not contained in an instance"
    assert (note in result.stdout) == (isolation == "process")


def test_killing_the_parent(isolation, tmp_path):
    marker = f"scftest-cli-{uuid.uuid4().hex}"
    suite(tmp_path, "  - name: kills its parent\n    handler: index.kill_parent\n", marker)
    result = scftest(tmp_path, "run", ".", "--isolation", flag(isolation), "--json", "r.json")
    left = processes_of(marker)
    end_processes(left)
    assert left == []  # even when the runner died: the bootstrap has a parent-death signal
    if isolation == "namespace":
        assert result.returncode == 0, result.stdout + result.stderr
        record = json.loads((tmp_path / "r.json").read_text())["cases"][0]["record"]
        assert record["return"].startswith("alive")
    else:  # labelled limit: the function runs as the runner's user and can kill it
        assert result.returncode == -signal.SIGKILL
        assert not (tmp_path / "r.json").exists()


def test_doctor_says_what_the_machine_gives(tmp_path):
    result = scftest(tmp_path, "doctor")
    machine = shared_sandbox("auto").machine()
    first = result.stdout.splitlines()[0]
    assert first == f"isolation: {'namespace' if machine.namespaces else 'process'}"
    assert machine.why in result.stdout
    assert result.returncode == 0
    forced = scftest(tmp_path, "doctor", "--isolation", "process")
    assert forced.stdout.startswith("isolation: process\n")
    assert "labelled limit" in forced.stdout and "network: the host's" in forced.stdout
    for line in ("namespaces: none", "sealed bootstrap: yes",
                 "parent-death signal: on the function's process",
                 "child subreaper: the runner and the bootstrap",
                 "non-dumpable: the runner and the function's process"):
        assert f"\n{line}\n" in forced.stdout, line


def test_strict_makes_an_uncontainable_case_an_error(tmp_path, monkeypatch):
    from scftest.instance import sandbox
    from scftest.result import EXIT_FAILED
    from scftest.session import RunOptions, run

    def no_namespaces(python=None):
        return sandbox.MachineIsolation(False, "namespaces cannot be made here: (test)", False,
                                        None)

    monkeypatch.setattr(sandbox, "probe_machine", no_namespaces)
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return 1\n")
    (tmp_path / "s.yaml").write_text(
        f"function: {{code: fn, handler: index.main_handler, runtime: {RUNTIME}}}\n"
        "cases:\n  - name: one\n")
    strict = run(RunOptions(paths=[tmp_path], isolation="strict"))
    assert strict.exit_code == EXIT_FAILED
    [outcome] = strict.outcomes
    assert outcome.verdict.value == "error"
    assert "--isolation strict" in outcome.summary and "(test)" in outcome.summary
    assert "scftest doctor" in outcome.details
    auto = run(RunOptions(paths=[tmp_path], isolation="auto"))
    assert auto.exit_code == 0 and auto.outcomes[0].record.isolation == "process"
