"""The imports of Python source files, and the standard library of the interpreter running this.

This file runs in two places. The runner imports it and parses each file of a code root with
its own ``ast``; a file the runner's Python cannot parse (Python 2 code: ``print "x"``,
``except X, e``; Python 3.6 code using ``async`` as a name) is handed to the function's own
runtime interpreter, which runs this file as a script (``python _imports.py`` with a request
on standard input) and parses it with *its* ``ast``. So it must run on Python 2.7 and 3.6 to
3.13 with the standard library only, and cannot import anything of scftest.

An import is a tuple ``(line, module, names, level, guard, kind, lazy)``:

- ``module``: the dotted name (``os.path``), empty for ``from . import x``;
- ``names``: what ``from module import ...`` takes (submodules or attributes: unknown here);
- ``level``: the leading dots of a relative import (0: absolute);
- ``guard``: ``"try"`` inside a ``try`` whose handlers catch ImportError (or a base of it),
  or in such a handler's body (the fallback of ``try: import json except ImportError: import
  simplejson``); ``"if"`` under an ``if`` on the Python version or platform (``if PY2:``,
  ``if sys.version_info < (3,):``); else ``""``. A failure there is the code's own business;
- ``kind``: ``import``, ``from``, or ``dynamic`` (``importlib.import_module("x")`` or
  ``__import__("x")`` with a literal name);
- ``lazy``: inside a function (or lambda): imported only when it is called.
"""

import ast
import json
import os
import sys

# Handlers that catch a failed import: ImportError, its subclass and its bases.
_CATCHING = frozenset(["ImportError", "ModuleNotFoundError", "Exception", "BaseException"])
_VERSION_NAMES = frozenset(["version_info", "hexversion", "platform", "PY2", "PY3"])
_FUNCTIONS = tuple(getattr(ast, name) for name in ("FunctionDef", "AsyncFunctionDef", "Lambda") if hasattr(ast, name))
_TRY_NODES = tuple(getattr(ast, name) for name in ("Try", "TryExcept", "TryStar") if hasattr(ast, name))


def imports_in(source, filename="<code>"):
    """The imports of ``source`` (text or bytes). Raises SyntaxError (and ValueError for a
    NUL byte) as ``compile`` does."""
    tree = ast.parse(source, filename)
    found = []
    stack = [(tree, "", False)]
    while stack:  # a loop, not recursion: a deeply nested file must not exhaust the stack
        node, guard, lazy = stack.pop()
        _record(node, guard, lazy, found)
        stack.extend(reversed(_children(node, guard, lazy)))
    found.sort(key=lambda item: item[0])
    return found


def _children(node, guard, lazy):
    lazy = lazy or isinstance(node, _FUNCTIONS)
    if isinstance(node, _TRY_NODES):
        catches = any(_catches_import_error(handler) for handler in node.handlers)
        children = [(child, guard or ("try" if catches else ""), lazy) for child in node.body]
        for handler in node.handlers:
            fallback = guard or ("try" if _catches_import_error(handler) else "")
            children.extend((child, fallback, lazy) for child in handler.body)
        for name in ("orelse", "finalbody"):
            children.extend((child, guard, lazy) for child in getattr(node, name, []))
        return children
    if isinstance(node, ast.If) and _on_version_or_platform(node.test):
        return [(node.test, guard, lazy)] + [(child, guard or "if", lazy) for child in node.body + node.orelse]
    return [(child, guard, lazy) for child in ast.iter_child_nodes(node)]


def _on_version_or_platform(test):
    """``if PY2:``, ``if six.PY3:``, ``if sys.version_info[0] == 2:``, ``if sys.platform == "win32":``."""
    for node in ast.walk(test):
        name = node.id if isinstance(node, ast.Name) else node.attr if isinstance(node, ast.Attribute) else ""
        if name in _VERSION_NAMES or name.upper().startswith(("PY2", "PY3", "IS_PY2", "IS_PY3", "PYTHON2", "PYTHON3")):
            return True
    return False


def _catches_import_error(handler):
    kind = handler.type
    if kind is None:  # a bare except
        return True
    names = kind.elts if isinstance(kind, ast.Tuple) else [kind]
    return any(_name_of(name) in _CATCHING for name in names)


def _name_of(node):
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):  # builtins.ImportError
        return node.attr
    return ""


def _record(node, guard, lazy, found):
    if isinstance(node, ast.Import):
        for alias in node.names:
            found.append((node.lineno, alias.name, [], 0, guard, "import", lazy))
    elif isinstance(node, ast.ImportFrom):
        names = [alias.name for alias in node.names if alias.name != "*"]
        found.append((node.lineno, node.module or "", names, node.level or 0, guard, "from", lazy))
    elif isinstance(node, ast.Call):
        name = _dynamic_import(node)
        if name:
            level = len(name) - len(name.lstrip("."))
            found.append((node.lineno, name.lstrip("."), [], level, guard, "dynamic", lazy))


def _dynamic_import(call):
    """The literal module name of ``importlib.import_module("x")`` / ``__import__("x")``."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    if called not in ("import_module", "__import__") or not call.args:
        return ""
    first = call.args[0]
    if type(first).__name__ not in ("Constant", "Str"):
        return ""
    value = getattr(first, "value", None) if type(first).__name__ == "Constant" else first.s
    try:
        text = str(value) if isinstance(value, type(u"")) or isinstance(value, str) else ""
    except UnicodeError:  # a non-ASCII unicode literal on Python 2: not a module name anyway
        return ""
    if not text.strip(".") or not all(part.replace("_", "a").isalnum() for part in text.strip(".").split(".")):
        return ""
    return text


# --- what only the runtime's interpreter can say ----------------------------------------


def stdlib_names():
    """Every top-level module name of this interpreter's standard library."""
    names = set(sys.builtin_module_names)
    names.update(getattr(sys, "stdlib_module_names", ()))
    for folder in _stdlib_folders():
        _add_folder(folder, names)
    names.discard("__main__")
    return sorted(names)


def _stdlib_folders():
    import sysconfig

    paths = sysconfig.get_paths()
    folders = []
    for key in ("stdlib", "platstdlib"):
        folder = paths.get(key)
        if folder and folder not in folders:
            folders.append(folder)
    for folder in list(folders):
        dynload = os.path.join(folder, "lib-dynload")
        if os.path.isdir(dynload):
            folders.append(dynload)
    return folders


def _add_folder(folder, names):
    try:
        entries = os.listdir(folder)
    except OSError:
        return
    for entry in entries:
        path = os.path.join(folder, entry)
        if entry in ("site-packages", "dist-packages", "__pycache__") or entry.startswith("config-"):
            continue
        stem = entry.split(".")[0]
        if not stem or not stem.replace("_", "a").isalnum():
            continue
        if os.path.isdir(path):
            if os.path.isfile(os.path.join(path, "__init__.py")):
                names.add(entry)
        elif entry.endswith((".py", ".so", ".pyd")) or entry.endswith(".pyc") and sys.version_info[0] == 2:
            names.add(stem)


def _parse_file(path):
    try:
        with open(path, "rb") as handle:
            source = handle.read()
        return {"imports": imports_in(source, path)}
    except SyntaxError as exc:
        return {"error": "%s: %s" % (type(exc).__name__, exc.msg), "line": exc.lineno or 0}
    except (ValueError, TypeError) as exc:  # a NUL byte; an encoding the cookie names wrongly
        return {"error": str(exc), "line": 0}
    except (IOError, OSError) as exc:
        return {"error": "cannot read: %s" % (exc.strerror or exc), "line": 0}
    except RuntimeError as exc:  # RecursionError is one, on Python 3
        return {"error": "too deeply nested to parse (%s)" % exc, "line": 0}


def main():
    """Answer one request: ``{"stdlib": bool, "files": [path, ...]}`` on stdin, JSON on stdout."""
    request = json.loads(sys.stdin.read())
    answer = {"version": "%d.%d.%d" % tuple(sys.version_info[:3]), "files": {}}
    if request.get("stdlib"):
        answer["stdlib"] = stdlib_names()
    for path in request.get("files", []):
        answer["files"][path] = _parse_file(path)
    sys.stdout.write(json.dumps(answer))


if __name__ == "__main__":
    main()
