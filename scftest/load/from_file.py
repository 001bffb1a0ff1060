"""``function.from``: the function's settings read from a deployment file the team keeps anyway.

Two formats, as their own documentation describes them (cited in docs/matrix-and-from.md):

- a Serverless Framework ``serverless.yml`` of the SCF component: ``component: scf`` (or
  ``scf@VERSION``), ``name`` (the instance), ``app`` / ``stage`` / ``org``, and ``inputs:``
  with ``src`` (a folder, or ``{src: FOLDER, exclude: [...]}``), ``handler``, ``runtime``,
  ``timeout``, ``memorySize``, ``initTimeout``, ``environment: {variables: {...}}``,
  ``layers`` and ``name``. The older form, several ``NAME: {component: '@serverless/tencent-scf',
  inputs: {codeUri: ...}}`` in one file, is read too.
- an scf CLI ``template.yaml`` (Tencent Cloud Serverless Application Model, TCSAM):
  ``Resources:`` holding namespaces (``Type: TencentCloud::Serverless::Namespace``), each
  holding functions (``Type: TencentCloud::Serverless::Function``) with ``Properties:``
  ``CodeUri``, ``Handler``, ``Runtime``, ``Timeout``, ``MemorySize``,
  ``Environment: {Variables: {...}}`` and ``Layers``; ``Globals: {Function: {...}}`` gives
  every function's defaults.

The result is a ``function:`` mapping in the suite's own words (``code`` as an absolute
folder, ``memory``, ``environment``...), which the suite's own keys then override, and the
identity the function is deployed with (its name, namespace and region, as ``context:``
keys under each case's own). Every problem is reported at its line in the from-file, and
names the suite line of ``from:``.

Serverless variables: ``${name}``, ``${stage}`` (default ``dev``), ``${app}`` (default the
instance name) and ``${org}`` are replaced; an environment value that is exactly
``${env.NAME}`` is passed from the runner's environment as ``!env NAME`` does (and masked);
any other ``${...}`` cannot be known without deploying, and is a problem.
"""

from __future__ import annotations

import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Tuple

from scftest.i18n import N_, _
from scftest.load.validate import schema_problems
from scftest.load.yamlio import NotARegularFile, YamlError, read_document
from scftest.model import EnvRef, Mark, NodePath, SourceMap, SuiteProblem

SCF_COMPONENTS = ("scf", "@serverless/tencent-scf")
NAMESPACE_TYPE = "TencentCloud::Serverless::Namespace"
FUNCTION_TYPE = "TencentCloud::Serverless::Function"
HANDLER_FORM = re.compile(r"^(?:[A-Za-z0-9_\-]+/)*[A-Za-z_][A-Za-z0-9_]*\.[A-Za-z_][A-Za-z0-9_]*$")
VARIABLE = re.compile(r"\$\{((?:[^{}]|\{[^{}]*\})*)\}")  # one level of nesting: ${output:${stage}:x}
ENV_ONLY = re.compile(r"^\$\{env\.([A-Za-z_][A-Za-z0-9_]*)\}$")


@dataclass(frozen=True)
class Written:
    """Where ``from:`` stands in the suite, for every message about the from-file."""

    suite: Path
    line: int
    text: str  # the path as written


@dataclass
class _Found:
    """One function of the from-file: its name, and each setting with its place in the file."""

    name: str
    kind: str  # "serverless.yml" | "template.yaml"
    settings: Dict[str, Tuple[Any, NodePath, str]] = field(default_factory=dict)  # key -> (value, path, file key)
    path: NodePath = ()
    aliases: Tuple[str, ...] = ()  # other names that pick it (a serverless instance's name)
    # who it is deployed as: context keys (function_name, namespace, tencentcloud_region)
    identity: Dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Imported:
    """What a from-file gives a suite: ``function:`` keys in the suite's words, and the
    deployed identity as ``context:`` keys, which each case's own ``context:`` overrides."""

    function: Dict[str, Any] = field(default_factory=dict)
    context: Dict[str, str] = field(default_factory=dict)


@dataclass
class _Report:
    file: Path
    source: SourceMap
    written: Written
    problems: List[SuiteProblem] = field(default_factory=list)

    def add(self, path: NodePath, message: str, hint: str = "") -> None:
        mark = self.source.at(path)
        self.problems.append(SuiteProblem(self.file, mark.line, mark.col, self.suffixed(message), hint))

    def suffixed(self, message: str) -> str:
        return _("{message} (function.from of {suite}:{line})").format(
            message=message, suite=self.written.suite, line=self.written.line)


def read_function(written: Written, name: Optional[str], overridden: Tuple[str, ...] = (),
                  ) -> Tuple[Imported, List[SuiteProblem]]:
    """What the from-file gives, or the problems that prevent it.

    ``overridden`` are the keys the suite writes itself: they win, so the from-file's
    values for them are neither used nor checked (the caller merges ``environment``
    variable by variable, so it is never among them)."""
    file = Path(os.path.realpath(written.suite.parent / written.text))
    try:
        document = read_document(file, {})
    except FileNotFoundError:
        return {}, [SuiteProblem(written.suite, written.line, 1,
                                 _("function.from: the file '{path}' does not exist (looked for {file})").format(
                                     path=written.text, file=file),
                                 _("from is relative to the suite file; point it at a serverless.yml or template.yaml"))]
    except (NotARegularFile, IsADirectoryError):
        return {}, [SuiteProblem(written.suite, written.line, 1,
                                 _("function.from: '{path}' is not a file").format(path=written.text),
                                 _("point it at a serverless.yml or template.yaml"))]
    except OSError as exc:
        return {}, [SuiteProblem(written.suite, written.line, 1,
                                 _("function.from: cannot read '{path}': {error}").format(
                                     path=written.text, error=exc.strerror or exc),
                                 _("check its permissions"))]
    except YamlError as exc:
        return {}, [SuiteProblem(file, exc.mark.line, exc.mark.col,
                                 _("{message} (function.from of {suite}:{line})").format(
                                     message=exc.message, suite=written.suite, line=written.line), exc.hint)]
    report = _Report(file, document.source, written)
    found = _functions(document.data, report)
    if report.problems and not found:
        return Imported(), report.problems
    chosen = _choose(found, name, report)
    if chosen is None:
        return Imported(), sorted(report.problems, key=lambda p: (p.line, p.col))
    for key in overridden:
        chosen.settings.pop(key, None)
    _check_required(chosen, overridden, report)
    function = _as_function(chosen, report)
    if report.problems:
        return Imported(), sorted(report.problems, key=lambda p: (p.line, p.col))
    return Imported(function, dict(chosen.identity)), []


# ------------------------------------------------------------------ the two formats


def _functions(data: Any, report: _Report) -> List[_Found]:
    if isinstance(data, dict) and "component" in data:
        return [_component(data, (), report)] if _is_scf(data, (), report) else []
    if isinstance(data, dict) and "Resources" in data:
        return _template(data, report)
    if isinstance(data, dict):
        instances = [(key, value) for key, value in data.items() if isinstance(value, dict) and "component" in value]
        if instances:
            return [_component(value, (key,), report, default_name=key) for key, value in instances
                    if _is_scf(value, (key,), report)]
    report.add((), _("this file is neither a Serverless Framework serverless.yml (no component:) nor an scf CLI "
                     "template.yaml (no Resources:)"),
               _("point function.from at the serverless.yml of a 'component: scf' or at the template.yaml of scf init"))
    return []


def _is_scf(data: Mapping[str, Any], path: NodePath, report: _Report) -> bool:
    component = str(data.get("component", ""))
    if component and component[0] + component[1:].split("@")[0] in SCF_COMPONENTS:  # scf@1.2: the version
        return True
    report.add(path + ("component",), _("component '{component}' is not the SCF component").format(component=component),
               _("function.from reads a serverless.yml whose component is scf (a single function); "
                 "write the function's keys in the suite instead"))
    return False


# inputs key -> (suite key); "codeUri" is the older component's name for src
SERVERLESS_KEYS = (("src", "code"), ("codeUri", "code"), ("handler", "handler"), ("runtime", "runtime"),
                   ("timeout", "timeout"), ("memorySize", "memory"), ("initTimeout", "init_timeout"),
                   ("layers", "layers"))
TEMPLATE_KEYS = (("CodeUri", "code"), ("Handler", "handler"), ("Runtime", "runtime"), ("Timeout", "timeout"),
                 ("MemorySize", "memory"), ("InitTimeout", "init_timeout"), ("Layers", "layers"))


def _component(data: Mapping[str, Any], path: NodePath, report: _Report, default_name: str = "") -> _Found:
    inputs = data.get("inputs")
    where = path + ("inputs",)
    if not isinstance(inputs, dict):
        report.add(where if "inputs" in data else path, _("the SCF component has no inputs: mapping"),
                   _("add inputs: with src, handler and runtime, as the SCF component's documentation shows"))
        return _Found(default_name, "serverless.yml")
    instance = str(data.get("name") or default_name or report.file.parent.name)
    variables = {"name": instance, "stage": str(data.get("stage") or "dev"),
                 "app": str(data.get("app") or instance), "org": str(data.get("org") or "")}
    found = _Found(instance, "serverless.yml", path=path)
    for key, ours in SERVERLESS_KEYS:
        if key in inputs:
            value = _substituted(inputs[key], where + (key,), variables, report)
            found.settings[ours] = (value, where + (key,), f"inputs.{key}")
    environment = inputs.get("environment")
    if environment is not None:
        found.settings["environment"] = _variables(environment, "variables", where + ("environment",),
                                                   "inputs.environment", variables, report)
    # the component's default function name is ${name}-${stage}-${app}
    deployed = _known(inputs.get("name", "${name}-${stage}-${app}"), variables)
    if "name" in inputs and deployed:
        found.name, found.aliases = deployed, (instance,)
    found.identity = _identity(deployed, inputs.get("namespace"), inputs.get("region"))
    return found


def _template(data: Mapping[str, Any], report: _Report) -> List[_Found]:
    resources = data.get("Resources")
    if not isinstance(resources, dict):
        report.add(("Resources",), _("Resources: must be a mapping of namespaces"),
                   _("write Resources: with a namespace of Type {type} holding the functions").format(
                       type=NAMESPACE_TYPE))
        return []
    defaults = (data.get("Globals") or {}).get("Function") if isinstance(data.get("Globals"), dict) else None
    found: List[_Found] = []
    for space, body in resources.items():
        if not isinstance(body, dict) or body.get("Type") != NAMESPACE_TYPE:
            continue
        for key, function in body.items():
            if isinstance(function, dict) and function.get("Type") == FUNCTION_TYPE:
                found.append(_template_function(str(key), function, ("Resources", space, key), defaults, report))
    return found


def _template_function(name: str, function: Mapping[str, Any], path: NodePath, defaults: Any,
                       report: _Report) -> _Found:
    properties = function.get("Properties") or {}
    if not isinstance(properties, dict):
        report.add(path + ("Properties",), _("Properties: must be a mapping"),
                   _("write Properties: with CodeUri, Handler and Runtime"))
        properties = {}
    found = _Found(name, "template.yaml", path=path, identity=_identity(name, path[1], None))
    sources = [(defaults, ("Globals", "Function"))] if isinstance(defaults, dict) else []
    sources.append((properties, path + ("Properties",)))
    for values, where in sources:  # the function's own Properties over Globals
        for key, ours in TEMPLATE_KEYS:
            if key in values:
                found.settings[ours] = (values[key], where + (key,), key)
        if "Environment" in values:
            found.settings["environment"] = _variables(values["Environment"], "Variables", where + ("Environment",),
                                                       "Environment", {}, report,
                                                       over=found.settings.get("environment"))
    return found


def _variables(environment: Any, key: str, path: NodePath, what: str, variables: Mapping[str, str],
               report: _Report, over: Any = None) -> Tuple[Any, NodePath, str]:
    """``environment: {variables: {...}}`` (or ``Environment: {Variables: ...}``) as text values."""
    if not isinstance(environment, dict) or not isinstance(environment.get(key, {}), dict):
        report.add(path, _("{what} must be a mapping with {key}: NAME: value").format(what=what, key=key),
                   _("write it like {example}").format(example=f"{what.split('.')[-1]}: {{{key}: {{STAGE: test}}}}"))
        return ({}, path, what)
    merged = dict(over[0]) if over else {}
    for name, value in (environment.get(key) or {}).items():
        place = path + (key, name)
        text = value if isinstance(value, str) else _text(value)
        whole = ENV_ONLY.match(text) if variables else None
        merged[str(name)] = EnvRef(whole.group(1)) if whole else _substituted(text, place, variables, report)
    return (merged, path + (key,), f"{what}.{key}")


def _known(value: Any, variables: Mapping[str, str]) -> Optional[str]:
    """A name with its serverless variables replaced; None when one cannot be known."""
    if not isinstance(value, str):
        return None
    text = VARIABLE.sub(lambda m: variables.get(m.group(1).strip(), m.group(0)), value)
    return None if "${" in text or not text else text


def _identity(name: Optional[str], namespace: Any, region: Any) -> Dict[str, str]:
    """The context keys of the deployed function that the file says (as text)."""
    pairs = (("function_name", name), ("namespace", namespace), ("tencentcloud_region", region))
    return {key: str(value) for key, value in pairs if isinstance(value, (str, int)) and str(value)
            and "${" not in str(value)}


def _text(value: Any) -> str:
    """A YAML scalar as the deployed variable's text (``true``, not Python's ``True``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def _substituted(value: Any, path: NodePath, variables: Mapping[str, str], report: _Report) -> Any:
    """``${name}`` / ``${stage}`` / ``${app}`` / ``${org}`` replaced; another ``${...}`` is a problem."""
    if not isinstance(value, str) or not variables:
        return value

    def replace(match: "re.Match[str]") -> str:
        inner = match.group(1).strip()
        if inner in variables:
            return variables[inner]
        report.add(path, _("scftest cannot know the value of {variable} without deploying").format(
                       variable=f"${{{inner}}}"),
                   _("write this key in the suite's function: (it wins over the from-file), or write the value "
                     "itself; only {known} and an environment value that is exactly {env} are understood").format(
                       known="${name}, ${stage}, ${app}, ${org}", env="${env.NAME}"))
        return match.group(0)

    return VARIABLE.sub(replace, value)


# ------------------------------------------------------------------------ choosing


def _choose(found: List[_Found], name: Optional[str], report: _Report) -> Optional[_Found]:
    names = [f.name for f in found]
    if name is not None:
        for function in found:
            if name == function.name or name in function.aliases:
                return function
        report.add((), _("no function named '{name}' here; it holds {names}").format(name=name, names=_listed(names))
                   if names else _("no function named '{name}' here").format(name=name),
                   _("write one of those names under function: as name:"))
        return None
    if not found:
        report.add(("Resources",) if report.source.marks.get(("Resources",)) else (),
                   _("no SCF function here (no Type: {function} inside a {namespace})").format(
                       function=FUNCTION_TYPE, namespace=NAMESPACE_TYPE),
                   _("point function.from at the file that describes the function"))
        return None
    if len(found) > 1:
        report.add(found[1].path, _("this file holds {count} functions ({names}) and the suite does not say which")
                   .format(count=len(found), names=_listed(names)),
                   _("write name: {name} under function: beside from:").format(name=names[0]))
        return None
    return found[0]


def _listed(names: List[str]) -> str:
    return ", ".join(names)


# ------------------------------------------------------------ into the suite's words


# What each format says when a key is missing: SCF component defaults (its documentation), or
# a key TCSAM requires. A missing runtime matters most: the component would deploy Node.js.
# (Marked only: _check_required translates them when it reports, in the command's language.)
SERVERLESS_MISSING = {
    "code": (N_("inputs has no src"), N_("add src: ./ (the code folder) to inputs, or write code: in the suite")),
    "runtime": (N_("inputs has no runtime, and the SCF component then deploys Nodejs10.15"),
                N_("add runtime: Python3.9 (or the Python you deploy) to inputs, or write runtime: in the suite")),
}
TEMPLATE_MISSING = {
    "code": (N_("Properties has no CodeUri, which TCSAM requires"), N_("add CodeUri: ./ or write code: in the suite")),
    "handler": (N_("Properties has no Handler, which TCSAM requires"),
                N_("add Handler: index.main_handler or write handler: in the suite")),
    "runtime": (N_("Properties has no Runtime, which TCSAM requires"),
                N_("add Runtime: Python3.9 (or the Python you deploy) or write runtime: in the suite")),
}


def _check_required(found: _Found, overridden: Tuple[str, ...], report: _Report) -> None:
    missing = SERVERLESS_MISSING if found.kind == "serverless.yml" else TEMPLATE_MISSING
    where = found.path + (("inputs",) if found.kind == "serverless.yml" else ("Properties",))
    for key, (message, hint) in missing.items():
        if key not in found.settings and key not in overridden:
            report.add(where, _(message), _(hint))
    if found.kind == "serverless.yml" and "handler" not in found.settings and "handler" not in overridden:
        # the component's documented default for Python
        found.settings["handler"] = ("index.main_handler", where, "inputs.handler")


def _as_function(found: _Found, report: _Report) -> Dict[str, Any]:
    """The suite keys, each checked at its line in the from-file."""
    function: Dict[str, Any] = {}
    marks: Dict[NodePath, Mark] = {}
    names: Dict[str, str] = {}
    for key, (value, path, file_key) in found.settings.items():
        function[key] = value
        marks[("function", key)] = report.source.at(path)
        names[key] = file_key
        if key == "environment":
            for variable in value:
                marks[("function", key, variable)] = report.source.at(path + (variable,))
                marks[("function", key, variable, "<key>")] = report.source.at(path + (variable, "<key>"))
    if "code" in function:
        function["code"] = _code(function["code"], found, report)
    if "layers" in function:
        function["layers"] = _layers(function["layers"], found, report)
    source = SourceMap(report.file, marks)
    shown = {k: v for k, v in function.items() if k not in ("code", "layers")}
    for problem in schema_problems({"cases": [{"name": "-"}], "function": shown}, source):
        report.problems.append(SuiteProblem(problem.file, problem.line, problem.col,
                                            report.suffixed(_renamed(problem.message, names)), problem.hint))
    handler = function.get("handler")
    if isinstance(handler, str) and not HANDLER_FORM.match(handler):
        path = found.settings["handler"][1]
        report.add(path, _("handler '{handler}' is not of the form <file>.<function>").format(handler=handler),
                   _("write the file without .py and the function after a dot, e.g. index.main_handler"))
    return function


def _renamed(message: str, names: Mapping[str, str]) -> str:
    """A schema message speaks of ``function.memory``; in the from-file that key is ``inputs.memorySize``."""
    for key in sorted(names, key=len, reverse=True):
        message = message.replace(f"function.{key}", names[key])
    return message


def _code(value: Any, found: _Found, report: _Report) -> Any:
    """``src`` / ``CodeUri`` as an absolute folder (it is relative to the from-file)."""
    path = found.settings["code"][1]
    folder = value.get("src") if isinstance(value, dict) else value
    if not isinstance(folder, str) or not folder:
        report.add(path, _("the code is not a local folder (a COS bucket or object?)"),
                   _("scftest runs the code from a folder: write code: in the suite's function: (it wins)"))
        return None
    where = Path(os.path.realpath(report.file.parent / folder))
    try:
        mode = os.stat(where).st_mode
    except OSError:
        report.add(path, _("the code folder '{folder}' does not exist (looked for {where})").format(
                       folder=folder, where=where),
                   _("it is relative to the from-file; or write code: in the suite's function: (it wins)"))
        return None
    if not stat.S_ISDIR(mode):
        report.add(path, _("the code '{folder}' is not a folder ({where}): scftest runs a folder, not a zip file")
                   .format(folder=folder, where=where),
                   _("unpack it and point code: in the suite's function: at the folder (it wins)"))
        return None
    return str(where)


def _layers(value: Any, found: _Found, report: _Report) -> Any:
    """Layers in these files are cloud layers (name and version): scftest needs their folders."""
    path = found.settings["layers"][1]
    if not value:
        return []
    shown = ", ".join(_layer_name(layer) for layer in value) if isinstance(value, list) else str(value)
    report.add(path, _("the function uses the cloud layers {layers}, whose contents scftest does not have").format(
                   layers=shown),
               _("write layers: in the suite's function: with the folders those layers unpack to "
                 "(it wins over the from-file), e.g. layers: [../layers/common]"))
    return None


def _layer_name(layer: Any) -> str:
    if isinstance(layer, dict):
        name = layer.get("name") or layer.get("Name") or "?"
        version = layer.get("version") or layer.get("Version")
        return _("{name} (version {version})").format(name=name, version=version) if version is not None else str(name)
    return str(layer)
