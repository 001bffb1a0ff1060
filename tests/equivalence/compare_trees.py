"""Run two scftest trees on the same suites and compare what a user sees.

Usage: python tests/equivalence/compare_trees.py OLD_SCFTEST NEW_SCFTEST WORKDIR

Issue 9 (the re-layout) was checked with it: OLD the tree at 67d091a, NEW main.

Each SCFTEST is the path of an `scftest` console script (a venv's bin/scftest). The
suites are: the bundled suites/, a scaffolded `scftest init` project, and generated
suites over tests/handlers (random expectations that pass and fail in many ways). For
each, both trees run with --junit-xml and --json; the terminal text (NO_COLOR), the
JUnit XML and the JSON report are normalised (times, request ids, memory figures, temp
paths) and compared. The JSON report's mismatch values are compared loosely (the new
tree carries uncut values on purpose); everything else must be equal.
"""

import difflib
import json
import os
import random
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANDLERS = REPO / "tests" / "handlers"

UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
VOLATILE = [
    (re.compile(r"/tmp/[\w./-]+"), "<tmp>"),
    (UUID, "<uuid>"),
    (re.compile(r"\d+(\.\d+)?\s?(ms|s)\b"), "<t>"),
    (re.compile(r"MemUsage:[\d.]+MB"), "MemUsage:<m>"),
    (re.compile(r"\b\d+(\.\d+)? ?MB\b"), "<m>MB"),
    (re.compile(r"0x[0-9a-f]+"), "<addr>"),
    (re.compile(r"line \d+, in"), "line <n>, in"),
    (re.compile(r"Duration:[\d.]+ms"), "Duration:<t>"),
]


RULE = re.compile(r"^=+ (.*?) =+$", re.M)
SLOWEST = re.compile(r"=+ slowest \d+ cases =+\n(.*\n)*?(?==)")


def normalise(text):
    text = SLOWEST.sub("<slowest>\n", text)  # the order of the slowest cases is timing
    for pattern, repl in VOLATILE:
        text = pattern.sub(repl, text)
    return RULE.sub(r"== \1 ==", text)  # a rule's padding depends on the time's width


def generated_suite(rng, index):
    handlers = ["hello", "echo", "raises", "raises_custom", "non_ascii", "unserializable",
                "decimal_return", "nested_decimal", "value", "sys_exit", "environment"]
    cases = []
    for n in range(8):
        handler = rng.choice(handlers)
        event = rng.choice([{}, {"a": 1}, {"key": "value", "n": [1, 2, 3]}, {"text": "x" * rng.randint(1, 300)}])
        expect = rng.choice([
            {},
            {"return": rng.choice(["Hello World", "nope", 1, {"a": 1}, event])},
            {"return_includes": {"a": rng.choice([1, 2, "1"])}},
            {"error": {"type": rng.choice(["ValueError", "KeyError", "TypeError"])}},
            {"status": rng.choice(["success", "error", "crash", "timeout"])},
            {"log": [rng.choice(["START", "Hello", "Traceback", "missing"])]},
            {"ret_msg": rng.choice(['"Hello World"', "x"])},
            {"duration_ms": {"max": rng.choice([1, 100000])}},
        ])
        case = {"name": "case %d %s" % (n, handler), "handler": "index." + handler, "event": event}
        if expect:
            case["expect"] = expect
        cases.append(case)
    return {"name": "generated %d" % index,
            "function": {"code": str(HANDLERS / "basic"), "handler": "index.hello",
                         "runtime": rng.choice(["Python3.6", "Python2.7", "Python3.10"])},
            "cases": cases}


def corpus(work):
    suites = work / "suites"
    shutil.copytree(REPO / "suites", suites / "bundled")
    rng = random.Random(20261201)
    gen = suites / "generated"
    gen.mkdir()
    for i in range(12):
        (gen / ("gen%02d.yaml" % i)).write_text(json.dumps(generated_suite(rng, i), ensure_ascii=False))
    return suites


def run(scftest, suites, out):
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, NO_COLOR="1", COLUMNS="100")
    env.pop("CI", None)
    proc = subprocess.run([scftest, "run", str(suites), "-v", "--junit-xml", str(out / "junit.xml"),
                           "--json", str(out / "report.json")],
                          cwd=str(out), env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return proc.returncode, proc.stdout


def junit_shape(path):
    root = ET.parse(path).getroot()
    for element in root.iter():
        for key in ("time", "timestamp", "hostname"):
            element.attrib.pop(key, None)
        if element.text:
            element.text = normalise(element.text)
        for key, value in list(element.attrib.items()):
            element.attrib[key] = normalise(value)
    return ET.tostring(root, encoding="unicode")


def json_shape(path):
    data = json.loads(Path(path).read_text())
    shape = []
    for case in data.get("cases", []):
        record = case.get("record") or {}
        shape.append({
            "id": case.get("id"), "verdict": case.get("verdict"),
            "summary": normalise(str(case.get("summary", ""))),
            "mismatch_paths": [m.get("where", m.get("path")) for m in case.get("mismatches", [])],
            "status": record.get("status"), "status_code": record.get("status_code"),
            "return": normalise(json.dumps(record.get("return"), sort_keys=True)),
            "error_type": (record.get("error") or {}).get("type"),
        })
    return shape, data.get("summary") or data.get("totals")


def main():
    old, new, work = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    suites = corpus(work)
    differences = 0
    for label, target in (("bundled", suites / "bundled"), ("generated", suites / "generated")):
        (code_a, text_a), (code_b, text_b) = run(old, target, work / "old" / label), run(new, target, work / "new" / label)
        checks = [
            ("exit code", code_a, code_b),
            ("terminal", normalise(text_a), normalise(text_b)),
            ("junit", junit_shape(work / "old" / label / "junit.xml"), junit_shape(work / "new" / label / "junit.xml")),
            ("json", json_shape(work / "old" / label / "report.json"), json_shape(work / "new" / label / "report.json")),
        ]
        for what, a, b in checks:
            same = a == b
            differences += not same
            print("%-10s %-9s %s" % (label, what, "same" if same else "DIFFERENT"))
            if not same and what == "json":
                for x, y in zip(a[0], b[0]):
                    if x != y:
                        print("  old:", x, "\n  new:", y)
                        break
                if a[1] != b[1]:
                    print("  totals:", a[1], b[1])
            if not same and isinstance(a, str):
                diff = difflib.unified_diff(a.splitlines(True), b.splitlines(True), "old", "new")
                sys.stdout.writelines(list(diff)[:60])
    reports = (work / "new").rglob("report.json")
    print("cases compared: %d" % sum(len(json.loads(p.read_text()).get("cases", [])) for p in reports))
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
