"""Find suite files and load each into the case model, collecting problems per file.

A broken file never stops the others: ``load_paths`` returns every suite it could
build and every problem it found, each naming its file and line.
"""

from __future__ import annotations

import dataclasses
import errno
import os
import stat
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from scftest import matchers
from scftest.load.build import SuiteBuilder, build_suite
from scftest.i18n import _
from scftest.model import Mark, PassedOver, SourceMap, Suite, SuiteProblem, SuiteWarning
from scftest.load.checks import case_value_problems, misplaced_tags, value_problems
from scftest.load.validate import case_schema_problems, schema_problems
from scftest.load.yamlio import (LET_GO, TOO_DEEP_HINT, NotARegularFile, TagBuilder, YamlError, env_tag,
                                 file_kind, read_document, replace_tag, too_deep,
                                 too_deep_message)

SUITE_SUFFIXES = (".yaml", ".yml")
# Folders that never hold suites but may hold thousands of YAML files.
SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".tox", ".nox"}


@dataclass
class LoadResult:
    suites: List[Suite] = field(default_factory=list)
    problems: List[SuiteProblem] = field(default_factory=list)
    passed_over: List[PassedOver] = field(default_factory=list)  # YAML files that are not suites
    warnings: List[SuiteWarning] = field(default_factory=list)  # never fail a run


# scftest's tags besides the matchers: (tag, builder, what may follow it in YAML).
_OTHER_TAGS: Tuple[Tuple[str, TagBuilder, Tuple[str, ...]], ...] = (
    ("!env", env_tag, (matchers.SCALAR,)),
    ("!replace", replace_tag, (matchers.MAPPING, matchers.SEQUENCE)),
)


def suite_tags() -> Dict[str, TagBuilder]:
    """Every tag a suite may hold and what builds it: the matchers of ``matchers.MATCHERS``,
    ``!env`` and ``!replace``."""
    tags: Dict[str, TagBuilder] = {tag: build for tag, build, _ in _OTHER_TAGS}
    for kind in matchers.MATCHERS:
        tags[kind.tag] = _matcher_tag
    return tags


def tag_forms() -> Tuple[Tuple[str, str], ...]:
    """Every (tag, form) a suite may hold, matchers first: ``("!contains", "mapping")``.
    What editors need to accept scftest's tags (VS Code's ``yaml.customTags``)."""
    kinds = [(kind.tag, kind.forms) for kind in matchers.MATCHERS]
    kinds += [(tag, forms) for tag, _, forms in _OTHER_TAGS]
    return tuple((tag, form) for tag, forms in kinds for form in forms)


def _matcher_tag(tag: str, value, mark: Mark):
    try:
        matcher = matchers.build_matcher(tag, value)
    except matchers.MatcherError as exc:
        raise YamlError(mark, f"{tag}: {exc}", _("see the matchers table in the suite format docs")) from None
    except RecursionError:  # json.loads of a '[[[[…' string under !json
        raise YamlError(mark, f"{tag}: {too_deep_message()}", _(TOO_DEEP_HINT)) from None
    if isinstance(matcher, matchers.JsonMatcher) and too_deep(matcher.expected):
        raise YamlError(mark, f"{tag}: {too_deep_message()}", _(TOO_DEEP_HINT))
    return matcher


def find_suite_files(paths: Iterable[Path]) -> Tuple[List[Path], List[SuiteProblem], List[PassedOver]]:
    """YAML files under ``paths`` in a stable order, the problems met on the way (a path
    that does not exist, a folder that cannot be listed) and what was passed over."""
    files: List[Path] = []
    problems: List[SuiteProblem] = []
    passed_over: List[PassedOver] = []
    for path in paths:
        try:
            mode = os.stat(path).st_mode
        except FileNotFoundError:
            problems.append(SuiteProblem(path, 0, 0, _("no such file or folder"), _("check the path given to scftest")))
            continue
        except (OSError, ValueError) as exc:
            problems.append(_unreadable(path, exc))
            continue
        if stat.S_ISREG(mode):
            files.append(path)
        elif stat.S_ISDIR(mode):
            files.extend(_walk(path, problems, passed_over))
        else:
            problems.append(SuiteProblem(path, 0, 0, _("it is {kind}, not a suite file").format(kind=file_kind(mode)),
                                         _("give scftest suite files (.yaml) or folders that hold them")))
    return _unique(files), problems, passed_over


def _unreadable(path: Path, exc: Exception) -> SuiteProblem:
    reason = getattr(exc, "strerror", None) or str(exc)
    return SuiteProblem(path, 0, 0, _("cannot read this path: {reason}").format(reason=reason),
                        _("check its permissions, or leave it out of the paths"))


def _walk(root: Path, problems: List[SuiteProblem], passed_over: List[PassedOver]) -> List[Path]:
    """Depth first, entries by name, without recursion (a folder tree may be deep).

    Symlinks are followed, but never into a folder already searched, nor into one that
    holds the folder being searched (a link back up the tree, or to /): that would
    search it again, or forever."""
    found: List[Path] = []
    seen = {_real(root)}
    stack: List[Tuple[str, Iterator[os.DirEntry]]] = []
    _enter(root, stack, problems)
    while stack:
        here, entries = stack[-1]
        entry = next(entries, None)
        if entry is None:
            stack.pop()
            continue
        path = Path(entry.path)
        is_yaml = Path(entry.name).suffix.lower() in SUITE_SUFFIXES
        if not is_yaml and (entry.name in SKIPPED_DIRS or entry.name.startswith(".")):
            continue
        try:
            mode = entry.stat().st_mode  # through a symlink
        except OSError as exc:
            _stat_failed(path, exc, is_yaml, problems, passed_over)
            continue
        if stat.S_ISDIR(mode):
            real = _real(path)
            if _holds(real, here):
                passed_over.append(PassedOver(path, _("a link to {target}, a folder that holds this one").format(target=real)))
            elif real not in seen:
                seen.add(real)
                _enter(path, stack, problems)
        elif is_yaml and stat.S_ISREG(mode):
            found.append(path)
        elif is_yaml:
            passed_over.append(PassedOver(path, _("it is {kind}, not a regular file").format(kind=file_kind(mode))))
    return found


def _enter(folder: Path, stack: List[Tuple[str, Iterator[os.DirEntry]]], problems: List[SuiteProblem]) -> None:
    try:
        with os.scandir(folder) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:
        problems.append(SuiteProblem(folder, 0, 0, _("cannot list this folder: {error}").format(error=exc.strerror),
                                     _("check its permissions, or leave it out of the paths")))
        return
    stack.append((_real(folder), iter(entries)))


def _real(path) -> str:
    """The path with symlinks resolved; the absolute path when that fails (a link under
    /proc whose process ended while the folder was searched)."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return os.path.abspath(path)


def _holds(folder: str, inner: str) -> bool:
    return inner == folder or inner.startswith(folder.rstrip("/") + "/")


def _stat_failed(path: Path, exc: OSError, is_yaml: bool, problems: List[SuiteProblem],
                 passed_over: List[PassedOver]) -> None:
    """A link that points nowhere or loops is passed over unless it looks like a suite
    (a gate must not skip a suite silently); any other failure is a problem."""
    if exc.errno in (errno.ENOENT, errno.ELOOP) and not is_yaml:
        words = _("a link to nothing") if exc.errno == errno.ENOENT else _("a link that loops")
        passed_over.append(PassedOver(path, words))
        return
    if exc.errno == errno.ENOENT:
        problems.append(SuiteProblem(path, 0, 0, _("a broken link: the file it points to does not exist"),
                                     _("fix or remove the link")))
        return
    problems.append(_unreadable(path, exc))


def _unique(files: List[Path]) -> List[Path]:
    seen = set()
    result = []
    for file in files:
        key = _real(file)
        if key not in seen:
            seen.add(key)
            result.append(file)
    return result


@dataclass(frozen=True)
class SuiteLoad:
    """What loading one file gave: the suite (None when it has problems or is not one)."""

    suite: Optional[Suite]
    problems: List[SuiteProblem]
    is_suite: bool = True
    warnings: Tuple[SuiteWarning, ...] = ()


def load_suite(file: Path, *, explicit: bool = False) -> Tuple[Optional[Suite], List[SuiteProblem], bool]:
    """(suite or None, problems, is_suite); ``read_suite`` gives the warnings too."""
    loaded = read_suite(file, explicit=explicit)
    return loaded.suite, loaded.problems, loaded.is_suite


def read_suite(file: Path, *, explicit: bool = False) -> SuiteLoad:
    """Load one file. A YAML file without ``cases`` is not a suite unless it was named
    explicitly, where that is a problem.

    Each case is checked and built as soon as it is read (``CaseTaker``), and its written
    data let go: a file of 10,000 cases is never held whole as written data and as the
    case model at once. A document that is read whole, or whose name, function or matrix
    come after its cases, is checked and built whole once it is read."""
    try:
        document = read_document(file, suite_tags(), CaseTaker)
        if isinstance(document.parts, CaseTaker) and not document.parts.fits(document.data):
            document = read_document(file, suite_tags())  # its cases were built before what they need
    except YamlError as exc:
        return SuiteLoad(None, [SuiteProblem(file, exc.mark.line, exc.mark.col, exc.message, exc.hint)])
    except NotARegularFile as exc:
        return SuiteLoad(None, [SuiteProblem(file, 0, 0, _("cannot read the file: {error}").format(error=exc.strerror),
                                             _("give scftest suite files (.yaml) or folders that hold them"))])
    except OSError as exc:
        return SuiteLoad(None, [SuiteProblem(file, 0, 0, _("cannot read the file: {error}").format(error=exc.strerror),
                                             _("check its permissions"))])
    data = document.data
    if not isinstance(data, dict) or "cases" not in data:
        if not explicit:
            return SuiteLoad(None, [], is_suite=False)
        return SuiteLoad(None, [SuiteProblem(file, 1, 1, _("this file is not a suite: it has no top-level 'cases' list"),
                                             _("add cases:, or point scftest at a suite file or folder"))])
    warnings = tuple(SuiteWarning(file, w.mark.line, w.mark.col, w.message, w.hint) for w in document.warnings)
    if isinstance(document.parts, CaseTaker) and document.parts.took_cases:
        suite, problems = document.parts.finish(data)
    else:
        suite, problems = check_and_build(data, document.source)
    return SuiteLoad(suite, problems, warnings=warnings)


def check_and_build(data: dict, source: SourceMap) -> Tuple[Optional[Suite], List[SuiteProblem]]:
    """The suite of a document read whole: every check of all of it, then (with no
    problem) its build. What CaseTaker gives a case at a time is this, to the problem."""
    problems, misplaced = misplaced_tags(data, source)
    problems += schema_problems(data, source, misplaced) + value_problems(data, source)
    if problems:
        return None, sorted(problems, key=lambda p: (p.line, p.col))
    return build_suite(data, source)


# What building a case reads from the rest of the document: read after the cases, it
# was not there when they were built.
BUILD_KEYS = ("name", "function", "matrix")


class CaseTaker:
    """Checks each written case as the reader reads it, builds its cases, and lets the
    written data go (the reader keeps nothing of it: its ``cases`` list stays empty).

    The problems are the ones the whole document's checks give: a case with problems is
    not built, and once any case has some, none is (as the whole document's checks stop
    before building). What is outside the cases is checked before the first case is
    built, and again whole at the end (``finish``), where its problems are reported."""

    def __init__(self, source: SourceMap):
        self.source = source
        self.problems: List[SuiteProblem] = []  # the cases' own
        self.builder: Optional[SuiteBuilder] = None
        self.head_failed = False  # what was read before the cases has problems: nothing is built
        self.head_keys: Tuple[str, ...] = ()  # the head's BUILD_KEYS when the first case was built
        self.took_cases = False

    def item(self, key: str, index: int, value: Any, head: Mapping[str, Any]) -> Any:
        if key != "cases":
            return value
        self.took_cases = True
        problems, misplaced = misplaced_tags(value, self.source, ("cases", index))
        problems += case_schema_problems(index, value, self.source, misplaced)
        problems += case_value_problems(index, value, self.source)
        self.problems += problems
        if self.builder is None and not self.head_failed and not self.problems:
            self.head_failed = bool(self._head_problems(head))
            if not self.head_failed:
                self.builder = SuiteBuilder(head, self.source)
                self.head_keys = tuple(k for k in BUILD_KEYS if k in head)
        if self.builder is not None and not self.problems:
            self.builder.add(index, value)
        return LET_GO

    def _head_problems(self, head: Mapping[str, Any]) -> List[SuiteProblem]:
        """The checks' problems outside the cases (``head``: the document without them)."""
        problems, misplaced = misplaced_tags(head, self.source)
        return problems + schema_problems({**head, "cases": []}, self.source, misplaced)

    def fits(self, data: Mapping[str, Any]) -> bool:
        """Whether the cases were built with everything they need (see BUILD_KEYS)."""
        return self.builder is None or self.head_keys == tuple(k for k in BUILD_KEYS if k in data)

    def finish(self, data: Mapping[str, Any]) -> Tuple[Optional[Suite], List[SuiteProblem]]:
        """The suite, or None and the problems of the whole document."""
        head = {key: value for key, value in data.items() if key != "cases"}
        problems = self._head_problems(head) + self.problems
        if problems:
            return None, sorted(problems, key=lambda p: (p.line, p.col))
        if self.builder is None:  # cases: [] (the head's problems come from building it)
            self.builder = SuiteBuilder(head, self.source)
        return self.builder.finish(data.get("description", ""))


def load_paths(paths: Iterable[Path]) -> LoadResult:
    paths = list(paths)
    explicit = {_real(p) for p in paths}  # named on the command line, not found in a folder
    files, problems, passed_over = find_suite_files(paths)
    result = LoadResult(problems=problems, passed_over=passed_over)
    for file in files:
        loaded = read_suite(file, explicit=_real(file) in explicit)
        result.problems.extend(loaded.problems)
        result.warnings.extend(loaded.warnings)
        if loaded.suite is not None:
            result.suites.append(loaded.suite)
        elif not loaded.is_suite:
            result.passed_over.append(PassedOver(file, _("no top-level 'cases' key, not a suite")))
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
