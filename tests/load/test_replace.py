"""``!replace`` under ``event`` (contract 1.1): replace what the template or file holds instead of merging."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from scftest.load.loader import load_suite
from scftest.model import Replace
from scftest.scf import triggers


def suite(tmp_path: Path, cases: str) -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "index.py").write_text("def main_handler(e, c):\n    return 1\n")
    path = tmp_path / "s.yaml"
    path.write_text("function: {code: fn, handler: index.main_handler}\ncases:\n"
                    + textwrap.indent(textwrap.dedent(cases), "  "), encoding="utf-8")
    return path


def events(tmp_path: Path, cases: str):
    loaded, problems, _ = load_suite(suite(tmp_path, cases))
    assert not problems, [str(p) for p in problems]
    return [case.event for case in loaded.cases]


def problems(tmp_path: Path, cases: str):
    _, found, _ = load_suite(suite(tmp_path, cases))
    return [str(p) for p in found]


def test_replace_empties_and_replaces_template_mappings(tmp_path: Path) -> None:
    [event] = events(tmp_path, """\
        - name: a
          trigger: apigateway
          event:
            queryString: !replace {}
            queryStringParameters: !replace
              name: Bob
            headers: {x-trace: "1"}
    """)
    template = triggers.load("apigateway")
    assert template["queryString"] and template["queryStringParameters"]  # there was something to replace
    assert event["queryString"] == {}
    assert event["queryStringParameters"] == {"name": "Bob"}
    assert event["headers"]["x-trace"] == "1" and "host" in event["headers"]  # merged as before
    assert not any(isinstance(value, Replace) for value in event.values())


def test_without_replace_a_mapping_merges_so_keys_stay(tmp_path: Path) -> None:
    [event] = events(tmp_path, """\
        - name: a
          trigger: apigateway
          event: {queryString: {}}
    """)
    assert event["queryString"] == triggers.load("apigateway")["queryString"] != {}


def test_replace_over_an_event_file_and_nested_marks(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_text(json.dumps({"a": {"b": 1, "c": {"d": 2}}, "keep": True}))
    [event] = events(tmp_path, """\
        - name: a
          event_file: e.json
          event:
            a: !replace
              c: !replace {e: 3}
              list: [!replace {x: 1}]
    """)
    assert event == {"a": {"c": {"e": 3}, "list": [{"x": 1}]}, "keep": True}


def test_replace_the_whole_event_and_without_a_template(tmp_path: Path) -> None:
    whole, plain = events(tmp_path, """\
        - name: whole
          trigger: timer
          event: !replace {only: this}
        - name: plain
          event: {a: !replace [1, 2]}
    """)
    assert whole == {"only": "this"}
    assert plain == {"a": [1, 2]}


def test_replace_outside_event_is_a_suite_error(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        - name: a
          expect:
            return: !replace {a: 1}
    """)
    assert any(":5:" in p and "!replace is only allowed inside event:" in p for p in found), found


def test_replace_needs_a_mapping_or_a_list(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        - name: a
          trigger: apigateway
          event: {queryString: !replace}
    """)
    assert len(found) == 1 and "!replace needs a mapping or a list after it" in found[0], found
    assert "queryString: !replace {}" in found[0]


def test_replace_under_environment_is_reported_not_crashed(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
        - name: a
          environment: !replace {A: b}
    """)
    assert found and all("Traceback" not in p for p in found)
    assert any(":4:" in p for p in found), found


def test_deep_merge_takes_the_marks_off() -> None:
    base = {"q": {"a": 1}, "h": {"x": 1}}
    merged = triggers.deep_merge(base, {"q": Replace({}), "h": {"y": Replace([1])}})
    assert merged == {"q": {}, "h": {"x": 1, "y": [1]}}
    assert base == {"q": {"a": 1}, "h": {"x": 1}}
    assert triggers.unmarked(Replace({"a": Replace({"b": [Replace({})]})})) == {"a": {"b": [{}]}}
