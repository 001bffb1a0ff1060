"""One error base: every exception class scftest defines derives from ScftestError, and
one that reaches the CLI's top level is a message and exit status 4, never a traceback."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import scftest
from scftest import cli
from scftest.errors import ScftestError
from scftest.result import EXIT_USAGE

# _child.py runs inside the handler's interpreter (2.7 too) and is never imported.
SKIP = {"scftest._child", "scftest.instance._child", "scftest.__main__"}


def _modules():
    for info in pkgutil.walk_packages(scftest.__path__, prefix="scftest."):
        if info.name not in SKIP:
            yield importlib.import_module(info.name)


def _exception_classes():
    for module in _modules():
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == module.__name__ and issubclass(cls, BaseException):
                yield cls


def test_every_exception_scftest_defines_derives_from_scftest_error():
    classes = set(_exception_classes())
    assert len(classes) >= 10  # the walk found the package's errors (a broken walk finds none)
    strays = sorted(f"{cls.__module__}.{cls.__qualname__}" for cls in classes if not issubclass(cls, ScftestError))
    assert strays == []


def test_the_built_in_bases_they_had_still_catch_them():
    from scftest.instance.interpreters import RuntimeNotFound
    from scftest.load.project import ProjectError
    from scftest.load.yamlio import NotARegularFile

    assert issubclass(ProjectError, ValueError) and issubclass(RuntimeNotFound, LookupError)
    assert issubclass(NotARegularFile, OSError)


def test_a_scftest_error_reaching_the_top_is_its_message_and_exit_4(monkeypatch, capsys):
    def refuse(args):
        raise ScftestError("suite.yaml: something the user can fix")

    monkeypatch.setitem(cli.COMMANDS, "schema", refuse)
    assert cli.main(["schema"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err == "scftest: suite.yaml: something the user can fix\n"


@pytest.mark.parametrize("fault", [RuntimeError("a bug"), KeyError("x")])
def test_any_other_exception_is_an_internal_error_with_its_traceback(monkeypatch, capsys, fault):
    def broken(args):
        raise fault

    monkeypatch.setitem(cli.COMMANDS, "schema", broken)
    assert cli.main(["schema"]) == 3
    err = capsys.readouterr().err
    assert "internal error" in err and "Traceback" in err
