"""Where the instances write what they measured, and how the run puts it together.

``open`` gives each instance (spawn.py asks at its cold start) a file of its own in the run's
folder and remembers the code folder on the runner's disk it belongs to; the bootstrap writes
its JSON there, whole, after each call (see "Coverage" in instance/_child.py). ``combine`` reads
them all once the run is over: a file's lines and arcs are the union over every instance (cases,
runtimes, warm steps); the paths the function saw (``/var/user/index.py`` in an instance, the code
folder itself in a plain process) become the code folder's files.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Set, Tuple

from scftest.coverage.model import CoverageResult, FileCoverage


@dataclass(frozen=True)
class CoverageSetup:
    """What an instance needs to measure: the folder holding coverage.py for its interpreter,
    and the run's sink to write to."""

    folder: Path
    sink: "Sink"


class Sink:
    """The run's data files; thread-safe (workers start instances at once)."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="scftest-coverage-"))
        self._lock = threading.Lock()
        self._files: List[Tuple[Path, Path]] = []  # (data file, code folder on the runner's disk)

    def open(self, code_root: Path) -> int:
        """A new data file for one instance, as a descriptor to hand to it (the caller closes
        its copy once the instance has it)."""
        with self._lock:
            path = self.folder / f"instance-{len(self._files) + 1}.json"
            self._files.append((path, code_root))
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)

    def combine(self) -> CoverageResult:
        merged: Dict[Path, Dict[str, Set]] = {}
        problems: List[str] = []
        wrote = 0
        for path, code_root in self._files:
            data, problem = _read(path)
            if problem:
                problems.append(f"{code_root}: {problem}")
            if data is None:
                continue
            wrote += 1
            for relative, found in (data.get("files") or {}).items():
                target = merged.setdefault(Path(os.path.normpath(code_root / relative)),
                                           {key: set() for key in _KEYS})
                for key in ("statements", "executed"):
                    target[key].update(int(n) for n in found.get(key, ()))
                for key in ("arcs_possible", "arcs_executed"):
                    target[key].update((int(a), int(b)) for a, b in found.get(key, ()))
        files = tuple(FileCoverage(path, frozenset(v["statements"]), frozenset(v["executed"]),
                                   frozenset(v["arcs_possible"]), frozenset(v["arcs_executed"]))
                      for path, v in sorted(merged.items()))
        counted = Counter(problems)  # one line per problem, however many instances had it
        return CoverageResult(files=files, instances=wrote, problems=tuple(
            f"{problem} ({times} instances)" if times > 1 else problem for problem, times in counted.items()))

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


_KEYS = ("statements", "executed", "arcs_possible", "arcs_executed")


def _read(path: Path):
    """(data or None, a problem or "")."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return None, f"its coverage data could not be read ({exc})"
    if not text:
        return None, ("an instance wrote no coverage data: it ended before its first answer "
                      "(a crash, a timeout, or the handler called os._exit)")
    try:
        data = json.loads(text)
    except ValueError:
        return None, "an instance's coverage data was cut short (it was killed while writing it)"
    if not isinstance(data, dict):
        return None, "an instance's coverage data is not what the bootstrap writes"
    problem = data.get("error") or ""
    warnings = [w for w in data.get("warnings") or () if "No data was collected" not in w]
    if warnings:
        problem = "; ".join(filter(None, [problem] + [f"coverage.py: {w}" for w in warnings]))
    return data, problem


class Measurement:
    """A run's coverage: each interpreter's coverage.py (``provision.Provider``) and the sink."""

    def __init__(self, environ, notice=None) -> None:
        """``notice(requirement, version, folder)``: told before coverage.py is installed."""
        from scftest.coverage.provision import Provider, cache_root

        self.provider = Provider(cache_root(environ), notice)
        self.sink = Sink()

    def setup(self, interpreter: str, version: str) -> CoverageSetup:
        """CoverageError when this interpreter's coverage.py cannot be provided."""
        return CoverageSetup(self.provider.folder(interpreter, version), self.sink)

    def finish(self) -> CoverageResult:
        try:
            return self.sink.combine()
        finally:
            self.sink.close()
