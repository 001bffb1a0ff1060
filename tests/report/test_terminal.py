"""The terminal reporter: progress, failure blocks, problems, summary, colour rules."""

from __future__ import annotations

import io
import re
import threading

import pytest

from scftest.check.outcome import CaseOutcome, Verdict
from scftest.render import format_mismatch
from scftest.report.terminal import TerminalReporter, use_color
from scftest.result import RunPlan, RunResult

from report_fixtures import (
    all_outcomes,
    errored,
    failed,
    make_case,
    passed,
    problems,
    raised,
    skipped,
    xfailed,
    xpassed,
    ORDERS,
)


class FakeTTY(io.StringIO):
    def isatty(self):
        return True


def run(outcomes, found=(), *, elapsed=1.234, order=None, **kwargs):
    stream = kwargs.pop("stream", None) or io.StringIO()
    kwargs.setdefault("color", False)
    kwargs.setdefault("width", 60)
    reporter = TerminalReporter(stream, **kwargs)
    reporter.start(RunPlan(tuple(o.case for o in outcomes)))
    for outcome in order if order is not None else outcomes:
        reporter.case_finished(outcome)
    reporter.finish(RunResult(outcomes=list(outcomes), problems=list(found), elapsed_s=elapsed))
    return stream.getvalue()


def indent(text):
    return "\n".join("  " + line if line else line for line in text.splitlines())


def test_failing_case_output_in_full():
    out = run([passed(), failed()], elapsed=0.5)
    first, second = failed().mismatches
    escaped = "  \\x1b[31mboom\\x1b[0m \\x00 nul and \\x07 bell"  # controls shown escaped
    log_tail = "\n".join([f"  processing item {i}" for i in range(10, 28)] + [escaped, "  END RequestId: req-2"])
    expected = (
        "collected 2 cases\n"
        ".F                                                    [100%]\n"
        "========================= FAILURES =========================\n"
        "_____________ orders API::api gateway request ______________\n"
        "suites/orders.yaml:18: FAILED\n"
        "  2 expectations did not hold\n"
        "\n"
        f"{indent(format_mismatch(first))}\n"
        "\n"
        f"{indent(format_mismatch(second))}\n"
        "\n"
        "  --- captured log (last 20 lines, 10 before) ---\n"
        f"{log_tail}\n"
        "\n"
        "===================== slowest 2 cases ======================\n"
        "   0.25s orders API::api gateway request\n"
        "   0.03s orders API::returns greeting\n"
        "====================== short summary =======================\n"
        "FAILED orders API::api gateway request - 2 expectations did not hold\n"
        "=============== 1 passed, 1 failed in 0.50s ================\n"
    )
    assert out == expected


def test_mismatch_shows_path_expected_actual_and_line():
    out = run([failed()])
    assert "body.id" in out and "21" in out
    assert "expected: 42" in out and "actual:   43" in out


def test_unexpected_exception_shows_its_traceback_once():
    out = run([raised()])
    section = out.split("FAILURES")[1].split("--- captured log")[0]
    assert section.count("raise KeyError('id')") == 1
    assert "unexpected KeyError: 'id'" in section


def test_error_section_and_problems_section():
    out = run([errored()], problems())
    assert "=== ERRORS ===" in out.replace("=" * 10, "===")
    assert "suites/orders.yaml:34: ERROR" in out
    assert "no interpreter for Python2.7" in out and "--runtime-fallback" in out
    problems_part = out.split("SUITE ERRORS")[1]
    assert "suites/broken.yaml:7:3: mapping values are not allowed here — check the indentation" in problems_part
    assert "1 error, 2 suite errors in 1.23s" in out


def test_summary_counts_every_verdict():
    out = run(all_outcomes(), problems())
    last = out.rstrip("\n").splitlines()[-1]
    assert "1 passed, 2 failed, 1 error, 1 skipped, 1 xfailed, 1 xpassed, 2 suite errors in 1.23s" in last


def test_compact_letters_for_each_verdict():
    out = run(all_outcomes(), width=80)
    assert out.splitlines()[1].startswith(".FFEsxX ")
    assert out.splitlines()[1].endswith("[100%]")


def test_progress_wraps_with_percentages():
    many = [passed()] * 30
    lines = run(many, width=20).splitlines()[1:4]
    assert lines == [
        "............. [ 43%]",
        "............. [ 86%]",
        "....          [100%]",
    ]


def test_completion_order_gives_report_order_sections():
    outcomes = [failed(), raised(), passed()]
    out = run(outcomes, order=list(reversed(outcomes)))
    assert out.splitlines()[1].startswith(".FF")  # letters as they finished
    assert out.index("api gateway request ___") < out.index("fire and forget ___")


def test_verbose_prints_a_line_per_case():
    out = run([passed(), skipped(), xfailed(), xpassed()], verbose=1)
    lines = [line for line in out.splitlines() if not line.startswith("    ")]
    assert lines[1] == "PASSED orders API::returns greeting (0.03s)"
    assert lines[2] == "SKIPPED users v1.2::login ok (0.00s) - waiting for the auth mock"
    assert lines[3] == "XFAIL users v1.2::login locked (0.05s) - expected failure: bug 12"
    assert lines[4].startswith("XPASS users v1.2::订单 unicode (0.07s) - ")


def test_verbose_prints_the_record_without_the_log():
    out = run([passed(), skipped()], verbose=1)
    assert "PASSED orders API::returns greeting (0.03s)\n    request_id: req-1\n" in out
    assert "    status: success (200)\n" in out
    assert "Received event" not in out
    assert "the case did not run" not in out  # a skipped case has no record to show


def test_very_verbose_prints_the_record_and_log():
    out = run([passed()], verbose=2)
    assert "    request_id: req-1\n" in out
    assert "    interpreter: /usr/bin/python3.6 (3.6.15)\n" in out
    assert "    status: success (200)\n" in out
    assert '    return: "Hello World"\n' in out
    assert "      Received event\n" in out


def test_quiet_levels():
    quiet = run([passed(), passed()], verbose=-1)
    assert "collected" not in quiet and "slowest" not in quiet
    assert quiet.startswith("..")
    quieter = run([passed(), failed()], verbose=-2)
    assert not quieter.startswith(".")
    assert "FAILURES" in quieter and "1 passed, 1 failed" in quieter


def test_interrupted_and_empty_runs():
    stream = io.StringIO()
    reporter = TerminalReporter(stream, color=False, width=60)
    reporter.start(RunPlan((passed().case,) * 5, deselected=3))
    reporter.case_finished(passed())
    reporter.finish(RunResult(outcomes=[passed()], elapsed_s=0.2, interrupted=True, deselected=3))
    out = stream.getvalue()
    assert ".\n" in out  # the open progress line is closed
    assert "interrupted: 1 passed, 3 deselected in 0.20s" in out
    assert "no cases ran in 0.00s" in run([], elapsed=0.0)


def test_control_characters_never_reach_the_terminal():
    out = run([failed()], verbose=2)
    assert "\x00" not in out and "\x1b" not in out and "\x07" not in out
    assert "\\x1b[31mboom\\x1b[0m \\x00 nul and \\x07 bell" in out  # shown escaped, not lost


CONTROLS = "\x1b]0;pwned\x07\x1b[2J\r\x9b\u202e\x08"  # OSC title, clear screen, CR, C1 CSI, RLO, BS


def _hostile_outcome():
    """A failed case whose names, log, returned value and exception all carry control characters."""
    from dataclasses import replace

    from scftest.check.outcome import Kind, Mismatch
    from scftest.instance.record import ErrorInfo

    base = failed()
    case = replace(base.case, suite=f"suite{CONTROLS}", name=f"case\n{CONTROLS}\tname")
    record = replace(base.record, log=f"START\nline with {CONTROLS} and\ttab\r\nnext\nEND\n",
                     return_value={"k": CONTROLS}, ret_msg=f'{{"k": "{CONTROLS}"}}',
                     error=ErrorInfo("ValueError", "builtins.ValueError", f"bad {CONTROLS}",
                                     f"Traceback\nValueError: bad {CONTROLS}"))
    mismatch = Mismatch(root="return", message=f"differs {CONTROLS}", kind=Kind.VALUE, path=("k",),
                        expected="x", actual=CONTROLS)
    return replace(base, case=case, record=record, mismatches=(mismatch,), summary=f"summary {CONTROLS}")


@pytest.mark.parametrize("verbose", [-2, 0, 1, 2])
def test_no_control_character_from_data_reaches_the_terminal(verbose):
    out = run([_hostile_outcome()], verbose=verbose)
    bad = [c for c in out if (ord(c) < 32 and c not in "\n\t") or 0x7f <= ord(c) <= 0x9f
           or c in "\u202e\u2028\u2029"]
    assert bad == []
    assert "\\x1b]0;pwned\\x07" in out  # escaped where it was
    if verbose >= 2:  # the log keeps its line breaks (CRLF as one) and its tabs
        assert "line with \\x1b]0;pwned\\x07\\x1b[2J\\r\\x9b\\u202e\\x08 and\ttab\n      next\n" in out
    assert "case\\n" in out and "\\tname" in out  # a name stays on one line; tabs only in the log
    assert all("\t" not in line or "tab" in line for line in out.splitlines())


def test_control_characters_are_escaped_when_coloured():
    out = run([_hostile_outcome()], verbose=2, color=True)
    painted = re.sub(r"\x1b\[[0-9;]*m", "", out)  # scftest's own colour codes
    assert "\x1b" not in painted and "\r" not in painted


def test_a_long_log_line_is_cut_in_the_terminal_and_says_where_it_is_whole():
    from dataclasses import replace

    from scftest.render import TERMINAL_LINE_WIDTH

    base = failed()
    long_line = "x" * (10 * TERMINAL_LINE_WIDTH)
    outcome = replace(base, record=replace(base.record, log=f"START\n{long_line}\nEND\n"))
    for verbose in (0, 2):
        out = run([outcome], verbose=verbose)
        assert long_line not in out and "x" * TERMINAL_LINE_WIDTH in out
        assert (f"… [{9 * TERMINAL_LINE_WIDTH} more characters of this line cut here; "
                "the JSON report (--json) has it whole]") in out
        assert len(out) < 5 * TERMINAL_LINE_WIDTH


def test_case_finished_is_safe_from_threads():
    stream = io.StringIO()
    reporter = TerminalReporter(stream, color=False, width=1000)
    reporter.start(RunPlan((passed().case,) * 400))
    threads = [threading.Thread(target=lambda: [reporter.case_finished(passed()) for _ in range(100)]) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert stream.getvalue().splitlines()[1].startswith("." * 400)


# -------------------------------------------------------------------------- colour


@pytest.mark.parametrize(
    "isatty, color, environ, expected",
    [
        (True, None, {}, True),
        (False, None, {}, False),
        (True, None, {"NO_COLOR": "1"}, False),
        (True, None, {"NO_COLOR": ""}, False),  # set at all means no colour
        (True, None, {"TERM": "dumb"}, False),
        (False, True, {"NO_COLOR": "1"}, True),  # an explicit --color=yes wins
        (True, False, {}, False),
    ],
)
def test_use_color(isatty, color, environ, expected):
    stream = FakeTTY() if isatty else io.StringIO()
    assert use_color(stream, color, environ) is expected


def test_colour_on_a_tty_and_none_with_no_color():
    coloured = run([passed(), failed()], stream=FakeTTY(), color=None, environ={})
    assert "\x1b[31mF\x1b[0m" in coloured and "\x1b[32m" in coloured
    plain = run([passed(), failed()], stream=FakeTTY(), color=None, environ={"NO_COLOR": "1"})
    assert "\x1b[" not in plain


def test_colour_does_not_change_the_layout():
    import re

    coloured = run(all_outcomes(), problems(), stream=FakeTTY(), color=True, environ={})
    plain = run(all_outcomes(), problems(), color=False)
    assert re.sub(r"\x1b\[[0-9;]*m", "", coloured) == plain


def test_slowest_lists_at_most_five():
    outcomes = [
        CaseOutcome(make_case("s", f"c{i}", ORDERS, i), Verdict.PASSED, elapsed_s=i / 10) for i in range(1, 9)
    ]
    out = run(outcomes)
    section = out.split("slowest 5 cases")[1].splitlines()[1:6]
    assert [line.split()[-1] for line in section] == ["s::c8", "s::c7", "s::c6", "s::c5", "s::c4"]


def eight_timed_cases():
    return [CaseOutcome(make_case("s", f"c{i}", ORDERS, i), Verdict.PASSED, elapsed_s=i / 10) for i in range(1, 9)]


def slowest_lines(out):
    section = out.split(" slowest ")[1].splitlines()
    return [line.split()[-1] for line in section[1:] if line.startswith(" ") and "::" in line]


@pytest.mark.parametrize("durations, expected", [
    (2, ["s::c8", "s::c7"]),
    (0, [f"s::c{i}" for i in range(8, 0, -1)]),  # 0: every case, as pytest's --durations=0
    (20, [f"s::c{i}" for i in range(8, 0, -1)]),
])
def test_durations_chooses_how_many(durations, expected):
    out = run(eight_timed_cases(), durations=durations)
    assert f"slowest {len(expected)} cases" in out
    assert slowest_lines(out) == expected
    assert "   0.80s s::c8" in out  # each with its time


def test_durations_shows_even_when_quiet_and_for_one_case():
    quiet = run(eight_timed_cases(), verbose=-1, durations=1)
    assert "slowest 1 case =" in quiet and slowest_lines(quiet) == ["s::c8"]
    assert "slowest" not in run(eight_timed_cases(), verbose=-1)
    assert "slowest 1 case" in run(eight_timed_cases()[:1], durations=0)


# ------------------------------------------------------------- with the real checker


def test_judged_unexpected_exception_reads_well():
    from scftest.check.judge import judge

    outcome = judge(raised().case, raised().record, elapsed_s=0.1)
    out = run([outcome])
    block = out.split("fire and forget ___")[1].split("--- captured log")[0]
    assert block.count("raise KeyError('id')") == 1  # the checker quoted it; not again
    assert block.count(outcome.summary) == 1  # the summary is the mismatch headline: once
    assert "suites/orders.yaml:26: FAILED" in block


def test_short_summary_lists_failures_and_errors_in_report_order():
    out = run(all_outcomes(), order=list(reversed(all_outcomes())))
    section = out.split("short summary")[1].splitlines()[1:-1]
    assert section == [
        "FAILED orders API::api gateway request - 2 expectations did not hold",
        "FAILED orders API::fire and forget - unexpected KeyError: 'id'",
        "ERROR orders API::slow path [Python2.7] - no interpreter for Python2.7",
        "XPASS users v1.2::订单 unicode - expected to fail (bug 13) but passed",
    ]
    assert "short summary" not in run([passed(), skipped()])


def test_cases_run_as_plain_processes_are_said_under_the_summary():
    from report_fixtures import make_record

    contained = passed()
    plain = CaseOutcome(contained.case, contained.verdict, record=make_record(isolation="process"))
    out = run([contained, plain])
    assert out.rstrip().splitlines()[-1] == (
        "isolation: process for 1 of 2 cases: not contained in an instance "
        "(scftest doctor says why)")
    assert "isolation:" not in run([contained])


def test_paths_inside_the_instance_are_mapped_back_to_the_code_root():
    from report_fixtures import make_record

    outcome = raised()
    log = 'Traceback (most recent call last):\n  File "/var/user/index.py", line 4, in main_handler\n'
    outcome = CaseOutcome(outcome.case, outcome.verdict, summary=outcome.summary,
                          record=make_record(log=log), mismatches=outcome.mismatches)
    out = run([outcome])
    assert "(/var/user/ is functions/orders/ : the code root as the function saw it)" in out
    plain = CaseOutcome(outcome.case, outcome.verdict, summary=outcome.summary,
                        record=make_record(log=log, isolation="process"), mismatches=outcome.mismatches)
    assert "the code root as the function saw it" not in run([plain])
