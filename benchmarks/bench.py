#!/usr/bin/env python3
"""scftest's speed, measured in one run on this machine, as ratios.

    .venv/bin/python benchmarks/bench.py            # about ten minutes on 2 cores
    .venv/bin/python benchmarks/bench.py --quick    # smaller suites, a rough look

It writes trivial suites into a temporary folder and drives the real CLI
(``python -m scftest run DIR -j N -q``), then prints:

(a) scftest's time per trivial case at -j 1 against ``python -I -c pass`` on the same
    interpreter. The per-case time is marginal: (time for N+M cases - time for M cases)
    / N, so the runner's own start-up and suite loading are not spread over the cases.
    Target: at most 2x.
(b) -j 1 against -j 2 on the same suite. Target: at least 1.7x faster on 2 cores.
(c) a 1,000-case suite's total time, and the runner's peak memory (ru_maxrss of the
    runner process itself, children excluded) at 100 and at 1,000 cases. Target: flat
    (the 1,000-case peak within 1.25x of the 100-case peak).
(d) the instance's own cost: the marginal time per case as in (a), and the CPU per case
    (runner and case processes), each contained in an instance (namespaces, the default
    where the machine allows it) and as a plain process (``--isolation process``),
    measured in turns in the same run. Target: the instance adds at most 5 ms.

Wall times are medians over --repeat runs. Nothing here is a pass/fail test: the
figures depend on the machine; the ratios are what to compare.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from scftest.instance.interpreters import RuntimeNotFound, RuntimeResolver
from scftest.scf.profiles import offered

REPO = Path(__file__).resolve().parent.parent

HANDLER = '''\
def main_handler(event, context):
    return {"n": event["n"], "ok": True}
'''

# Runs scftest's CLI (the same main() as `python -m scftest`) and records this process's
# own peak RSS and CPU time, and its children's CPU time, so the runner's figures are
# kept apart from those of the handler processes it starts.
RESOURCE_WRAPPER = '''\
import json, resource, sys
from scftest.cli import main
out, argv = sys.argv[1], sys.argv[2:]
try:
    code = main(argv)
finally:
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(out, "w") as f:
        json.dump({"maxrss": me.ru_maxrss, "cpu_s": me.ru_utime + me.ru_stime,
                   "children_cpu_s": kids.ru_utime + kids.ru_stime}, f)
sys.exit(code)
'''

TARGET_START_RATIO = 2.0
TARGET_SPEEDUP = 1.7
TARGET_MEMORY_RATIO = 1.25
TARGET_INSTANCE_MS = 5.0
TARGET_FORK_RATIO = 0.5  # issue 15: per case at most half a bare start, on 3.6 and 3.10
TARGET_FORK_SPEEDUP = 1.8
TARGET_SCALE_CPU = 1.2  # 10,000 cases against 1,000: runner CPU per case
TARGET_SCALE_MEMORY = 1.3  # and runner peak memory
FORK_RUNTIMES = ("Python3.6", "Python3.10")
FRESH = ("--fresh",)
PLAIN = ("--isolation", "process")


# ------------------------------------------------------------------------- fixtures


def runtime_name(interpreter: str) -> str:
    """The SCF runtime spelling for an interpreter: Python3.11 for a 3.11 binary."""
    out = subprocess.run(
        [interpreter, "-I", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        check=True, capture_output=True, text=True,
    )
    return "Python" + out.stdout.strip()


def write_suite(folder: Path, cases: int, runtime: str) -> Path:
    """A folder holding one suite file of ``cases`` trivial cases and their function."""
    folder.mkdir(parents=True, exist_ok=True)
    code = folder / "fn"
    code.mkdir(exist_ok=True)
    (code / "index.py").write_text(HANDLER, encoding="utf-8")
    lines = [
        "name: bench",
        "function:",
        "  code: fn",
        "  handler: index.main_handler",
        f"  runtime: {runtime}",
        "cases:",
    ]
    for i in range(cases):
        lines += [
            f"  - name: case {i}",
            f"    event: {{n: {i}}}",
            "    expect:",
            f"      return: {{n: {i}, ok: true}}",
        ]
    (folder / "bench.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


# --------------------------------------------------------------------------- running


class Runner:
    """Runs the CLI the same way every time: same interpreter, environment and flags."""

    def __init__(self, python: str, interpreter: str, runtime: str, workdir: Path) -> None:
        self.python = python
        self.runtime_flag = f"{runtime}={interpreter}"
        self.workdir = workdir
        self.env = dict(os.environ)
        # Run the checkout's scftest whether or not it is installed in this venv.
        self.env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), self.env.get("PYTHONPATH")]))
        self.env["NO_COLOR"] = "1"

    def args(self, suite: Path, jobs: int, extra: Sequence[str] = ()) -> List[str]:
        return ["run", str(suite), "-j", str(jobs), "-q", "--runtime", self.runtime_flag, *extra]

    def timed(self, suite: Path, jobs: int, extra: Sequence[str] = ()) -> float:
        """Wall seconds of one ``python -m scftest run`` (which must pass every case)."""
        command = [self.python, "-m", "scftest", *self.args(suite, jobs, extra)]
        started = time.perf_counter()
        done = subprocess.run(command, cwd=self.workdir, env=self.env, capture_output=True, text=True)
        elapsed = time.perf_counter() - started
        self._check(done, command)
        return elapsed

    def resources(self, cli_args: Sequence[str]) -> Dict[str, float]:
        """Peak RSS (MB) and CPU seconds of the runner process, and its children's CPU;
        with a CPU cgroup (see CpuCgroup), also ``tree_cpu_s``: every process of the run."""
        out = self.workdir / "resources.json"
        command = [self.python, "-c", RESOURCE_WRAPPER, str(out), *cli_args]
        with CpuCgroup.make() as cgroup:
            done = subprocess.run(command, cwd=self.workdir, env=self.env, capture_output=True,
                                  text=True, preexec_fn=cgroup.enter if cgroup.folder else None)
            tree_cpu_s = cgroup.usage_s()
        self._check(done, command)
        figures = json.loads(out.read_text())
        if tree_cpu_s is not None:
            figures["tree_cpu_s"] = tree_cpu_s
        # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
        figures["rss_mb"] = figures["maxrss"] / (1024 * 1024 if sys.platform == "darwin" else 1024)
        return figures

    def peak_rss_mb(self, suite: Path, jobs: int) -> float:
        """The runner process's own peak resident memory during a run, in MB."""
        return self.resources(self.args(suite, jobs))["rss_mb"]

    def load_rss_mb(self, suite: Path) -> float:
        """Peak memory of loading the suite alone (`scftest validate`), in MB."""
        return self.resources(["validate", str(suite)])["rss_mb"]

    def first_record(self, suite: Path) -> dict:
        """The first case's invocation record, from a JSON report."""
        report = self.workdir / "check.json"
        command = [self.python, "-m", "scftest", *self.args(suite, 1, ["--json", str(report)])]
        done = subprocess.run(command, cwd=self.workdir, env=self.env, capture_output=True, text=True)
        self._check(done, command)
        cases = json.loads(report.read_text(encoding="utf-8"))["cases"]
        records = [c["record"] for c in cases if c.get("record")]
        return records[0] if records else {}

    def cpu_ms_per_case(self, suite: Path, cases: int, extra: Sequence[str] = ()) -> float:
        """CPU of the whole run (runner and case processes) per case, in ms."""
        return total_cpu_s(self.resources(self.args(suite, 1, extra))) / cases * 1000

    @staticmethod
    def _check(done: subprocess.CompletedProcess, command: Sequence[str]) -> None:
        if done.returncode != 0:
            sys.exit(
                f"bench: scftest exited {done.returncode}; the benchmark needs every case to pass.\n"
                f"command: {' '.join(command)}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
            )


def total_cpu_s(figures: Dict[str, float]) -> float:
    """The run's CPU: from its CPU cgroup where there is one, else the runner's and its
    reaped children's (which misses an instance's init and function process: they are
    not the runner's children, and their CPU never reaches its rusage)."""
    return figures.get("tree_cpu_s", figures["cpu_s"] + figures["children_cpu_s"])


class CpuCgroup:
    """A cgroup v1 cpuacct group of the bench's own for one run (as root, where the
    controller is mounted): it counts the CPU of every process the run starts, whoever
    reaps them. ``folder`` is None where none can be made."""

    def __init__(self, folder: Optional[Path]) -> None:
        self.folder = folder

    @classmethod
    def make(cls) -> "CpuCgroup":
        base = _cpuacct_base()
        if base is None:
            return cls(None)
        folder = base / f"scftest-bench-{os.getpid()}-{time.monotonic_ns()}"
        try:
            folder.mkdir()
        except OSError:
            return cls(None)
        return cls(folder)

    def enter(self) -> None:  # in the child, before exec
        (self.folder / "cgroup.procs").write_text("0")

    def usage_s(self) -> Optional[float]:
        if self.folder is None:
            return None
        return int((self.folder / "cpuacct.usage").read_text()) / 1e9

    def __enter__(self) -> "CpuCgroup":
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.folder is not None:
            for _ in range(200):  # the run's last processes may still be exiting
                try:
                    self.folder.rmdir()
                    return
                except FileNotFoundError:
                    return
                except OSError:
                    time.sleep(0.01)


def _cpuacct_base() -> Optional[Path]:
    """This process's cpuacct cgroup folder (cgroup v1), if one can be written there."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    relative = next((line.split(":", 2)[2] for line in own
                     if "cpuacct" in line.split(":", 2)[1].split(",")), None)
    for line in mounts:
        left, _, right = line.partition(" - ")
        fields, tail = left.split(), right.split()
        if relative is not None and len(tail) >= 3 and tail[0] == "cgroup" and "cpuacct" in tail[2].split(","):
            folder = Path(fields[4] + relative)
            return folder if os.access(folder, os.W_OK) else None
    return None


def compile_checkout() -> bool:
    """Compiles the checkout's scftest modules to bytecode for this interpreter, as pip
    does when it installs scftest. Without it, where PYTHONDONTWRITEBYTECODE is set (as on
    this project's machines) every run compiled all of them again at start-up: about
    0.2 s of the runner's CPU here, a cost no installed scftest pays. False if one failed."""
    return bool(compileall.compile_dir(str(REPO / "scftest"), quiet=1))


def median_of(repeat: int, measure) -> float:
    return statistics.median(measure() for _ in range(repeat))


def bare_start(interpreter: str, runs: int) -> float:
    """Mean wall seconds of ``interpreter -I -c pass``."""
    subprocess.run([interpreter, "-I", "-c", "pass"], check=True)  # warm the file cache
    started = time.perf_counter()
    for _ in range(runs):
        subprocess.run([interpreter, "-I", "-c", "pass"], check=True)
    return (time.perf_counter() - started) / runs


def cpu_count() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


# ---------------------------------------------------------------------------- report


def verdict(ok: bool) -> str:
    return "meets the target" if ok else "MISSES the target"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--interpreter", help="the Python the cases run on, of a runtime SCF offers "
                        "(default: this Python's base interpreter, or the newest offered runtime's)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure; the median is kept (default 3)")
    parser.add_argument("--quick", action="store_true", help="smaller suites: a rough look, not figures to publish")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON")
    parser.add_argument("--only", metavar="SECTIONS", type=_sections, default=SECTIONS,
                        help="the sections to run, e.g. --only e,f (default: all of " + ",".join(SECTIONS) + ")")
    options = parser.parse_args(argv)
    want = set(options.only)

    interpreter = options.interpreter or _default_interpreter()
    runtime = runtime_name(interpreter)
    if runtime not in offered():
        parser.error(f"{interpreter} is {runtime}, not a runtime SCF offers ({', '.join(offered())}): "
                     f"name one of those with --interpreter")
    small, extra = (5, 40) if options.quick else (10, 100)  # (a): M and N
    parallel = 60 if options.quick else 200  # (b)
    big, memory_small = (300, 30) if options.quick else (1000, 100)  # (c)

    if not compile_checkout():
        sys.exit(f"bench: {REPO / 'scftest'} does not compile")
    with tempfile.TemporaryDirectory(prefix="scftest-bench-") as tmp:
        root = Path(tmp)
        runner = Runner(sys.executable, interpreter, runtime, root)
        suites: Dict[int, Path] = {
            n: write_suite(root / f"cases-{n}", n, runtime) for n in sorted({small, small + extra, parallel, big, memory_small})
        }
        first = runner.first_record(suites[small])
        used, isolation = first.get("interpreter"), first.get("isolation", "process")
        print(f"scftest benchmark: {platform.system()} {platform.machine()}, {cpu_count()} CPU(s) available")
        if hasattr(os, "getloadavg"):
            load = os.getloadavg()[0]
            busy = "  (other work is running: timings will be noisy)" if load > 0.5 else ""
            print(f"load average before the run: {load:.2f}{busy}")
        print(f"cases run on {used or interpreter} ({runtime}); runner: {sys.executable}, "
              f"its modules compiled to bytecode first, as an install has them")
        print(f"isolation: {isolation} (scftest doctor says why)")
        print()

        per_case = bare = start_ratio = t_j1 = t_j2 = speedup = None
        runner_cpu_ms = child_cpu_ms = t_big = rss_small = rss_big = load_small = load_big = None
        memory_ratio = instance = forks = scale = None
        if "a" in want:
            per_case, bare, start_ratio = section_a(runner, suites, small, extra, used or interpreter, options)
        if "b" in want:
            t_j1, t_j2, speedup, runner_cpu_ms, child_cpu_ms = section_b(runner, suites[parallel], parallel, options)
        if "c" in want:
            t_big, rss_small, rss_big, load_small, load_big, memory_ratio = section_c(
                runner, suites, big, memory_small, options)
        if "d" in want:
            instance = section_d(runner, suites, small, extra, isolation, options)
        if "e" in want:
            print()
            forks = fork_server_section(root, options)
        if "f" in want:
            print()
            scale = scale_section(root, runner, runtime, options)

    figures = {
        "fork_server": forks,
        "scale": scale,
        "machine": {"system": platform.system(), "machine": platform.machine(), "cpus": cpu_count()},
        "interpreter": used or interpreter,
        "per_case_ms": per_case * 1000 if per_case is not None else None,
        "bare_start_ms": bare * 1000 if bare is not None else None,
        "start_ratio": start_ratio,
        "j1_s": t_j1,
        "j2_s": t_j2,
        "speedup_j2": speedup,
        "big_cases": big,
        "big_total_s": t_big,
        "rss_mb": {str(memory_small): rss_small, str(big): rss_big},
        "memory_ratio": memory_ratio,
        "load_rss_mb": {str(memory_small): load_small, str(big): load_big},
        "runner_cpu_ms_per_case": runner_cpu_ms,
        "handler_cpu_ms_per_case": child_cpu_ms,
        "quick": options.quick,
        "isolation": isolation,
        "instance": instance,
        "sections": sorted(want),
    }
    if options.json:
        Path(options.json).write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")
    return 0


SECTIONS = ("a", "b", "c", "d", "e", "f")


def _sections(text: str) -> Tuple[str, ...]:
    chosen = tuple(part.strip().lower() for part in text.split(",") if part.strip())
    unknown = [part for part in chosen if part not in SECTIONS]
    if unknown or not chosen:
        raise argparse.ArgumentTypeError(f"sections are {', '.join(SECTIONS)} (got {text!r})")
    return chosen


def section_a(runner, suites, small, extra, interpreter, options):
    """(a) per-case cost at -j 1 against a bare interpreter start."""
    bare = bare_start(interpreter, runs=20 if options.quick else 50)
    t_small = median_of(options.repeat, lambda: runner.timed(suites[small], 1))
    t_large = median_of(options.repeat, lambda: runner.timed(suites[small + extra], 1))
    per_case = (t_large - t_small) / extra
    start_ratio = per_case / bare
    print(f"(a) per trivial case at -j 1: {per_case * 1000:.1f} ms (marginal, {small} vs {small + extra} cases)")
    print(f"    bare `{Path(interpreter).name} -I -c pass`: {bare * 1000:.1f} ms")
    print(f"    ratio {start_ratio:.2f}x (target <= {TARGET_START_RATIO:g}x): {verdict(start_ratio <= TARGET_START_RATIO)}")
    print()
    return per_case, bare, start_ratio


def section_b(runner, suite, parallel, options):
    """(b) -j 1 against -j 2."""
    t_j1 = median_of(options.repeat, lambda: runner.timed(suite, 1))
    t_j2 = median_of(options.repeat, lambda: runner.timed(suite, 2))
    speedup = t_j1 / t_j2
    cpu = runner.resources(runner.args(suite, 1))
    runner_cpu_ms = cpu["cpu_s"] / parallel * 1000
    child_cpu_ms = (total_cpu_s(cpu) - cpu["cpu_s"]) / parallel * 1000
    cores_note = "" if cpu_count() >= 2 else " (only 1 CPU here: the target assumes 2)"
    print(f"(b) {parallel} cases: -j 1 {t_j1:.2f} s, -j 2 {t_j2:.2f} s")
    print(f"    speed-up {speedup:.2f}x (target >= {TARGET_SPEEDUP:g}x on 2 cores): "
          f"{verdict(speedup >= TARGET_SPEEDUP)}{cores_note}")
    print(f"    CPU per case: runner {runner_cpu_ms:.1f} ms, handler process {child_cpu_ms:.1f} ms "
          f"(ideal -j 2 speed-up on 2 idle cores: {_ideal_speedup(runner_cpu_ms, child_cpu_ms):.2f}x)")
    print()
    return t_j1, t_j2, speedup, runner_cpu_ms, child_cpu_ms


def section_c(runner, suites, big, memory_small, options):
    """(c) a big suite: total time, and the runner's memory as the suite grows."""
    jobs = min(2, cpu_count())
    t_big = runner.timed(suites[big], jobs)
    rss_small = median_of(options.repeat, lambda: runner.peak_rss_mb(suites[memory_small], jobs))
    rss_big = median_of(options.repeat, lambda: runner.peak_rss_mb(suites[big], jobs))
    load_small = median_of(options.repeat, lambda: runner.load_rss_mb(suites[memory_small]))
    load_big = median_of(options.repeat, lambda: runner.load_rss_mb(suites[big]))
    memory_ratio = rss_big / rss_small
    print(f"(c) {big} cases at -j {jobs}: {t_big:.2f} s total, {t_big / big * 1000:.1f} ms per case")
    print(f"    runner peak RSS: {rss_small:.1f} MB at {memory_small} cases, {rss_big:.1f} MB at {big} cases")
    print(f"    ratio {memory_ratio:.2f}x (target: flat, <= {TARGET_MEMORY_RATIO:g}x): "
          f"{verdict(memory_ratio <= TARGET_MEMORY_RATIO)}")
    print(f"    of which loading the suite alone (scftest validate): {load_small:.1f} MB at {memory_small}, "
          f"{load_big:.1f} MB at {big} cases")
    print(f"    running on top of loading: {rss_small - load_small:+.1f} MB at {memory_small}, "
          f"{rss_big - load_big:+.1f} MB at {big} cases")

    return t_big, rss_small, rss_big, load_small, load_big, memory_ratio


def section_d(runner, suites, small, extra, isolation, options):
    """(d) the instance's own cost: contained against plain, in turns."""
    instance = None
    if isolation == "namespace":
        contained, plain = [], []
        for _ in range(options.repeat):  # in turns: the machine's load drifts alike
            contained.append((runner.timed(suites[small + extra], 1) - runner.timed(suites[small], 1)) / extra)
            plain.append((runner.timed(suites[small + extra], 1, PLAIN)
                          - runner.timed(suites[small], 1, PLAIN)) / extra)
        t_contained, t_plain = statistics.median(contained), statistics.median(plain)
        cpu_contained = median_of(options.repeat, lambda: runner.cpu_ms_per_case(suites[small + extra], small + extra))
        cpu_plain = median_of(options.repeat, lambda: runner.cpu_ms_per_case(suites[small + extra], small + extra, PLAIN))
        added = (t_contained - t_plain) * 1000
        instance = {"contained_ms": t_contained * 1000, "plain_ms": t_plain * 1000, "added_ms": added,
                    "ratio": t_contained / t_plain, "cpu_contained_ms": cpu_contained,
                    "cpu_plain_ms": cpu_plain}
        print()
        print(f"(d) per trivial case at -j 1: {t_contained * 1000:.1f} ms in an instance, "
              f"{t_plain * 1000:.1f} ms as a plain process: {added:+.1f} ms, "
              f"ratio {t_contained / t_plain:.2f}x")
        print(f"    CPU per case (runner + case): {cpu_contained:.1f} ms in an instance, "
              f"{cpu_plain:.1f} ms plain: {cpu_contained - cpu_plain:+.1f} ms")
        print(f"    target: the instance adds <= {TARGET_INSTANCE_MS:g} ms: "
              f"{verdict(added <= TARGET_INSTANCE_MS)}")
    else:
        print()
        print("(d) skipped: the cases ran as plain processes (no namespaces here)")

    return instance


def marginal(runner: Runner, small: Path, large: Path, extra: int, repeat: int,
             flags: Sequence[str] = ()) -> float:
    """Seconds per case: (T(large) - T(small)) / extra, each the median of ``repeat`` runs."""
    t_small = median_of(repeat, partial(runner.timed, small, 1, flags))
    t_large = median_of(repeat, partial(runner.timed, large, 1, flags))
    return (t_large - t_small) / extra


def fork_server_section(root: Path, options) -> Dict[str, dict]:
    """(e) the fork-server against the spawn path (--fresh), per runtime: the time per
    trivial case at -j 1 against a bare start, and the -j 2 speed-up."""
    small, extra = (5, 40) if options.quick else (10, 100)
    parallel = 60 if options.quick else 200
    resolver = RuntimeResolver({}, None)
    rows: Dict[str, dict] = {}
    for runtime in FORK_RUNTIMES:
        try:
            interpreter = resolver.resolve(runtime).path
        except RuntimeNotFound:
            print(f"(e) {runtime}: no interpreter here, skipped")
            continue
        runner = Runner(sys.executable, interpreter, runtime, root)
        suites = {n: write_suite(root / f"fork-{runtime}-{n}", n, runtime)
                  for n in (small, small + extra, parallel)}
        bare = bare_start(interpreter, runs=20 if options.quick else 50)
        row = {"bare_ms": bare * 1000}
        for path, flags in (("fork", ()), ("spawn", FRESH)):
            per_case = marginal(runner, suites[small], suites[small + extra], extra, options.repeat, flags)
            t_j1 = median_of(options.repeat, partial(runner.timed, suites[parallel], 1, flags))
            t_j2 = median_of(options.repeat, partial(runner.timed, suites[parallel], 2, flags))
            row[path] = {"per_case_ms": per_case * 1000, "ratio": per_case / bare,
                         "j1_s": t_j1, "j2_s": t_j2, "speedup_j2": t_j1 / t_j2}
        rows[runtime] = row
        fork, spawn = row["fork"], row["spawn"]
        print(f"(e) {runtime} ({interpreter}), bare start {bare * 1000:.1f} ms")
        for path in ("fork", "spawn"):
            r = row[path]
            print(f"    {path:5}: per case at -j 1 {r['per_case_ms']:.1f} ms = {r['ratio']:.2f}x a bare start; "
                  f"{parallel} cases -j 1 {r['j1_s']:.2f} s, -j 2 {r['j2_s']:.2f} s: {r['speedup_j2']:.2f}x")
        print(f"    target per case <= {TARGET_FORK_RATIO:g}x: {verdict(fork['ratio'] <= TARGET_FORK_RATIO)}; "
              f"-j 2 >= {TARGET_FORK_SPEEDUP:g}x: {verdict(fork['speedup_j2'] >= TARGET_FORK_SPEEDUP)}; "
              f"the fork-server is {spawn['per_case_ms'] / fork['per_case_ms']:.1f}x faster per case")
    return rows


def scale_section(root: Path, runner: Runner, runtime: str, options) -> dict:
    """(f) 10,000 cases against 1,000 at -j 2: the runner's own CPU per case and its peak
    memory (its own process: ru_maxrss and rusage, children excluded). Each figure is the
    median of --repeat runs, as in the other sections (one run a size was noise)."""
    few, many = (300, 3000) if options.quick else (1000, 10000)
    jobs = min(2, cpu_count())
    figures = {}
    for n in (few, many):
        suite = write_suite(root / f"scale-{n}", n, runtime)
        runs = [runner.resources(runner.args(suite, jobs)) for _ in range(options.repeat)]
        loads = [runner.resources(["validate", str(suite)]) for _ in range(options.repeat)]
        figures[n] = {
            "runner_cpu_ms_per_case": statistics.median(r["cpu_s"] for r in runs) / n * 1000,
            "rss_mb": statistics.median(r["rss_mb"] for r in runs),
            "load_rss_mb": statistics.median(r["rss_mb"] for r in loads),
            "load_cpu_ms_per_case": statistics.median(r["cpu_s"] for r in loads) / n * 1000,
            "runs": len(runs),
        }
    cpu_ratio = figures[many]["runner_cpu_ms_per_case"] / figures[few]["runner_cpu_ms_per_case"]
    memory_ratio = figures[many]["rss_mb"] / figures[few]["rss_mb"]
    print(f"(f) {many} cases against {few} at -j {jobs} ({runtime}), medians of {options.repeat} runs: "
          f"runner CPU per case "
          f"{figures[few]['runner_cpu_ms_per_case']:.2f} -> {figures[many]['runner_cpu_ms_per_case']:.2f} ms "
          f"= {cpu_ratio:.2f}x (target <= {TARGET_SCALE_CPU:g}x: {verdict(cpu_ratio <= TARGET_SCALE_CPU)})")
    print(f"    runner peak RSS {figures[few]['rss_mb']:.1f} -> {figures[many]['rss_mb']:.1f} MB = {memory_ratio:.2f}x "
          f"(target <= {TARGET_SCALE_MEMORY:g}x: {verdict(memory_ratio <= TARGET_SCALE_MEMORY)})")
    for n in (few, many):
        f = figures[n]
        print(f"    {n} cases: loading alone (scftest validate) {f['load_rss_mb']:.1f} MB and "
              f"{f['load_cpu_ms_per_case']:.2f} ms CPU per case; running adds {f['rss_mb'] - f['load_rss_mb']:+.1f} MB")
    return {"few": few, "many": many, "figures": {str(k): v for k, v in figures.items()},
            "cpu_ratio": cpu_ratio, "memory_ratio": memory_ratio}


def _ideal_speedup(runner_ms: float, child_ms: float) -> float:
    """-j 2 on two idle cores: all CPU work shared by both cores, but the runner's own
    work (one process, one core at a time) cannot go faster than itself."""
    total = runner_ms + child_ms
    return total / max(total / 2, runner_ms)


def _default_interpreter() -> str:
    """This Python's base interpreter when SCF offers its version, else the newest offered
    runtime's interpreter as scftest finds it (suites may name only those)."""
    base = _base_interpreter()
    if runtime_name(base) in offered():
        return base
    resolver = RuntimeResolver({}, None)
    for runtime in reversed(offered()):
        try:
            return resolver.resolve(runtime).path
        except RuntimeNotFound:
            continue
    return base


def _base_interpreter() -> str:
    """The real interpreter behind this (maybe virtual-env) Python: what users' cases use."""
    version = "python%d.%d" % sys.version_info[:2]
    base = Path(getattr(sys, "_base_executable", "") or sys.executable)
    for candidate in (base, Path(sys.base_prefix) / "bin" / version, shutil.which(version)):
        if candidate and Path(candidate).exists():
            return str(Path(candidate).resolve())
    return sys.executable


if __name__ == "__main__":
    raise SystemExit(main())
