"""Suite patterns are searched with re's meaning and a time bound."""

import re

import pytest

from scftest.patterns import PatternTimeout, search

ORDINARY = [
    (r"^\d{3}-\w+$", "123-abc"), (r"(?i)hello W.rld", "say HELLO world"), (r"^b$", "a\nb\nc"),
    (r"\bid=(\d+)", "x id=42 y"), (r"[^\x00-\x7f]+", "ascii 你好"), (r"a{2,}?", "caaaat"),
    (r"(?P<k>\w+)=(?P=k)", "ab=ab"), (r"^$", ""), (r"\s+$", "trailing  "), (r"x*", "yyy"),
]


@pytest.mark.parametrize("pattern, text", ORDINARY)
@pytest.mark.parametrize("multiline", [False, True])
def test_the_same_match_as_re(pattern: str, text: str, multiline: bool) -> None:
    want = re.search(pattern, text, re.MULTILINE if multiline else 0)
    got = search(pattern, text, multiline=multiline)
    assert (got.span(), got.groups()) == (want.span(), want.groups()) if want else got is None


def test_no_match_is_none() -> None:
    assert search(r"^b$", "a\nb") is None
    assert search(r"^b$", "a\nb", multiline=True) is not None


def test_an_invalid_pattern_raises_re_error() -> None:
    with pytest.raises(re.error):
        search("(unclosed", "text")


def test_a_runaway_pattern_raises_past_the_bound() -> None:
    with pytest.raises(PatternTimeout) as caught:
        search("^(a|a)+$", "a" * 40 + "!", bound_s=0.05)
    assert caught.value.pattern == "^(a|a)+$" and "ran past" in str(caught.value)
