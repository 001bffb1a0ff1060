"""The result channel: the frames _child.py writes on its own descriptor (RESULT_FD),
read back. The format is _child.py's: a change there is a change here, byte for byte.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional

from scftest.errors import ScftestError

MAX_FRAME_BYTES = 64 * 1024 * 1024


class ChannelGarbled(ScftestError):
    """The result channel broke the frame protocol; the record says so, never a success."""


@dataclass
class Frame:
    kind: str
    fields: Dict[str, str]


class FrameReader:
    """Parses ``SCFT <kind> <n>\\n<n bytes>END\\n`` frames (see _child.py)."""

    def __init__(self) -> None:
        self.buffer = bytearray()

    def feed(self, data: bytes) -> List[Frame]:
        self.buffer += data
        frames = []
        while True:
            frame = self._next()
            if frame is None:
                return frames
            frames.append(frame)

    def leftover(self) -> int:
        return len(self.buffer)

    def _next(self) -> Optional[Frame]:
        newline = self.buffer.find(b"\n", 0, 80)
        if newline < 0:
            if len(self.buffer) >= 80:
                raise ChannelGarbled(f"unexpected bytes {bytes(self.buffer[:40])!r}")
            return None
        parts = bytes(self.buffer[:newline]).split(b" ")
        if len(parts) != 3 or parts[0] != b"SCFT" or not parts[2].isdigit():
            raise ChannelGarbled(f"bad frame header {bytes(self.buffer[:newline])!r}")
        size = int(parts[2])
        if size > MAX_FRAME_BYTES:
            raise ChannelGarbled(f"frame of {size} bytes announced")
        end = newline + 1 + size
        if len(self.buffer) < end + 4:
            return None
        if self.buffer[end:end + 4] != b"END\n":
            raise ChannelGarbled("frame does not end where its length says")
        payload = bytes(self.buffer[newline + 1:end])
        del self.buffer[:end + 4]
        return Frame(parts[1].decode("ascii", "replace"), parse_fields(payload))


def parse_fields(payload: bytes) -> Dict[str, str]:
    fields, pos = {}, 0
    while pos < len(payload):
        newline = payload.find(b"\n", pos, pos + 80)
        if newline < 0:
            raise ChannelGarbled("bad field header")
        name, _, size = payload[pos:newline].partition(b" ")
        if not size.isdigit():
            raise ChannelGarbled(f"bad field header {payload[pos:newline]!r}")
        start, end = newline + 1, newline + 1 + int(size)
        if payload[end:end + 1] != b"\n":
            raise ChannelGarbled(f"field {name!r} does not end where its length says")
        fields[name.decode("ascii", "replace")] = payload[start:end].decode("utf-8", "replace")
        pos = end + 1
    return fields
