"""An execution role bound to the function (contract 1.1 ``role:``): the credentials SCF
hands the function as environment variables (scf-runtime.md "Environment the function
sees": TENCENTCLOUD_SECRETID / SECRETKEY / SESSIONTOKEN appear only when the function has
a role), and which key of ``role:`` gives each.
"""

from __future__ import annotations

from typing import Dict, Mapping

# The key of ``role:`` -> the variable the function reads it from.
ROLE_VARIABLES = {
    "secret_id": "TENCENTCLOUD_SECRETID",
    "secret_key": "TENCENTCLOUD_SECRETKEY",
    "session_token": "TENCENTCLOUD_SESSIONTOKEN",  # optional: temporary credentials only
}


def role_environment(role: Mapping[str, str]) -> Dict[str, str]:
    """The variables of a role whose values are resolved (``!env`` read already)."""
    return {ROLE_VARIABLES[key]: value for key, value in role.items() if key in ROLE_VARIABLES}
