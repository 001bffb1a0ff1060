"""Compare an expected value, matchers allowed anywhere in it, with an actual value.

``compare`` lists every difference, each with its path in the actual value, its path in
the expected value (for the suite line), a message in plain words and the raw values of
both sides (``render.py`` makes their text). Exact comparison is what ``return`` asks for; ``includes=True`` is
``return_includes``: extra keys are allowed at every depth, and each expected list item
needs an actual item of its own, anywhere in the list.

Ignore paths (``expect.ignore``), relative to the compared value:
  ``headers.X-Request-Id``   a key; anything but ``.``, ``[``, ``]`` and quotes may be in it
  ``body.items[0].id``       ``[n]`` is a list index (``items.0`` works too)
  ``body.items[*].id``       ``[*]`` any index, ``*`` any key
  ``headers."x.y"``          a key with a dot in it: quote it (``'x.y'`` or ``["x.y"]`` too)
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple

from scftest.errors import ScftestError
from scftest.check.outcome import Gap, Key, Kind
from scftest.i18n import N_, _
from scftest.matchers import JsonMatcher, Matcher, is_number, same_scalar, type_word
from scftest.model import NodePath
from scftest.patterns import PatternTimeout
from scftest.render import first_difference, pair_texts, render_value

__all__ = ["compare", "Difference", "parse_ignore_path", "IgnorePathError", "WILDCARD"]


# --- paths -------------------------------------------------------------------------------


class _Wildcard:
    """``*`` or ``[*]`` in an ignore path: any key or index."""

    def __repr__(self) -> str:
        return "*"


WILDCARD = _Wildcard()


class IgnorePathError(ScftestError, ValueError):
    """An ``ignore`` entry that is not a path."""


_BRACKET = re.compile(r"""\[\s*(?:(\d+)|(\*)|"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)')\s*\]""")
_KEY = re.compile(r""""((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^.\[\]"']+)""")


def parse_ignore_path(text: str) -> Tuple[Any, ...]:
    """``body.items[0].id`` -> ("body", "items", 0, "id"); IgnorePathError when malformed."""
    source = text.strip() if isinstance(text, str) else ""
    if not source:
        raise IgnorePathError(_("an ignore path must name a place in the value, e.g. headers.Date"))
    parts: List[Any] = []
    pos = 0
    while pos < len(source):
        bracket = _BRACKET.match(source, pos)
        if bracket:
            parts.append(_bracket_part(bracket))
            pos = bracket.end()
            continue
        if parts:  # after a key or an index, only ".key" or "[n]" may follow
            if source[pos] != ".":
                raise _path_error(source, pos)
            pos += 1
        key = _KEY.match(source, pos)
        if not key:
            raise _path_error(source, pos)
        parts.append(_key_part(key))
        pos = key.end()
    return tuple(parts)


def _bracket_part(m: "re.Match[str]") -> Any:
    index, star, double, single = m.groups()
    if index is not None:
        return int(index)
    if star is not None:
        return WILDCARD
    return json.loads(f'"{double}"') if double is not None else single.replace("''", "'")


def _key_part(m: "re.Match[str]") -> Any:
    double, single, plain = m.groups()
    if double is not None:
        return json.loads(f'"{double}"')
    if single is not None:
        return single.replace("''", "'")
    plain = plain.strip()
    return WILDCARD if plain == "*" else plain


def _path_error(source: str, pos: int) -> IgnorePathError:
    return IgnorePathError(
        _("the ignore path {path} cannot be read at character {position}; write keys with dots "
          "between them and indexes in brackets, e.g. body.items[0].id (quote a key that holds a "
          'dot: headers."x.y")').format(path=repr(source), position=pos + 1))


def _part_fits(pattern: Any, key: Key) -> bool:
    if pattern is WILDCARD:
        return True
    if isinstance(pattern, int):
        return isinstance(key, int) and not isinstance(key, bool) and pattern == key
    # items.0 is as good as items[0] for a person who does not know the bracket form
    return pattern == key or (isinstance(key, int) and pattern.isdigit() and int(pattern) == key)


def _path_fits(pattern: Tuple[Any, ...], path: Tuple[Key, ...]) -> bool:
    return len(pattern) == len(path) and all(_part_fits(p, k) for p, k in zip(pattern, path))


# --- value comparison --------------------------------------------------------------------


# A type word of matchers.type_word with its article, as a reason says it ("expected a
# string, got an int"); a type no JSON value has (a handler's set) is named as it is.
_ARTICLED = {"null": N_("null"), "bool": N_("a bool"), "int": N_("an int"), "number": N_("a number"),
             "string": N_("a string"), "list": N_("a list"), "dict": N_("a dict"), "matcher": N_("a matcher")}


def _article(word: str) -> str:
    if word in _ARTICLED:
        return _(_ARTICLED[word])
    return (_("an {type}") if word[0] in "aeiou" else _("a {type}")).format(type=word)


def quoted_hint(expected: Any, actual: Any) -> str:
    """Why a number and a text that reads as that number differ: the quotes."""
    if is_number(expected) and isinstance(actual, str) and _reads_as(actual, expected):
        return _(" (the function returned the number as text: {actual} is a string)").format(
            actual=render_value(actual))
    if isinstance(expected, str) and is_number(actual) and _reads_as(expected, actual):
        return _(" (a number written in quotes is text: write {number} without quotes)").format(
            number=render_value(actual))
    return ""


def _reads_as(text: str, number: Any) -> bool:
    try:
        return float(text.strip()) == number
    except ValueError:
        return False


@dataclass(frozen=True)
class Difference:
    """One place where the actual value is not as expected.

    ``path`` leads into the actual value, ``expected_path`` into the expected one (for
    its YAML line). They differ inside return_includes lists, where expected item 0 may
    be found at actual index 3, and for an unexpected key or item, which has no line of
    its own: it gets its parent's.
    """

    path: Tuple[Key, ...]
    expected_path: NodePath
    message: str
    expected: Any  # the raw values of both sides; Gap.ABSENT where a key or item is missing
    actual: Any
    kind: Kind = Kind.PART  # VALUE: two leaves, shown around their first difference
    matcher: Optional[Matcher] = None  # the matcher that judged ``actual``, if one did


def compare(expected: Any, actual: Any, *, ignore: Iterable[Tuple[Any, ...]] = (),
            includes: bool = False) -> List[Difference]:
    """Every difference between ``expected`` (matchers allowed) and ``actual``, in the
    order the expected value is written. ``ignore`` holds parsed paths
    (``parse_ignore_path``); ``includes`` compares as a subset."""
    if _identical(expected, actual):
        return []  # equal plain data: nothing to list, whatever ignore and includes say
    rules = _Rules(includes=includes, ignore=tuple(ignore))
    return list(_diff(expected, actual, _At((), ()), rules))


_SCALARS = (str, int, float, bool, type(None))


def _identical(expected: Any, actual: Any) -> bool:
    """Whether two values are plain data (dicts with ``str`` keys, lists, ``str``, ``int``,
    ``float``, ``bool``, None: exactly those types, no subclass, no matcher) equal with the
    same type at every place. Then ``_diff`` would find no difference, and it is spared
    (deepdiff builds a lot even for an equal pair: most of a passing case's checking).

    Only a yes is trusted: any doubt (``1`` against ``1.0``, a tuple, NaN, a matcher)
    answers False and the full comparison decides. A loop, not recursion: a deep value
    needs no deep stack."""
    stack = [(expected, actual)]
    while stack:
        want, got = stack.pop()
        kind = type(want)
        if kind is not type(got):
            return False
        if kind is dict:
            if len(want) != len(got) or any(type(key) is not str for key in got):
                return False
            for key, value in want.items():
                if key not in got:
                    return False
                stack.append((value, got[key]))
        elif kind is list:
            if len(want) != len(got):
                return False
            stack.extend(zip(want, got))
        elif kind not in _SCALARS or want != got:
            return False
    return True


@dataclass(frozen=True)
class _At:
    """Where the walk is: the path in the actual value and in the expected one."""

    apath: Tuple[Key, ...]
    epath: NodePath

    def key(self, key: Key) -> "_At":
        return _At(self.apath + (key,), self.epath + (key,))

    def item(self, actual_index: int, expected_index: int) -> "_At":
        return _At(self.apath + (actual_index,), self.epath + (expected_index,))

    def below(self, rel: Tuple[Key, ...]) -> "_At":
        return _At(self.apath + rel, self.epath + rel)


def _difference(at: _At, message: str, expected: Any, actual: Any, kind: Kind = Kind.PART,
                matcher: Optional[Matcher] = None) -> Difference:
    return Difference(at.apath, at.epath, message, expected, actual, kind, matcher)


@dataclass(frozen=True)
class _Rules:
    """How to compare: exactly (``return``) or as a subset (``return_includes``)."""

    includes: bool = False
    ignore: Tuple[Tuple[Any, ...], ...] = ()
    use_deepdiff: bool = True  # off when deepdiff itself failed on this value

    def ignored(self, apath: Tuple[Key, ...]) -> bool:
        return any(_path_fits(p, apath) for p in self.ignore)

    def ignores_below(self, apath: Tuple[Key, ...]) -> bool:
        depth = len(apath)
        return any(len(p) > depth and _path_fits(p[:depth], apath) for p in self.ignore)


def _diff(expected: Any, actual: Any, at: _At, rules: _Rules) -> Iterator[Difference]:
    """Every difference between an expected tree (matchers allowed) and an actual value."""
    if rules.ignored(at.apath):
        return
    if isinstance(expected, JsonMatcher):
        yield from _diff_json(expected, actual, at, rules)
    elif isinstance(expected, Matcher):
        try:
            reason = expected.explain(actual)
        except PatternTimeout as exc:
            raise exc.within(at.epath) from None  # judge names the suite line of this matcher
        if reason is not None:
            yield _difference(at, reason, expected, actual, matcher=expected)
    elif isinstance(expected, Mapping):
        yield from _diff_mapping(expected, actual, at, rules)
    elif isinstance(expected, (list, tuple)):
        yield from _diff_list(expected, actual, at, rules)
    elif not same_scalar(expected, actual):
        yield _leaf_diff(expected, actual, at)


def _diff_json(expected: JsonMatcher, actual: Any, at: _At, rules: _Rules) -> Iterator[Difference]:
    # Descend into the decoded JSON so the path names the field that differs (body.id),
    # just as the user wrote it in YAML under the !json tag.
    ok, value = expected.parse(actual)
    if not ok:
        yield _difference(at, value, expected, actual, matcher=expected)
        return
    yield from _diff(expected.expected, value, at, rules)


def _leaf_diff(expected: Any, actual: Any, at: _At) -> Difference:
    want, got = type_word(expected), type_word(actual)
    if want != got and not (is_number(expected) and is_number(actual)):
        return _difference(at, _("expected {want}, got {got}").format(want=_article(want), got=_article(got))
                           + quoted_hint(expected, actual), expected, actual, Kind.VALUE)
    message = _("values differ")
    # Two long strings are shown cut around where they differ; then say where that is.
    if isinstance(expected, str) and pair_texts(expected, actual)[0] != render_value(expected):
        message = _("strings differ from character {position}").format(position=first_difference(expected, actual) + 1)
    return _difference(at, message, expected, actual, Kind.VALUE)


def _diff_mapping(expected: Mapping, actual: Any, at: _At, rules: _Rules) -> Iterator[Difference]:
    if not isinstance(actual, Mapping):
        yield _type_diff("dict", expected, actual, at)
        return
    if _plain_enough(expected, at, rules):
        yield from _deepdiff(expected, actual, at, rules)
        return
    for key, value in expected.items():
        child = at.key(key)
        if rules.ignored(child.apath):
            continue
        if key not in actual:
            yield _difference(child, _("key is missing"), value, Gap.ABSENT)
        else:
            yield from _diff(value, actual[key], child, rules)
    if not rules.includes:
        for key in actual:
            child = _At(at.apath + (key,), at.epath)  # no line of its own: the mapping's
            if key not in expected and not rules.ignored(child.apath):
                yield _difference(child, _("unexpected key"), Gap.ABSENT, actual[key])


def _type_diff(want: str, expected: Any, actual: Any, at: _At) -> Difference:
    return _difference(at, _("expected {want}, got {got}").format(want=_article(want), got=_article(type_word(actual))),
                       expected, actual)


def _diff_list(expected: Sequence, actual: Any, at: _At, rules: _Rules) -> Iterator[Difference]:
    if not isinstance(actual, (list, tuple)):
        yield _type_diff("list", expected, actual, at)
    elif rules.includes:
        yield from _diff_list_includes(expected, actual, at, rules)
    elif _plain_enough(expected, at, rules):
        yield from _deepdiff(expected, actual, at, rules)
    else:
        yield from _diff_list_exact(expected, actual, at, rules)


def _diff_list_exact(expected: Sequence, actual: Sequence, at: _At, rules: _Rules) -> Iterator[Difference]:
    for index, (want, got) in enumerate(zip(expected, actual)):
        yield from _diff(want, got, at.key(index), rules)
    for index in range(len(actual), len(expected)):
        child = at.key(index)
        if not rules.ignored(child.apath):
            yield _difference(child, _("missing item"), expected[index], Gap.ABSENT)
    for index in range(len(expected), len(actual)):
        child = _At(at.apath + (index,), at.epath)
        if not rules.ignored(child.apath):
            yield _difference(child, _("unexpected item"), Gap.ABSENT, actual[index])


# --- return_includes lists: each expected item needs its own actual item ------------------


ASSIGNMENT_LIMIT = 2500  # item pairs up to which a failure report searches the best pairing
INDEX_MIN = 32  # actual lists at least this long are indexed by value before pairing
CLOSEST_LIMIT = 200  # leftover items an unmatched expected item is compared with, at most
PAIR_BUDGET = 20_000  # comparisons the closest-item search of one list may make in all


def _diff_list_includes(expected: Sequence, actual: Sequence, at: _At, rules: _Rules) -> Iterator[Difference]:
    known: Dict[Tuple[int, int], bool] = {}

    def fits(i: int, j: int) -> bool:
        if (i, j) not in known:
            known[(i, j)] = next(_diff(expected[i], actual[j], at.item(j, i), rules), None) is None
        return known[(i, j)]

    index = _ListIndex(actual) if len(actual) >= INDEX_MIN and not rules.ignores_below(at.apath) else None
    candidates = (lambda i: index.candidates(expected[i], i)) if index else None
    if len(_max_matching(len(expected), len(actual), fits, candidates)) == len(expected):
        return
    # Some expected item has no partner. Show each one against the most similar item left
    # over: that is usually the item the user meant, and its field-level diff says more
    # than "not found".
    for i, j in _closest_partners(expected, actual, at, rules, fits, candidates, index):
        if j is None:
            yield _difference(_At(at.apath, at.epath + (i,)), _not_in_list(i, len(actual), index),
                              expected[i], actual)
            continue
        note = _(" (closest item to expected item [{index}])").format(index=i)
        for diff in _diff(expected[i], actual[j], at.item(j, i), rules):
            yield replace(diff, message=diff.message + note)


def _not_in_list(i: int, n: int, index: Optional["_ListIndex"]) -> str:
    if index is not None and index.budget_spent:
        return _("expected item [{index}] is not in the list of {count} items (the search for its closest "
                 "item stopped after {budget} comparisons)").format(index=i, count=n, budget=PAIR_BUDGET)
    return _("expected item [{index}] is not in the list").format(index=i)


_NOT_INDEXED = object()  # a value the index does not hold: it is compared as before


_LEAF_KINDS = {str: "string", int: "number", float: "number", bool: "bool", type(None): "null"}
_CONTAINERS = (dict, list)  # what JSON decodes to; other types take the slow checks


def _scalar_key(value: Any) -> Any:
    """What the index files a leaf under: values ``same_scalar`` calls equal share a key
    (1 and 1.0; never true and 1, "1" and 1, null and ""). NaN equals nothing. By exact
    type, so that filing half a million items costs no ABC checks; other types are not
    filed, and the comparison itself decides for them."""
    kind = _LEAF_KINDS.get(type(value))
    if kind is None or (kind == "number" and value != value):
        return _NOT_INDEXED
    return (kind, value)


def _odd(value: Any) -> bool:
    """Neither a leaf the index files nor a container: compared one by one."""
    return (type(value) not in _CONTAINERS and not isinstance(value, (Mapping, list, tuple))
            and not _is_nan(value))


def _is_nan(value: Any) -> bool:
    return is_number(value) and value != value


class _ListIndex:
    """The actual list's items filed by value, so that an expected item is tried only
    against the items that can fit it (in list order), not against every item.

    An expected scalar can fit only an equal scalar; an expected mapping whose key ``k``
    holds a scalar can fit only a mapping whose ``k`` is equal to it. Items the index
    does not hold (odd objects) are always tried. The verdict stays exact: the index only
    leaves out pairs that cannot fit. Only used when no ignore path reaches below the
    list (an ignored key or item fits anything)."""

    def __init__(self, actual: Sequence) -> None:
        self.actual = actual
        self.by_value: Optional[Dict[Any, List[int]]] = None
        self.by_field: Dict[str, Dict[Any, List[int]]] = {}
        self.others: List[int] = []  # odd items no key files: always tried
        self.field_others: Dict[str, List[int]] = {}  # mappings whose field holds an odd object
        self.comparisons = 0  # the closest-item search's, against PAIR_BUDGET
        self.budget_spent = False

    def _values(self) -> Dict[Any, List[int]]:
        if self.by_value is None:
            self.by_value = {}
            filed, kinds = self.by_value, _LEAF_KINDS
            for j, item in enumerate(self.actual):
                kind = kinds.get(type(item))  # _scalar_key, inlined: this loop may see 10^6 items
                if kind is not None and (kind != "number" or item == item):
                    filed.setdefault((kind, item), []).append(j)
                elif _odd(item):
                    self.others.append(j)
        return self.by_value

    def _field(self, name: str) -> Dict[Any, List[int]]:
        if name not in self.by_field:
            filed: Dict[Any, List[int]] = {}
            odd: List[int] = []
            for j, item in enumerate(self.actual):
                if (type(item) is dict or isinstance(item, Mapping)) and name in item:
                    value = item[name]
                    key = _scalar_key(value)
                    if key is not _NOT_INDEXED:
                        filed.setdefault(key, []).append(j)
                    elif _odd(value):
                        odd.append(j)  # not JSON data: let the comparison itself decide
            self.by_field[name], self.field_others[name] = filed, odd
        return self.by_field[name]

    def _scalar_field(self, expected: Mapping) -> Optional[Tuple[str, Any]]:
        for name, value in expected.items():
            if isinstance(name, str) and not isinstance(value, Matcher):
                key = _scalar_key(value)
                if key is not _NOT_INDEXED:
                    return name, key
        return None

    def candidates(self, expected: Any, i: int) -> Iterable[int]:
        """The actual indexes that may fit ``expected`` (item ``i``), ``i`` first: the
        first ``QUICK_TRIES`` items of the list as they come, then those the index files
        under ``expected``'s value. An item found among the first ones never waits for
        the index, which is built only when they do not do."""
        return _Tries(self, expected, i)

    def filed(self, expected: Any, i: int) -> Sequence[int]:
        """Every actual index that may fit ``expected`` (item ``i``), ``i`` first."""
        if isinstance(expected, Matcher) or isinstance(expected, (list, tuple)):
            return _same_place_first(range(len(self.actual)), i)
        if isinstance(expected, Mapping):
            field = self._scalar_field(expected)
            if field is None:
                return _same_place_first(range(len(self.actual)), i)
            found = self._field(field[0]).get(field[1], [])
            others = self.field_others[field[0]]
        else:
            key = _scalar_key(expected)
            if key is _NOT_INDEXED:
                return _same_place_first(range(len(self.actual)), i)
            found = self._values().get(key, [])
            others = self.others
        return _same_place_first(sorted(found + others) if others else found, i)

    def similar(self, expected: Any) -> List[int]:
        """Actual indexes sharing a field's value with an expected mapping (the likeliest
        items a person meant), in list order."""
        if not isinstance(expected, Mapping):
            return []
        shared = set()
        for name, value in expected.items():
            key = _scalar_key(value) if isinstance(name, str) and not isinstance(value, Matcher) else _NOT_INDEXED
            if key is not _NOT_INDEXED:
                shared.update(self._field(name).get(key, []))
                if len(shared) >= CLOSEST_LIMIT:
                    break
        return sorted(shared)

    def spend(self, count: int) -> bool:
        """Count ``count`` comparisons; False once the budget is spent."""
        if self.comparisons + count > PAIR_BUDGET:
            self.budget_spent = True
            return False
        self.comparisons += count
        return True


QUICK_TRIES = 64  # list items tried as they come before an expected item waits for the index


class _Tries:
    """The candidates of one expected item, iterable again and again (an augmenting path
    may come back to the item): the quick tries, then the index's, each index once."""

    def __init__(self, index: _ListIndex, expected: Any, i: int) -> None:
        self.index, self.expected, self.i = index, expected, i

    def __iter__(self) -> Iterator[int]:
        n = len(self.index.actual)
        quick = _same_place_first(range(min(QUICK_TRIES, n)), self.i)
        if self.i >= QUICK_TRIES and self.i < n:
            quick = [self.i] + list(quick)
        yield from quick
        tried = set(quick)
        yield from (j for j in self.index.filed(self.expected, self.i) if j not in tried)


def _same_place_first(indexes: Sequence[int], i: int) -> Sequence[int]:
    """``indexes`` with ``i`` first when it is among them: in-order lists pair up the obvious way."""
    if isinstance(indexes, range):
        return ([i] if i < len(indexes) else []) + [j for j in indexes if j != i] if i < len(indexes) else indexes
    if i in indexes:
        return [i] + [j for j in indexes if j != i]
    return indexes


def _closest_partners(expected: Sequence, actual: Sequence, at: _At, rules: _Rules,
                      fits: Callable[[int, int], bool],
                      candidates: Optional[Callable[[int], Iterable[int]]] = None,
                      index: Optional[_ListIndex] = None) -> List[Tuple[int, Optional[int]]]:
    """(expected index, actual index or None) for every expected item left without a match.

    The pairing keeps as many matches as possible and, among those, gives the unmatched
    items the most similar leftovers (a min-cost assignment). Huge lists fall back to
    taking the closest leftover item by item, among at most ``CLOSEST_LIMIT`` of them
    (those sharing a field's value first, then the nearest in the list), within
    ``PAIR_BUDGET`` comparisons for the whole list.
    """
    m, n = len(expected), len(actual)

    def distance(i: int, j: int) -> int:
        kind, count, gap = _distance(expected[i], actual[j], at.item(j, i), rules, i, j)
        return kind * 10**6 + min(count, 999) * 10**3 + min(gap, 999)

    if m * max(n, 1) > ASSIGNMENT_LIMIT:
        pairs = _max_matching(m, n, fits, candidates)
        return _greedy_partners(m, n, pairs, distance, index or _ListIndex(actual), expected)
    miss = 2 * 10**6 * (m + 1)  # one more match always outweighs any sum of distances
    cost = [[0 if fits(i, j) else miss + distance(i, j) for j in range(n)] + [2 * miss] * max(0, m - n)
            for i in range(m)]
    chosen = _min_cost_assignment(cost)
    return [(i, j if j < n else None) for i, j in enumerate(chosen) if j >= n or not fits(i, j)]


def _greedy_partners(m: int, n: int, pairs: Dict[int, int], distance: Callable[[int, int], int],
                     index: _ListIndex, expected: Sequence) -> List[Tuple[int, Optional[int]]]:
    taken = set(pairs.values())
    partners: List[Tuple[int, Optional[int]]] = []
    for i in (i for i in range(m) if i not in pairs):
        pool = _closest_pool(i, n, taken, index.similar(expected[i]))
        j = min(pool, key=lambda j: distance(i, j)) if pool and index.spend(len(pool)) else None
        if j is not None:
            taken.add(j)
        partners.append((i, j))
    return partners


def _closest_pool(i: int, n: int, taken: set, similar: Sequence[int]) -> List[int]:
    """Up to CLOSEST_LIMIT free actual indexes: those sharing a value with item ``i``, then
    the nearest to position ``i``, outwards."""
    pool = [j for j in similar if j not in taken][:CLOSEST_LIMIT]
    chosen = set(pool)
    start = min(i, n - 1)
    for step in range(n):
        if len(pool) >= CLOSEST_LIMIT or (start - step < 0 and start + step >= n):
            break
        for j in {start - step, start + step}:
            if 0 <= j < n and j not in taken and j not in chosen:
                pool.append(j)
                chosen.add(j)
    return pool


def _min_cost_assignment(cost: List[List[int]]) -> List[int]:
    """Column for each row, minimising the total cost (Hungarian method; rows <= columns)."""
    rows, cols = len(cost), len(cost[0]) if cost else 0
    u, v = [0] * (rows + 1), [0] * (cols + 1)
    owner, way = [0] * (cols + 1), [0] * (cols + 1)  # owner[j]: row (1-based) holding column j
    for row in range(1, rows + 1):
        owner[0], j0 = row, 0
        slack, used = [float("inf")] * (cols + 1), [False] * (cols + 1)
        while True:  # grow an alternating tree until it reaches a free column
            used[j0] = True
            i0, delta, j1 = owner[j0], float("inf"), 0
            for j in range(1, cols + 1):
                if used[j]:
                    continue
                reduced = cost[i0 - 1][j - 1] - u[i0] - v[j]
                if reduced < slack[j]:
                    slack[j], way[j] = reduced, j0
                if slack[j] < delta:
                    delta, j1 = slack[j], j
            for j in range(cols + 1):
                if used[j]:
                    u[owner[j]] += delta
                    v[j] -= delta
                else:
                    slack[j] -= delta
            j0 = j1
            if owner[j0] == 0:
                break
        while j0:  # flip the augmenting path
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    chosen = [0] * rows
    for j in range(1, cols + 1):
        if owner[j]:
            chosen[owner[j] - 1] = j - 1
    return chosen


def _distance(expected: Any, actual: Any, at: _At, rules: _Rules, i: int, j: int) -> Tuple[int, int, int]:
    same_kind = type_word(expected) == type_word(actual) or isinstance(expected, Matcher)
    count = sum(1 for _ in _diff(expected, actual, at, rules))
    return (0 if same_kind else 1, count, abs(i - j))


def _max_matching(m: int, n: int, fits: Callable[[int, int], bool],
                  candidates: Optional[Callable[[int], Iterable[int]]] = None) -> Dict[int, int]:
    """Maximum bipartite matching (Kuhn's augmenting paths): expected index -> actual index.

    Greedy first fit fails on ``[!any, {id: 1}]`` against ``[{id: 1}, {id: 2}]``: ``!any``
    would take ``{id: 1}`` and leave nothing for the second item. Augmenting paths let an
    earlier item give its partner up when it has another one. ``fits`` should remember
    its answers: a pair may be asked about more than once. ``candidates(i)`` lists the
    actual indexes that may fit item ``i`` (``_ListIndex``); without it, every index, ``i``
    first. The search is a loop, not recursion: a path may pass through every item.
    """
    owner: Dict[int, int] = {}  # actual index -> expected index
    tried: Dict[int, Sequence[int]] = {}

    def order(i: int) -> Sequence[int]:
        if i not in tried:
            tried[i] = candidates(i) if candidates else _same_place_first(range(n), i)
        return tried[i]

    for start in range(m):
        _augment(start, order, fits, owner)
    return {i: j for j, i in owner.items()}


def _augment(start: int, order: Callable[[int], Sequence[int]], fits: Callable[[int, int], bool],
             owner: Dict[int, int]) -> bool:
    """One augmenting path from expected item ``start`` (depth-first, with an explicit stack)."""
    seen: set = set()
    stack = [(start, iter(order(start)))]  # (expected item, the actual indexes left to try)
    path: List[Tuple[int, int]] = []  # (expected item, the actual index it would take)
    while stack:
        i, left = stack[-1]
        for j in left:
            if j in seen or not fits(i, j):
                continue
            seen.add(j)
            path.append((i, j))
            if j not in owner:  # a free item: shift every partner along the path
                for item, taken in path:
                    owner[taken] = item
                return True
            stack.append((owner[j], iter(order(owner[j]))))
            break
        else:
            stack.pop()
            if path:
                path.pop()
    return False


# --- plain sub-trees: deepdiff ------------------------------------------------------------


def _plain_enough(expected: Any, at: _At, rules: _Rules) -> bool:
    """deepdiff may compare this sub-tree: no matcher in it, no ignore path below it,
    exact comparison. Its list diff finds inserted and removed items, which an
    index-by-index walk reports as a cascade of changed values."""
    return (rules.use_deepdiff and not rules.includes and not rules.ignores_below(at.apath)
            and _is_plain(expected))


def _is_plain(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _is_plain(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return all(_is_plain(v) for v in value)
    return value is None or isinstance(value, (str, int, float, bool))


_DEEPDIFF_MESSAGES = {  # in English; shown as _(message)
    "dictionary_item_removed": N_("key is missing"),
    "dictionary_item_added": N_("unexpected key"),
    "iterable_item_removed": N_("missing item"),
    "iterable_item_added": N_("unexpected item"),
}


def _deepdiff(expected: Any, actual: Any, at: _At, rules: _Rules) -> Iterator[Difference]:
    if at.apath and _identical(expected, actual):  # (compare() has asked about the whole value)
        return
    try:
        tree = _run_deepdiff(expected, actual)
        levels = [(kind, level) for kind, group in tree.items() for level in group]
        diffs = [d for kind, level in levels for d in _from_deepdiff(kind, level, at)]
    except PatternTimeout:
        raise  # once is enough: the same search would run past the bound again
    except Exception:  # an odd actual object deepdiff cannot walk: compare it ourselves
        yield from _diff(expected, actual, at, replace(rules, use_deepdiff=False))
        return
    # deepdiff groups its report by kind of change; a person reads in the order they wrote
    depth = len(at.apath)
    yield from sorted(diffs, key=lambda d: _written_order(expected, d.path[depth:]))


def _run_deepdiff(expected: Any, actual: Any) -> Any:
    # Imported here, not at the top: its import (~90 ms CPU) is paid only by a run that
    # compares two plain values that are not identical, never by one whose cases all pass.
    from deepdiff import DeepDiff

    try:
        # deepdiff 8 reports two mappings with few keys in common as one changed value;
        # a person wants to hear which keys are missing and which are extra.
        return DeepDiff(expected, actual, view="tree", threshold_to_diff_deeper=0)
    except TypeError:  # deepdiff < 8 has no such option and always looks deeper
        return DeepDiff(expected, actual, view="tree")


def _written_order(expected: Any, rel: Tuple[Key, ...]) -> Tuple[Tuple[int, str], ...]:
    """Sort key of a path: where each step sits in the expected value; steps only the
    actual value has (extra keys, extra items) come after, by name."""
    order = []
    node, known = expected, True
    for part in rel:
        position = _position(node, part) if known else None
        if position is None:
            known = False
            order.append((1 << 30, str(part) if not isinstance(part, int) else f"{part:012d}"))
            continue
        order.append((position, ""))
        node = node[part]
    return tuple(order)


def _position(node: Any, part: Key) -> Optional[int]:
    if isinstance(node, Mapping) and part in node:
        return list(node).index(part)
    if isinstance(node, (list, tuple)) and isinstance(part, int) and 0 <= part < len(node):
        return part
    return None


def _from_deepdiff(kind: str, level: Any, at: _At) -> Iterator[Difference]:
    rel = tuple(level.path(output_format="list"))
    want, got = level.t1, level.t2
    if kind == "type_changes" and is_number(want) and is_number(got) and want == got:
        return  # 1 and 1.0: JSON does not keep the difference, neither do we
    if kind in ("dictionary_item_added", "iterable_item_added"):
        # Only the actual side has this node; the line is its parent's.
        yield _difference(_At(at.apath + rel, at.epath + rel[:-1]), _(_DEEPDIFF_MESSAGES[kind]), Gap.ABSENT, got)
    elif kind in ("dictionary_item_removed", "iterable_item_removed"):
        yield _difference(at.below(rel), _(_DEEPDIFF_MESSAGES[kind]), want, Gap.ABSENT)
    elif kind in ("values_changed", "type_changes"):
        if not same_scalar(want, got):
            yield _leaf_diff(want, got, at.below(rel))
    else:  # set or attribute changes cannot come out of JSON; describe them anyway
        yield _difference(at.below(rel), _("values differ"), want, got)
