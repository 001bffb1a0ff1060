"""Loading a large suite never holds two copies of it: the schema check reads the written
data itself, and the case model replaces the written cases one at a time (issue 15)."""

import sys
import tracemalloc

import pytest

from test_packed_marks import _bench_like

from scftest.check.outcome import CaseOutcome, Verdict
from scftest.load.build import build_suite
from scftest.load.loader import load_paths, suite_tags
from scftest.load.validate import _as_written
from scftest.load.yamlio import parse_text, read_document
from scftest.matchers import build_matcher
from scftest.model import EnvRef, Replace


def test_data_without_tags_is_checked_as_it_is_not_as_a_copy():
    data = {"cases": [{"name": "a", "event": {"n": 1, "items": [1, 2]}}, {"name": "b"}], "function": {"code": "fn"}}
    assert _as_written(data) is data


def test_tags_are_checked_as_written_and_the_data_keeps_them():
    regex = build_matcher("!regex", "^a")
    data = {"cases": [{"name": "a", "expect": {"ret_msg": regex}}, {"name": "b", "event": Replace({"x": [1]})}],
            "function": {"code": "fn", "environment": {"T": EnvRef("T")}}}
    written = _as_written(data)
    assert written == {"cases": [{"name": "a", "expect": {"ret_msg": "!regex '^a'"}},
                                 {"name": "b", "event": {"x": [1]}}],
                       "function": {"code": "fn", "environment": {"T": "!env T"}}}
    assert data["cases"][0]["expect"]["ret_msg"] is regex and isinstance(data["cases"][1]["event"], Replace)
    assert written["cases"][1]["event"] is data["cases"][1]["event"].value  # untagged parts are not copied


def test_building_lets_each_written_case_go(tmp_path):
    document = parse_text(_bench_like(5), tmp_path / "bench.yaml", suite_tags())
    (tmp_path / "fn").mkdir()
    suite, problems = build_suite(document.data, document.source)
    assert problems == [] and [case.name for case in suite.cases] == [f"case {i}" for i in range(5)]
    assert suite.cases[3].event == {"n": 3, "items": ["a", "b"]} and suite.cases[3].line == 18
    assert suite.cases[3].event_json == '{"n":3,"items":["a","b"]}'
    assert suite.cases[3].expect.path == ("cases", 3, "expect") and suite.cases[3].expect.owner is suite.cases[3].path
    assert document.data["cases"] == [None] * 5


def _peak(work) -> int:
    tracemalloc.start()
    try:
        work()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_loading_peaks_at_reading_the_file(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return 1\n")
    (tmp_path / "bench.yaml").write_text(_bench_like(1000))
    assert len(load_paths([tmp_path]).suites[0].cases) == 1000  # the schema and modules loaded outside the measure
    reading = _peak(lambda: read_document(tmp_path / "bench.yaml", suite_tags()))
    loading = _peak(lambda: load_paths([tmp_path]))
    # Checking the written data and building the model from it added half as much again to
    # the peak of reading the file (the schema check's copy, then the data and the model
    # held whole at once), then a tenth; now each case is checked and built as it is read
    # and its written data let go, so loading peaks below reading all the written data.
    assert loading < reading, (loading, reading)


def _suite_folder(folder, cases: int):
    (folder / "fn").mkdir(parents=True)
    (folder / "fn" / "index.py").write_text("def main_handler(event, context):\n    return 1\n")
    (folder / "bench.yaml").write_text(_bench_like(cases))
    return folder


def _kept(folder) -> int:
    load_paths([folder])  # the schema and modules loaded outside the measure
    tracemalloc.start()
    try:
        loaded = load_paths([folder])
        return tracemalloc.get_traced_memory()[0] if loaded.suites else 0
    finally:
        tracemalloc.stop()


def test_what_loading_keeps_per_case(tmp_path):
    # The case model of a bench-like case (its name, event, expectation, path and marks):
    # 1,286 bytes before the keys were shared, the marks narrowed and the per-case classes
    # slotted; 998 on Python 3.11, then 780 with the event kept as its JSON and the
    # expectation's path taken from its case's. Measured as the growth between two sizes, so what is made
    # once (the suite, the shared spec, the arrays' headers) does not count.
    small, large = _kept(_suite_folder(tmp_path / "small", 100)), _kept(_suite_folder(tmp_path / "large", 1100))
    per_case = (large - small) / 1000
    assert per_case < 900, per_case


def test_cases_written_alike_share_their_keys(tmp_path):
    document = parse_text(_bench_like(3), tmp_path / "bench.yaml", suite_tags())
    first, *others = document.data["cases"]
    for other in others:
        for key in ("name", "event", "expect"):
            assert next(k for k in other if k == key) is next(k for k in first if k == key)
        returned = (next(iter(case["expect"]["return"].keys() - {"n"})) for case in (first, other))
        assert next(returned) is next(returned)  # "ok", inside the written values too


@pytest.mark.skipif(sys.version_info < (3, 10), reason="dataclasses make slots from Python 3.10")
def test_a_case_its_expectation_and_its_outcome_hold_no_dict_of_their_own(tmp_path):
    case = load_paths([_suite_folder(tmp_path, 1)]).suites[0].cases[0]
    for value in (case, case.expect, CaseOutcome(case, Verdict.PASSED)):
        assert not hasattr(value, "__dict__"), type(value)


def test_within_a_case_equal_numbers_and_texts_are_one_object(tmp_path):
    text = ("cases:\n"
            "  - {name: a, event: {n: 1000, who: bob, big: 1000.0}, expect: {return: {n: 1000, who: bob, big: 1000}}}\n"
            "  - {name: b, event: {n: 1000}, expect: {return: {n: 1000, t: true, one: 1}}}\n")
    first, second = parse_text(text, tmp_path / "s.yaml", suite_tags()).data["cases"]
    event, returned = first["event"], first["expect"]["return"]
    assert event["n"] is returned["n"] and event["who"] is returned["who"]
    assert type(event["big"]) is float and type(returned["big"]) is int  # equal, but not of one type
    assert second["event"]["n"] is not event["n"]  # per case: no table of every value of the file
    assert second["expect"]["return"]["t"] is True and type(second["expect"]["return"]["one"]) is int


def test_the_parts_read_give_the_marks_of_the_whole_read(tmp_path):
    from scftest.load import yamlio

    text = _bench_like(4)
    parts = parse_text(text, tmp_path / "bench.yaml", suite_tags())
    root, _composed = yamlio._compose(text, suite_tags())
    recorder = yamlio.MarkRecorder()
    whole = yamlio._Builder(suite_tags(), recorder).build(root, ())
    assert parts.data == whole
    assert dict(parts.source.marks) == dict(recorder.packed())
