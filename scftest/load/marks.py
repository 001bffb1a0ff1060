"""The line and column of every node of a YAML file, kept compactly.

Every problem and every mismatch names its suite line, so the loader records a mark for
each node (and each mapping key) by its path in the document. Kept as a dict of path
tuples to ``Mark`` objects, that came to about 3 KB per case of a generated suite,
which made a 10,000-case suite's loading weigh several times a 1,000-case one's.

Here each item of a top-level list (a case of ``cases:``) is a *part*. A part's marks
are ints in one array per file, in the order they were recorded; its paths, relative to
the part, are its *shape*, and parts that have the same paths (cases written alike:
the same keys, lists of the same lengths) share one shape and its index. Parts that are
also laid out alike (each node on the same line and column counted from the part's first
line: cases written in block style from one template) share the shape's marks too, and a
part then costs its first line and its shape (12 bytes), not a mark per node. Any other
part's marks cost about four bytes per node: 32 bits each while every line and column
fits (a file of up to a million lines, columns up to 4,095), and 64 bits from the first
mark that does not. Everything outside those lists (``function``, ``matrix``, ...) is
kept in a plain dict.

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
    """The relative paths of a part, in recording order, and where each one's mark is;
    ``layout``: the marks of a part of this shape, their lines counted from its first line
    ((line offset << 32) | column: an alias's node can sit lines before it). Shapes of the
    same paths with other layouts share ``paths`` and ``index``."""

    __slots__ = ("paths", "index", "layout")

    def __init__(self, paths: Tuple[NodePath, ...], index: Dict[NodePath, int], layout: Optional[Tuple[int, ...]]):
        self.paths = paths
        self.index = index
        self.layout = layout


def _index(paths: Tuple[NodePath, ...]) -> Dict[NodePath, int]:
    index: Dict[NodePath, int] = {}
    for position, path in enumerate(paths):
        index[path] = position  # a path recorded twice: the later one, as a dict keeps it
    return index


# How many layouts of one shape's paths are kept to share: cases written alike in block
# style have one, in flow style a few (`{n: 5, ok: true}` puts `ok` a column further for
# each digit of n); a part laid out otherwise keeps its own marks.
MAX_LAYOUTS = 8


# Where a part whose shape has a layout has its marks: the layout, not the array.
_LAID_OUT = 0xFFFFFFFF  # above any start (fewer than MAX_NODES marks); fits "I" and "Q" alike
_LAYOUT_COLUMN = (1 << 32) - 1


def _layout(marks: List[Tuple[int, int]]) -> Tuple[int, ...]:
    first = marks[0][0]
    return tuple(((line - first) << 32) | col for line, col in marks)


class _List:
    """The parts of one top-level list: each item's shape, its first line, and where its
    marks start (``_LAID_OUT``: they are its shape's layout from that line)."""

    __slots__ = ("shapes", "starts", "firsts")

    def __init__(self) -> None:
        self.shapes: List[_Shape] = []
        self.starts = array("I" if array("I").itemsize == 4 else "Q")  # < MAX_NODES marks
        self.firsts = array("I" if array("I").itemsize == 4 else "Q")  # a line of the file


class _Store:
    """What a MarkRecorder has recorded, which its PackedMarks reads."""

    __slots__ = ("top", "lists", "packed", "col_bits")

    def __init__(self) -> None:
        self.top: Dict[NodePath, int] = {}  # packed wide
        self.lists: Dict[str, _List] = {}
        self.packed = array(_NARROW[0])  # packed with col_bits
        self.col_bits = _NARROW[1]


class PackedMarks(Mapping[NodePath, Mark]):
    """A path -> Mark mapping kept as a few arrays and shared shapes (see the module).

    It reads its recorder's store as it is: a part's marks are there as soon as the part
    is ended, so cases built while the rest of the file is still being read can already
    name their lines (and keep this mapping, the whole file's)."""

    __slots__ = ("_store",)

    def __init__(self, store: _Store):
        self._store = store

    def get(self, path, default=None):  # type: ignore[override]  # the hot path of SourceMap.at
        store = self._store
        part = _part_of(path)
        if part is not None:
            listed = store.lists.get(part[0])
            if listed is not None and 0 <= part[1] < len(listed.shapes):
                shape = listed.shapes[part[1]]
                position = shape.index.get(path[2:])
                if position is not None:
                    start = listed.starts[part[1]]
                    if start == _LAID_OUT:
                        laid = shape.layout[position]
                        return Mark(listed.firsts[part[1]] + (laid >> 32), laid & _LAYOUT_COLUMN)
                    return _unpack(store.packed[start + position], store.col_bits)
        packed = store.top.get(path)
        return default if packed is None else _unpack(packed)

    def __getitem__(self, path: NodePath) -> Mark:
        mark = self.get(path)
        if mark is None:
            raise KeyError(path)
        return mark

    def __iter__(self) -> Iterator[NodePath]:
        yield from self._store.top
        for key, listed in self._store.lists.items():
            for index, shape in enumerate(listed.shapes):
                for path in shape.paths:
                    yield (key, index) + path

    def __len__(self) -> int:
        store = self._store
        return len(store.top) + sum(len(shape.paths) for listed in store.lists.values() for shape in listed.shapes)

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
    part is packed as soon as the next one starts (or ``end_part`` says it is done), and
    only one part's paths are held at a time. A path that comes back to a part already
    packed (it cannot, from the builder; kept for safety) goes into the plain dict, which
    ``get`` also reads."""

    def __init__(self) -> None:
        self._store = _Store()
        self._shapes: Dict[Tuple[NodePath, ...], List[_Shape]] = {}  # by paths, one a layout
        self._part: Optional[Tuple[str, int]] = None
        self._paths: List[NodePath] = []
        self._marks: List[Tuple[int, int]] = []  # the open part's (line, column)s

    def record(self, path: NodePath, line: int, col: int) -> None:
        part = _part_of(path)
        if part is None:
            self._store.top[path] = _pack(line, col)
            return
        if part != self._part:
            self.end_part()
            if not self._opens(part):
                self._store.top[path] = _pack(line, col)
                return
            self._part = part
        self._paths.append(path[2:])
        self._marks.append((line, col))

    def _widen(self) -> None:
        """From narrow marks to wide ones."""
        store = self._store
        store.packed = _widened(store.packed, store.col_bits)
        store.col_bits = _WIDE[1]

    def _opens(self, part: Tuple[str, int]) -> bool:
        """Whether ``part`` is the next item of its list (items come in order)."""
        listed = self._store.lists.setdefault(part[0], _List())
        return part[1] == len(listed.shapes)

    def end_part(self) -> None:
        """Pack the open part's marks (a case just read), which ``marks`` then gives."""
        if self._part is None:
            return
        paths, marks, store = tuple(self._paths), self._marks, self._store
        shape = self._shape(paths, _layout(marks))
        listed = store.lists[self._part[0]]
        listed.shapes.append(shape)
        listed.firsts.append(marks[0][0])
        if shape.layout is not None:
            listed.starts.append(_LAID_OUT)
        else:
            if not all(_fits(line, col, store.col_bits) for line, col in marks):
                self._widen()
            listed.starts.append(len(store.packed))
            store.packed.extend(_pack(line, col, store.col_bits) for line, col in marks)
        self._part, self._paths, self._marks = None, [], []

    def _shape(self, paths: Tuple[NodePath, ...], layout: Tuple[int, ...]) -> _Shape:
        """The shape of ``paths`` laid out as ``layout``; past MAX_LAYOUTS of them, the one
        of ``paths`` without a layout (its part keeps its own marks)."""
        shapes = self._shapes.get(paths)
        if shapes is None:
            shapes = self._shapes[paths] = [_Shape(paths, _index(paths), None)]  # [0]: no layout
        for shape in shapes[1:]:
            if shape.layout == layout:
                return shape
        if len(shapes) <= MAX_LAYOUTS:
            shapes.append(_Shape(paths, shapes[0].index, layout))
            return shapes[-1]
        return shapes[0]

    def marks(self) -> PackedMarks:
        """Every mark recorded and packed so far, and those packed later: the one mapping
        of a file, which can be handed out before the file is read to its end."""
        return PackedMarks(self._store)

    def packed(self) -> PackedMarks:
        """Every mark recorded; nothing is recorded after this."""
        self.end_part()
        return self.marks()
