"""The HTML report (``--html PATH``): one self-contained file a person opens in a browser.

No network and no file beside it: the style and the small script are inside the page. It
holds the summary, the suite problems and warnings, a filter by verdict, and every suite
with its cases; a case opens (a ``<details>`` element: it works without the script too) to
show why it failed: each mismatch with where (the path in the result and the suite line),
the expected and the actual value side by side and, for structured or multi-line values, a
line-by-line diff; then the details, the warm steps (``invocations:``), the function's log,
the invocation record and its imports.

The words come from ``scftest.render`` and the shared helpers of ``scftest.report`` (the
same explanation as the terminal and the JUnit file); this module only lays them out and
escapes them. Handler text goes through ``render.printable`` (no control characters).
"""

from __future__ import annotations

import html
from typing import Any, Dict, List, Optional, Sequence, Tuple

from scftest import __version__, i18n, render
from scftest.check.outcome import CaseOutcome, Mismatch, StepOutcome, Verdict
from scftest.i18n import N_, _
from scftest.instance.record import InvocationRecord
from scftest.model import Case, SuiteProblem
from scftest.report import FileReporter, count, record_lines, short_message, summary_words, write_report
from scftest.result import RunResult

__all__ = ["HtmlReporter", "html_report"]

# The order of the filter's verdicts: what needs attention first.
VERDICT_ORDER = (Verdict.FAILED, Verdict.ERROR, Verdict.XPASSED, Verdict.PASSED, Verdict.XFAILED, Verdict.SKIPPED)


def _e(text: Any) -> str:
    return html.escape(render.printable(str(text)), quote=True)


def html_report(result: RunResult, created: str) -> str:
    """The whole page for ``result``."""
    outcomes = result.outcomes
    totals = count(outcomes, result.problems)
    words = summary_words(totals, deselected=result.deselected)
    title = _("scftest report: {totals}").format(totals=_(", ").join(text for text, _verdict in words) or _("no cases"))
    body = [
        f"<header><h1>{_e(_('scftest report'))}</h1><p class=\"meta\">{_e(created)} · scftest {_e(__version__)} · "
        f"{_e(render.elapsed_words(result.elapsed_s))} · "
        f"{_e(_('exit status {status}').format(status=result.exit_code))}</p>",
        _summary(words, result),
        "</header>",
        "<main>",
        _problems(result.problems, _("Suite errors"), _("These suite files could not be loaded; their cases did not run.")),
        _problems(result.warnings, _("Warnings"), _("Legal YAML that may not mean what it says; they never fail a run.")),
        _filter(outcomes),
        _suites(outcomes),
        "</main>",
    ]
    return PAGE.format(title=_e(title), style=STYLE, script=SCRIPT, body="\n".join(part for part in body if part),
                       lang="zh-CN" if i18n.current() == i18n.CHINESE else "en")


def _summary(words: Sequence[Tuple[str, str]], result: RunResult) -> str:
    parts = "".join(f"<li class=\"v-{_e(verdict)}\">{_e(text)}</li>" for text, verdict in words)
    lines = [f"<ul class=\"totals\" aria-label=\"totals\">{parts}</ul>" if parts else f"<p>{_e(_('No case ran.'))}</p>"]
    if result.interrupted:
        lines.append(f"<p class=\"warn\">{_e(_('The run was interrupted: only the cases that finished are shown.'))}</p>")
    ran = [o.record for o in result.outcomes if o.record is not None]
    plain = sum(1 for record in ran if record.isolation != "namespace")
    if plain:
        lines.append(f"<p class=\"warn\">{_e(render.isolation_note(plain, len(ran)))}</p>")
    return "\n".join(lines)


def _problems(problems: Sequence[SuiteProblem], heading: str, what: str) -> str:
    if not problems:
        return ""
    items = "".join(f"<li><code>{_e(problem)}</code></li>" for problem in problems)
    return f"<section class=\"problems\"><h2>{_e(heading)}</h2><p>{_e(what)}</p><ul>{items}</ul></section>"


def _filter(outcomes: Sequence[CaseOutcome]) -> str:
    if not outcomes:
        return ""
    tally = {verdict: sum(1 for o in outcomes if o.verdict is verdict) for verdict in VERDICT_ORDER}
    boxes = "".join(
        f"<label class=\"v-{verdict.value}\"><input type=\"checkbox\" data-verdict-filter value=\"{verdict.value}\" "
        f"checked> {_e(_(render.VERDICT_WORDS[verdict.value]))} ({number})</label>"
        for verdict, number in tally.items() if number)
    # the count is an element the script updates; a token no translation holds marks its place
    shown = _("showing {shown} of {total} cases").format(shown="@@shown@@", total=len(outcomes))
    return (f"<section class=\"filter\" aria-label=\"filter by verdict\"><h2>{_e(_('Show cases that'))}</h2>"
            f"<div class=\"boxes\">{boxes}</div>"
            f"<p><button type=\"button\" data-only=\"problems\">{_e(_('only the ones that need attention'))}</button> "
            f"<button type=\"button\" data-only=\"all\">{_e(_('all'))}</button> "
            f"<button type=\"button\" data-open=\"failed\">{_e(_('open every failure'))}</button> "
            f"<span aria-live=\"polite\">"
            + _e(shown).replace("@@shown@@", f"<span id=\"shown\">{len(outcomes)}</span>") + "</span></p></section>")


def _suites(outcomes: Sequence[CaseOutcome]) -> str:
    groups: Dict[Tuple[str, str], List[Tuple[int, CaseOutcome]]] = {}
    for index, outcome in enumerate(outcomes):
        groups.setdefault((outcome.case.suite, str(outcome.case.file)), []).append((index, outcome))
    sections = []
    for (suite, file), members in groups.items():
        totals = summary_words(count(o for _index, o in members))
        words = _(", ").join(text for text, _verdict in totals)
        cases = "\n".join(_case(index, outcome) for index, outcome in members)
        sections.append(f"<section class=\"suite\"><h2>{_e(suite)} <span class=\"meta\">{_e(file)} · {_e(words)}"
                        f"</span></h2>\n{cases}\n</section>")
    return "\n".join(sections)


def _case(index: int, outcome: CaseOutcome) -> str:
    case = outcome.case
    verdict = outcome.verdict.value
    why = "" if outcome.verdict is Verdict.PASSED else f"<span class=\"why\">{_e(short_message(outcome))}</span>"
    meta = f"{case.function.runtime} · {render.elapsed_words(outcome.elapsed_s)}"
    summary = (f"<summary><span class=\"badge v-{verdict}\">{_e(_(render.VERDICT_WORDS[verdict]))}</span> "
               f"<span class=\"name\">{_e(case.name)}</span> <span class=\"meta\">{_e(meta)}</span> {why}</summary>")
    parts = [f"<p class=\"where\">{_e(_('{file}, line {line}').format(file=case.file, line=case.line))}"
             + (f" · {_e(_('tags: {tags}').format(tags=', '.join(case.tags)))}" if case.tags else "") + "</p>"]
    if case.description:
        parts.append(f"<p>{_e(case.description)}</p>")
    if outcome.verdict is not Verdict.PASSED and not outcome.mismatches and outcome.summary:
        parts.append(f"<p class=\"summary\">{_e(outcome.summary)}</p>")
    if not outcome.steps:  # a warm sequence's are its failing step's: shown with the step
        parts.append(_mismatches(outcome.mismatches, outcome.record, case))
    if outcome.details.strip():
        parts.append(f"<h3>{_e(_('Details'))}</h3><pre>{_e(outcome.details.rstrip())}</pre>")
    if outcome.steps:
        parts.append(_steps(outcome.steps, case))
    elif outcome.record is not None:
        parts.append(_record(outcome.record))
    return (f"<details class=\"case\" id=\"case-{index}\" data-verdict=\"{verdict}\">{summary}"
            f"<div class=\"body\">{''.join(part for part in parts if part)}</div></details>")


def _mismatches(mismatches: Sequence[Mismatch], record: Optional[InvocationRecord], case: Case) -> str:
    if not mismatches:
        return ""
    blocks = [_mismatch(m, record, case) for m in mismatches]
    return f"<h3>{_e(_('What did not match'))}</h3>" + "".join(blocks)


def _mismatch(m: Mismatch, record: Optional[InvocationRecord], case: Case) -> str:
    expected, actual = render.sides(m, record)
    line = f"{case.file}:{m.line}" if m.line else ""
    head = (f"<p><code class=\"path\">{_e(render.where(m))}</code>: {_e(m.message)}"
            + (f" <span class=\"meta\">{_e(_('(suite {place})').format(place=line))}</span>" if line else "") + "</p>")
    table = ""
    if expected or actual:
        table = (f"<table class=\"sides\"><thead><tr><th scope=\"col\">{_e(_('expected (the suite)'))}</th>"
                 f"<th scope=\"col\">{_e(_('actual (the function)'))}</th></tr></thead>"
                 f"<tbody><tr><td><pre>{_e(expected)}</pre></td><td><pre>{_e(actual)}</pre></td></tr></tbody></table>")
    diff = ""
    if render.wants_diff(m):
        rows = "".join(_diff_row(mark, text) for mark, text in render.diff_lines(m.expected, m.actual))
        diff = (f"<p class=\"meta\">{_e(_('line by line:'))} <span class=\"d-del\">− {_e(_('expected only'))}</span> "
                f"<span class=\"d-ins\">+ {_e(_('actual only'))}</span></p><pre class=\"diff\">{rows}</pre>")
    return f"<div class=\"mismatch\">{head}{table}{diff}</div>"


def _diff_row(mark: str, text: str) -> str:
    kind = {"-": "d-del", "+": "d-ins"}.get(mark, "d-same")
    sign = {"-": "−", "+": "+"}.get(mark, " ")
    return f"<span class=\"{kind}\">{sign} {_e(text)}</span>"  # a block each: no newline between


def _steps(steps: Sequence[StepOutcome], case: Case) -> str:
    blocks = ["<h3>Invocations (warm steps, in order)</h3>"]
    for step in steps:
        verdict = step.verdict.value
        line = case.source.at(step.step.path).line
        cold = " · a new instance" if step.step.cold else ""
        blocks.append(f"<div class=\"step\"><h4><span class=\"badge v-{verdict}\">"
                      f"{_e(_(render.VERDICT_WORDS[verdict]))}</span> {_e(step.step.label)} "
                      f"<span class=\"meta\">line {line}{cold}</span></h4>")
        if step.summary and not step.mismatches:
            blocks.append(f"<p class=\"summary\">{_e(step.summary)}</p>")
        blocks.append(_mismatches(step.mismatches, step.record, case))
        if step.record is not None:
            blocks.append(_record(step.record))
        blocks.append("</div>")
    return "".join(blocks)


def _record(record: InvocationRecord) -> str:
    heading = f"<h3>{_e(_('Log'))}</h3>"
    log = (f"{heading}<pre class=\"log\">{_e(record.log.rstrip())}</pre>" if record.log.strip()
           else f"{heading}<p class=\"meta\">{_e(_('(the function wrote nothing)'))}</p>")
    rows = "".join(f"<tr><th scope=\"row\">{_e(key)}</th><td>{_e(value)}</td></tr>"
                   for key, _colon, value in (line.partition(": ") for line in record_lines(record))
                   if not (key == "imports" and record.imports))  # listed in full below
    parts = [log, f"<h3>{_e(_('Invocation record'))}</h3><table class=\"record\">{rows}</table>"]
    if record.imports:
        imports = "".join(f"<tr><td><code>{_e(name)}</code></td><td>{_e(origin)}</td></tr>"
                          for name, origin in record.imports)
        parts.append(f"<details class=\"imports\"><summary>{_e(_('Imports ({count}):').format(count=len(record.imports)))} "
                     f"{_e(render.imports_text(record.imports))}</summary><table><thead><tr><th scope=\"col\">"
                     f"{_e(_('module'))}</th><th scope=\"col\">{_e(_('from'))}</th></tr></thead><tbody>{imports}</tbody>"
                     "</table></details>")
    return "".join(parts)


class HtmlReporter(FileReporter):
    """The ``--html PATH`` reporter: writes the page when the run is over."""

    option = "--html"
    help = N_("write a self-contained HTML report (one file, no network) to open in a browser")

    def finish(self, result: RunResult) -> None:
        import datetime

        created = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        write_report(self.path, html_report(result, created))


PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; \
script-src 'unsafe-inline'; img-src data:">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
{body}
<script>{script}</script>
</body>
</html>
"""

STYLE = """
:root { --fg: #1b1b1b; --muted: #555; --line: #d0d0d0; --bg: #fff; --soft: #f5f5f5;
  --pass: #1a7f37; --fail: #b3261e; --skip: #7a5a00; }
* { box-sizing: border-box; }
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg);
  background: var(--bg); margin: 0 auto; max-width: 70rem; padding: 1rem 1.5rem 3rem; }
h1 { font-size: 1.6rem; margin: .2rem 0; }
h2 { font-size: 1.2rem; margin: 1.6rem 0 .5rem; border-bottom: 1px solid var(--line); padding-bottom: .2rem; }
h3 { font-size: 1rem; margin: 1rem 0 .3rem; }
h4 { font-size: .95rem; margin: .6rem 0 .3rem; }
.meta { color: var(--muted); font-weight: normal; font-size: .9em; }
.totals { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .5rem; }
.totals li { border: 1px solid var(--line); border-radius: .4rem; padding: .2rem .6rem; font-weight: 600; }
.v-passed { color: var(--pass); } .v-failed, .v-error, .v-xpassed { color: var(--fail); }
.v-skipped, .v-xfailed { color: var(--skip); }
.warn { background: #fff4d6; border-left: 4px solid var(--skip); padding: .4rem .6rem; }
.problems { background: #fdecea; border-left: 4px solid var(--fail); padding: .2rem .8rem .6rem; }
.filter .boxes { display: flex; flex-wrap: wrap; gap: .4rem 1.2rem; }
.filter label { cursor: pointer; font-weight: 600; }
button { font: inherit; padding: .15rem .6rem; border: 1px solid var(--line); border-radius: .3rem;
  background: var(--soft); cursor: pointer; }
button:focus-visible, summary:focus-visible, input:focus-visible { outline: 3px solid #0b57d0; outline-offset: 2px; }
details.case { border: 1px solid var(--line); border-radius: .4rem; margin: .35rem 0; }
details.case > summary { cursor: pointer; padding: .45rem .7rem; list-style-position: inside; }
details.case[open] > summary { background: var(--soft); border-bottom: 1px solid var(--line); }
details.case .body { padding: .3rem 1rem .8rem; }
.badge { display: inline-block; min-width: 10.5rem; font-weight: 700; font-size: .85em; text-transform: uppercase;
  letter-spacing: .02em; }
.name { font-weight: 600; }
.why { display: block; margin-left: 11.6rem; color: var(--muted); font-size: .9em; }
.where { color: var(--muted); margin: .3rem 0; }
.mismatch { border-left: 4px solid var(--fail); padding: .1rem .8rem; margin: .5rem 0; background: #fffafa; }
code, pre { font: .88rem/1.4 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; word-break: break-word; margin: .2rem 0; }
table { border-collapse: collapse; width: 100%; margin: .3rem 0; }
th, td { border: 1px solid var(--line); padding: .25rem .5rem; text-align: left; vertical-align: top; }
table.sides td { width: 50%; }
table.record th { width: 10rem; font-weight: 600; background: var(--soft); }
pre.log { background: #1e1e1e; color: #eee; padding: .5rem .7rem; border-radius: .3rem; max-height: 24rem;
  overflow: auto; }
pre.diff { border: 1px solid var(--line); padding: .3rem 0; border-radius: .3rem; }
pre.diff span { display: block; padding: 0 .6rem; }
.d-del { background: #fde2e1; color: #8a1c14; } .d-ins { background: #dcf5e3; color: #0d5322; }
.d-same { color: var(--muted); }
.step { border-top: 1px dashed var(--line); margin-top: .6rem; }
[hidden] { display: none !important; }
"""

# ES5, no network, nothing stored: the filter hides cases (and suites left empty).
SCRIPT = """
(function () {
  "use strict";
  var boxes = document.querySelectorAll("input[data-verdict-filter]");
  var attention = {failed: true, error: true, xpassed: true};
  function apply() {
    var wanted = {}, shown = 0, i;
    for (i = 0; i < boxes.length; i++) { wanted[boxes[i].value] = boxes[i].checked; }
    var cases = document.querySelectorAll("details.case");
    for (i = 0; i < cases.length; i++) {
      var on = wanted[cases[i].getAttribute("data-verdict")] === true;
      cases[i].hidden = !on;
      if (on) { shown++; }
    }
    var suites = document.querySelectorAll("section.suite");
    for (i = 0; i < suites.length; i++) {
      suites[i].hidden = suites[i].querySelector("details.case:not([hidden])") === null;
    }
    var counter = document.getElementById("shown");
    if (counter) { counter.textContent = String(shown); }
  }
  function only(which) {
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].checked = which === "all" || attention[boxes[i].value] === true;
    }
    apply();
  }
  for (var i = 0; i < boxes.length; i++) { boxes[i].addEventListener("change", apply); }
  var buttons = document.querySelectorAll("button[data-only]");
  for (i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (event) { only(event.target.getAttribute("data-only")); });
  }
  var opener = document.querySelector("button[data-open]");
  if (opener) {
    opener.addEventListener("click", function () {
      var cases = document.querySelectorAll("details.case");
      for (var j = 0; j < cases.length; j++) {
        if (attention[cases[j].getAttribute("data-verdict")] === true) { cases[j].open = true; }
      }
    });
  }
  // An address ending in #case-N opens that case; #failures shows only what needs attention, opened.
  var hash = window.location.hash.slice(1);
  var target = hash && document.getElementById(hash);
  if (target && target.tagName === "DETAILS") { target.open = true; target.scrollIntoView(); }
  if (hash === "failures") { only("problems"); if (opener) { opener.click(); } }
  apply();
})();
"""
