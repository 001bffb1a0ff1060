"""Selection: which of the loaded cases run, and in which shard.

Pure functions over ``Case`` objects. The result keeps the input order (suite file
order, then case order), which is also the order of every report, so ``-j N``,
``-k`` and ``--shard`` never reorder anything.

``-k EXPR`` works like pytest's: each word is a case-insensitive substring of the
case id ``suite::case``; words combine with ``and``, ``or``, ``not`` and parentheses.
Case names often hold spaces, so a word may also be quoted: ``-k '"bad input" or slow'``.

``--shard K/N`` assigns cases by a round-robin over the selected cases sorted by id:
shard K takes the cases at positions K-1, K-1+N, K-1+2N, ... of that sorted list.
Sorting makes it independent of the order in which files were found or listed, and
round-robin keeps the shards within one case of each other in size (a hash of the id
is also order-independent, but on a few dozen cases it easily leaves one CI job with
twice the work of another, or none). Selection by ``-k``/``--tag`` happens first, so
every job of a sharded pipeline must be given the same ``-k``/``--tag``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterable, List, Optional, Sequence, Tuple, Union

from scftest.errors import ScftestError
from scftest.model import Case

__all__ = ["PlanError", "select", "parse_shard", "compile_keyword", "in_shard"]

Predicate = Callable[[str], bool]

OPERATORS = ("and", "or", "not")


class PlanError(ScftestError, ValueError):
    """A malformed ``-k`` expression or ``--shard`` value; the message is for the user."""


# --------------------------------------------------------------------------- selection


def select(
    cases: Iterable[Case],
    *,
    keyword: Optional[str] = None,
    tags: Sequence[str] = (),
    shard: Union[None, str, Tuple[int, int]] = None,
) -> List[Case]:
    """The cases to run, in input order.

    ``keyword`` is a ``-k`` expression (None or blank: no filter); ``tags`` keeps the
    cases that carry any of the given tags (case-insensitive; empty: no filter);
    ``shard`` is ``(K, N)`` or the text ``"K/N"``. Raises PlanError on bad input, before
    looking at any case, so a typo never silently selects nothing.
    """
    matches = compile_keyword(keyword) if keyword and keyword.strip() else None
    wanted_tags = {t.lower() for t in tags}
    shard_kn = parse_shard(shard) if isinstance(shard, str) else shard
    if shard_kn is not None:
        _check_shard(*shard_kn, text=f"{shard_kn[0]}/{shard_kn[1]}")

    chosen = [
        case
        for case in cases
        if (matches is None or matches(case.id))
        and (not wanted_tags or wanted_tags.intersection(t.lower() for t in case.tags))
    ]
    if shard_kn is None:
        return chosen
    return in_shard(chosen, *shard_kn)


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
        raise PlanError(
            f'--shard "{text}": expected K/N with whole numbers, e.g. --shard 1/4 '
            "(shard K of N, counting from 1)"
        )
    k, n = int(parts[0]), int(parts[1])
    _check_shard(k, n, text=text)
    return k, n


def _check_shard(k: int, n: int, *, text: str) -> None:
    if n < 1:
        raise PlanError(f'--shard "{text}": the number of shards N must be at least 1')
    if not 1 <= k <= n:
        raise PlanError(f'--shard "{text}": K must be between 1 and {n} (shards count from 1)')


# ------------------------------------------------------------------- -k expressions
#
# expr    := or_expr
# or_expr := and_expr ("or" and_expr)*
# and_expr:= not_expr ("and" not_expr)*
# not_expr:= "not" not_expr | primary
# primary := "(" expr ")" | WORD | QUOTED
#
# Operators are lowercase words, as in pytest; "And" is an ordinary word. A quoted
# word ("not ready") is always a word, which is how to match an operator literally.


@dataclass(frozen=True)
class _Token:
    kind: str  # "word" | "op" | "(" | ")" | "end"
    text: str
    column: int  # 1-based, for messages


def _tokenize(expr: str) -> List[_Token]:
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
                raise PlanError(f"-k {expr!r}: the quote at column {i + 1} is never closed")
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
    """Recursive descent over the token list; builds a predicate on the lowercased id."""

    def __init__(self, expr: str) -> None:
        self.expr = expr
        self.tokens = _tokenize(expr)
        self.pos = 0

    def parse(self) -> Predicate:
        predicate = self._or()
        token = self._peek()
        if token.kind != "end":
            self._fail(token, "expected 'and', 'or' or the end of the expression")
        return predicate

    def _peek(self) -> _Token:
        return self.tokens[self.pos]

    def _take_op(self, op: str) -> bool:
        token = self._peek()
        if token.kind == "op" and token.text == op:
            self.pos += 1
            return True
        return False

    def _or(self) -> Predicate:
        terms = [self._and()]
        while self._take_op("or"):
            terms.append(self._and())
        if len(terms) == 1:
            return terms[0]
        return lambda text: any(term(text) for term in terms)

    def _and(self) -> Predicate:
        terms = [self._not()]
        while self._take_op("and"):
            terms.append(self._not())
        if len(terms) == 1:
            return terms[0]
        return lambda text: all(term(text) for term in terms)

    def _not(self) -> Predicate:
        if self._take_op("not"):
            inner = self._not()
            return lambda text: not inner(text)
        return self._primary()

    def _primary(self) -> Predicate:
        token = self._peek()
        if token.kind == "(":
            self.pos += 1
            inner = self._or()
            closing = self._peek()
            if closing.kind != ")":
                self._fail(closing, "expected ')' to close the '(' at column %d" % token.column)
            self.pos += 1
            return inner
        if token.kind == "word":
            self.pos += 1
            needle = token.text.lower()
            return lambda text: needle in text
        self._fail(token, "expected a name or '('")
        raise AssertionError("unreachable")  # _fail always raises

    def _fail(self, token: _Token, what: str) -> None:
        found = "the end" if token.kind == "end" else repr(token.text)
        raise PlanError(f"-k {self.expr!r}: {what}, found {found} at column {token.column}")


def compile_keyword(expr: str) -> Predicate:
    """A predicate on a case id for the ``-k`` expression ``expr``; PlanError if malformed.

    The predicate lowercases the id itself, so callers pass ``case.id`` as it is.
    """
    predicate = _Parser(expr).parse()
    return lambda case_id: predicate(case_id.lower())
