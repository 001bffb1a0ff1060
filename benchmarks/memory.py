#!/usr/bin/env python3
"""The runner's peak memory alone, at two suite sizes: figure (f)'s memory half, quickly.

    .venv/bin/python benchmarks/memory.py                       # validate, 1,000 and 10,000 cases
    .venv/bin/python benchmarks/memory.py --run --sizes 1000     # and `run -j 2 -q`
    .venv/bin/python benchmarks/memory.py --run --sizes 100 1000 10000   # (c) and (f) at once

Peak RSS is memory, not time: a machine busy with other work changes it little, so this
can be measured while others run (bench.py's timings cannot). Each figure is the median
of --repeat runs of the CLI in a wrapper that reads ``ru_maxrss`` of the runner process
itself (bench.py's RESOURCE_WRAPPER, its suites: bench.py's write_suite). The checkout's
modules are compiled to bytecode first, as bench.py does: a runner that compiles scftest at
its start (PYTHONDONTWRITEBYTECODE, no bytecode yet) peaks about 11 MB higher, which shrinks
the ratio of two sizes without anything per case changing.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import List, Optional, Sequence

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench import REPO, Runner, _default_interpreter, compile_checkout, runtime_name, write_suite  # noqa: E402


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000], help="cases per suite")
    parser.add_argument("--repeat", type=int, default=3, help="runs per figure (the median is shown)")
    parser.add_argument("--run", action="store_true", help="also `run -j 2 -q` (runs every case)")
    options = parser.parse_args(argv)
    if not compile_checkout():
        sys.exit(f"memory: {REPO / 'scftest'} does not compile")
    interpreter = _default_interpreter()
    runtime = runtime_name(interpreter)
    with tempfile.TemporaryDirectory(prefix="scftest-memory-") as folder:
        runner = Runner(sys.executable, interpreter, runtime, Path(folder))
        figures = {}
        for n in options.sizes:
            suite = write_suite(Path(folder) / f"cases-{n}", n, runtime)
            load = [runner.load_rss_mb(suite) for _ in range(options.repeat)]
            run = [runner.peak_rss_mb(suite, 2) for _ in range(options.repeat)] if options.run else []
            figures[n] = (load, run)
            print(f"{n} cases: validate {_shown(load)}" + (f"; run -j 2 {_shown(run)}" if run else ""), flush=True)
        sizes = sorted(figures)
        for few, many in zip(sizes, sizes[1:]):  # each size against the next smaller: (c) and (f)
            for index, what in enumerate(("validate", "run -j 2")):
                if figures[few][index]:
                    ratio = statistics.median(figures[many][index]) / statistics.median(figures[few][index])
                    print(f"{what}: {many} cases / {few} cases = {ratio:.2f}x")
    return 0


def _shown(values: List[float]) -> str:
    return f"{statistics.median(values):.1f} MB (runs: {', '.join(f'{v:.1f}' for v in values)})"


if __name__ == "__main__":
    raise SystemExit(main())
