"""Resolve every import of a function's code as the cloud would, and say what would fail.

The order is the cloud's ``sys.path``: the code root (``/var/user``) and the handler's folder,
the layers (``/opt``, in order), the runtime's standard library, the runtime's image. On
Python 2 a file in a package also sees its own folder first (implicit relative imports),
unless it has ``from __future__ import absolute_import``.

Findings are values (``Finding``); ``scftest.render`` turns them into text.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, FrozenSet, List, Optional, Sequence, Tuple

from scftest.deps import binaries, reach, scan, stdlib
from scftest.deps.targets import Target
from scftest.errors import ScftestError
from scftest.i18n import _
from scftest.model import SuiteProblem
from scftest.result import EXIT_FAILED, EXIT_NO_CASES, EXIT_OK, EXIT_USAGE
from scftest.scf import images
from scftest.scf.extensions import extension_suffixes

PROBLEM = "problem"
WARNING = "warning"
# Findings, by kind: what each means is in docs/dependencies.md ("Reading a deps report").
MISSING = "missing"  # the cloud cannot import it: a problem, unless excused
RELATIVE = "relative"  # a relative import with nothing at its target: a problem, unless excused
BINARY = "binary"  # a compiled extension the runtime cannot load: a problem
VERSION = "version"  # a vendored copy of an image library at another version: a warning
SYNTAX = "syntax"  # a file the runtime cannot parse: a problem for an entry file, else a warning

STDLIB, CODE, LAYER, IMAGE = "stdlib", "code", "layer", "image"
# Why an import the cloud cannot make is only a warning (Finding.excused):
TRY = "try"  # under try/except ImportError: the code expects it may fail
IF = "if"  # under an if on the Python version or platform: for another Python
VENDORED = "vendored"  # inside a function of a vendored distribution: an optional feature of it
UNREACHED = reach.UNREACHED  # in a file no handler imports
GUARDED_FILE = "guarded-file"  # in a file the handlers import only in one of the ways above


@dataclass(frozen=True)
class Finding:
    kind: str
    severity: str
    file: Path  # absolute
    line: int  # 0: the file as a whole
    module: str  # the module (or distribution) the finding is about
    detail: str = ""  # why (binary, syntax, relative), the vendored version (version)
    expected: str = ""  # the image's version (version); where else it exists (missing)
    excused: str = ""  # TRY, IF or VENDORED: why a missing or relative import is only a warning
    owner: str = ""  # the vendored distribution whose file it is in


@dataclass(frozen=True)
class FunctionReport:
    """The audit of one target."""

    target: Target
    interpreter: str = ""  # the runtime's interpreter asked for its standard library
    python_version: str = ""
    files: int = 0  # Python files read
    imports: int = 0  # import statements found
    modules: Tuple[Tuple[str, str], ...] = ()  # (top-level module, origin or "missing"), by name
    findings: Tuple[Finding, ...] = ()
    unchecked: str = ""  # why it could not be audited (no interpreter for the runtime)

    @property
    def problems(self) -> Tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == PROBLEM)

    @property
    def warnings(self) -> Tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.severity == WARNING)


@dataclass(frozen=True)
class DepsReport:
    functions: Tuple[FunctionReport, ...] = ()
    problems: Tuple[SuiteProblem, ...] = ()  # bad suites and paths: nothing of theirs was audited
    elapsed_s: float = 0.0

    @property
    def exit_code(self) -> int:
        """4 when a suite, path or runtime could not be read; else 1 for any problem; else 5
        when there was nothing to check; else 0."""
        if self.problems or any(f.unchecked for f in self.functions):
            return EXIT_USAGE
        if any(f.problems for f in self.functions):
            return EXIT_FAILED
        if not self.functions:
            return EXIT_NO_CASES
        return EXIT_OK


@dataclass(frozen=True)
class Places:
    """Where the cloud looks for a module, for one target."""

    code: Tuple[Path, ...]  # the code root, then the handlers' folders
    layers: Tuple[Path, ...]  # in the order searched: the last layer first
    stdlib: FrozenSet[str]
    image: images.Image
    version: Tuple[int, int]


Resolve = Callable[[str], "object"]  # runtime -> Interpreter (raises ScftestError)


@dataclass
class _Parsed:
    """One code root read once, whatever number of runtimes it is audited for."""

    tree: scan.Tree
    imports: List[scan.Import] = field(default_factory=list)
    others: List[Path] = field(default_factory=list)  # for the runtime's interpreter to parse


def audit(targets: Sequence[Target], resolve: Resolve, problems: Sequence[SuiteProblem] = (),
          cache: Optional[Path] = None) -> DepsReport:
    """Audit every target; ``resolve`` finds the interpreter of a runtime."""
    started = time.monotonic()
    parsed: Dict[Path, _Parsed] = {}
    reports = [_audit_one(target, resolve, parsed, cache) for target in targets]
    return DepsReport(tuple(reports), tuple(problems), time.monotonic() - started)


def _audit_one(target: Target, resolve: Resolve, parsed: Dict[Path, _Parsed], cache: Optional[Path]) -> FunctionReport:
    try:
        interpreter = resolve(target.runtime)
        names = stdlib.stdlib_names(interpreter.path, cache)
    except ScftestError as exc:
        return FunctionReport(target, unchecked=str(exc))
    version = _version(interpreter.version)
    if target.code_root not in parsed:
        tree = scan.walk(target.code_root)
        found, others = scan.parse_here(tree.python_files)
        parsed[target.code_root] = _Parsed(tree, found, others)
    code = parsed[target.code_root]
    try:
        extra, unparsable = scan.from_answer(stdlib.parse_with(interpreter.path, code.others))
    except ScftestError as exc:
        return FunctionReport(target, interpreter.path, interpreter.version, unchecked=str(exc))
    imports = sorted(code.imports + extra, key=lambda i: (str(i.file), i.line))
    # A later layer wins over an earlier one on the same path (as /opt is built): searched first.
    places = Places((target.code_root,) + target.handler_folders(), tuple(reversed(target.layers)), names,
                    _image(target.runtime), version)
    layer_trees = [scan.walk(layer) for layer in target.layers]
    findings: List[Finding] = []
    modules = _imports_findings(imports, places, code.tree, _entries(target, code.tree), findings)
    findings += _syntax_findings(unparsable, target)
    for tree in [code.tree] + layer_trees:
        findings += _binary_findings(tree, version)
        findings += _version_findings(tree, places.image)
    return FunctionReport(target, interpreter.path, interpreter.version, len(code.tree.python_files), len(imports),
                          tuple(sorted(modules.items())), tuple(findings))


def _entries(target: Target, tree: scan.Tree) -> List[Path]:
    """Where the cloud starts: the handlers' entry files; for a code folder given without a
    handler, every Python file at its top (any of them could be the entry file)."""
    if target.handlers:
        return [file for file in target.entry_files() if file.is_file()]
    return [file for file in tree.python_files if file.parent == tree.root]


def _version(text: str) -> Tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int(minor)


def _image(runtime: str) -> images.Image:
    try:
        return images.image(runtime)
    except images.UnknownRuntime:  # a runtime SCF does not offer (3.8, 3.11+): no image
        return images.Image(runtime, "", ())


# --- imports ----------------------------------------------------------------------------


def _imports_findings(imports: Sequence[scan.Import], places: Places, tree: scan.Tree, entries: Sequence[Path],
                      findings: List[Finding]) -> Dict[str, str]:
    owners = _installed_top_levels(tree)
    absolute_files = {i.file for i in imports if scan.future_absolute_import([i])}
    resolved = {item: _resolve(item, places, places.version[0] == 2 and item.file not in absolute_files)
                for item in imports}
    own = {item: item.guard or (VENDORED if item.lazy and _owner(item.file, tree.root, owners) else "")
           for item in imports}
    reached = reach.reach(entries, imports, lambda item: resolved[item].files, own.__getitem__)
    modules: Dict[str, str] = {}
    for item in imports:
        found = resolved[item]
        if not item.level:
            top = item.module.split(".")[0]
            if found.origin is not None and modules.get(top, MISSING) == MISSING:
                modules[top] = found.origin  # found once is found: `a` may resolve and `a.gone` not
            modules.setdefault(top, MISSING)
        if found.origin is not None:
            continue
        how = reached.get(item.file, UNREACHED)
        excused = own[item] or (GUARDED_FILE if how and how != UNREACHED else how)
        findings.append(Finding(RELATIVE if item.level else MISSING, WARNING if excused else PROBLEM, item.file,
                                item.line, _dotted(item), found.problem,
                                "" if item.level else _elsewhere(item.module, places.image.runtime),
                                excused, _owner(item.file, tree.root, owners)))
    return modules


@dataclass(frozen=True)
class _Resolved:
    origin: Optional[str]  # None: the cloud cannot import it
    problem: str = ""  # why a relative import finds nothing
    files: Tuple[Path, ...] = ()  # the code root's files the import runs


def _resolve(item: scan.Import, places: Places, implicit_relative: bool) -> _Resolved:
    if item.level:
        problem, base = _relative(item, places)
        if problem:
            return _Resolved(None, problem)
        return _Resolved(CODE, "", _files_run(base, item.module, item.names, places.version))
    origin = origin_of(item, places, implicit_relative)
    if origin != CODE:
        return _Resolved(origin)
    folders = ([item.file.parent] if implicit_relative and _in_package(item.file, places.code[0]) else [])
    for folder in folders + list(places.code):
        if exists(folder, item.module.split("."), places.version):
            return _Resolved(CODE, "", _files_run(folder, item.module, item.names, places.version))
    return _Resolved(CODE)


def _files_run(folder: Path, module: str, names: Sequence[str], version: Tuple[int, int]) -> Tuple[Path, ...]:
    """The source files ``from module import names`` (or ``import module``) runs from ``folder``:
    each package's ``__init__.py`` on the way, the module, and the names that are submodules."""
    parts = [part for part in module.split(".") if part]
    files = _module_files(folder, parts, version)
    for name in names:
        files += _module_files(folder, parts + [name], version)[len(parts):]
    return tuple(dict.fromkeys(files))


def _module_files(folder: Path, parts: Sequence[str], version: Tuple[int, int]) -> List[Path]:
    files: List[Path] = []
    here = folder
    for index, part in enumerate(parts):
        package = here / part
        init = package / "__init__.py"
        if package.is_dir() and (version[0] > 2 or init.is_file()):
            if init.is_file():
                files.append(init)
            here = package
            continue
        if index == len(parts) - 1 and (here / f"{part}.py").is_file():
            files.append(here / f"{part}.py")
        break
    return files


def origin_of(item: scan.Import, places: Places, implicit_relative: bool = False) -> Optional[str]:
    """Where the cloud finds the module ``item`` imports: code, layer, stdlib or image; None
    when nowhere."""
    parts = item.module.split(".")
    if implicit_relative and _in_package(item.file, places.code[0]) and exists(item.file.parent, parts, places.version):
        return CODE
    if any(exists(folder, parts, places.version) for folder in places.code):
        return CODE
    if any(exists(folder, parts, places.version) for folder in places.layers):
        return LAYER
    if parts[0] in places.stdlib:
        return STDLIB
    wanted = [item.module] + [f"{item.module}.{name}" for name in item.names]
    if any(places.image.provider(name) is not None for name in wanted):
        return IMAGE
    return None


def exists(folder: Path, parts: Sequence[str], version: Tuple[int, int]) -> bool:
    """Whether ``folder`` holds the module ``parts`` (``["a", "b"]`` for ``a.b``) for that Python:
    packages with ``__init__.py`` (or, on Python 3, namespace folders), ``.py`` files, and
    extension files the runtime loads."""
    here = folder
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        package = here / part
        if package.is_dir() and (version[0] > 2 or (package / "__init__.py").is_file()
                                 or (package / "__init__.pyc").is_file()):
            here = package
            continue
        if not last:
            return False
        return any((here / f"{part}{ending}").is_file()
                   for ending in (".py", ".pyc") + extension_suffixes(version))
    return True


def _in_package(file: Path, root: Path) -> bool:
    return file.parent != root and (file.parent / "__init__.py").is_file()


def _relative(item: scan.Import, places: Places) -> Tuple[str, Path]:
    """Why a relative import finds nothing ("" when it does), and the package it starts from."""
    root = places.code[0]
    base = item.file.parent
    if base == root or not _is_below(item.file, root):
        return _("a relative import in a file that is not inside a package of the code folder"), base
    for _level in range(item.level - 1):
        base = base.parent
    if not _is_below(base / "x", root) or base == root:
        return _("it goes {count} package level(s) up, above the code folder's packages").format(count=item.level), base
    if item.module:
        if exists(base, item.module.split("."), places.version):
            return "", base
        return _("there is no module {module} in the package {package}").format(
            module=item.module, package=_package(base, root)), base
    if (base / "__init__.py").is_file() or all(exists(base, [n], places.version) for n in item.names):
        return "", base
    return _("{package} is not a package (no __init__.py)").format(package=_package(base, root)), base


def _package(folder: Path, root: Path) -> str:
    return ".".join(folder.relative_to(root).parts)


def _is_below(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
        return True
    except ValueError:
        return False


def _dotted(item: scan.Import) -> str:
    return "." * item.level + item.module


def _installed_top_levels(tree: scan.Tree) -> Dict[str, str]:
    """Top-level name -> distribution, for what pip installed into the code root."""
    owners: Dict[str, str] = {}
    for record in scan.vendored(tree):
        if record.evidence.name in ("METADATA", "PKG-INFO"):
            owners.update((name, record.name) for name in record.top_levels)
    return owners


def _owner(file: Path, root: Path, owners: Dict[str, str]) -> str:
    try:
        first = file.relative_to(root).parts[0]
    except (ValueError, IndexError):
        return ""
    return owners.get(first[:-3] if first.endswith(".py") else first, "")


def _elsewhere(module: str, runtime: str) -> str:
    """Another runtime whose image has ``module`` (to say 'the Python3.6 image has it')."""
    for other in images.runtimes():
        if other != runtime and images.image(other).provider(module) is not None:
            return other
    return ""


# --- files ------------------------------------------------------------------------------


def _syntax_findings(unparsable: Sequence[scan.Unparsable], target: Target) -> List[Finding]:
    entries = set(target.entry_files())
    return [Finding(SYNTAX, PROBLEM if bad.file in entries else WARNING, bad.file, bad.line,
                    bad.file.stem, bad.reason) for bad in unparsable]


def _binary_findings(tree: scan.Tree, version: Tuple[int, int]) -> List[Finding]:
    return [Finding(BINARY, PROBLEM, bad.file, 0, bad.module, bad.reason)
            for bad in binaries.unloadable(tree.extensions, version)]


def _version_findings(tree: scan.Tree, image: images.Image) -> List[Finding]:
    findings = []
    for record in scan.vendored(tree):
        library = image.find(record.name) or next(
            (found for found in map(image.provider, record.top_levels) if found is not None), None)
        if library is None or library.pinned_version is None:
            continue
        if not images.same_version(record.version, library.pinned_version):
            findings.append(Finding(VERSION, WARNING, record.evidence, 0, record.name, record.version,
                                    library.version or library.pinned_version))
    return findings
