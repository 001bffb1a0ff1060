"""The HTML report (--html): its content from the shared outcomes, and the page in a real
headless Chromium, driven over the DevTools protocol on a pipe (standard library only):
it loads with no console error and no network request, the filter hides cases by verdict,
and a failing case opens to show its mismatches and diff."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
from html.parser import HTMLParser
from pathlib import Path

import pytest

from scftest.check.outcome import CaseOutcome, Kind, Mismatch, Verdict
from scftest.report.html import HtmlReporter, html_report
from scftest.result import RunResult

from report_fixtures import ORDERS, all_outcomes, make_case, make_record, problems, warnings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_chromium = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (Debian: apt-get install chromium; "
                                                           ".ci/run installs it)")


def multiline_failure():
    case = make_case("orders API", "renders the receipt", ORDERS, 4)
    mismatch = Mismatch(root="return", path=("body",), message="values differ", kind=Kind.VALUE,
                        expected="Receipt\nitem: tea\ntotal: 3\n", actual="Receipt\nitem: coffee\ntotal: 3\n", line=44)
    typed = Mismatch(root="return", path=("items",), message="expected a list, got a mapping", kind=Kind.PART,
                     expected=["tea", "<script>alert(1)</script>"], actual={"tea": 1}, line=45)
    return CaseOutcome(case, Verdict.FAILED, summary="2 expectations did not hold", mismatches=(mismatch, typed),
                       record=make_record(imports=(("index", "code"), ("json", "stdlib"))), elapsed_s=0.2)


def result(outcomes=None, **kw):
    outcomes = all_outcomes() + [multiline_failure()] if outcomes is None else outcomes
    return RunResult(outcomes=outcomes, problems=kw.pop("found", problems()), warnings=warnings(), selected=len(outcomes),
                     elapsed_s=1.25, **kw)


class _Page(HTMLParser):
    """What a browser would fetch (src / href) and the document's element ids."""

    def __init__(self):
        super().__init__()
        self.fetched, self.ids, self.scripts = [], [], 0

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("src", "href"):
            if attrs.get(key):
                self.fetched.append(attrs[key])
        if attrs.get("id"):
            self.ids.append(attrs["id"])
        self.scripts += tag == "script"


def test_the_page_is_one_self_contained_file():
    page = html_report(result(), "2026-12-01 17:00 UTC")
    parser = _Page()
    parser.feed(page)
    assert parser.fetched == []  # no stylesheet, script, image or font from anywhere
    assert parser.scripts == 1 and "<style>" in page
    assert len(parser.ids) == len(set(parser.ids))
    assert not re.search(r"https?://", page)


def test_the_page_holds_the_summary_problems_cases_and_why_they_failed():
    page = html_report(result(), "2026-12-01 17:00 UTC")
    assert "2026-12-01 17:00 UTC" in page and "exit status 4" in page
    for words in ("1 passed", "3 failed", "1 error", "1 skipped", "1 xfailed", "1 xpassed", "2 suite errors"):
        assert words in page
    # suite problems and warnings, with file:line
    assert "suites/broken.yaml:7:3: mapping values are not allowed here — check the indentation" in page
    assert "warning: &#x27;张三&#x27; has no value" in page
    # a case per outcome, each with its verdict for the filter
    assert page.count("<details class=\"case\"") == 8
    assert page.count('data-verdict="failed"') == 3
    # a mismatch: where, the suite line, expected and actual side by side
    assert "<code class=\"path\">body.id</code>: values differ" in page
    assert "(suite suites/orders.yaml:21)" in page
    assert "<td><pre>42</pre></td><td><pre>43</pre></td>" in page
    # the error's details, the log, the record and its imports
    assert "looked for python2.7 on PATH" in page
    assert "processing item 27" in page and "<th scope=\"row\">request_id</th><td>req-2</td>" in page
    assert "Imports (2): code: index; stdlib: 1 module" in page


def test_multi_line_and_structured_values_get_a_line_by_line_diff():
    page = html_report(result([multiline_failure()], found=[]), "now")
    assert '<span class="d-del">− item: tea</span>' in page
    assert '<span class="d-ins">+ item: coffee</span>' in page
    assert '<span class="d-same">  total: 3</span>' in page
    assert '<span class="d-del">−   &quot;&lt;script&gt;alert(1)&lt;/script&gt;&quot;</span>' in page
    assert "<script>alert(1)" not in page  # handler and suite text is always escaped


def test_handler_control_characters_never_reach_the_page():
    page = html_report(result(), "now")
    assert "\x1b" not in page and "\x00" not in page and "\x07" not in page
    assert "boom" in page


def test_an_empty_run_is_still_a_page():
    page = html_report(RunResult(), "now")
    assert "No case ran." in page and "<details" not in page


def test_the_reporter_writes_the_file_and_says_when_it_cannot(tmp_path):
    target = tmp_path / "out" / "report.html"
    HtmlReporter(target).finish(result())
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    from scftest.report import ReportError

    (tmp_path / "file").write_text("")
    with pytest.raises(ReportError, match="cannot write the report"):
        HtmlReporter(tmp_path / "file" / "report.html").finish(result())


# ---------------------------------------------------------------------------- Chromium


class DevTools:
    """Chromium's DevTools protocol on --remote-debugging-pipe: JSON messages ended by NUL,
    commands on fd 3 of the browser, answers and events on its fd 4."""

    def __init__(self, profile: Path):
        to_browser_r, self._to_browser = os.pipe()
        self._from_browser, from_browser_w = os.pipe()

        def plumbing():  # in the child: its fd 3 reads our commands, its fd 4 writes answers
            os.dup2(to_browser_r, 3)
            os.dup2(from_browser_w, 4)

        high_r, high_w = os.dup(to_browser_r), os.dup(from_browser_w)  # survive dup2 onto 3 and 4
        os.close(to_browser_r)
        os.close(from_browser_w)
        to_browser_r, from_browser_w = high_r, high_w
        self.process = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--no-default-browser-check", f"--user-data-dir={profile}", "about:blank"],
            # pass_fds keeps 3 and 4: the fds not listed are closed after preexec_fn has run
            preexec_fn=plumbing, pass_fds=(3, 4), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)  # its own group: close ends every process of it
        os.close(to_browser_r)
        os.close(from_browser_w)
        self._buffer = b""
        self._next = 0
        self.events = []

    def send(self, method, session=None, **params):
        self._next += 1
        message = {"id": self._next, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        return self._until(lambda m: m.get("id") == self._next)

    def wait_for(self, method):
        """The next event ``method`` (or one that came already); the browser's end fails the test."""
        for event in self.events:
            if event.get("method") == method:
                self.events.remove(event)
                return event
        return self._until(lambda m: m.get("method") == method, keep=False)

    def _until(self, wanted, keep=True):
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    if "error" in message:
                        raise AssertionError(f"DevTools: {message['error']}")
                    return message
                self.events.append(message)
            chunk = os.read(self._from_browser, 65536)
            if not chunk:
                raise AssertionError("chromium closed its DevTools pipe")
            self._buffer += chunk

    def kill(self):
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # the browser and its renderers, zygotes, ...
        except ProcessLookupError:
            pass

    def close(self):
        self.kill()
        self.process.wait()
        # The browser's helpers that outlived it were handed to the nearest subreaper, which is
        # this process when scftest's sandbox made it one: reap those of the browser's group.
        while True:
            try:
                os.waitpid(-self.process.pid, 0)
            except ChildProcessError:
                break
        os.close(self._to_browser)
        os.close(self._from_browser)


@pytest.fixture
def browser(tmp_path):
    tools = DevTools(tmp_path / "profile")
    # a watchdog, not a timing assertion: a browser that hangs must not hang the test run
    watchdog = threading.Timer(120, tools.kill)
    watchdog.start()
    try:
        yield tools
    finally:
        watchdog.cancel()
        tools.close()


def open_page(browser: DevTools, url: str):
    target = browser.send("Target.createTarget", url="about:blank")["result"]["targetId"]
    session = browser.send("Target.attachToTarget", targetId=target, flatten=True)["result"]["sessionId"]
    for domain in ("Runtime", "Log", "Page", "Network"):
        browser.send(f"{domain}.enable", session)
    browser.send("Page.navigate", session, url=url)
    browser.wait_for("Page.loadEventFired")
    return session


def evaluate(browser: DevTools, session: str, expression: str):
    answer = browser.send("Runtime.evaluate", session, expression=expression, returnByValue=True)
    assert "exceptionDetails" not in answer["result"], answer
    return answer["result"]["result"].get("value")


def problems_seen(browser: DevTools):
    """Console errors, uncaught exceptions and any request but the page itself."""
    seen = []
    for event in browser.events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.exceptionThrown":
            seen.append(params["exceptionDetails"])
        elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "warning", "assert"):
            seen.append(params)
        elif method == "Log.entryAdded" and params["entry"]["level"] in ("error", "warning"):
            seen.append(params["entry"])
        elif method == "Network.requestWillBeSent" and not params["request"]["url"].startswith("file://"):
            seen.append(params["request"]["url"])
    return seen


@needs_chromium
def test_the_page_in_chromium_loads_cleanly_filters_and_opens_a_failure(tmp_path, browser):
    page = tmp_path / "report.html"
    HtmlReporter(page).finish(result())
    session = open_page(browser, page.as_uri())
    assert evaluate(browser, session, "document.querySelectorAll('details.case').length") == 8
    # every case starts closed; a failing case opens on a click and shows its mismatch
    failing = "document.querySelector('details.case[data-verdict=failed]')"
    assert evaluate(browser, session, f"{failing}.open") is False
    assert evaluate(browser, session, f"{failing}.querySelector('.mismatch').checkVisibility()") is False
    evaluate(browser, session, f"{failing}.querySelector('summary').click()")
    assert evaluate(browser, session, f"{failing}.open") is True
    shown = evaluate(browser, session, f"{failing}.querySelector('.mismatch').innerText")
    assert "body.id: values differ" in shown and "42" in shown and "43" in shown
    assert evaluate(browser, session, f"{failing}.querySelector('.mismatch').checkVisibility()") is True
    # the diff of the multi-line failure is rendered, removed and added lines apart
    receipt = "document.querySelector('#case-7')"
    evaluate(browser, session, f"{receipt}.querySelector('summary').click()")
    colours = evaluate(browser, session, f"[...{receipt}.querySelectorAll('pre.diff span')].slice(0, 4)"
                                         ".map(s => s.className + ' ' + getComputedStyle(s).backgroundColor)")
    assert colours[1].startswith("d-del rgb(253, 226, 225)") and colours[2].startswith("d-ins rgb(220, 245, 227)")
    # the filter: only what needs attention, then all again
    visible = "[...document.querySelectorAll('details.case')].filter(c => !c.hidden).map(c => c.dataset.verdict)"
    evaluate(browser, session, "document.querySelector('button[data-only=problems]').click()")
    assert sorted(evaluate(browser, session, visible)) == ["error", "failed", "failed", "failed", "xpassed"]
    assert evaluate(browser, session, "document.getElementById('shown').textContent") == "5"
    evaluate(browser, session, "document.querySelector('input[value=failed]').click()")
    assert sorted(evaluate(browser, session, visible)) == ["error", "xpassed"]
    evaluate(browser, session, "document.querySelector('button[data-only=all]').click()")
    assert len(evaluate(browser, session, visible)) == 8
    assert problems_seen(browser) == []


@needs_chromium
def test_a_case_named_in_the_address_opens_at_load(tmp_path, browser):
    page = tmp_path / "report.html"
    HtmlReporter(page).finish(result())
    session = open_page(browser, page.as_uri() + "#case-1")
    assert evaluate(browser, session, "document.getElementById('case-1').open") is True
    assert evaluate(browser, session, "document.getElementById('case-2').open") is False
    assert problems_seen(browser) == []


@needs_chromium
def test_failures_in_the_address_shows_only_the_failures_opened(tmp_path, browser):
    page = tmp_path / "report.html"
    HtmlReporter(page).finish(result())
    session = open_page(browser, page.as_uri() + "#failures")
    shown = evaluate(browser, session, "[...document.querySelectorAll('details.case')].filter(c => !c.hidden)"
                                       ".map(c => c.dataset.verdict + ' ' + c.open)")
    assert sorted(shown) == ["error true", "failed true", "failed true", "failed true", "xpassed true"]
    assert problems_seen(browser) == []


@needs_chromium
def test_scftest_run_html_end_to_end_in_chromium(tmp_path, browser):
    """A real run's page (a warm sequence, a pass, a failure), from the command line."""
    (tmp_path / "fn").mkdir()
    (tmp_path / "fn" / "index.py").write_text("def main(event, context):\n    print('got', event)\n"
                                              "    return {'id': event.get('id'), 'lines': 'a\\nb\\nc'}\n")
    (tmp_path / "suite.yaml").write_text(textwrap.dedent("""\
        name: shop
        function: {code: fn, handler: index.main, runtime: Python3.6}
        cases:
          - name: fine
            event: {id: 1}
            expect: {return_includes: {id: 1}}
          - name: two calls
            invocations:
              - event: {id: 1}
              - event: {id: 2}
                expect: {return_includes: {lines: "a\\nB\\nc"}}
        """))
    done = subprocess.run([sys.executable, "-m", "scftest", "run", "suite.yaml", "--html", "out.html"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300, env=dict(os.environ, NO_COLOR="1"))
    if "no interpreter for Python3.6" in done.stdout:
        pytest.skip("needs Python 3.6 under /root/.pyenv/versions")
    assert done.returncode == 1, done.stdout + done.stderr
    session = open_page(browser, (tmp_path / "out.html").as_uri())
    warm = "document.querySelectorAll('details.case')[1]"
    evaluate(browser, session, f"{warm}.querySelector('summary').click()")
    text = evaluate(browser, session, f"{warm}.innerText")
    assert "step 2: return differs at lines" in text
    assert "Invocations (warm steps, in order)" in text and "step 1" in text and "got {'id': 2}" in text
    assert evaluate(browser, session, f"[...{warm}.querySelectorAll('pre.diff .d-ins')].map(s => s.textContent)") \
        == ["+ b"]
    assert problems_seen(browser) == []
