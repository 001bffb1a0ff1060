"""The JSON report: complete, and described by schemas/report.schema.json."""

from __future__ import annotations

import dataclasses
import json

import jsonschema
import pytest

from scftest.check.judge import judge
from scftest.check.outcome import CaseOutcome, Compactor, Verdict
from scftest.matchers import build_matcher
from scftest.model import Expectation
from scftest.report import explain
from scftest.report import json_report
from scftest.report.json_report import JsonReporter, build_report, json_report_string, write_json
from scftest.result import RunPlan, RunResult

from report_fixtures import (REPO, ORDERS, all_outcomes, errored, failed, make_case, make_record, passed, problems,
                             skipped, warnings)

SCHEMA_PATH = REPO / "schemas" / "report.schema.json"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def report(outcomes=None, found=None, **kwargs):
    kwargs.setdefault("exit_status", 1)
    text = json_report_string(all_outcomes() if outcomes is None else outcomes,
                              problems() if found is None else found, **kwargs)
    return json.loads(text)


def test_full_report_validates(validator):
    validator.validate(report(elapsed=1.5))


def test_warnings_are_listed_beside_the_problems_and_count_nowhere(validator):
    data = report(warnings=warnings())
    validator.validate(data)
    assert data["warnings"][0] == {
        "file": "suites/orders.yaml", "line": 12, "col": 22, "message": "'张三' has no value",
        "hint": "to keep the comma in the text, quote it: msg: '你好, 张三'",
        "text": "suites/orders.yaml:12:22: warning: '张三' has no value — to keep the comma in the text, "
                "quote it: msg: '你好, 张三'"}
    assert data["totals"] == report()["totals"]
    assert report()["warnings"] == []


def test_empty_report_validates(validator):
    data = report([], [], exit_status=5)
    validator.validate(data)
    assert data["cases"] == [] and data["totals"]["cases"] == 0 and data["exit_status"] == 5


def test_written_file_validates(tmp_path, validator):
    target = tmp_path / "out" / "report.json"
    write_json(target, all_outcomes(), problems(), exit_status=4, elapsed=2.0, interrupted=True)
    data = json.loads(target.read_text(encoding="utf-8"))
    validator.validate(data)
    assert data["exit_status"] == 4 and data["interrupted"] is True and data["elapsed_s"] == 2.0


def test_schema_rejects_a_wrong_report(validator):
    data = report()
    data["cases"][0]["verdict"] = "maybe"
    del data["cases"][1]["record"]["status"]
    errors = list(validator.iter_errors(data))
    assert len(errors) == 2


def test_header_and_totals():
    data = report(exit_status=4)
    assert data["format"] == "scftest-report" and data["format_version"] == 2
    assert data["exit_status"] == 4 and data["interrupted"] is False
    assert data["totals"] == {
        "cases": 7, "passed": 1, "failed": 2, "error": 1, "skipped": 1, "xfailed": 1, "xpassed": 1, "problems": 2,
    }
    assert data["elapsed_s"] == pytest.approx(0.521)  # sum of case times when no elapsed is given


def test_cases_in_report_order_with_every_field():
    data = report()
    assert [c["id"] for c in data["cases"]] == [o.case.id for o in all_outcomes()]
    case = data["cases"][1]
    assert case["id"] == "orders API::api gateway request"
    assert (case["suite"], case["name"], case["file"], case["line"]) == (
        "orders API", "api gateway request", "suites/orders.yaml", 18,
    )
    assert case["verdict"] == "failed" and case["summary"] == "2 expectations did not hold"
    assert case["mismatches"][0] == {
        "where": "body.id", "root": "body", "path": ["id"], "kind": "value", "message": "values differ",
        "expected": 42, "actual": 43, "line": 21,
    }
    assert case["mismatches"][1] == {  # a side without a value is left out
        "where": "log[0]", "root": "log[0]", "path": [], "kind": "log", "message": "not found in the log",
        "expected": "Received event", "line": 24,
    }
    assert case["elapsed_s"] == 0.25
    assert case["record"] == failed().record.to_dict()
    assert "body.id" in case["explanation"]


def test_record_keeps_control_characters_as_json_escapes():
    # JSON can hold any character: the log is kept exactly as the executor recorded it.
    text = json_report_string([failed()], [], exit_status=1)
    assert "\\u0000" in text and "\\u001b[31m" in text
    assert json.loads(text)["cases"][0]["record"]["log"] == failed().record.log


def test_case_that_never_ran_has_null_record():
    data = report([errored(), skipped()], [])
    assert [c["record"] for c in data["cases"]] == [None, None]
    assert data["cases"][0]["params"] == {"runtime": "Python2.7"}
    assert data["cases"][0]["runtime"] == "Python2.7"
    assert data["cases"][1]["summary"] == "waiting for the auth mock"


def test_passed_case_has_empty_explanation_and_the_return():
    case = report([passed()], [])["cases"][0]
    assert case["summary"] == "" and case["explanation"] == ""
    assert case["record"]["return"] == "Hello World"


def test_problems_are_listed():
    data = report()
    assert data["problems"][0] == {
        "file": "suites/broken.yaml",
        "line": 7,
        "col": 3,
        "message": "mapping values are not allowed here",
        "hint": "check the indentation",
        "text": "suites/broken.yaml:7:3: mapping values are not allowed here — check the indentation",
    }


def test_non_finite_numbers_and_odd_params_still_make_valid_json(validator):
    import datetime

    base = passed()
    record = make_record(return_value={"ratio": float("nan"), "big": float("inf")})
    case = dataclasses.replace(base.case, params={"day": datetime.date(2024, 1, 2)})
    data = report([CaseOutcome(case, Verdict.PASSED, record=record)], [])
    validator.validate(data)
    assert data["cases"][0]["record"]["return"] == {"ratio": "NaN", "big": "Infinity"}
    assert data["cases"][0]["params"] == {"day": "2024-01-02"}


def test_build_report_is_plain_data():
    data = build_report([passed()], [], exit_status=0, created="2026-01-01T00:00:00+00:00")
    assert data["created"] == "2026-01-01T00:00:00+00:00"
    json.dumps(data)  # nothing that needs a fallback


def judged(expect, **record):
    """A real outcome: the case's expectations judged against a record."""
    case = make_case("orders API", "judged", ORDERS, 0, expect=Expectation(**expect))
    return judge(case, make_record(**record))


def test_a_long_string_is_whole_in_json_and_cut_in_the_terminal(validator):
    expected, actual = "a" * 2500 + "X" + "b" * 2499, "a" * 2500 + "Y" + "b" * 2499
    outcome = judged({"return_": {"body": expected}}, return_value={"body": actual})
    data = report([outcome], [])
    validator.validate(data)
    mismatch, = data["cases"][0]["mismatches"]
    assert (mismatch["expected"], mismatch["actual"]) == (expected, actual)
    assert (mismatch["where"], mismatch["path"], mismatch["kind"]) == ("return.body", ["body"], "value")
    assert mismatch["message"] == "strings differ from character 2501"
    text = explain(outcome)
    assert expected not in text and '  expected: …' + "a" * 24 + "X" + "b" * 47 + "…" in text
    assert data["cases"][0]["explanation"] == text


def test_matchers_and_odd_values_are_json_data(validator):
    regex = build_matcher("!regex", "^id-")
    outcome = judged({"return_": {"id": regex, "tags": build_matcher("!contains", {"n": 1}), "raw": 1}},
                     return_value={"id": "x", "tags": [], "raw": float("nan")})
    data = report([outcome], [])
    validator.validate(data)
    by_place = {m["where"]: m for m in data["cases"][0]["mismatches"]}
    assert by_place["return.id"]["matcher"] == {"matcher": "regex", "pattern": "^id-", "yaml": "!regex '^id-'"}
    assert by_place["return.id"]["expected"] == by_place["return.id"]["matcher"]
    assert by_place["return.id"]["actual"] == "x"
    assert by_place["return.tags"]["matcher"]["needle"] == {"n": 1}
    assert by_place["return.raw"]["actual"] == "NaN"
    missing = judged({"return_": {"k": {"t": build_matcher("!type", "int")}}}, return_value={})
    mismatch, = report([missing], [])["cases"][0]["mismatches"]
    assert mismatch["expected"] == {"t": {"matcher": "type", "type": "int", "yaml": "!type int"}}
    assert "actual" not in mismatch and mismatch["message"] == "key is missing"


def test_status_and_log_mismatches_carry_values(validator):
    from scftest.instance.record import ErrorInfo
    from scftest.model import LogExpectation

    error = ErrorInfo("KeyError", "builtins.KeyError", "'id'", "Traceback ...\nKeyError: 'id'")
    log = (LogExpectation("absent", "secret", ("log", 0)),)
    outcome = judged({"log": log}, status="error", status_code=430, error=error,
                     log="START\nthe secret is out\nEND\n")
    data = report([outcome], [])
    validator.validate(data)
    status, entry = data["cases"][0]["mismatches"]
    assert (status["kind"], status["expected"], status["actual"]) == ("status", "success", "error")
    assert (entry["kind"], entry["expected"], entry["actual"], entry["at"]) == \
        ("log", {"absent": "secret"}, "the secret is out", 4)


def test_the_schema_names_every_registered_matcher(validator):
    from scftest.matchers import MATCHERS

    names = validator.schema["$defs"]["matcher"]["properties"]["matcher"]["enum"]
    assert names == [cls.tag.lstrip("!") for cls in MATCHERS]
    assert [build_matcher(cls.tag, {"!type": "int", "!approx": "1", "!any": ""}.get(cls.tag, "a")).as_data()["matcher"]
            for cls in MATCHERS] == names


# ------------------------------------------------- written as the cases end (RunPlan.compact)


@pytest.fixture
def fixed_time(monkeypatch):
    monkeypatch.setattr(json_report, "_now", lambda: "2026-12-02T03:00:00+00:00")


def _streamed(tmp_path, outcomes, told, interrupted=False, compact=True):
    """(the report a JsonReporter writes, the whole one write_json writes) for a run of
    ``outcomes`` that told the reporter ``told`` (in that order) and, if ``compact``,
    kept those compact."""
    reporter = JsonReporter(tmp_path / "streamed.json")
    reporter.start(RunPlan(tuple(o.case for o in outcomes), compact=compact))
    for outcome in told:
        reporter.case_finished(outcome)
    compactor = Compactor()
    kept = [compactor.compacted(o) if compact and any(o is t for t in told) else o for o in outcomes]
    result = RunResult(problems=problems(), warnings=warnings(), outcomes=kept, interrupted=interrupted, elapsed_s=3.25)
    reporter.finish(result)
    write_json(tmp_path / "whole.json", outcomes, result.problems, exit_status=result.exit_code, elapsed=3.25,
               interrupted=interrupted, warnings=result.warnings)
    return (tmp_path / "streamed.json").read_bytes(), (tmp_path / "whole.json").read_bytes(), kept


def test_a_streamed_report_is_the_whole_report_byte_for_byte(tmp_path, fixed_time, validator):
    outcomes = all_outcomes() + [CaseOutcome(make_case("orders", "a lone surrogate", ORDERS, 9), Verdict.PASSED,
                                             record=make_record(log="bad \udcff byte\n"), elapsed_s=0.5)]
    # Told in completion order: each out of the plan's order waits for the ones before it.
    told = outcomes[1:3] + outcomes[:1] + outcomes[5:] + outcomes[3:5]
    streamed, whole, kept = _streamed(tmp_path, outcomes, told)
    assert sum(o.compact for o in kept) == 4  # passed, skipped, xfailed and the last: their records were dropped
    assert streamed == whole
    data = json.loads(streamed)
    validator.validate(data)
    assert data["cases"][0]["record"]["request_id"] and data["cases"][-1]["record"]["log"] == "bad ? byte\n"


def test_outcomes_never_told_are_written_from_the_result(tmp_path, fixed_time):
    # Interrupted: the last cases finished but the run did not tell the reporters (and kept them whole).
    outcomes = all_outcomes()
    streamed, whole, _ = _streamed(tmp_path, outcomes, outcomes[:2] + outcomes[4:5], interrupted=True)
    assert streamed == whole


def test_a_streamed_report_without_cases_is_the_whole_one(tmp_path, fixed_time):
    streamed, whole, _ = _streamed(tmp_path, [], [])
    assert streamed == whole and json.loads(streamed)["cases"] == []


def test_a_run_that_keeps_outcomes_whole_is_written_from_them_at_the_end(tmp_path, fixed_time):
    # --update changes outcomes after they were told: the report shows the result's.
    told = all_outcomes()
    reporter = JsonReporter(tmp_path / "r.json")
    reporter.start(RunPlan(tuple(o.case for o in told)))
    for outcome in told:
        reporter.case_finished(outcome)
    changed = [CaseOutcome(o.case, Verdict.PASSED) for o in told]
    reporter.finish(RunResult(outcomes=changed, elapsed_s=1.0))
    assert [c["verdict"] for c in json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["cases"]] == [
        "passed"] * len(told)
