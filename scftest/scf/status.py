"""How an invocation ends: scftest's status words and SCF's status codes (doc 583/35311).

A *status* is what a suite expects (``expect.status``) and what the record says; a *code*
is SCF's number, finer than the status: an ``error`` is a user code exception (430), a
handler that cannot be found (437), code that fails while loading (443), a response
that is too large (407) or a request event the platform refused before running anything
(406).
"""

from __future__ import annotations

from enum import Enum


class Status(str, Enum):
    """The status of an invocation. A ``str``: it compares equal to its word, and the
    record's JSON holds the word."""

    SUCCESS = "success"
    ERROR = "error"
    TIMEOUT = "timeout"
    MEMORY_EXCEEDED = "memory_exceeded"
    CRASH = "crash"

    def __str__(self) -> str:  # the word, also in f-strings on every Python version
        return self.value

    @property
    def code(self) -> "Code":
        """The code of this status when nothing finer is known."""
        return _DEFAULT_CODES[self]


class Code(Enum):
    """An SCF status code, the status it belongs to, and what it means."""

    SUCCESS = (200, Status.SUCCESS, "success")
    REQUEST_TOO_LARGE = (406, Status.ERROR, "the request event is over the size limit")
    RESPONSE_TOO_LARGE = (407, Status.ERROR, "the response is over the size limit")
    USER_ERROR = (430, Status.ERROR, "user code exception")
    TIMEOUT = (433, Status.TIMEOUT, "time limit reached")
    MEMORY_EXCEEDED = (434, Status.MEMORY_EXCEEDED, "memory limit reached")
    HANDLER_NOT_FOUND = (437, Status.ERROR, "handler not found")
    PROCESS_EXITED = (439, Status.CRASH, "user process exited while running")
    INIT_ERROR = (443, Status.ERROR, "user code failed while loading")
    INIT_TIMEOUT = (450, Status.TIMEOUT, "initialization time limit reached")  # InitContainerTimeout (S7)

    def __init__(self, number: int, status: Status, meaning: str):
        self.number = number
        self.status = status
        self.meaning = meaning

    @classmethod
    def of(cls, number: int) -> "Code":
        """The code numbered ``number``; ValueError for a number SCF does not use."""
        for code in cls:
            if code.number == number:
                return code
        raise ValueError(f"{number} is not an SCF status code")


_DEFAULT_CODES = {
    Status.SUCCESS: Code.SUCCESS,
    Status.ERROR: Code.USER_ERROR,
    Status.TIMEOUT: Code.TIMEOUT,
    Status.MEMORY_EXCEEDED: Code.MEMORY_EXCEEDED,
    Status.CRASH: Code.PROCESS_EXITED,
}

# Codes that mean the function could not be loaded at all: a set-up problem.
LOAD_FAILURES = (Code.HANDLER_NOT_FOUND, Code.INIT_ERROR)
