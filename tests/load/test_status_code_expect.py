"""expect.status_code: the schema's codes are SCF's (scf.status.Code), a code implies its
status, and a code that contradicts status or error is a problem at its line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scftest.load.loader import load_suite
from scftest.load.validate import load_schema
from scftest.model import UNSET
from scftest.scf.status import Code, Status


def suite(tmp_path: Path, expect: str) -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "index.py").write_text("def main_handler(e, c):\n    return 1\n")
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(f"""\
        function: {{code: fn, handler: index.main_handler}}
        cases:
          - name: a
            expect: {expect}
    """), encoding="utf-8")
    return path


def test_the_schema_allows_exactly_scfs_codes():
    schema = load_schema()["$defs"]["expect"]["properties"]["status_code"]
    assert schema["enum"] == sorted(code.number for code in Code)
    for code in Code:
        assert f"{code.number} " in schema["description"]


@pytest.mark.parametrize("code", list(Code))
def test_a_code_alone_implies_its_status(tmp_path, code):
    loaded, problems, _ = load_suite(suite(tmp_path, f"{{status_code: {code.number}}}"))
    assert not problems, [str(p) for p in problems]
    (case,) = loaded.cases
    assert case.expect.status_code == code.number and case.expect.status is UNSET
    assert case.expect.expected_status is code.status


@pytest.mark.parametrize("expect, words", [
    ("{status_code: 433, status: success}",
     "status_code 433 (time limit reached) contradicts status 'success': 433 is a status 'timeout'"),
    ("{status_code: 200, error: {type: ValueError}}",
     "status_code 200 (success) contradicts the error expectation, which needs a status 'error' code "
     "(406, 407, 430, 437, 443)"),
    ("{status_code: 431}", "expect.status_code cannot be 431"),
    ("{status_code: '430'}", "expect.status_code cannot be '430'"),
])
def test_a_contradiction_or_an_unknown_code_is_a_problem_at_its_line(tmp_path, expect, words):
    path = suite(tmp_path, expect)
    _, problems, _ = load_suite(path)
    assert any(words in str(p) and str(p).startswith(f"{path}:4:") for p in problems), [str(p) for p in problems]


def test_consistent_status_and_error_are_accepted(tmp_path):
    loaded, problems, _ = load_suite(suite(tmp_path, "{status_code: 443, status: error, error: {type: NameError}}"))
    assert not problems, [str(p) for p in problems]
    assert loaded.cases[0].expect.expected_status is Status.ERROR
