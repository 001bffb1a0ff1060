"""role: (contract 1.1) from function:, replaced per case, removed with role: null; !env
allowed in it; a NUL is a problem at its line."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from scftest.instance import Interpreter
from scftest.load.loader import load_suite
from scftest.model import EnvRef
from scftest.scf.role import ROLE_VARIABLES, role_environment
from scftest.session import prepare


def suite(tmp_path: Path, text: str) -> Path:
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "index.py").write_text("def main_handler(e, c):\n    return 1\n")
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_a_role_from_function_replaced_or_removed_per_case(tmp_path):
    loaded, problems, _ = load_suite(suite(tmp_path, """\
        function:
          code: fn
          handler: index.main_handler
          role: {secret_id: !env CI_ID, secret_key: !env CI_KEY}
        cases:
          - name: inherits
          - name: its own
            role: {secret_id: plain-id, secret_key: plain-key, session_token: !env CI_TOKEN}
          - name: none
            role: null
    """))
    assert not problems, [str(p) for p in problems]
    inherits, own, none = loaded.cases
    assert inherits.function.role == {"secret_id": EnvRef("CI_ID"), "secret_key": EnvRef("CI_KEY")}
    assert own.function.role == {"secret_id": "plain-id", "secret_key": "plain-key",
                                 "session_token": EnvRef("CI_TOKEN")}
    assert none.function.role is None


def test_role_values_are_secrets_and_become_the_tencentcloud_variables(tmp_path):
    loaded, problems, _ = load_suite(suite(tmp_path, """\
        function:
          code: fn
          handler: index.main_handler
          role: {secret_id: plain-id, secret_key: !env CI_KEY}
        cases:
          - name: a
          - name: missing
            role: {secret_id: x, secret_key: !env NOT_SET_RESULTS13}
    """))
    assert not problems, [str(p) for p in problems]
    found, missing = loaded.cases
    spec, _ = prepare(found, _Resolver(), {"CI_KEY": "from-the-runner"})
    assert spec.credentials == {"TENCENTCLOUD_SECRETID": "plain-id", "TENCENTCLOUD_SECRETKEY": "from-the-runner"}
    assert set(spec.secrets) == {"plain-id", "from-the-runner"}
    outcome = prepare(missing, _Resolver(), {})
    assert outcome.verdict == "error" and "NOT_SET_RESULTS13" in outcome.summary
    assert role_environment({"secret_id": "a", "session_token": "t"}) == {
        ROLE_VARIABLES["secret_id"]: "a", "TENCENTCLOUD_SESSIONTOKEN": "t"}


def test_a_nul_or_a_misplaced_env_in_a_role_is_a_problem_at_its_line(tmp_path):
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - name: a
            role: {secret_id: "a\\0b", secret_key: k}
    """)
    _, problems, _ = load_suite(path)
    assert any(str(p).startswith(f"{path}:4:") and "role.secret_id contains a NUL" in str(p) for p in problems), \
        [str(p) for p in problems]
    path = suite(tmp_path, """\
        function: {code: fn, handler: index.main_handler}
        cases:
          - name: a
            role: {secret_id: {nested: !env X}, secret_key: k}
    """)
    _, problems, _ = load_suite(path)
    assert any(str(p).startswith(f"{path}:4:") and "only allowed as a value under environment: or role:" in str(p)
               for p in problems), [str(p) for p in problems]


class _Resolver:
    """Any runtime resolves to the runner's own interpreter (prepare only records it)."""

    def resolve(self, runtime):
        return Interpreter(runtime, sys.executable, "3.11.0")
