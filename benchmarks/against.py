"""The same benchmark script run on another checkout's scftest, for side-by-side figures
(the ``--against TREE`` of includes.py and runner_cpu.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Sequence


def figures_of(tree: str, script: str, arguments: Sequence[str]) -> Any:
    """Runs ``script`` with ``arguments`` (which must make it print its figures as JSON)
    importing scftest from ``tree``; the figures it printed."""
    done = subprocess.run([sys.executable, script, *arguments],
                          env=dict(os.environ, PYTHONPATH=str(Path(tree).resolve())),
                          capture_output=True, text=True, check=True)
    return json.loads(done.stdout)
