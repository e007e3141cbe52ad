"""Where in the pack's files an SPL error is: the exact line and column of its character.

The engine reports an error at an offset of the *expanded* search: the detection's SPL
with every macro replaced by its definition, and, for raw SPL, the YAML scalar folded onto
one line (:func:`smguard.compile.search.compile_raw` joins its words with single spaces).
Three steps take that offset back to a file:

1. :func:`smguard.spl.macros.expand_traced` says which text wrote the character: the
   detection's own search, or a macro's definition (and where in it);
2. folding only removed or changed whitespace, so the character is the *n*-th
   non-whitespace character of the YAML value as loaded;
3. :func:`scalar_offsets` finds, in the file's text, the character of each non-whitespace
   character of the value: for block scalars (``|``, ``>``), plain and quoted ones
   (escapes and line folding included). The found characters are compared with the
   value, so a case it does not follow gives no position rather than a wrong one.

When a step cannot say (a structured detection's generated SPL, a macro written by
smguard itself), the error is shown at the detection's ``search:`` line, as before.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from smguard.errors import Problem
from smguard.spl.errors import SplError

if TYPE_CHECKING:
    from smguard.model import Pack
    from smguard.model.entities import Detection

_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v", "f": "\f", "r": "\r",
            "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\", "N": "\x85", "_": "\xa0", "L": "\u2028",
            "P": "\u2029"}
_HEX = {"x": 2, "u": 4, "U": 8}
_BREAKS = "\r\n\x85\u2028\u2029"
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")


def _node_at(root: yaml.Node, key: tuple[Any, ...]) -> yaml.Node | None:
    node: yaml.Node | None = root
    for k in key:
        if isinstance(node, yaml.MappingNode):
            node = next((v for kn, v in node.value if isinstance(kn, yaml.ScalarNode) and kn.value == k), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(k, int) and 0 <= k < len(node.value):
            node = node.value[k]
        else:
            return None
    return node


def _source_chars(text: str, node: yaml.ScalarNode) -> list[int]:
    """Offsets in ``text`` of the characters the scalar's value is written with, for every
    value character that is not whitespace, in order."""
    start, end = node.start_mark.index, node.end_mark.index
    style = node.style
    out: list[int] = []
    if style in ("|", ">"):
        i = start
        while i < end and text[i] not in _BREAKS:
            i += 1  # the header line: indicator, chomping, indentation, a comment
        out = [k for k in range(i, end) if not text[k].isspace()]
    elif style is None:
        out = [k for k in range(start, end) if not text[k].isspace()]
    elif style == "'":
        i = start + 1
        while i < end:
            c = text[i]
            if c == "'":
                if i + 1 < end and text[i + 1] == "'":
                    out.append(i)
                    i += 2
                    continue
                break
            if not c.isspace():
                out.append(i)
            i += 1
    elif style == '"':
        i = start + 1
        while i < end:
            c = text[i]
            if c == '"':
                break
            if c == "\\" and i + 1 < end:
                d = text[i + 1]
                if d in _HEX:
                    digits = text[i + 2:i + 2 + _HEX[d]]
                    try:
                        made = chr(int(digits, 16))
                    except ValueError:
                        return []
                    if not made.isspace():
                        out.append(i)
                    i += 2 + _HEX[d]
                    continue
                if d in _BREAKS:
                    i += 2  # an escaped line break: the line goes on
                    continue
                if d not in _ESCAPES:
                    return []
                if not _ESCAPES[d].isspace():
                    out.append(i)
                i += 2
                continue
            if not c.isspace():
                out.append(i)
            i += 1
    return out


def scalar_offsets(path: str | Path, key: tuple[Any, ...]) -> tuple[str, str, list[int]] | None:
    """The file's text, the string at ``key`` and, for each of its non-whitespace
    characters, its offset in that text; None when it cannot be followed exactly.

    Read again with PyYAML's pure-Python loader (only when an error is shown), whose marks
    count characters of the text.
    """
    try:
        text = Path(path).read_text(encoding="utf-8")
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except (OSError, UnicodeDecodeError, yaml.YAMLError, RecursionError):
        return None
    node = _node_at(root, key) if root is not None else None
    if not isinstance(node, yaml.ScalarNode) or not isinstance(node.value, str):
        return None
    offsets = _source_chars(text, node)
    value = "".join(node.value.split())
    # the value's characters and the text's must be the same (escapes aside): else no position
    if len(offsets) != len(value):
        return None
    for k, c in zip(offsets, value, strict=True):
        if text[k] != c and text[k] != "\\":
            return None
    return text, node.value, offsets


def line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of ``offset`` in ``text`` (YAML's line breaks)."""
    breaks = list(_LINE_BREAK.finditer(text, 0, offset))
    line_start = breaks[-1].end() if breaks else 0
    return len(breaks) + 1, offset - line_start + 1


def _nth_word_char(text: str, at: int) -> int:
    """How many non-whitespace characters of ``text`` come before offset ``at`` (the
    character at ``at``, or the next one when it is a space, is that index's)."""
    return sum(1 for c in text[:at] if not c.isspace())


@dataclass(frozen=True)
class Source:
    """Where the characters of a search that are not from macros were written: the string
    at ``key`` of the YAML file ``path``, after ``skip`` characters the check added (None:
    the search is generated, e.g. from a structured detection, and has no such place)."""

    path: str
    key: tuple[Any, ...]
    skip: int = 0


@dataclass(frozen=True)
class Location:
    path: str
    line: int
    column: int
    macro: str = ""  # the macro's stanza when the character is in a macro's definition


def locate(pack: Pack, spl: str, exc: SplError, own: Source | None) -> Location | None:
    """The file, line and column of the character ``exc`` names in ``spl`` (as written,
    macros unexpanded), or None when it cannot be said exactly."""
    from smguard.spl.macros import expand_traced

    if exc.pos < 0:
        return None
    try:
        text, origins = expand_traced(spl, pack.context())
    except SplError as again:
        origin = again.origin
    else:
        origin = None
        pos = exc.pos
        if exc.text and exc.text != text and text.count(exc.text) == 1:
            pos += text.index(exc.text)  # a part of the search (a subsearch) reported alone
        elif exc.text != text:
            pos = -1
        if 0 <= pos < len(text):
            origin = origins[pos]
    if origin is None:
        return None
    source, at = origin
    if source == "":
        if own is None or at < own.skip:
            return None
        path, key, written, at = own.path, own.key, spl[own.skip:], at - own.skip
    else:
        macro = pack.macros.get(source)
        if macro is None or macro.doc is None or macro.generated:
            return None
        path, key, written = macro.doc.path, ("definition",), macro.definition
    if at >= len(written):
        return None
    found = scalar_offsets(path, key)
    if found is None or found[1].split() != written.split():
        return None  # the file does not hold what ran (e.g. a SOC-tuned filter macro)
    n = _nth_word_char(written, at)
    if n >= len(found[2]):
        return None
    line, column = line_column(found[0], found[2][n])
    return Location(path, line, column, source)


def own_source(det: Detection) -> Source | None:
    """Where a detection's search was written, when it was written by hand (raw SPL)."""
    return Source(det.doc.path, ("search", "spl")) if det.is_raw else None


def spl_problems(pack: Pack, det: Detection, exc: SplError, *, spl: str | None = None,
                 own: Source | None = None, key: tuple[Any, ...] = ("search",), label: str = "",
                 named: bool = False) -> list[Problem]:
    """``exc``, raised by ``spl`` (default: the detection's search), as problems.

    At the exact line and column of the character it names, in the detection's file or a
    macro's, else at ``key`` of the detection. ``label`` prefixes the message (``eval x: ``).
    ``named`` (runs, where many detections report) prefixes the detection's name and gives
    one problem. Otherwise (validate) an error in a macro is reported at the macro's line
    and, so the detection is still known to be broken, at the detection's ``key`` too.
    """
    from smguard.compile import detection_search

    if spl is None:
        spl, own = detection_search(det, pack), own_source(det)
    prefix = (f"{det.name}: " if named else "") + label
    where = locate(pack, spl, exc, own)
    if where is None:
        # an offset into a text the user never wrote (a time spec from the data) says nothing
        plain = exc.problems[0].message if exc.text and exc.problems else f"SPL error: {exc.message}"
        return [det.doc.problem(key, prefix + plain)]
    near = ""
    if exc.text and 0 <= exc.pos <= len(exc.text):
        near = f" (near {exc.text[max(0, exc.pos - 20):exc.pos + 20]!r})"
    message = f"SPL error at column {where.column}: {exc.message}{near}"
    if named or not where.macro:
        return [Problem(where.path, where.line, prefix + message)]
    return [Problem(where.path, where.line, message),
            det.doc.problem(key, f"{prefix}uses macro `{where.macro}`, which has an SPL error at {where.path}:{where.line}")]


__all__ = ["Location", "Source", "line_column", "locate", "own_source", "scalar_offsets", "spl_problems"]
