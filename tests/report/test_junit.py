"""The JUnit XML report: valid against junit-10.xsd, and says what CI needs to show."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from conftest import NEWEST_OFFERED, run_scftest

from scftest.check.outcome import CaseOutcome, Verdict
from scftest.render import format_mismatch
from scftest.report.junit import build_junit, classname_for, junit_xml_string, write_junit, xml_safe

from report_fixtures import (
    NOISY_LOG,
    ORDERS,
    REPO,
    all_outcomes,
    errored,
    failed,
    make_case,
    make_record,
    passed,
    problems,
    raised,
    skipped,
    warnings,
    xfailed,
    xpassed,
)

# The shared copy is the reference when this checkout sits next to it; the vendored
# copy (same file, MIT header kept) lets a clean clone run the test too.
SHARED_XSD = REPO.parent / "shared" / "junit" / "junit-10.xsd"
VENDORED_XSD = REPO / "tests" / "data" / "junit-10.xsd"


@pytest.fixture(scope="module")
def xsd():
    return xmlschema.XMLSchema(str(SHARED_XSD if SHARED_XSD.exists() else VENDORED_XSD))


def test_vendored_xsd_matches_the_shared_one():
    if not SHARED_XSD.exists():
        pytest.skip("../shared/junit is not next to this checkout")
    assert VENDORED_XSD.read_bytes() == SHARED_XSD.read_bytes()


def parse(outcomes, found=(), **kwargs):
    return ET.fromstring(junit_xml_string(outcomes, found, **kwargs).encode("utf-8"))


def find_case(root, name):
    matches = [tc for tc in root.iter("testcase") if tc.get("name") == name]
    assert len(matches) == 1, name
    return matches[0]


# ------------------------------------------------------------------------- validity


def test_full_report_validates_against_the_xsd(xsd):
    text = junit_xml_string(all_outcomes(), problems(), elapsed=1.5, timestamp="2026-01-02T03:04:05", hostname="ci")
    xsd.validate(text)


def test_empty_run_validates(xsd):
    xsd.validate(junit_xml_string([], []))


def test_tiny_and_huge_times_stay_plain_decimals(xsd):
    tiny = CaseOutcome(passed().case, Verdict.PASSED, elapsed_s=0.00001)
    root = parse([tiny], elapsed=12345.6789)
    xsd.validate(ET.tostring(root, encoding="unicode"))
    assert find_case(root, "returns greeting").get("time") == "0.000"
    assert root.get("time") == "12345.679"


def test_written_file_validates(tmp_path, xsd):
    target = tmp_path / "reports" / "nested" / "junit.xml"
    write_junit(target, all_outcomes(), problems(), elapsed=2.0)
    xsd.validate(str(target))
    assert not [p for p in target.parent.iterdir() if p.name != "junit.xml"]  # no temp file left


# ------------------------------------------------------------------------- structure


def test_one_testsuite_per_suite_file_in_report_order():
    root = parse(all_outcomes(), problems())
    suites = root.findall("testsuite")
    assert [s.get("file") for s in suites] == ["suites/orders.yaml", "suites/users v1.2.yaml", "suites/broken.yaml"]
    assert [s.get("name") for s in suites] == ["orders API", "users v1.2", "suites/broken.yaml"]
    assert [tc.get("name") for tc in suites[1].findall("testcase")] == ["login ok", "login locked", "订单 unicode"]


def test_counts_on_suites_and_root():
    root = parse(all_outcomes(), problems())
    orders, users, broken = root.findall("testsuite")
    assert (orders.get("tests"), orders.get("failures"), orders.get("errors")) == ("5", "2", "2")
    assert (users.get("tests"), users.get("failures"), users.get("skipped")) == ("3", "1", "2")
    assert (broken.get("tests"), broken.get("errors")) == ("1", "1")
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("9", "3", "3")


def test_classname_is_the_suite_name_with_dots_made_safe():
    root = parse(all_outcomes())
    assert find_case(root, "returns greeting").get("classname") == "orders API"
    assert find_case(root, "login ok").get("classname") == "users v1_2"
    assert classname_for("a.b.c") == "a_b_c"


def test_every_testcase_has_a_time():
    root = parse(all_outcomes(), problems())
    times = {tc.get("name"): tc.get("time") for tc in root.iter("testcase")}
    assert times["api gateway request"] == "0.250"
    assert times["login ok"] == "0.000"
    assert all(t is not None for t in times.values())


@pytest.mark.parametrize(
    "outcome, element, kind",
    [
        (failed(), "failure", "failed"),
        (raised(), "failure", "failed"),
        (xpassed(), "failure", "xpassed"),
        (errored(), "error", "error"),
        (skipped(), "skipped", "skipped"),
        (xfailed(), "skipped", "skipped"),
    ],
)
def test_verdict_maps_to_one_element_with_a_message(outcome, element, kind):
    tc = find_case(parse([outcome]), outcome.case.name)
    found = [child.tag for child in tc if child.tag in ("failure", "error", "skipped")]
    assert found == [element]
    child = tc.find(element)
    assert child.get("message"), "message must always be set"
    assert "\n" not in child.get("message")
    assert child.get("type") == kind


def test_passed_case_has_no_result_element():
    tc = find_case(parse([passed()]), "returns greeting")
    assert tc.find("failure") is None and tc.find("error") is None and tc.find("skipped") is None


def test_message_is_set_even_without_summary():
    bare = CaseOutcome(failed().case, Verdict.FAILED)
    child = find_case(parse([bare]), "api gateway request").find("failure")
    assert child.get("message") == "the case failed"


def test_failure_text_holds_every_mismatch():
    failure = find_case(parse([failed()]), "api gateway request").find("failure")
    assert failure.get("message") == "2 expectations did not hold"
    for mismatch in failed().mismatches:
        assert format_mismatch(mismatch) in failure.text
    assert "body.id" in failure.text and "21" in failure.text
    assert "42" in failure.text and "43" in failure.text


def test_unexpected_exception_shows_the_traceback():
    failure = find_case(parse([raised()]), "fire and forget").find("failure")
    assert failure.get("message") == "unexpected KeyError: 'id'"
    assert "Traceback (most recent call last):" in failure.text
    assert "raise KeyError('id')" in failure.text


def test_error_has_details_and_skip_has_reason():
    root = parse([errored(), skipped(), xfailed()])
    error = find_case(root, "slow path [Python2.7]").find("error")
    assert error.get("message") == "no interpreter for Python2.7"
    assert "--runtime-fallback" in error.text
    assert find_case(root, "login ok").find("skipped").get("message") == "waiting for the auth mock"
    xfail = find_case(root, "login locked").find("skipped")
    assert xfail.get("message") == "expected failure: bug 12"
    assert format_mismatch(xfailed().mismatches[0]) in xfail.text


# ----------------------------------------------------------------------- system-out


def test_system_out_has_case_facts_then_the_log():
    out = find_case(parse([passed()]), "returns greeting").find("system-out").text
    head, log = out.split("----- captured log -----\n")
    assert "case: orders API::returns greeting" in head
    assert "file: suites/orders.yaml:10" in head
    assert "runtime: Python3.6" in head
    assert "interpreter: /usr/bin/python3.6 (3.6.15)" in head
    assert "request_id: req-1" in head and "invocation: sync" in head
    assert "status: success (200)" in head
    assert 'return: "Hello World"' in head
    assert log == "START RequestId: req-1\nReceived event\nEND RequestId: req-1\n"


def test_runtime_fallback_is_recorded():
    base = passed()
    record = make_record(interpreter="/usr/bin/python3.11", interpreter_version="3.11.7", runtime_fallback=True)
    outcome = CaseOutcome(base.case, Verdict.PASSED, record=record, elapsed_s=0.01)
    root = parse([outcome])
    out = find_case(root, "returns greeting").find("system-out").text
    assert "[fallback: Python3.6 ran on Python 3.11.7]" in out
    props = {p.get("name"): p.get("value") for p in root.iter("property")}
    assert props["runtime_fallback"] == "Python3.6 ran on Python 3.11.7"
    assert props["interpreters"] == "/usr/bin/python3.11 (3.11.7)"


def test_suite_properties_list_runtimes_and_interpreters():
    root = parse(all_outcomes())
    props = {p.get("name"): p.get("value") for p in root.find("testsuite").iter("property")}
    assert props == {"runtimes": "Python3.6, Python2.7", "interpreters": "/usr/bin/python3.6 (3.6.15)",
                     "isolation": "namespace"}  # the records of report_fixtures say so


def test_control_characters_are_stripped(xsd):
    text = junit_xml_string([failed()])
    xsd.validate(text)
    assert "\x00" not in text and "\x1b" not in text and "\x07" not in text
    assert "[31m" not in text  # the whole escape sequence goes, not only its ESC byte
    out = find_case(ET.fromstring(text.encode()), "api gateway request").find("system-out").text
    assert "boom  nul and  bell" in out
    assert "processing item 1\n" in out  # the full log, not a tail


def test_control_characters_in_names_and_messages(xsd):
    case = make_case("bad\x01suite", "name\x00with\x1b[1mnoise", Path("suites/x.yaml"), 0)
    outcome = CaseOutcome(case, Verdict.ERROR, summary="oops \x0b\x0c here", details="\ud800 lone surrogate")
    text = junit_xml_string([outcome])
    xsd.validate(text)
    tc = find_case(ET.fromstring(text.encode()), "namewithnoise")
    assert tc.get("classname") == "badsuite"
    assert tc.find("error").get("message") == "oops here"


def test_xml_safe_keeps_tabs_newlines_and_unicode():
    assert xml_safe("a\tb\nc\r\n订单 ✓") == "a\tb\nc\r\n订单 ✓"
    assert xml_safe("\x1b]0;title\x07x\x1b[2Ky") == "xy"


# ------------------------------------------------------------------------- problems


def test_broken_suite_file_appears_as_an_error_testcase():
    root = parse([], problems()[:1])
    suite = root.find("testsuite")
    assert suite.get("file") == "suites/broken.yaml"
    tc = suite.find("testcase")
    assert tc.get("name") == "suite error at broken.yaml:7"
    assert tc.get("classname") == "broken"
    error = tc.find("error")
    assert error.get("message") == "mapping values are not allowed here"
    assert error.get("type") == "suite-error"
    assert error.text == "suites/broken.yaml:7:3: mapping values are not allowed here — check the indentation"


def test_problem_in_a_loaded_file_joins_its_suite():
    root = parse(all_outcomes(), problems())
    orders = root.find("testsuite")
    tc = find_case(orders, "suite error at orders.yaml:40")
    assert tc.get("classname") == "orders API"


def test_report_can_be_built_as_an_element():
    root = build_junit([passed()])
    assert root.tag == "testsuites" and root.get("name") == "scftest"
    assert "disabled" not in root.attrib
    assert all("disabled" not in s.attrib for s in root.iter("testsuite"))


def test_noisy_log_fixture_really_is_noisy():
    # Guard the fixture: the strip tests above mean nothing if it lost its noise.
    assert "\x00" in NOISY_LOG and "\x1b[31m" in NOISY_LOG


def test_warnings_are_the_standard_error_of_their_file_and_fail_nothing(xsd):
    text = junit_xml_string(all_outcomes(), problems(), warnings=warnings())
    xsd.validate(text)
    root = ET.fromstring(text.encode("utf-8"))
    by_file = {suite.get("file"): suite for suite in root.iter("testsuite")}
    assert by_file[str(ORDERS)].find("system-err").text == (
        "suites/orders.yaml:12:22: warning: '张三' has no value — to keep the comma in the text, "
        "quote it: msg: '你好, 张三'")
    only = by_file["suites/only warned.yaml"]  # a file known only from its warning still shows it
    assert only.find("testcase") is None and only.get("tests") == "0"
    assert "warning: 'b' has no value" in only.find("system-err").text
    plain = ET.fromstring(junit_xml_string(all_outcomes(), problems()).encode("utf-8"))
    assert root.get("errors") == plain.get("errors") and root.get("failures") == plain.get("failures")


# --------------------------------------------------------------------- matrix values


def test_matrix_values_are_written_for_a_ci_reader_and_secrets_stay_hidden(tmp_path, xsd):
    # A real run: the loader's own values (an !env pass-through is an EnvRef) reach the report.
    if NEWEST_OFFERED is None:
        pytest.skip("needs an SCF Python runtime under pyenv")
    (tmp_path / "index.py").write_text(
        "import os\n\ndef main_handler(event, context):\n    return os.environ.get('DB')\n")
    (tmp_path / "t.yaml").write_text(f"""\
function: {{handler: index.main_handler}}
matrix:
  runtime: [Python{NEWEST_OFFERED}]
  environment:
    - {{DB: mysql, LOG: debug}}
    - {{DB: !env SCFTEST_JUNIT_SECRET}}
    - {{}}
cases:
  - name: one
""")
    result = run_scftest(tmp_path, "run", "t.yaml", "--isolation", "process", "--junit-xml", "r.xml",
                         env_extra={"SCFTEST_JUNIT_SECRET": "hunter2-secret"})
    assert result.returncode == 0, result.stdout + result.stderr
    text = (tmp_path / "r.xml").read_text()
    xsd.validate(text)
    lines = [line for tc in ET.fromstring(text).iter("testcase")
             for line in tc.find("system-out").text.splitlines() if line.startswith("matrix: ")]
    runtime = f"runtime: Python{NEWEST_OFFERED}"
    assert lines == [f"matrix: {runtime}; environment: DB=mysql, LOG=debug",
                     f"matrix: {runtime}; environment: DB=!env SCFTEST_JUNIT_SECRET",
                     f"matrix: {runtime}; environment: (none)"]
    assert "hunter2-secret" not in text and "{'" not in text
