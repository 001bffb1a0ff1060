"""The runner's own CPU per trivial case outside the instance (issue 15), in this process.

    .venv/bin/python benchmarks/runner_cpu.py                    # this checkout
    .venv/bin/python benchmarks/runner_cpu.py --against ../old   # and another tree, same run

It writes bench.py's trivial suite (``write_suite``) at two sizes and measures, in CPU
milliseconds per case (time.process_time, this process: every thread):

- loading: ``load_paths`` of the suite, marginal ((big - small) / (big cases - small cases));
- running: the session's pool (``_Pool``, -j 1) with the terminal's progress, around
  ``run_case`` (prepare, judge, masking) against a backend that answers each case at once
  with a real record: one invocation of the handler, recorded at the start, whose returned
  value (and ret_msg) is made the one each case expects. What the instance costs (starting
  the process, reading its pipes) is left out: that is what ``bench.py`` measures whole;
- reports: the terminal's summary, the JSON and the JUnit report written at the end.

``--against TREE`` runs the same in a child process with the scftest package of TREE (a
checkout of an earlier commit), so both columns come from one run on one machine.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from against import figures_of  # noqa: E402  (--against: the same script on another checkout)
from bench import write_suite  # noqa: E402  (the same trivial suite as bench.py)

RUNTIME = "Python3.10"


def _cpu(work):
    started = time.process_time()
    value = work()
    return time.process_time() - started, value


def measure(interpreter: str, small: int, big: int, repeat: int) -> dict:
    from scftest import session
    from scftest.instance import Backend, Instance
    from scftest.instance.interpreters import RuntimeResolver
    from scftest.load.loader import load_paths
    from scftest.report import ReportSettings
    from scftest.report.reporters import create
    from scftest.result import RunPlan, RunResult

    with tempfile.TemporaryDirectory() as tmp:
        folders = {n: write_suite(Path(tmp) / f"s{n}", n, RUNTIME) for n in (small, big)}
        loading = []
        for _ in range(repeat):
            few, _ = _cpu(lambda: load_paths([folders[small]]))
            many, loaded = _cpu(lambda: load_paths([folders[big]]))
            loading.append((many - few) / (big - small) * 1000)
        cases = [case for suite in loaded.suites for case in suite.cases]
        options = session.RunOptions(paths=[], runtime_overrides={RUNTIME: interpreter})
        resolver = RuntimeResolver(dict(options.runtime_overrides), None)
        real = session.default_backend("auto")
        with real:  # one real invocation; every case gets its record with its own value
            spec, request = session.prepare(cases[0], resolver, dict(os.environ))
            with real.start(spec) as instance:
                record = instance.invoke(request)

        def answer(request):
            value = {"n": request.event["n"], "ok": True}
            return dataclasses.replace(record, return_value=value, ret_msg=json.dumps(value))

        class Answering(Backend):
            def start(self, spec, invocations=1):
                return Answered()

            def close(self):
                pass

        class Answered(Instance):
            def invoke(self, request, cancel=None):
                return answer(request)

            def close(self):
                pass

        running, reports = [], []
        for _ in range(repeat):
            stream = io.StringIO()
            reporters = [create("terminal", stream, ReportSettings()),
                         create("json", Path(tmp) / "report.json", ReportSettings()),
                         create("junit", Path(tmp) / "report.xml", ReportSettings())]
            for reporter in reporters:
                reporter.start(RunPlan(tuple(cases)))
            pool = session._Pool(cases, resolver, options, reporters[0], Answering())
            seconds, (outcomes, _interrupted) = _cpu(pool.run)
            bad = [o for o in outcomes if o.verdict.value != "passed"]
            if bad or len(outcomes) != len(cases):
                raise SystemExit(f"{len(bad)} of {len(outcomes)} cases did not pass: {bad[0].summary if bad else ''}")
            running.append(seconds / len(cases) * 1000)
            result = RunResult(suites=loaded.suites, outcomes=outcomes)
            seconds, _ = _cpu(lambda result=result, reporters=reporters: [r.finish(result) for r in reporters])
            reports.append(seconds / len(cases) * 1000)
    return {"loading": statistics.median(loading), "running": statistics.median(running),
            "reports": statistics.median(reports)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interpreter", default="/root/.pyenv/versions/3.10.13/bin/python",
                        help=f"the Python 3.10 the recorded invocation runs on (the suite's runtime is {RUNTIME})")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--big", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure, median kept")
    parser.add_argument("--against", help="another checkout whose scftest runs the same")
    parser.add_argument("--emit-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    figures = measure(args.interpreter, args.small, args.big, args.repeat)
    if args.emit_json:
        print(json.dumps(figures))
        return 0
    other = None
    if args.against:
        other = figures_of(args.against, __file__, [
            "--emit-json", "--interpreter", args.interpreter, "--small", str(args.small),
            "--big", str(args.big), "--repeat", str(args.repeat)])
    print(f"load average before: {load:.2f}; {args.small} and {args.big} cases; CPU ms per case, "
          f"median of {args.repeat}")
    for name, words in (("loading", "loading (marginal)"), ("running", f"running {args.big} cases"),
                        ("reports", "reports at the end")):
        line = f"{words:24s} {figures[name]:7.3f} ms"
        if other is not None:
            line += f"   {args.against}: {other[name]:7.3f} ms"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
