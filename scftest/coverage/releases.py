"""Which coverage.py release measures which interpreter: the newest that supports it.

coverage 5.5 is the last with Python 2.7, 6.2 the last with 3.6, 7.2.7 the last with 3.7,
7.6.1 the last with 3.8; 3.9 and newer get one current 7.x. Every one of them gives line
and branch (arc) data and the same analysis calls (tests/coverage run each on its interpreter).
"""

from __future__ import annotations

from typing import Tuple

RELEASES = (
    ((2, 7), "5.5"),
    ((3, 6), "6.2"),
    ((3, 7), "7.2.7"),
    ((3, 8), "7.6.1"),
)
CURRENT = "7.10.7"  # Python 3.9 to 3.14


def python_version(version: str) -> Tuple[int, int]:
    """``3.6.15`` -> (3, 6)."""
    parts = version.split(".")
    return int(parts[0]), int(parts[1])


def release_for(version: str) -> str:
    """The coverage.py release for an interpreter of ``version`` (``2.7.18``, ``3.10.13``)."""
    wanted = python_version(version)
    for supported, release in RELEASES:
        if wanted == supported:
            return release
    if wanted < (3, 6):
        raise ValueError(f"no coverage.py release measures Python {version} (2.7 and 3.6+ are supported)")
    return CURRENT
