"""invocations: (warm sequences) in the loader: the steps in the model, and each wrong
step reported at its file:line (issue 14)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from scftest.load.loader import load_paths
from scftest.matchers import Matcher
from scftest.model import Replace

HEAD = """\
function:
  code: .
  handler: index.main
"""


def load(tmp_path: Path, cases: str):
    path = tmp_path / "suite.yaml"
    path.write_text(HEAD + "cases:\n" + textwrap.indent(textwrap.dedent(cases), "  "), encoding="utf-8")
    loaded = load_paths([path])
    return loaded, [str(p).replace(str(tmp_path) + "/", "") for p in loaded.problems]


def test_steps_are_in_the_model(tmp_path: Path) -> None:
    loaded, problems = load(tmp_path, """\
        - name: seq
          context: {function_name: orders, memory_limit_in_mb: 256}
          invocation: async
          invocations:
            - event: {key: a}
              expect: {ret_msg: !regex 'a'}
            - name: sync one
              invocation: sync
              trigger: timer
              context: {memory_limit_in_mb: 512}
              expect: {return: !any}
            - cold: true
              event: {queryString: !replace {}}
        """)
    assert problems == []
    case, = loaded.suites[0].cases
    first, second, third = case.steps
    assert (case.event, case.expect.return_) == ({}, case.expect.return_)  # none of its own
    assert [s.index for s in case.steps] == [0, 1, 2]
    assert [s.label for s in case.steps] == ["step 1", "step 2 (sync one)", "step 3"]
    assert [s.invocation for s in case.steps] == ["async", "sync", "async"]
    assert [s.cold for s in case.steps] == [False, False, True]
    assert first.event == {"key": "a"} and isinstance(first.expect.ret_msg, Matcher)
    assert second.trigger == "timer" and second.event["Type"] == "Timer"
    assert second.context == {"function_name": "orders", "memory_limit_in_mb": 512}
    assert isinstance(second.expect.return_, Matcher)
    assert not isinstance(third.event["queryString"], Replace) and third.event["queryString"] == {}
    assert case.source.at(second.path).line == 11
    assert case.source.at(second.expect.path).line == 15


def test_a_matrix_expands_the_case_with_all_its_steps(tmp_path: Path) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(HEAD + textwrap.dedent("""\
        matrix:
          invocation: [sync, async]
        cases:
          - name: seq
            invocations:
              - event: {n: 1}
              - invocation: sync
        """), encoding="utf-8")
    loaded = load_paths([path])
    assert loaded.problems == []
    cases = loaded.suites[0].cases
    assert [c.name for c in cases] == ["seq [sync]", "seq [async]"]
    assert [[s.invocation for s in c.steps] for c in cases] == [["sync", "sync"], ["async", "sync"]]


@pytest.mark.parametrize("cases, expected", [
    ("""\
     - name: both
       event: {n: 1}
       invocations:
         - event: {n: 2}
     """, "suite.yaml:6:12: a case with invocations: has no event of its own — move event: into the "
          "steps that need it"),
    ("""\
     - name: both
       invocations:
         - event: {n: 2}
       expect: {return: 1}
     """, "suite.yaml:8:13: a case with invocations: has no expect of its own"),
    ("""\
     - name: async
       invocations:
         - {}
         - invocation: async
           expect: {return: 1}
     """, "suite.yaml:9:26: an async step cannot expect 'return': asynchronous callers never receive "
          "the return value — check ret_msg (the serialized return in the log) or make the step sync"),
    ("""\
     - name: typo
       invocations:
         - evnt: {n: 2}
     """, "suite.yaml:7:9: unknown key 'evnt' in case 'typo': invocations[0] — did you mean 'event'?"),
    ("""\
     - name: cold
       invocations:
         - cold: yes please
     """, "suite.yaml:7:15: case 'cold': invocations[0].cold must be true or false"),
    ("""\
     - name: empty
       invocations: []
     """, "suite.yaml:6:18: case 'empty': invocations is empty"),
    ("""\
     - name: trigger
       invocations:
         - trigger: apigatway
     """, "suite.yaml:7:18: unknown trigger 'apigatway' — did you mean 'apigateway'?"),
    ("""\
     - name: matcher in an event
       invocations:
         - event: {n: !regex 'a'}
     """, "suite.yaml:7:20: the matcher !regex 'a' is only allowed inside expect: return"),
    ("""\
     - name: a log matcher
       invocations:
         - expect: {log: [!regex 'a']}
     """, "suite.yaml:7:24: the matcher !regex 'a' is only allowed inside expect: return, return_includes "
          "or ret_msg — a log entry is text or a mapping: write - regex: 'a'"),
    ("""\
     - name: a bad regex in a step's log
       invocations:
         - expect: {log: [regex: '(']}
     """, "suite.yaml:7:31: log[0].regex '(' is not a valid regular expression"),
])
def test_a_wrong_step_is_reported_at_its_line(tmp_path: Path, cases: str, expected: str) -> None:
    _, problems = load(tmp_path, cases)
    assert any(p.startswith(expected) for p in problems), problems


def test_a_case_has_at_most_100_steps(tmp_path: Path) -> None:
    steps = "".join("    - {event: {n: %d}}\n" % n for n in range(101))
    _, problems = load(tmp_path, "- name: long\n  invocations:\n" + steps)
    assert problems == ["suite.yaml:7:7: case 'long': invocations has 101 items; at most 100 are allowed "
                        "— split it into several cases"], problems
