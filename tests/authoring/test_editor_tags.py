"""The editor tag list in a real editor engine: yaml-language-server (inside VS Code's YAML
extension) opens suites with the ``yaml.customTags`` that ``scftest init`` writes.

Needs node and yaml-language-server: set SCFTEST_YAML_LANGUAGE_SERVER to its launcher
(``npm install --prefix /tmp/yls yaml-language-server@2.0.0`` puts it at
``/tmp/yls/node_modules/.bin/yaml-language-server``) or have it on PATH; skipped otherwise.
"""

from __future__ import annotations

import json
import os
import select
import shutil
import subprocess
from pathlib import Path
from typing import Dict, List, Optional

import pytest

import scftest
from scftest.authoring.scaffold import CUSTOM_TAGS, SUITE_FILE, init_project
from scftest.load.loader import tag_forms

REPO = Path(scftest.__file__).resolve().parent.parent
SERVER = os.environ.get("SCFTEST_YAML_LANGUAGE_SERVER") or shutil.which("yaml-language-server")
WAIT_S = 60  # for the server's answer; a generous bound, not a measurement

pytestmark = pytest.mark.skipif(
    not (SERVER and shutil.which("node")),
    reason="yaml-language-server (or node) not found: set SCFTEST_YAML_LANGUAGE_SERVER to its launcher")

# A value of each form to write after a tag.
SCALARS = {"!any": "", "!type": "int", "!approx": "1", "!json": "1", "!env": "HOME"}  # others: "a"
SAMPLES = {"mapping": "{value: 1}", "sequence": "[1]"}


class _Server:
    """Just enough of a language client: open a document, read its diagnostics."""

    def __init__(self, tags: List[str]) -> None:
        self.settings = {"yaml": {"validate": True, "customTags": tags, "schemas": {},
                                  "schemaStore": {"enable": False}}}
        self.proc = subprocess.Popen([SERVER, "--stdio"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        self.buffer = b""
        self._send({"id": 1, "method": "initialize",
                    "params": {"processId": None, "rootUri": None,
                               "capabilities": {"workspace": {"configuration": True}}}})
        while self._receive().get("id") != 1:
            pass
        self._send({"method": "initialized", "params": {}})
        self._send({"method": "workspace/didChangeConfiguration", "params": {"settings": self.settings}})

    def diagnostics(self, path: Path, text: str) -> List[str]:
        uri = path.resolve().as_uri()
        self._send({"method": "textDocument/didOpen",
                    "params": {"textDocument": {"uri": uri, "languageId": "yaml", "version": 1, "text": text}}})
        while True:
            message = self._receive()
            if message.get("method") == "workspace/configuration":
                items = message["params"]["items"]
                self._send({"id": message["id"], "result": [self.settings["yaml"]] * len(items)})
            elif "id" in message and "method" in message:  # any other request: no answer needed
                self._send({"id": message["id"], "result": None})
            elif message.get("method") == "textDocument/publishDiagnostics" and message["params"]["uri"] == uri:
                return [f"{d['range']['start']['line'] + 1}: {d['message']}" for d in message["params"]["diagnostics"]]

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()

    def _send(self, message: Dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def _receive(self) -> Dict:
        while True:
            message = self._take()
            if message is not None:
                return message
            ready, _, _ = select.select([self.proc.stdout], [], [], WAIT_S)
            chunk = self.proc.stdout.read1(65536) if ready else b""
            if not chunk:
                raise AssertionError("yaml-language-server did not answer")
            self.buffer += chunk

    def _take(self) -> Optional[Dict]:
        if b"\r\n\r\n" not in self.buffer:
            return None
        head, rest = self.buffer.split(b"\r\n\r\n", 1)
        length = int(next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
                     .split(b":")[1])
        if len(rest) < length:
            return None
        self.buffer = rest[length:]
        return json.loads(rest[:length])


@pytest.fixture
def server():
    running = _Server(list(CUSTOM_TAGS))
    yield running
    running.close()


def _every_form() -> str:
    lines = []
    for number, (tag, form) in enumerate(tag_forms()):
        sample = SCALARS.get(tag, "a") if form == "scalar" else SAMPLES[form]
        lines.append(f"v{number}: {tag} {sample}")
    return "\n".join(lines) + "\n"


def test_every_tag_in_every_form_scftest_accepts_is_resolved(server, tmp_path: Path) -> None:
    text = _every_form()
    assert "!contains {value: 1}" in text
    assert server.diagnostics(tmp_path / "forms.yaml", text) == []


def test_a_form_scftest_refuses_is_underlined(server, tmp_path: Path) -> None:
    # The list is not a wildcard: !any takes no value, and the editor says so too.
    assert server.diagnostics(tmp_path / "any.yaml", "created: !any {}\n") == ["1: Unresolved tag: !any"]


def test_the_bundled_suites_and_the_scaffolded_one_show_no_problem(server, tmp_path: Path) -> None:
    for suite in sorted((REPO / "suites").glob("*.yaml")):
        assert server.diagnostics(suite, suite.read_text(encoding="utf-8")) == [], suite.name
    init_project(tmp_path)  # the suite's $schema line points at the project's copy of the schema
    hello = tmp_path / SUITE_FILE
    assert server.diagnostics(hello, hello.read_text(encoding="utf-8")) == []
