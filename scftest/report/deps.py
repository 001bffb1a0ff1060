"""The text and the JSON of ``scftest deps``, made from ``DepsReport`` values.

The JSON shape (``--json``) is documented in docs/dependencies.md and keyed by
``format_version``; every message in it is the one the table shows.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from scftest.deps import audit as deps
from scftest.deps.audit import DepsReport, Finding, FunctionReport
from scftest.i18n import N_, _
from scftest.render import display_width

FORMAT_VERSION = 1
_ORIGINS = (deps.STDLIB, deps.CODE, deps.LAYER, deps.IMAGE, deps.MISSING)
# The origins and kinds are the JSON's words (English in every language); the table names them so.
_ORIGIN_WORDS = {deps.STDLIB: N_("stdlib"), deps.CODE: N_("code"), deps.LAYER: N_("layer"),
                 deps.IMAGE: N_("image"), deps.MISSING: N_("missing")}
_KIND_WORDS = {deps.MISSING: N_("missing"), deps.RELATIVE: N_("relative"), deps.BINARY: N_("binary"),
               deps.SYNTAX: N_("syntax")}

# The tables hold marked English (N_); what shows them translates (_) in the command's language.
_HINTS = {
    deps.MISSING: N_("vendor it into the code folder with the runtime's own Python "
                     "(pip install --target), or put it in a layer"),
    deps.RELATIVE: N_("fix the import: a relative import needs the module it names inside a package "
                      "(a folder with __init__.py) of the code folder"),
    deps.BINARY: N_("vendor the package with the runtime's own Python (pip install --target), or with "
                    "pip install --python-version X.Y --only-binary=:all: --platform manylinux2014_x86_64 --target"),
    deps.SYNTAX: N_("the runtime's Python cannot read this file: fix the line, or remove the file "
                    "if the function never imports it"),
}


def shown(path: Path, base: Optional[Path] = None) -> str:
    """``path`` relative to ``base`` (the working directory) when it is below it."""
    base = base or Path.cwd()
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


_EXCUSES = {
    deps.TRY: N_("the import is inside try/except ImportError, so the code goes on without it "
                 "(check that is what you want)"),
    deps.IF: N_("the import is under an `if` on the Python version or platform: most likely for another Python"),
    deps.VENDORED: N_("it is imported inside a function of the vendored {owner}: most likely an optional feature of it"),
    deps.GUARDED_FILE: N_("the handlers import this file only under try/except ImportError, a Python version check "
                          "or inside a function of a vendored package, so the code goes on without it"),
    deps.UNREACHED: N_("no handler imports this file (directly or through other files of the code folder), "
                       "so it does not matter unless something imports it in a way scftest cannot see"),
}


def message(finding: Finding, runtime: str) -> str:
    """What a finding means, in one sentence."""
    module = f"`{finding.module}`"
    if finding.kind == deps.MISSING:
        text = _("{module} cannot be imported in the cloud: it is not in {runtime}'s standard library, "
                 "the code folder, a layer or the {runtime} image").format(module=module, runtime=runtime)
        text += _(" (the {runtime} image has it)").format(runtime=finding.expected) if finding.expected else ""
        return _excused(text, finding)
    if finding.kind == deps.RELATIVE:
        return _excused(_("relative import {module} finds nothing: {why}").format(module=module, why=finding.detail),
                        finding)
    if finding.kind == deps.BINARY:
        return _("compiled module {module} is {why}: {runtime} cannot load it").format(
            module=module, why=finding.detail, runtime=runtime)
    if finding.kind == deps.VERSION:
        return _("vendored {package} {version}; the {runtime} image has {expected}: "
                 "your copy is the one imported (the code folder comes first)").format(
            package=finding.module, version=finding.detail, runtime=runtime, expected=finding.expected)
    if finding.kind == deps.SYNTAX:
        return _("{runtime}'s Python cannot parse this file ({why}): importing it fails in the cloud").format(
            runtime=runtime, why=finding.detail)
    return finding.detail


def _excused(text: str, finding: Finding) -> str:
    if finding.excused:
        return _("{finding}; {excuse}").format(finding=text, excuse=_(_EXCUSES[finding.excused]).format(
            owner=finding.owner))
    return _("{finding} (imported by the vendored {owner})").format(finding=text, owner=finding.owner) \
        if finding.owner else text


def where(finding: Finding, base: Optional[Path] = None) -> str:
    place = shown(finding.file, base)
    return f"{place}:{finding.line}" if finding.line else place


def table(report: DepsReport, base: Optional[Path] = None, verbose: bool = False) -> str:
    """The default output: each function's findings, one line each, and a summary. The
    warnings inside a vendored distribution are one line per distribution, unless ``verbose``."""
    lines: List[str] = [str(problem) for problem in report.problems]
    for function in report.functions:
        lines.extend(_function_lines(function, base, verbose))
    if not report.functions and not report.problems:
        lines.append(_("nothing to check: no suite with cases and no folder of Python code under the paths given"))
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _function_lines(function: FunctionReport, base: Optional[Path], verbose: bool) -> List[str]:
    target = function.target
    head = _("{code} on {runtime}").format(code=shown(target.code_root, base), runtime=target.runtime)
    if target.layers:
        head += _(", layers {layers}").format(layers=", ".join(shown(layer, base) for layer in target.layers))
    if function.unchecked:
        return [head, "  " + _("NOT CHECKED: {why}").format(why=function.unchecked)]
    counts = Counter(origin for _module, origin in function.modules)
    found = _(", ").join(_("{count} {origin}").format(count=counts[o], origin=_(_ORIGIN_WORDS[o]))
                         for o in _ORIGINS if counts[o])
    lines = [_("{head} (Python {version}): {files} file(s), {imports} import(s) of {modules} module(s)").format(
        head=head, version=function.python_version, files=function.files, imports=function.imports,
        modules=len(function.modules)) + (_(": {origins}").format(origins=found) if found else "")]
    rows = _rows(function, base, verbose)
    if rows:
        width = max(len(row[1]) for row in rows)
        severity_width = max(7, max(display_width(row[0]) for row in rows))
        lines.extend(f"  {_padded(severity, severity_width)}  {place:<{width}}  {text}" for severity, place, text in rows)
    hints = ["  " + _("what to do ({kind}): {hint}").format(kind=_(_KIND_WORDS[kind]), hint=_(_HINTS[kind]))
             for kind in _HINTS
             if any(f.kind == kind and f.severity == deps.PROBLEM for f in function.findings)]
    if hints:
        return lines + hints
    return lines + ["  " + (_("no problems, only warnings") if function.findings
                            else _("ok: the cloud can import everything this code imports"))]


def _padded(text: str, width: int) -> str:
    """``text`` filled to ``width`` terminal columns (a Chinese character takes two)."""
    return text + " " * (width - display_width(text))


def _rows(function: FunctionReport, base: Optional[Path], verbose: bool) -> List[Tuple[str, str, str]]:
    runtime = function.target.runtime
    rows: List[Tuple[str, str, str]] = []
    collapsed: Dict[str, List[Finding]] = {}
    for finding in function.findings:
        if finding.severity == deps.WARNING and finding.owner and not verbose:
            collapsed.setdefault(finding.owner, []).append(finding)
            continue
        severity = _("PROBLEM") if finding.severity == deps.PROBLEM else _("warning")
        rows.append((severity, where(finding, base), message(finding, runtime)))
    for owner, findings in collapsed.items():
        modules = ", ".join(dict.fromkeys(f.module for f in findings))
        folder = Path(os.path.commonpath([str(f.file.parent) for f in findings]))
        rows.append((_("warning"), shown(folder, base),
                     _("{count} import(s) inside the vendored {owner} that the cloud cannot make, none of them "
                       "on the handlers' way without a guard: most likely optional or for another Python "
                       "({modules}); -v lists them").format(count=len(findings), owner=owner, modules=modules)))
    return rows


def summary(report: DepsReport) -> str:
    problems = sum(len(f.problems) for f in report.functions)
    warnings = sum(len(f.warnings) for f in report.functions)
    unchecked = sum(1 for f in report.functions if f.unchecked)
    parts = [_("{count} problem(s)").format(count=problems), _("{count} warning(s)").format(count=warnings)]
    if unchecked:
        parts.append(_("{count} not checked").format(count=unchecked))
    if report.problems:
        parts.append(_("{count} file(s) with problems").format(count=len({p.file for p in report.problems})))
    return "deps: " + _("{count} function(s) checked: {parts} ({seconds} s)").format(
        count=len(report.functions), parts=_(", ").join(parts), seconds=f"{report.elapsed_s:.2f}")


def to_dict(report: DepsReport, base: Optional[Path] = None) -> Dict[str, Any]:
    """The ``--json`` document."""
    return {
        "format_version": FORMAT_VERSION,
        "exit_code": report.exit_code,
        "elapsed_s": round(report.elapsed_s, 3),
        "problems": [{"file": shown(p.file, base), "line": p.line, "col": p.col, "message": p.message,
                      "hint": p.hint} for p in report.problems],
        "functions": [_function(function, base) for function in report.functions],
        "summary": {"functions": len(report.functions),
                    "problems": sum(len(f.problems) for f in report.functions),
                    "warnings": sum(len(f.warnings) for f in report.functions),
                    "unchecked": sum(1 for f in report.functions if f.unchecked)},
    }


def _function(function: FunctionReport, base: Optional[Path]) -> Dict[str, Any]:
    target = function.target
    return {
        "code": shown(target.code_root, base),
        "runtime": target.runtime,
        "handlers": list(target.handlers),
        "layers": [shown(layer, base) for layer in target.layers],
        "suites": [shown(suite, base) for suite in target.suites],
        "interpreter": {"path": function.interpreter, "version": function.python_version}
        if function.interpreter else None,
        "unchecked": function.unchecked or None,
        "files": function.files,
        "imports": function.imports,
        "modules": dict(function.modules),
        "findings": [{"severity": f.severity, "kind": f.kind, "file": shown(f.file, base),
                      "line": f.line, "module": f.module, "excused": f.excused or None,
                      "vendored_in": f.owner or None, "message": message(f, target.runtime),
                      "hint": "" if f.severity == deps.WARNING else _(_HINTS[f.kind]) if f.kind in _HINTS else ""}
                     for f in function.findings],
    }
