"""The language scftest speaks: English, or Simplified Chinese (``zh``).

Chosen once, at the start of a command (``cli.main``): ``--lang zh|en`` when given, else
the locale's ``LC_ALL``, ``LC_MESSAGES``, then ``LANG`` (the first one set decides, as
POSIX orders them): a value starting with ``zh`` (``zh_CN.UTF-8``, ``zh_TW``, ``zh``)
means Chinese, anything else English.

Messages are marked the way gettext's standard pattern marks them, and this module is
the one place they are looked up:

- ``_("text {name}")`` translates at the moment it is called; placeholders are
  ``str.format`` names, filled in after the lookup (``_("{count} cases").format(...)``),
  so both languages share the values and the catalog test can compare placeholders;
- ``ngettext(one, many, n)`` for a count (Chinese has one form, English two);
- ``N_("text")`` only marks a message kept in a module-level table; whoever shows it
  calls ``_(text)`` then (a table made at import time would otherwise be frozen in the
  language of the first import).

The catalog is ``scftest/locale/zh_CN/LC_MESSAGES/scftest.po``, compiled to the ``.mo``
beside it by ``python -m scftest.i18n_compile`` (stdlib only; msgfmt need not be
installed); the ``.mo`` ships in the wheel as package data.

Why the active language is process-wide state (the one piece this code base has): a
message is made deep inside every step (the loader's problems, the checker's reasons,
the reports), often on the session's worker threads; passing a translator through
every call would touch every signature for a value that never changes during a command.
``contextvars`` would not do either, since a worker thread does not inherit the
context. So ``cli.main`` activates the language for the duration of the command with
``speaking(language)`` and restores the one before when it ends (tests call ``main``
many times in one process, in both languages).
"""

from __future__ import annotations

import argparse
import gettext
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator, Mapping, Optional, Sequence

DOMAIN = "scftest"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
ENGLISH = "en"
CHINESE = "zh"
LANGUAGES = (ENGLISH, CHINESE)
# The catalog's folder for each language that has one (English is the source text).
CATALOG_LOCALES = {CHINESE: "zh_CN"}
LOCALE_VARIABLES = ("LC_ALL", "LC_MESSAGES", "LANG")


def language_from_environment(environ: Mapping[str, str]) -> str:
    """``zh`` when the first of LC_ALL, LC_MESSAGES, LANG that is set names Chinese."""
    for name in LOCALE_VARIABLES:
        value = environ.get(name, "")
        if value:
            return CHINESE if value.lower().startswith("zh") else ENGLISH
    return ENGLISH


def language_asked(argv: Sequence[str]) -> Optional[str]:
    """The value of ``--lang`` on a command line (before any ``--``), None without one.

    Read before the parser is built, because the parser's own help is translated; the
    parser then checks the value (``--lang fr`` is its usage error)."""
    found: Optional[str] = None
    for index, word in enumerate(argv):
        if word == "--":
            break
        if word == "--lang" and index + 1 < len(argv):
            found = argv[index + 1]
        elif word.startswith("--lang="):
            found = word[len("--lang="):]
    return found if found in LANGUAGES else None


def choose(argv: Sequence[str], environ: Mapping[str, str]) -> str:
    """``--lang`` wins over the locale."""
    return language_asked(argv) or language_from_environment(environ)


def translations(language: str) -> gettext.NullTranslations:
    """The catalog of ``language``; English (and a missing catalog) is the source text."""
    locale = CATALOG_LOCALES.get(language)
    if locale is None:
        return gettext.NullTranslations()
    return gettext.translation(DOMAIN, str(LOCALE_DIR), languages=[locale], fallback=True)


_active: gettext.NullTranslations = gettext.NullTranslations()
_active_language = ENGLISH


def current() -> str:
    """The language messages are made in now: ``en`` or ``zh``."""
    return _active_language


def _(message: str) -> str:
    """``message`` in the active language."""
    return _active.gettext(message)


def ngettext(singular: str, plural: str, number: int) -> str:
    """The form of a counted message for ``number``, in the active language."""
    return _active.ngettext(singular, plural, number)


def N_(message: str) -> str:
    """Marks ``message`` for the catalog without translating it (see the module docstring)."""
    return message


@contextmanager
def speaking(language: str) -> Iterator[None]:
    """Messages in ``language`` (and argparse's own words, see ``_argparse_words``) until
    the block ends; the language before is restored then."""
    global _active, _active_language
    before = (_active, _active_language, argparse._, argparse.ngettext)
    _active, _active_language = translations(language), language
    # argparse looks up its gettext functions in its module's globals on every call and
    # offers no other hook for its built-in words ("usage:", "the following arguments are
    # required", "invalid choice"); its msgids are in our catalog (ARGPARSE_WORDS).
    argparse._, argparse.ngettext = _, ngettext  # type: ignore[attr-defined]
    try:
        yield
    finally:
        _active, _active_language, argparse._, argparse.ngettext = before  # type: ignore[attr-defined]


class HelpFormatter(argparse.HelpFormatter):
    """argparse's help, its section headings ending as the catalog's ``%(heading)s:`` says
    (``选项：``, with the full-width colon the rest of the Chinese output uses).

    Python 3.13's argparse looks that message up itself; 3.9-3.12 append an ASCII ":" to the
    heading with no hook, so a section there replaces the heading line it made with the
    catalog's (in English both are the same text)."""

    class _Section(argparse.HelpFormatter._Section):  # type: ignore[name-defined]
        def format_help(self) -> str:
            text = super().format_help()
            if not text or self.heading is argparse.SUPPRESS or self.heading is None:
                return text
            indent = " " * self.formatter._current_indent
            made = f"\n{indent}{self.heading}:\n"
            if not text.startswith(made):  # 3.13 already used the catalog's form
                return text
            return f"\n{indent}{_('%(heading)s:') % {'heading': self.heading}}\n" + text[len(made):]


# argparse's built-in words that scftest's commands can show, as argparse 3.9-3.13 spells
# them (its msgids are its English text; several changed between versions, so each
# spelling is here). tests/test_i18n.py checks this list against the running Python's
# argparse source.
ARGPARSE_WORDS = (
    N_("usage: "),
    N_("positional arguments"),
    N_("options"),
    N_("optional arguments"),
    N_("subcommands"),
    N_("%(heading)s:"),
    N_(" (default: %(default)s)"),
    N_("show this help message and exit"),
    N_("show program's version number and exit"),
    N_("%(prog)s: error: %(message)s\n"),
    N_("%(prog)s: warning: %(message)s\n"),
    N_("argument %(argument_name)s: %(message)s"),
    N_("unrecognized arguments: %s"),
    N_("the following arguments are required: %s"),
    N_("one of the arguments %s is required"),
    N_("not allowed with argument %s"),
    N_("expected one argument"),
    N_("expected at most one argument"),
    N_("expected at least one argument"),
    N_("ignored explicit argument %r"),
    N_("invalid choice: %(value)r (choose from %(choices)s)"),
    N_("invalid %(type)s value: %(value)r"),
    N_("ambiguous option: %(option)s could match %(matches)s"),
    N_("unknown parser %(parser_name)r (choices: %(choices)s)"),
    N_("can't open '%(filename)s': %(error)s"),
    N_("argument '%(argument_name)s' is deprecated"),
    N_("option '%(option)s' is deprecated"),
    N_("command '%(parser_name)s' is deprecated"),
)
# ngettext's pair, as argparse counts arguments ("expected 2 arguments").
ARGPARSE_COUNTED = (("expected %s argument", "expected %s arguments"),)
# What argparse can only say to a programmer (a parser built wrongly): never translated.
ARGPARSE_INTERNAL = (
    "'required' is an invalid argument for positionals", ".__call__() not defined", "%r is not callable",
    "argument \"-\" with mode %r", "cannot have multiple subparser arguments",
    "cannot merge actions - two groups are named %r", "conflicting option string: %s",
    "conflicting subparser alias: %s", "conflicting subparser: %s", "dest= is required for options like %r",
    "invalid conflict_resolution value: %r",
    "invalid option string %(option)r: must start with a character %(prefix_chars)r",
    "mutually exclusive arguments must be optional", "unexpected option string: %s",
)
