"""Secrets masked after checking, in every form a report can hold them (issue 10 item 6).

The checks compare real values; the outcome every reporter reads has *** for the secret as it
is, JSON-escaped once and twice (with and without ensure_ascii) and as Python's repr; a secret
cut by the log cap is masked on both sides of the cut; a secret too short to mask is left as it
is and a warning says so."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import NEWEST_OFFERED, invoke_once, make_call, needs

from scftest.check.judge import judge
from scftest.check.masking import MIN_SECRET_LENGTH, forms, mask_log, masked, masker, short_secret_warnings
from scftest.check.outcome import Verdict
from scftest.instance.logcapture import LogCapture
from scftest.model import Case, EnvRef, Expectation, FunctionSpec, Mark, SourceMap

# A quote, a backslash and non-ASCII: each form differs from the others.
SECRET = 'pa"ss\\wörd-中-42'


def every_form(secret: str):
    once = {json.dumps(secret, ensure_ascii=a)[1:-1] for a in (False, True)}
    twice = {json.dumps(text, ensure_ascii=a)[1:-1] for text in once for a in (False, True)}
    return {secret, repr(secret)[1:-1], ascii(secret)[1:-1]} | once | twice


def test_the_forms_of_a_secret():
    assert every_form(SECRET) <= forms(SECRET)
    assert 'pa\\"ss\\\\w\\u00f6rd-\\u4e2d-42' in forms(SECRET)  # ensure_ascii, once
    assert 'pa\\\\\\"ss\\\\\\\\w\\\\u00f6rd' in "".join(forms(SECRET))  # twice


def test_a_masker_replaces_every_form_and_leaves_other_text():
    mask = masker([SECRET])
    for form in every_form(SECRET):
        assert mask(f"before {form} after") == "before *** after", form
    assert mask("nothing secret here") == "nothing secret here"
    assert mask(None) is None and mask(42) == 42


def test_a_secret_shorter_than_the_minimum_is_not_masked():
    short = "x" * (MIN_SECRET_LENGTH - 1)
    assert not masker([short])
    assert masker([short])(f"a {short} b") == f"a {short} b"
    assert masker(["x" * MIN_SECRET_LENGTH])("a xxxx b") == "a *** b"


def test_the_pieces_of_a_secret_the_log_cap_cut_are_masked():
    capture = LogCapture(head=10, tail=10)
    capture.feed(b"abcdeSECRET-VALUE-0123456789xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxSECRET-VALUE-99 end")
    text, cut = capture.text()
    assert "SECRE" in text  # the record keeps what the function wrote
    masked_text = mask_log(text, masker(["SECRET-VALUE-01234", "SECRET-VALUE-99 e"]))
    assert masked_text == "abcde***\n[scftest: 59 bytes of log cut here; 79 bytes in all]\n***nd"


def test_a_forged_cut_marker_does_not_hide_the_real_one():
    marker = "[scftest: 5 bytes of log cut here; 9 bytes in all]\n"
    log = "start\n" + marker + "middle TOPSECR\n" + "[scftest: 59 bytes of log cut here; 79 bytes in all]\n" + "ET-1 end"
    assert mask_log(log, masker(["TOPSECRET-1"])) == ("start\n" + marker + "middle ***\n"
                                                     "[scftest: 59 bytes of log cut here; 79 bytes in all]\n*** end")


def test_a_deep_value_is_masked_without_recursion():
    from scftest.check.masking import mask_value

    value = "leaf-secret"
    for _ in range(5000):
        value = [value]
    out = mask_value(value, masker(["leaf-secret"]))
    for _ in range(5000):
        out = out[0]
    assert out == "***"


def _case(tmp_path: Path, environment, expect: Expectation = Expectation()) -> Case:
    marks = {("cases", 0): Mark(3, 5), ("cases", 0, "environment", "TOKEN"): Mark(4, 20)}
    function = FunctionSpec(code=tmp_path, handler="index.main_handler", environment=environment)
    return Case(suite="s", name="c", source=SourceMap(tmp_path / "s.yaml", marks), path=("cases", 0),
                function=function, expect=expect)


def test_a_too_short_secret_is_a_warning_at_its_env_entry(tmp_path):
    case = _case(tmp_path, {"TOKEN": EnvRef("CI_TOKEN"), "STAGE": "x"})
    warnings = short_secret_warnings([case, case], {"CI_TOKEN": "ab"})
    assert len(warnings) == 1  # once per entry, however many cases use it
    text = str(warnings[0])
    assert text.startswith(f"{tmp_path / 's.yaml'}:4:20: warning: the value of CI_TOKEN")
    assert f"secrets under {MIN_SECRET_LENGTH} characters are not masked" in text
    assert short_secret_warnings([case], {"CI_TOKEN": "long-enough"}) == []
    assert short_secret_warnings([case], {}) == []  # unset: the case's own error says so


@needs(NEWEST_OFFERED)
def test_checks_compare_real_values_then_the_outcome_is_masked():
    # The secret equals the word the case expects: judged on the real value it passes
    # (masking first made it "***", a failure), and the outcome shows *** all the same.
    spec, request = make_call(NEWEST_OFFERED, "basic", "index.leak_secret", environment={"DB_PASSWORD": "prod-db"},
                              secrets=("prod-db",))
    record = invoke_once(spec, request)
    assert record.return_value["password"] == "prod-db"  # the record holds what the function returned
    expect = Expectation(owner=("cases", 0), return_includes={"password": "prod-db"})
    case = Case(suite="s", name="c", source=SourceMap(Path("s.yaml"), {}), path=("cases", 0),
                function=FunctionSpec(code=Path("x"), handler="index.leak_secret"), expect=expect)
    outcome = masked(judge(case, record), spec.secrets)
    assert outcome.verdict is Verdict.PASSED
    assert outcome.record.return_value["password"] == "***" and "prod-db" not in outcome.record.log


HANDLER = '''\
import json, os

def main_handler(event, context):
    secret = os.environ["TOKEN"]
    print("plain: " + secret)
    env = context["environment"]  # a JSON text: the secret JSON-escaped
    print("once: " + env)
    print("twice: " + json.dumps({"env": env}))
    print("ascii: " + json.dumps({"env": env, "s": secret}, ensure_ascii=True))
    print("repr: %r" % (secret,))
    if event.get("raise"):
        raise ValueError("failed with %r and %s" % (secret, secret))
    return {"token": secret, "env": env, "nested": {"again": json.dumps(env)}}
'''


@needs(NEWEST_OFFERED)
def test_no_form_of_a_secret_reaches_any_report(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(HANDLER)
    (tmp_path / "s.yaml").write_text(textwrap.dedent(f"""\
        function: {{code: fn, handler: index.main_handler, runtime: Python{NEWEST_OFFERED},
                    environment: {{TOKEN: !env SCFTEST_MASK_TOKEN}}}}
        cases:
          - name: returns it
            expect:
              return: {{token: nope}}
              log: [not in the log]
          - name: raises with it
            event: {{raise: true}}
            expect: {{error: {{message: nope}}}}
          - name: passes on the real value
            expect:
              return_includes: {{token: {json.dumps(SECRET)}}}
              log: [{json.dumps("plain: " + SECRET)}]
          - name: warm steps
            invocations:
              - expect: {{return: {{token: nope}}}}
              - event: {{raise: true}}
                expect: {{error: {{message: nope}}}}
    """))
    env = dict(os.environ, NO_COLOR="1", SCFTEST_MASK_TOKEN=SECRET)
    result = subprocess.run([sys.executable, "-m", "scftest", "run", ".", "-vv", "--json", "r.json",
                             "--junit-xml", "r.xml"], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=120)
    report = json.loads((tmp_path / "r.json").read_text())
    verdicts = {c["name"]: c["verdict"] for c in report["cases"]}
    assert verdicts == {"returns it": "failed", "raises with it": "failed",
                        "passes on the real value": "passed", "warm steps": "failed"}, result.stdout
    # The JSON file escapes once more whatever it holds: its text is the third level.
    written = [result.stdout, result.stderr, (tmp_path / "r.xml").read_text(), (tmp_path / "r.json").read_text(),
               json.dumps(report, ensure_ascii=False)]
    for text in written:
        for form in every_form(SECRET):
            assert form not in text, (form, text[:2000])
    assert "plain: ***" in result.stdout and "actual:   \"***\"" in result.stdout
    assert "failed with '***' and ***" in result.stdout


@needs(NEWEST_OFFERED)
def test_a_short_secret_is_shown_and_warned_about(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(HANDLER)
    (tmp_path / "s.yaml").write_text(textwrap.dedent(f"""\
        function: {{code: fn, handler: index.main_handler, runtime: Python{NEWEST_OFFERED}}}
        cases:
          - name: short
            environment: {{TOKEN: !env SCFTEST_MASK_TOKEN}}
            expect: {{return_includes: {{token: ab}}}}
    """))
    env = dict(os.environ, NO_COLOR="1", SCFTEST_MASK_TOKEN="ab")
    result = subprocess.run([sys.executable, "-m", "scftest", "run", ".", "--json", "r.json"], cwd=tmp_path,
                            env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr  # a warning never fails a run
    assert "s.yaml:4:26: warning: the value of SCFTEST_MASK_TOKEN (passed with !env) is 2 characters" \
        in result.stdout
    report = json.loads((tmp_path / "r.json").read_text())
    assert [w["line"] for w in report["warnings"]] == [4]
    assert report["cases"][0]["record"]["return"]["token"] == "ab"


@pytest.mark.parametrize("secret", ["s3cr3t-\"value\"-42", "tab\there", "back\\slash", "ünï-中文"])
def test_masking_an_outcome_covers_every_field(secret, tmp_path):
    from scftest.check.outcome import Kind, Mismatch
    from scftest.instance.record import ErrorInfo, InvocationRecord

    once = json.dumps(secret)[1:-1]
    record = InvocationRecord(request_id="r", invocation="sync", runtime="Python3.6", interpreter="/p",
                              interpreter_version="3.6.15", status="error", status_code=430,
                              ret_msg=json.dumps({"e": secret}), log=f"x {secret} y {once}\n",
                              error=ErrorInfo("ValueError", "builtins.ValueError", f"bad {secret!r}",
                                              f"Traceback\nValueError: bad {secret!r}"),
                              return_value={secret: [secret, {"k": once}]},
                              error_result=json.dumps({"errorMessage": f"bad {secret!r}"}))
    mismatch = Mismatch(root="log[0]", message=f"about {secret}", kind=Kind.LOG, expected="x",
                        actual=f"line {secret} here", at=len(f"line {secret} "))
    from scftest.check.outcome import CaseOutcome

    outcome = CaseOutcome(case=_case(tmp_path, {}), verdict=Verdict.FAILED, summary=f"got {secret}",
                          mismatches=(mismatch,), details=once, record=record)
    out = masked(outcome, [secret])
    text = repr(out) + json.dumps(out.record.to_dict()) + json.dumps(out.record.to_dict(), ensure_ascii=False)
    for form in every_form(secret):
        assert form not in text, form
    assert out.mismatches[0].actual == "line *** here" and out.mismatches[0].at == len("line *** ")
    assert out.record.return_value == {"***": ["***", {"k": "***"}]}
