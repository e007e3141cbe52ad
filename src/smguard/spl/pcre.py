"""Splunk's regular expressions (PCRE) with Splunk's resource limit, in one place.

Every user-written regex the engine runs goes through :func:`compile`: eval's
``match``/``replace``/``mvfind``, the ``rex`` and ``regex`` commands and structured
``regex:`` matchers. Why one module:

* **A bound per match.** Python's :mod:`re` backtracks without limit, so
  ``match(userAgent, "(a+)+$")`` over 41 characters never returns. Splunk runs PCRE with
  ``MATCH_LIMIT`` (default 100000 calls of PCRE's internal ``match()``) and
  ``DEPTH_LIMIT`` (default 1000); its documentation says a pattern over the limit "may
  fail to correctly match" (https://docs.splunk.com/Documentation/Splunk/latest/Admin/Transformsconf,
  ``MATCH_LIMIT``/``DEPTH_LIMIT``; the same settings in props.conf and limits.conf
  ``[rex]``). The PyPI ``regex`` engine has no step counter but a per-call ``timeout``,
  so each match gets :data:`MATCH_TIMEOUT` seconds. Past it the engine raises
  :class:`SplError` naming the pattern: where Splunk quietly counts the event as not
  matching, an offline proof must not pass or fail on a result Splunk itself calls
  unreliable.
* **PCRE, not Python syntax.** :func:`translate` rewrites the PCRE spellings Python
  writes differently (``\\Q..\\E``, ``\\x{..}``, ``\\z``/``\\Z``, ``\\v``, ``\\N``,
  ``(?'name'..)``, ``\\k{name}``, a ``{`` that is not a quantifier) and refuses what it
  cannot reproduce faithfully (``(*VERB)`` options, callouts, ``\\g`` subroutines,
  escapes PCRE rejects but ``regex`` gives a meaning) instead of silently matching
  something else.
"""

from __future__ import annotations

import builtins
import re as _stdre
from collections.abc import Callable, Iterator
from functools import lru_cache

import regex

from smguard.spl.errors import SplError

__all__ = ["MATCH_TIMEOUT", "Pattern", "compile", "translate"]

MATCH_TIMEOUT = 0.5
"""Seconds one search/sub/finditer call may take (our stand-in for PCRE's match_limit)."""

# Letters PCRE accepts after a backslash (outside \Q..\E); others are errors in PCRE2 but
# would mean something in `regex` (\m word start, \u0041, ...).
_PCRE_ESCAPES = set("dDwWsShHvVRNbBAzZGKQExcCeoafnrtpPXgk")
_VSPACE = r"\n\x0b\f\r\x85\u2028\u2029"
_QUANT = _stdre.compile(r"\{\d+(?:,\d*)?\}")


def _refuse(pattern: str, what: str) -> SplError:
    return SplError(f"regular expression {pattern!r}: {what} is not supported by the offline engine")


def translate(pattern: str) -> str:
    """The ``regex``-module spelling of a PCRE pattern, or :class:`SplError` if unfaithful."""
    out: list[str] = []
    i, n = 0, len(pattern)
    in_class = False
    class_start = -1
    if pattern.startswith("(*"):
        raise _refuse(pattern, "a leading (*VERB) option")
    while i < n:
        c = pattern[i]
        if c == "\\":
            if i + 1 >= n:
                raise SplError(f"invalid regular expression {pattern!r}: trailing backslash")
            d = pattern[i + 1]
            if d == "Q":
                end = pattern.find("\\E", i + 2)
                literal = pattern[i + 2:] if end < 0 else pattern[i + 2:end]
                out.append(regex.escape(literal, special_only=False) if literal else "")
                i = n if end < 0 else end + 2
                continue
            if d == "E":
                i += 2  # a stray \E is ignored by PCRE
                continue
            if d.isalpha() and d not in _PCRE_ESCAPES:
                raise _refuse(pattern, f"the escape \\{d}")
            if d == "x" and i + 2 < n and pattern[i + 2] == "{":
                end = pattern.find("}", i + 3)
                digits = pattern[i + 3:end] if end > 0 else ""
                if not digits or any(ch not in "0123456789abcdefABCDEF" for ch in digits):
                    raise SplError(f"invalid regular expression {pattern!r}: bad \\x{{...}} escape")
                out.append(f"\\U{int(digits, 16):08x}")
                i = end + 1
                continue
            if d == "o":
                raise _refuse(pattern, "the escape \\o{...}")
            if d == "e":
                out.append("\\x1b")
            elif d == "c":
                if i + 2 >= n:
                    raise SplError(f"invalid regular expression {pattern!r}: \\c at the end")
                out.append(f"\\x{ord(pattern[i + 2].upper()) ^ 0x40:02x}")
                i += 3
                continue
            elif d == "z":
                out.append("\\Z")
            elif d == "Z":
                if in_class:
                    raise _refuse(pattern, "\\Z in a character class")
                out.append("(?=\\n?\\Z)")
            elif d in "vV":
                if in_class and d == "V":
                    raise _refuse(pattern, "\\V in a character class")
                out.append(_VSPACE if in_class else (f"[{_VSPACE}]" if d == "v" else f"[^{_VSPACE}]"))
            elif d == "N":
                if in_class or (i + 2 < n and pattern[i + 2] == "{"):
                    raise _refuse(pattern, "\\N here")
                out.append("[^\\n]")
            elif d in "gC":
                raise _refuse(pattern, f"the escape \\{d}")
            elif d == "k":
                m = _stdre.match(r"\\k(?:<(\w+)>|'(\w+)'|\{(\w+)\})", pattern[i:])
                if not m:
                    raise SplError(f"invalid regular expression {pattern!r}: bad \\k reference")
                out.append(f"(?P={m.group(1) or m.group(2) or m.group(3)})")
                i += m.end()
                continue
            else:
                out.append(pattern[i:i + 2])
            i += 2
            continue
        if in_class:
            if c == "[" and pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                if end > 0:
                    out.append(pattern[i:end + 2])
                    i = end + 2
                    continue
            if c == "]" and i > class_start:
                in_class = False
            out.append(c)
            i += 1
            continue
        if c == "[":
            in_class = True
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            class_start = j + 1 if j < n and pattern[j] == "]" else j  # a leading ] is literal
            out.append(pattern[i:class_start])
            i = class_start
            continue
        if c == "{" and not _QUANT.match(pattern, i):
            out.append("\\{")  # PCRE: not a quantifier, so a literal brace
            i += 1
            continue
        if c == "(" and pattern.startswith("(?", i):
            if pattern.startswith("(?C", i) or pattern.startswith("(*", i + 1):
                raise _refuse(pattern, "a callout or verb")
            m = _stdre.match(r"\(\?'(\w+)'", pattern[i:])
            if m:
                out.append(f"(?P<{m.group(1)}>")
                i += m.end()
                continue
        if c == "(" and pattern.startswith("(*", i):
            raise _refuse(pattern, "a (*VERB)")
        out.append(c)
        i += 1
    if in_class:
        raise SplError(f"invalid regular expression {pattern!r}: missing ]")
    return "".join(out)


MEMO_TEXTS = 4096
"""Searched texts whose outcome a pattern remembers (cleared when full)."""
MEMO_TEXT_CHARS = 2048
"""Longer texts are searched every time (the memo's memory stays bounded)."""


class Pattern:
    """A compiled PCRE pattern whose every match is bounded by :data:`MATCH_TIMEOUT`.

    :meth:`search` remembers its outcome per text. Why: the bound costs more than the
    match itself (``regex`` with a ``timeout`` takes ~7 µs a call where the same search
    without it takes 0.5), and the texts a scan searches repeat (every event of a
    principal passes its ARN through ``smguard_principal``'s ``match``). Sound because a
    search is a pure function of pattern and text and a match object is immutable; a
    search that exceeded the bound raised and left nothing to remember.
    """

    __slots__ = ("_memo", "_rx", "pattern")

    def __init__(self, pattern: str, rx: regex.Pattern[str]):
        self.pattern = pattern
        self._rx = rx
        self._memo: dict[str, regex.Match[str] | None] = {}

    @property
    def groupindex(self) -> dict[str, int]:
        return dict(self._rx.groupindex)

    def _bounded(self, call: Callable[..., object], *args: object) -> object:
        try:
            return call(*args, timeout=MATCH_TIMEOUT)
        except TimeoutError:
            raise SplError(
                f"regular expression {self.pattern!r} exceeded the match limit ({MATCH_TIMEOUT:g} s per match; "
                "Splunk: limits.conf [rex] match_limit, after which the match is not reliable)") from None

    def search(self, text: str) -> regex.Match[str] | None:
        memo = self._memo
        try:
            return memo[text]
        except KeyError:
            pass
        got: regex.Match[str] | None = self._bounded(self._rx.search, text)  # type: ignore[assignment]
        if len(text) <= MEMO_TEXT_CHARS:
            if len(memo) >= MEMO_TEXTS:
                memo.clear()
            memo[text] = got
        return got

    def finditer(self, text: str) -> Iterator[regex.Match[str]]:
        return iter(self._bounded(lambda s, timeout: list(self._rx.finditer(s, timeout=timeout)), text))  # type: ignore[call-overload]

    def sub(self, repl: str, text: str, count: int = 0) -> str:
        return self._bounded(lambda s, timeout: self._rx.sub(repl, s, count, timeout=timeout), text)  # type: ignore[return-value]


@lru_cache(maxsize=1024)
def compile(pattern: str, flags: int = 0) -> Pattern:  # noqa: A001 - mirrors re.compile
    """Translate and compile a PCRE pattern; syntax errors become :class:`SplError`."""
    translated = translate(pattern)
    try:
        return Pattern(pattern, regex.compile(translated, flags | regex.VERSION0))
    except (regex.error, builtins.ValueError, OverflowError, RecursionError) as exc:
        raise SplError(f"invalid regular expression {pattern!r}: {exc or 'not understood'}") from None
