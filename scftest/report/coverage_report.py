"""The coverage reports of ``--cov-report``: ``term`` (a table on the terminal), ``xml:PATH``
(Cobertura, as CI dashboards read it: GitLab, Jenkins, Azure, Codecov) and ``html:DIR`` (one
self-contained page, ``DIR/index.html``, with each file's lines marked run, not run or partly run).

They read a ``CoverageResult`` (scftest/coverage/model.py). A file's name is its path relative
to ``base`` (the working directory) when below it. Coverage counts as coverage.py does with
branches: (statements run + branch exits taken) / (statements + branch exits).

Named ``coverage_report`` so that it never shadows coverage.py itself.
"""

from __future__ import annotations

import html
import os
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from scftest import __version__, i18n, render
from scftest.coverage.model import CoverageResult, FileCoverage
from scftest.errors import UsageError
from scftest.report import ReportError, write_report

__all__ = ["CoverageReport", "parse_report", "term", "cobertura", "html_page", "write"]


@dataclass(frozen=True)
class CoverageReport:
    """One ``--cov-report``: kind term | xml | html, and its path (None for term)."""

    kind: str
    path: Optional[Path] = None


DEFAULT_PATHS = {"xml": "coverage.xml", "html": "htmlcov"}  # pytest-cov's defaults


def parse_report(text: str) -> CoverageReport:
    """``term``, ``term-missing``, ``xml``, ``xml:PATH``, ``html``, ``html:DIR``; UsageError otherwise."""
    kind, _, path = text.partition(":")
    kind = kind.strip()
    if kind in ("term", "term-missing") and not path:
        return CoverageReport("term")
    if kind in DEFAULT_PATHS:
        return CoverageReport(kind, Path(path or DEFAULT_PATHS[kind]))
    raise UsageError(i18n._("--cov-report {text}: give term, xml[:PATH] or html[:DIR] "
                            "(e.g. --cov-report xml:coverage.xml)").format(text=repr(text)))


def _name(path: Path, base: Path) -> str:
    relative = os.path.relpath(path, base)
    return str(path) if relative.startswith("..") else relative


def _cover(done: int, total: int) -> float:
    return 1.0 if total == 0 else done / total


def _file_figures(f: FileCoverage) -> Tuple[int, int, int, int]:
    """(statements, run, branch exits, taken)."""
    exits, taken = f.branch_counts
    return len(f.statements), len(f.executed), exits, taken


def _untaken(f: FileCoverage) -> List[Tuple[int, int]]:
    taken = set(f.arcs_executed)
    branch_lines = f.branches()
    return sorted((a, b) for a, b in f.arcs_possible
                  if a in branch_lines and (a, b) not in taken and a in f.executed)


def term(result: CoverageResult, base: Path) -> str:
    if not result.files:
        return render.no_coverage(result.problems)
    rows = []
    for f in result.files:
        stmts, run, exits, taken = _file_figures(f)
        partial = sum(1 for total, done in f.branches().values() if done < total)
        missing = ", ".join(filter(None, [render.line_ranges(f.missing), render.arc_words(_untaken(f))]))
        rows.append((_name(f.path, base), stmts, stmts - run, exits, partial,
                     render.percent(run + taken, stmts + exits), missing))
    stmts, run = result.line_counts
    exits, taken = result.branch_counts
    partial = sum(row[4] for row in rows)
    rows.append(("TOTAL", stmts, stmts - run, exits, partial, render.percent(run + taken, stmts + exits), ""))
    return render.coverage_table(rows, result.instances, result.problems)


def cobertura(result: CoverageResult, base: Path) -> str:
    """Cobertura XML (coverage-04.dtd, as coverage.py writes it)."""
    stmts, run = result.line_counts
    exits, taken = result.branch_counts
    root = ET.Element("coverage", {
        "version": f"scftest {__version__}", "timestamp": str(int(time.time() * 1000)),
        "lines-valid": str(stmts), "lines-covered": str(run), "line-rate": f"{_cover(run, stmts):.4g}",
        "branches-valid": str(exits), "branches-covered": str(taken), "branch-rate": f"{_cover(taken, exits):.4g}",
        "complexity": "0"})
    ET.SubElement(ET.SubElement(root, "sources"), "source").text = str(base.resolve())
    packages = ET.SubElement(root, "packages")
    by_package = {}
    for f in result.files:
        name = _name(f.path, base)
        folder = os.path.dirname(name)
        by_package.setdefault(folder.replace(os.sep, ".") or ".", []).append((name, f))
    for package_name, members in sorted(by_package.items()):
        p_stmts = sum(len(f.statements) for _, f in members)
        p_run = sum(len(f.executed) for _, f in members)
        p_exits = sum(f.branch_counts[0] for _, f in members)
        p_taken = sum(f.branch_counts[1] for _, f in members)
        package = ET.SubElement(packages, "package", {
            "name": package_name, "line-rate": f"{_cover(p_run, p_stmts):.4g}",
            "branch-rate": f"{_cover(p_taken, p_exits):.4g}", "complexity": "0"})
        classes = ET.SubElement(package, "classes")
        for name, f in members:
            f_stmts, f_run, f_exits, f_taken = _file_figures(f)
            cls = ET.SubElement(classes, "class", {
                "name": os.path.basename(name), "filename": name, "complexity": "0",
                "line-rate": f"{_cover(f_run, f_stmts):.4g}", "branch-rate": f"{_cover(f_taken, f_exits):.4g}"})
            ET.SubElement(cls, "methods")
            lines = ET.SubElement(cls, "lines")
            branches = f.branches()
            for number in sorted(f.statements):
                attributes = {"number": str(number), "hits": "1" if number in f.executed else "0"}
                if number in branches:
                    total, done = branches[number]
                    attributes.update({"branch": "true",
                                       "condition-coverage": f"{render.percent(done, total)} ({done}/{total})"})
                ET.SubElement(lines, "line", attributes)
    text = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" ?>\n<!DOCTYPE coverage SYSTEM '
            '"https://raw.githubusercontent.com/cobertura/web/master/htdocs/xml/coverage-04.dtd">\n'
            + text + "\n")


def html_page(result: CoverageResult, base: Path) -> str:
    """One page: the table, then each file's source with its lines marked."""
    e = html.escape
    rows = []
    sections = []
    for index, f in enumerate(result.files):
        stmts, run, exits, taken = _file_figures(f)
        name = _name(f.path, base)
        cover = render.percent(run + taken, stmts + exits)
        rows.append(f"<tr><td><a href=\"#file-{index}\">{e(name)}</a></td><td>{stmts}</td><td>{stmts - run}</td>"
                    f"<td>{exits}</td><td>{exits - taken}</td><td>{cover}</td></tr>")
        sections.append(_source_section(index, name, f, cover))
    stmts, run = result.line_counts
    exits, taken = result.branch_counts
    total = render.percent(run + taken, stmts + exits)
    problems = "".join(f"<li>{e(p)}</li>" for p in result.problems)
    return COVERAGE_PAGE.format(
        total=e(total), instances=result.instances,
        rows="".join(rows), problems=f"<ul class=\"problems\">{problems}</ul>" if problems else "",
        files="".join(sections), total_row=f"<tr><th>TOTAL</th><th>{stmts}</th><th>{stmts - run}</th>"
                                           f"<th>{exits}</th><th>{exits - taken}</th><th>{e(total)}</th></tr>")


def _source_section(index: int, name: str, f: FileCoverage, cover: str) -> str:
    e = html.escape
    try:
        source = f.path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        return (f"<section id=\"file-{index}\"><h2>{e(name)} <span>{cover}</span></h2>"
                f"<p>the file cannot be read now: {e(exc.strerror or str(exc))}</p></section>")
    branches = f.branches()
    lines = []
    for number, text in enumerate(source, 1):
        if number not in f.statements:
            kind, note = "", ""
        elif number not in f.executed:
            kind, note = "miss", "not run"
        elif number in branches and branches[number][1] < branches[number][0]:
            done, total = branches[number][1], branches[number][0]
            kind, note = "part", f"branch: {done} of {total} ways taken"
        else:
            kind, note = "run", ""
        title = f" title=\"{e(note)}\"" if note else ""
        lines.append(f"<tr class=\"{kind}\"{title}><td class=\"n\">{number}</td><td><code>{e(text) or ' '}</code></td>"
                     f"<td class=\"note\">{e(note)}</td></tr>")
    return (f"<section id=\"file-{index}\"><h2>{e(name)} <span>{cover}</span></h2>"
            f"<table class=\"source\">{''.join(lines)}</table></section>")


def write(reports: Sequence[CoverageReport], result: CoverageResult, base: Path, console) -> List[ReportError]:
    """Each report asked for; the errors of those that could not be written."""
    errors: List[ReportError] = []
    for report in reports:
        try:
            if report.kind == "term":
                console.write(term(result, base))
            elif report.kind == "xml":
                write_report(report.path, cobertura(result, base))
            else:
                write_report(Path(report.path) / "index.html", html_page(result, base))
        except ReportError as exc:
            errors.append(exc)
    return errors


COVERAGE_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>coverage of the handler code: {total}</title>
<style>
body {{ font: 15px/1.45 system-ui, sans-serif; max-width: 70rem; margin: 0 auto; padding: 1rem 1.5rem; color: #1b1b1b; }}
table {{ border-collapse: collapse; }} th, td {{ padding: .15rem .6rem; text-align: left; }}
table.files td, table.files th {{ border-bottom: 1px solid #ddd; }}
table.source {{ width: 100%; font: .85rem/1.35 ui-monospace, Menlo, Consolas, monospace; }}
table.source td {{ padding: 0 .5rem; white-space: pre; }}
td.n {{ color: #666; text-align: right; width: 3rem; }} td.note {{ color: #555; font-family: system-ui, sans-serif; }}
tr.run {{ background: #e6f4ea; }} tr.miss {{ background: #fde2e1; }} tr.part {{ background: #fff4d6; }}
h2 span {{ font-weight: normal; color: #555; }} .problems {{ color: #8a1c14; }}
</style></head><body>
<h1>Coverage of the handler code: {total}</h1>
<p>{instances} instances measured. Lines: <span style="background:#e6f4ea">run</span>,
<span style="background:#fde2e1">not run</span>, <span style="background:#fff4d6">a branch not taken every way</span>.</p>
{problems}
<table class="files"><thead><tr><th>file</th><th>statements</th><th>not run</th><th>branch exits</th>
<th>not taken</th><th>cover</th></tr></thead><tbody>{rows}</tbody><tfoot>{total_row}</tfoot></table>
{files}
</body></html>
"""
