"""The import finder (scftest/deps/_imports.py): on the runner's ast, and run as a script
under the runtimes' own interpreters for code only they can parse."""

import textwrap

import pytest

from conftest import INTERPRETERS, needs, python_params
from scftest.deps import _imports, scan
from scftest.deps.stdlib import ProbeFailed, ask, parse_with, stdlib_names

SOURCE = textwrap.dedent("""\
    import os, os.path as p
    from json import dumps
    try:
        import ujson
    except (ValueError, ImportError):
        import simplejson as ujson
    try:
        import strict
    except KeyError:
        pass
    from . import sibling
    from ..pkg.mod import name

    def handler(event, context):
        import requests
        importlib.import_module("lazy.module")
        __import__("other")
        importlib.import_module(name_in_a_variable)
        return requests
    """)


def _by_module(found):
    return {item[1]: item for item in found}


def test_every_kind_of_import_is_found_with_its_line():
    found = _by_module(_imports.imports_in(SOURCE))
    assert found["os"][0] == 1 and found["os.path"][0] == 1
    assert found["json"] == (2, "json", ["dumps"], 0, "", "from", False)
    assert found["requests"] == (15, "requests", [], 0, "", "import", True)  # inside a function
    assert found["lazy.module"] == (16, "lazy.module", [], 0, "", "dynamic", True)
    assert found["other"][5] == "dynamic"
    assert found[""] == (11, "", ["sibling"], 1, "", "from", False)
    assert found["pkg.mod"][3] == 2
    assert len(found) == 11  # the import_module of a variable is not a literal: left out


def test_try_except_import_error_guards_the_import_and_its_fallback_but_not_other_handlers():
    found = _by_module(_imports.imports_in(SOURCE))
    assert found["ujson"][4] == "try"
    assert found["simplejson"][4] == "try"  # the fallback in the ImportError handler
    assert found["strict"][4] == ""  # except KeyError does not catch a failed import


def test_a_deeply_nested_file_is_walked_without_recursion():
    nested = "".join("    " * depth + "if x:\n" for depth in range(90)) + "    " * 90 + "import deep\n"
    assert [item[1] for item in _imports.imports_in(nested)] == ["deep"]


@pytest.mark.parametrize("version", python_params(["2.7", "3.6", "3.10", "3.13"]))
def test_the_script_runs_on_each_interpreter_and_lists_its_stdlib(version, tmp_path):
    path, _ = INTERPRETERS[version]
    source = tmp_path / "code.py"
    source.write_text(SOURCE, encoding="utf-8")
    answer = ask(path, {"stdlib": True, "files": [str(source)]})
    assert answer["version"].startswith(version + ".")
    assert {"os", "sys", "json"} <= set(answer["stdlib"])
    assert "site-packages" not in answer["stdlib"] and "pip" not in answer["stdlib"]
    assert sorted(map(tuple, answer["files"][str(source)]["imports"])) == \
        sorted(tuple(item) for item in _imports.imports_in(SOURCE))


@needs("2.7")
def test_python2_syntax_is_parsed_by_the_python2_interpreter(tmp_path):
    old = tmp_path / "old.py"
    old.write_text('print "hi"\ntry:\n    import cPickle\nexcept ImportError, e:\n    import pickle\n'
                   'def f():\n    import urllib2\n', encoding="utf-8")
    here, others = scan.parse_here([old])
    assert here == [] and others == [old]  # the runner's Python 3 cannot parse it
    found, bad = scan.from_answer(parse_with(INTERPRETERS["2.7"][0], others))
    assert bad == []
    assert [(i.line, i.module, i.guard, i.lazy) for i in found] == [
        (3, "cPickle", "try", False), (5, "pickle", "try", False), (7, "urllib2", "", True)]


@needs("3.6")
def test_a_file_no_interpreter_parses_is_unparsable_with_its_line(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("x = 1\ndef f(:\n", encoding="utf-8")
    _, unparsable = scan.from_answer(parse_with(INTERPRETERS["3.6"][0], [bad]))
    assert len(unparsable) == 1 and unparsable[0].line == 2 and "SyntaxError" in unparsable[0].reason


@pytest.mark.parametrize("version, present, absent", [
    pytest.param("2.7", {"urllib2", "cPickle", "ConfigParser"}, {"asyncio", "tomllib", "pathlib"}, marks=needs("2.7")),
    pytest.param("3.6", {"asyncio", "pathlib"}, {"tomllib", "urllib2", "zoneinfo"}, marks=needs("3.6")),
    pytest.param("3.10", {"asyncio", "zoneinfo"}, {"tomllib", "distutils2"}, marks=needs("3.10")),
])
def test_the_standard_library_is_the_runtimes_own(version, present, absent, tmp_path):
    names = stdlib_names(INTERPRETERS[version][0], tmp_path)
    assert present <= names
    assert not absent & names


@needs("3.6")
def test_the_stdlib_list_is_cached_per_interpreter(tmp_path, monkeypatch):
    path = INTERPRETERS["3.6"][0]
    first = stdlib_names(path, tmp_path)
    assert len(list(tmp_path.glob("stdlib-*.json"))) == 1

    def no_more_asking(*args, **kwargs):
        raise AssertionError("the interpreter was asked again")

    monkeypatch.setattr("scftest.deps.stdlib.ask", no_more_asking)
    assert stdlib_names(path, tmp_path) == first


def test_an_interpreter_that_cannot_answer_is_a_clear_error(tmp_path):
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho broken >&2\nexit 1\n")
    fake.chmod(0o755)
    with pytest.raises(ProbeFailed, match="could not list imports \\(broken\\)"):
        ask(str(fake), {"stdlib": True})
    with pytest.raises(ProbeFailed, match="cannot be run"):
        ask(str(tmp_path / "missing"), {"stdlib": True})

