"""The Invoke API's invocation types (doc 583/17243): the words a suite may use, normalised
once, when the suite is loaded; everything after the loader sees only SYNC or ASYNC."""

from __future__ import annotations

SYNC = "sync"
ASYNC = "async"

# A suite's word -> the type: scftest's own words, and the API's InvocationType values.
INVOCATION_TYPES = {"sync": SYNC, "RequestResponse": SYNC, "async": ASYNC, "Event": ASYNC}


def invocation_type(word: str) -> str:
    """SYNC or ASYNC for a word of INVOCATION_TYPES; KeyError for any other."""
    return INVOCATION_TYPES[word]
