"""The project scftest runs in: its root and the ``[tool.scftest]`` table of pyproject.toml.

The root is the nearest folder, from the working directory up, with a pyproject.toml.
``[tool.scftest.runtimes]`` is read by ``scftest.runtimes``.
``scftest run`` without paths runs ``[tool.scftest] suites`` (a list of folders or files,
relative to the root), else the root's ``suites/`` folder, else the working directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional

from scftest.errors import ScftestError
from scftest.i18n import _
from scftest.scf.profiles import offered

try:
    import tomllib as _toml  # Python 3.11+
except ModuleNotFoundError:  # pragma: no cover - Python 3.9 / 3.10 install tomli with scftest
    import tomli as _toml  # type: ignore[no-redef]


class ProjectError(ScftestError, ValueError):
    """pyproject.toml cannot be read; the message names the file."""


@dataclass(frozen=True)
class Project:
    root: Optional[Path]
    config: Dict[str, Any] = field(default_factory=dict)  # the [tool.scftest] table

    def default_paths(self, cwd: Path) -> List[Path]:
        base = self.root or cwd
        listed = self.config.get("suites")
        if isinstance(listed, str):
            listed = [listed]
        if listed:
            return [base / p for p in listed]
        if (base / "suites").is_dir():
            return [base / "suites"]
        return [cwd]


def find_project(start: Path) -> Project:
    for folder in [start, *start.parents]:
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            return Project(folder, read_tool_table(pyproject))
    return Project(None, {})


def read_tool_table(pyproject: Path) -> Dict[str, Any]:
    """The ``[tool.scftest]`` table, its ``suites`` and ``runtimes`` checked for shape;
    ProjectError (naming the file and the key) when it cannot be used."""
    try:
        text = pyproject.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise ProjectError(_("{file}: not UTF-8 text ({reason}) — save it as UTF-8").format(
            file=pyproject, reason=exc.reason)) from None
    except OSError as exc:
        raise ProjectError(_("{file}: cannot read it: {error}").format(file=pyproject, error=exc.strerror or exc)) from None
    if "[tool.scftest" not in text:
        return {}
    try:
        data = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ProjectError(_("{file}: not valid TOML: {error}").format(file=pyproject, error=exc)) from None
    tool = data.get("tool", {})
    table = tool.get("scftest", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ProjectError(_("{file}: tool.scftest must be a table ([tool.scftest]), not {value}").format(
            file=pyproject, value=repr(table)))
    _check_suites(table.get("suites"), pyproject)
    _check_runtimes(table.get("runtimes"), pyproject)
    return table


def _check_suites(listed: Any, pyproject: Path) -> None:
    example = _("e.g. {example}").format(example='suites = ["suites", "more/suites"]')
    if listed is None:
        return
    items = [listed] if isinstance(listed, str) else listed
    if not isinstance(items, list):
        raise ProjectError(_("{file}: [tool.scftest] suites must be a folder or a list of folders, not {value} — "
                             "{example}").format(file=pyproject, value=repr(listed), example=example))
    for item in items:
        if not isinstance(item, str) or not item or "\x00" in item:
            raise ProjectError(_("{file}: [tool.scftest] suites holds {value}, which is not a path — each entry is "
                                 "a folder or file relative to the project, {example}").format(
                file=pyproject, value=repr(item), example=example))


OFFERED_LOWER = tuple(name.lower() for name in offered())


def _check_runtimes(table: Any, pyproject: Path, prefix: str = "") -> None:
    example = _("e.g. {table} followed by {line}").format(table="[tool.scftest.runtimes]",
                                                          line='"Python3.6" = "/opt/py36/bin/python"')
    if table is None:
        return
    if not isinstance(table, dict):
        raise ProjectError(_("{file}: [tool.scftest.runtimes] must be a table of runtime = path, not {value} — "
                             "{example}").format(file=pyproject, value=repr(table), example=example))
    for key, value in table.items():
        key = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):  # Python3.6 = ... without quotes is the table Python3 with a key 6
            _check_runtimes(value, pyproject, key)
        elif not isinstance(value, str) or not value or "\x00" in value:
            raise ProjectError(_('{file}: [tool.scftest.runtimes] "{key}" must be a path (a string), not {value} — '
                                 '{example}').format(file=pyproject, key=key, value=repr(value), example=example))
        elif key.lower().startswith("python") and key.lower() not in OFFERED_LOWER:
            raise ProjectError(_('{file}: [tool.scftest.runtimes] "{key}" is not a runtime SCF offers; '
                                 'the runtimes are: {runtimes}').format(file=pyproject, key=key,
                                                                        runtimes=", ".join(offered())))
