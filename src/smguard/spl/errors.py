"""Errors raised by the offline SPL engine.

Every error names what was not understood and where, because the engine's contract is
that it never returns (possibly empty) results for SPL it did not understand: an
unsupported command, function or argument is a loud failure, not a silent miss.
"""

from __future__ import annotations

from smguard.errors import SmguardError


class SplError(SmguardError):
    """A problem with a search string, located by character offset.

    ``pos`` is the 0-based offset into the (macro-expanded) search text, or -1 when the
    problem is not tied to a place (e.g. a runtime limit).
    """

    def __init__(self, message: str, pos: int = -1, text: str = ""):
        self.message = message
        self.pos = pos
        self.text = text
        where = f" at position {pos}" if pos >= 0 else ""
        snippet = ""
        if text and 0 <= pos <= len(text):
            start = max(0, pos - 20)
            snippet = f" (near {text[start:pos + 20]!r})"
        super().__init__(f"SPL error{where}: {message}{snippet}")


class UnsupportedError(SplError):
    """Valid SPL that this engine deliberately does not implement (yet)."""
