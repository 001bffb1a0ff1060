"""Find suite files and load each into the case model, collecting problems per file.

A broken file never stops the others: ``load_paths`` returns every suite it could
build and every problem it found, each naming its file and line.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, Iterable, List, Optional, Tuple

from scftest import matchers
from scftest.load.build import build_suite
from scftest.model import Mark, Suite, SuiteProblem
from scftest.load.validate import schema_problems
from scftest.load.yamlio import TagBuilder, YamlError, env_tag, read_document, replace_tag

SUITE_SUFFIXES = (".yaml", ".yml")
# Folders that never hold suites but may hold thousands of YAML files.
SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox"}


@dataclass
class LoadResult:
    suites: List[Suite] = field(default_factory=list)
    problems: List[SuiteProblem] = field(default_factory=list)
    passed_over: List[Path] = field(default_factory=list)  # YAML files that are not suites


def suite_tags() -> Dict[str, TagBuilder]:
    tags: Dict[str, TagBuilder] = {"!env": env_tag, "!replace": replace_tag}
    for tag in matchers.MATCHER_TAGS:
        tags[tag] = _matcher_tag
    return tags


def _matcher_tag(tag: str, value, mark: Mark):
    try:
        return matchers.build_matcher(tag, value)
    except matchers.MatcherError as exc:
        raise YamlError(mark, f"{tag}: {exc}", "see the matchers table in the suite format docs") from None


def find_suite_files(paths: Iterable[Path]) -> Tuple[List[Path], List[SuiteProblem]]:
    """YAML files under ``paths`` in a stable order; a path that does not exist is a problem."""
    files: List[Path] = []
    problems: List[SuiteProblem] = []
    for path in paths:
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files.extend(_walk(path, problems, set()))
        else:
            problems.append(SuiteProblem(path, 0, 0, "no such file or folder",
                                         "check the path given to scftest"))
    return _unique(files), problems


def _walk(folder: Path, problems: List[SuiteProblem], seen: set) -> List[Path]:
    found: List[Path] = []
    real = folder.resolve()
    if real in seen:  # a symlink back up the tree would otherwise recurse forever
        return found
    seen.add(real)
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        problems.append(SuiteProblem(folder, 0, 0, f"cannot list this folder: {exc.strerror}",
                                     "check its permissions, or leave it out of the paths"))
        return found
    for entry in entries:
        if entry.is_dir():
            if entry.name not in SKIPPED_DIRS and not entry.name.startswith("."):
                found.extend(_walk(entry, problems, seen))
        elif entry.suffix.lower() in SUITE_SUFFIXES:
            found.append(entry)
    return found


def _unique(files: List[Path]) -> List[Path]:
    seen = set()
    result = []
    for file in files:
        key = file.resolve()
        if key not in seen:
            seen.add(key)
            result.append(file)
    return result


def load_suite(file: Path, *, explicit: bool = False) -> Tuple[Optional[Suite], List[SuiteProblem], bool]:
    """(suite or None, problems, is_suite). A YAML file without ``cases`` is not a suite
    unless it was named explicitly, where that is a problem."""
    try:
        document = read_document(file, suite_tags())
    except YamlError as exc:
        return None, [SuiteProblem(file, exc.mark.line, exc.mark.col, exc.message, exc.hint)], True
    except OSError as exc:
        return None, [SuiteProblem(file, 0, 0, f"cannot read the file: {exc.strerror}", "check its permissions")], True
    data = document.data
    if not isinstance(data, dict) or "cases" not in data:
        if not explicit:
            return None, [], False
        return None, [SuiteProblem(file, 1, 1, "this file is not a suite: it has no top-level 'cases' list",
                                   "add cases:, or point scftest at a suite file or folder")], True
    problems = schema_problems(data, document.source)
    if problems:
        return None, problems, True
    suite, problems = build_suite(data, document.source)
    return suite, problems, True


def load_paths(paths: Iterable[Path]) -> LoadResult:
    paths = list(paths)
    explicit = {p.resolve() for p in paths if p.is_file()}
    files, problems = find_suite_files(paths)
    result = LoadResult(problems=problems)
    for file in files:
        suite, file_problems, is_suite = load_suite(file, explicit=file.resolve() in explicit)
        result.problems.extend(file_problems)
        if suite is not None:
            result.suites.append(suite)
        elif not is_suite:
            result.passed_over.append(file)
    result.suites = distinct_names(result.suites)
    return result


def distinct_names(suites: List[Suite]) -> List[Suite]:
    """Suites that share a name (two api.yaml in different folders) get their file added
    to it, so every case id ``suite::case`` names one case in -k, reports and shards."""
    counts = Counter(suite.name for suite in suites)
    return [_renamed(suite, f"{suite.name} ({_shown(suite.file)})") if counts[suite.name] > 1 else suite
            for suite in suites]


def _renamed(suite: Suite, name: str) -> Suite:
    cases = tuple(dataclasses.replace(case, suite=name) for case in suite.cases)
    return dataclasses.replace(suite, name=name, cases=cases)


def _shown(file: Path) -> str:
    relative = os.path.relpath(file.resolve(), Path.cwd().resolve())
    return str(file) if relative.startswith("..") else relative
