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

FORMAT_VERSION = 1
_ORIGINS = (deps.STDLIB, deps.CODE, deps.LAYER, deps.IMAGE, deps.MISSING)

_HINTS = {
    deps.MISSING: "vendor it into the code folder with the runtime's own Python "
                  "(pip install --target), or put it in a layer",
    deps.RELATIVE: "fix the import: a relative import needs the module it names inside a package "
                   "(a folder with __init__.py) of the code folder",
    deps.BINARY: "vendor the package with the runtime's own Python (pip install --target), or with "
                 "pip install --python-version X.Y --only-binary=:all: --platform manylinux2014_x86_64 --target",
    deps.SYNTAX: "the runtime's Python cannot read this file: fix the line, or remove the file "
                 "if the function never imports it",
}


def shown(path: Path, base: Optional[Path] = None) -> str:
    """``path`` relative to ``base`` (the working directory) when it is below it."""
    base = base or Path.cwd()
    try:
        return str(path.relative_to(base))
    except ValueError:
        return str(path)


_EXCUSES = {
    deps.TRY: "the import is inside try/except ImportError, so the code goes on without it "
              "(check that is what you want)",
    deps.IF: "the import is under an `if` on the Python version or platform: most likely for another Python",
    deps.VENDORED: "it is imported inside a function of the vendored {owner}: most likely an optional feature of it",
    deps.GUARDED_FILE: "the handlers import this file only under try/except ImportError, a Python version check "
                       "or inside a function of a vendored package, so the code goes on without it",
    deps.UNREACHED: "no handler imports this file (directly or through other files of the code folder), "
                    "so it does not matter unless something imports it in a way scftest cannot see",
}


def message(finding: Finding, runtime: str) -> str:
    """What a finding means, in one sentence."""
    module = f"`{finding.module}`"
    if finding.kind == deps.MISSING:
        text = (f"{module} cannot be imported in the cloud: it is not in {runtime}'s standard library, "
                f"the code folder, a layer or the {runtime} image")
        text += f" (the {finding.expected} image has it)" if finding.expected else ""
        return _excused(text, finding)
    if finding.kind == deps.RELATIVE:
        return _excused(f"relative import `{finding.module}` finds nothing: {finding.detail}", finding)
    if finding.kind == deps.BINARY:
        return f"compiled module {module} is {finding.detail}: {runtime} cannot load it"
    if finding.kind == deps.VERSION:
        return (f"vendored {finding.module} {finding.detail}; the {runtime} image has {finding.expected}: "
                f"your copy is the one imported (the code folder comes first)")
    if finding.kind == deps.SYNTAX:
        return f"{runtime}'s Python cannot parse this file ({finding.detail}): importing it fails in the cloud"
    return finding.detail


def _excused(text: str, finding: Finding) -> str:
    if finding.excused:
        return f"{text}; {_EXCUSES[finding.excused].format(owner=finding.owner)}"
    return f"{text} (imported by the vendored {finding.owner})" if finding.owner else text


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
        lines.append("nothing to check: no suite with cases and no folder of Python code under the paths given")
    lines.append(summary(report))
    return "\n".join(lines) + "\n"


def _function_lines(function: FunctionReport, base: Optional[Path], verbose: bool) -> List[str]:
    target = function.target
    layers = f", layers {', '.join(shown(layer, base) for layer in target.layers)}" if target.layers else ""
    head = f"{shown(target.code_root, base)} on {target.runtime}{layers}"
    if function.unchecked:
        return [head, f"  NOT CHECKED: {function.unchecked}"]
    counts = Counter(origin for _, origin in function.modules)
    found = ", ".join(f"{counts[o]} {o}" for o in _ORIGINS if counts[o])
    lines = [f"{head} (Python {function.python_version}): {function.files} file(s), "
             f"{function.imports} import(s) of {len(function.modules)} module(s)" + (f": {found}" if found else "")]
    rows = _rows(function, base, verbose)
    if rows:
        width = max(len(row[1]) for row in rows)
        lines.extend(f"  {severity:<7}  {place:<{width}}  {text}" for severity, place, text in rows)
    hints = [f"  what to do ({kind}): {_HINTS[kind]}" for kind in _HINTS
             if any(f.kind == kind and f.severity == deps.PROBLEM for f in function.findings)]
    if hints:
        return lines + hints
    return lines + ["  no problems, only warnings" if function.findings
                    else "  ok: the cloud can import everything this code imports"]


def _rows(function: FunctionReport, base: Optional[Path], verbose: bool) -> List[Tuple[str, str, str]]:
    runtime = function.target.runtime
    rows: List[Tuple[str, str, str]] = []
    collapsed: Dict[str, List[Finding]] = {}
    for finding in function.findings:
        if finding.severity == deps.WARNING and finding.owner and not verbose:
            collapsed.setdefault(finding.owner, []).append(finding)
            continue
        severity = "PROBLEM" if finding.severity == deps.PROBLEM else "warning"
        rows.append((severity, where(finding, base), message(finding, runtime)))
    for owner, findings in collapsed.items():
        modules = ", ".join(dict.fromkeys(f.module for f in findings))
        folder = Path(os.path.commonpath([str(f.file.parent) for f in findings]))
        rows.append(("warning", shown(folder, base),
                     f"{len(findings)} import(s) inside the vendored {owner} that the cloud cannot make, none of them "
                     f"on the handlers' way without a guard: most likely optional or for another Python "
                     f"({modules}); -v lists them"))
    return rows


def summary(report: DepsReport) -> str:
    problems = sum(len(f.problems) for f in report.functions)
    warnings = sum(len(f.warnings) for f in report.functions)
    unchecked = sum(1 for f in report.functions if f.unchecked)
    parts = [f"{problems} problem(s)", f"{warnings} warning(s)"]
    if unchecked:
        parts.append(f"{unchecked} not checked")
    if report.problems:
        parts.append(f"{len({p.file for p in report.problems})} file(s) with problems")
    return f"deps: {len(report.functions)} function(s) checked: {', '.join(parts)} ({report.elapsed_s:.2f} s)"


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
                      "hint": "" if f.severity == deps.WARNING else _HINTS.get(f.kind, "")}
                     for f in function.findings],
    }
