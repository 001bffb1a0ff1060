"""The functions ``scftest deps`` audits: one per code root, runtime and layers, from the
cases of suites or from code folders given directly."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, Iterable, List, Sequence, Tuple

from scftest.deps.scan import SKIPPED_DIRS
from scftest.errors import UsageError
from scftest.i18n import _
from scftest.model import RUNTIME_DEFAULT, Suite

CODE_RUNTIME_DEFAULT = RUNTIME_DEFAULT  # the runtime of a code folder given without --for, as of a suite


@dataclass(frozen=True)
class Target:
    """A function as the cloud would deploy it, for an import audit."""

    code_root: Path
    runtime: str
    handlers: Tuple[str, ...] = ()  # e.g. index.main_handler, src/report.daily
    layers: Tuple[Path, ...] = ()  # in order: /opt
    suites: Tuple[Path, ...] = ()  # the suite files whose cases use it (none: given directly)

    def entry_files(self) -> Tuple[Path, ...]:
        """The files the handlers name: ``src/report.daily`` -> code_root/src/report.py."""
        files = []
        for handler in self.handlers:
            module, _, _ = handler.rpartition(".")
            if module:
                files.append(self.code_root / f"{module}.py")
        return tuple(dict.fromkeys(files))

    def handler_folders(self) -> Tuple[Path, ...]:
        """The entry files' folders below the code root: the bootstrap puts each on sys.path."""
        return tuple(dict.fromkeys(f.parent for f in self.entry_files() if f.parent != self.code_root))


def from_suites(suites: Iterable[Suite]) -> List[Target]:
    """One target per distinct (code root, runtime, layers) of the suites' cases, with every
    handler and suite file that uses it, in the order first met."""
    found: Dict[Tuple[Path, str, Tuple[Path, ...]], Target] = {}
    for suite in suites:
        for case in suite.cases:
            spec = case.function
            layers = tuple(spec.layers)
            key = (spec.code, spec.runtime, layers)
            before = found.get(key, Target(spec.code, spec.runtime, (), layers, ()))
            found[key] = Target(spec.code, spec.runtime, _add(before.handlers, spec.handler), layers,
                                _add(before.suites, suite.file))
    return list(found.values())


def given(folders: Sequence[Path]) -> List[Target]:
    """Code folders named on the command line, on the default runtime (``--for`` retargets them)."""
    return [Target(folder.resolve(), CODE_RUNTIME_DEFAULT) for folder in folders]


def retarget(targets: Sequence[Target], runtimes: Sequence[str], layers: Sequence[Path]) -> List[Target]:
    """``--for`` and ``--layer``: each target once per runtime given (its own when none), with
    the extra layers after its own; duplicates left out."""
    extra = tuple(layer.resolve() for layer in layers)
    found: Dict[Tuple[Path, str, Tuple[Path, ...]], Target] = {}
    for target in targets:
        for runtime in runtimes or [target.runtime]:
            key = (target.code_root, runtime, target.layers + extra)
            before = found.get(key)
            found[key] = Target(target.code_root, runtime,
                                _merge(before.handlers if before else (), target.handlers), key[2],
                                _merge(before.suites if before else (), target.suites))
    return list(found.values())


def _merge(items: Tuple, more: Tuple) -> Tuple:
    for item in more:
        items = _add(items, item)
    return items


def _add(items: Tuple, item) -> Tuple:
    return items if item in items else items + (item,)


def refuse_python_files(paths: Sequence[Path]) -> None:
    """A Python file given to ``scftest deps`` is a UsageError: its folder is meant, and which
    folder is the code root only the user knows."""
    for path in paths:
        if path.suffix == ".py" and path.is_file():
            raise UsageError(_("{path} is a Python file: give its code folder (what the zip's root would be), "
                               "e.g. scftest deps {folder}").format(path=path, folder=path.parent))


def code_folders(paths: Sequence[Path], suites: Sequence[Suite]) -> List[Path]:
    """The folders given that hold Python files and no suite: functions' code. A YAML file
    that is no suite (serverless.yml, a CI file) does not make a folder a suite folder."""
    found = []
    for path in paths:
        if not path.is_dir() or any(is_below(suite.file, path) for suite in suites):
            continue
        if any(file.suffix == ".py" for file in _files(path)):
            found.append(path)
    return found


def is_below(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or inside it (both made absolute, links resolved)."""
    try:
        Path(os.path.realpath(path)).relative_to(os.path.realpath(folder))
        return True
    except ValueError:
        return False


def _files(folder: Path) -> Iterable[Path]:
    for here, dirs, files in os.walk(folder, followlinks=False):
        dirs[:] = [d for d in dirs if d not in SKIPPED_DIRS]
        for name in files:
            yield Path(here) / name
