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
    text = pyproject.read_text(encoding="utf-8")
    if "[tool.scftest" not in text:
        return {}
    try:
        data = _toml.loads(text)
    except _toml.TOMLDecodeError as exc:
        raise ProjectError(f"{pyproject}: not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("scftest", {})
    return table if isinstance(table, dict) else {}
