"""The function's log as scftest keeps it: the head and the tail of a log of any size,
with the bytes cut counted and marked."""

from __future__ import annotations

from typing import Iterable, Tuple

from scftest.scf.limits import LIMITS


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

    def text(self, secrets: Iterable[str] = ()) -> Tuple[str, int]:
        """The log as text (bytes that are not UTF-8 replaced) and the bytes cut.

        A secret the cut went through would leave a piece on each side that masking the
        whole value cannot find: those pieces become *** here."""
        tail_bytes = bytes(self.tail[-self.tail_cap:]) if self.tail_cap else b""
        cut = self.total - len(self.head) - len(tail_bytes)
        head = self.head.decode("utf-8", errors="replace")
        tail = tail_bytes.decode("utf-8", errors="replace")
        if not cut:
            return head + tail, 0
        head, tail = _mask_cut_pieces(head, tail, secrets)
        if head and not head.endswith("\n"):
            head += "\n"
        marker = f"[scftest: {cut} bytes of log cut here; {self.total} bytes in all]\n"
        return head + marker + tail, cut


def _mask_cut_pieces(head: str, tail: str, secrets: Iterable[str]) -> Tuple[str, str]:
    for secret in (str(s) for s in secrets if s):
        for size in range(len(secret) - 1, 2, -1):  # longest piece first; 3+ characters
            if head.endswith(secret[:size]):
                head = head[:-size] + "***"
                break
        for size in range(len(secret) - 1, 2, -1):
            if tail.startswith(secret[-size:]):
                tail = "***" + tail[size:]
                break
    return head, tail
