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
    problem is not tied to a place (e.g. a runtime limit). ``origin`` is set only by
    :func:`smguard.spl.macros.expand_traced`: where, before expansion, the failing
    character was written (``("", offset)`` in the search itself, ``(stanza, offset)`` in a
    macro's definition).
    """

    origin: tuple[str, int] | None = None

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

    def placed(self, pos: int, text: str, prefix: str = "") -> SplError:
        """This error, or when it has no place of its own (a value broke it, not the search)
        the same message at ``pos`` of ``text``: where the function or command that ran it is."""
        if self.pos >= 0 or pos < 0:
            return self
        return type(self)(prefix + self.message, pos, text)

    def __reduce__(self) -> tuple:
        # Pickled by its own arguments (a scan part sends a detection's error to the parent
        # process); the default would rebuild it from the formatted text and lose ``pos``.
        return (type(self), (self.message, self.pos, self.text))


class UnsupportedError(SplError):
    """Valid SPL that this engine deliberately does not implement (yet)."""


def as_spl_error(exc: Exception) -> SplError:
    """A failure while running one search, as the :class:`SplError` it is reported as.

    Scans and test runs catch what a detection raises at run time (a regex over its match
    limit, an invalid time spec in the data, ...) so that detection fails alone and the
    others still run; anything that is not already an :class:`SplError` is named for what
    it is (a deep nesting, an internal error of the engine), never dropped.
    """
    if isinstance(exc, SplError):
        return exc
    if isinstance(exc, SmguardError):
        return SplError("; ".join(p.message for p in exc.problems))
    if isinstance(exc, RecursionError):
        return SplError("search too deeply nested to run")
    if isinstance(exc, OverflowError):
        # e.g. avg/stdev over a 400-digit number: eval's arithmetic is null there (docs/spl.md),
        # what Splunk's stats functions give is not documented: not guessed
        return UnsupportedError(f"a number past double range is not supported here (Splunk's numbers "
                                f"are doubles; what it gives here is not documented): {exc}")
    return SplError(f"internal error of the offline engine: {type(exc).__name__}: {exc}")
