"""The language machinery (scftest/i18n.py) and the catalog (scftest/locale/): how the
language is chosen, that every marked message has a translation whose placeholders
match, that the committed .mo is the .po compiled, and that it ships in the wheel."""

from __future__ import annotations

import ast
import gettext
import os
import re
import string
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from conftest import INTERPRETERS
from scftest import i18n
from scftest.cli import main
from scftest.i18n_catalog import (CatalogError, Entry, catalogs, compile_mo, marked_in_source, marked_messages,
                                  mo_path, parse_po, read_po)

ROOT = Path(__file__).resolve().parents[1]
PO = ROOT / "scftest" / "locale" / "zh_CN" / "LC_MESSAGES" / "scftest.po"


def _catalog():
    return {entry.msgid: entry for entry in read_po(PO) if entry.msgid}


# ----------------------------------------------------------------- choosing the language


@pytest.mark.parametrize("environ, language", [
    ({}, "en"),
    ({"LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LANG": "zh_TW"}, "zh"),
    ({"LANG": "zh"}, "zh"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "C.UTF-8"}, "en"),
    ({"LANG": "fr_FR.UTF-8"}, "en"),
    ({"LC_ALL": "en_US.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL first
    ({"LC_MESSAGES": "zh_CN.UTF-8", "LANG": "en_US.UTF-8"}, "zh"),
    ({"LC_ALL": "", "LC_MESSAGES": "zh_CN.UTF-8"}, "zh"),  # an empty variable is not set
    ({"LC_ALL": "zh_CN.UTF-8", "LC_MESSAGES": "en_US.UTF-8"}, "zh"),
])
def test_language_from_the_locale(environ, language):
    assert i18n.language_from_environment(environ) == language


@pytest.mark.parametrize("argv, asked", [
    (["run", "--lang", "zh"], "zh"),
    (["--lang=en", "validate"], "en"),
    (["--lang", "fr", "run"], None),  # the parser reports it
    (["run", "--", "--lang", "zh"], None),  # after -- it is a path
    (["run"], None),
])
def test_language_asked_on_the_command_line(argv, asked):
    assert i18n.language_asked(argv) == asked


def test_the_option_wins_over_the_locale():
    assert i18n.choose(["--lang", "en"], {"LANG": "zh_CN.UTF-8"}) == "en"
    assert i18n.choose(["--lang", "zh"], {"LANG": "en_US.UTF-8"}) == "zh"
    assert i18n.choose([], {"LANG": "zh_CN.UTF-8"}) == "zh"


def test_speaking_translates_and_restores():
    message = "show this help message and exit"
    assert i18n._(message) == message
    with i18n.speaking("zh"):
        assert i18n.current() == "zh"
        assert i18n._(message) == "显示本帮助并退出"
        with i18n.speaking("en"):
            assert i18n._(message) == message
        assert i18n._(message) == "显示本帮助并退出"
    assert i18n.current() == "en" and i18n._(message) == message


def test_worker_threads_speak_the_commands_language():
    seen = []
    with i18n.speaking("zh"):
        worker = threading.Thread(target=lambda: seen.append(i18n._("usage: ")))
        worker.start()
        worker.join()
    assert seen == ["用法："]


def test_a_message_missing_from_the_catalog_stays_english():
    with i18n.speaking("zh"):
        assert i18n._("no such message in any catalog") == "no such message in any catalog"


# ------------------------------------------------------------------ the command line


def _usage_error(argv, capsys) -> str:
    with pytest.raises(SystemExit) as stop:
        main(argv)
    assert stop.value.code == 4
    return capsys.readouterr().err


def test_usage_errors_in_both_languages(capsys, monkeypatch):
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")
    english = _usage_error(["run", "-j"], capsys)
    assert "usage: scftest run" in english and "scftest run: error: argument -j/--jobs: expected one argument" in english
    chinese = _usage_error(["run", "-j", "--lang", "zh"], capsys)
    assert "用法：scftest run" in chinese and "scftest run：错误：参数 -j/--jobs：需要一个值" in chinese
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    assert "无法识别的参数：--bogus" in _usage_error(["--bogus"], capsys)
    assert "unrecognized arguments: --bogus" in _usage_error(["--lang", "en", "--bogus"], capsys)


def test_an_unknown_language_is_a_usage_error(capsys):
    assert "argument --lang: invalid choice: 'fr'" in _usage_error(["--lang", "fr", "validate"], capsys)


def test_lang_goes_before_or_after_the_command(capsys):
    with pytest.raises(SystemExit):
        main(["--lang", "zh", "validate", "--help"])
    before = capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["validate", "--help", "--lang", "zh"])
    assert capsys.readouterr().out == before
    assert "显示本帮助并退出" in before


def test_the_installed_command_reads_lang_from_the_environment(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("LC_ALL", "LC_MESSAGES", "LANG")}
    env["LANG"] = "zh_CN.UTF-8"
    done = subprocess.run([sys.executable, "-m", "scftest", "run", "--bogus"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, encoding="utf-8")
    assert done.returncode == 4
    assert "用法：scftest" in done.stderr and "无法识别的参数：--bogus" in done.stderr


# --------------------------------------------------------------------------- the catalog


def test_the_committed_mo_is_the_po_compiled():
    for po in catalogs():
        assert mo_path(po).read_bytes() == compile_mo(read_po(po)), (
            f"{mo_path(po)} is stale: run python -m scftest.i18n_catalog")


def test_gettext_reads_the_compiled_catalog():
    with PO.with_suffix(".mo").open("rb") as mo:
        catalog = gettext.GNUTranslations(mo)
    assert catalog.gettext("usage: ") == "用法："
    assert catalog.ngettext("expected %s argument", "expected %s arguments", 2) == "需要 %s 个值"
    assert catalog.info()["plural-forms"] == "nplurals=1; plural=0;"


_MARKED = marked_messages()


def test_messages_are_marked():
    assert len(_MARKED) >= 30  # the extraction finds the code's messages, not nothing


def _placeholders(text: str):
    braces = []
    try:
        braces = sorted(f"{{{name}{'!' + conv if conv else ''}{':' + spec if spec else ''}}}"
                        for _, name, spec, conv in string.Formatter().parse(text) if name is not None)
    except ValueError:  # not a format string (a %-style message with a lone brace)
        pass
    percents = sorted(re.findall(r"%(?:\([a-z_]+\))?[-#0 +]*\d*(?:\.\d+)?[sdrif%]", text))
    return braces, percents


_ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")
_CHINESE = re.compile(r"[\u4e00-\u9fff]")


def _words_of(text: str) -> str:
    """The text without placeholders, option names, code and file names: what a translation must change."""
    text = re.sub(r"\{[^{}]*\}|%\([a-z_]+\)[a-z]|%[a-z]", " ", text)
    return re.sub(r"--?[a-z][a-z-]*|`[^`]*`|'[^']*'|\b[A-Z_]{2,}\b|[\w./-]+\.(?:py|yaml|json|toml)\b|"
                  r"\b(?:JSON|YAML|SCF|XML|HTML|JUnit|Python|scftest|Ctrl-C|zh|en)\b", " ", text)


@pytest.mark.parametrize("message", _MARKED, ids=lambda m: m.place)
def test_every_marked_message_has_a_translation(message):
    entry = _catalog().get(message.msgid)
    assert entry is not None, f"{message.place}: {message.msgid!r} is not in {PO.name}: run " \
                              "python -m scftest.i18n_catalog --extract and translate it"
    assert entry.translated, f"{message.place}: {message.msgid!r} has no translation (or is fuzzy)"
    assert entry.msgid_plural == message.msgid_plural, f"{message.place}: the plural differs from the code's"
    for translation in entry.msgstr:
        assert _placeholders(translation) == _placeholders(message.msgid), (
            f"{message.place}: the placeholders of {translation!r} differ from {message.msgid!r}")
        if _ENGLISH_WORD.search(_words_of(message.msgid)):
            assert translation != message.msgid and _CHINESE.search(translation), (
                f"{message.place}: {translation!r} is not Chinese")


def test_the_catalog_holds_no_message_the_code_lost():
    marked = {m.msgid for m in _MARKED}
    stale = [msgid for msgid in _catalog() if msgid not in marked]
    assert not stale, f"{PO.name} translates messages no code marks any more: {stale}"


def _argparse_messages(source: str):
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "_":
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                found.add(node.args[0].value)
    return found


@pytest.mark.parametrize("version", ["3.9", "3.10", "3.11", "3.12", "3.13"])
def test_argparse_words_cover_the_runtimes_argparse(version):
    python = INTERPRETERS.get(version)
    if python is None:
        pytest.skip(f"no Python {version} on this machine")
    path = subprocess.run([str(python[0]), "-c", "import argparse; print(argparse.__file__)"],
                          capture_output=True, text=True, check=True).stdout.strip()
    words = _argparse_messages(Path(path).read_text(encoding="utf-8"))
    missing = words - set(i18n.ARGPARSE_WORDS) - set(i18n.ARGPARSE_INTERNAL)
    assert not missing, f"argparse of Python {version} says {missing}: add them to i18n.ARGPARSE_WORDS"


def test_the_extraction_reads_each_marker():
    source = ('from scftest.i18n import _, N_, ngettext\n'
              'a = _("one {x}")\nb = N_("two")\nc = ngettext("{n} case", "{n} cases", 3)\n'
              'd = i18n._("four")\ne = _(variable)\nf = other("five")\n')
    found = [(m.msgid, m.msgid_plural, m.place) for m in marked_in_source(source, "m.py")]
    assert found == [("one {x}", None, "m.py:2"), ("two", None, "m.py:3"),
                     ("{n} case", "{n} cases", "m.py:4"), ("four", None, "m.py:5")]


def test_the_po_reader():
    entries = parse_po('msgid ""\nmsgstr "Language: zh_CN\\n"\n\n#: a.py:1\nmsgid "a \\"b\\""\n'
                       '"\\n c"\nmsgstr "甲"\n\n#, fuzzy\nmsgid "x"\nmsgstr "乙"\n\n'
                       'msgid "{n} case"\nmsgid_plural "{n} cases"\nmsgstr[0] "{n} 个用例"\n')
    assert entries == [Entry("", None, ("Language: zh_CN\n",)), Entry('a "b"\n c', None, ("甲",)),
                       Entry("x", None, ("乙",), fuzzy=True), Entry("{n} case", "{n} cases", ("{n} 个用例",))]
    assert not entries[2].translated
    with pytest.raises(CatalogError, match="<po>:2: unknown escape"):
        parse_po('msgid "a"\nmsgstr "\\q"\n')
    with pytest.raises(CatalogError, match="twice"):
        parse_po('msgid "a"\nmsgstr "b"\n\nmsgid "a"\nmsgstr "c"\n')


def test_the_compiled_form_skips_untranslated_entries(tmp_path):
    mo = tmp_path / "x.mo"
    mo.write_bytes(compile_mo([Entry("", None, ("Content-Type: text/plain; charset=UTF-8\n",)),
                               Entry("kept", None, ("留",)), Entry("empty", None, ("",)),
                               Entry("fuzzy", None, ("模",), fuzzy=True)]))
    with mo.open("rb") as handle:
        catalog = gettext.GNUTranslations(handle)
    assert (catalog.gettext("kept"), catalog.gettext("empty"), catalog.gettext("fuzzy")) == ("留", "empty", "fuzzy")


# That the .mo (and .po) ship in the wheel: tests/test_package.py builds the real wheel and
# checks that every file of the package is in it.
