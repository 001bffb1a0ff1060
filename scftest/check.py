"""Judge one invocation record against a case's ``expect``.

``check`` lists every expectation that did not hold, each as a ``Mismatch`` with the
path into the value, short renderings of both sides and the line of the expectation in
the suite file. ``judge`` turns those into a verdict with a one-line summary, and
``format_mismatch`` is the text every reporter prints for one mismatch.

Nothing here may raise out to the runner: whatever the record holds, a fault in the
checker itself becomes an explained ``error`` verdict, never a Python traceback.

Ignore paths (``expect.ignore``), relative to the returned value:
  ``headers.X-Request-Id``   a key; anything but ``.``, ``[``, ``]`` and quotes may be in it
  ``body.items[0].id``       ``[n]`` is a list index (``items.0`` works too)
  ``body.items[*].id``       ``[*]`` any index, ``*`` any key
  ``headers."x.y"``          a key with a dot in it: quote it (``'x.y'`` or ``["x.y"]`` too)
A path copied from a failure report keeps working: ``return.body.id`` means ``body.id``.
"""

from __future__ import annotations

import difflib
import json
import re
import traceback
from dataclasses import dataclass, replace
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

from deepdiff import DeepDiff
from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import SchemaError

from .matchers import JsonMatcher, Matcher, is_number, matches, render_value, same_scalar, short_text, type_word, yaml_quote
from .model import UNSET, Case, LogExpectation, NodePath
from .outcome import CaseOutcome, Mismatch, Verdict
from .record import InvocationRecord

__all__ = ["check", "judge", "format_mismatch", "format_mismatches", "parse_ignore_path", "IgnorePathError",
           "format_path"]

WIDTH = 72  # how many characters of a value a mismatch shows before shortening it
MAX_MISMATCHES = 50  # past this, one line says how many more there were
TRACEBACK_LINES = 40  # the tail of an unexpected traceback that a mismatch carries
_ABSENT = "(absent)"
_MISSING = "(missing)"


# --- paths -------------------------------------------------------------------------------

Key = Union[str, int]


class _Wildcard:
    """``*`` or ``[*]`` in an ignore path: any key or index."""

    def __repr__(self) -> str:
        return "*"


WILDCARD = _Wildcard()


class IgnorePathError(ValueError):
    """An ``ignore`` entry that is not a path."""


_BRACKET = re.compile(r"""\[\s*(?:(\d+)|(\*)|"((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)')\s*\]""")
_KEY = re.compile(r""""((?:[^"\\]|\\.)*)"|'((?:[^']|'')*)'|([^.\[\]"']+)""")


def parse_ignore_path(text: str) -> Tuple[Any, ...]:
    """``body.items[0].id`` -> ("body", "items", 0, "id"); IgnorePathError when malformed."""
    source = text.strip() if isinstance(text, str) else ""
    if not source:
        raise IgnorePathError("an ignore path must name a place in the value, e.g. headers.Date")
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
        f"the ignore path {source!r} cannot be read at character {pos + 1}; write keys with dots "
        "between them and indexes in brackets, e.g. body.items[0].id (quote a key that holds a "
        'dot: headers."x.y")')


def _part_fits(pattern: Any, key: Key) -> bool:
    if pattern is WILDCARD:
        return True
    if isinstance(pattern, int):
        return isinstance(key, int) and not isinstance(key, bool) and pattern == key
    # items.0 is as good as items[0] for a person who does not know the bracket form
    return pattern == key or (isinstance(key, int) and pattern.isdigit() and int(pattern) == key)


def _path_fits(pattern: Tuple[Any, ...], path: Tuple[Key, ...]) -> bool:
    return len(pattern) == len(path) and all(_part_fits(p, k) for p, k in zip(pattern, path))


_PLAIN_KEY = re.compile(r"^[^.\[\]\"'\s]+$")


def format_path(root: str, parts: Iterable[Key]) -> str:
    """("body", "items", 1) under "return" -> ``return.body.items[1]``; odd keys quoted."""
    text = root
    for part in parts:
        if isinstance(part, int) and not isinstance(part, bool):
            text += f"[{part}]"
        elif isinstance(part, str) and _PLAIN_KEY.match(part):
            text += f".{part}" if text else part
        else:
            text += f"[{json.dumps(str(part), ensure_ascii=False)}]"
    return text


# --- rendering ---------------------------------------------------------------------------


def shorten_pair(expected: str, actual: str, width: int = WIDTH) -> Tuple[str, str]:
    """Cut two long texts to the same window around their first difference: ``…abXde…``."""
    if len(expected) <= width and len(actual) <= width:
        return expected, actual
    common = 0
    for a, b in zip(expected, actual):
        if a != b:
            break
        common += 1
    start = max(0, common - width // 3)  # keep some context before the difference
    return _window(expected, start, width), _window(actual, start, width)


def _window(text: str, start: int, width: int) -> str:
    piece = text[start:start + width]
    return ("…" if start > 0 else "") + piece + ("…" if start + width < len(text) else "")


def _article(word: str) -> str:
    if word == "null":
        return "null"
    return ("an " if word[0] in "aeiou" else "a ") + word


# --- value comparison --------------------------------------------------------------------


@dataclass(frozen=True)
class _At:
    """Where the walk is: the path in the actual value, and the path of the expectation
    relative to ``expect`` (for the YAML line). They differ inside return_includes lists,
    where expected item 0 may be found at actual index 3."""

    apath: Tuple[Key, ...]
    epath: NodePath

    def key(self, key: Key) -> "_At":
        return _At(self.apath + (key,), self.epath + (key,))

    def item(self, actual_index: int, expected_index: int) -> "_At":
        return _At(self.apath + (actual_index,), self.epath + (expected_index,))


@dataclass(frozen=True)
class _Diff:
    at: _At
    message: str
    expected: str
    actual: str


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


def _diff(expected: Any, actual: Any, at: _At, rules: _Rules) -> Iterator[_Diff]:
    """Every difference between an expected tree (matchers allowed) and an actual value."""
    if rules.ignored(at.apath):
        return
    if isinstance(expected, JsonMatcher):
        yield from _diff_json(expected, actual, at, rules)
    elif isinstance(expected, Matcher):
        reason = expected.explain(actual)
        if reason is not None:
            yield _Diff(at, reason, repr(expected), short_text(actual, WIDTH))
    elif isinstance(expected, Mapping):
        yield from _diff_mapping(expected, actual, at, rules)
    elif isinstance(expected, (list, tuple)):
        yield from _diff_list(expected, actual, at, rules)
    elif not same_scalar(expected, actual):
        yield _leaf_diff(expected, actual, at)


def _diff_json(expected: JsonMatcher, actual: Any, at: _At, rules: _Rules) -> Iterator[_Diff]:
    # Descend into the decoded JSON so the path names the field that differs (body.id),
    # just as the user wrote it in YAML under the !json tag.
    ok, value = expected.parse(actual)
    if not ok:
        yield _Diff(at, value, repr(expected), short_text(actual, WIDTH))
        return
    yield from _diff(expected.expected, value, at, rules)


def _leaf_diff(expected: Any, actual: Any, at: _At) -> _Diff:
    want, got = type_word(expected), type_word(actual)
    exp_text, act_text = shorten_pair(render_value(expected), render_value(actual))
    if want != got and not (is_number(expected) and is_number(actual)):
        return _Diff(at, f"expected {_article(want)}, got {_article(got)}", exp_text, act_text)
    message = "values differ"
    if isinstance(expected, str) and exp_text != render_value(expected):
        message = f"strings differ from character {_first_difference(expected, actual) + 1}"
    return _Diff(at, message, exp_text, act_text)


def _first_difference(a: str, b: str) -> int:
    for index, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return index
    return min(len(a), len(b))


def _diff_mapping(expected: Mapping, actual: Any, at: _At, rules: _Rules) -> Iterator[_Diff]:
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
            yield _Diff(child, "key is missing", short_text(value, WIDTH), _MISSING)
        else:
            yield from _diff(value, actual[key], child, rules)
    if not rules.includes:
        for key in actual:
            child = _At(at.apath + (key,), at.epath)  # no line of its own: the mapping's
            if key not in expected and not rules.ignored(child.apath):
                yield _Diff(child, "unexpected key", _ABSENT, short_text(actual[key], WIDTH))


def _type_diff(want: str, expected: Any, actual: Any, at: _At) -> _Diff:
    return _Diff(at, f"expected {_article(want)}, got {_article(type_word(actual))}",
                 short_text(expected, WIDTH), short_text(actual, WIDTH))


def _diff_list(expected: Sequence, actual: Any, at: _At, rules: _Rules) -> Iterator[_Diff]:
    if not isinstance(actual, (list, tuple)):
        yield _type_diff("list", expected, actual, at)
    elif rules.includes:
        yield from _diff_list_includes(expected, actual, at, rules)
    elif _plain_enough(expected, at, rules):
        yield from _deepdiff(expected, actual, at, rules)
    else:
        yield from _diff_list_exact(expected, actual, at, rules)


def _diff_list_exact(expected: Sequence, actual: Sequence, at: _At, rules: _Rules) -> Iterator[_Diff]:
    for index, (want, got) in enumerate(zip(expected, actual)):
        yield from _diff(want, got, at.key(index), rules)
    for index in range(len(actual), len(expected)):
        child = at.key(index)
        if not rules.ignored(child.apath):
            yield _Diff(child, "missing item", short_text(expected[index], WIDTH), _MISSING)
    for index in range(len(expected), len(actual)):
        child = _At(at.apath + (index,), at.epath)
        if not rules.ignored(child.apath):
            yield _Diff(child, "unexpected item", _ABSENT, short_text(actual[index], WIDTH))


# --- return_includes lists: each expected item needs its own actual item ------------------


ASSIGNMENT_LIMIT = 2500  # item pairs up to which a failure report searches the best pairing


def _diff_list_includes(expected: Sequence, actual: Sequence, at: _At, rules: _Rules) -> Iterator[_Diff]:
    known: Dict[Tuple[int, int], bool] = {}

    def fits(i: int, j: int) -> bool:
        if (i, j) not in known:
            known[(i, j)] = next(_diff(expected[i], actual[j], at.item(j, i), rules), None) is None
        return known[(i, j)]

    if len(_max_matching(len(expected), len(actual), fits)) == len(expected):
        return
    # Some expected item has no partner. Show each one against the most similar item left
    # over: that is usually the item the user meant, and its field-level diff says more
    # than "not found".
    for i, j in _closest_partners(expected, actual, at, rules, fits):
        if j is None:
            yield _Diff(_At(at.apath, at.epath + (i,)), f"expected item [{i}] is not in the list",
                        short_text(expected[i], WIDTH), short_text(actual, WIDTH))
            continue
        note = f" (closest item to expected item [{i}])"
        for diff in _diff(expected[i], actual[j], at.item(j, i), rules):
            yield replace(diff, message=diff.message + note)


def _closest_partners(expected: Sequence, actual: Sequence, at: _At, rules: _Rules,
                      fits: Callable[[int, int], bool]) -> List[Tuple[int, Optional[int]]]:
    """(expected index, actual index or None) for every expected item left without a match.

    The pairing keeps as many matches as possible and, among those, gives the unmatched
    items the most similar leftovers (a min-cost assignment). Huge lists fall back to
    taking the closest leftover item by item.
    """
    m, n = len(expected), len(actual)

    def distance(i: int, j: int) -> int:
        kind, count, gap = _distance(expected[i], actual[j], at.item(j, i), rules, i, j)
        return kind * 10**6 + min(count, 999) * 10**3 + min(gap, 999)

    if m * max(n, 1) > ASSIGNMENT_LIMIT:
        return _greedy_partners(m, n, fits, distance)
    miss = 2 * 10**6 * (m + 1)  # one more match always outweighs any sum of distances
    cost = [[0 if fits(i, j) else miss + distance(i, j) for j in range(n)] + [2 * miss] * max(0, m - n)
            for i in range(m)]
    chosen = _min_cost_assignment(cost)
    return [(i, j if j < n else None) for i, j in enumerate(chosen) if j >= n or not fits(i, j)]


def _greedy_partners(m: int, n: int, fits: Callable[[int, int], bool],
                     distance: Callable[[int, int], int]) -> List[Tuple[int, Optional[int]]]:
    pairs = _max_matching(m, n, fits)
    free = [j for j in range(n) if j not in set(pairs.values())]
    partners: List[Tuple[int, Optional[int]]] = []
    for i in (i for i in range(m) if i not in pairs):
        j = min(free, key=lambda j: distance(i, j)) if free else None
        if j is not None:
            free.remove(j)
        partners.append((i, j))
    return partners


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


def _max_matching(m: int, n: int, fits: Callable[[int, int], bool]) -> Dict[int, int]:
    """Maximum bipartite matching (Kuhn's augmenting paths): expected index -> actual index.

    Greedy first fit fails on ``[!any, {id: 1}]`` against ``[{id: 1}, {id: 2}]``: ``!any``
    would take ``{id: 1}`` and leave nothing for the second item. Augmenting paths let an
    earlier item give its partner up when it has another one. ``fits`` should remember
    its answers: a pair may be asked about more than once.
    """
    owner: Dict[int, int] = {}  # actual index -> expected index

    def augment(i: int, seen: set) -> bool:
        # Try the same position first, so in-order lists pair up the obvious way.
        order = ([i] if i < n else []) + [j for j in range(n) if j != i]
        for j in order:
            if j in seen or not fits(i, j):
                continue
            seen.add(j)
            if j not in owner or augment(owner[j], seen):
                owner[j] = i
                return True
        return False

    for i in range(m):
        augment(i, set())
    return {i: j for j, i in owner.items()}


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


_DEEPDIFF_MESSAGES = {
    "dictionary_item_removed": "key is missing",
    "dictionary_item_added": "unexpected key",
    "iterable_item_removed": "missing item",
    "iterable_item_added": "unexpected item",
}


def _deepdiff(expected: Any, actual: Any, at: _At, rules: _Rules) -> Iterator[_Diff]:
    try:
        tree = _run_deepdiff(expected, actual)
        levels = [(kind, level) for kind, group in tree.items() for level in group]
        diffs = [d for kind, level in levels for d in _from_deepdiff(kind, level, at)]
    except Exception:  # an odd actual object deepdiff cannot walk: compare it ourselves
        yield from _diff(expected, actual, at, replace(rules, use_deepdiff=False))
        return
    # deepdiff groups its report by kind of change; a person reads in the order they wrote
    depth = len(at.apath)
    yield from sorted(diffs, key=lambda d: _written_order(expected, d.at.apath[depth:]))


def _run_deepdiff(expected: Any, actual: Any) -> Any:
    try:
        # deepdiff 8 reports two mappings with few keys in common as one changed value;
        # a person wants to hear which keys are missing and which are extra.
        return DeepDiff(expected, actual, view="tree", threshold_to_diff_deeper=0)
    except TypeError:  # deepdiff < 8 has no such option and always looks deeper
        return DeepDiff(expected, actual, view="tree")


def _sort_key(path: Tuple[Key, ...]) -> Tuple[Tuple[int, Any], ...]:
    return tuple((0, p) if isinstance(p, int) else (1, str(p)) for p in path)


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


def _from_deepdiff(kind: str, level: Any, at: _At) -> Iterator[_Diff]:
    rel = tuple(level.path(output_format="list"))
    want, got = level.t1, level.t2
    if kind == "type_changes" and is_number(want) and is_number(got) and want == got:
        return  # 1 and 1.0: JSON does not keep the difference, neither do we
    if kind in ("dictionary_item_added", "iterable_item_added"):
        # Only the actual side has this node; the line is its parent's.
        yield _Diff(_At(at.apath + rel, at.epath + rel[:-1]), _DEEPDIFF_MESSAGES[kind],
                    _ABSENT, short_text(got, WIDTH))
    elif kind in ("dictionary_item_removed", "iterable_item_removed"):
        yield _Diff(at_rel(at, rel), _DEEPDIFF_MESSAGES[kind], short_text(want, WIDTH), _MISSING)
    elif kind in ("values_changed", "type_changes"):
        if not same_scalar(want, got):
            yield _leaf_diff(want, got, at_rel(at, rel))
    else:  # set or attribute changes cannot come out of JSON; describe them anyway
        yield _Diff(at_rel(at, rel), "values differ", short_text(want, WIDTH), short_text(got, WIDTH))


def at_rel(at: _At, rel: Tuple[Key, ...]) -> _At:
    return _At(at.apath + rel, at.epath + rel)


# --- the keys of expect ------------------------------------------------------------------


@dataclass(frozen=True)
class _Finding:
    """A mismatch and the short phrase the case's one-line summary would use for it."""

    mismatch: Mismatch
    summary: str


@dataclass(frozen=True)
class _Context:
    case: Case
    record: InvocationRecord
    failed: bool  # the status was not the expected one: values would only add noise

    @property
    def expect(self):
        return self.case.expect

    def line(self, epath: NodePath) -> Optional[int]:
        """The suite line of the expectation at ``epath`` (relative to ``expect``)."""
        if not self.expect.path:  # no expect in the file: the case itself is the place
            return self.case.line
        return self.case.source.at(tuple(self.expect.path) + tuple(epath)).line

    def finding(self, path: str, message: str, expected: str, actual: str, epath: NodePath,
                summary: Optional[str] = None) -> _Finding:
        mismatch = Mismatch(path=path, message=message, expected=expected, actual=actual,
                            line=self.line(epath))
        return _Finding(mismatch, summary or f"{path}: {message}")


def _check_status(ctx: _Context) -> List[_Finding]:
    expect, record = ctx.expect, ctx.record
    want = expect.expected_status
    got = getattr(record, "status", None)
    if got == want:
        return []
    detail = _failure_detail(record) if got != "success" else ""
    message = f"expected {want}, got {got}" + (f": {detail}" if detail else "")
    actual = str(got) + (f": {detail}" if detail else "")
    returned = getattr(record, "return_value", UNSET)
    if got == "success" and returned is not UNSET:  # what came back instead of the failure
        actual += f", returned {short_text(returned, WIDTH - 20)}"
    trace = _traceback_tail(record)
    if trace:
        actual += "\n" + trace
    key = "status" if expect.status is not UNSET or expect.error is UNSET else "error"
    return [ctx.finding(key, message, str(want), actual, (key,), summary=message)]


# Conditions the platform or scftest reports (timeout, memory, exit) rather than a
# Python exception of the handler; the executor names them scf.Timeout and the like.
_PLATFORM_PREFIXES = ("scf.", "scftest.")


def _failure_detail(record: InvocationRecord) -> str:
    """What went wrong, in one line: the exception, the timeout text, the exit."""
    error = getattr(record, "error", None)
    if error is not None:
        kind = getattr(error, "type", "") or ""
        text = _first_line(getattr(error, "message", "") or "")
        qualified = getattr(error, "qualified_type", "") or ""
        if qualified.startswith(_PLATFORM_PREFIXES) and text:
            return text  # "Invoking task timed out…" needs no "Timeout:" before it
        return f"{kind}: {text}" if kind and text else (kind or text)
    exit_code, signal = getattr(record, "exit_code", None), getattr(record, "signal", None)
    if signal:
        return f"the process was killed by {signal}"
    ret_msg = getattr(record, "ret_msg", None)
    if ret_msg:
        return _first_line(str(ret_msg))
    if exit_code not in (None, 0):
        return f"the process exited with code {exit_code}"
    return ""


def _first_line(text: str, width: int = 100) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= width else line[: width - 1] + "…"


def _traceback_tail(record: InvocationRecord) -> str:
    error = getattr(record, "error", None)
    trace = (getattr(error, "traceback", "") or "").rstrip() if error is not None else ""
    lines = trace.splitlines()
    if len(lines) > TRACEBACK_LINES:  # the innermost frames are the ones that matter
        lines = [f"… {len(lines) - TRACEBACK_LINES} lines of traceback left out"] + lines[-TRACEBACK_LINES:]
    return "\n".join(lines)


def _check_error(ctx: _Context) -> List[_Finding]:
    wanted = ctx.expect.error
    if not isinstance(wanted, Mapping) or ctx.failed:
        return []
    error = getattr(ctx.record, "error", None)
    if error is None:
        return [ctx.finding("error", "the invocation failed but no exception was recorded",
                            short_text(wanted, WIDTH), "(none)", ("error",))]
    found: List[_Finding] = []
    if "type" in wanted and wanted["type"] is not None:
        found += _check_error_type(ctx, wanted["type"], error)
    for field in ("message", "traceback"):
        if field in wanted and wanted[field] is not None:
            found += _check_error_text(ctx, field, wanted[field], getattr(error, field, "") or "")
    return found


def _check_error_type(ctx: _Context, wanted: Any, error: Any) -> List[_Finding]:
    short, qualified = getattr(error, "type", "") or "", getattr(error, "qualified_type", "") or ""
    if isinstance(wanted, Matcher):
        ok = wanted.match(short) or wanted.match(qualified)
    else:
        name = str(wanted).strip()
        # short (NotFound), qualified (myapp.errors.NotFound) or any dotted tail (errors.NotFound)
        ok = name in (short, qualified) or qualified.endswith("." + name)
    if ok:
        return []
    actual = short + (f" ({qualified})" if qualified and qualified != short else "")
    expected = repr(wanted) if isinstance(wanted, Matcher) else str(wanted)
    message = "the exception is of another type"
    return [ctx.finding("error.type", message, expected, actual, ("error", "type"),
                        summary=f"expected {expected}, got {_failure_detail(ctx.record)}")]


def _check_error_text(ctx: _Context, field: str, wanted: Any, actual: str) -> List[_Finding]:
    path, epath = f"error.{field}", ("error", field)
    if isinstance(wanted, Matcher):
        reason = wanted.explain(actual)
        if reason is None:
            return []
        return [ctx.finding(path, reason, repr(wanted), _tail_text(actual, field), epath)]
    pattern = str(wanted)
    try:
        found = re.search(pattern, actual, re.MULTILINE)
    except re.error as exc:
        return [ctx.finding(path, f"{yaml_quote(pattern)} is not a valid regular expression ({exc})",
                            f"regex {yaml_quote(pattern)}", "(not checked)", epath)]
    if found:
        return []
    return [ctx.finding(path, f"the pattern is not found in the exception {field}",
                        f"regex {yaml_quote(pattern)}", _tail_text(actual, field), epath)]


def _tail_text(text: str, field: str) -> str:
    """A traceback's last line names the exception; a message reads from its start."""
    if field == "traceback":
        lines = text.strip().splitlines()
        return render_value(lines[-1]) if lines else '""'
    return short_text(text, WIDTH)


def _return_problem(ctx: _Context, key: str) -> Optional[List[_Finding]]:
    """Why ``key`` cannot be compared with the returned value, if it cannot; else None."""
    if ctx.case.invocation != "sync":
        return [ctx.finding(key, f"{key} cannot be checked: an async caller never receives the "
                                 "return value (use ret_msg)", "", "", (key,))]
    if ctx.failed:
        return []  # the status mismatch already says what happened
    if getattr(ctx.record, "return_value", UNSET) is UNSET:
        status = getattr(ctx.record, "status", "?")
        return [ctx.finding("return", f"the invocation returned no value (status {status})",
                            "a return value", "(none)", (key,))]
    return None


def _check_return(ctx: _Context) -> List[_Finding]:
    return _check_value(ctx, "return", ctx.expect.return_, includes=False)


def _check_return_includes(ctx: _Context) -> List[_Finding]:
    return _check_value(ctx, "return_includes", ctx.expect.return_includes, includes=True)


def _check_value(ctx: _Context, key: str, expected: Any, includes: bool) -> List[_Finding]:
    if expected is UNSET:
        return []
    problem = _return_problem(ctx, key)
    if problem is not None:
        return problem
    ignore, found = _ignore_patterns(ctx)
    rules = _Rules(includes=includes, ignore=ignore)
    diffs = _diff(expected, ctx.record.return_value, _At((), (key,)), rules)
    return found + [_value_finding(ctx, "return", d) for d in diffs]


def _value_finding(ctx: _Context, root: str, diff: _Diff) -> _Finding:
    path = format_path(root, diff.at.apath)
    where = format_path("", diff.at.apath)
    summary = f"{root} differs at {where}" if where else f"{root} differs"
    return ctx.finding(path, diff.message, diff.expected, diff.actual, diff.at.epath, summary)


def _ignore_patterns(ctx: _Context) -> Tuple[Tuple[Tuple[Any, ...], ...], List[_Finding]]:
    patterns, found = [], []
    for index, text in enumerate(ctx.expect.ignore or ()):
        try:
            pattern = parse_ignore_path(text)
        except IgnorePathError as exc:
            found.append(ctx.finding(f"ignore[{index}]", str(exc), "", "", ("ignore", index)))
            continue
        patterns.append(pattern)
        if len(pattern) > 1 and pattern[0] == "return":
            # A path copied from a failure report (return.body.id) means body.id.
            patterns.append(pattern[1:])
    return tuple(patterns), found


def _check_return_schema(ctx: _Context) -> List[_Finding]:
    schema = ctx.expect.return_schema
    if schema is UNSET:
        return []
    problem = _return_problem(ctx, "return_schema")
    if problem is not None:
        return problem
    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:
        return [ctx.finding("return_schema", f"not a valid JSON Schema: {_first_line(exc.message)}",
                            "", "", ("return_schema",) + tuple(exc.absolute_path))]
    odd = _not_json(ctx.record.return_value, ())
    if odd is not None:  # JSON Schema speaks about JSON data only; say so instead of guessing
        where, value = odd
        return [ctx.finding(format_path("return", where), "not JSON data, so return_schema cannot "
                            f"check it (a Python {type(value).__name__})", "JSON data",
                            f"<{type(value).__name__}>", ("return_schema",))]
    validator = Draft202012Validator(schema, format_checker=FormatChecker())
    errors = sorted(validator.iter_errors(ctx.record.return_value),
                    key=lambda e: (_sort_key(tuple(e.absolute_path)), list(map(str, e.absolute_schema_path))))
    return [_schema_finding(ctx, e) for e in errors]


def _not_json(value: Any, where: Tuple[Key, ...]) -> Optional[Tuple[Tuple[Key, ...], Any]]:
    """The first place in ``value`` that holds something JSON cannot, with that thing."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                return where + (key,), key
            found = _not_json(item, where + (key,))
            if found is not None:
                return found
        return None
    if isinstance(value, list):
        for index, item in enumerate(value):
            found = _not_json(item, where + (index,))
            if found is not None:
                return found
        return None
    plain = value is None or isinstance(value, (str, int, float, bool))
    return None if plain else (where, value)


def _schema_finding(ctx: _Context, error: Any) -> _Finding:
    where = tuple(error.absolute_path)
    path = format_path("return", where)
    rule = f"{error.validator}: {short_text(error.validator_value, WIDTH - 20)}"
    epath = ("return_schema",) + tuple(error.absolute_schema_path)
    summary = "return does not match return_schema" + (f" at {format_path('', where)}" if where else "")
    return ctx.finding(path, f"schema: {_first_line(error.message)}", rule,
                       short_text(error.instance, WIDTH), epath, summary)


def _check_ret_msg(ctx: _Context) -> List[_Finding]:
    expected = ctx.expect.ret_msg
    if expected is UNSET or ctx.failed:
        return []
    actual = getattr(ctx.record, "ret_msg", None)
    if actual is None:
        return [ctx.finding("ret_msg", "no ret_msg was recorded", short_text(expected, WIDTH),
                            "(none)", ("ret_msg",))]
    diffs = list(_diff(expected, actual, _At((), ("ret_msg",)), _Rules()))
    if diffs and _is_the_decoded_value(expected, actual):
        # ret_msg is text: `ret_msg: Hello` against the text "Hello" (quotes included) is
        # the commonest slip; say how to write it instead of only "values differ".
        written = f"ret_msg: {yaml_quote(actual)}" if len(actual) <= 40 else "the JSON text exactly"
        hint = f"ret_msg is JSON text: write {written}, or use !json"
        diffs = [replace(diffs[0], message=f"{diffs[0].message} ({hint})")]
    return [_value_finding(ctx, "ret_msg", d) for d in diffs]


def _is_the_decoded_value(expected: Any, actual: str) -> bool:
    if isinstance(expected, Matcher):
        return False
    try:
        return matches(expected, json.loads(actual))
    except ValueError:
        return False


def _check_log(ctx: _Context) -> List[_Finding]:
    log = getattr(ctx.record, "log", "") or ""
    found: List[_Finding] = []
    for index, entry in enumerate(ctx.expect.log or ()):
        found += _check_log_entry(ctx, index, entry, log)
    return found


def _check_log_entry(ctx: _Context, index: int, entry: LogExpectation, log: str) -> List[_Finding]:
    path, epath = f"log[{index}]", _log_epath(ctx, index, entry)
    kind, pattern = entry.kind, str(entry.pattern)  # `- 42` in YAML means the text 42
    if kind in ("regex", "absent_regex"):
        try:
            hit = re.search(pattern, log, re.MULTILINE)  # ^ and $ work line by line
        except re.error as exc:
            return [ctx.finding(path, f"{yaml_quote(pattern)} is not a valid regular expression ({exc})",
                                f"regex {yaml_quote(pattern)}", "(not checked)", epath)]
        span = hit.span() if hit else None
    else:
        at = log.find(pattern)
        span = (at, at + len(pattern)) if at >= 0 else None
    # Regexes are shown as written in YAML ('\d+'); JSON quoting would double backslashes.
    shown = render_value(pattern) if kind in ("contains", "absent") else f"regex {yaml_quote(pattern)}"
    brief = shown if len(shown) <= 50 else shown[:49] + "…"
    if kind in ("contains", "regex") and span is None:
        what = "text" if kind == "contains" else "pattern"
        return [ctx.finding(path, f"{what} not found in the log", shown, _closest_line(log, pattern), epath,
                            summary=f"{path}: {what} not found in the log: {brief}")]
    if kind in ("absent", "absent_regex") and span is not None:
        return [ctx.finding(path, "found in the log, but must be absent", f"no {shown}",
                            _line_around(log, span), epath,
                            summary=f"{path}: the log has {brief}, which must be absent")]
    if kind not in ("contains", "regex", "absent", "absent_regex"):
        return [ctx.finding(path, f"unknown kind of log entry: {kind}", "", "", epath)]
    return []


def _log_epath(ctx: _Context, index: int, entry: LogExpectation) -> NodePath:
    """The entry's place relative to ``expect`` (its own path may be absolute)."""
    own, base = tuple(entry.path or ()), tuple(ctx.expect.path)
    if own and base and own[: len(base)] == base:
        return own[len(base):]
    return own if own and own[0] == "log" else ("log", index)


def _closest_line(log: str, pattern: str) -> str:
    lines = [line for line in log.splitlines() if line.strip()]
    if not lines:
        return "(the log is empty)"
    close = difflib.get_close_matches(pattern, lines, n=1, cutoff=0.6)
    if not close:
        return f"(not in the {len(lines)} lines of the log)"
    return "closest line: " + short_text(close[0].strip(), WIDTH)


def _line_around(log: str, span: Tuple[int, int]) -> str:
    """The log line that holds the match, shortened around it."""
    start = log.rfind("\n", 0, span[0]) + 1
    end = log.find("\n", span[1])
    line = log[start: end if end >= 0 else len(log)]
    offset = span[0] - start
    if len(line) <= WIDTH:
        return render_value(line)
    begin = max(0, offset - WIDTH // 3)
    return render_value(_window(line, begin, WIDTH))


def _check_budgets(ctx: _Context) -> List[_Finding]:
    found: List[_Finding] = []
    budgets = (("duration_ms", "duration_ms", "ms", "took"), ("memory_mb", "max_memory_mb", "MB", "used"))
    for key, field, unit, verb in budgets:
        budget = getattr(ctx.expect, key)
        if budget is UNSET or budget is None:
            continue
        limit = budget.get("max") if isinstance(budget, Mapping) else budget
        epath = (key, "max") if isinstance(budget, Mapping) else (key,)
        if not is_number(limit):
            found.append(ctx.finding(key, f"the budget must be {{max: N}}, got {render_value(budget)}",
                                     "", "", (key,)))
            continue
        used = getattr(ctx.record, field, None)
        if is_number(used) and used > limit:
            words = f"{verb} {_amount(used)} {unit}, over the budget of {_amount(limit)} {unit}"
            found.append(ctx.finding(key, words, f"at most {_amount(limit)} {unit}",
                                     f"{_amount(used)} {unit}", epath, summary=words))
    return found


def _amount(value: float) -> str:
    return f"{value:.6g}"  # 1520.4, 130, 0.001: as precise as the budget was written


# --- check, judge, format ----------------------------------------------------------------

# In the order a person reads a failure: did it end as expected, then how, then what.
_CHECKS = (
    ("error", _check_error),
    ("return", _check_return),
    ("return_includes", _check_return_includes),
    ("return_schema", _check_return_schema),
    ("ret_msg", _check_ret_msg),
    ("log", _check_log),
    ("budgets", _check_budgets),
)


@dataclass(frozen=True)
class _Internal:
    """A fault of scftest's own checker while checking one key."""

    key: str
    error: str
    details: str


def _collect(case: Case, record: InvocationRecord) -> Tuple[List[_Finding], List[_Internal]]:
    findings: List[_Finding] = []
    faults: List[_Internal] = []
    ctx = _Context(case, record, failed=False)
    for key, run in (("status", _check_status),) + _CHECKS:
        try:
            found = run(ctx)
        except Exception as exc:  # a checker bug must become an explanation, not a crash
            faults.append(_Internal(key, f"{type(exc).__name__}: {exc}", traceback.format_exc()))
            continue
        # return and return_includes may both say "no value was returned": once is enough
        seen = {f.mismatch for f in findings}
        findings.extend(f for f in found if f.mismatch not in seen)
        if key == "status" and found:
            ctx = replace(ctx, failed=True)
    return findings, faults


def _capped(findings: List[_Finding]) -> List[_Finding]:
    if len(findings) <= MAX_MISMATCHES:
        return findings
    more = len(findings) - MAX_MISMATCHES
    note = Mismatch(path="expect", message=f"{more} more mismatches not shown")
    return findings[:MAX_MISMATCHES] + [_Finding(note, note.message)]


def _fault_mismatch(fault: _Internal) -> Mismatch:
    return Mismatch(path=fault.key, message=f"scftest could not check {fault.key} "
                                            f"(internal error: {fault.error})")


def check(case: Case, record: InvocationRecord) -> Tuple[Mismatch, ...]:
    """Every expectation of ``case`` that ``record`` does not meet, in reading order."""
    try:
        findings, faults = _collect(case, record)
    except Exception as exc:  # pragma: no cover - _collect already guards each key
        return (Mismatch(path="expect", message=f"scftest could not check this case "
                                                f"(internal error: {type(exc).__name__}: {exc})"),)
    return tuple(f.mismatch for f in _capped(findings)) + tuple(_fault_mismatch(f) for f in faults)


def judge(case: Case, record: InvocationRecord, elapsed_s: float = 0.0) -> CaseOutcome:
    """The verdict: passed, failed, or for an xfail case xfailed / xpassed.

    A fault in the checker itself is an ``error`` verdict (scftest could not judge),
    never an exception out of here.
    """
    try:
        findings, faults = _collect(case, record)
        findings = _capped(findings)
    except Exception as exc:  # pragma: no cover - _collect already guards each key
        findings, faults = [], [_Internal("expect", f"{type(exc).__name__}: {exc}", traceback.format_exc())]
    outcome = CaseOutcome(case=case, verdict=Verdict.PASSED, record=record, elapsed_s=elapsed_s,
                          mismatches=tuple(f.mismatch for f in findings))
    if faults:
        first = faults[0]
        return replace(outcome, verdict=Verdict.ERROR,
                       summary=f"scftest could not check {first.key}: {first.error}",
                       mismatches=outcome.mismatches + tuple(_fault_mismatch(f) for f in faults),
                       details="\n".join(f.details for f in faults))
    summary = _summary(findings)
    xfail = case.xfail
    if xfail is not None and xfail is not False:
        reason = str(xfail).strip() if isinstance(xfail, str) and xfail.strip() else "expected to fail"
        if findings:
            return replace(outcome, verdict=Verdict.XFAILED, summary=f"{summary} (xfail: {reason})")
        return replace(outcome, verdict=Verdict.XPASSED, summary=f"passed, but is marked xfail: {reason}")
    if findings:
        return replace(outcome, verdict=Verdict.FAILED, summary=summary)
    return outcome


def _summary(findings: List[_Finding]) -> str:
    if not findings:
        return ""
    text = findings[0].summary
    more = len(findings) - 1
    return text + (f" (+{more} more)" if more else "")


def format_mismatch(m: Mismatch) -> str:
    """The text reports show for one mismatch::

        return.body.items[1].id (suite line 42): values differ
          expected: 2
          actual:   3
    """
    where = f" (suite line {m.line})" if m.line else ""
    lines = [f"{m.path}{where}: {m.message}"]
    for label, value in (("expected", m.expected), ("actual", m.actual)):
        if value:
            lines.append(_labelled(label, value))
    return "\n".join(lines)


def _labelled(label: str, value: str) -> str:
    head = f"  {label + ':':<10}"  # "  expected: " and "  actual:   " line up
    rest = value.splitlines() or [""]
    pad = "\n" + " " * len(head)
    return head + pad.join(rest)


def format_mismatches(mismatches: Iterable[Mismatch]) -> str:
    """All mismatches of a case, one block each."""
    return "\n".join(format_mismatch(m) for m in mismatches)
