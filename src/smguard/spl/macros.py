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


def expand_macros(spl: str, ctx: SearchContext, _depth: int = 0, _stack: tuple[str, ...] = ()) -> str:
    """Return ``spl`` with every backtick macro expanded (recursively)."""
    if "`" not in spl:
        return spl
    out: list[str] = []
    i = 0
    while True:
        start = spl.find("`", i)
        if start < 0:
            out.append(spl[i:])
            break
        end = spl.find("`", start + 1)
        if end < 0:
            raise SplError("unterminated macro (missing closing backtick)", start, spl)
        out.append(spl[i:start])
        call = spl[start + 1 : end].strip()
        name, args = call, []
        if call.endswith(")") and "(" in call:
            name = call[: call.index("(")].strip()
            inner = call[call.index("(") + 1 : -1]
            args = _split_args(inner) if inner.strip() else []
        stanza = f"{name}({len(args)})" if args else name
        macro = ctx.macros.get(stanza)
        if macro is None:
            raise SplError(f"unknown macro '{stanza}'", start, spl)
        if stanza in _stack or _depth >= _MAX_DEPTH:
            raise SplError(f"macro '{stanza}' expands recursively ({' -> '.join((*_stack, stanza))})", start, spl)
        body = macro.definition
        if len(macro.args) != len(args):
            raise SplError(f"macro '{stanza}' takes {len(macro.args)} arguments, got {len(args)}", start, spl)
        for pname, value in zip(macro.args, args, strict=True):
            body = body.replace(f"${pname}$", value)
        out.append(expand_macros(body, ctx, _depth + 1, (*_stack, stanza)))
        i = end + 1
    return "".join(out)
