"""Trigger templates end to end: handlers that decode real events pass through `scftest run`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import HANDLERS, needs

pytestmark = needs("2.7", "3.6")

SUITE = """\
function:
  code: {code}
  runtime: Python3.6
matrix:
  runtime: [Python2.7, Python3.6]
cases:
  - name: cls records written as YAML reach the handler gzipped and base64-encoded
    handler: index.cls_handler
    trigger: cls
    event:
      topic_name: checkout
      records:
        - GET /cart 200
        - {{timestamp: "1700000000000000", content: {{status: 500, path: /pay}}}}
    expect:
      return:
        topic: checkout
        contents: [GET /cart 200, '{{"status": 500, "path": "/pay"}}']
      log: [1605578090000000 GET /cart 200, '1700000000000000 {{"status": 500']
  - name: cls template as it is
    handler: index.cls_handler
    trigger: cls
    expect:
      return_includes: {{topic: order-logs}}
  - name: cos template
    handler: index.cos_handler
    trigger: cos_put
    expect:
      return: {{kilobytes: 1, region: ap-guangzhou}}
  - name: cmq tags are a string
    handler: index.cmq_handler
    trigger: cmq
    expect:
      return: [paid, web]
  - name: function url
    handler: index.url_handler
    trigger: function_url
    expect:
      return: {{ip: 203.0.113.10, item: tea}}
"""


def run(tmp_path: Path, suite: str, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "s.yaml").write_text(textwrap.dedent(suite), encoding="utf-8")
    env = dict(os.environ, NO_COLOR="1")
    return subprocess.run([sys.executable, "-m", "scftest", "run", "s.yaml", *args], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)


def test_handlers_decode_the_templates_on_both_runtimes(tmp_path: Path) -> None:
    done = run(tmp_path, SUITE.format(code=HANDLERS / "triggers"), "--json", "report.json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
    assert report["totals"]["passed"] == 10, report["totals"]


def test_a_cls_event_that_holds_clslogs_is_a_suite_error(tmp_path: Path) -> None:
    suite = f"""\
    function: {{code: {HANDLERS / "triggers"}, handler: index.cls_handler}}
    cases:
      - name: raw data under a cls trigger
        trigger: cls
        event:
          clslogs: {{data: H4sI}}
    """
    done = run(tmp_path, suite)
    assert done.returncode == 4, done.stdout + done.stderr
    assert "s.yaml:6:" in done.stdout + done.stderr
    assert "leave out trigger: cls" in done.stdout + done.stderr


REPO = Path(__file__).resolve().parents[2]


def test_docs_triggers_lists_every_template_and_its_cls_example_runs(tmp_path: Path) -> None:
    from scftest.scf import triggers

    text = (REPO / "docs" / "triggers.md").read_text(encoding="utf-8")
    for name in triggers.names():
        if name not in triggers.ALIASES:
            assert f"| `{name}` | {triggers.describe(name)} | {triggers.SOURCES[name]} |" in text, name
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    suite = (f"function: {{code: {REPO / 'suites' / 'functions' / 'worker'}}}\n"
             f"matrix: {{runtime: [Python2.7, Python3.6]}}\ncases:\n{example}"
             "    expect:\n      return: {lines: 3, errors: [/pay]}\n")
    done = run(tmp_path, suite)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
