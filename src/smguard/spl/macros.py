"""Backtick macro expansion, done on the text before parsing, as Splunk does.

`` `name` `` looks up stanza ``name``; `` `name(a, b)` `` looks up ``name(2)`` and
replaces ``$arg$`` in its definition by the arguments in order. Expansion repeats on
the result so macros may call macros; a cycle or an unknown macro is an error naming it.
"""

from __future__ import annotations

from smguard.spl.context import SearchContext
from smguard.spl.errors import SplError

_MAX_DEPTH = 50


def _split_args(s: str) -> list[str]:
    """Split macro arguments on top-level commas (quotes and parens protect commas)."""
    args: list[str] = []
    depth = 0
    cur: list[str] = []
    i = 0
    while i < len(s):
        c = s[i]
        if c == '"':
            j = i + 1
            while j < len(s) and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            cur.append(s[i : j + 1])
            i = j + 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            args.append("".join(cur).strip())
            cur = []
        else:
            cur.append(c)
        i += 1
    args.append("".join(cur).strip())
    return args


Origin = tuple[str, int]
"""Where a character of an expanded search was written: ``("", offset)`` in the search
itself, ``(stanza, offset)`` in that macro's definition."""


def expand_macros(spl: str, ctx: SearchContext) -> str:
    """Return ``spl`` with every backtick macro expanded (recursively)."""
    return _expand(spl, None, ctx, 0, ())[0]


def expand_traced(spl: str, ctx: SearchContext) -> tuple[str, list[Origin]]:
    """:func:`expand_macros`, plus the :data:`Origin` of every character of the result.

    Lets an error at an offset of the expanded search be shown where it was written (a
    line of the detection's YAML, or of a macro's file). An expansion error raised here
    carries the origin of the failing call in ``SplError.origin``. Used on the error path
    only: the scan and the checks expand with :func:`expand_macros`, through the same code.
    """
    text, origins = _expand(spl, [("", i) for i in range(len(spl))], ctx, 0, ())
    assert origins is not None
    return text, origins


def _expand(spl: str, origins: list[Origin] | None, ctx: SearchContext, depth: int,
            stack: tuple[str, ...]) -> tuple[str, list[Origin] | None]:
    """Expand ``spl``; when ``origins`` (one per character of ``spl``) is given, return the
    origins of the result's characters too (an argument keeps its caller's origins)."""
    if "`" not in spl:
        return spl, origins
    out: list[str] = []
    traced: list[Origin] | None = [] if origins is not None else None

    def fail(message: str, at: int) -> SplError:
        err = SplError(message, at, spl)
        if origins is not None:
            err.origin = origins[at]
        return err

    i = 0
    while True:
        start = spl.find("`", i)
        if start < 0:
            out.append(spl[i:])
            if traced is not None:
                traced.extend(origins[i:])  # type: ignore[index]
            break
        end = spl.find("`", start + 1)
        if end < 0:
            raise fail("unterminated macro (missing closing backtick)", start)
        out.append(spl[i:start])
        if traced is not None:
            traced.extend(origins[i:start])  # type: ignore[index]
        call = spl[start + 1 : end].strip()
        name, args = call, []
        if call.endswith(")") and "(" in call:
            name = call[: call.index("(")].strip()
            inner = call[call.index("(") + 1 : -1]
            args = _split_args(inner) if inner.strip() else []
        stanza = f"{name}({len(args)})" if args else name
        macro = ctx.macros.get(stanza)
        if macro is None:
            raise fail(f"unknown macro '{stanza}'", start)
        if stanza in stack or depth >= _MAX_DEPTH:
            raise fail(f"macro '{stanza}' expands recursively ({' -> '.join((*stack, stanza))})", start)
        body = macro.definition
        if len(macro.args) != len(args):
            raise fail(f"macro '{stanza}' takes {len(macro.args)} arguments, got {len(args)}", start)
        body_origins = None if origins is None else [(stanza, k) for k in range(len(body))]
        arg_at = spl.index("(", start) + 1 if args else start
        for pname, value in zip(macro.args, args, strict=True):
            if body_origins is None:
                body = body.replace(f"${pname}$", value)
                continue
            # an argument is a stripped, contiguous piece of the call: its characters keep
            # the caller's origins
            arg_at = spl.find(value, arg_at, end) if value else arg_at
            value_origins = origins[arg_at:arg_at + len(value)] if arg_at >= 0 else [origins[start]] * len(value)  # type: ignore[index]
            arg_at = max(arg_at, 0) + len(value)
            body, body_origins = _replace(body, body_origins, f"${pname}$", value, value_origins)
        body, body_origins = _expand(body, body_origins, ctx, depth + 1, (*stack, stanza))
        out.append(body)
        if traced is not None:
            traced.extend(body_origins)  # type: ignore[arg-type]
        i = end + 1
    return "".join(out), traced


def _replace(text: str, origins: list[Origin], old: str, new: str,
             new_origins: list[Origin]) -> tuple[str, list[Origin]]:
    """``text.replace(old, new)`` with the characters' origins carried along."""
    parts: list[str] = []
    traced: list[Origin] = []
    i = 0
    while (j := text.find(old, i)) >= 0:
        parts += [text[i:j], new]
        traced += origins[i:j] + new_origins
        i = j + len(old)
    parts.append(text[i:])
    traced += origins[i:]
    return "".join(parts), traced
