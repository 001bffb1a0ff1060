"""Runtime profiles: how each SCF Python runtime behaves, one frozen value per runtime.

The five runtimes SCF offers (Python 2.7, 3.6, 3.7, 3.9 and 3.10, doc 583/40323) each have a
profile, and they are the only runtimes a suite, ``--runtime`` or ``[tool.scftest.runtimes]``
may name (contract 1.1). The bootstrap still runs on 3.8 and 3.11+ (its tests run it there,
so a runtime SCF adds is one profile away): ``profile_for`` gives such an interpreter an
unoffered profile of the same shape.

For now every profile holds what scftest does today for all runtimes alike: the bootstrap
(_child.py) imports the entry file under its own name, gives the root logger a handler
writing the bare message to stdout and leaves its level at Python's default (WARNING),
preloads the modules the cloud runtime has imported before user code, and the log is
framed by results.LOG_FORMAT. scf-runtime.md records where the cloud differs (the 2.7
and 3.6 images import the entry file with an empty name and set the root logger to
DEBUG; recent logs show no ``Event`` line): a corrected fact is a change of one field
here, and the bootstrap then follows the profile (issue 13). tests/scf/test_profiles.py
checks each field against what the bootstrap really does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Dict, Optional, Tuple

from scftest.scf.limits import LIMITS, Limits
from scftest.scf.results import LOG_FORMAT, LogFormat

HANDLER_MODULE_FILE_NAME = "file name"  # index.py is imported as module "index"


@dataclass(frozen=True)
class RuntimeProfile:
    runtime: str  # the SCF spelling, e.g. Python3.6
    version: Tuple[int, int]  # (major, minor) of the interpreter it runs on
    offered: bool = True  # SCF offers the runtime
    handler_module: str = HANDLER_MODULE_FILE_NAME  # the name the entry file is imported under
    root_logger_stream: Optional[str] = "stdout"  # where the root logger's handler writes (None: no handler)
    root_logger_level: str = "WARNING"  # the root logger's level when user code starts
    preloaded: Tuple[str, ...] = ("json", "logging", "traceback", "decimal")  # imported before user code
    log: LogFormat = LOG_FORMAT
    limits: Limits = LIMITS


PROFILES: Dict[str, RuntimeProfile] = {
    profile.runtime: profile for profile in (
        RuntimeProfile("Python2.7", (2, 7)),
        RuntimeProfile("Python3.6", (3, 6)),
        RuntimeProfile("Python3.7", (3, 7)),
        RuntimeProfile("Python3.9", (3, 9)),
        RuntimeProfile("Python3.10", (3, 10)),
    )
}


def offered() -> Tuple[str, ...]:
    """The runtimes SCF offers, oldest first."""
    return tuple(PROFILES)


def profile_for(runtime: str) -> RuntimeProfile:
    """The profile of ``runtime`` (an SCF spelling, ``Python3.N``): its own when SCF offers
    it, else today's behaviour under that name, ``offered=False``."""
    if runtime in PROFILES:
        return PROFILES[runtime]
    major, _, minor = runtime[len("Python"):].partition(".")
    version = (int(major), int(minor)) if major.isdigit() and minor.isdigit() else (0, 0)
    return replace(PROFILES["Python3.10"], runtime=runtime, version=version, offered=False)
