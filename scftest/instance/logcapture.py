"""The function's log as scftest keeps it: the head and the tail of a log of any size,
with the bytes cut counted and marked."""

from __future__ import annotations

import re
from typing import Tuple

from scftest.scf.limits import LIMITS

# The line ``text`` puts where the cap cut the log (the first such line of a log).
CUT_MARKER = re.compile(r"\[scftest: \d+ bytes of log cut here; \d+ bytes in all\]\n")


class LogCapture:
    """Keeps the head and the tail of a log of any size; counts what was cut."""

    def __init__(self, head: int = LIMITS.log_head_bytes, tail: int = LIMITS.log_tail_bytes):
        self.head_cap, self.tail_cap = head, tail
        self.head = bytearray()
        self.tail = bytearray()
        self.total = 0

    def feed(self, data: bytes) -> None:
        self.total += len(data)
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if data:
            self.tail += data
            if len(self.tail) > 2 * self.tail_cap:  # trim in batches, not per chunk
                del self.tail[: len(self.tail) - self.tail_cap]

    def text(self) -> Tuple[str, int]:
        """The log as text (bytes that are not UTF-8 replaced) and the bytes cut.

        Secrets are masked after checking (check/masking.py), which finds the pieces of
        one the cut went through beside ``CUT_MARKER``."""
        tail_bytes = bytes(self.tail[-self.tail_cap:]) if self.tail_cap else b""
        cut = self.total - len(self.head) - len(tail_bytes)
        head = self.head.decode("utf-8", errors="replace")
        tail = tail_bytes.decode("utf-8", errors="replace")
        if not cut:
            return head + tail, 0
        if head and not head.endswith("\n"):
            head += "\n"
        marker = f"[scftest: {cut} bytes of log cut here; {self.total} bytes in all]\n"
        return head + marker + tail, cut
