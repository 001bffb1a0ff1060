"""A suite is checked and built a case at a time as it is read (loader.CaseTaker), and
that gives what checking and building the whole document gives: the same problems, the
same suite (issue 15: loading's peak memory)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_suites import FUZZ, code, suite_files, written  # noqa: F401  (code: a fixture)

from scftest.load.loader import CaseTaker, check_and_build, read_suite, suite_tags
from scftest.load.yamlio import YamlError, parse_text, read_document


def _whole(file: Path):
    """(suite, problems) the way a document read whole is checked and built."""
    document = read_document(file, suite_tags())
    return check_and_build(document.data, document.source)


@FUZZ
@given(data=st.data())
def test_a_case_at_a_time_gives_what_the_whole_document_gives(code: Path, data) -> None:  # noqa: F811
    with written(data.draw(suite_files(str(code)))) as (_, suite):
        loaded = read_suite(suite, explicit=True)
        try:
            document = read_document(suite, suite_tags())
        except (YamlError, OSError):
            assert loaded.suite is None and loaded.problems
            return
        if not isinstance(document.data, dict) or "cases" not in document.data:
            return
        whole, problems = check_and_build(document.data, document.source)
        assert loaded.problems == problems
        assert loaded.suite == whole


def _suite(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return event\n")
    file = tmp_path / "suite.yaml"
    file.write_text(text)
    return file


CASES = "cases:\n  - name: a\n    event: {n: 1}\n  - name: b\n"


def test_what_the_cases_need_may_come_after_them(tmp_path):
    # The cases are read before the matrix and the function they are built with: the file
    # is read again, whole, and built as the whole document says.
    file = _suite(tmp_path, CASES + "matrix:\n  memory: [128, 256]\nfunction:\n  code: fn\n  handler: index.main_handler\n")
    document = read_document(file, suite_tags(), CaseTaker)
    assert not document.parts.fits(document.data)
    loaded = read_suite(file)
    assert loaded.problems == [] and [case.name for case in loaded.suite.cases] == [
        "a [128]", "a [256]", "b [128]", "b [256]"]
    assert loaded.suite == _whole(file)[0]


def test_cases_read_after_the_function_are_built_as_they_are_read(tmp_path):
    file = _suite(tmp_path, "function:\n  code: fn\n  handler: index.main_handler\n" + CASES)
    document = read_document(file, suite_tags(), CaseTaker)
    assert isinstance(document.parts, CaseTaker) and document.parts.fits(document.data)
    assert document.data["cases"] == []  # each written case let go once built
    suite, problems = document.parts.finish(document.data)
    assert problems == [] and [case.event for case in suite.cases] == [{"n": 1}, {}]
    assert suite.cases[1].line == 7


def test_a_document_with_a_problem_builds_nothing(tmp_path):
    # Case a breaks the schema; b's event file is missing, which only building finds. The
    # whole document's checks stop before building, so b's problem is not reported: nor
    # is it when a case at a time.
    file = _suite(tmp_path, "function:\n  code: fn\n  handler: index.main_handler\ncases:\n"
                            "  - name: a\n    timeout: -1\n  - name: b\n    event_file: nowhere.json\n")
    loaded = read_suite(file)
    assert [problem.line for problem in loaded.problems] == [6]
    assert loaded.problems == _whole(file)[1]


def test_a_problem_of_the_function_read_before_the_cases_stops_their_build(tmp_path):
    file = _suite(tmp_path, "function: 42\n" + CASES)
    loaded = read_suite(file)
    assert loaded.suite is None and [problem.line for problem in loaded.problems] == [1]
    assert loaded.problems == _whole(file)[1]


def test_a_document_read_whole_hands_no_part_out(tmp_path):
    # An anchor on the top level: the document is read whole, and checked and built so.
    text = "&top\nfunction:\n  code: fn\n  handler: index.main_handler\n" + CASES
    document = parse_text(text, _suite(tmp_path, text), suite_tags(), CaseTaker)
    assert document.parts is None and document.data["cases"][0]["name"] == "a"
    assert read_suite(tmp_path / "suite.yaml").suite.cases[0].event == {"n": 1}


def test_cases_that_share_a_node_give_its_problems_as_the_whole_document_does(tmp_path):
    # An alias repeats a node of an earlier case (and its line) in a later one.
    file = _suite(tmp_path, "function: {code: fn, handler: index.main_handler}\ncases:\n"
                            "  - name: a\n    expect: &e {log: [{regex: '('}], status: !any}\n"
                            "  - name: b\n    expect: *e\n"
                            "  - name: c\n    timeout: &t -1\n  - name: d\n    timeout: *t\n")
    loaded = read_suite(file)
    assert [(p.line, p.col) for p in loaded.problems] == [(4, 31), (4, 31), (4, 46), (4, 46), (8, 14), (8, 14)]
    assert loaded.problems == _whole(file)[1]
