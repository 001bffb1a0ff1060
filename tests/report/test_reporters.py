"""The Reporter protocol and the registry: the CLI only chooses reporters, a new report is one class."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from scftest import cli
from scftest.report import FileReporter, ReportError, ReportSettings, write_report
from scftest.report.reporters import FILE_REPORTERS, REPORTERS, Group, create
from scftest.report.terminal import TerminalReporter
from scftest.result import RunPlan, RunResult

from report_fixtures import passed

SKIPPED_SUITE = """\
function:
  code: fn
  handler: index.main
cases:
  - name: first
    skip: not today
  - name: second
    skip: not today either
"""


def test_the_registry_names_every_report():
    assert list(REPORTERS) == ["terminal", "junit", "json", "html"]
    assert [cls.option for cls in FILE_REPORTERS.values()] == ["--junit-xml", "--json", "--html"]


def test_terminal_settings_from_the_command_line(tmp_path):
    reporter = create("terminal", sys.stdout, ReportSettings(verbose=1, quiet=1, color=False))
    assert isinstance(reporter, TerminalReporter)
    assert (reporter.verbose, reporter.color, reporter.passed_over) == (0, False, True)
    assert create("json", tmp_path / "r.json", ReportSettings()).path == tmp_path / "r.json"


class _Listing(FileReporter):
    """What a new report takes: this class and one registry line."""

    option = "--case-list"
    help = "write the ids of the cases that ran"

    def __init__(self, path, settings=None):
        super().__init__(path, settings)
        self.seen = []

    def start(self, plan: RunPlan) -> None:
        self.seen.append(f"start {plan.total}")

    def case_finished(self, outcome) -> None:
        self.seen.append(outcome.case.id)

    def finish(self, result: RunResult) -> None:
        lines = self.seen + [f"finish {len(result.outcomes)} exit {result.exit_code}"]
        write_report(self.path, "\n".join(lines) + "\n")


def test_a_new_report_is_one_class_and_one_registry_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(FILE_REPORTERS, "case_list", _Listing)
    monkeypatch.setitem(REPORTERS, "case_list", _Listing)
    with pytest.raises(SystemExit):
        cli.main(["run", "--help"])
    assert "--case-list PATH      write the ids of the cases that ran" in capsys.readouterr().out
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main(event, context):\n    return 1\n")
    (tmp_path / "suite.yaml").write_text(SKIPPED_SUITE)
    monkeypatch.chdir(tmp_path)
    status = cli.main(["run", "suite.yaml", "--case-list", "out/cases.txt", "--json", "r.json"])
    assert status == 0, capsys.readouterr()
    assert (tmp_path / "out" / "cases.txt").read_text() == \
        "start 2\nsuite::first\nsuite::second\nfinish 2 exit 0\n"
    assert (tmp_path / "r.json").exists()


class _Broken(FileReporter):
    def finish(self, result: RunResult) -> None:
        raise ReportError(f"cannot write the report {self.path}: no room")


class _Counting(FileReporter):
    finished = 0

    def finish(self, result: RunResult) -> None:
        type(self).finished += 1


def test_a_group_finishes_every_member_and_returns_what_failed():
    group = Group([_Broken("a"), _Counting("b")])
    group.start(RunPlan())
    group.case_finished(passed())
    errors = group.finish(RunResult())
    assert [str(e) for e in errors] == ["cannot write the report a: no room"]
    assert _Counting.finished == 1


def test_an_unwritable_report_is_a_report_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(ReportError, match=r"cannot write the report .*file/r.json: .* choose a path"):
        create("json", blocker / "r.json", ReportSettings()).finish(RunResult())


def test_reports_never_import_the_session():
    code = ("import sys, scftest.report.reporters, scftest.result; "
            "print(sorted(m for m in sys.modules if m in ('scftest.session', 'scftest.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2]).stdout
    assert out.strip() == "[]"

