"""Where a report goes: a file (written whole or not at all), standard output, or a
FIFO or device that is written as it stands.

- ``-``, and any path that is the runner's own standard output or error
  (``/dev/stdout``, ``/dev/fd/1``), goes to that stream: opening ``/dev/stdout`` afresh
  would truncate the file the shell redirected it to.
- A symlink is written through: its target gets the report, the link stays a link.
- An existing FIFO, character device or the like is opened and written; there is
  nothing to rename over it.
- Anything else is a regular file, written through a temporary file and a rename in
  its folder (created if missing), so an interrupted run never leaves half a report.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Optional, TextIO, Union

__all__ = ["STDOUT", "standard_stream", "same_destination", "write_atomically"]

STDOUT = "-"

PathLike = Union[str, "os.PathLike[str]"]


def standard_stream(path: PathLike) -> Optional[TextIO]:
    """``sys.stdout`` or ``sys.stderr`` when ``path`` is ``-`` or names the same file as
    one of them; None for every other path."""
    if os.fspath(path) == STDOUT:
        return sys.stdout
    try:
        target = os.stat(path)
    except (OSError, ValueError):
        return None
    for stream, fd in ((sys.stdout, 1), (sys.stderr, 2)):
        try:
            own = os.fstat(fd)
        except OSError:
            continue
        if (own.st_dev, own.st_ino) == (target.st_dev, target.st_ino):
            return stream
    return None


def same_destination(first: PathLike, second: PathLike) -> bool:
    """Whether two report paths would write to one place (the second would overwrite the first)."""
    streams = standard_stream(first), standard_stream(second)
    if streams[0] is not None or streams[1] is not None:
        return streams[0] is streams[1]
    try:
        if os.path.realpath(first) == os.path.realpath(second):
            return True
        return os.path.exists(first) and os.path.exists(second) and os.path.samefile(first, second)
    except (OSError, ValueError):
        return False


def write_atomically(path: PathLike, text: Union[str, Iterable[str]]) -> None:
    """Write the report ``text`` to ``path`` as the module docstring describes; ``text``
    may come in pieces (a streamed report: the whole text is never held at once).

    Raises OSError (with a strerror) when the place cannot be written; a lone surrogate
    in a log costs one character (``errors="replace"``), not the report.
    """
    pieces = (text,) if isinstance(text, str) else text
    stream = standard_stream(path)
    if stream is not None:
        _write_stream(stream, pieces)
        return
    real = Path(os.path.realpath(path))  # through symlinks, to the file they name
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError:
        mode = None
    except ValueError:  # a NUL byte in the path
        raise OSError(22, "the path contains a NUL character") from None
    if mode is not None and stat.S_ISDIR(mode):
        raise IsADirectoryError(21, "it is a folder; give a file name")
    if mode is not None and not stat.S_ISREG(mode):
        with open(real, "w", encoding="utf-8", errors="replace", newline="\n") as handle:
            handle.writelines(pieces)
        return
    _replace_file(real, pieces)


def _write_stream(stream: TextIO, pieces: Iterable[str]) -> None:
    stream.flush()  # what the terminal reporter wrote comes first
    binary = getattr(stream, "buffer", None)
    for text in pieces:
        if binary is None:  # a text-only stream (a test's capture)
            stream.write(text)
        else:
            binary.write(text.encode("utf-8", "replace"))
    stream.flush()


def _replace_file(path: Path, pieces: Iterable[str]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="replace", newline="\n") as handle:
            handle.writelines(pieces)
        os.chmod(tmp, 0o644)  # mkstemp makes it private; a report is meant to be read
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
