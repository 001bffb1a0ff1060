"""Command line: argument parsing and wiring only; the work is done by the pipeline modules."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Iterator, List, Optional, Sequence

from scftest import __version__, i18n, render
from scftest.errors import ScftestError, UsageError
from scftest.load.project import Project, find_project
from scftest.result import EXIT_FAILED, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE

if TYPE_CHECKING:
    from scftest.check.outcome import CaseOutcome

DESCRIPTION = i18n.N_("Declarative test runner for Tencent Cloud SCF Python handlers.")


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on bad usage; pytest's convention (and ours) is 4. Its help's
    headings are translated on every Python (i18n.HelpFormatter)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("formatter_class", i18n.HelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, i18n._("%(prog)s: error: %(message)s\n") % {"prog": self.prog, "message": message})


def build_parser(argv: Optional[Sequence[str]] = None) -> argparse.ArgumentParser:
    """The parser; ``argv`` (default: this process's) only decides whether the run command's
    report options are needed: their registry imports every report module, which a
    ``scftest validate`` has no use for (issue 15: a quick start)."""
    parser = _Parser(prog="scftest", description=i18n._(DESCRIPTION))
    parser.add_argument("--version", action="version", version=f"scftest {__version__}",
                        help=i18n._("show program's version number and exit"))
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    run = commands.add_parser("run", help=i18n._("run suites and report verdicts"))
    _add_paths(run)
    if "run" in (sys.argv[1:] if argv is None else argv):
        _add_report_options(run)
    run.add_argument("-k", dest="keyword", metavar="EXPR",
                     help=i18n._("only cases whose 'suite::case' id matches EXPR (words with and / or / not; "
                                  "words side by side match as a phrase)"))
    run.add_argument("--tag", dest="tags", action="append", default=[], metavar="EXPR",
                     help=i18n._("only cases whose tags match EXPR, e.g. 'smoke and not network' "
                                  "(repeatable: any of them)"))
    run.add_argument("--lf", "--last-failed", dest="last_failed", action="store_const", const="lf",
                     help=i18n._("run only the cases that failed last time (all of them if none did)"))
    run.add_argument("--ff", "--failed-first", dest="last_failed", action="store_const", const="ff",
                     help=i18n._("run the cases that failed last time first, then the others"))
    run.add_argument("--cache-clear", action="store_true",
                     help=i18n._("forget the failures of earlier runs (.scftest_cache/) before this one"))
    run.add_argument("--durations", type=_durations, metavar="N",
                     help=i18n._("list the N slowest cases with their times (0: every case); default 5"))
    run.add_argument("--shard", metavar="K/N", help=i18n._("run only shard K of N (for parallel CI jobs)"))
    run.add_argument("-x", "--exitfirst", action="store_true", help=i18n._("stop after the first failing case"))
    run.add_argument("-j", "--jobs", default="1", metavar="N",
                     help=i18n._("run N cases at once ('auto': one per CPU core); default 1"))
    run.add_argument("-v", "--verbose", action="count", default=0,
                     help=i18n._("a line per case with its invocation record; -vv adds the log"))
    run.add_argument("-q", "--quiet", action="count", default=0, help=i18n._("less output"))
    run.add_argument("--color", choices=("auto", "yes", "no"), default="auto",
                     help=i18n._("colour the output (default: on a terminal, unless NO_COLOR is set)"))
    run.add_argument("--update", action="store_true",
                     help=i18n._("record mode: write observed outcomes into cases that lack them (never in CI)"))
    run.add_argument("--cov", action="store_true",
                     help=i18n._("measure which lines and branches of the handler code the cases ran (docs/ci.md)"))
    run.add_argument("--cov-report", dest="cov_reports", action="append", default=[], metavar="TYPE",
                     help=i18n._("term (the default), xml[:PATH] (Cobertura) or html[:DIR]; repeatable; implies --cov"))
    run.add_argument("--cov-fail-under", type=_fail_under, metavar="N",
                     help=i18n._("exit with status 1 when the total coverage is below N percent "
                                 "(pytest-cov's option); implies --cov"))
    _add_runtime_options(run)
    _add_isolation_option(run)
    run.add_argument("--fresh", action="store_true",
                     help=i18n._("start every case's process as a fresh interpreter (the reference; "
                                 "default: forked from its runtime's pre-started zygote where that is "
                                 "equivalent, see README Speed)"))

    validate = commands.add_parser("validate", help=i18n._("check suites without running anything"))
    _add_paths(validate)
    validate.add_argument("-v", "--verbose", action="count", default=0, help=i18n._("also list every case"))

    runtimes = commands.add_parser("runtimes", help=i18n._("list SCF runtimes and the interpreter each uses"))
    _add_runtime_options(runtimes)

    doctor = commands.add_parser("doctor", help=i18n._("which isolation this machine gives a case, and why"))
    _add_isolation_option(doctor)

    events = commands.add_parser("events", help=i18n._("list the built-in trigger event templates"))
    events.add_argument("action", nargs="?", choices=("list", "show"), default="list")
    events.add_argument("name", nargs="?", help=i18n._("the template to show"))

    image = commands.add_parser("image", help=i18n._("the runtimes' pre-installed cloud libraries: list, install"))
    image_actions = image.add_subparsers(dest="image_action", metavar="ACTION", parser_class=_Parser)
    image_list = image_actions.add_parser("list", help=i18n._("a runtime's library table and what is provisioned"))
    image_list.add_argument("runtime", nargs="?", help=i18n._("e.g. Python3.6 (default: every runtime)"))
    image_install = image_actions.add_parser(
        "install", help=i18n._("provision a runtime's libraries at the cloud's versions, with its own interpreter"))
    image_install.add_argument("runtime", help=i18n._("e.g. Python3.6"))
    image_install.add_argument("packages", nargs="*", metavar="LIBRARY",
                               help=i18n._("library or import names (default: the whole table)"))
    image_install.add_argument("--force", action="store_true", help=i18n._("reinstall what is already provisioned"))
    image_install.add_argument("--runtime", dest="runtimes", action="append", default=[], metavar="NAME=PATH",
                               help=i18n._("use this interpreter for the runtime, e.g. Python3.6=/opt/py36/bin/python"))

    deps = commands.add_parser("deps", help=i18n._("what the functions' code imports that the cloud could not (runs nothing)"))
    deps.add_argument("paths", nargs="*", type=_given_path, metavar="PATH",
                      help=i18n._("suite files or folders, or code folders (default: the project's suites)"))
    deps.add_argument("--json", metavar="PATH", type=_given_path,
                      help=i18n._("write the findings as JSON to PATH ('-': standard output, instead of the table)"))
    deps.add_argument("--for", dest="targets", action="append", default=[], metavar="RUNTIME",
                      help=i18n._("check for this runtime (repeatable); default: each suite's own, Python3.6 for a code folder"))
    deps.add_argument("--layer", dest="layers", action="append", default=[], type=_given_path, metavar="DIR",
                      help=i18n._("a layer folder the code sees under /opt (repeatable, in order), after the function's own"))
    deps.add_argument("--runtime", dest="runtimes", action="append", default=[], metavar="NAME=PATH",
                      help=i18n._("use this interpreter for a runtime, e.g. Python3.6=/opt/py36/bin/python"))
    deps.add_argument("-v", "--verbose", action="store_true",
                      help=i18n._("list each warning inside vendored packages instead of one line per package"))

    init = commands.add_parser("init", help=i18n._("scaffold a function and a passing suite"))
    init.add_argument("folder", nargs="?", type=Path, default=Path("."), help=i18n._("where (default: here)"))

    commands.add_parser("fidelity", help=i18n._("print docs/fidelity.md: what scftest emulates per runtime, and its sources"))
    schema = commands.add_parser("schema", help=i18n._("print the suite JSON Schema (for editors)"))
    schema.add_argument("--path", action="store_true", help=i18n._("print the schema file's path instead"))
    _add_language_option(parser, image_actions, commands)
    return parser


def _add_language_option(parser: argparse.ArgumentParser, *subparsers: argparse._SubParsersAction) -> None:
    """--lang on scftest and on every command (before or after the command's name). main
    has read it already (the help is in that language); here the parser checks its value."""
    for each in [parser] + [p for group in subparsers for p in group.choices.values()]:
        each.add_argument("--lang", choices=i18n.LANGUAGES, default=argparse.SUPPRESS,
                          help=i18n._("the language of messages (default: from LC_ALL / LC_MESSAGES / LANG: zh_* is zh)"))


def _add_report_options(parser: argparse.ArgumentParser) -> None:
    """One ``--OPTION PATH`` per file report, as the report registers it."""
    from scftest.report.reporters import FILE_REPORTERS

    for name, reporter in FILE_REPORTERS.items():
        parser.add_argument(reporter.option, dest=name, metavar="PATH", type=_given_path,
                            help=i18n._(reporter.help))


def _report_paths(args: argparse.Namespace) -> Dict[str, Path]:
    """The file reports asked for: registry name -> path."""
    from scftest.report.reporters import FILE_REPORTERS

    return {name: getattr(args, name) for name in FILE_REPORTERS if getattr(args, name) is not None}


def _durations(text: str) -> int:
    try:
        number = int(text)
    except ValueError:
        number = -1
    if number < 0:
        raise argparse.ArgumentTypeError(i18n._("{value}: give a number of cases, 0 or more (0: every case)").format(
            value=repr(text)))
    return number


def _fail_under(text: str) -> float:
    try:
        number = float(text)
    except ValueError:
        number = -1.0
    if not 0 <= number <= 100:  # NaN too
        raise argparse.ArgumentTypeError(i18n._("{value}: give a percentage from 0 to 100").format(value=repr(text)))
    return number


def _given_path(text: str) -> Path:
    # Path("") is ".": an unset shell variable ("$SUITE") would silently mean this folder.
    if not text:
        raise argparse.ArgumentTypeError(i18n._("an empty path: give a name (is a shell variable unset?)"))
    return Path(text)


def _add_paths(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", type=_given_path, metavar="PATH",
                        help=i18n._("suite files or folders (default: the project's suites)"))


def _add_runtime_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime", dest="runtimes", action="append", default=[], metavar="NAME=PATH",
                        help=i18n._("use this interpreter for a runtime, e.g. Python3.6=/opt/py36/bin/python"))
    parser.add_argument("--runtime-fallback", action="store_true",
                        help=i18n._("run a case whose runtime has no interpreter on the nearest one (labelled in reports)"))


# A CI job is cancelled with SIGTERM, a closed terminal sends SIGHUP: either must end the run
# as Ctrl-C does (children killed, reports for what finished, exit 2), not kill it reportless.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


@contextmanager
def _stop_signals_interrupt() -> Iterator[None]:
    """SIGTERM and SIGHUP raise KeyboardInterrupt in the main thread while a command runs;
    the handlers before are restored after (main may be called in-process, even off the
    main thread, where Python allows no handlers: there the signals keep their meaning)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.signal(sig, _interrupt) for sig in STOP_SIGNALS}
    try:
        yield
    finally:
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _add_isolation_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--isolation", choices=("auto", "strict", "process"), default="auto",
                        help=i18n._("auto: the strongest this machine allows (labelled in every report); "
                                    "strict: a case that cannot be contained is an error; "
                                    "process: plain processes, no namespaces"))


def main(argv: Optional[Sequence[str]] = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    # The one place the language is chosen: every message of the command, on any thread,
    # is made in it (scftest/i18n.py says why that is process-wide).
    with i18n.speaking(i18n.choose(words, os.environ)):
        return _main(words)


def _main(argv: Sequence[str]) -> int:
    parser = build_parser(argv)
    args = parser.parse_args(argv)
    if not args.command:
        parser.print_help()
        return EXIT_USAGE
    try:
        with _stop_signals_interrupt():
            status = COMMANDS[args.command](args)
        sys.stdout.flush()
        return status
    except BrokenPipeError:
        # The reader of our output went away (`scftest validate | head`). `run` keeps going
        # without a terminal (its reporter stops printing); anything else was cut short.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_INTERRUPTED
    except ScftestError as exc:  # scftest's own errors say what to do: no traceback
        print(f"scftest: {render.terminal_block(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("\nscftest: " + i18n._("interrupted"), file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception:
        print("scftest: " + i18n._("internal error — please report it with the traceback below"), file=sys.stderr)
        traceback.print_exc()
        return EXIT_INTERNAL


def _project() -> Project:
    return find_project(Path.cwd())  # a ProjectError is a ScftestError: main shows it


def _paths(args: argparse.Namespace, project: Project) -> List[Path]:
    return list(args.paths) or project.default_paths(Path.cwd())


def _runtime_overrides(args: argparse.Namespace) -> Dict[str, str]:
    """--runtime flags only: the resolver reads [tool.scftest.runtimes] itself."""
    from scftest.instance.interpreters import offered_runtime

    overrides: Dict[str, str] = {}
    for item in args.runtimes:
        name, sep, path = item.partition("=")
        if not sep or not name or not path:
            raise UsageError(i18n._("--runtime {value}: write it as NAME=PATH, e.g. --runtime Python3.6=/usr/bin/python3.6")
                             .format(value=repr(item)))
        try:
            overrides[offered_runtime(name.strip())] = path.strip()
        except ValueError as exc:
            raise UsageError(f"--runtime {item!r}: {exc}") from None
    return overrides


def _jobs(text: str) -> int:
    if text == "auto":
        return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise UsageError(i18n._("-j {value}: give a number of workers (1 or more) or 'auto'").format(value=repr(text)))
    return jobs


def cmd_run(args: argparse.Namespace) -> int:
    from scftest import plan
    from scftest.report import ReportSettings
    from scftest.report.reporters import FILE_REPORTERS, Group, create
    from scftest.session import RunOptions, run

    if args.update:
        _refuse_update_in_ci()
    console = _console(args)
    project = _project()
    cov_reports = _cov_reports(args)  # UsageError before anything runs
    shard = plan.parse_shard(args.shard) if args.shard else None  # PlanError: main shows it
    if args.keyword:
        plan.compile_keyword(args.keyword)
    if args.tags:
        plan.compile_tags(args.tags)
    paths = _paths(args, project)
    cache = _cache(args, project, paths)
    reports = _report_paths(args)
    options = RunOptions(
        paths=paths,
        keyword=args.keyword,
        tags=args.tags,
        shard=shard,
        exitfirst=args.exitfirst,
        jobs=_jobs(args.jobs),
        runtime_overrides=_runtime_overrides(args),
        runtime_fallback=args.runtime_fallback,
        isolation=args.isolation,
        fresh=args.fresh,
        project_root=project.root,
        last_failed=_last_failed(args, cache),
        coverage=bool(args.cov or args.cov_reports or args.cov_fail_under is not None),
        coverage_notice=_coverage_notice,
        # --update, JUnit and HTML read every outcome whole at the end; the terminal does not
        # (it shows the failures whole, and only counts and times of the others), nor does
        # the JSON report (it writes each case as it ends).
        compact=not args.update and all(FILE_REPORTERS[name].streams for name in reports),
    )
    settings = ReportSettings(verbose=args.verbose, quiet=args.quiet,
                              color={"auto": None, "yes": True, "no": False}[args.color],
                              durations=args.durations)
    terminal = create("terminal", console, settings)
    reporters = Group([terminal] + [create(name, path, settings) for name, path in reports.items()])
    result = run(options, reporters)
    result.coverage_fail_under = args.cov_fail_under  # the reports' exit status counts it
    if args.update and not result.interrupted:
        result.outcomes = _record(result.outcomes, console)
    _remember_failures(cache, result)
    failures = reporters.finish(result)  # the terminal first, then every report file
    if result.coverage is not None:
        from scftest.report import coverage_report

        failures += coverage_report.write(cov_reports or [coverage_report.CoverageReport("term")],
                                          result.coverage, Path.cwd(), console)
        if args.cov_fail_under is not None:
            from scftest.render import coverage_gate

            console.write(coverage_gate(result.coverage, args.cov_fail_under) + "\n")
    if getattr(terminal, "gone", False):
        os.dup2(os.open(os.devnull, os.O_WRONLY), console.fileno())  # no noise at exit
    for failure in failures:  # a path that cannot be written costs that report, not the others
        print(f"scftest: {failure}", file=sys.stderr)
    exit_code = result.exit_code
    if failures and exit_code not in (EXIT_INTERRUPTED, EXIT_INTERNAL):
        return EXIT_USAGE  # a gate must not pass when the report CI reads is missing
    return exit_code


def _cache(args: argparse.Namespace, project: Project, paths: List[Path]):
    """The run's last-failed cache, cleared first with --cache-clear."""
    from scftest import cache as last_failed

    found = last_failed.locate(project.root, paths, Path.cwd())
    if args.cache_clear:
        _warn(last_failed.clear(found))
    return found


def _last_failed(args: argparse.Namespace, cache):
    """What --lf / --ff need from the cache: which cases failed before."""
    from scftest import cache as last_failed
    from scftest.plan import LastFailed

    if args.last_failed is None:
        return None
    failed, warning = last_failed.read_failed(cache)
    _warn(warning)
    key = cache.keys()
    return LastFailed(args.last_failed, lambda case: key(case) in failed, len(failed))


def _remember_failures(cache, result) -> None:
    """Every run updates the cache, as pytest's does, so that the next --lf knows; only when
    its entries change, so a passing run outside any cache creates none."""
    from scftest import cache as last_failed

    before, broken = last_failed.read_failed(cache)  # a broken one was reported when read for --lf
    after = last_failed.updated(before, result.outcomes, cache)
    if broken or set(after) != before:
        _warn(last_failed.write_failed(cache, after))


def _warn(warning: Optional[str]) -> None:
    if warning:
        print("scftest: " + i18n._("warning: {message}").format(message=warning), file=sys.stderr)


def _coverage_notice(requirement: str, version: str, folder: Path) -> None:
    from scftest.render import coverage_install

    print(coverage_install(requirement, version, folder), file=sys.stderr, flush=True)


def _cov_reports(args: argparse.Namespace) -> list:
    if not args.cov_reports:
        return []  # and the coverage modules stay unimported in a run without --cov
    from scftest.report.coverage_report import parse_report

    return [parse_report(text) for text in args.cov_reports]


def _console(args: argparse.Namespace):
    """Where the terminal output goes: standard error when a report is written to
    standard output (``--json -``), so that stdout holds only the report. Two reports
    to one place is a usage error: the second would overwrite the first."""
    from scftest.report.destination import same_destination, standard_stream
    from scftest.report.reporters import FILE_REPORTERS

    paths = list(_report_paths(args).items())
    for index, (first, path) in enumerate(paths):
        for second, other in paths[index + 1:]:
            if same_destination(path, other):
                raise UsageError(i18n._("{first} and {second} both write to {path}: give each report its own path").format(
                    first=FILE_REPORTERS[first].option, second=FILE_REPORTERS[second].option, path=other))
    if any(standard_stream(path) is sys.stdout for _, path in paths):
        return sys.stderr
    return sys.stdout


def _refuse_update_in_ci() -> None:
    from scftest.authoring.update import refuse_in_ci

    refuse_in_ci()  # UpdateRefused: main shows it


def _record(outcomes: List["CaseOutcome"], console) -> List["CaseOutcome"]:
    """Write observed outcomes into the suites; a case whose expectation was just
    recorded passes by definition, so it no longer fails the run."""
    import dataclasses

    from scftest.check.outcome import Verdict
    from scftest.authoring.update import update_suites

    report = update_suites(outcomes)
    print(render.terminal_block(report.format()), file=console)
    return [dataclasses.replace(o, verdict=Verdict.PASSED, summary=i18n._("expectation recorded by --update"),
                                mismatches=())
            if report.resolves(o) and not o.internal else o
            for o in outcomes]


def cmd_validate(args: argparse.Namespace) -> int:
    from scftest.load.loader import load_paths

    project = _project()
    loaded = load_paths(_paths(args, project))
    for problem in loaded.problems:  # names and texts from the suites: no control characters reach the terminal
        print(render.terminal_block(str(problem)))
    for warning in loaded.warnings:
        print(render.terminal_block(str(warning)))
    cases = sum(len(s.cases) for s in loaded.suites)
    if args.verbose:
        for suite in loaded.suites:
            print(render.terminal_line(i18n._("{file}: suite '{name}', {count} case(s)").format(
                file=suite.file, name=suite.name, count=len(suite.cases))))
            for case in suite.cases:
                print(f"  {render.terminal_line(case.id)}  " + i18n._("(line {line})").format(line=case.line))
        for note in loaded.passed_over:
            print(render.terminal_line(str(note)))
    bad = len({p.file for p in loaded.problems})
    warned = i18n._("; {count} warning(s)").format(count=len(loaded.warnings)) if loaded.warnings else ""
    print(i18n._("{suites} suite(s) valid with {cases} case(s); {bad} file(s) with problems").format(
        suites=len(loaded.suites), cases=cases, bad=bad) + warned)
    return EXIT_USAGE if loaded.problems else EXIT_OK


def cmd_doctor(args: argparse.Namespace) -> int:
    from scftest.instance.sandbox import Sandbox, mitigations
    from scftest.render import findings_table

    sandbox = Sandbox(args.isolation)
    machine = sandbox.machine()
    print(findings_table(machine.findings(args.isolation) + mitigations(machine, args.isolation)
                         + _fork_server_findings()))
    return EXIT_OK if sandbox.isolation() is not None else EXIT_USAGE


def _fork_server_findings():
    """Per runtime found here: whether its cases are forked from a zygote (the default,
    issue 15) or spawned, and why; tried for real."""
    from scftest.instance.bootstrap import BootstrapCache
    from scftest.instance.forkserver import zygote_problem
    from scftest.instance.interpreters import RuntimeResolver
    from scftest.instance.sandbox import Finding

    try:
        rows = RuntimeResolver({}, _project().root).describe()
    except ValueError:
        return []
    bootstrap = BootstrapCache()
    findings = []
    try:
        for row in rows:
            if not row.interpreter:
                continue
            problem = zygote_problem(row.interpreter, bootstrap)
            name = i18n._("fork-server ({runtime})").format(runtime=row.runtime)
            if problem is None:
                findings.append(Finding(name, i18n._("forks each case from a zygote"), i18n._(
                    "spawned instead: a function that sets a start-up variable (PYTHON*, LANG, LC_*, TZ...), "
                    "warm sequences, and every case under --fresh")))
            else:
                findings.append(Finding(name, i18n._("spawns every case"), problem))
    finally:
        bootstrap.close()
    return findings


def cmd_runtimes(args: argparse.Namespace) -> int:
    from scftest.instance.interpreters import RuntimeResolver

    project = _project()
    try:
        resolver = RuntimeResolver(_runtime_overrides(args), project.root, fallback=args.runtime_fallback)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    rows = resolver.describe()
    width = max(len(row.runtime) for row in rows)
    for row in rows:
        if row.interpreter:
            line = f"{row.runtime:<{width}}  {row.version:<8}  {row.interpreter}  " + i18n._("(from {source})").format(
                source=row.source)
        else:
            line = f"{row.runtime:<{width}}  {'-':<8}  " + i18n._("none: {problem}").format(problem=row.problem)
        print(line)
    return EXIT_OK


def cmd_events(args: argparse.Namespace) -> int:
    from scftest.scf import triggers

    if args.action == "list":
        width = max(len(name) for name in triggers.names())
        for name in triggers.names():
            print(f"{name:<{width}}  {triggers.describe(name)}")
        return EXIT_OK
    if not args.name:
        raise UsageError(i18n._("events show needs a template name; 'scftest events' lists them"))
    if args.name not in triggers.names():
        raise UsageError(i18n._("unknown trigger template {name}; known: {names}").format(
            name=repr(args.name), names=", ".join(triggers.names())))
    print(json.dumps(triggers.load(args.name), indent=2, ensure_ascii=False))
    if triggers.encoded(args.name):
        print(render.event_delivery_note(json.dumps(triggers.deliver(args.name, triggers.load(args.name)))),
              file=sys.stderr)
    return EXIT_OK


def cmd_image(args: argparse.Namespace) -> int:
    from scftest.scf import images

    try:
        if args.image_action == "list":
            return _image_list(args)
        if args.image_action == "install":
            return _image_install(args)
    except (images.UnknownRuntime, images.UnknownLibrary) as exc:
        raise UsageError(str(exc)) from None
    raise UsageError(i18n._("image needs an action: scftest image list [RUNTIME], "
                            "or scftest image install RUNTIME [LIBRARY…]"))


def _image_list(args: argparse.Namespace) -> int:
    from scftest.scf import images

    names = [images.canonical(args.runtime)] if args.runtime else list(images.runtimes())
    texts = [render.image_table(images.image(name), images.read_manifest(name), images.site_packages(name))
             for name in names]
    print("\n".join(texts), end="")
    return EXIT_OK


def _image_install(args: argparse.Namespace) -> int:
    from scftest.instance.interpreters import RuntimeNotFound, RuntimeResolver
    from scftest.scf import images
    from scftest.scf.images_install import Target, provision

    table = images.image(args.runtime)
    chosen = table.select(args.packages)
    if not chosen:
        print(render.image_table(table, images.read_manifest(table.runtime), images.site_packages(table.runtime)),
              end="")
        return EXIT_OK
    try:
        resolver = RuntimeResolver(_runtime_overrides(args), _project().root)
        interpreter = resolver.resolve(table.runtime)
    except (ValueError, RuntimeNotFound) as exc:
        raise UsageError(str(exc)) from None
    site = images.site_packages(table.runtime)
    print(render.install_heading(len(chosen), table.runtime, interpreter, site))
    outcomes = provision(
        Target(table, interpreter.path, interpreter.version), chosen, force=args.force,
        on_start=lambda index, total, library: print(render.install_start(index, total, library),
                                                     end="", flush=True),
        on_done=lambda outcome: print(render.install_end(outcome), flush=True))
    print(render.install_summary(table.runtime, outcomes, site), end="")
    return EXIT_OK if all(outcome.ok for outcome in outcomes) else EXIT_FAILED


def cmd_deps(args: argparse.Namespace) -> int:
    from scftest.deps import targets as deps_targets
    from scftest.deps.audit import audit
    from scftest.instance.interpreters import RuntimeResolver, offered_runtime
    from scftest.load.loader import load_paths
    from scftest.report import deps as deps_report
    from scftest.report.destination import standard_stream

    project = _project()
    try:
        runtimes = [offered_runtime(name) for name in args.targets]
        resolver = RuntimeResolver(_runtime_overrides(args), project.root)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    for layer in args.layers:
        if not layer.is_dir():
            raise UsageError(i18n._("--layer {folder}: no such folder").format(folder=layer))
    deps_targets.refuse_python_files(args.paths)  # UsageError: main shows it
    loaded = load_paths(args.paths or _paths(args, project))
    code = deps_targets.code_folders(args.paths, loaded.suites)
    problems = [p for p in loaded.problems if not any(deps_targets.is_below(p.file, folder) for folder in code)]
    found = deps_targets.from_suites(loaded.suites) + deps_targets.given(code)
    report = audit(deps_targets.retarget(found, runtimes, args.layers), resolver.resolve, problems)
    base = Path.cwd()
    stream = standard_stream(args.json) if args.json is not None else None
    if args.json is not None:
        document = json.dumps(deps_report.to_dict(report, base), indent=2, ensure_ascii=False) + "\n"
        try:
            if stream is None:
                args.json.write_text(document, encoding="utf-8")
            else:
                stream.write(document)
        except OSError as exc:
            raise UsageError(i18n._("--json {path}: cannot write it ({error})").format(
                path=args.json, error=exc.strerror or exc)) from None
    if stream is None:  # the table, unless the JSON took standard output
        print(deps_report.table(report, base, args.verbose), end="")
    return report.exit_code


def cmd_init(args: argparse.Namespace) -> int:
    from scftest.authoring.scaffold import init_project, next_steps

    init_project(args.folder)  # InitError: main shows it
    print(next_steps(args.folder), end="")
    return EXIT_OK


def cmd_schema(args: argparse.Namespace) -> int:
    from scftest.load.validate import SCHEMA_PATH

    if args.path:
        print(SCHEMA_PATH)
    else:
        print(SCHEMA_PATH.read_text(encoding="utf-8"), end="")
    return EXIT_OK


def cmd_fidelity(args: argparse.Namespace) -> int:
    from scftest.render import fidelity_page
    from scftest.scf.profiles import PROFILES, SOURCES

    print(fidelity_page(list(PROFILES.values()), SOURCES), end="")
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "validate": cmd_validate,
    "runtimes": cmd_runtimes,
    "doctor": cmd_doctor,
    "events": cmd_events,
    "image": cmd_image,
    "deps": cmd_deps,
    "init": cmd_init,
    "schema": cmd_schema,
    "fidelity": cmd_fidelity,
}
