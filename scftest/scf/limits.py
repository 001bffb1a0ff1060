"""SCF's limits (doc 583/11637, scf-runtime.md "Limits") and the caps scftest keeps itself.

One frozen value, ``LIMITS``: what validation checks a suite against, what the instance
enforces, and what the reports quote. A runtime profile (profiles.py) holds it, so a
runtime that differs changes one value.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

KIB = 1024
MIB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    timeout_s: Tuple[int, int] = (1, 900)  # the execution timeout, seconds
    timeout_default_s: int = 3
    # The initialization phase (the handler module's import) has its own limit (S9: real
    # configs set initTimeout: 65; 65 s as the default and 1-300 s as the range are what
    # the console offers as far as the sources show: inferred, not confirmed).
    init_timeout_s: Tuple[int, int] = (1, 300)
    init_timeout_default_s: int = 65
    memory_mb: Tuple[int, ...] = (64,) + tuple(range(128, 3072 + 1, 128))
    memory_default_mb: int = 128
    environment_bytes: int = 4 * KIB  # the user's variables, names and values, in all
    # The return value's JSON text, counted in characters as Tencent's runtime counts it
    # (len() of the text; Python 2.7's runtime writes it ASCII-escaped): "body size is too
    # long", 407, sync and async alike (the runtime checks before anyone receives it).
    response_chars: int = 6 * MIB
    # Request events, as compact UTF-8 JSON: refused with 406 before the function runs.
    sync_event_bytes: int = 6 * MIB
    async_event_bytes: int = 128 * KIB
    tmp_bytes: int = 512 * MIB
    open_files: int = 1024
    processes: int = 1024  # processes and threads
    # scftest's own, not the cloud's: the head and the tail of a function log it keeps.
    log_head_bytes: int = 2 * MIB
    log_tail_bytes: int = 2 * MIB


    def event_bytes(self, asynchronous: bool) -> int:
        """The largest request event of a sync or an async invocation."""
        return self.async_event_bytes if asynchronous else self.sync_event_bytes


LIMITS = Limits()
