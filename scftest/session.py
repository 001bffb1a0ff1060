"""One run: load → plan → execute (a pool of workers, an instance per case) → check.

The session owns no global state: everything it needs arrives in ``RunOptions`` and
everything it found leaves in ``RunResult`` (``scftest/result.py``), which every reporter reads.
"""

from __future__ import annotations

import os
import queue
import signal
import threading
import time
import traceback
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from scftest import plan
from scftest.check import imports
from scftest.check.judge import judge, judge_steps
from scftest.check.masking import Masker, masked_with, masker, short_secret_warnings
from scftest.i18n import _
from scftest.check.outcome import CaseOutcome, Compactor, Verdict
from scftest.instance import Backend, InstanceError, InstanceSpec, Interpreter, InvocationRequest
from scftest.instance.interpreters import RuntimeNotFound, RuntimeResolver
from scftest.load.loader import load_paths
from scftest.instance.record import InvocationRecord
from scftest.model import Case, EnvRef, FunctionSpec, Step, Suite
from scftest.result import RunPlan, RunResult
from scftest.scf import images
from scftest.scf.environment import identity_from_context
from scftest.scf.profiles import profile_for
from scftest.scf.role import role_environment

if TYPE_CHECKING:
    from scftest.report.reporters import Reporter


@dataclass(frozen=True)
class RunOptions:
    paths: Sequence[Path]
    keyword: Optional[str] = None
    tags: Sequence[str] = ()
    shard: Optional[Tuple[int, int]] = None
    exitfirst: bool = False
    jobs: int = 1
    runtime_overrides: Mapping[str, str] = field(default_factory=dict)
    runtime_fallback: bool = False
    project_root: Optional[Path] = None
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    isolation: str = "auto"  # --isolation: auto | strict | process (instance/sandbox.py)
    last_failed: Optional[plan.LastFailed] = None  # --lf / --ff, with the cache's failures
    fresh: bool = False  # --fresh: every case spawned, none forked from a zygote (instance/forkserver.py)
    coverage: bool = False  # --cov: measure the handler code in every instance (scftest/coverage/)
    coverage_notice: Optional[Callable[[str, str, Path], None]] = None  # told before coverage.py is installed
    # Keep of a case that passed, was skipped or xfailed only what the terminal's summary, the
    # exit status and the last-failed cache read (check/outcome.Compactor): for a run whose
    # reports are told each outcome whole as it ends and need no more of it afterwards.
    compact: bool = False


def run(options: RunOptions, reporter: Optional["Reporter"] = None,
        backend: Optional[Backend] = None) -> RunResult:
    """``backend`` runs the cases (default: a fresh process per case); run closes it."""
    started = time.monotonic()
    loaded = load_paths(options.paths)
    result = RunResult(suites=loaded.suites, problems=list(loaded.problems), passed_over=loaded.passed_over,
                       warnings=loaded.warnings)
    selected, rerun = _selection(loaded.suites, options)
    result.selected = len(selected)
    result.deselected = sum(len(suite.cases) for suite in loaded.suites) - len(selected)
    result.warnings += short_secret_warnings(selected, options.environ)
    if reporter:
        reporter.start(RunPlan(selected, deselected=result.deselected, rerun=rerun, compact=options.compact))
    resolver = RuntimeResolver(dict(options.runtime_overrides), options.project_root,
                               fallback=options.runtime_fallback)
    if backend is None:
        # --cov: every instance spawned (the measurement is set up on the spawn path: spawn.py
        # gives the bootstrap its descriptor, and the bootstrap imports coverage.py at its start)
        backend = default_backend(options.isolation, fresh=options.fresh or options.coverage)
    measurement = None
    if options.coverage:
        from scftest.coverage.sink import Measurement

        measurement = Measurement(options.environ, options.coverage_notice)
    with backend:
        pool = _Pool(selected, resolver, options, reporter, backend, measurement)
        result.outcomes, result.interrupted = pool.run()
    if measurement is not None:
        result.coverage = measurement.finish()
    result.elapsed_s = time.monotonic() - started
    return result


def _selection(suites: Sequence[Suite], options: RunOptions) -> Tuple[Tuple[Case, ...], Optional[plan.Rerun]]:
    """The cases the run starts, in report order, as one tuple that the plan and the pool
    share (a list of every case, the selection and the plan's copy of it each cost 8 bytes
    a case, held for the whole run), and what --lf / --ff did."""
    selected = plan.select((case for suite in suites for case in suite.cases),
                           keyword=options.keyword, tags=options.tags, shard=options.shard)
    rerun = None
    if options.last_failed is not None:
        selected, rerun = plan.rerun(selected, options.last_failed)
    if len(suites) == 1 and rerun is None and len(selected) == len(suites[0].cases):
        return suites[0].cases, None  # every case of the one suite, in its order: its own tuple
    return tuple(selected), rerun


def default_backend(isolation: str = "auto", fresh: bool = False) -> Backend:
    """The backend a run uses unless told otherwise (the pytest plugin uses it too): each
    cold start forked from its runtime's zygote where that is what a fresh process gives,
    else spawned (``fresh``: always spawned; instance/forkserver.py), contained as
    ``isolation`` asks (instance/sandbox.py)."""
    from scftest.instance.sandbox import Sandbox
    from scftest.instance.spawn import SpawnBackend

    spawn = SpawnBackend(sandbox=Sandbox(isolation))
    if fresh:
        return spawn
    from scftest.instance.forkserver import ForkServerBackend

    return ForkServerBackend(spawn)


POLL_S = 0.2  # the pool's loop looks at the interrupt flag at least this often


class _Interrupt:
    """Ctrl-C while the pool runs: noted by a signal handler, acted on by the pool's loop.

    Not a KeyboardInterrupt: Python raises that in the main thread between any two
    bytecodes, and the main thread spends the run in concurrent.futures.wait, whose
    locks (threading.Event and Condition, Python code) are taken and released in ``with``
    blocks. Raised at the wrong bytecode, it leaves a waiter's lock held (seen: the worker
    that finished its case blocked for ever in Future.set_result -> Event.set, and
    executor.shutdown(wait=True) with it). The handler takes no lock either (it may run
    inside Event.set itself): it only sets the flag.
    """

    def __init__(self) -> None:
        self.requested = False

    def note(self, signum: int, frame: object) -> None:
        self.requested = True


# The signals that stop a run: Ctrl-C, and the SIGTERM / SIGHUP the CLI turns into one.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def _noting_interrupts(interrupt: _Interrupt) -> Iterator[None]:
    """While the block runs, a stop signal that would raise KeyboardInterrupt (its handler is
    Python code: Python's own for SIGINT, the CLI's for SIGTERM and SIGHUP) sets
    ``interrupt.requested`` instead; the handlers come back afterwards. A signal left at its
    default or ignored keeps its meaning, and only the main thread can install handlers
    (and only it would receive a KeyboardInterrupt)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {sig: signal.getsignal(sig) for sig in STOP_SIGNALS}
    noted = [sig for sig, handler in before.items() if callable(handler)]
    for sig in noted:
        signal.signal(sig, interrupt.note)
    try:
        yield
    finally:
        for sig in noted:
            signal.signal(sig, before[sig])


class _Pool:
    """Runs cases on ``jobs`` threads, each starting an instance of the backend for its
    case, invoking it and closing it.

    Threads suffice: the work is in the instances' processes, the runner only waits and reads.
    Outcomes come back in the order of the plan whatever order they finish in.
    """

    def __init__(self, cases: Sequence[Case], resolver: RuntimeResolver, options: RunOptions,
                 reporter: Optional["Reporter"], backend: Backend, measurement=None):
        self.measurement = measurement
        self.cases = cases
        self.resolver = resolver
        self.options = options
        self.reporter = reporter
        self.cancel = threading.Event()  # kill running children (Ctrl-C)
        self.stop = threading.Event()  # start no new case (-x, Ctrl-C)
        self.backend = backend
        self.preparer = Preparer(resolver, options.environ, measurement)
        self.compactor = Compactor() if options.compact else None

    def run(self) -> Tuple[List[CaseOutcome], bool]:
        # Each case's outcome at its place in the plan (None: not finished): a list, not a dict
        # by index, costs 8 bytes a case where a dict's entry and int key cost about 60.
        finished: List[Optional[CaseOutcome]] = [None] * len(self.cases)
        jobs = max(1, self.options.jobs)
        executor = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="scftest-worker")
        # Finished futures arrive on a queue, and only a few cases are submitted ahead of the
        # workers: waiting on every pending future after each completion (wait(FIRST_COMPLETED))
        # costs time linear in the cases left, quadratic over a 10,000-case run.
        arrived: "queue.Queue[Tuple[Future, int]]" = queue.Queue()
        running: Dict[Future, int] = {}
        upcoming = iter(enumerate(self.cases))
        interrupt = _Interrupt()
        with _noting_interrupts(interrupt):
            try:
                self._submit(executor, upcoming, running, arrived, 2 * jobs)
                while running and not interrupt.requested:
                    try:
                        future, index = arrived.get(timeout=POLL_S)
                    except queue.Empty:
                        continue
                    del running[future]
                    self._collect(future, index, finished)
                    self._submit(executor, upcoming, running, arrived, 2 * jobs)
            except BaseException:
                interrupt.requested = True  # a fault of the runner: stop the cases too
                raise
            finally:
                if interrupt.requested:
                    self.stop.set()
                    self.cancel.set()
                executor.shutdown(wait=True, cancel_futures=True)
        if interrupt.requested:
            # Cases that finished before the interrupt still count; killed ones do not.
            for future, index in running.items():
                if future.done() and not future.cancelled() and finished[index] is None:
                    self._collect(future, index, finished, report=False)
        if any(outcome is None for outcome in finished):  # not every case ended (-x, Ctrl-C): the others' outcomes, in order
            finished = [outcome for outcome in finished if outcome is not None]
        return finished, interrupt.requested

    def _submit(self, executor: ThreadPoolExecutor, upcoming: Iterator[Tuple[int, Case]],
                running: Dict[Future, int], arrived: "queue.Queue[Tuple[Future, int]]", ahead: int) -> None:
        """Keep ``ahead`` cases submitted (enough that no worker waits for the loop)."""
        while len(running) < ahead and not self.stop.is_set():
            step = next(upcoming, None)
            if step is None:
                return
            index, case = step
            future = executor.submit(self._one, case)
            running[future] = index
            future.add_done_callback(lambda done, index=index: arrived.put((done, index)))

    def _collect(self, future: Future, index: int, finished: List[Optional[CaseOutcome]], report: bool = True) -> None:
        if future.cancelled():
            return
        outcome = future.result()
        if outcome is None:
            return
        # What is kept until the run's end: at 10,000 cases, every record whole (its log,
        # value, imports) would be most of the runner's memory. The reporter sees it whole;
        # one it is not told of (finished as the run was interrupted) is kept whole for finish.
        finished[index] = self.compactor.compacted(outcome) if self.compactor and report else outcome
        if report and self.reporter:
            self.reporter.case_finished(outcome)

    def _one(self, case: Case) -> Optional[CaseOutcome]:
        if self.stop.is_set():
            return None
        started = time.monotonic()
        try:
            outcome = run_case(case, self.resolver, self.options.environ, self.backend,
                               self.cancel, self.measurement, preparer=self.preparer)
        except Exception:  # a fault of scftest: report it on the case, keep the others going
            return CaseOutcome(case, Verdict.ERROR, summary=_("internal error in scftest"),
                               details=traceback.format_exc(), elapsed_s=time.monotonic() - started,
                               internal=True)
        if self.cancel.is_set():
            return None  # killed by Ctrl-C: its verdict would be meaningless
        if self.options.exitfirst and (outcome.failed or outcome.verdict is Verdict.ERROR):
            self.stop.set()  # here, not in the collector: the next case may start before it runs
        return outcome


def run_case(case: Case, resolver: RuntimeResolver, environ: Mapping[str, str],
             backend: Backend, cancel: Optional[threading.Event] = None,
             measurement=None, preparer: Optional["Preparer"] = None) -> CaseOutcome:
    """``measurement``: the run's coverage (coverage/sink.Measurement), or None;
    ``preparer``: the run's (made of ``resolver``, ``environ`` and ``measurement``), which
    remembers each function's setup across its cases; None: one for this case alone."""
    if case.skip is not None:
        return CaseOutcome(case, Verdict.SKIPPED, summary=case.skip)
    if preparer is None:
        preparer = Preparer(resolver, environ, measurement)
    prepared = preparer.prepare(case)
    if isinstance(prepared, CaseOutcome):
        return prepared
    spec, request = prepared
    started = time.monotonic()
    if case.steps:
        outcome = run_steps(case, spec, backend, cancel)
    else:
        try:
            with backend.start(spec) as instance:
                record = instance.invoke(request, cancel)
        except InstanceError as exc:  # the function never ran: the case's error, not scftest's
            outcome = _not_run(case, exc, started)
        else:
            outcome = judge(case, record, elapsed_s=time.monotonic() - started)
    outcome = imports.explain(outcome, case.function.runtime, preparer.cache_root)
    # Judged on the real values; everything shown or written from here on is masked.
    return masked_with(outcome, preparer.mask(case))


def _not_run(case: Case, exc: InstanceError, started: float) -> CaseOutcome:
    return CaseOutcome(case, Verdict.ERROR, summary=str(exc),
                       details=f"{case.file}:{case.line}: {exc.hint}" if exc.hint else "",
                       elapsed_s=time.monotonic() - started)


def warm_runs(steps: Sequence[Step]) -> List[List[Step]]:
    """The steps in the instances they ask for: a new one at the start and at each
    ``cold: true`` step (a timeout or crash also ends one: the backend sees to that)."""
    runs: List[List[Step]] = []
    for step in steps:
        if step.cold or not runs:
            runs.append([])
        runs[-1].append(step)
    return runs


def run_steps(case: Case, spec: InstanceSpec, backend: Backend,
              cancel: Optional[threading.Event] = None) -> CaseOutcome:
    """A warm sequence: its steps in order, each run of warm steps in one instance."""
    started = time.monotonic()
    records: List[Tuple[Step, InvocationRecord]] = []
    try:
        for steps in warm_runs(case.steps):
            with backend.start(spec, invocations=len(steps)) as instance:
                for step in steps:
                    if cancel is not None and cancel.is_set():
                        break
                    request = InvocationRequest(request_id=str(uuid.uuid4()), event=step.event,
                                                context=dict(step.context), invocation=step.invocation)
                    records.append((step, instance.invoke(request, cancel)))
    except InstanceError as exc:
        return _not_run(case, exc, started)
    return judge_steps(case, records, elapsed_s=time.monotonic() - started)


def prepare(case: Case, resolver: RuntimeResolver, environ: Mapping[str, str],
            measurement=None) -> Union[Tuple[InstanceSpec, InvocationRequest], CaseOutcome]:
    """The fully resolved instance spec and request for ``case``, or the ERROR outcome
    that prevents them (a run prepares through one ``Preparer``, which remembers what
    every case of a function shares)."""
    return Preparer(resolver, environ, measurement).prepare(case)


@dataclass(frozen=True)
class _FunctionSetup:
    """What a case's function resolves to, the same for every case of that function: its
    interpreter, its environment with ``!env`` read, its role, its runtime's profile and
    image libraries. ``problem``: the (summary, details) of the ERROR all its cases get."""

    interpreter: Optional[Interpreter] = None
    problem: Optional[Tuple[str, str]] = None
    coverage: Any = None
    environment: Mapping[str, str] = field(default_factory=dict)
    secrets: Tuple[str, ...] = ()
    missing: Tuple[str, ...] = ()  # !env names the runner's environment lacks
    profile: Any = None
    image: Optional[Path] = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    mask: Masker = field(default_factory=Masker)  # hides ``secrets`` in the judged outcome


class Preparer:
    """Turns cases into instance specs and requests for one run (``prepare``).

    A suite's cases share their function, and resolving it (the interpreter, the images
    cache's folder on disk, the environment's ``!env`` values) gives the same answer for
    each: it is done once per distinct function and remembered for the run, keyed by the
    parts of the function it depends on. The per-case parts (the identity the context
    names, the request) are made for every case. Workers share one Preparer: two of them
    may resolve the same function at once, which only does the same work twice.
    """

    def __init__(self, resolver: RuntimeResolver, environ: Mapping[str, str], measurement=None) -> None:
        self.resolver = resolver
        self.environ = environ
        self.measurement = measurement
        self.cache_root = images.cache_root(environ)  # the images cache (scftest image install)
        self._setups: Dict[Any, _FunctionSetup] = {}

    def prepare(self, case: Case) -> Union[Tuple[InstanceSpec, InvocationRequest], CaseOutcome]:
        """The fully resolved instance spec and request for ``case``, or the ERROR outcome
        that prevents them."""
        function = case.function
        setup = self._setup(function)
        if setup.problem is not None:
            summary, details = setup.problem
            return CaseOutcome(case, Verdict.ERROR, summary=summary, details=details)
        if setup.missing:
            names = ", ".join(setup.missing)
            return CaseOutcome(case, Verdict.ERROR, summary=_("the runner has no environment variable {names}").format(
                names=names), details=f"{case.file}:{case.line}: " + _(
                    "the suite passes {names} with !env, but it is not set where scftest runs — set it (e.g. as a CI "
                    "secret) or remove the !env entry").format(names=names))
        spec = InstanceSpec(
            code_root=function.code,
            handler=function.handler,
            runtime=function.runtime,
            interpreter=setup.interpreter,
            timeout_s=function.timeout,
            init_timeout_s=function.init_timeout,
            memory_mb=function.memory,
            environment=setup.environment,
            profile=setup.profile,
            identity=identity_from_context(function.name, case.context),
            secrets=setup.secrets,
            layers=function.layers,
            image=setup.image,
            credentials=setup.credentials,
            coverage=setup.coverage,
        )
        request = InvocationRequest(
            request_id=str(uuid.uuid4()),
            event=case.event,
            context=dict(case.context),
            invocation=case.invocation,
            trigger=case.trigger,
        )
        return spec, request

    def mask(self, case: Case) -> Masker:
        """What hides the secrets of ``case``'s function in its outcome (check/masking.py)."""
        return self._setup(case.function).mask

    def _setup(self, function: FunctionSpec) -> _FunctionSetup:
        key = _setup_key(function)
        if key is None:  # a value that cannot be a key (never from a loaded suite): no memory
            return self._resolve(function)
        found = self._setups.get(key)
        if found is None:
            found = self._setups.setdefault(key, self._resolve(function))
        return found

    def _resolve(self, function: FunctionSpec) -> _FunctionSetup:
        try:
            interpreter = self.resolver.resolve(function.runtime)
        except RuntimeNotFound as exc:
            return _FunctionSetup(problem=(_("no interpreter for {runtime}").format(runtime=function.runtime),
                                           str(exc)))
        coverage = None
        if self.measurement is not None:
            from scftest.coverage.provision import CoverageError

            try:
                coverage = self.measurement.setup(interpreter.path, interpreter.version)
            except CoverageError as exc:
                return _FunctionSetup(problem=(_("coverage.py could not be provided"), str(exc)))
        environment, secrets, missing = resolve_environment(function.environment, self.environ)
        role, role_secrets, role_missing = resolve_environment(function.role or {}, self.environ)
        # A role's values are secrets however they are written, not only when passed with !env.
        secrets += [value for value in role.values() if value] + role_secrets
        unique = tuple(dict.fromkeys(secrets))
        return _FunctionSetup(
            interpreter=interpreter,
            coverage=coverage,
            environment=environment,
            secrets=unique,
            mask=masker(unique),
            missing=tuple(missing + role_missing),
            profile=profile_for(interpreter.runtime),
            image=image_libraries(function.runtime, self.environ),
            credentials=role_environment(role),
        )


def _setup_key(function: FunctionSpec) -> Optional[Tuple[Any, ...]]:
    """The parts of ``function`` its setup depends on, as a key; None when unhashable."""
    role = None if function.role is None else tuple(function.role.items())
    key = (function.runtime, tuple(function.environment.items()), role)
    try:
        hash(key)
    except TypeError:
        return None
    return key


def image_libraries(runtime: str, environ: Mapping[str, str]) -> Optional[Path]:
    """The folder of ``runtime``'s provisioned image libraries (``scftest image install``,
    in the cache ``environ`` names), or None when nothing is provisioned there."""
    try:
        folder = images.site_packages(runtime, images.cache_root(environ))
    except images.UnknownRuntime:
        return None
    return folder if folder.is_dir() else None


def resolve_environment(declared: Mapping[str, Union[str, EnvRef]],
                        environ: Mapping[str, str]) -> Tuple[Dict[str, str], List[str], List[str]]:
    """(environment, secret values to mask, names missing from the runner's environment)."""
    environment: Dict[str, str] = {}
    secrets: List[str] = []
    missing: List[str] = []
    for key, value in declared.items():
        if isinstance(value, EnvRef):
            if value.name not in environ:
                missing.append(value.name)
                continue
            value = environ[value.name]
            if value:
                secrets.append(value)
        environment[key] = value
    return environment, secrets, missing
