"""pytest plugin (the ``pytest11`` entry point ``scftest``): scftest suites as pytest items.

Thin on purpose: the loader reads each suite (``load.loader.read_suite``), the session runs
each case (``session.run_case`` on ``session.default_backend``) and judges it, and the
failure text is scftest's own (``report.explain``, from render.py). pytest only collects,
selects (``-k``, ``--lf``, ``-x``, xdist's ``-n``) and reports (``--junitxml``, its terminal).

Which YAML files are collected (a project's other YAML is left alone): a ``.yaml``/``.yml``
file with a top-level ``cases`` key that is

- named on the command line (``pytest suites/orders.yaml``; a folder named there is not enough);
- or lies under the project's suite paths: ``[tool.scftest] suites`` in pyproject.toml, else
  the project's ``suites/`` folder (what ``scftest run`` runs without paths).

Plain ``pytest`` with ``[tool.scftest] suites`` set also collects those paths when pytest's
own paths (``testpaths``, or the working directory) do not hold them already.

Each case (after matrix expansion) is one item, ``suites/orders.yaml::get an order``; its
tags are keywords (``-k smoke``). A suite with problems is a collection error that names
file:line:col; skip and xfail are pytest's; a warm sequence is one item.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence

import pytest

from scftest.errors import ScftestError

if TYPE_CHECKING:
    from scftest.check.outcome import CaseOutcome
    from scftest.instance import Backend
    from scftest.instance.interpreters import RuntimeResolver
    from scftest.load.loader import SuiteLoad
    from scftest.model import Case

SUFFIXES = (".yaml", ".yml")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("scftest", "scftest suites (SCF handlers)")
    group.addoption("--scftest-runtime", dest="scftest_runtimes", action="append", default=[], metavar="NAME=PATH",
                    help="use this interpreter for an SCF runtime, e.g. Python3.6=/opt/py36/bin/python "
                         "(as scftest run --runtime)")
    group.addoption("--scftest-runtime-fallback", dest="scftest_runtime_fallback", action="store_true",
                    help="run a case whose runtime has no interpreter on the nearest one")
    group.addoption("--scftest-isolation", dest="scftest_isolation", choices=("auto", "strict", "process"),
                    default="auto", help="how each case is contained (as scftest run --isolation)")


_STATE = pytest.StashKey["_Scftest"]()


def pytest_configure(config: pytest.Config) -> None:
    state = _Scftest(config)
    config.stash[_STATE] = state
    state.add_configured_suites()


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(_STATE, None)
    if state is not None:
        state.close()


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional["SuiteFile"]:
    if file_path.suffix.lower() not in SUFFIXES:
        return None  # cheap: every file of every project passes here
    state = parent.config.stash.get(_STATE, None)
    if state is None or not state.wants(file_path):
        return None
    from scftest.load.loader import read_suite

    explicit = state.is_argument(file_path)
    loaded = read_suite(state.shown(file_path), explicit=explicit)
    if not loaded.is_suite:
        return None  # a YAML file without top-level cases: not ours
    return SuiteFile.from_parent(parent, path=file_path, loaded=loaded)


class _Scftest:
    """The plugin's state for one pytest run: the project, the paths, the backend (made on
    first use, closed at the end)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.cwd = Path(config.invocation_params.dir)
        self._project = None
        self._backend: Optional["Backend"] = None
        self._resolver: Optional["RuntimeResolver"] = None
        source = getattr(config, "args_source", None)
        given = source is not None and source == pytest.Config.ArgsSource.ARGS
        self.arguments = [self._absolute(arg) for arg in config.args] if given else []

    def _absolute(self, arg: str) -> Path:
        return Path(os.path.abspath(self.cwd / arg.split("::")[0]))

    @property
    def project(self):
        if self._project is None:
            from scftest.load.project import ProjectError, find_project

            try:
                self._project = find_project(self.cwd)
            except ProjectError as exc:
                raise pytest.UsageError(str(exc)) from None
        return self._project

    def suite_paths(self) -> List[Path]:
        """``[tool.scftest] suites``, else the project's ``suites/`` folder (never the
        working directory, scftest run's last resort: that would take any YAML file)."""
        project = self.project
        listed = project.config.get("suites")
        if listed:
            return [Path(os.path.abspath(p)) for p in project.default_paths(self.cwd)]
        base = project.root or self.cwd
        return [Path(os.path.abspath(base / "suites"))] if (base / "suites").is_dir() else []

    def add_configured_suites(self) -> None:
        """Plain ``pytest`` (no paths given) also collects ``[tool.scftest] suites`` that
        pytest's own paths do not hold: testpaths usually names only tests/."""
        if self.arguments or not self.project.config.get("suites"):
            return
        held = [self._absolute(arg) for arg in self.config.args]
        for path in self.suite_paths():
            if path.exists() and not any(_under(path, other) for other in held):
                self.config.args.append(str(path))
                held.append(path)

    def wants(self, path: Path) -> bool:
        path = Path(os.path.abspath(path))
        return path in self.arguments or any(_under(path, root) for root in self.suite_paths())

    def is_argument(self, path: Path) -> bool:
        return Path(os.path.abspath(path)) in self.arguments

    def shown(self, path: Path) -> Path:
        """The path as messages show it: relative to where pytest was started, when below it."""
        relative = os.path.relpath(path, self.cwd)
        return Path(relative) if not relative.startswith("..") else Path(path)

    def resolver(self) -> "RuntimeResolver":
        if self._resolver is None:
            from scftest.instance.interpreters import RuntimeResolver, offered_runtime

            overrides: Dict[str, str] = {}
            for item in self.config.getoption("scftest_runtimes"):
                name, sep, path = item.partition("=")
                try:
                    if not sep or not name.strip() or not path.strip():
                        raise ValueError("write it as NAME=PATH, e.g. Python3.6=/usr/bin/python3.6")
                    overrides[offered_runtime(name.strip())] = path.strip()
                except ValueError as exc:
                    raise pytest.UsageError(f"--scftest-runtime {item!r}: {exc}") from None
            try:
                self._resolver = RuntimeResolver(overrides, self.project.root,
                                                 fallback=self.config.getoption("scftest_runtime_fallback"))
            except ValueError as exc:
                raise pytest.UsageError(str(exc)) from None
        return self._resolver

    def backend(self) -> "Backend":
        if self._backend is None:
            from scftest.session import default_backend

            self._backend = default_backend(self.config.getoption("scftest_isolation"))
        return self._backend

    def run(self, case: "Case") -> "CaseOutcome":
        from scftest.session import run_case

        return run_case(case, self.resolver(), dict(os.environ), self.backend())

    def close(self) -> None:
        if self._backend is not None:
            self._backend.close()
            self._backend = None


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


class SuiteFile(pytest.File):
    """One suite file; its items are its cases."""

    def __init__(self, *, loaded: "SuiteLoad", **kwargs) -> None:
        super().__init__(**kwargs)
        self.loaded = loaded

    def collect(self) -> Iterator["CaseItem"]:
        loaded = self.loaded
        if loaded.problems or loaded.suite is None:
            problems = "\n".join(str(problem) for problem in loaded.problems)
            raise self.CollectError(f"{problems}\n(scftest validate {self.config.stash[_STATE].shown(self.path)} "
                                    "shows the same; fix the suite and run again)")
        for warning in loaded.warnings:
            self.warn(pytest.PytestWarning(str(warning)))
        for case in loaded.suite.cases:
            item = CaseItem.from_parent(self, name=case.name, case=case)
            if case.skip is not None:
                item.add_marker(pytest.mark.skip(reason=case.skip))
            yield item


class CaseFailed(ScftestError):
    """The case's verdict was not a pass: carries the outcome for ``repr_failure``."""

    def __init__(self, outcome: "CaseOutcome") -> None:
        super().__init__(outcome.summary)
        self.outcome = outcome


class CaseItem(pytest.Item):
    """One case (a matrix expansion, or a warm sequence, is one case)."""

    def __init__(self, *, case: "Case", **kwargs) -> None:
        super().__init__(**kwargs)
        self.case = case
        self.extra_keyword_matches.update(case.tags)  # -k smoke selects by tag

    def runtest(self) -> None:
        from scftest.check.outcome import Verdict
        from scftest.report import short_message

        outcome = self.config.stash[_STATE].run(self.case)
        self._add_sections(outcome)
        if outcome.verdict is Verdict.PASSED:
            return
        if outcome.verdict is Verdict.SKIPPED:
            pytest.skip(short_message(outcome))
        if outcome.verdict is Verdict.XFAILED:
            pytest.xfail(short_message(outcome))
        raise CaseFailed(outcome)

    def _add_sections(self, outcome: "CaseOutcome") -> None:
        """The record and the function's log, shown by pytest with a failure (as
        "Captured ..." sections) and kept in the report for other plugins."""
        from scftest.report import record_lines

        records = [(step.step.label, step.record) for step in outcome.steps] or [("", outcome.record)]
        for label, record in records:
            if record is None:
                continue
            suffix = f" ({label})" if label else ""
            self.add_report_section("call", f"scftest record{suffix}", "\n".join(record_lines(record)) + "\n")
            if record.log:
                self.add_report_section("call", f"function log{suffix}", record.log)

    def repr_failure(self, excinfo, style=None):
        if isinstance(excinfo.value, CaseFailed):
            return _failure_text(excinfo.value.outcome)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self):
        return self.path, self.case.line - 1, self.case.id


def _failure_text(outcome: "CaseOutcome") -> str:
    """scftest's explanation (its first line is what pytest's short summary shows), then
    where the case is."""
    from scftest.check.outcome import Verdict
    from scftest.report import explain

    case = outcome.case
    verdict = {Verdict.ERROR: "could not be run or judged",
               Verdict.XPASSED: "was expected to fail (xfail)"}.get(outcome.verdict, outcome.verdict.value)
    return f"{explain(outcome)}\n\n{case.file}:{case.line}: case '{case.name}' {verdict}"


__all__: Sequence[str] = ("SuiteFile", "CaseItem", "CaseFailed")
