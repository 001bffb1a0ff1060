"""From validated suite data to the case model: defaults, overrides, matrix, events.

Also the checks a schema cannot express (handler form, unique names after matrix
expansion, async with a return expectation, missing files, unknown triggers, reserved
environment names). Problems are collected, not raised, so one file reports all of them.
"""

from __future__ import annotations

import difflib
import itertools
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Dict, List, Mapping, Optional, Tuple

from scftest.load.from_file import Written, read_function
from scftest.render import matrix_label
from scftest.load.yamlio import (TOO_DEEP_HINT, YamlError, decode_text, file_kind, parse_text,
                                 read_regular_file, too_deep, too_deep_message)
from scftest.i18n import _
from scftest.scf import triggers
from scftest.scf.environment import IDENTITY_KEYS, RESERVED_PREFIXES
from scftest.scf.invocation import ASYNC, SYNC, invocation_type
from scftest.scf.limits import LIMITS
from scftest.scf.role import ROLE_VARIABLES
from scftest.scf.status import Code, Status
from scftest.model import (
    INIT_TIMEOUT_DEFAULT,
    MEMORY_DEFAULT,
    RUNTIME_DEFAULT,
    TIMEOUT_DEFAULT,
    UNSET,
    Case,
    Expectation,
    FunctionSpec,
    LogExpectation,
    NodePath,
    SourceMap,
    Step,
    Suite,
    SuiteProblem,
    event_json,
)

FUNCTION_KEYS = ("code", "handler", "runtime", "timeout", "init_timeout", "memory", "layers", "role")  # a case's value replaces
HANDLER_FORM = re.compile(r"^(?P<file>(?:[A-Za-z0-9_\-]+/)*[A-Za-z_][A-Za-z0-9_]*)\.(?P<func>[A-Za-z_][A-Za-z0-9_]*)$")
RETURN_KEYS = ("return", "return_includes", "return_schema")


@dataclass
class _Collector:
    source: SourceMap
    problems: List[SuiteProblem] = field(default_factory=list)
    # Made once per suite, not once per case: cases that run the same function share one
    # FunctionSpec, and a folder written once is looked up once (a 10,000-case suite kept
    # 10,000 equal specs and paths otherwise).
    specs: Dict[Tuple[Any, ...], FunctionSpec] = field(default_factory=dict)
    folders: Dict[Tuple[str, NodePath, str], Optional[Path]] = field(default_factory=dict)

    def add(self, path: NodePath, message: str, hint: str = "") -> None:
        mark = self.source.at(path)
        self.problems.append(SuiteProblem(self.source.file, mark.line, mark.col, message, hint))


def build_suite(data: Mapping[str, Any], source: SourceMap) -> Tuple[Optional[Suite], List[SuiteProblem]]:
    """The Suite for schema-valid ``data``, or None with the problems that prevent it.

    ``data["cases"]`` is used up: each written case is let go (its item set to None) once
    its cases are built, so that a written file and its case model are never held whole at
    the same time."""
    suite = SuiteBuilder(data, source)
    written = data.get("cases") or []
    for index in range(len(written)):
        raw, written[index] = written[index], None
        suite.add(index, raw)
    return suite.finish(data.get("description", ""))


class SuiteBuilder:
    """Builds a suite a written case at a time: what comes before its cases (``head``:
    name, function, matrix) first, then each case as ``add`` is given it, so a reader can
    let each written case go as soon as it is built (loader.CaseTaker)."""

    def __init__(self, head: Mapping[str, Any], source: SourceMap):
        self.out = _Collector(source)
        self.name = head.get("name") or source.file.stem
        self.imported = _with_from_file(head.get("function") or {}, self.out)
        self.matrix = head.get("matrix") or {}
        self.labels_clash = _check_matrix_labels(self.matrix, self.out) if self.imported else False
        self.cases: List[Case] = []

    def add(self, index: int, raw: Mapping[str, Any]) -> None:
        """Build the cases of the schema-valid written case ``cases[index]``."""
        if self.imported is None:  # function.from has problems: no case can be built
            return
        function, identity = self.imported
        if identity:  # the deployed name, namespace and region, under the case's own context:
            raw = {**raw, "context": {**identity, **(raw.get("context") or {})}}
        self.cases.extend(_expand_case(self.name, raw, ("cases", index), function, self.matrix, self.out))

    def finish(self, description: str) -> Tuple[Optional[Suite], List[SuiteProblem]]:
        """The Suite, or None with the problems that prevent it."""
        if self.imported is None:
            return None, self.out.problems
        if not self.labels_clash:  # names that clash because two matrix values do were reported there
            _check_unique_names(self.cases, self.out)
        if self.out.problems:
            # A problem under function: shows once per case it reaches; report it once.
            unique = {(p.line, p.col, p.message): p for p in self.out.problems}
            return None, sorted(unique.values(), key=lambda p: (p.line, p.col))
        return Suite(name=self.name, source=self.out.source, description=description, cases=tuple(self.cases)), []


# function: keys that say where its settings come from, not settings themselves
FROM_KEYS = ("from", "name")


def _with_from_file(function: Mapping[str, Any], out: _Collector
                    ) -> Optional[Tuple[Mapping[str, Any], Mapping[str, str]]]:
    """``function:`` with what ``function.from`` names under the keys the suite writes
    (``environment`` merged variable by variable), and the deployed identity as context
    keys; None when the from-file has problems."""
    if "from" not in function:
        if "name" in function:
            out.add(("function", "name"), "function.name picks one function of function.from, and there is no from:",
                    "add from: ../serverless.yml (or a template.yaml), or remove name:")
            return None
        return function, {}
    written = Written(out.source.file, out.source.at(("function", "from")).line, function["from"])
    own = {key: value for key, value in function.items() if key not in FROM_KEYS}
    imported, problems = read_function(written, function.get("name"), tuple(k for k in own if k != "environment"))
    if problems:
        out.problems.extend(problems)
        return None
    merged = {**imported.function, **own}
    if "environment" in imported.function and "environment" in own:
        merged["environment"] = {**imported.function["environment"], **own["environment"]}
    return merged, imported.context


def _expand_case(suite: str, raw: Mapping[str, Any], path: NodePath, function: Mapping[str, Any],
                 matrix: Mapping[str, list], out: _Collector) -> List[Case]:
    # A key the case sets itself is not expanded: the case asked for that value.
    axes = [(key, values) for key, values in matrix.items() if key not in raw]
    if not axes:
        case = _build_case(suite, raw, path, function, {}, {}, out)
        return [case] if case else []
    result = []
    for combo in itertools.product(*(list(enumerate(values)) for _axis, values in axes)):
        params = {key: value for (key, _values), (_index, value) in zip(axes, combo)}
        indexes = {key: index for (key, _values), (index, _value) in zip(axes, combo)}
        case = _build_case(suite, raw, path, function, params, indexes, out)
        if case:
            result.append(case)
    return result


def _check_matrix_labels(matrix: Mapping[str, Any], out: _Collector) -> bool:
    """Two values of one axis that a case name would show alike would give two cases one
    name: a problem at the second; True when there was one."""
    before = len(out.problems)
    for key, values in matrix.items():
        seen: Dict[str, int] = {}
        for index, value in enumerate(values or ()):
            label = matrix_label({key: value})
            first = seen.setdefault(label, index)
            if first != index:
                out.add(("matrix", key, index), _("matrix {key} values {first} and {second} both show as '[{label}]' in "
                                                  "case names").format(key=key, first=first + 1, second=index + 1, label=label),
                        _("make every value of the axis differ in what it shows"))
    return len(out.problems) > before


def _build_case(suite: str, raw: Mapping[str, Any], path: NodePath, function: Mapping[str, Any],
                params: Mapping[str, Any], indexes: Mapping[str, int], out: _Collector) -> Optional[Case]:
    before = len(out.problems)
    # environment is not among them: _function_spec merges it variable by variable
    plain = {key: value for key, value in params.items() if key != "environment"}
    merged = {**function, **plain, **{k: raw[k] for k in FUNCTION_KEYS + ("invocation",) if k in raw}}
    spec = _function_spec(merged, function, raw, _Origins(path, raw, params, indexes), out)
    invocation = invocation_type(merged.get("invocation", SYNC))
    expect = _expectation(raw.get("expect") or {}, path)
    _check_invocation_expect(raw, path, invocation, out)
    steps: Tuple[Step, ...] = ()
    if "invocations" in raw:
        steps = _steps(raw, path, invocation, out)
        event = "{}"
    else:
        event = _event_json(raw, path, out)
    name = raw["name"]
    variant = matrix_label(params) if params else ""
    if variant:
        name = f"{name} [{variant}]"
    if len(out.problems) > before or spec is None:
        return None
    return Case(
        suite=suite,
        name=name,
        source=out.source,
        path=path,
        function=spec,
        invocation=invocation,
        event_json=event,
        trigger=raw.get("trigger"),
        context=_own(raw.get("context")),
        expect=expect,
        description=raw.get("description", ""),
        tags=tuple(raw.get("tags") or ()),
        skip=_reason(raw.get("skip"), "skipped"),
        xfail=_reason(raw.get("xfail"), "expected to fail"),
        params=_own(params),
        variant=variant,
        steps=steps,
    )


# What a case without context or matrix values holds for them: one read-only empty
# mapping for them all (an empty dict of each case's own cost it 128 bytes at 10,000 cases).
NOTHING: Mapping[str, Any] = MappingProxyType({})


def _own(values: Optional[Mapping[str, Any]]) -> Mapping[str, Any]:
    """A case's own copy of ``values``, or NOTHING when there are none."""
    return dict(values) if values else NOTHING


def _check_invocation_expect(raw: Mapping[str, Any], path: NodePath, invocation: str,
                             out: _Collector) -> None:
    """What an ``expect`` (of a case or of a step) cannot ask of its invocation."""
    expect = raw.get("expect") or {}
    if invocation == ASYNC:
        for key in RETURN_KEYS:
            if key in expect:
                step = "invocations" in path
                out.add(path + ("expect", key),
                        (_("an async step cannot expect '{key}': asynchronous callers never receive the return value")
                         if step else _("an async case cannot expect '{key}': asynchronous callers never receive "
                                        "the return value")).format(key=key),
                        _("check ret_msg (the serialized return in the log) or make the step sync") if step
                        else _("check ret_msg (the serialized return in the log) or make the case sync"))
    _check_expect_consistency(expect, path + ("expect",), out)


# A case with invocations: has these only in its steps.
STEP_ONLY_KEYS = ("event", "event_file", "trigger", "expect")


def _steps(raw: Mapping[str, Any], path: NodePath, invocation: str,
           out: _Collector) -> Tuple[Step, ...]:
    """The steps of ``invocations:``: each with its own event, expect and (over the
    case's) context and invocation type."""
    for key in STEP_ONLY_KEYS:
        if key in raw:
            out.add(path + (key,), _("a case with invocations: has no {key} of its own").format(key=key),
                    _("move {key}: into the steps that need it (each step takes event, event_file, "
                      "trigger, invocation, context, cold and expect)").format(key=key))
    context = dict(raw.get("context") or {})
    steps = []
    for index, step in enumerate(raw["invocations"]):
        where = path + ("invocations", index)
        kind = invocation_type(step.get("invocation", invocation))
        _check_invocation_expect(step, where, kind, out)
        steps.append(Step(
            index=index,
            path=where,
            name=step.get("name", ""),
            invocation=kind,
            event_json=_event_json(step, where, out),
            trigger=step.get("trigger"),
            context={**context, **(step.get("context") or {})},
            cold=bool(step.get("cold", False)),
            expect=_expectation(step.get("expect") or {}, where),
        ))
    return tuple(steps)


def _reason(value: Any, default: str) -> Optional[str]:
    if value is None or value is False:
        return None
    return default if value is True else str(value)


@dataclass(frozen=True)
class _Origins:
    """Where a function key's value was written: the case, the matrix, or function:."""

    case_path: NodePath
    raw: Mapping[str, Any]
    params: Mapping[str, Any]
    indexes: Mapping[str, int] = field(default_factory=dict)  # which value of each matrix axis

    def of(self, key: str) -> NodePath:
        if key in self.raw:
            return self.case_path + (key,)
        if key in self.params:
            return ("matrix", key, self.indexes.get(key, 0))
        return ("function", key)

    def of_variable(self, name: str) -> NodePath:
        """Where the environment variable ``name`` that the case sees was written."""
        if name in (self.raw.get("environment") or {}):
            return self.case_path + ("environment", name)
        if name in (self.params.get("environment") or {}):
            return self.of("environment") + (name,)
        return ("function", "environment", name)


def _function_spec(merged: Mapping[str, Any], function: Mapping[str, Any], raw: Mapping[str, Any],
                   origins: _Origins, out: _Collector) -> Optional[FunctionSpec]:
    handler = merged.get("handler")
    if handler is None:
        out.add(origins.case_path, _("case '{name}' has no handler").format(name=raw["name"]),
                _("set it once for all cases under function:, e.g. handler: index.main_handler"))
        return None
    if not HANDLER_FORM.match(handler):
        out.add(origins.of("handler"),
                _("handler '{handler}' is not of the form <file>.<function>").format(handler=handler),
                _("write the file without .py and the function after a dot, e.g. index.main_handler "
                  "or src/app.handler for src/app.py"))
        return None
    code = _code_root(merged.get("code"), origins.of("code"), out)
    layers = _layers(merged.get("layers") or (), origins.of("layers"), out)
    # over function:'s, variable by variable: the matrix's value, or the case's own (a case
    # that sets environment is not expanded over matrix: environment)
    environment = {**(function.get("environment") or {}), **(origins.params.get("environment") or {}),
                   **(raw.get("environment") or {})}
    _check_environment(environment, origins, out)
    for key, value in environment.items():
        _check_no_nul(value, origins.of_variable(key), f"environment.{key}", out)
    role = merged.get("role")
    for key, value in (role or {}).items():
        _check_no_nul(value, origins.of("role") + (key,), f"role.{key}", out)
    for key in IDENTITY_KEYS:  # these become SCF_* environment variables too
        if key in (raw.get("context") or {}):
            _check_no_nul(str(raw["context"][key]), origins.case_path + ("context", key), f"context.{key}", out)
    if code is None or layers is None:
        return None
    return _shared_spec(FunctionSpec(
        code=code,
        handler=handler,
        runtime=merged.get("runtime", RUNTIME_DEFAULT),
        timeout=merged.get("timeout", TIMEOUT_DEFAULT),
        init_timeout=merged.get("init_timeout", INIT_TIMEOUT_DEFAULT),
        memory=merged.get("memory", MEMORY_DEFAULT),
        environment=environment,
        layers=layers,
        role=dict(role) if role else None,
    ), out)


def _shared_spec(spec: FunctionSpec, out: _Collector) -> FunctionSpec:
    """The suite's FunctionSpec equal to ``spec`` when an earlier case made one, else ``spec``."""
    try:
        key = (spec.code, spec.handler, spec.runtime, spec.timeout, spec.init_timeout, spec.memory,
               tuple(spec.environment.items()), spec.layers, tuple(spec.role.items()) if spec.role else None)
        return out.specs.setdefault(key, spec)
    except TypeError:  # a value that cannot be a key (the schema lets none through): not shared
        return spec


def _code_root(written: Optional[str], where: NodePath, out: _Collector) -> Optional[Path]:
    return _folder(written or ".", where, "code", out,
                   _("code is relative to the suite file; point it at the folder that holds the handler file"),
                   _("point code at the folder that holds the handler file, e.g. code: ../functions/orders"))


def _layers(written: List[str], where: NodePath, out: _Collector) -> Optional[Tuple[Path, ...]]:
    """The ``layers:`` folders resolved beside the suite, in order; None (problems added)
    when one is missing or not a folder."""
    folders = [_folder(layer, where + (index,), "layer", out,
                       _("a layer is relative to the suite file; point it at the folder whose contents "
                         "the function sees under /opt (what the layer's zip holds)"),
                       _("unpack the layer's zip into a folder and name that folder"))
               for index, layer in enumerate(written)]
    if any(folder is None for folder in folders):
        return None
    return tuple(folders)


def _folder(written: str, where: NodePath, what: str, out: _Collector, missing_hint: str,
            not_folder_hint: str) -> Optional[Path]:
    """An existing folder named beside the suite, or None with a problem at ``where`` (added
    once: the problems of a suite are reported once each anyway)."""
    key = (written, where, what)
    if key not in out.folders:
        out.folders[key] = _existing_folder(written, where, what, out, missing_hint, not_folder_hint)
    return out.folders[key]


def _existing_folder(written: str, where: NodePath, what: str, out: _Collector, missing_hint: str,
                     not_folder_hint: str) -> Optional[Path]:
    folder = _beside_suite(written, where, what, out)
    if folder is None:
        return None
    try:
        mode = os.stat(folder).st_mode
    except FileNotFoundError:
        out.add(where, _("the {what} folder '{written}' does not exist (looked for {folder})").format(
            what=what, written=written, folder=folder), missing_hint)
        return None
    except OSError as exc:
        out.add(where, _("the {what} folder '{written}' cannot be read: {error}").format(
            what=what, written=written, error=exc.strerror), _("check its permissions"))
        return None
    if not stat.S_ISDIR(mode):
        kind = _("a file") if stat.S_ISREG(mode) else file_kind(mode)
        out.add(where, _("{what} '{written}' is {kind}, not a folder ({folder})").format(
            what=what, written=written, kind=kind, folder=folder), not_folder_hint)
        return None
    return folder


def _beside_suite(written: str, where: NodePath, key: str, out: _Collector) -> Optional[Path]:
    """``written`` relative to the suite's folder, symlinks resolved; None (a problem)
    when no file system could hold it."""
    if "\x00" in written:
        out.add(where, _("{key} contains a NUL character (\\0), which no file name can hold").format(key=key),
                _("remove it from the path"))
        return None
    return Path(os.path.realpath(out.source.file.parent / written))


def _check_environment(environment: Mapping[str, Any], origins: _Origins, out: _Collector) -> None:
    for key in environment:
        if key in ROLE_VARIABLES.values():
            role_key = next(k for k, v in ROLE_VARIABLES.items() if v == key)
            out.add(origins.of_variable(key) + ("<key>",),
                    _("the environment variable {key} is the credential of a function role").format(key=key),
                    _("SCF sets it only when the function has a role; write it under role: instead, "
                      "e.g. role: {{secret_id: !env CI_SECRET_ID, secret_key: !env CI_SECRET_KEY}} "
                      "({key} comes from role.{role_key})").format(key=key, role_key=role_key))
        elif key.startswith(RESERVED_PREFIXES):
            out.add(origins.of_variable(key) + ("<key>",),
                    _("the environment variable {key} uses a prefix SCF reserves").format(key=key),
                    _("SCF_, QCLOUD_ and TENCENTCLOUD_ names are set by the platform; choose another name"))
    size = sum(len(k) + len(v) for k, v in environment.items() if isinstance(v, str))
    if size > LIMITS.environment_bytes:
        out.add(origins.of("environment"),
                _("the environment variables take {size} bytes; SCF allows at most {limit}").format(
                    size=size, limit=LIMITS.environment_bytes), _("move large values into files in the code folder"))


def _check_no_nul(value: Any, where: NodePath, what: str, out: _Collector) -> None:
    # A process environment cannot hold a NUL: the handler could never be started with it.
    if isinstance(value, str) and "\x00" in value:
        out.add(where, _("{what} contains a NUL character (\\0), which no environment variable can hold").format(
            what=what), _("remove it from the value"))


def _check_expect_consistency(expect: Mapping[str, Any], path: NodePath, out: _Collector) -> None:
    status = expect.get("status")
    error = expect.get("error")
    if status is not None and status != Status.ERROR and error not in (None, False):
        out.add(path + ("status",), _("status '{status}' contradicts the error expectation").format(status=status),
                _("an error expectation implies status: error; drop one of them"))
    number = expect.get("status_code")
    try:
        code = Code.of(number) if number is not None else None
    except (ValueError, TypeError):
        return  # the schema says which codes there are
    if code is None:
        return
    if status is not None and status != code.status:
        out.add(path + ("status_code",), _("status_code {number} ({meaning}) contradicts status '{status}': "
                                           "{number} is a status '{its_status}'").format(
            number=code.number, meaning=code.meaning, status=status, its_status=code.status),
            _("drop one of them; status_code alone implies its status"))
    elif error not in (None, False) and code.status is not Status.ERROR:
        out.add(path + ("status_code",), _("status_code {number} ({meaning}) contradicts the error expectation, "
                                           "which needs a status '{status}' code ({codes})").format(
            number=code.number, meaning=code.meaning, status=Status.ERROR, codes=_codes_of(Status.ERROR)),
            _("drop one of them"))


def _codes_of(status: Status) -> str:
    return ", ".join(str(code.number) for code in Code if code.status is status)


def _event_json(raw: Mapping[str, Any], path: NodePath, out: _Collector) -> str:
    """The event of a case (or step) as the JSON the model keeps it in. What the loader
    builds is plain data, JSON's own kinds, nested at most MAX_DEPTH deep: it always dumps."""
    return event_json(_event(raw, path, out))


def _event(raw: Mapping[str, Any], path: NodePath, out: _Collector) -> Any:
    base: Any = UNSET
    trigger = raw.get("trigger")
    if trigger is not None and "event_file" in raw:
        out.add(path + ("event_file",), _("a case can start from a trigger or an event_file, not both"),
                _("keep one; event: can still add keys over it"))
        return None
    if trigger is not None:
        base = _trigger_event(trigger, path + ("trigger",), out)
    elif "event_file" in raw:
        base = _event_file(raw["event_file"], path + ("event_file",), out)
    if "event" not in raw:
        event = {} if base is UNSET else base
    elif base is UNSET:
        event = triggers.unmarked(raw["event"])
    else:
        event = triggers.deep_merge(base, raw["event"])
    if trigger is None or base is None:  # base None: the trigger is unknown (reported)
        return event
    try:
        return triggers.deliver(trigger, event)
    except triggers.TriggerError as exc:
        out.add(path + (("event",) if "event" in raw else ("trigger",)), str(exc),
                _("scftest events show {trigger} shows what event: merges into").format(trigger=trigger))
        return None


def _trigger_event(name: str, path: NodePath, out: _Collector) -> Any:
    known = triggers.names()
    if name not in known:
        close = difflib.get_close_matches(name, known, n=1, cutoff=0.5)
        hint = _("did you mean '{name}'? ").format(name=close[0]) if close else ""
        out.add(path, _("unknown trigger '{name}'").format(name=name),
                hint + _("known triggers: {names}").format(names=", ".join(known)))
        return None
    return triggers.load(name)


def _event_file(written: str, path: NodePath, out: _Collector) -> Any:
    file = _beside_suite(written, path, "event_file", out)
    if file is None:
        return None
    try:
        content = decode_text(read_regular_file(file))
    except FileNotFoundError:
        out.add(path, _("the event file '{written}' does not exist (looked for {file})").format(written=written, file=file),
                _("event_file is relative to the suite file"))
        return None
    except OSError as exc:
        out.add(path, _("the event file '{written}' cannot be read: {error}").format(written=written, error=exc.strerror),
                _("point event_file at a JSON or YAML file you can read"))
        return None
    except YamlError as exc:
        out.add(path, _("the event file '{written}' is not valid ({line}:{col}: {error})").format(
            written=written, line=exc.mark.line, col=exc.mark.col, error=exc.message),
                exc.hint)
        return None
    if file.suffix.lower() == ".json":
        return _json_event(content, written, path, out)
    try:
        return parse_text(content, file, {}).data
    except YamlError as exc:
        out.add(path, _("the event file '{written}' is not valid ({line}:{col}: {error})").format(
            written=written, line=exc.mark.line, col=exc.mark.col, error=exc.message),
                exc.hint or _("fix that file"))
        return None


def _json_event(content: str, written: str, path: NodePath, out: _Collector) -> Any:
    try:
        event = json.loads(content)
    except ValueError as exc:
        out.add(path, _("the event file '{written}' is not valid JSON: {error}").format(written=written, error=exc),
                _("fix the JSON in that file"))
        return None
    except RecursionError:  # deeper than the stack: too deep by any measure
        event = None
        deep = True
    else:
        deep = too_deep(event)
    if deep:
        out.add(path, _("the event file '{written}': {problem}").format(written=written, problem=too_deep_message()),
                _(TOO_DEEP_HINT))
        return None
    return event


def _expectation(expect: Mapping[str, Any], owner: NodePath) -> Expectation:
    """The expectation of the case (or step) at ``owner``."""
    path = owner + ("expect",)
    return Expectation(
        owner=owner,
        return_=expect.get("return", UNSET),
        return_includes=expect.get("return_includes", UNSET),
        return_schema=expect.get("return_schema", UNSET),
        ignore=tuple(expect.get("ignore") or ()),
        ret_msg=expect.get("ret_msg", UNSET),
        error=expect.get("error", UNSET),
        log=tuple(_log_entry(entry, path + ("log", i)) for i, entry in enumerate(expect.get("log") or ())),
        status=expect.get("status", UNSET),
        status_code=expect.get("status_code", UNSET),
        duration_ms=expect.get("duration_ms", UNSET),
        memory_mb=expect.get("memory_mb", UNSET),
    )


def _log_entry(entry: Any, path: NodePath) -> LogExpectation:
    if isinstance(entry, str):
        return LogExpectation("contains", entry, path)
    (kind, pattern), = entry.items()
    return LogExpectation(kind, pattern, path)


def _check_unique_names(cases: List[Case], out: _Collector) -> None:
    seen: Dict[str, Case] = {}
    for case in cases:
        first = seen.setdefault(case.name, case)
        if first is not case:
            out.add(case.path + ("name",), _("the case name '{name}' is used twice (first at line {line})").format(
                name=case.name, line=first.line), _("give every case its own name"))
