"""docs/writing-cases.md as a reader follows it (issue 17 item 7): every output it shows comes
from a real run of what the reader was asked to do, and this test fails when one drifts.

The tutorial carries its steps as HTML comments (invisible on the rendered page), each before
the block it applies to:

- ``<!-- tutorial: append FILE -->`` before a ``yaml`` block: the reader adds it at the end of FILE;
- ``<!-- tutorial: edit FILE: OLD => NEW -->``: a change the text describes in words;
- ``<!-- tutorial: try FILE: OLD => NEW -->``: a mistake shown once, undone after the next block;
- ``<!-- tutorial: output -->`` before a ``console`` block: its ``$`` lines are run in order
  (``cd`` included) and what each prints must be what follows it;
- ``<!-- tutorial: lines CMD -->`` before a ``console`` block without ``$`` lines: CMD is run and
  each line shown must be one of the lines it prints.

Outputs are compared after the parts that differ from run to run are made alike: durations,
request ids, memory and millisecond figures, the width of the ``===`` rules around them, the order
of the slowest-cases list, and the reader's folder (shown as /tmp/work). To rewrite the shown
outputs from a real run: ``SCFTEST_REGEN_TUTORIAL=1 .venv/bin/python -m pytest tests/test_tutorial.py``,
then read the diff.
"""

from __future__ import annotations

import difflib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
from conftest import needs

import scftest

ROOT = Path(scftest.__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "writing-cases.md"
BIN = Path(sys.executable).parent
SHOWN_ROOT = "/tmp/work"  # where the tutorial says the reader works
REGEN = os.environ.get("SCFTEST_REGEN_TUTORIAL") == "1"
RUN_TIMEOUT_S = 600  # an upper bound on a loaded machine, not a measurement
_STEP = re.compile(r"^<!-- tutorial: (\w+)(?: (.*?))? -->$")


@dataclass
class Block:
    step: str  # append, edit, try, output, lines
    argument: str
    lang: str
    body: List[str]
    start: int  # index of the block's first body line in the file's lines
    end: int  # index of its closing fence


def steps(lines: List[str]) -> List[Block]:
    """The tutorial's marked steps, in order; edit steps have no block."""
    found: List[Block] = []
    index = 0
    while index < len(lines):
        match = _STEP.match(lines[index].strip())
        index += 1
        if not match:
            continue
        step, argument = match.group(1), match.group(2) or ""
        if step in ("edit", "try"):
            found.append(Block(step, argument, "", [], index, index))
            continue
        while not lines[index].startswith("```"):
            index += 1
        lang, start = lines[index][3:].strip(), index + 1
        end = start
        while not lines[end].startswith("```"):
            end += 1
        found.append(Block(step, argument, lang, lines[start:end], start, end))
        index = end + 1
    return found


def _edit(folder: Path, argument: str) -> Tuple[Path, str]:
    """Apply ``FILE: OLD => NEW`` once; return the file and its text before."""
    name, _, change = argument.partition(": ")
    old, _, new = (part.replace("\\n", "\n").replace("\\t", "\t") for part in change.partition(" => "))
    path = folder / name
    before = path.read_text(encoding="utf-8")
    assert before.count(old) == 1, f"{name} holds {old!r} {before.count(old)} times, not once"
    path.write_text(before.replace(old, new), encoding="utf-8")
    return path, before


def _normal(text: str) -> List[str]:
    text = re.sub(r"\b\d+\.\d+s\b", "N.NNs", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "REQUEST-ID", text)
    text = re.sub(r"\b\d+(\.\d+)?(ms|MB)\b", r"N\2", text)
    lines = [re.sub(r"^=+ (.*) =+$", r"== \1 ==", line.rstrip()) for line in text.splitlines()]
    # the slowest cases are listed by their times, which vary: compare them as a set
    for index, line in enumerate(lines):
        if re.match(r"^== slowest \d+ cases? ==$", line):
            end = index + 1
            while end < len(lines) and lines[end].startswith("   N.NNs "):
                end += 1
            lines[index + 1:end] = sorted(lines[index + 1:end])
    return lines


def _matches(shown: List[str], actual: List[str]) -> bool:
    """``shown`` equals ``actual``, where a line '...' stands for any lines."""
    if not shown:
        return not actual
    if shown[0] == "...":
        return any(_matches(shown[1:], actual[i:]) for i in range(len(actual) + 1))
    return bool(actual) and shown[0] == actual[0] and _matches(shown[1:], actual[1:])


def _excerpt(shown: List[str], actual: List[str]) -> List[str]:
    """The lines of ``actual`` a regenerated excerpt shows: as many as ``shown`` has, from the
    line most like its first one."""
    scores = [difflib.SequenceMatcher(None, shown[0], line).ratio() for line in actual]
    start = scores.index(max(scores)) if scores else 0
    return actual[start:start + len(shown)]


class Reader:
    """Does what the tutorial says, in a folder of its own."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.cwd = home
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "CI"))}
        self.env["PATH"] = f"{BIN}{os.pathsep}{self.env.get('PATH', '')}"  # the activated virtualenv
        self.env["COLUMNS"] = "80"

    def run(self, command: str) -> str:
        words = shlex.split(command)
        if words[0] == "cd":
            self.cwd = self.cwd / words[1]
            return ""
        env = dict(self.env)
        while "=" in words[0]:  # VAR=value before the command
            key, _, value = words.pop(0).partition("=")
            env[key] = value
        done = subprocess.run(words, cwd=self.cwd, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S)
        return (done.stdout + done.stderr).replace(str(self.home), SHOWN_ROOT)


def _console(reader: Reader, block: Block) -> Tuple[List[str], List[str]]:
    """(shown, actual) lines of an output block, the commands included."""
    shown, actual = [], []
    for line in block.body:
        if line.startswith("$ "):
            actual.append(line)
            actual.extend(reader.run(line[2:]).rstrip("\n").splitlines())
    shown = list(block.body)
    return shown, actual


@needs("3.6")
def test_the_tutorial_shows_what_a_reader_gets(tmp_path: Path) -> None:
    lines = TUTORIAL.read_text(encoding="utf-8").splitlines()
    blocks = steps(lines)
    assert sum(block.step == "output" for block in blocks) >= 6
    reader = Reader(tmp_path)
    undo: Optional[Tuple[Path, str]] = None
    drift, rewrites = [], []
    for block in blocks:
        project = reader.cwd
        if block.step == "append":
            path = project / block.argument
            text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n" + "\n".join(block.body) + "\n"
            path.write_text(text, encoding="utf-8")
            continue
        if block.step == "edit":
            _edit(project, block.argument)
            continue
        if block.step == "try":
            undo = _edit(project, block.argument)
            continue
        if block.step == "output":
            shown, actual = _console(reader, block)
            if not _matches(_normal("\n".join(shown)), _normal("\n".join(actual))):
                drift.append((block.start, shown, actual))
                rewrites.append((block, actual))
        elif block.step == "lines":
            actual = reader.run(block.argument).rstrip("\n").splitlines()
            missing = [line for line in block.body if _normal(line)[0] not in _normal("\n".join(actual))]
            if missing:
                drift.append((block.start, block.body, actual))
                rewrites.append((block, _excerpt(block.body, actual)))
        if undo:
            undo[0].write_text(undo[1], encoding="utf-8")
            undo = None
    if REGEN and rewrites:
        for block, actual in sorted(rewrites, key=lambda pair: -pair[0].start):
            lines[block.start:block.end] = actual
        TUTORIAL.write_text("\n".join(lines) + "\n", encoding="utf-8")
        pytest.fail(f"rewrote {len(rewrites)} output(s) in {TUTORIAL}: review the diff and run again")
    report = "\n\n".join(f"docs/writing-cases.md:{start + 1}: shown:\n" + "\n".join(shown)
                         + "\n--- but a real run gives:\n" + "\n".join(actual) for start, shown, actual in drift)
    assert not drift, report + "\n\n(SCFTEST_REGEN_TUTORIAL=1 rewrites them from a real run)"


def test_the_normalising_keeps_what_matters() -> None:
    shown = _normal("=== 4 passed in 0.19s ===\n  START RequestId:710c1291-9cdb-4e97-b9f2-549bd1965404 Duration:13ms")
    again = _normal("==== 4 passed in 12.01s ====\n  START RequestId:0b0c1291-9cdb-4e97-b9f2-549bd1965404 Duration:9ms")
    assert shown == again
    assert _normal("=== 4 passed in 0.19s ===") != _normal("=== 3 passed in 0.19s ===")
    assert _matches(["a", "...", "d"], ["a", "b", "c", "d"]) and not _matches(["a", "...", "d"], ["a", "b"])
