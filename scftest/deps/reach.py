"""Which files of a code root the cloud runs, following imports from the handlers' entry files.

A missing import is a problem only where the handler gets to it: in a file its entry file
imports (directly or through other files of the code root) without a guard on the way. A file
reached only through guarded imports (``try: from .cyaml import *`` / ``except ImportError``,
an ``if PY2:``) carries that guard to its own imports; a file no handler reaches (a Python 2
branch of a vendored package, a script beside the code) gives warnings only.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Sequence

from scftest.deps.scan import Import

UNREACHED = "unreached"  # no handler imports the file


def reach(entries: Sequence[Path], imports: Sequence[Import], targets: Callable[[Import], Iterable[Path]],
          excuse: Callable[[Import], str]) -> Dict[Path, str]:
    """File -> how the handlers get to it: ``""`` through unguarded imports only, else the
    excuse of the first guarded import on the best way there. Files not in the result are
    not reached."""
    by_file: Dict[Path, List[Import]] = {}
    for item in imports:
        by_file.setdefault(item.file, []).append(item)
    reached: Dict[Path, str] = {}
    plain = deque(entries)
    guarded: deque = deque()
    while plain:  # first everything the handlers reach without a guard on the way
        file = plain.popleft()
        if file in reached:
            continue
        reached[file] = ""
        for item in by_file.get(file, ()):
            step = excuse(item)
            if step:
                guarded.extend((target, step) for target in targets(item))
            else:
                plain.extend(targets(item))
    while guarded:  # then what only guarded ways reach, each with the first guard on its way
        file, how = guarded.popleft()
        if file in reached:
            continue
        reached[file] = how
        for item in by_file.get(file, ()):
            guarded.extend((target, how) for target in targets(item))
    return reached
