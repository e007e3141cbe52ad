"""``pcre.Pattern.search`` remembers outcomes per text: same answers, bounded memory,
and a search past the match limit is an error every time (never remembered)."""

from __future__ import annotations

import pytest
import regex

from smguard.spl import SplError, pcre


def fresh(pattern: str) -> pcre.Pattern:
    """A pattern with an empty memo (``pcre.compile`` shares one per pattern)."""
    return pcre.Pattern(pattern, regex.compile(pcre.translate(pattern), regex.VERSION0))


def test_a_remembered_search_gives_the_same_match():
    rx = fresh("/AWSReservedSSO_([^/]+)$")
    arn = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"
    first, again = rx.search(arn), rx.search(arn)
    assert first is not None and again is first and again.group(1) == "Admin_0123"
    assert rx.search("arn:aws:iam::111122223333:role/Other") is None
    assert rx.search("arn:aws:iam::111122223333:role/Other") is None


def test_the_memo_stays_bounded_and_skips_long_texts(monkeypatch):
    monkeypatch.setattr(pcre, "MEMO_TEXTS", 8)
    rx = fresh("a")
    for i in range(50):
        assert rx.search(f"a{i}") is not None
        assert len(rx._memo) <= 8
    rx._memo.clear()
    assert rx.search("a" * (pcre.MEMO_TEXT_CHARS + 1)) is not None
    assert not rx._memo


def test_a_search_past_the_limit_raises_every_time(monkeypatch):
    monkeypatch.setattr(pcre, "MATCH_TIMEOUT", 0.05)
    monkeypatch.setattr(pcre, "MEMO_TEXT_CHARS", 10_000)
    rx = fresh(r"(x+x+)+y")
    for _ in range(2):
        with pytest.raises(SplError, match="exceeded the match limit"):
            rx.search("x" * 5000)
    assert not rx._memo
