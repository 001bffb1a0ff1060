"""Loading suites into the model: line marks, defaults, overrides, matrix, events, safe YAML."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scftest.load.loader import load_paths, load_suite
from scftest.matchers import Matcher
from scftest.model import UNSET, EnvRef


def suite(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "index.py").write_text("def main_handler(e, c):\n    return 1\n")
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load_ok(path: Path):
    loaded, problems, is_suite = load_suite(path)
    assert not problems, [str(p) for p in problems]
    assert is_suite
    return loaded


def test_defaults_overrides_and_environment_merge(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function:
          code: fn
          handler: index.main_handler
          environment: {STAGE: test, REGION: gz}
        cases:
          - name: defaults
          - name: overridden
            runtime: Python2.7
            timeout: 10
            memory: 256
            environment: {STAGE: prod, EXTRA: x}
    """)
    first, second = load_ok(path).cases
    assert first.function.runtime == "Python3.6"
    assert (first.function.timeout, first.function.memory) == (3, 128)
    assert first.function.code == (tmp_path / "fn").resolve()
    assert first.expect.return_ is UNSET and first.expect.expected_status == "success"
    assert first.event == {}
    assert second.function.runtime == "Python2.7"
    assert (second.function.timeout, second.function.memory) == (10, 256)
    assert dict(second.function.environment) == {"STAGE": "prod", "REGION": "gz", "EXTRA": "x"}
    assert second.line == 7


def test_init_timeout_defaults_to_65_and_is_overridden_per_case(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler, init_timeout: 120}
        cases:
          - name: the function's
          - {name: its own, init_timeout: 5}
    """)
    first, second = load_ok(path).cases
    assert (first.function.init_timeout, second.function.init_timeout) == (120, 5)
    path = suite(tmp_path, "function: {code: fn, handler: index.main_handler}\ncases: [{name: a}]\n", "d.yaml")
    assert load_ok(path).cases[0].function.init_timeout == 65


@pytest.mark.parametrize("value", ["0", "301", "'65'", "1.5"])
def test_an_init_timeout_out_of_range_is_a_problem_at_its_line(tmp_path: Path, value: str) -> None:
    path = suite(tmp_path, f"function: {{code: fn, handler: index.main_handler}}\ncases:\n"
                           f"  - name: a\n    init_timeout: {value}\n")
    _, problems, _ = load_suite(path)
    assert [(p.line, p.col) for p in problems] == [(4, 19)], [str(p) for p in problems]
    assert "init_timeout" in problems[0].message and "init_timeout: 65" in problems[0].hint


def test_matrix_expands_with_suffix_and_case_value_wins(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        name: m
        function: {code: fn, handler: index.main_handler}
        matrix:
          runtime: [Python2.7, Python3.6]
          memory: [128, 256]
        cases:
          - name: both
          - name: pinned
            runtime: Python3.9
    """)
    names = [c.name for c in load_ok(path).cases]
    assert names == [
        "both [Python2.7, 128]", "both [Python2.7, 256]", "both [Python3.6, 128]", "both [Python3.6, 256]",
        "pinned [128]", "pinned [256]",
    ]
    cases = load_ok(path).cases
    assert cases[1].function.runtime == "Python2.7" and cases[1].function.memory == 256
    assert cases[4].function.runtime == "Python3.9"
    assert cases[0].id == "m::both [Python2.7, 128]"


def test_matrix_expansion_clash_is_a_duplicate_name(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        matrix: {runtime: [Python2.7]}
        cases:
          - name: a
          - name: a [Python2.7]
            runtime: Python3.6
    """)
    _, problems, _ = load_suite(path)
    assert [str(p).split(": ", 1)[1] for p in problems] == [
        "the case name 'a [Python2.7]' is used twice (first at line 4) — give every case its own name"]


def test_skip_xfail_tags_and_invocation_aliases(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - {name: a, skip: true, tags: [smoke]}
          - {name: b, skip: waiting for the API, invocation: Event}
          - {name: c, xfail: known bug, invocation: RequestResponse}
          - {name: d, skip: false}
    """)
    a, b, c, d = load_ok(path).cases
    assert (a.skip, a.tags) == ("skipped", ("smoke",))
    assert (b.skip, b.invocation) == ("waiting for the API", "async")
    assert (c.xfail, c.invocation) == ("known bug", "sync")
    assert d.skip is None


def test_events_from_trigger_and_file_with_deep_merge(tmp_path: Path) -> None:
    (tmp_path / "ev.yaml").write_text("a: {b: 1, c: 2}\nlist: [1, 2]\n")
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - name: file
            event_file: ev.yaml
            event: {a: {c: 3}, list: [9]}
          - name: gw
            trigger: apigateway
            event: {httpMethod: POST, headers: {X-Custom: yes}}
    """)
    from_file, gateway = load_ok(path).cases
    assert from_file.event == {"a": {"b": 1, "c": 3}, "list": [9]}
    assert gateway.event["httpMethod"] == "POST"
    assert gateway.event["headers"]["X-Custom"] == "yes"  # YAML 1.2: yes is text
    assert "requestContext" in gateway.event and len(gateway.event["headers"]) > 1


def test_yaml_choices_for_people(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - name: data
            event: {country: NO, on: off, when: 2019-02-21T11:49:00Z, 200: ok, t: true}
    """)
    (case,) = load_ok(path).cases
    assert case.event == {"country": "NO", "on": "off", "when": "2019-02-21T11:49:00Z", "200": "ok", "t": True}


def test_duplicate_key_is_an_error(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - name: a
            event: {x: 1}
            event: {x: 2}
    """)
    _, problems, _ = load_suite(path)
    assert [str(p) for p in problems] == [
        f"{path}:5:5: the key 'event' is written twice in this mapping — keep one of them"]


def test_env_and_matcher_tags_are_built_and_placed(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function:
          code: fn
          handler: index.main_handler
          environment: {TOKEN: !env CI_TOKEN}
        cases:
          - name: a
            expect:
              return: {id: !type int}
              ret_msg: !contains id
    """)
    (case,) = load_ok(path).cases
    assert case.function.environment["TOKEN"] == EnvRef("CI_TOKEN")
    assert isinstance(case.expect.return_["id"], Matcher)
    assert isinstance(case.expect.ret_msg, Matcher)


@pytest.mark.parametrize("text, message", [
    ("event: {token: !env HOME}", "!env HOME is only allowed as a value under environment:"),
    ("event: {id: !any }", "the matcher !any is only allowed inside expect"),
    ("environment: {BAD: 1}", "must be text, not the number 1 — write it like this, e.g. BAD: 'true'"),
    # the schema's examples, written as YAML under the key at fault (a list item, a mapping)
    ("layers: [3]", "layers[0] must be text, not the number 3 — write it like this, e.g. - ../layers/common"),
    ("expect: {log: [5]}", "e.g. - Received event / - regex: order \\d+ queued / - absent: password"),
    ("expect: {ignore: a}", "e.g. ignore: [headers.Date, 'body.items[0].id']"),
    ("role: {secret_id: a}", "needs the key 'secret_key' — add it, e.g. secret_key: !env CI_SCF_SECRET_KEY"),
    ("environment: {SCF_X: a}", "the environment variable SCF_X uses a prefix SCF reserves"),
    ("environment: {BIG: '" + "x" * 4100 + "'}", "SCF allows at most 4096"),
    ("expect: {return: !approx abc}", "!approx"),
    ("expect: {status: error, error: true, log: [{regex: a, absent: b}]}", "log[0]"),
])
def test_misplaced_or_malformed_values(tmp_path: Path, text: str, message: str) -> None:
    path = suite(tmp_path, f"""\
        function: {{code: fn, handler: index.main_handler}}
        cases:
          - name: a
            {text}
    """)
    _, problems, _ = load_suite(path)
    assert problems, "expected a problem"
    assert any(message in str(p) and str(p).startswith(f"{path}:4:") for p in problems), [str(p) for p in problems]


def test_scftest_tag_right_before_a_closing_brace_is_read_as_meant(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - name: a
            expect: {return: {id: !any, n: [!type int]}}
    """)
    (case,) = load_ok(path).cases
    assert repr(case.expect.return_["id"]) == "!any"
    assert repr(case.expect.return_["n"][0]) == "!type int"


def test_unknown_tag_before_a_closing_brace_gets_a_hint(tmp_path: Path) -> None:
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - name: a
            expect: {return: {id: !anything}}
    """)
    _, problems, _ = load_suite(path)
    assert "write {id: !any } rather than {id: !any}" in str(problems[0])


def test_alias_bomb_is_refused(tmp_path: Path) -> None:
    levels = ["a: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        levels.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i-1}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(levels) + "\ncases: []\n")
    _, problems, _ = load_suite(path)
    assert "expands to more than" in str(problems[0])


def test_folders_are_searched_recursively_in_stable_order(tmp_path: Path) -> None:
    suite(tmp_path, "function: {code: ../fn, handler: index.main_handler}\ncases: [{name: a}]\n", "b/two.yml")
    suite(tmp_path, "function: {code: fn, handler: index.main_handler}\ncases: [{name: a}]\n", "one.yaml")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.yaml").write_text("cases: {")
    (tmp_path / "notes.yaml").write_text("just: data\n")
    loaded = load_paths([tmp_path])
    assert not loaded.problems
    assert [s.name for s in loaded.suites] == ["two", "one"]
    assert [p.file.name for p in loaded.passed_over] == ["notes.yaml"]


def test_suites_with_the_same_name_get_their_file_in_it(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    for folder in ("team-a", "team-b"):
        suite(tmp_path, "function: {code: ../fn, handler: index.main_handler}\ncases: [{name: a}]\n",
              f"{folder}/api.yaml")
    suite(tmp_path, "function: {code: fn, handler: index.main_handler}\ncases: [{name: a}]\n", "other.yaml")
    loaded = load_paths([tmp_path])
    ids = [case.id for s in loaded.suites for case in s.cases]
    assert ids == ["other::a", "api (team-a/api.yaml)::a", "api (team-b/api.yaml)::a"]


def test_a_symlink_loop_is_walked_once(tmp_path: Path) -> None:
    suite(tmp_path, "function: {code: ../fn, handler: index.main_handler}\ncases: [{name: a}]\n", "sub/s.yaml")
    (tmp_path / "sub" / "loop").symlink_to(tmp_path)
    loaded = load_paths([tmp_path])
    assert not loaded.problems
    assert [s.name for s in loaded.suites] == ["s"]
