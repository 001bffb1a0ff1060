"""The last-failed cache that ``--lf`` / ``--ff`` read, kept as pytest keeps its own.

Where: a ``.scftest_cache/`` folder in the project root (the folder of pyproject.toml),
or, outside a project, beside the suites: in the nearest folder that holds every path
given to ``scftest run``. It holds a ``.gitignore`` of ``*`` (so git never shows it, as
``.pytest_cache/`` is never shown), a ``CACHEDIR.TAG`` (so backup tools skip it) and
``lastfailed.json``: the cases that failed, each as ``SUITE-FILE::CASE-NAME``, the file
relative to the cache's folder and the name with its matrix values (``hello [Python2.7]``).

What counts as failed: a FAILED (an unexpected pass of an xfail case included) or ERROR
verdict. Each run updates the cache as pytest's does: a case that failed is added, a case
that ran and did not fail (passed, skipped, xfailed) is removed, and a case that did not
run this time (deselected, or stopped by ``-x`` or Ctrl-C) keeps its entry.

A cache that cannot be read or written never changes a verdict: it is a warning, and
the run goes on as if no case had failed before.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, FrozenSet, Iterable, Optional, Sequence, Tuple

from scftest.check.outcome import CaseOutcome, Verdict
from scftest.model import Case
from scftest.report.destination import write_atomically

FOLDER = ".scftest_cache"
LAST_FAILED = "lastfailed.json"
GITIGNORE = "# Created by scftest automatically.\n*\n"
# The Cache Directory Tagging Specification's signature (https://bford.info/cachedir/).
CACHEDIR_TAG = ("Signature: 8a477f597d28d172789f06886806bc55\n"
                "# This file is a cache directory tag created by scftest.\n"
                "# For information about cache directory tags, see https://bford.info/cachedir/\n")


class CacheWarning(str):
    """A sentence about the cache for the user (it could not be read or written)."""


@dataclass(frozen=True)
class Cache:
    """The cache folder of one run. Case keys are relative to its parent, so a project
    moved or cloned elsewhere keeps its entries."""

    folder: Path

    @property
    def base(self) -> Path:
        return self.folder.parent

    def key(self, case: Case) -> str:
        """``suites/api.yaml::returns greeting [Python2.7]``: the suite file and the case name
        (with its matrix values), which stay the same from run to run."""
        return self.keys()(case)

    def keys(self) -> Callable[[Case], str]:
        """``key`` for many cases: each suite file's path is resolved once (two realpath
        calls a case cost about as much as the rest of a trivial case's end of run)."""
        base = os.path.realpath(self.base)
        files: Dict[str, str] = {}

        def key(case: Case) -> str:
            file = files.get(case.file)
            if file is None:
                file = files[case.file] = Path(os.path.relpath(os.path.realpath(case.file), base)).as_posix()
            return f"{file}::{case.name}"

        return key


def locate(project_root: Optional[Path], paths: Sequence[Path], cwd: Path) -> Cache:
    """The project root's cache; outside a project, the one in the nearest folder that
    holds every path given (a file's own folder), or the working directory."""
    if project_root is not None:
        return Cache(Path(project_root) / FOLDER)
    folders = [os.path.realpath(p if os.path.isdir(p) else os.path.dirname(os.path.abspath(p)) or ".")
               for p in paths]
    try:
        common = os.path.commonpath(folders) if folders else str(cwd)
    except ValueError:  # no common folder (cannot happen on one POSIX tree; be safe)
        common = str(cwd)
    return Cache(Path(common) / FOLDER)


def read_failed(cache: Cache) -> Tuple[FrozenSet[str], Optional[CacheWarning]]:
    """The keys of the cases that failed before (empty when there is no cache yet)."""
    file = cache.folder / LAST_FAILED
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        return frozenset(), None
    except (OSError, UnicodeDecodeError) as exc:
        return frozenset(), _unreadable(file, getattr(exc, "strerror", None) or str(exc))
    try:
        data = json.loads(text)
    except ValueError as exc:
        return frozenset(), _unreadable(file, f"not JSON ({exc})")
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        return frozenset(), _unreadable(file, "not a mapping of case ids")
    return frozenset(key for key, failed in data.items() if failed is True), None


def _unreadable(file: Path, reason: str) -> CacheWarning:
    return CacheWarning(f"the last-failed cache {file} cannot be read ({reason}); running as if no case "
                        f"failed before — --cache-clear starts it afresh")


def updated(before: Iterable[str], outcomes: Iterable[CaseOutcome], cache: Cache) -> Dict[str, bool]:
    """The cache's entries after a run: pytest's rule (see the module doc)."""
    failed = dict.fromkeys(before, True)
    key_of = cache.keys()
    for outcome in outcomes:
        key = key_of(outcome.case)
        if outcome.failed or outcome.verdict is Verdict.ERROR:
            failed[key] = True
        else:
            failed.pop(key, None)
    return dict(sorted(failed.items()))


def write_failed(cache: Cache, failed: Dict[str, bool]) -> Optional[CacheWarning]:
    """Write the entries (creating the folder with its .gitignore); a warning when it cannot."""
    try:
        _make_folder(cache.folder)
        write_atomically(cache.folder / LAST_FAILED, json.dumps(failed, indent=2, ensure_ascii=False) + "\n")
    except OSError as exc:
        return CacheWarning(f"cannot write the last-failed cache in {cache.folder}: {exc.strerror or exc} "
                            f"— --lf and --ff will not know this run's failures")
    return None


def _make_folder(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in ((".gitignore", GITIGNORE), ("CACHEDIR.TAG", CACHEDIR_TAG)):
        if not (folder / name).exists():
            write_atomically(folder / name, text)


def clear(cache: Cache) -> Optional[CacheWarning]:
    """``--cache-clear``: forget every failure (the folder and its .gitignore stay)."""
    try:
        (cache.folder / LAST_FAILED).unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        return CacheWarning(f"cannot clear the last-failed cache {cache.folder / LAST_FAILED}: "
                            f"{exc.strerror or exc}")
    return None
