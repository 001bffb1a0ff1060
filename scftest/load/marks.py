"""The line and column of every node of a YAML file, kept compactly.

Every problem and every mismatch names its suite line, so the loader records a mark for
each node (and each mapping key) by its path in the document. Kept as a dict of path
tuples to ``Mark`` objects, that came to about 3 KB per case of a generated suite,
which made a 10,000-case suite's loading weigh several times a 1,000-case one's.

Here each item of a top-level list (a case of ``cases:``) is a *part*. A part's marks
are ints in one array per file, in the order they were recorded; its paths, relative to
the part, are its *shape*, and parts that have the same paths (cases written alike:
the same keys, lists of the same lengths) share one shape and its index. What a case
costs is then about four bytes per node: a part's marks are kept in 32 bits each while
every line and column fits (a file of up to a million lines, columns up to 4,095), and in
64 bits from the first mark that does not. Everything outside those lists (``function``,
``matrix``, ...) is kept in a plain dict.

``PackedMarks`` is a read-only mapping from path to ``Mark``, so ``SourceMap`` reads
it the way it reads a dict.
"""

from __future__ import annotations

import collections.abc
from array import array
from typing import Dict, Iterator, List, Mapping, Optional, Tuple

from scftest.model import Mark, NodePath

# A mark in one int: the line above the low bits, the column in them. Wide: 32 bits for the
# column, an array of 64-bit items; narrow: 12 bits for the column and 20 for the line, 32-bit items.
_WIDE = ("Q", 32)
_NARROW = ("I", 12) if array("I").itemsize == 4 else _WIDE
_NARROW_LINES = 1 << (32 - _NARROW[1])


def _pack(line: int, col: int, col_bits: int = _WIDE[1]) -> int:
    return (line << col_bits) | col


def _unpack(packed: int, col_bits: int = _WIDE[1]) -> Mark:
    return Mark(packed >> col_bits, packed & ((1 << col_bits) - 1))


def _fits(line: int, col: int, col_bits: int) -> bool:
    return col_bits == _WIDE[1] or (line < _NARROW_LINES and col < 1 << col_bits)


def _widened(packed: "array[int]", col_bits: int) -> "array[int]":
    """``packed`` (marks packed with ``col_bits``) as a wide array."""
    return array(_WIDE[0], (_pack(*divmod(value, 1 << col_bits)) for value in packed))


def _part_of(path: NodePath) -> Optional[Tuple[str, int]]:
    """(top-level key, index) when ``path`` leads into an item of a top-level list."""
    if len(path) >= 2 and type(path[1]) is int and isinstance(path[0], str):  # bool is no index
        return path[0], path[1]
    return None


class _Shape:
    """The relative paths of a part, in recording order, and where each one's mark is."""

    __slots__ = ("paths", "index")

    def __init__(self, paths: Tuple[NodePath, ...]):
        self.paths = paths
        self.index: Dict[NodePath, int] = {}
        for position, path in enumerate(paths):
            self.index[path] = position  # a path recorded twice: the later one, as a dict keeps it


class _List:
    """The parts of one top-level list: each item's shape and where its marks start."""

    __slots__ = ("shapes", "starts")

    def __init__(self) -> None:
        self.shapes: List[_Shape] = []
        self.starts = array("I" if array("I").itemsize == 4 else "Q")  # < MAX_NODES marks


class PackedMarks(Mapping[NodePath, Mark]):
    """A path -> Mark mapping kept as a few arrays and shared shapes (see the module)."""

    __slots__ = ("_top", "_lists", "_packed", "_col_bits")

    def __init__(self, top: Dict[NodePath, int], lists: Dict[str, _List], packed: "array[int]",
                 col_bits: int = _WIDE[1]):
        self._top = top  # packed wide
        self._lists = lists
        self._packed = packed  # packed with col_bits
        self._col_bits = col_bits

    def get(self, path, default=None):  # type: ignore[override]  # the hot path of SourceMap.at
        part = _part_of(path)
        if part is not None:
            listed = self._lists.get(part[0])
            if listed is not None and 0 <= part[1] < len(listed.shapes):
                position = listed.shapes[part[1]].index.get(path[2:])
                if position is not None:
                    return _unpack(self._packed[listed.starts[part[1]] + position], self._col_bits)
        packed = self._top.get(path)
        return default if packed is None else _unpack(packed)

    def __getitem__(self, path: NodePath) -> Mark:
        mark = self.get(path)
        if mark is None:
            raise KeyError(path)
        return mark

    def __iter__(self) -> Iterator[NodePath]:
        yield from self._top
        for key, listed in self._lists.items():
            for index, shape in enumerate(listed.shapes):
                for path in shape.paths:
                    yield (key, index) + path

    def __len__(self) -> int:
        return len(self._top) + sum(len(shape.paths) for listed in self._lists.values() for shape in listed.shapes)

    def __contains__(self, path) -> bool:
        return self.get(path) is not None

    def __eq__(self, other) -> bool:
        # Cases compare their SourceMap: the one they share is equal at once.
        return self is other or collections.abc.Mapping.__eq__(self, other)

    __hash__ = None  # type: ignore[assignment]  # a mapping, like the dict it replaces

    def __repr__(self) -> str:
        return f"PackedMarks({len(self)} marks)"


class MarkRecorder:
    """Collects marks in document order and packs them into a ``PackedMarks``.

    A part's marks come in one run (the builder walks the document depth first), so a
    part is packed as soon as the next one starts, and only one part's paths are held
    at a time. A path that comes back to a part already packed (it cannot, from the
    builder; kept for safety) goes into the plain dict, which ``get`` also reads."""

    def __init__(self) -> None:
        self._top: Dict[NodePath, int] = {}
        self._lists: Dict[str, _List] = {}
        self._packed = array(_NARROW[0])
        self._col_bits = _NARROW[1]  # how self._packed and self._values are packed
        self._shapes: Dict[Tuple[NodePath, ...], _Shape] = {}
        self._part: Optional[Tuple[str, int]] = None
        self._paths: List[NodePath] = []
        self._values: List[int] = []

    def record(self, path: NodePath, line: int, col: int) -> None:
        part = _part_of(path)
        if part is None:
            self._top[path] = _pack(line, col)
            return
        if part != self._part:
            self._close()
            if not self._opens(part):
                self._top[path] = _pack(line, col)
                return
            self._part = part
        if not _fits(line, col, self._col_bits):
            self._widen()
        self._paths.append(path[2:])
        self._values.append(_pack(line, col, self._col_bits))

    def _widen(self) -> None:
        """From narrow marks to wide ones, those packed and the open part's alike."""
        self._packed = _widened(self._packed, self._col_bits)
        self._values = list(_widened(array(_NARROW[0], self._values), self._col_bits))
        self._col_bits = _WIDE[1]

    def _opens(self, part: Tuple[str, int]) -> bool:
        """Whether ``part`` is the next item of its list (items come in order)."""
        listed = self._lists.setdefault(part[0], _List())
        return part[1] == len(listed.shapes)

    def _close(self) -> None:
        if self._part is None:
            return
        paths = tuple(self._paths)
        shape = self._shapes.get(paths)
        if shape is None:
            shape = self._shapes[paths] = _Shape(paths)
        listed = self._lists[self._part[0]]
        listed.shapes.append(shape)
        listed.starts.append(len(self._packed))
        self._packed.extend(self._values)
        self._part, self._paths, self._values = None, [], []

    def packed(self) -> PackedMarks:
        """Every mark recorded so far; the recorder is not used after this."""
        self._close()
        lists = {key: listed for key, listed in self._lists.items() if listed.shapes}
        return PackedMarks(self._top, lists, self._packed, self._col_bits)
