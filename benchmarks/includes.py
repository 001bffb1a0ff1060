"""CPU of ``return_includes`` against a huge returned list (issue 10): scftest.check.compare
on lists of 500,000 items, in this process, one shape per line.

    .venv/bin/python benchmarks/includes.py                      # this checkout
    .venv/bin/python benchmarks/includes.py --against ../old     # and another tree, same run

``--against TREE`` runs the same shapes with the scftest package of TREE (a checkout of an
earlier commit) in a child process, after this checkout's, so both columns come from one
run on one machine. Figures are CPU seconds of ``compare`` alone (time.process_time).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from against import figures_of  # --against: the same script on another checkout (run as a script: its folder is on sys.path)

HERE = Path(__file__).resolve().parent.parent


def shapes(size: int):
    from scftest.matchers import build_matcher

    ints = list(range(size))
    dicts = [{"id": i, "name": f"item {i}"} for i in range(size)]
    return [
        ("3 ints, all there", [7, size // 2, size - 1], ints),
        ("1 int, not there", [-1], ints),
        ("1 dict, the last item", [{"id": size - 1}], dicts),
        ("1 dict, not there", [{"id": -1}], dicts),
        ("3 dicts, 1 not there", [{"id": 5}, {"id": -1}, {"id": size - 2}], dicts),
        ("1 dict with a matcher", [{"id": build_matcher("!type", "int"), "name": "item 9"}], dicts),
    ]


def measure(size: int) -> list:
    from scftest.check.compare import compare

    figures = []
    for name, expected, actual in shapes(size):
        started = time.process_time()
        found = compare({"items": expected}, {"items": actual}, includes=True)
        figures.append((name, time.process_time() - started, "passes" if not found else "fails"))
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=500_000)
    parser.add_argument("--against", help="another checkout whose scftest runs the same shapes")
    parser.add_argument("--emit-json", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    load = os.getloadavg()[0]
    figures = measure(args.size)
    if args.emit_json:
        print(json.dumps(figures))
        return 0
    other = None
    if args.against:
        other = figures_of(args.against, __file__, ["--size", str(args.size), "--emit-json"])
    print(f"load average before: {load:.2f}; {args.size} items")
    for index, (name, seconds, verdict) in enumerate(figures):
        line = f"{name:24s} {seconds:7.2f} s CPU ({verdict})"
        if other is not None:
            line += f"   {args.against}: {other[index][1]:7.2f} s ({other[index][2]})"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
