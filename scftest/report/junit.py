"""The JUnit XML report (``--junit-xml PATH``), valid against junit-10.xsd.

Layout:

- ``<testsuites name="scftest">`` holding one ``<testsuite>`` per suite file, in report
  order. Its ``file`` attribute is the suite file; its ``<properties>`` record the
  runtimes and interpreters its cases used (and any runtime fallback).
- One ``<testcase>`` per case (after matrix expansion): ``name`` is the case name,
  ``classname`` the suite name with dots replaced by ``_`` (Jenkins and GitLab read
  dots in a classname as packages, and "orders v1.2" is not a package path), ``time``
  the runner's wall time for the case in seconds.
- FAILED and XPASSED: ``<failure>``; ERROR: ``<error>``; SKIPPED and XFAILED:
  ``<skipped>``. Each has ``type`` (the verdict word), a short one-line ``message``
  (always set), and the full explanation (mismatches, traceback) as its text.
- junit-10.xsd allows no properties on a testcase, so the per-case facts (id, file and
  line, the matrix values, runtime, interpreter, the invocation record) open the case's
  ``<system-out>``, followed by the captured log.
- A suite file the loader rejected still appears: a testsuite for that file with an
  ``<error>`` testcase per problem, named after its ``file:line``, so CI shows it.

Built with junit-xml's TestSuite/TestCase, then adjusted: junit-xml writes attributes
that junit-10.xsd rejects (``disabled`` everywhere, ``skipped`` on ``<testsuites>``)
and drops ``time`` when it is 0, so the elements are taken from
``TestSuite.build_xml_doc()`` and finished here rather than through
``to_xml_report_string()``.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Union

from junit_xml import TestCase, TestSuite

from scftest.check.outcome import CaseOutcome, Verdict
from scftest.i18n import N_
from scftest.model import SuiteProblem
from scftest.render import matrix_line, without_ansi
from scftest.report import FileReporter, count, explain, record_lines, short_message, write_report
from scftest.result import RunResult

__all__ = ["JunitReporter", "build_junit", "junit_xml_string", "write_junit", "xml_safe", "classname_for"]

# Attributes junit-10.xsd allows; everything else junit-xml adds is dropped.
_SUITES_ATTRS = {"name", "time", "tests", "failures", "errors"}
_SUITE_ATTRS = {
    "name", "tests", "failures", "errors", "group", "time", "skipped",
    "timestamp", "hostname", "id", "package", "file", "log", "url",
}
_CASE_ATTRS = {"name", "time", "classname", "group"}

# Characters XML 1.0 cannot hold at all (even escaped): C0 controls but tab, LF, CR;
# lone surrogates; U+FFFE and U+FFFF.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_safe(text: str) -> str:
    """``text`` without ANSI escapes and without characters XML cannot represent."""
    return _XML_ILLEGAL.sub("", without_ansi(text))


def classname_for(suite_name: str) -> str:
    return xml_safe(suite_name).replace(".", "_") or "suite"


def _seconds(value: float) -> str:
    # junit-10.xsd's SUREFIRE_TIME takes plain decimals only: never "1e-05".
    return f"{max(value, 0.0):.3f}"


# ---------------------------------------------------------------------------- cases


def _case_element(outcome: CaseOutcome) -> TestCase:
    case = outcome.case
    test = TestCase(
        name=xml_safe(case.name),
        classname=classname_for(case.suite),
        elapsed_sec=outcome.elapsed_s,
        stdout=xml_safe(_system_out(outcome)),
    )
    message = xml_safe(short_message(outcome))
    verdict = outcome.verdict
    if verdict in (Verdict.FAILED, Verdict.XPASSED):
        test.add_failure_info(message=message, output=xml_safe(explain(outcome)), failure_type=verdict.value)
    elif verdict is Verdict.ERROR:
        test.add_error_info(message=message, output=xml_safe(explain(outcome)), error_type=verdict.value)
    elif verdict in (Verdict.SKIPPED, Verdict.XFAILED):
        # An xfail's text says what failed, as expected; a plain skip's text is its reason.
        text = explain(outcome) if verdict is Verdict.XFAILED else message
        test.add_skipped_info(message=message, output=xml_safe(text))
    return test


def _system_out(outcome: CaseOutcome) -> str:
    """The per-case facts (the XSD has no testcase properties), then the captured log."""
    case = outcome.case
    lines = [
        f"case: {case.id}",
        f"file: {case.file}:{case.line}",
        f"verdict: {outcome.verdict.value}",
    ]
    if case.params:
        lines.append("matrix: " + matrix_line(case.params))
    if outcome.record is None:
        lines.append(f"runtime: {case.function.runtime}")
    if outcome.steps:  # a warm sequence: each step's verdict, record and log in turn
        text = "\n".join(lines)
        for step in outcome.steps:
            text += f"\n----- {step.step.label}: {step.verdict.value} -----\n"
            text += "\n".join(record_lines(step.record))
            if step.record is not None and step.record.log:
                text += f"\n----- captured log of {step.step.label} -----\n" + step.record.log.rstrip("\n")
        return text + "\n"
    lines.extend(record_lines(outcome.record))
    text = "\n".join(lines)
    if outcome.record is not None and outcome.record.log:
        text += "\n----- captured log -----\n" + outcome.record.log.rstrip("\n")
    return text + "\n"


def _problem_element(problem: SuiteProblem, classname: str) -> TestCase:
    test = TestCase(
        name=xml_safe(f"suite error at {Path(problem.file).name}:{problem.line}"),
        classname=classname,
        elapsed_sec=0.0,
    )
    test.add_error_info(
        message=xml_safe(" ".join(problem.message.split()) or "the suite file could not be loaded"),
        output=xml_safe(str(problem)),
        error_type="suite-error",
    )
    return test


# --------------------------------------------------------------------------- suites


def _suite_properties(outcomes: Sequence[CaseOutcome]) -> Dict[str, str]:
    runtimes: List[str] = []
    interpreters: List[str] = []
    fallbacks: List[str] = []
    isolations: List[str] = []
    for outcome in outcomes:
        _add_once(runtimes, outcome.case.function.runtime)
        record = outcome.record
        if record is None or not record.interpreter:
            continue
        _add_once(interpreters, f"{record.interpreter} ({record.interpreter_version})")
        _add_once(isolations, record.isolation)
        if record.runtime_fallback:
            _add_once(fallbacks, f"{record.runtime} ran on Python {record.interpreter_version}")
    properties = {"runtimes": ", ".join(runtimes), "interpreters": ", ".join(interpreters) or "(none ran)"}
    if fallbacks:
        properties["runtime_fallback"] = "; ".join(fallbacks)
    if isolations:  # namespace, or process where the case could not be contained
        properties["isolation"] = ", ".join(isolations)
    return {k: xml_safe(v) for k, v in properties.items()}


def _add_once(items: List[str], item: str) -> None:
    if item not in items:
        items.append(item)


def _group_by_file(outcomes: Sequence[CaseOutcome], problems: Sequence[SuiteProblem],
                   warnings: Sequence[SuiteProblem] = ()):
    """Suite files in report order (cases first, then files known only from problems or warnings)."""
    groups: Dict[str, dict] = {}

    def group(file: str, name: str) -> dict:
        return groups.setdefault(file, {"name": name, "outcomes": [], "problems": [], "warnings": []})

    for outcome in outcomes:
        group(str(outcome.case.file), outcome.case.suite)["outcomes"].append(outcome)
    for problem in problems:
        group(str(problem.file), str(problem.file))["problems"].append(problem)
    for warning in warnings:
        group(str(warning.file), str(warning.file))["warnings"].append(warning)
    return groups


def build_junit(
    outcomes: Sequence[CaseOutcome],
    problems: Sequence[SuiteProblem] = (),
    *,
    elapsed: Optional[float] = None,
    timestamp: Optional[str] = None,
    hostname: Optional[str] = None,
    warnings: Sequence[SuiteProblem] = (),
) -> ET.Element:
    """The ``<testsuites>`` element for a run (outcomes in report order).

    ``elapsed`` is the run's wall time (default: the sum of the cases' times, which
    overstates a parallel run); ``timestamp`` (ISO 8601) and ``hostname`` go on every
    ``<testsuite>`` when given.
    """
    root = ET.Element("testsuites", {"name": "scftest"})
    for file, group in _group_by_file(outcomes, problems, warnings).items():
        # A problem in a file whose other cases loaded sits with them, under their classname.
        classname = classname_for(group["name"] if group["outcomes"] else Path(file).stem)
        cases = [_case_element(o) for o in group["outcomes"]]
        cases += [_problem_element(p, classname) for p in group["problems"]]
        suite = TestSuite(
            name=xml_safe(group["name"]),
            test_cases=cases,
            file=xml_safe(file),
            timestamp=timestamp,
            hostname=hostname,
            properties=_suite_properties(group["outcomes"]) if group["outcomes"] else None,
            # Warnings fail nothing, so they are no testcase: the file's standard error holds them.
            stderr=xml_safe("\n".join(str(w) for w in group["warnings"])) if group["warnings"] else None,
        )
        element = suite.build_xml_doc()
        _finish_suite(element, group["outcomes"])
        root.append(element)
    totals = count(outcomes, problems)
    root.set("tests", str(totals.cases + totals.problems))
    root.set("failures", str(totals.failed + totals.xpassed))
    root.set("errors", str(totals.error + totals.problems))
    run_time = elapsed if elapsed is not None else sum(o.elapsed_s for o in outcomes)
    root.set("time", _seconds(run_time))
    _keep_only(root, _SUITES_ATTRS)
    return root


def _finish_suite(element: ET.Element, outcomes: Sequence[CaseOutcome]) -> None:
    _keep_only(element, _SUITE_ATTRS)
    element.set("time", _seconds(sum(o.elapsed_s for o in outcomes)))
    times = iter([o.elapsed_s for o in outcomes])
    for testcase in element.iter("testcase"):
        _keep_only(testcase, _CASE_ATTRS)
        # Outcomes come first in the suite, problems (time 0) after them.
        testcase.set("time", _seconds(next(times, 0.0)))


def _keep_only(element: ET.Element, allowed: set) -> None:
    for name in list(element.attrib):
        if name not in allowed:
            del element.attrib[name]


def junit_xml_string(
    outcomes: Sequence[CaseOutcome],
    problems: Sequence[SuiteProblem] = (),
    *,
    elapsed: Optional[float] = None,
    timestamp: Optional[str] = None,
    hostname: Optional[str] = None,
    warnings: Sequence[SuiteProblem] = (),
) -> str:
    """The report as text, with the XML declaration. Arguments as for ``build_junit``."""
    root = build_junit(outcomes, problems, elapsed=elapsed, timestamp=timestamp, hostname=hostname,
                       warnings=warnings)
    if hasattr(ET, "indent"):  # Python 3.9+: whitespace only between elements
        ET.indent(root)
    body = ET.tostring(root, encoding="unicode")
    return '<?xml version="1.0" encoding="utf-8"?>\n' + body + "\n"


def write_junit(
    path: Union[str, os.PathLike],
    outcomes: Sequence[CaseOutcome],
    problems: Sequence[SuiteProblem] = (),
    *,
    elapsed: Optional[float] = None,
    timestamp: Optional[str] = None,
    hostname: Optional[str] = None,
    warnings: Sequence[SuiteProblem] = (),
) -> None:
    """Write the report to ``path`` (parent folders created), replacing it atomically so
    that an interrupted run never leaves half a file for CI to choke on; ReportError
    when the path cannot be written."""
    text = junit_xml_string(outcomes, problems, elapsed=elapsed, timestamp=timestamp, hostname=hostname,
                            warnings=warnings)
    write_report(path, text)


class JunitReporter(FileReporter):
    """The ``--junit-xml PATH`` reporter: writes the file when the run is over."""

    option = "--junit-xml"
    help = N_("write a JUnit XML report")

    def finish(self, result: RunResult) -> None:
        write_junit(self.path, result.outcomes, result.problems, elapsed=result.elapsed_s,
                    warnings=result.warnings)
