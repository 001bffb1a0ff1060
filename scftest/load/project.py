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
        raise ProjectError(f"{pyproject}: not UTF-8 text ({exc.reason}) — save it as UTF-8") from None
    except OSError as exc:
        raise ProjectError(f"{pyproject}: cannot read it: {exc.strerror or exc}") from None
    if "[tool.scftest" not in text:
        return {}
    try:
        data = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ProjectError(f"{pyproject}: not valid TOML: {exc}") from None
    tool = data.get("tool", {})
    table = tool.get("scftest", {}) if isinstance(tool, dict) else {}
    if not isinstance(table, dict):
        raise ProjectError(f"{pyproject}: tool.scftest must be a table ([tool.scftest]), not {table!r}")
    _check_suites(table.get("suites"), pyproject)
    _check_runtimes(table.get("runtimes"), pyproject)
    return table


def _check_suites(listed: Any, pyproject: Path) -> None:
    example = 'e.g. suites = ["suites", "more/suites"]'
    if listed is None:
        return
    items = [listed] if isinstance(listed, str) else listed
    if not isinstance(items, list):
        raise ProjectError(f"{pyproject}: [tool.scftest] suites must be a folder or a list of folders, "
                           f"not {listed!r} — {example}")
    for item in items:
        if not isinstance(item, str) or not item or "\x00" in item:
            raise ProjectError(f"{pyproject}: [tool.scftest] suites holds {item!r}, which is not a path — "
                               f"each entry is a folder or file relative to the project, {example}")


OFFERED_LOWER = tuple(name.lower() for name in offered())


def _check_runtimes(table: Any, pyproject: Path, prefix: str = "") -> None:
    example = 'e.g. [tool.scftest.runtimes] followed by "Python3.6" = "/opt/py36/bin/python"'
    if table is None:
        return
    if not isinstance(table, dict):
        raise ProjectError(f"{pyproject}: [tool.scftest.runtimes] must be a table of runtime = path, "
                           f"not {table!r} — {example}")
    for key, value in table.items():
        key = f"{prefix}.{key}" if prefix else key
        if isinstance(value, dict):  # Python3.6 = ... without quotes is the table Python3 with a key 6
            _check_runtimes(value, pyproject, key)
        elif not isinstance(value, str) or not value or "\x00" in value:
            raise ProjectError(f'{pyproject}: [tool.scftest.runtimes] "{key}" must be a path (a string), '
                               f"not {value!r} — {example}")
        elif key.lower().startswith("python") and key.lower() not in OFFERED_LOWER:
            raise ProjectError(f'{pyproject}: [tool.scftest.runtimes] "{key}" is not a runtime SCF offers; '
                               f"the runtimes are: {', '.join(offered())}")
