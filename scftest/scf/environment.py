"""What the function sees of the platform: the context dict and the process environment.

Both are built from plain values (no suite, no instance), so every backend builds them
the same way. The facts are scf-runtime.md's ("The context dict", "Environment the
function sees"); where the cloud's value is an account's own (region, appid, uin), the
default is a plausible one that a case's ``context:`` can override.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from typing import Any, Dict, Mapping

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
    merged over it, keys and values as given."""
    declared = {str(k): str(v) for k, v in environment.items()}
    context: Dict[str, Any] = {
        "memory_limit_in_mb": int(memory_mb),
        "time_limit_in_ms": int(round(timeout_s * 1000)),
        "request_id": request_id,
        "environment": json.dumps(declared, ensure_ascii=False, separators=(",", ":")),
        "environ": ";".join(f"{k}={v}" for k, v in declared.items()),
        "function_version": identity.version,
        "function_name": identity.name,
        "namespace": identity.namespace,
        "tencentcloud_region": identity.region,
        "tencentcloud_appid": identity.appid,
        "tencentcloud_uin": identity.uin,
    }
    context.update(overrides)
    return context


def build_environment(identity: FunctionIdentity, *, runtime: str,
                      environment: Mapping[str, str], code_root: str, home: str,
                      path: str) -> Dict[str, str]:
    """The complete environment of the function's process, built from scratch.

    Layers, later wins: what an interpreter needs (PATH, LANG, TZ), the declared
    ``environment`` (a user may set TZ, as in the cloud), then the SCF runtime variables
    (users cannot set those in the cloud) and HOME/TMPDIR (``home``: a folder of the
    instance's own). Nothing of the runner's environment gets through but ``path``.
    ``code_root``: the resolved code root, without a trailing slash.
    """
    env = {"PATH": path, "LANG": "en_US.UTF8", "TZ": "UTC"}
    env.update({str(k): str(v) for k, v in environment.items()})
    env.update({
        "HOME": home,
        "TMPDIR": home,
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
    return env
