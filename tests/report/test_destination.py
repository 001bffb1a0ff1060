"""Report paths through the real CLI: symlinks, FIFOs, devices, standard output, one path twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from conftest import needs

pytestmark = needs("3.6")

SUITE = """\
function: {code: fn, handler: index.main_handler, runtime: Python3.6}
cases:
  - name: greets
    expect: {return: hi}
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return 'hi'\n")
    (tmp_path / "s.yaml").write_text(SUITE)
    return tmp_path


def scftest(cwd: Path, *args: str, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("capture_output", True)
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "scftest", *args], cwd=cwd, env=env,
                          text=True, timeout=120, **kwargs)


def verdicts(text: str) -> dict:
    return {case["id"]: case["verdict"] for case in json.loads(text)["cases"]}


def test_a_symlinked_report_path_writes_its_target_and_stays_a_link(project: Path) -> None:
    (project / "published").mkdir()
    (project / "published" / "r.json").write_text("stale")
    (project / "r.json").symlink_to("published/r.json")
    (project / "r.xml").symlink_to("published/new.xml")  # dangling: the target is created
    result = scftest(project, "run", "s.yaml", "--json", "r.json", "--junit-xml", "r.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert (project / "r.json").is_symlink() and (project / "r.xml").is_symlink()
    assert verdicts((project / "published" / "r.json").read_text()) == {"s::greets": "passed"}
    assert ET.parse(project / "published" / "new.xml").getroot().get("tests") == "1"


def test_a_report_to_a_fifo_is_read_by_whoever_listens(project: Path) -> None:
    fifo = project / "report.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()  # the reader blocks in open() until scftest opens the FIFO for writing
    result = scftest(project, "run", "s.yaml", "--json", str(fifo))
    reader.join(timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert fifo.is_fifo()
    assert verdicts(received[0]) == {"s::greets": "passed"}


def test_dash_writes_the_report_to_stdout_and_the_terminal_output_to_stderr(project: Path) -> None:
    result = scftest(project, "run", "s.yaml", "--json", "-", "--junit-xml", "r.xml")
    assert result.returncode == 0, result.stderr
    assert verdicts(result.stdout) == {"s::greets": "passed"}  # stdout is the report alone
    assert "1 passed" in result.stderr
    assert (project / "r.xml").is_file()


def test_dev_stdout_redirected_to_a_file_gets_the_report_after_nothing_else(project: Path) -> None:
    out = project / "captured.txt"
    with out.open("w") as handle:
        result = scftest(project, "run", "s.yaml", "--junit-xml", "/dev/stdout",
                         stdout=handle, stderr=subprocess.PIPE, capture_output=False)
    assert result.returncode == 0, result.stderr
    root = ET.fromstring(out.read_text())  # the whole file is the XML: nothing truncated or mixed in
    assert root.get("tests") == "1"
    assert "1 passed" in result.stderr


def test_a_device_is_written_as_it_stands(project: Path) -> None:
    result = scftest(project, "run", "s.yaml", "--json", "/dev/null", "--junit-xml", "r.xml")
    assert result.returncode == 0, result.stdout + result.stderr
    assert Path("/dev/null").is_char_device()
    assert (project / "r.xml").is_file()


@pytest.mark.parametrize("junit, json_path", [
    ("same.out", "same.out"),
    ("same.out", "sub/../same.out"),
    ("-", "-"),
    ("-", "/dev/stdout"),
    ("link.out", "same.out"),
])
def test_two_reports_to_one_place_is_a_usage_error(project: Path, junit: str, json_path: str) -> None:
    (project / "sub").mkdir()
    (project / "link.out").symlink_to("same.out")
    result = scftest(project, "run", "s.yaml", "--junit-xml", junit, "--json", json_path,
                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, capture_output=False)
    assert result.returncode == 4, result.stdout + result.stderr
    assert f"--junit-xml and --json both write to {json_path}: give each report its own path" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (project / "same.out").exists()  # refused before anything ran or was written


def test_a_folder_as_report_path_costs_that_report_only(project: Path) -> None:
    (project / "reports").mkdir()
    result = scftest(project, "run", "s.yaml", "--json", "reports", "--junit-xml", "r.xml")
    assert result.returncode == 4, result.stdout + result.stderr
    assert "scftest: cannot write the report reports: it is a folder; give a file name" in result.stderr
    assert (project / "reports").is_dir() and (project / "r.xml").is_file()
