"""Selection: which of the loaded cases run, and in which shard.

Pure functions over ``Case`` objects. The result keeps the input order (suite file
order, then case order), which is also the order of every report, so ``-j N``,
``-k`` and ``--shard`` never reorder anything.

``-k EXPR`` works like pytest's: each word is a case-insensitive substring of the
case id ``suite::case``; words combine with ``and``, ``or``, ``not`` and parentheses.
Case names often hold spaces, so words written side by side match as a phrase
(``-k "bad input"``: "bad", then white space, then "input"), and a word may also be
quoted: ``-k '"bad input" or slow'`` (the way to match ``and`` / ``or`` / ``not`` themselves).

``--tag EXPR`` uses the same grammar over a case's tags: a word holds when the case
carries that tag (case-insensitive, the whole tag), so ``--tag "smoke and not network"``.
Several ``--tag`` options select the cases that match any of them, which is what
``--tag a --tag b`` always meant. Tags are single words: two side by side are an error.

``--shard K/N`` assigns cases by a round-robin over the selected cases sorted by id:
shard K takes the cases at positions K-1, K-1+N, K-1+2N, ... of that sorted list.
Sorting makes it independent of the order in which files were found or listed, and
round-robin keeps the shards within one case of each other in size (a hash of the id
is also order-independent, but on a few dozen cases it easily leaves one CI job with
twice the work of another, or none). Selection by ``-k``/``--tag`` happens first, so
every job of a sharded pipeline must be given the same ``-k``/``--tag``.

``--lf`` / ``--ff`` (pytest's last-failed and failed-first) come last, within the shard:
each CI job keeps its own cache, so it reruns the failures of its own share. ``--lf``
keeps only the cases that failed before, in input order; ``--ff`` runs them first, then
the others. When none of the selected cases failed before, both run every selected case
(pytest's default, ``--lfnf all``). Which cases failed is the cache's business
(``scftest/cache.py``); here it is a predicate.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Callable, FrozenSet, Iterable, List, Optional, Sequence, Tuple, Union

from scftest.i18n import N_, _
from scftest.errors import ScftestError
from scftest.model import Case

__all__ = ["PlanError", "select", "parse_shard", "compile_keyword", "compile_tags", "in_shard", "LastFailed",
           "Rerun", "rerun"]

Predicate = Callable[[str], bool]

OPERATORS = ("and", "or", "not")


class PlanError(ScftestError, ValueError):
    """A malformed ``-k`` / ``--tag`` expression or ``--shard`` value; the message is for the user."""


# --------------------------------------------------------------------------- selection


def select(
    cases: Iterable[Case],
    *,
    keyword: Optional[str] = None,
    tags: Sequence[str] = (),
    shard: Union[None, str, Tuple[int, int]] = None,
) -> List[Case]:
    """The cases to run, in input order.

    ``keyword`` is a ``-k`` expression (None or blank: no filter); ``tags`` are ``--tag``
    expressions, of which a case must match any (empty: no filter); ``shard`` is
    ``(K, N)`` or the text ``"K/N"``. Raises PlanError on bad input, before looking at
    any case, so a typo never silently selects nothing.
    """
    matches = compile_keyword(keyword) if keyword and keyword.strip() else None
    tagged = compile_tags(tags) if tags else None
    shard_kn = parse_shard(shard) if isinstance(shard, str) else shard
    if shard_kn is not None:
        _check_shard(*shard_kn, text=f"{shard_kn[0]}/{shard_kn[1]}")

    chosen = [
        case
        for case in cases
        if (matches is None or matches(case.id))
        and (tagged is None or tagged(case.tags))
    ]
    if shard_kn is None:
        return chosen
    return in_shard(chosen, *shard_kn)


@dataclass(frozen=True)
class LastFailed:
    """``--lf`` or ``--ff``, with what the cache knows: which cases failed before."""

    mode: str  # "lf" (only those) | "ff" (those first)
    failed: Callable[[Case], bool]
    known: int  # how many failures the cache holds, selected or not


@dataclass(frozen=True)
class Rerun:
    """What ``--lf`` / ``--ff`` did to the selection, for the terminal's header."""

    mode: str
    previous: int  # selected cases that failed before
    known: int  # failures the cache holds


def rerun(cases: Sequence[Case], last: LastFailed) -> Tuple[List[Case], Rerun]:
    """The cases ``--lf`` / ``--ff`` run, in order (see the module doc)."""
    failed = [case for case in cases if last.failed(case)]
    info = Rerun(last.mode, len(failed), last.known)
    if not failed:
        return list(cases), info
    if last.mode == "lf":
        return failed, info
    others = [case for case in cases if not last.failed(case)]
    return failed + others, info


def in_shard(cases: Sequence[Case], k: int, n: int) -> List[Case]:
    """The cases of shard ``k`` of ``n`` (1-based), in input order. See the module doc."""
    _check_shard(k, n, text=f"{k}/{n}")
    ranked = sorted(range(len(cases)), key=lambda i: _shard_key(cases[i]))
    mine = {index for position, index in enumerate(ranked) if position % n == k - 1}
    return [case for i, case in enumerate(cases) if i in mine]


def _shard_key(case: Case) -> Tuple[str, str, int]:
    # The id alone is unique in a well-formed run; file and line only break ties when
    # two suite files share a suite name, so that the order is still total.
    return (case.id, str(case.file), case.line)


def parse_shard(text: str) -> Tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``. K is 1-based: ``1/4`` .. ``4/4``."""
    parts = str(text).strip().split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise PlanError(_('--shard "{text}": expected K/N with whole numbers, e.g. --shard 1/4 '
                          "(shard K of N, counting from 1)").format(text=text))
    k, n = int(parts[0]), int(parts[1])
    _check_shard(k, n, text=text)
    return k, n


def _check_shard(k: int, n: int, *, text: str) -> None:
    if n < 1:
        raise PlanError(_('--shard "{text}": the number of shards N must be at least 1').format(text=text))
    if not 1 <= k <= n:
        raise PlanError(_('--shard "{text}": K must be between 1 and {n} (shards count from 1)').format(
            text=text, n=n))


# ------------------------------------------------------------- -k and --tag expressions
#
# expr    := or_expr
# or_expr := and_expr ("or" and_expr)*
# and_expr:= not_expr ("and" not_expr)*
# not_expr:= "not" not_expr | primary
# primary := "(" expr ")" | (WORD | QUOTED)+      several side by side: a phrase
#
# Operators are lowercase words, as in pytest; "And" is an ordinary word. A quoted
# word ("not ready") is always a word, which is how to match an operator literally.
# The grammar is shared; what a run of words means (a phrase in the id, one tag) is
# the caller's ``leaf``.


@dataclass(frozen=True)
class _Token:
    kind: str  # "word" | "op" | "(" | ")" | "end"
    text: str
    column: int  # 1-based, for messages


@dataclass(frozen=True)
class _Syntax:
    """How one option's expressions are named in messages and what their words mean."""

    option: str  # "-k" | "--tag"
    example: str  # shown after every message: what a good expression looks like
    leaf: Callable[[List[_Token], "_Parser"], Callable[[Any], bool]]


def _tokenize(expr: str, syntax: _Syntax) -> List[_Token]:
    tokens: List[_Token] = []
    i = 0
    while i < len(expr):
        char = expr[i]
        if char.isspace():
            i += 1
        elif char in "()":
            tokens.append(_Token(char, char, i + 1))
            i += 1
        elif char in "\"'":
            end = expr.find(char, i + 1)
            if end < 0:
                raise PlanError(_("{option} {expr}: the quote at column {column} is never closed "
                                  "— add the closing {char}").format(option=syntax.option, expr=repr(expr),
                                                                    column=i + 1, char=char))
            tokens.append(_Token("word", expr[i + 1 : end], i + 1))
            i = end + 1
        else:
            start = i
            while i < len(expr) and not expr[i].isspace() and expr[i] not in "()\"'":
                i += 1
            word = expr[start:i]
            tokens.append(_Token("op" if word in OPERATORS else "word", word, start + 1))
    tokens.append(_Token("end", "", len(expr) + 1))
    return tokens


class _Parser:
    """Recursive descent over the token list; builds a predicate on the subject that
    the syntax's leaves take (the lowercased id, or a case's lowercased tags)."""

    def __init__(self, expr: str, syntax: _Syntax) -> None:
        self.expr = expr
        self.syntax = syntax
        self.tokens = _tokenize(expr, syntax)
        self.pos = 0

    def parse(self) -> Callable[[Any], bool]:
        predicate = self._or()
        token = self._peek()
        if token.kind != "end":
            self.fail(token, "expected 'and', 'or' or the end of the expression")
        return predicate

    def _peek(self) -> _Token:
        return self.tokens[self.pos]

    def _take_op(self, op: str) -> bool:
        token = self._peek()
        if token.kind == "op" and token.text == op:
            self.pos += 1
            return True
        return False

    def _or(self) -> Callable[[Any], bool]:
        terms = [self._and()]
        while self._take_op("or"):
            terms.append(self._and())
        if len(terms) == 1:
            return terms[0]
        return lambda subject: any(term(subject) for term in terms)

    def _and(self) -> Callable[[Any], bool]:
        terms = [self._not()]
        while self._take_op("and"):
            terms.append(self._not())
        if len(terms) == 1:
            return terms[0]
        return lambda subject: all(term(subject) for term in terms)

    def _not(self) -> Callable[[Any], bool]:
        if self._take_op("not"):
            inner = self._not()
            return lambda subject: not inner(subject)
        return self._primary()

    def _primary(self) -> Callable[[Any], bool]:
        token = self._peek()
        if token.kind == "(":
            self.pos += 1
            inner = self._or()
            closing = self._peek()
            if closing.kind != ")":
                self.fail(closing, _("expected ')' to close the '(' at column {column}").format(column=token.column))
            self.pos += 1
            return inner
        if token.kind == "word":
            words = []
            while self._peek().kind == "word":
                words.append(self._peek())
                self.pos += 1
            return self.syntax.leaf(words, self)
        self.fail(token, _("expected a name or '('"))
        raise AssertionError("unreachable")  # fail always raises

    def fail(self, token: _Token, what: str) -> None:
        found = _("the end") if token.kind == "end" else repr(token.text)
        raise PlanError(_("{option} {expr}: {what}, found {found} at column {column} — {example}").format(
            option=self.syntax.option, expr=repr(self.expr), what=what, found=found, column=token.column,
            example=_(self.syntax.example)))


def _phrase(words: List[_Token], parser: _Parser) -> Predicate:
    """Words side by side: found in this order, separated by any white space."""
    pattern = re.compile(r"\s+".join(re.escape(word.text.lower()) for word in words))
    return lambda text: pattern.search(text) is not None


def _one_tag(words: List[_Token], parser: _Parser) -> Callable[[FrozenSet[str]], bool]:
    if len(words) > 1:
        parser.fail(words[1], _("two tags side by side"))
    tag = words[0].text.lower()
    return lambda tags: tag in tags


KEYWORD = _Syntax("-k", N_('write names joined by and / or / not, with ( ) to group, e.g. -k "greeting and not slow"; '
                           'quote a name that is and / or / not'), _phrase)
TAGS = _Syntax("--tag", N_('join tags with and / or / not, with ( ) to group, e.g. --tag "smoke and not network"'),
               _one_tag)


def compile_keyword(expr: str) -> Predicate:
    """A predicate on a case id for the ``-k`` expression ``expr``; PlanError if malformed.

    The predicate lowercases the id itself, so callers pass ``case.id`` as it is.
    """
    predicate = _Parser(expr, KEYWORD).parse()
    return lambda case_id: predicate(case_id.lower())


def compile_tags(exprs: Sequence[str]) -> Callable[[Iterable[str]], bool]:
    """A predicate on a case's tags that holds when any of the ``--tag`` expressions
    ``exprs`` does; PlanError if one is malformed or blank."""
    predicates = []
    for expr in exprs:
        if not expr.strip():
            raise PlanError(_("--tag {expr}: no tag given — {example}").format(expr=repr(expr), example=_(TAGS.example)))
        predicates.append(_Parser(expr, TAGS).parse())

    def holds(tags: Iterable[str]) -> bool:
        lowered = frozenset(tag.lower() for tag in tags)
        return any(predicate(lowered) for predicate in predicates)

    return holds
