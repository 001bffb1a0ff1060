"""The line and column of every node, kept compactly (scftest/load/marks.py).

The golden file data/rich_marks.json holds every mark the loader recorded for
data/rich_marks.yaml before the marks were packed (commit c2fc985, a dict of path tuples
to Mark objects): the packed marks must give each path the same Mark, and no other path.
"""

import json
import tracemalloc
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from test_fuzz_suites import FUZZ, suite_files

from scftest.load import yamlio
from scftest.load.loader import load_paths, suite_tags
from scftest.load.marks import MAX_LAYOUTS, MarkRecorder, PackedMarks
from scftest.load.yamlio import parse_text, read_document
from scftest.model import Mark, SourceMap

DATA = Path(__file__).parent / "data"


def golden():
    entries = json.loads((DATA / "rich_marks.json").read_text(encoding="utf-8"))
    return {tuple(path): Mark(line, col) for path, line, col in entries}


def test_every_mark_is_the_one_the_dict_held():
    marks = read_document(DATA / "rich_marks.yaml", suite_tags()).source.marks
    assert isinstance(marks, PackedMarks)
    expected = golden()
    assert dict(marks) == expected
    assert marks == expected and marks == read_document(DATA / "rich_marks.yaml", suite_tags()).source.marks
    assert marks != {} and len(marks) == len(expected)
    for path, mark in expected.items():  # the lookup of each path, not only the iteration
        assert marks.get(path) == mark and marks[path] == mark and path in marks


def test_at_falls_back_to_the_nearest_ancestor_inside_a_case():
    source = read_document(DATA / "rich_marks.yaml", suite_tags()).source
    expected = golden()
    # a mismatch deep in a returned value the suite did not write: the expectation's line
    assert source.at(("cases", 0, "expect", "return", "n", "deeper", 3)) == expected[("cases", 0, "expect", "return", "n")]
    assert source.at(("cases", 0, "nowhere")) == expected[("cases", 0)]
    assert source.at(("cases", 99, "name")) == expected[("cases",)]  # past the last case
    assert source.at(("other_list", 2, "k")) == expected[("other_list", 2, "k")]
    assert source.at(("no such key",)) == expected[()]
    assert ("cases", 99) not in source.marks and source.marks.get(("cases", 99)) is None
    with pytest.raises(KeyError):
        source.marks[("cases", 99)]


def test_a_path_outside_the_parts_order_is_kept_too():
    recorder = MarkRecorder()
    recorder.record(("cases", 0), 2, 3)
    recorder.record(("cases", 1), 5, 3)
    recorder.record(("cases", 0, "name"), 9, 9)  # back to a part already packed
    recorder.record(("cases", 5), 7, 1)  # not the next item
    marks = recorder.packed()
    assert dict(marks) == {("cases", 0): Mark(2, 3), ("cases", 1): Mark(5, 3),
                           ("cases", 0, "name"): Mark(9, 9), ("cases", 5): Mark(7, 1)}
    assert SourceMap(Path("s.yaml"), marks).at(("cases", 0, "name", "x")) == Mark(9, 9)


def test_marks_past_the_narrow_limits_widen_every_mark():
    # Narrow marks hold a line below 2**20 and a column below 2**12; the first mark past
    # either makes every mark wide, those already packed and those of the part being read.
    recorder = MarkRecorder()
    written = {("cases", 0): (2, 3), ("cases", 0, "name"): (3, 4095), ("cases", 1): (5, 3),
               ("cases", 1, "event"): (6, 9), ("cases", 1, "event", "n"): (6, 4096),
               ("cases", 2): (2 ** 20 + 7, 1), ("cases", 2, "name"): (2 ** 21, 2 ** 31)}
    recorder.record(("cases",), 1, 1)
    for path, (line, col) in written.items():
        recorder.record(path, line, col)
    marks = recorder.packed()
    assert dict(marks) == {("cases",): Mark(1, 1), **{path: Mark(*at) for path, at in written.items()}}


def test_narrow_marks_take_four_bytes_each():
    recorder = MarkRecorder()
    for index in range(1000):  # laid out in more ways than are shared (MAX_LAYOUTS): their own marks
        recorder.record(("cases", index), 4 * index + 1, 3)
        recorder.record(("cases", index, "name"), 4 * index + 1, 5 + index % 100)
    marks = recorder.packed()
    shared = MAX_LAYOUTS * 10  # the parts laid out as one of the first MAX_LAYOUTS
    assert marks._store.packed.itemsize * len(marks._store.packed) == 4 * 2 * (1000 - shared)
    assert marks[("cases", 999, "name")] == Mark(3997, 104) and marks[("cases", 201, "name")] == Mark(805, 6)


def test_parts_laid_out_alike_share_their_marks():
    # Cases written in block style from one template: each node on the same line and column,
    # counted from the case's first line. A part then keeps its first line, not its marks.
    recorder = MarkRecorder()
    for index in range(1000):
        first = 4 * index + 6
        recorder.record(("cases", index), first, 5)
        recorder.record(("cases", index, "name", "<key>"), first, 5)
        recorder.record(("cases", index, "name"), first, 11)
        recorder.record(("cases", index, "event"), first + 1, 12 + index % 2)  # two layouts
    marks = recorder.packed()
    assert len(marks._store.packed) == 0
    assert marks[("cases", 999, "event")] == Mark(4003, 13) and marks[("cases", 10, "name")] == Mark(46, 11)
    assert marks[("cases", 10, "event")] == Mark(47, 12) and marks[("cases", 0, "event")] == Mark(7, 12)
    assert dict(marks) == {path: mark for path, mark in marks.items()} and len(marks) == 4000


def test_an_alias_before_its_part_is_laid_out_from_the_part_first_line():
    recorder = MarkRecorder()
    recorder.record(("cases", 0), 10, 3)
    recorder.record(("cases", 0, "event"), 4, 9)  # an alias: the anchor's node, lines before
    recorder.record(("cases", 1), 20, 3)
    recorder.record(("cases", 1, "event"), 14, 9)  # laid out as the first: shares its marks
    marks = recorder.packed()
    assert len(marks._store.packed) == 0
    assert dict(marks) == {("cases", 0): Mark(10, 3), ("cases", 0, "event"): Mark(4, 9),
                           ("cases", 1): Mark(20, 3), ("cases", 1, "event"): Mark(14, 9)}


def _bench_like(cases: int) -> str:
    lines = ["name: bench", "function:", "  code: fn", "  handler: index.main_handler", "cases:"]
    for i in range(cases):
        lines += [f"  - name: case {i}", f"    event: {{n: {i}, items: [a, b]}}", "    expect:",
                  f"      return: {{n: {i}, ok: true}}"]
    return "\n".join(lines) + "\n"


def _kept_bytes(text: str) -> int:
    """What the parsed document keeps (its data and its marks), measured by tracemalloc."""
    tracemalloc.start()
    try:
        document = parse_text(text, Path("bench.yaml"), suite_tags())
        kept = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert len(document.data["cases"]) > 0
    return kept


def test_cases_written_alike_share_their_shape():
    # Per case: 17 marks. Kept as a dict of path tuples to Mark objects, the document
    # kept about 5,600 bytes a case; packed, about 1,400 (eight bytes a mark, the rest is
    # the case's own data). Measured as the growth between two sizes, so what is made once
    # (the arrays' headers, the one shape) does not count.
    small, large = _kept_bytes(_bench_like(100)), _kept_bytes(_bench_like(1100))
    per_case = (large - small) / 1000
    assert per_case < 2500, per_case


def test_cases_share_one_source_map(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return 1\n")
    (tmp_path / "bench.yaml").write_text(_bench_like(3))
    suite, = load_paths([tmp_path]).suites
    assert all(case.source is suite.source for case in suite.cases)
    assert [case.line for case in suite.cases] == [6, 10, 14]


def test_cases_that_run_the_same_function_share_its_spec(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main_handler(event, context):\n    return 1\n")
    (tmp_path / "s.yaml").write_text(
        "function: {code: fn, handler: index.main_handler, environment: {A: '1'}}\n"
        "matrix: {runtime: [Python3.6, Python3.10]}\n"
        "cases:\n"
        "  - {name: a}\n"
        "  - {name: b}\n"
        "  - {name: c, environment: {A: '2'}}\n")
    suite, = load_paths([tmp_path]).suites
    by_name = {case.name: case.function for case in suite.cases}
    assert by_name["a [Python3.6]"] is by_name["b [Python3.6]"]
    assert by_name["a [Python3.10]"] is by_name["b [Python3.10]"]
    assert by_name["a [Python3.6]"] is not by_name["a [Python3.10]"]
    assert by_name["a [Python3.6]"].runtime == "Python3.6" and by_name["a [Python3.10]"].runtime == "Python3.10"
    assert dict(by_name["c [Python3.6]"].environment) == {"A": "2"}
    assert dict(by_name["a [Python3.6]"].environment) == {"A": "1"}


# ------------------------------------------------------- reading a document in parts


def _whole(text: str, path: Path):
    """The document as the whole read gives it (the node tree composed at once)."""
    saved = yamlio._in_parts
    yamlio._in_parts = lambda *args: None
    try:
        return yamlio.parse_text(text, path, suite_tags())
    finally:
        yamlio._in_parts = saved


def _same(parts, whole) -> None:
    assert parts.data == whole.data
    assert dict(parts.source.marks) == dict(whole.source.marks)
    assert parts.warnings == whole.warnings


WARNED = """\
name: warned
shared: &shared {msg: 你好, 张三}
cases:
  - name: a
    event: *shared
    expect: {return: {id: !any}}
  - name: b
    event: {greeting: *shared, other: {note: one, two}}
  - name: c
    event: [1, *shared]
"""


def _texts(name: str):
    """(text, path) of the documents a test reads."""
    if name == "bundled":
        return [(file.read_text(encoding="utf-8"), file)
                for file in sorted((Path(__file__).parents[2] / "suites").glob("*.yaml"))]
    if name == "rich":
        return [((DATA / "rich_marks.yaml").read_text(encoding="utf-8"), DATA / "rich_marks.yaml")]
    return [({"warned": WARNED, "bench": _bench_like(50)}[name], Path(name + ".yaml"))]


@pytest.mark.parametrize("name", ["rich", "bundled", "warned", "bench"])
def test_a_document_read_in_parts_is_the_one_read_whole(name):
    texts = _texts(name)
    assert texts
    for text, path in texts:
        parts = yamlio._in_parts(text, path, suite_tags())
        assert parts is not None, f"{path} was read whole"
        _same(parts, _whole(text, path))
    if name == "warned":  # the alias repeats the { } mapping: its warning is given once
        assert [(w.mark.line, w.mark.col) for w in parts.warnings] == [(2, 27), (8, 51)]


@pytest.mark.parametrize("text", [
    "",  # no document
    "just text\n",  # not a mapping
    "&top {name: x, cases: []}\n",  # an anchor and { } at the top
    "<<: {name: x}\ncases: []\n",  # a merge key at the top
    "cases: []\ncases: []\n",  # a key written twice: the whole read reports it
    "cases:\n  - {name: a, event: !nosuch 1}\n",  # a problem inside a case
    "cases:\n  - name: a\n---\nname: b\n",  # a second document
    "cases: [" + "[" * 120 + "]" * 120 + "]\n",  # too deep
])
def test_what_is_not_read_in_parts_is_read_whole(text):
    assert yamlio._in_parts(text, Path("odd.yaml"), suite_tags()) is None


@FUZZ
@given(data=st.data())
def test_generated_suites_read_in_parts_equal_the_whole_read(tmp_path_factory, data):
    content = data.draw(suite_files(str(tmp_path_factory.getbasetemp())))
    try:
        text = yamlio.decode_text(content)
    except yamlio.YamlError:
        return
    parts = yamlio._in_parts(text, Path("suite.yaml"), suite_tags())
    if parts is not None:
        _same(parts, _whole(text, Path("suite.yaml")))
