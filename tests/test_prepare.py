"""session.Preparer: a run resolves each function once (interpreter, environment, role,
image folder) and makes the per-case parts (identity, request) for every case."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

from scftest.check.outcome import Verdict
from scftest.instance import Interpreter
from scftest.instance.interpreters import RuntimeNotFound
from scftest.load.loader import load_suite
from scftest.scf import images
from scftest.session import Preparer, prepare


class CountingResolver:
    """Any runtime resolves to the runner's own interpreter; counts the questions."""

    def __init__(self, missing=()):
        self.asked = []
        self.missing = set(missing)

    def resolve(self, runtime):
        self.asked.append(runtime)
        if runtime in self.missing:
            raise RuntimeNotFound(f"no {runtime} here: name one with --runtime")
        return Interpreter(runtime, sys.executable, "3.11.0")


def cases(tmp_path: Path, text: str):
    (tmp_path / "fn").mkdir(exist_ok=True)
    (tmp_path / "fn" / "index.py").write_text("def main_handler(e, c):\n    return 1\n")
    path = tmp_path / "s.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    loaded, problems, _ = load_suite(path)
    assert not problems, [str(p) for p in problems]
    return loaded.cases


SUITE = """\
    function:
      code: fn
      handler: index.main_handler
      runtime: Python3.10
      environment: {STAGE: test, TOKEN: !env CI_TOKEN}
    cases:
      - {name: a, context: {function_version: "1"}}
      - {name: b, context: {function_version: "2"}}
      - {name: c}
      - {name: other stage, environment: {STAGE: prod, TOKEN: !env CI_TOKEN}}
      - {name: other runtime, runtime: Python3.6}
"""


def test_the_cases_of_one_function_share_its_setup_and_keep_their_own_parts(tmp_path, monkeypatch):
    a, b, c, prod, py36 = cases(tmp_path, SUITE)
    resolver = CountingResolver()
    looked = []
    real = images.site_packages
    monkeypatch.setattr(images, "site_packages", lambda runtime, root=None: looked.append(runtime) or real(runtime, root))
    preparer = Preparer(resolver, {"CI_TOKEN": "s3cret", "XDG_CACHE_HOME": str(tmp_path / "cache")})
    prepared = [preparer.prepare(case) for case in (a, b, c, prod, py36, a)]
    # one resolution (and one look at the images cache) per distinct function setup
    assert resolver.asked == ["Python3.10", "Python3.10", "Python3.6"]
    assert looked == ["Python3.10", "Python3.10", "Python3.6"]
    specs = [spec for spec, _ in prepared]
    requests = [request for _, request in prepared]
    assert [s.environment["STAGE"] for s in specs] == ["test", "test", "test", "prod", "test", "test"]
    assert all(s.environment["TOKEN"] == "s3cret" and s.secrets == ("s3cret",) for s in specs)
    assert [s.identity.version for s in specs[:3]] == ["1", "2", "$LATEST"]
    assert [s.runtime for s in specs] == ["Python3.10"] * 4 + ["Python3.6", "Python3.10"]
    assert len({r.request_id for r in requests}) == 6  # a request of its own per case, each time
    assert preparer.cache_root == tmp_path / "cache" / "scftest" / "images"
    # the secrets' mask is made once for the function too, and hides them
    assert preparer.mask(a) is preparer.mask(b)
    assert preparer.mask(b)("token=s3cret;") == "token=***;"


def test_prepare_alone_gives_what_a_run_s_preparer_gives(tmp_path):
    a, b, c, prod, py36 = cases(tmp_path, SUITE)
    environ = {"CI_TOKEN": "s3cret"}
    alone, _ = prepare(prod, CountingResolver(), environ)
    shared, _ = Preparer(CountingResolver(), environ).prepare(prod)
    assert alone.environment == shared.environment == {"STAGE": "prod", "TOKEN": "s3cret"}
    assert (alone.interpreter, alone.profile, alone.image, alone.secrets) == (
        shared.interpreter, shared.profile, shared.image, shared.secrets)


def test_a_missing_variable_or_runtime_is_each_case_s_error_at_its_own_line(tmp_path):
    a, b, c, prod, py36 = cases(tmp_path, SUITE)
    preparer = Preparer(CountingResolver(missing=["Python3.6"]), {})
    first, second = preparer.prepare(a), preparer.prepare(b)
    assert first.verdict is second.verdict is Verdict.ERROR
    assert "CI_TOKEN" in first.summary
    assert first.details.startswith(f"{a.file}:{a.line}: ") and second.details.startswith(f"{b.file}:{b.line}: ")
    assert a.line != b.line
    unresolved = preparer.prepare(py36)
    assert unresolved.verdict is Verdict.ERROR and unresolved.case is py36
    assert unresolved.summary == "no interpreter for Python3.6" and "--runtime" in unresolved.details
