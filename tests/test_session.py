"""The session: its use of the instance seam (an instance per case, invoked once, always
closed) and its pool under Ctrl-C."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import List, Optional

import pytest
from conftest import INTERPRETERS, NEWEST_OFFERED, needs

from scftest import session

from scftest.check.outcome import Verdict
from scftest.cli import main
from scftest.instance import Backend, Instance, InstanceError, InstanceSpec, InvocationRequest
from scftest.instance.record import InvocationRecord
from scftest.instance.spawn import SpawnBackend
from scftest.model import UNSET
from scftest.result import EXIT_FAILED
from scftest.session import RunOptions, run

pytestmark = needs(NEWEST_OFFERED or "3.10")


class Recording(Backend):
    """The spawn backend, noting every call of the seam."""

    def __init__(self, fail_on: Optional[str] = None, cannot_start: Optional[str] = None):
        self.inner = SpawnBackend()
        self.calls: List[str] = []
        self.fail_on = fail_on  # a handler whose invoke raises (a backend's own fault)
        self.cannot_start = cannot_start  # a handler whose function cannot be run at all
        self.lock = threading.Lock()

    def note(self, call: str) -> None:
        with self.lock:
            self.calls.append(call)

    def start(self, spec: InstanceSpec) -> Instance:
        self.note(f"start {spec.handler}")
        return _RecordingInstance(self, self.inner.start(spec), spec)

    def close(self) -> None:
        self.note("close backend")


class _RecordingInstance(Instance):
    def __init__(self, backend: Recording, inner: Instance, spec: InstanceSpec):
        self.backend, self.inner, self.spec = backend, inner, spec

    def invoke(self, request: InvocationRequest,
               cancel: Optional[threading.Event] = None) -> InvocationRecord:
        self.backend.note(f"invoke {self.spec.handler}")
        if self.spec.handler == self.backend.fail_on:
            raise RuntimeError("the backend broke")
        if self.spec.handler == self.backend.cannot_start:
            raise InstanceError("cannot start the interpreter /x/python", "name another with --runtime")
        return self.inner.invoke(request, cancel)

    def close(self) -> None:
        self.backend.note(f"close {self.spec.handler}")
        self.inner.close()


def _suite(tmp_path: Path) -> Path:
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(textwrap.dedent("""\
        def one(event, context):
            return 1

        def two(event, context):
            return 2
    """))
    (tmp_path / "s.yaml").write_text(f"function: {{code: fn, handler: index.one, runtime: Python{NEWEST_OFFERED}}}\n"
                                     + textwrap.dedent("""\
        cases:
          - {name: first, expect: {return: 1}}
          - {name: second, handler: index.two, expect: {return: 2}}
          - {name: skipped, skip: not today}
    """))
    return tmp_path / "s.yaml"


def _options(path: Path, jobs: int = 1) -> RunOptions:
    runtime = f"Python{NEWEST_OFFERED}"
    return RunOptions(paths=[path], jobs=jobs, environ={},
                      runtime_overrides={runtime: INTERPRETERS[NEWEST_OFFERED][0]},
                      project_root=path.parent)


def test_each_case_gets_an_instance_invoked_once_and_closed(tmp_path):
    path = _suite(tmp_path)
    backend = Recording()
    result = run(_options(path), backend=backend)
    assert [o.verdict for o in result.outcomes] == [Verdict.PASSED, Verdict.PASSED, Verdict.SKIPPED]
    assert backend.calls == ["start index.one", "invoke index.one", "close index.one",
                             "start index.two", "invoke index.two", "close index.two",
                             "close backend"]


def test_an_instance_is_closed_when_invoke_raises(tmp_path):
    path = _suite(tmp_path)
    backend = Recording(fail_on="index.one")
    result = run(_options(path, jobs=2), backend=backend)
    first, second, _ = result.outcomes
    assert first.verdict is Verdict.ERROR and "the backend broke" in first.details
    assert second.verdict is Verdict.PASSED  # one broken case never stops the others
    assert "close index.one" in backend.calls and backend.calls[-1] == "close backend"


def test_a_function_that_cannot_be_started_is_an_error_of_its_case_not_of_scftest(tmp_path):
    path = _suite(tmp_path)
    backend = Recording(cannot_start="index.one")
    result = run(_options(path), backend=backend)
    first, second, _ = result.outcomes
    assert (first.verdict, first.internal) == (Verdict.ERROR, False)
    assert first.summary == "cannot start the interpreter /x/python"
    assert first.details == f"{first.case.file}:{first.case.line}: name another with --runtime"
    assert second.verdict is Verdict.PASSED
    assert "close index.one" in backend.calls
    assert result.exit_code == EXIT_FAILED  # not 3: scftest itself did nothing wrong


INTERRUPTS = """\
import faulthandler, os, random, signal, sys, threading, time
from scftest import session

class Case:
    skip = None

def busy_case(case, resolver, environ, backend, cancel, *more, **options):
    deadline = time.monotonic() + 0.001
    while time.monotonic() < deadline and not cancel.is_set():
        sum(range(200))  # holds the GIL, as a worker reading its pipes does
    return object()

def interrupt(signum, frame):  # what the CLI makes SIGTERM and SIGHUP do
    raise KeyboardInterrupt(signum)

signal.signal(signal.SIGTERM, interrupt)
session.run_case = busy_case
for attempt in range(int(sys.argv[1])):
    pool = session._Pool([Case()] * 100, None, session.RunOptions(paths=[], jobs=2), None, None)
    stop = random.choice((signal.SIGINT, signal.SIGTERM))
    timer = threading.Timer(random.uniform(0, 0.05), os.kill, (os.getpid(), stop))
    faulthandler.dump_traceback_later(20, exit=True)  # a hung pool: every thread's stack, exit 1
    try:
        timer.start()
        outcomes, interrupted = pool.run()
        assert interrupted or len(outcomes) == 100, (attempt, len(outcomes))
        timer.join()
    except KeyboardInterrupt:
        pass  # it came before the pool started or after it ended: Python's own handler
    timer.join()
    faulthandler.cancel_dump_traceback_later()
print("ok")
"""


def test_ctrl_c_at_any_moment_never_hangs_the_pool(tmp_path):
    # A real SIGINT or SIGTERM (as the CLI handles it), sent at a random moment of a pool whose cases keep finishing. When the
    # pool took Ctrl-C as a KeyboardInterrupt, raised wherever the main thread happened to
    # be (inside concurrent.futures.wait, holding a future's or a waiter's lock), a worker
    # then blocked on that lock for ever and so did the pool's shutdown: about one attempt
    # in 500 here, so this test caught it in about half of its runs.
    script = tmp_path / "interrupts.py"
    script.write_text(INTERRUPTS)
    done = subprocess.run([sys.executable, str(script), "250"], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stdout + done.stderr


def test_a_compact_run_keeps_whole_only_the_outcomes_its_summary_shows_whole(tmp_path):
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text(textwrap.dedent("""\
        def main(event, context):
            print("said by case", event["n"])
            return event["n"]
    """))
    (tmp_path / "s.yaml").write_text(f"function: {{code: fn, handler: index.main, runtime: Python{NEWEST_OFFERED}}}\n"
                                     + textwrap.dedent("""\
        cases:
          - {name: one, event: {n: 1}, expect: {return: 1}}
          - {name: two, event: {n: 2}, expect: {return: 2}}
          - {name: wrong, event: {n: 3}, expect: {return: 4}}
          - {name: known, event: {n: 5}, xfail: a known bug, expect: {return: 6}}
          - {name: later, skip: not today}
    """))
    options = _options(tmp_path / "s.yaml")
    told = []

    class Told:
        def start(self, plan):
            pass

        def case_finished(self, outcome):
            told.append(outcome)

    whole = run(options).outcomes
    compact = run(dataclasses.replace(options, compact=True), Told()).outcomes
    assert [o.verdict for o in compact] == [o.verdict for o in whole] == [
        Verdict.PASSED, Verdict.PASSED, Verdict.FAILED, Verdict.XFAILED, Verdict.SKIPPED]
    assert all(o.record.log for o in told if o.record is not None)  # the reporters saw them whole
    one, two, wrong, known, later = compact
    # No log, value or request id kept for the cases the summary only counts; one shared
    # outline of how they ran, which still says it.
    assert one.compact and one.record.log == "" and one.record.return_value is UNSET and not one.record.request_id
    assert two.record is one.record is known.record
    assert (one.record.isolation, one.record.interpreter) == (whole[0].record.isolation, whole[0].record.interpreter)
    assert one.elapsed_s > 0 and one.case is told[0].case
    assert known.mismatches == () and whole[3].mismatches
    assert later.compact and later.summary == "not today" and later.record is None
    # A failure is kept whole: the failures section shows its log and mismatch.
    assert not wrong.compact and "said by case 3" in wrong.record.log and wrong.mismatches


@pytest.mark.parametrize("report, compact", [((), True), (("--json", "r.json"), True), (("--junit-xml", "r.xml"), False),
                                             (("--json", "r.json", "--junit-xml", "r.xml"), False)])
def test_the_cli_keeps_compact_outcomes_unless_a_report_reads_them_at_the_end(tmp_path, monkeypatch, report, compact):
    path = _suite(tmp_path)
    kept = []

    def watched(options, reporter=None, backend=None):
        result = run(options, reporter, backend)
        kept.extend(result.outcomes)
        return result

    monkeypatch.setattr(session, "run", watched)
    monkeypatch.chdir(tmp_path)
    runtime = f"Python{NEWEST_OFFERED}"
    code = main(["run", str(path), "-q", "--runtime", f"{runtime}={INTERPRETERS[NEWEST_OFFERED][0]}", *report])
    assert code == 0 and [o.verdict for o in kept] == [Verdict.PASSED, Verdict.PASSED, Verdict.SKIPPED]
    assert all(o.compact is compact for o in kept)
    assert all(bool(o.record.request_id) is not compact for o in kept[:2])
    if "--json" in report:  # written as each case ended (streamed): whole all the same
        cases = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))["cases"]
        assert [c["verdict"] for c in cases] == ["passed", "passed", "skipped"]
        assert all(c["record"]["request_id"] and c["record"]["log"] is not None for c in cases[:2])
