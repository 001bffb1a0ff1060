"""What the function sees of the platform: the context dict and the process environment.

Both are built from plain values (no suite, no instance), so every backend builds them
the same way. The facts are scf-runtime.md's ("The context dict", "Environment the
function sees"); where the cloud's value is an account's own (region, appid, uin), the
default is a plausible one that a case's ``context:`` can override.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from dataclasses import dataclass, replace
from typing import Any, Dict, Iterable, List, Mapping, Optional

# Variable names a user cannot set: the platform sets them (scf-runtime.md).
RESERVED_PREFIXES = ("SCF_", "QCLOUD_", "TENCENTCLOUD_")

# What the generated context and the SCF variables say when the case does not override it.
DEFAULT_REGION = "ap-guangzhou"
DEFAULT_APPID = "1250000000"
DEFAULT_UIN = "100000000001"
DEFAULT_NAMESPACE = "default"
DEFAULT_VERSION = "$LATEST"


@dataclass(frozen=True)
class FunctionIdentity:
    """Who the function is, as its context and its SCF_* / TENCENTCLOUD_* variables say.

    These are facts of the deployed function, not of one request: an instance has one
    identity for all the invocations it serves."""

    name: str = "function"
    version: str = DEFAULT_VERSION
    namespace: str = DEFAULT_NAMESPACE
    region: str = DEFAULT_REGION
    appid: str = DEFAULT_APPID
    uin: str = DEFAULT_UIN


# The context keys that name the function (a case's ``context:`` may set them) and the
# identity field each one is.
IDENTITY_KEYS = {
    "function_name": "name",
    "function_version": "version",
    "namespace": "namespace",
    "tencentcloud_region": "region",
    "tencentcloud_appid": "appid",
    "tencentcloud_uin": "uin",
}


def identity_from_context(name: str, overrides: Mapping[str, Any]) -> FunctionIdentity:
    """The identity of a function called ``name`` whose case's ``context:`` is
    ``overrides``: a key of IDENTITY_KEYS there renames that part (as text)."""
    changes = {field: str(overrides[key]) for key, field in IDENTITY_KEYS.items() if key in overrides}
    return replace(FunctionIdentity(name=name), **changes)


def build_context(identity: FunctionIdentity, *, memory_mb: int, timeout_s: float,
                  request_id: str, environment: Mapping[str, str],
                  overrides: Mapping[str, Any]) -> Dict[str, Any]:
    """The context dict the handler receives, the case's ``context`` (``overrides``)
    merged over it, keys and values as given.

    ``environment`` and ``environ`` carry the declared variables and SCF_NAMESPACE, as the
    platform's sample shows (S9): '{"SCF_NAMESPACE":"default"}' and
    'SCF_NAMESPACE=default;SCF_NAMESPACE=default' for a function without variables, the
    namespace written twice in ``environ``, duplicate and all."""
    declared = {str(k): str(v) for k, v in environment.items()}
    declared["SCF_NAMESPACE"] = identity.namespace
    environ = [f"{k}={v}" for k, v in declared.items()] + [f"SCF_NAMESPACE={identity.namespace}"]
    context: Dict[str, Any] = {
        "memory_limit_in_mb": int(memory_mb),
        "time_limit_in_ms": int(round(timeout_s * 1000)),
        "request_id": request_id,
        "environment": json.dumps(declared, ensure_ascii=False, separators=(",", ":")),
        "environ": ";".join(environ),
        "function_version": identity.version,
        "function_name": identity.name,
        "namespace": identity.namespace,
        "tencentcloud_region": identity.region,
        "tencentcloud_appid": identity.appid,
        "tencentcloud_uin": identity.uin,
    }
    context.update(overrides)
    return context


# The function's process environment (S8, S20; each value's basis is in profiles.py's facts).
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
USER = "qcloud"
HOME = "/home/qcloud"
LANG = "en_US.UTF8"
TIMER_TRIGGER = "timer"  # a case's trigger that makes TRIGGER_SRC=timer
# UTF-8 locales, the cloud's first: LC_ALL is the first one this machine has.
UTF8_LOCALES = ("en_US.UTF-8", "C.UTF-8")


def pick_utf8_locale(available: Iterable[str]) -> str:
    """The first of UTF8_LOCALES that ``available`` (``locale -a``'s names, which glibc
    spells en_US.utf8 / C.utf8) holds; C.UTF-8 when none is listed (glibc 2.35+ has it
    built in, and Python 3.7+ falls back to UTF-8 mode under a C locale anyway)."""
    names = {_locale_key(name) for name in available}
    for wanted in UTF8_LOCALES:
        if _locale_key(wanted) in names:
            return wanted
    return UTF8_LOCALES[-1]


def _locale_key(name: str) -> str:
    language, _, codeset = name.strip().partition(".")
    return f"{language}.{codeset.lower().replace('-', '')}"


class Host:
    """What this machine gives the function's process that the environment must make up
    for, asked once per backend (its worker threads share the answers): the UTF-8 locale
    for LC_ALL (``locale -a``), and whether its local time (/etc/localtime, which a
    process without TZ uses) is UTC, as the cloud's is."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._locale: Optional[str] = None
        self._utc: Optional[bool] = None

    def utf8_locale(self) -> str:
        with self._lock:
            if self._locale is None:
                self._locale = pick_utf8_locale(_installed_locales())
            return self._locale

    def local_time_is_utc(self) -> bool:
        with self._lock:
            if self._utc is None:
                self._utc = _local_time_is_utc()
            return self._utc


def _installed_locales() -> List[str]:
    try:
        done = subprocess.run(["locale", "-a"], capture_output=True, timeout=10,
                              stdin=subprocess.DEVNULL, env={"PATH": SYSTEM_PATH})
    except (OSError, subprocess.SubprocessError):
        return []
    return done.stdout.decode("utf-8", "replace").split()


def _local_time_is_utc() -> bool:
    """A process without TZ: are its standard and daylight offsets both 0? (Asked of a
    fresh interpreter: the runner's own TZ may say otherwise.)"""
    try:
        done = subprocess.run([sys.executable, "-I", "-c", "import time; print(time.timezone, time.altzone)"],
                              capture_output=True, timeout=30, stdin=subprocess.DEVNULL, env={})
    except (OSError, subprocess.SubprocessError):
        return False
    return done.stdout.split() == [b"0", b"0"]


def build_environment(identity: FunctionIdentity, *, runtime: str,
                      environment: Mapping[str, str], code_root: str, tmp: str,
                      pythonpath: Optional[str] = None, timer: bool = False,
                      lc_all: str = UTF8_LOCALES[-1], local_time_is_utc: bool = True) -> Dict[str, str]:
    """The complete environment of the function's process, built from scratch.

    Layers, later wins: what the cloud's process has besides the SCF variables (a system
    PATH, LANG and LC_ALL, USER/LOGNAME/HOME/PWD, PYTHONPATH where the runtime's profile
    sets one: ``pythonpath`` with ``{code}`` for the code root), the declared
    ``environment`` (a user may set TZ, as in the cloud; TZ is there only then, or where
    this machine's local time is not UTC, the cloud's: then TZ=UTC), then the
    SCF runtime variables (users cannot set those in the cloud), TRIGGER_SRC=timer for a
    timer event (``timer``), and TMPDIR (``tmp``: a folder of the instance's own; scftest's
    addition). Nothing of the runner's environment gets through. ``code_root``: the code
    root as the function sees it (/var/user in a namespace), without a trailing slash.
    """
    env = {"PATH": SYSTEM_PATH, "LANG": LANG, "LC_ALL": lc_all, "USER": USER, "LOGNAME": USER,
           "HOME": HOME, "PWD": code_root}
    if pythonpath is not None:
        env["PYTHONPATH"] = pythonpath.replace("{code}", code_root)
    if not local_time_is_utc:
        env["TZ"] = "UTC"
    env.update({str(k): str(v) for k, v in environment.items()})
    env.update({
        "TMPDIR": tmp,
        "PYTHONDONTWRITEBYTECODE": "x",
        "TENCENTCLOUD_RUNENV": "SCF",
        "TENCENTCLOUD_TZ": "UTC",
        "USER_CODE_ROOT": code_root + "/",
        "SCF_RUNTIME": runtime,
        "SCF_FUNCTIONNAME": identity.name,
        "SCF_FUNCTIONVERSION": identity.version,
        "SCF_NAMESPACE": identity.namespace,
        "TENCENTCLOUD_REGION": identity.region,
        "TENCENTCLOUD_APPID": identity.appid,
        "TENCENTCLOUD_UIN": identity.uin,
    })
    if timer:
        env["TRIGGER_SRC"] = TIMER_TRIGGER
    return env
