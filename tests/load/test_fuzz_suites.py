"""Property-based fuzzing of the loader (issue 10): whatever a suite file holds, scftest
never ends in exit 3 or a traceback, and every problem names its file and line.

Suites are generated from the schema's shapes (function, matrix, cases, every expect
key, matchers), then mutated: a node replaced by a wrong type, a tag where it does not
belong, an odd scalar or deep nesting; the text changed by a Tab, a control character,
a deleted or doubled line, bytes that are not UTF-8. Each goes through ``validate`` and
``run`` in-process (``cli.main`` with captured output) and a few through a real
subprocess. Bounded (derandomized, no example database) so it takes seconds in CI.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any, List, Tuple

import pytest
from conftest import INTERPRETERS
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scftest import cli
from scftest.scf import triggers

RUNTIMES = [f"Python{v}" for v in ("2.7", "3.6", "3.10") if INTERPRETERS.get(v)] or ["Python3.6"]
HANDLER = """\
def main_handler(event, context):
    print("got %r" % (event,))
    return event
"""
FUZZ = settings(max_examples=100, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                       HealthCheck.filter_too_much])


# ------------------------------------------------------------------ a YAML renderer


@dataclass(frozen=True)
class Tagged:
    """A tag and its argument, written as ``!tag argument``."""

    tag: str
    argument: str = ""


@dataclass(frozen=True)
class Raw:
    """YAML text written as it is: an odd scalar, a deep nesting, an alias to nothing."""

    text: str


def scalar(value: Any) -> str:
    if isinstance(value, (Tagged, Raw)):
        return f"{value.tag} {value.argument}".rstrip() if isinstance(value, Tagged) else value.text
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    return quoted(value)


def quoted(value: str) -> str:
    """A YAML double-quoted scalar; what is not printable goes as an escape (raw control
    characters are the text mutations' business)."""
    parts = []
    for char in value:
        code = ord(char)
        if char in '"\\':
            parts.append("\\" + char)
        elif char.isprintable():
            parts.append(char)
        else:
            parts.append(f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}")
    return '"' + "".join(parts) + '"'


def key(text: str) -> str:
    return text if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text) else quoted(text)


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key(k)}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def block(value: Any, indent: int, flow_depth: int) -> List[str]:
    pad = " " * indent
    if isinstance(value, dict) and value:
        lines = []
        for k, v in value.items():
            if isinstance(v, (dict, list)) and v and flow_depth > 0:
                lines.append(f"{pad}{key(k)}:")
                lines.extend(block(v, indent + 2, flow_depth - 1))
            else:
                lines.append(f"{pad}{key(k)}: {flow(v)}")
        return lines
    if isinstance(value, list) and value:
        lines = []
        for item in value:
            inner = block(item, indent + 2, flow_depth - 1) if isinstance(item, dict) and item else [
                " " * (indent + 2) + flow(item)]
            lines.append(pad + "- " + inner[0][indent + 2:])
            lines.extend(inner[1:])
        return lines
    return [pad + flow(value)]


def render(suite: dict, flow_depth: int) -> str:
    return "\n".join(block(suite, 0, flow_depth)) + "\n"


# ------------------------------------------------------------- suites of the schema


text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=12)
word = st.text("abcdefgh_-.: 你好#'\"", min_size=1, max_size=10)
pattern = st.sampled_from(["^ok", "got", "a+b?", r"\d+", "[a-z]{1,3}$", "(x|y)", "."])
leaf = st.one_of(st.none(), st.booleans(), st.integers(-10**9, 10**9),
                 st.floats(allow_nan=False, allow_infinity=False, width=32), text)
json_value = st.recursive(leaf, lambda inner: st.lists(inner, max_size=3)
                          | st.dictionaries(word, inner, max_size=3), max_leaves=8)
matcher = st.one_of(
    st.just(Tagged("!any")),
    st.sampled_from(["int", "string", "dict", "list", "null", "number"]).map(lambda t: Tagged("!type", t)),
    pattern.map(lambda p: Tagged("!regex", scalar(p))),
    word.map(lambda w: Tagged("!contains", scalar(w))),
    st.floats(-1e6, 1e6).map(lambda n: Tagged("!approx", repr(n))),
    json_value.map(lambda v: Tagged("!json", flow(v))),
)
expected = st.recursive(leaf | matcher, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(word, inner, max_size=3), max_leaves=8)
log_entry = st.one_of(word, pattern.map(lambda p: {"regex": p}), word.map(lambda w: {"absent": w}),
                      pattern.map(lambda p: {"absent_regex": p}))
schemas = st.sampled_from([True, {"type": "object"}, {"type": "array", "items": {"type": "integer"}},
                           {"type": "object", "required": ["n"], "properties": {"n": {"type": "number"}}}])
limit = st.floats(0.5, 1e5).map(lambda n: {"max": n})


def with_status(expect: dict):
    """A status that agrees with the error expectation (a contradiction is a suite problem)."""
    statuses = ["error"] if expect.get("error") else ["success", "error", "timeout", "memory_exceeded", "crash"]
    return st.one_of(st.just(expect), st.sampled_from(statuses).map(lambda status: {**expect, "status": status}))


expect = st.fixed_dictionaries({}, optional={
    "return": expected, "return_includes": expected, "return_schema": schemas,
    "ignore": st.lists(st.sampled_from(["a", "b.c", "items[0]", "n"]), max_size=2),
    "ret_msg": st.one_of(word, matcher), "log": st.lists(log_entry, max_size=3),
    "error": st.one_of(st.booleans(), st.fixed_dictionaries({}, optional={
        "type": st.sampled_from(["ValueError", "KeyError"]), "message": pattern, "traceback": pattern})),
    "duration_ms": limit, "memory_mb": limit,
}).flatmap(with_status)
env_name = st.from_regex(r"[A-Z][A-Z0-9_]{0,6}", fullmatch=True)
environment = st.dictionaries(env_name, st.one_of(word, st.just(Tagged("!env", "HOME"))), max_size=2)
case = st.fixed_dictionaries({"name": word}, optional={
    "description": text, "tags": st.lists(word, max_size=2), "skip": st.one_of(st.booleans(), word),
    "xfail": st.one_of(st.booleans(), word), "runtime": st.sampled_from(RUNTIMES),
    "timeout": st.integers(1, 3), "memory": st.sampled_from([64, 128, 256]),
    "environment": environment, "invocation": st.sampled_from(["sync", "RequestResponse"]),
    "event": json_value, "trigger": st.sampled_from(triggers.names()),
    "context": st.dictionaries(word, leaf, max_size=2), "expect": expect,
})


def function(code: str):
    return st.fixed_dictionaries({"code": st.just(code), "handler": st.just("index.main_handler")}, optional={
        "runtime": st.sampled_from(RUNTIMES), "timeout": st.integers(1, 3), "memory": st.just(128),
        "environment": environment})


def suites(code: str):
    return st.fixed_dictionaries({"function": function(code), "cases": st.lists(
        case, min_size=1, max_size=3, unique_by=lambda c: c["name"])},
                                 optional={"name": word, "description": text,
                                           "matrix": st.fixed_dictionaries({"runtime": st.lists(
                                               st.sampled_from(RUNTIMES), min_size=1, max_size=2, unique=True)})})


# ---------------------------------------------------------------------- mutations


def deep(opening: str, closing: str, depth: int) -> str:
    return opening * depth + closing * depth


ODD = st.one_of(
    st.sampled_from([42, -1, 1e308, True, None, "", [], {}, ["a", 1], {"x": {"y": None}}]),
    st.sampled_from([Tagged("!any"), Tagged("!regex", "'Hello W.rld'"), Tagged("!regex", "'('"),
                     Tagged("!type", "nope"), Tagged("!approx", "abc"), Tagged("!json", "'[[['"),
                     Tagged("!contains"), Tagged("!env", "HOME"), Tagged("!env", "1bad"), Tagged("!env"),
                     Tagged("!replace", "{}"), Tagged("!replace", "x"), Tagged("!regexp", "a"),
                     Tagged("!json", "{a: !regex '^x'}"), Tagged("!contains", "{id: !any }")]),
    st.sampled_from([Raw("!!int ''"), Raw("!!float x"), Raw(".nan"), Raw("-.inf"), Raw("~"), Raw("0x"),
                     Raw("9" * 5000), Raw('"\\0"'), Raw('"a\\u0000b"'), Raw('"\\x1b]0;title\\x07\\x1b[2J"'),
                     Raw("!!binary aGk="), Raw("!!set {a}"), Raw("!!timestamp 2020-01-01"), Raw("*nope"),
                     Raw("&anchor 1"), Raw("'unterminated"), Raw("2019-02-21T11:49:00Z"), Raw("yes"),
                     Raw('"\\ud800"'), Raw("你好, 张三"), Raw("{msg: 你好, 张三}"), Raw("!!python/object/apply:os.getcwd []"),
                     Raw("/dev/zero"), Raw("/"), Raw("."), Raw("'../../../../etc/passwd'"), Raw("'('"),
                     Raw("'[a-'"), Raw("'a{2,1}'"), Raw("!!str"), Raw("!!null x"), Raw("!!bool maybe"),
                     Raw("{<<: *nope}"), Raw("[a, b"), Raw("{a: 1, a: 2}")]),
    st.sampled_from([50, 99, 101, 330, 1200]).map(lambda n: Raw(deep("[", "]", n))),
    st.sampled_from([99, 150, 2000]).map(lambda n: Raw("!json '" + deep("[", "]", n) + "'")),
    st.sampled_from([90, 400]).map(lambda n: Raw("{a: " * n + "1" + "}" * n)),
)
CONTROL = ["\x00", "\x01", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x7f", "\x85", "\ufeff", "\u2028", "\t"]


def paths_in(value: Any, path: Tuple = ()) -> List[Tuple]:
    """Every place in the generated tree (the root excluded), parents before children."""
    found = [path] if path else []
    if isinstance(value, dict):
        for k, v in value.items():
            found += paths_in(v, path + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            found += paths_in(v, path + (i,))
    return found


def replaced(value: Any, path: Tuple, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {k: replaced(v, rest, new) if k == head else v for k, v in value.items()}
    return [replaced(v, rest, new) if i == head else v for i, v in enumerate(value)]


@st.composite
def suite_files(draw, code: str) -> bytes:
    """A generated suite, mutated in its tree and then in its text, as the file's bytes."""
    tree = draw(suites(code))
    for _ in range(draw(st.integers(0, 3))):
        places = paths_in(tree)
        tree = replaced(tree, draw(st.sampled_from(places)), draw(ODD))
    lines = render(tree, draw(st.integers(0, 4))).splitlines(keepends=True)
    for _ in range(draw(st.integers(0, 2))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["tab", "control", "delete", "double", "cut", "colon", "bytes"]))
        line = lines[at]
        if action == "tab":
            lines[at] = "\t" + line.lstrip(" ")
        elif action == "control":
            spot = draw(st.integers(0, len(line)))
            lines[at] = line[:spot] + draw(st.sampled_from(CONTROL)) + line[spot:]
        elif action == "delete":
            del lines[at]
        elif action == "double":
            lines.insert(at, line)
        elif action == "cut":
            lines[at] = line[:draw(st.integers(0, len(line)))]
        elif action == "colon":
            lines[at] = line.replace(": ", ":", 1) if ": " in line else line + ": x\n"
        else:  # bytes that are not UTF-8, kept apart from the text until it is encoded
            lines[at] = line[:len(line) // 2] + "\udcff" + line[len(line) // 2:]
        if not lines:
            lines = ["\n"]
    return "".join(lines).encode("utf-8", "surrogateescape")  # "\udcff" becomes the byte 0xff


# --------------------------------------------------------------------- the checks


@pytest.fixture(scope="module")
def code(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("fuzz") / "fn"
    folder.mkdir()
    (folder / "index.py").write_text(HANDLER)
    return folder


@contextlib.contextmanager
def written(content: bytes):
    """(folder, suite file) of a fresh folder holding the suite, which is the working
    directory meanwhile (the CLI looks for a project there)."""
    before = os.getcwd()
    with tempfile.TemporaryDirectory() as folder:
        suite = Path(folder) / "suite.yaml"
        suite.write_bytes(content)
        os.chdir(folder)
        try:
            yield Path(folder), suite
        finally:
            os.chdir(before)


def scftest_main(*args: str) -> Tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = cli.main(list(args))
    return status, out.getvalue() + err.getvalue()


LOCATED = re.compile(r":\d+(?::\d+)?: ")  # problems give file:line:col, failures file:line


def assert_sound(status: int, output: str, suite: Path, *, allowed=(0, 1, 4, 5)) -> None:
    assert status in allowed, output
    assert "Traceback" not in output and "internal error" not in output, output
    for line in output.splitlines():
        if line.startswith(str(suite)):  # a problem or a warning about the suite file
            assert LOCATED.match(line[len(str(suite)):]), line
    if status == 4:
        assert f"{suite}:" in output, output  # the problem names the file


def assert_reports(folder: Path, status: int) -> None:
    report = json.loads((folder / "r.json").read_text(encoding="utf-8"))
    assert report["exit_status"] == status
    assert all(problem["line"] >= 1 for problem in report["problems"]), report["problems"]
    ET.parse(folder / "r.xml")


RUN = ("--runtime-fallback", "--json", "r.json", "--junit-xml", "r.xml")


@FUZZ
@given(data=st.data())
def test_validate_never_crashes_and_locates_every_problem(code: Path, data) -> None:
    with written(data.draw(suite_files(str(code)))) as (_, suite):
        status, output = scftest_main("validate", str(suite))
        assert_sound(status, output, suite, allowed=(0, 4))


@settings(FUZZ, max_examples=25)
@given(data=st.data())
def test_run_never_crashes_and_writes_both_reports(code: Path, data) -> None:
    with written(data.draw(suite_files(str(code)))) as (folder, suite):
        status, output = scftest_main("run", str(suite), *RUN)
        assert_sound(status, output, suite)
        assert_reports(folder, status)


@settings(FUZZ, max_examples=3)
@given(data=st.data())
def test_a_real_subprocess_run_agrees(code: Path, data) -> None:
    with written(data.draw(suite_files(str(code)))) as (folder, suite):
        result = subprocess.run([sys.executable, "-m", "scftest", "run", str(suite), *RUN], cwd=folder,
                                env=dict(os.environ, NO_COLOR="1"), capture_output=True, text=True,
                                errors="replace", timeout=120)
        assert_sound(result.returncode, result.stdout + result.stderr, suite)
        assert_reports(folder, result.returncode)
