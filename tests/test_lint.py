"""The lint gate: ruff, configured in pyproject.toml, is clean on the whole tree."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def _ruff():
    try:
        import ruff  # noqa: F401 (installed by the test extra)
    except ImportError:
        found = shutil.which("ruff")
        if found is None:
            pytest.skip("ruff is not installed: pip install -e '.[test]' brings it")
        return [found]
    return [sys.executable, "-m", "ruff"]


def test_ruff_is_clean_on_the_tree():
    proc = subprocess.run(_ruff() + ["check", "--no-cache", "."], cwd=str(REPO),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.returncode == 0, proc.stdout
