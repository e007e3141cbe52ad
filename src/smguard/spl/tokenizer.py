"""Tokenizers for SPL.

SPL is not one language but several sharing a pipe: the ``search`` command's boolean
term syntax, ``eval``/``where`` expressions, and per-command argument lists. Their
lexical rules differ (in a search ``userAgent!=*.amazonaws.com`` is one comparison whose
value contains ``*`` and ``.``; in ``eval`` ``a.b`` is a concatenation), so the parser
asks for the mode it needs on each command's slice of text. Every token keeps its offset
into the full search text so errors can point at it.
"""

from __future__ import annotations

from dataclasses import dataclass

from smguard.spl.errors import SplError

# Token kinds
WORD = "WORD"  # bare word (search/args mode) or identifier (eval mode)
STRING = "STRING"  # "double quoted"
FIELD = "FIELD"  # 'single quoted' (eval mode: a field name)
NUMBER = "NUMBER"  # eval mode only
OP = "OP"  # = == != < > <= >= + - * / % . (eval) and = != < > <= >= (search)
LPAREN = "LPAREN"
RPAREN = "RPAREN"
COMMA = "COMMA"
SUBSEARCH = "SUBSEARCH"  # [ ... ] with the inner text as value
EOF_ = "EOF"


@dataclass(frozen=True, slots=True)
class Token:
    kind: str
    value: str
    pos: int

    def is_word(self, *words: str) -> bool:
        """Case-insensitive keyword test for bare words (not quoted strings)."""
        return self.kind == WORD and self.value.lower() in words


def _read_quoted(text: str, i: int, quote: str) -> tuple[str, int]:
    """Read a quoted string starting at text[i] == quote; return (value, next index).

    Backslash escapes the quote and itself, as in SPL.
    """
    start = i
    i += 1
    out: list[str] = []
    n = len(text)
    while i < n:
        c = text[i]
        if c == "\\" and i + 1 < n and text[i + 1] in (quote, "\\"):
            out.append(text[i + 1])
            i += 2
            continue
        if c == quote:
            return "".join(out), i + 1
        out.append(c)
        i += 1
    raise SplError(f"unterminated {quote} string", start, text)


def find_closing_bracket(text: str, i: int) -> int:
    """Index of the ``]`` matching the ``[`` at ``text[i]``, skipping quoted strings."""
    depth = 0
    n = len(text)
    start = i
    while i < n:
        c = text[i]
        if c == '"':
            _, i = _read_quoted(text, i, '"')
            continue
        if c == "[":
            depth += 1
        elif c == "]":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise SplError("unbalanced '[' (subsearch not closed)", start, text)


def split_pipeline(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` on top-level ``|`` into (start, end) spans.

    Pipes inside double quotes or subsearch brackets do not split.
    """
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    i = seg = start
    while i < end:
        c = text[i]
        if c == '"':
            _, i = _read_quoted(text, i, '"')
            continue
        if c == "[":
            i = find_closing_bracket(text, i) + 1
            continue
        if c == "|":
            spans.append((seg, i))
            seg = i + 1
        i += 1
    spans.append((seg, end))
    return spans


_SEARCH_STOP = set(' \t\r\n()=,"<>[]|')


def tokenize_search(text: str, start: int, end: int) -> list[Token]:
    """Tokenize in search/argument mode.

    Words run until whitespace or one of ``( ) = , " < > [ ] |`` or ``!=``; so field
    names such as ``resources{}.ARN`` and values such as ``*.amazonaws.com`` or
    ``-70m@m`` stay whole. ``[ ... ]`` becomes one SUBSEARCH token.
    """
    toks: list[Token] = []
    i = start
    while i < end:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c == '"':
            val, j = _read_quoted(text, i, '"')
            toks.append(Token(STRING, val, i))
            i = j
            continue
        if c == "(":
            toks.append(Token(LPAREN, c, i))
            i += 1
            continue
        if c == ")":
            toks.append(Token(RPAREN, c, i))
            i += 1
            continue
        if c == ",":
            toks.append(Token(COMMA, c, i))
            i += 1
            continue
        if c == "[":
            j = find_closing_bracket(text, i)
            toks.append(Token(SUBSEARCH, text[i + 1 : j], i + 1))
            i = j + 1
            continue
        if c == "]":
            raise SplError("unexpected ']'", i, text)
        if c == "|":
            raise SplError("unexpected '|'", i, text)
        if c in "=<>" or (c == "!" and i + 1 < end and text[i + 1] == "="):
            two = text[i : i + 2]
            if two in ("!=", "<=", ">=", "=="):
                toks.append(Token(OP, "=" if two == "==" else two, i))
                i += 2
            else:
                toks.append(Token(OP, c, i))
                i += 1
            continue
        j = i
        while j < end:
            cj = text[j]
            if cj in _SEARCH_STOP or (cj == "!" and j + 1 < end and text[j + 1] == "="):
                break
            j += 1
        toks.append(Token(WORD, text[i:j], i))
        i = j
    toks.append(Token(EOF_, "", end))
    return toks


def _is_ident_start(c: str) -> bool:
    return c.isalpha() or c == "_"


def _is_ident_char(c: str) -> bool:
    # Splunk lets bare eval field names carry a few extra characters ({} for JSON
    # arrays, @ and : in some add-on names); '.' is the concatenation operator.
    return c.isalnum() or c in "_{}@:"


def tokenize_eval(text: str, start: int, end: int) -> list[Token]:
    """Tokenize an ``eval``/``where`` expression.

    ``"..."`` is a string literal, ``'...'`` a field name, bare identifiers are field
    names or function names; numbers are NUMBER tokens; ``.`` between operands is
    concatenation (a leading ``.5`` is a number).
    """
    toks: list[Token] = []
    i = start
    while i < end:
        c = text[i]
        if c in " \t\r\n":
            i += 1
            continue
        if c == '"':
            val, j = _read_quoted(text, i, '"')
            toks.append(Token(STRING, val, i))
            i = j
            continue
        if c == "'":
            val, j = _read_quoted(text, i, "'")
            toks.append(Token(FIELD, val, i))
            i = j
            continue
        if c.isdigit() or (c == "." and i + 1 < end and text[i + 1].isdigit() and not _prev_is_operand(toks)):
            j = i
            seen_dot = False
            while j < end and (text[j].isdigit() or (text[j] == "." and not seen_dot)):
                if text[j] == ".":
                    # "1.x" is not a number followed by concatenation of x; keep the dot
                    # only if a digit follows.
                    if not (j + 1 < end and text[j + 1].isdigit()):
                        break
                    seen_dot = True
                j += 1
            if j < end and text[j] in "eE" and j + 1 < end and (text[j + 1].isdigit() or (text[j + 1] in "+-" and j + 2 < end and text[j + 2].isdigit())):
                j += 2
                while j < end and text[j].isdigit():
                    j += 1
            if j < end and _is_ident_start(text[j]):
                # e.g. 5m in an argument: treat the whole run as a word
                while j < end and _is_ident_char(text[j]):
                    j += 1
                toks.append(Token(WORD, text[i:j], i))
            else:
                toks.append(Token(NUMBER, text[i:j], i))
            i = j
            continue
        if _is_ident_start(c):
            j = i
            while j < end and _is_ident_char(text[j]):
                j += 1
            toks.append(Token(WORD, text[i:j], i))
            i = j
            continue
        two = text[i : i + 2]
        if two in ("==", "!=", "<=", ">="):
            toks.append(Token(OP, two, i))
            i += 2
            continue
        if c in "=<>+-*/%.!":
            if c == "!":
                raise SplError("unexpected '!'", i, text)
            toks.append(Token(OP, c, i))
            i += 1
            continue
        if c == "(":
            toks.append(Token(LPAREN, c, i))
        elif c == ")":
            toks.append(Token(RPAREN, c, i))
        elif c == ",":
            toks.append(Token(COMMA, c, i))
        else:
            raise SplError(f"unexpected character {c!r} in expression", i, text)
        i += 1
    toks.append(Token(EOF_, "", end))
    return toks


def _prev_is_operand(toks: list[Token]) -> bool:
    if not toks:
        return False
    t = toks[-1]
    return t.kind in (WORD, STRING, FIELD, NUMBER, RPAREN)
