"""SCF's results through the real CLI on the real interpreters (2.7, 3.6, 3.10): one case
covers every runtime (error.type matching a base class), both reports carry what the
cloud would say."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

from conftest import HANDLERS, needs, run_scftest

pytestmark = needs("2.7", "3.6", "3.10")

MATRIX = "matrix:\n  runtime: [Python2.7, Python3.6, Python3.10]\n"


def suite(tmp_path: Path, body: str, function: str = "", name: str = "suite.yaml") -> Path:
    text = (f"function:\n  code: {HANDLERS / 'basic'}\n  handler: index.hello\n"
            + textwrap.indent(textwrap.dedent(function), "  ") + MATRIX + "cases:\n"
            + textwrap.indent(textwrap.dedent(body), "  "))
    (tmp_path / name).write_text(text)
    return tmp_path / name


def run(tmp_path: Path, *args: str, env_extra=None):
    done = run_scftest(tmp_path, "run", ".", "--json", "report.json", *args, env_extra=env_extra)
    report = json.loads((tmp_path / "report.json").read_text())
    return done, {case["name"]: case for case in report["cases"]}


def test_error_type_names_a_base_class_on_every_runtime(tmp_path):
    suite(tmp_path, """\
        - name: a missing module is an ImportError
          code: {missing}
          handler: missing_dep.main_handler
          expect: {{error: {{type: ImportError, message: not_a_module_scftest}}}}
        - name: a handler's own class is a LookupError
          handler: index.raises_subclass
          expect: {{error: {{type: LookupError}}}}
        - name: a KeyError is a LookupError
          handler: index.raises_key_error
          expect: {{error: {{type: LookupError}}}}
        - name: builtins names the base on Python 2 too
          handler: index.raises_subclass
          expect: {{error: {{type: builtins.Exception}}}}
        - name: a sibling class does not hold
          handler: index.raises_subclass
          expect: {{error: {{type: KeyError}}}}
        """.format(missing=HANDLERS / "importfail"))
    done, cases = run(tmp_path)
    assert done.returncode == 1, done.stdout + done.stderr
    for runtime in ("Python2.7", "Python3.6", "Python3.10"):
        for name in ("a missing module is an ImportError", "a handler's own class is a LookupError",
                     "a KeyError is a LookupError",
                     "builtins names the base on Python 2 too"):
            assert cases[f"{name} [{runtime}]"]["verdict"] == "passed", cases[f"{name} [{runtime}]"]
        sibling = cases[f"a sibling class does not hold [{runtime}]"]
        assert sibling["verdict"] == "failed"
        assert sibling["summary"] == "expected KeyError, got OrderMissing: order 42"
        # The 2.7/3.6 bootstrap loads the handler file under an empty module name (profiles.py).
        module = "" if runtime in ("Python2.7", "Python3.6") else "index."
        assert module + "OrderError" in sibling["record"]["error"]["mro"]


def test_status_code_and_the_clouds_error_results_in_both_reports(tmp_path):
    suite(tmp_path, """\
        - name: a missing function is 437
          handler: index.nofunc
          expect: {{status_code: 437}}
        - name: an import failure is 443
          code: {importfail}
          expect: {{status_code: 443, error: {{type: NameError}}}}
        - name: a raised MemoryError is 430
          handler: index.raises_memory_error
          expect: {{status_code: 430, error: {{type: MemoryError}}}}
        - name: an async event over 128 KB is refused
          invocation: async
          event: {{data: "{big}"}}
          expect: {{status_code: 406}}
        - name: the wrong code fails
          handler: index.nofunc
          expect: {{status_code: 443}}
        """.format(importfail=HANDLERS / "importfail", big="x" * (128 * 1024)))
    done, cases = run(tmp_path, "--junit-xml", "junit.xml")
    assert done.returncode == 1, done.stdout + done.stderr
    for runtime in ("Python2.7", "Python3.6", "Python3.10"):
        for name in ("a missing function is 437", "an import failure is 443", "a raised MemoryError is 430",
                     "an async event over 128 KB is refused"):
            assert cases[f"{name} [{runtime}]"]["verdict"] == "passed", cases[f"{name} [{runtime}]"]
        refused = cases[f"an async event over 128 KB is refused [{runtime}]"]["record"]
        assert json.loads(refused["error_result"])["statusCode"] == 406 and refused["log"] == ""
        loaded = cases[f"an import failure is 443 [{runtime}]"]["record"]
        assert json.loads(loaded["error_result"])["errorCode"] == 1
        wrong = cases[f"the wrong code fails [{runtime}]"]
        assert wrong["verdict"] == "failed"
        assert wrong["summary"].startswith("expected status code 443 (user code failed while loading), "
                                           "got 437 (handler not found): AttributeError: module 'index' has no "
                                           "attribute 'nofunc'")
        assert wrong["mismatches"][0]["expected"] == 443 and wrong["mismatches"][0]["actual"] == 437
    junit = (tmp_path / "junit.xml").read_text()
    assert "expected status code 443 (user code failed while loading), got 437 (handler not found)" in junit
    assert "expected status code 443" in done.stdout


ROLE_ENV = {"RESULTS13_ID": "AKIDresults13id0001", "RESULTS13_KEY": "results13-secret-key-0002",
            "RESULTS13_TOKEN": "results13-session-token-0003"}
ROLE_FUNCTION = """\
role:
  secret_id: !env RESULTS13_ID
  secret_key: !env RESULTS13_KEY
  session_token: !env RESULTS13_TOKEN
"""


def test_a_role_gives_the_function_its_credentials_masked_everywhere(tmp_path):
    suite(tmp_path, """\
        - name: sees the role
          handler: index.role_credentials
          expect:
            return_includes:
              lengths: {TENCENTCLOUD_SECRETID: 19, TENCENTCLOUD_SECRETKEY: 25, TENCENTCLOUD_SESSIONTOKEN: 28}
            log: ["credentials: [('TENCENTCLOUD_SECRETID', "]
        - name: a case's own role, written plainly, without a token
          handler: index.role_credentials
          role: {secret_id: AKIDcaseplain0004, secret_key: case-plain-key-0005}
          expect:
            return_includes:
              lengths: {TENCENTCLOUD_SECRETID: 17, TENCENTCLOUD_SECRETKEY: 19, TENCENTCLOUD_SESSIONTOKEN: null}
        - name: no role
          handler: index.role_credentials
          role: null
          expect:
            return_includes:
              lengths: {TENCENTCLOUD_SECRETID: null, TENCENTCLOUD_SECRETKEY: null, TENCENTCLOUD_SESSIONTOKEN: null}
        - name: a failure shows no credential
          handler: index.role_credentials
          event: {raise: true}
          role: {secret_id: AKIDcaseplain0004, secret_key: case-plain-key-0005}
        """, function=ROLE_FUNCTION)
    done, cases = run(tmp_path, "--junit-xml", "junit.xml", "-vv", env_extra=ROLE_ENV)
    assert done.returncode == 1, done.stdout + done.stderr
    for runtime in ("Python2.7", "Python3.6", "Python3.10"):
        for name in ("sees the role", "a case's own role, written plainly, without a token", "no role"):
            assert cases[f"{name} [{runtime}]"]["verdict"] == "passed", cases[f"{name} [{runtime}]"]
        seen = cases[f"sees the role [{runtime}]"]["record"]
        assert seen["return"]["seen"] == {"TENCENTCLOUD_SECRETID": "***", "TENCENTCLOUD_SECRETKEY": "***",
                                          "TENCENTCLOUD_SESSIONTOKEN": "***"}
        # The context's environment carries the function's own variables, not the role's.
        assert "TENCENTCLOUD" not in seen["return"]["context_env"]
        failed = cases[f"a failure shows no credential [{runtime}]"]
        assert failed["verdict"] == "failed" and "rejected key ***" in failed["summary"]
    outputs = {"terminal": done.stdout + done.stderr, "json": (tmp_path / "report.json").read_text(),
               "junit": (tmp_path / "junit.xml").read_text()}
    for where, text in outputs.items():
        assert "***" in text, where
        for secret in list(ROLE_ENV.values()) + ["AKIDcaseplain0004", "case-plain-key-0005"]:
            assert secret not in text, (where, secret)


def test_the_role_variables_stay_reserved_and_point_to_role(tmp_path):
    by_hand = suite(tmp_path, """\
        - name: sets a credential by hand
          environment: {TENCENTCLOUD_SECRETKEY: abc}
        """, name="by_hand.yaml")
    half = suite(tmp_path, """\
        - name: a role without its key
          role: {secret_id: AKIDx}
        """, name="half.yaml")
    done = run_scftest(tmp_path, "validate", ".")
    assert done.returncode == 4, done.stdout + done.stderr
    text = done.stdout + done.stderr
    assert (f"{by_hand.name}:8:") in text and "the environment variable TENCENTCLOUD_SECRETKEY is the credential " \
        "of a function role" in text and "write it under role: instead" in text
    assert f"{half.name}:8:" in text and "role needs the key 'secret_key'" in text
