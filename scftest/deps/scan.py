"""What a code root holds, read without running anything: its Python files and their
imports, its compiled extension files, and the distributions vendored into it."""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass
from email.parser import HeaderParser
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from scftest.deps import _imports

# Folders that are never part of what a function imports (tools' and editors' clutter).
SKIPPED_DIRS = frozenset({"__pycache__", ".git", ".hg", ".svn", ".venv", "venv", "node_modules", ".tox",
                          ".nox", ".mypy_cache", ".pytest_cache", ".idea", ".vscode"})
EXTENSION_ENDINGS = (".so", ".pyd")
_VERSION = re.compile(r"""^__version__\s*=\s*(?:u|b)?['"]([^'"]+)['"]""", re.MULTILINE)
_VERSION_FILES = ("__init__.py", "__version__.py", "_version.py", "version.py")


@dataclass(frozen=True)
class Import:
    """One import statement (or literal dynamic import) of a file in a code root."""

    file: Path  # absolute
    line: int
    module: str  # dotted; "" for ``from . import x``
    names: Tuple[str, ...]  # what ``from module import`` takes
    level: int  # leading dots of a relative import
    guard: str  # "try": under try/except ImportError; "if": under an if on the Python version or platform
    kind: str  # import | from | dynamic
    lazy: bool  # inside a function: imported when it is called


@dataclass(frozen=True)
class Unparsable:
    """A Python file neither the runner's nor the runtime's interpreter can parse."""

    file: Path
    line: int
    reason: str


@dataclass(frozen=True)
class Vendored:
    """A distribution copied into the code root: its name, version and top-level modules."""

    name: str
    version: str
    top_levels: Tuple[str, ...]
    evidence: Path  # the METADATA / PKG-INFO / __version__ file the version was read from


@dataclass(frozen=True)
class Tree:
    """A code root's files, as found on disk (paths absolute)."""

    root: Path
    python_files: Tuple[Path, ...]
    extensions: Tuple[Path, ...]
    metadata: Tuple[Path, ...]  # *.dist-info and *.egg-info folders


def walk(root: Path) -> Tree:
    """Every Python file, extension file and distribution record under ``root``, in a stable
    order. Links are not followed into folders (a link to / or back up would never end)."""
    python_files: List[Path] = []
    extensions: List[Path] = []
    metadata: List[Path] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        here = Path(folder)
        keep = []
        for name in sorted(dirs):
            if name.endswith((".dist-info", ".egg-info")):
                metadata.append(here / name)
            elif name not in SKIPPED_DIRS:
                keep.append(name)
        dirs[:] = keep
        for name in sorted(files):
            if not name.endswith((".py",) + EXTENSION_ENDINGS) or not _regular(here / name):
                continue
            (python_files if name.endswith(".py") else extensions).append(here / name)
    return Tree(root, tuple(python_files), tuple(extensions), tuple(metadata))


def _regular(path: Path) -> bool:
    # A FIFO or device named x.py would block the read forever; a dangling link has nothing.
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except (OSError, ValueError):
        return False


def parse_here(files: Sequence[Path]) -> Tuple[List[Import], List[Path]]:
    """The imports of ``files`` parsed by the runner's ``ast``, and the files it could not parse
    (Python 2 syntax, say) for the runtime's interpreter to try."""
    found: List[Import] = []
    others: List[Path] = []
    for file in files:
        try:
            source = file.read_bytes()
            found.extend(_imports_of(file, _imports.imports_in(source, str(file))))
        except (SyntaxError, ValueError, RecursionError, MemoryError, OSError):
            others.append(file)
    return found, others


def from_answer(answer: Dict[str, Dict]) -> Tuple[List[Import], List[Unparsable]]:
    """The runtime interpreter's answer for the files the runner could not parse."""
    found: List[Import] = []
    bad: List[Unparsable] = []
    for name, result in answer.items():
        file = Path(name)
        if "imports" in result:
            found.extend(_imports_of(file, [tuple(item) for item in result["imports"]]))
        else:
            bad.append(Unparsable(file, int(result.get("line") or 0), str(result.get("error", "cannot be parsed"))))
    return found, bad


def _imports_of(file: Path, items) -> List[Import]:
    return [Import(file, int(line), str(module), tuple(names), int(level), str(guard), str(kind), bool(lazy))
            for line, module, names, level, guard, kind, lazy in items]


# --- what is vendored -------------------------------------------------------------------


def vendored(tree: Tree) -> List[Vendored]:
    """Distributions at the top of the code root: from their ``*.dist-info/METADATA`` (or
    ``*.egg-info/PKG-INFO``), else a top-level package's ``__version__``."""
    found: List[Vendored] = []
    covered = set()
    for folder in tree.metadata:
        if folder.parent != tree.root:
            continue
        record = _distribution(folder)
        if record is not None:
            found.append(record)
            covered.update(record.top_levels)
    for entry in _top_level_packages(tree.root):
        if entry.name not in covered:
            version = _version_attribute(entry)
            if version is not None:
                found.append(Vendored(entry.name, version[0], (entry.name,), version[1]))
    return found


def _distribution(folder: Path) -> Optional[Vendored]:
    info = folder / ("METADATA" if folder.name.endswith(".dist-info") else "PKG-INFO")
    try:
        headers = HeaderParser().parsestr(info.read_text(encoding="utf-8", errors="replace"))
    except OSError:
        return None
    name, version = headers.get("Name"), headers.get("Version")
    if not name or not version:
        return None
    return Vendored(name.strip(), version.strip(), _top_levels(folder, name.strip()), info)


def _top_levels(folder: Path, name: str) -> Tuple[str, ...]:
    try:
        listed = [line.strip() for line in (folder / "top_level.txt").read_text(encoding="utf-8").splitlines()]
        names = [line.replace("/", ".").split(".")[0] for line in listed if line]
        if names:
            return tuple(dict.fromkeys(names))
    except (OSError, UnicodeDecodeError):
        pass
    try:  # RECORD: the files pip installed, the first part of each path a top-level name
        lines = (folder / "RECORD").read_text(encoding="utf-8").splitlines()
        names = [line.split(",")[0].split("/")[0] for line in lines]
        names = [n[:-3] if n.endswith(".py") else n for n in names
                 if n and not n.endswith((".dist-info", ".data")) and n != ".." and not n.startswith("__pycache__")]
        if names:
            return tuple(dict.fromkeys(n.split(".")[0] for n in names))
    except (OSError, UnicodeDecodeError):
        pass
    return (re.sub(r"[-.]+", "_", name).lower(),)


def _top_level_packages(root: Path) -> List[Path]:
    try:
        return sorted(p for p in root.iterdir() if p.is_dir() and (p / "__init__.py").is_file())
    except OSError:
        return []


def _version_attribute(package: Path) -> Optional[Tuple[str, Path]]:
    for name in _VERSION_FILES:
        file = package / name
        try:
            text = file.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        match = _VERSION.search(text)
        if match:
            return match.group(1), file
    return None


def future_absolute_import(imports: Sequence[Import]) -> bool:
    """Whether a Python 2 file has ``from __future__ import absolute_import``."""
    return any(i.module == "__future__" and "absolute_import" in i.names for i in imports)

