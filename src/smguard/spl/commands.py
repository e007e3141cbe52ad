"""Per-row (streaming) and ordering commands.

Streaming commands expose ``process(row) -> list[Row]`` so the executor can push
events through them one at a time (memory stays flat while logs are read); the others
expose ``apply(rows) -> list[Row]`` and run once the ordered result set exists.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

from smguard.spl import ast as A
from smguard.spl import pcre, timeutil
from smguard.spl.errors import SplError
from smguard.spl.evalfuncs import EvalEnv, compile_expr, json_render, load_json, spath_values, truthy
from smguard.spl.rows import Row
from smguard.spl.searchmatch import compile_search
from smguard.spl.stats import wildcard_rename
from smguard.spl.values import fmt_number, mv, num, sort_key, to_str

_EMPTY: list[Row] = []


class Op:
    """Base: a streaming op implements process(); ordered ops override apply()."""

    streaming = True

    def process(self, row: Row) -> list[Row]:  # pragma: no cover - guarded by `streaming`
        # Only streaming ops are fed row by row; ordered ops (dedup, sort, ...) override apply().
        raise TypeError(f"{type(self).__name__} is not a streaming command")

    def apply(self, rows: list[Row]) -> list[Row]:
        out: list[Row] = []
        for r in rows:
            out.extend(self.process(r))
        return out


def stream_through(ops: Sequence[Op], rows: list[Row]) -> list[Row]:
    """``rows`` pushed through the streaming ``ops`` in turn (each op row by row)."""
    for op in ops:
        if len(rows) == 1:
            rows = op.process(rows[0])
        else:
            nxt: list[Row] = []
            for r in rows:
                nxt.extend(op.process(r))
            rows = nxt
        if not rows:
            break
    return rows


def _wild(pattern: str) -> Callable[[str], bool]:
    if "*" not in pattern:
        return lambda s: s == pattern
    rx = re.compile(".*".join(re.escape(p) for p in pattern.split("*")) + r"\Z", re.S)
    return lambda s: rx.match(s) is not None


class SearchOp(Op):
    def __init__(self, pred: Callable[[dict], bool]):
        self.pred = pred

    def process(self, row: Row) -> list[Row]:
        return [row] if self.pred(row.f) else _EMPTY


class WhereOp(Op):
    def __init__(self, cmd: A.WhereCmd, env: EvalEnv):
        self.fn = compile_expr(cmd.expr, env)

    def process(self, row: Row) -> list[Row]:
        return [row] if truthy(self.fn(row.f)) else _EMPTY

    def apply(self, rows: list[Row]) -> list[Row]:
        fn = self.fn  # the rows that pass, in order: no list per row
        return [r for r in rows if truthy(fn(r.f))]


class EvalOp(Op):
    def __init__(self, cmd: A.EvalCmd, env: EvalEnv):
        self.assigns = [(name, compile_expr(e, env)) for name, e in cmd.assignments]
        self.pos = cmd.pos
        self.text = env.text

    def process(self, row: Row) -> list[Row]:
        self._eval(row.w())
        return [row]

    def _eval(self, f: dict) -> None:
        for name, fn in self.assigns:
            v = fn(f)
            if v is None:
                f.pop(name, None)
            elif isinstance(v, bool):
                raise SplError(f"eval: the result of the expression for '{name}' is a boolean, which Splunk rejects", self.pos, self.text)
            else:
                f[name] = v

    def apply(self, rows: list[Row]) -> list[Row]:
        """Every row, evaluated in order; the list given is the list returned (``eval``
        neither drops nor adds rows), without a list per row."""
        ev = self._eval
        for r in rows:
            ev(r.w())
        return rows


class RenameOp(Op):
    def __init__(self, cmd: A.RenameCmd):
        self.pairs = cmd.pairs

    def process(self, row: Row) -> list[Row]:
        f = row.f
        changed = False
        for src, dst in self.pairs:
            if "*" in src:
                moves = [(k, wildcard_rename(src, dst, k)) for k in list(f)]
                moves = [(k, d) for k, d in moves if d is not None and d != k]
                if moves:
                    f = row.w()
                    vals = [(d, f.pop(k)) for k, d in moves]
                    for d, v in vals:
                        f[d] = v
                    changed = True
            elif src in f:
                f = row.w()
                f[dst] = f.pop(src)
                changed = True
        del changed
        return [row]


class FieldsOp(Op):
    def __init__(self, cmd: A.FieldsCmd):
        self.remove = cmd.remove
        self.ms = [_wild(p) for p in cmd.fields]

    def process(self, row: Row) -> list[Row]:
        f = row.f
        if self.remove:
            drop = [k for k in f if any(m(k) for m in self.ms)]
            if drop:
                f = row.w()
                for k in drop:
                    del f[k]
            return [row]
        keep = {k: v for k, v in f.items() if k.startswith("_") or any(m(k) for m in self.ms)}
        row.f, row.own = keep, True
        return [row]


class TableOp(Op):
    def __init__(self, cmd: A.TableCmd):
        self.patterns = cmd.fields

    def process(self, row: Row) -> list[Row]:
        f = row.f
        out: dict = {}
        for p in self.patterns:
            if "*" in p:
                m = _wild(p)
                for k, v in f.items():
                    if m(k) and k not in out and not (k.startswith("_") and not p.startswith("_")):
                        out[k] = v
            elif p in f and p not in out:
                out[p] = f[p]
        row.f, row.own = out, True
        return [row]


class FillnullOp(Op):
    def __init__(self, cmd: A.FillnullCmd):
        self.value = cmd.value
        self.fields = cmd.fields
        self.streaming = bool(cmd.fields)

    def process(self, row: Row) -> list[Row]:
        f = row.f
        missing = [k for k in self.fields if f.get(k) is None]
        if missing:
            f = row.w()
            for k in missing:
                f[k] = self.value
        return [row]

    def apply(self, rows: list[Row]) -> list[Row]:
        if self.fields:
            return super().apply(rows)
        names: dict[str, None] = {}
        for r in rows:
            for k in r.f:
                names[k] = None
        for r in rows:
            missing = [k for k in names if r.f.get(k) is None]
            if missing:
                f = r.w()
                for k in missing:
                    f[k] = self.value
        return rows


class RexOp(Op):
    def __init__(self, cmd: A.RexCmd, text: str = ""):
        self.rx = pcre.compile(cmd.regex)
        self.field = cmd.field
        self.max = cmd.max_match
        self.names = list(self.rx.groupindex)
        self.pos, self.text = cmd.pos, text
        if not self.names:
            raise SplError("rex needs at least one named group (?<name>...)", cmd.pos)

    def process(self, row: Row) -> list[Row]:
        try:
            return self._process(row)
        except SplError as exc:  # over the match limit on this value: say which command
            raise exc.placed(self.pos, self.text, "rex: ") from None

    def _process(self, row: Row) -> list[Row]:
        vals = mv(row.f.get(self.field))
        if not vals:
            return [row]
        found: dict[str, list[str]] = {}
        for s in vals:
            if self.max == 1:
                m = self.rx.search(s)
                ms = [m] if m else []
            else:
                ms = list(self.rx.finditer(s))
                if self.max > 0:
                    ms = ms[: self.max]
            for m in ms:
                for name in self.names:
                    g = m.group(name)
                    if g is not None:
                        found.setdefault(name, []).append(g)
            if found and self.max == 1:
                break
        if found:
            f = row.w()
            for k, v in found.items():
                f[k] = v if len(v) > 1 else v[0]
        return [row]


class RegexOp(Op):
    """``regex``: keep a row when the unanchored PCRE finds a match in any value of the
    field (``!=``: in none; a row without the field has no match, so ``!=`` keeps it).

    The pattern is compiled by the same function as ``rex`` and ``match()``, so a
    bounded-regex engine plugged in there applies here too.
    """

    def __init__(self, cmd: A.RegexCmd, text: str = ""):
        try:
            self.rx = pcre.compile(cmd.regex)
        except SplError as exc:
            raise SplError(f"regex: {exc.message}", cmd.pos, text) from exc
        self.field = cmd.field
        self.negate = cmd.negate
        self.pos, self.text = cmd.pos, text

    def process(self, row: Row) -> list[Row]:
        search = self.rx.search
        try:
            found = any(search(s) for s in mv(row.f.get(self.field)))
        except SplError as exc:  # over the match limit on this value: say which command
            raise exc.placed(self.pos, self.text, "regex: ") from None
        return [row] if found != self.negate else _EMPTY


def flatten_json(doc: object, prefix: str = "", out: dict[str, list[str]] | None = None) -> dict[str, list[str]]:
    """Splunk's JSON auto-extraction: dotted keys, ``{}`` for arrays, values in order."""
    if out is None:
        out = {}
    if isinstance(doc, dict):
        for k, v in doc.items():
            flatten_json(v, f"{prefix}.{k}" if prefix else str(k), out)
    elif isinstance(doc, list):
        for v in doc:
            flatten_json(v, f"{prefix}{{}}", out)
    elif doc is not None and prefix:
        out.setdefault(prefix, []).append(json_render(doc))
    return out


class SpathOp(Op):
    def __init__(self, cmd: A.SpathCmd):
        self.input = cmd.input
        self.output = cmd.output or cmd.path
        self.path = cmd.path

    def process(self, row: Row) -> list[Row]:
        text = to_str(row.f.get(self.input))
        if text is None:
            return [row]
        if self.path is None:
            doc = load_json(text)
            if doc is None:
                return [row]
            flat = flatten_json(doc)
            if flat:
                f = row.w()
                for k, v in flat.items():
                    f[k] = v if len(v) > 1 else v[0]
            return [row]
        v = spath_values(text, self.path)
        if v is not None:
            row.w()[self.output] = v
        return [row]


class MvexpandOp(Op):
    def __init__(self, cmd: A.MvexpandCmd):
        self.field = cmd.field
        self.limit = cmd.limit

    def process(self, row: Row) -> list[Row]:
        v = row.f.get(self.field)
        if not isinstance(v, list):
            return [row]
        vals = v if self.limit is None else v[: self.limit]
        out = []
        for x in vals:
            f = dict(row.f)
            f[self.field] = x
            out.append(Row(f, row.ids, True, row.t))
        return out


class ConvertOp(Op):
    def __init__(self, cmd: A.ConvertCmd):
        self.fmt = cmd.timeformat
        self.convs = cmd.conversions

    def process(self, row: Row) -> list[Row]:
        f = row.f
        for fn, fld, alias in self.convs:
            targets = [k for k in f if _wild(fld)(k)] if "*" in fld else [fld]
            for t in targets:
                v = f.get(t)
                if v is None:
                    continue
                dst = alias or t
                if fn == "ctime":
                    n = num(v)
                    if n is None:
                        continue
                    row.w()[dst] = timeutil.strftime(float(n), self.fmt)
                elif fn == "mktime":
                    p = timeutil.strptime(to_str(v) or "", self.fmt)
                    if p is not None:
                        row.w()[dst] = p
                elif fn == "num":
                    n = num(v)
                    if n is not None:
                        row.w()[dst] = n
                elif fn == "none":
                    row.w()[dst] = v
            f = row.f
        return [row]


class BinOp(Op):
    def __init__(self, cmd: A.BinCmd):
        self.field = cmd.field
        self.alias = cmd.alias or cmd.field
        span, kind = timeutil.parse_span(cmd.span)
        if span <= 0:
            raise SplError(f"invalid span '{cmd.span}'", cmd.pos)
        self.span = span
        self.kind = kind

    def process(self, row: Row) -> list[Row]:
        v = row.f.get(self.field)
        n = num(v)
        if n is None:
            return [row]
        lo = math.floor(n / self.span) * self.span
        if self.field == "_time" or self.kind == "time":
            val: object = int(lo) if float(lo).is_integer() else lo
        else:
            hi = lo + self.span
            val = f"{fmt_number(lo)}-{fmt_number(hi)}"
        row.w()[self.alias] = val
        return [row]


# ------------------------------------------------------------------ ordering commands


class DedupOp(Op):
    streaming = False

    def __init__(self, cmd: A.DedupCmd):
        self.cmd = cmd

    def apply(self, rows: list[Row]) -> list[Row]:
        c = self.cmd
        seen: dict[tuple, int] = {}
        out: list[Row] = []
        prev: tuple | None = None
        for r in rows:
            key_parts = []
            missing = False
            for fld in c.fields:
                v = r.f.get(fld)
                if v is None:
                    missing = True
                    break
                key_parts.append(tuple(mv(v)))
            if missing:
                if c.keepempty:
                    out.append(r)
                continue
            key = tuple(key_parts)
            if c.consecutive:
                if key != prev:
                    out.append(r)
                prev = key
                continue
            n = seen.get(key, 0)
            if n < c.count:
                seen[key] = n + 1
                out.append(r)
        if c.sortby:
            out = sort_rows(out, c.sortby)
        return out


def sort_rows(rows: list[Row], keys: list[tuple[str, bool, str]]) -> list[Row]:
    out = list(rows)
    for fld, desc, mode in reversed(keys):
        def k(r: Row, fld: str = fld, mode: str = mode) -> tuple:
            v = r.f.get(fld)
            if mode == "num":
                n = num(v)
                return (0, n, "") if n is not None else (1, 0, to_str(v) or "")
            if mode == "str":
                return (1, 0, to_str(v) or "")
            return sort_key(v)
        present = [r for r in out if r.f.get(fld) is not None]
        nulls = [r for r in out if r.f.get(fld) is None]
        present.sort(key=k, reverse=desc)
        out = present + nulls
    return out


class SortOp(Op):
    streaming = False

    def __init__(self, cmd: A.SortCmd):
        self.cmd = cmd

    def apply(self, rows: list[Row]) -> list[Row]:
        out = sort_rows(rows, self.cmd.keys)
        return out[: self.cmd.limit] if self.cmd.limit else out


class HeadOp(Op):
    streaming = False

    def __init__(self, n: int):
        self.n = n

    def apply(self, rows: list[Row]) -> list[Row]:
        return rows[: self.n]


class TailOp(Op):
    streaming = False

    def __init__(self, n: int):
        self.n = n

    def apply(self, rows: list[Row]) -> list[Row]:
        return list(reversed(rows[-self.n :])) if self.n else []


class ReverseOp(Op):
    streaming = False

    def apply(self, rows: list[Row]) -> list[Row]:
        return list(reversed(rows))


class FilterSearchOp(SearchOp):
    """A later ``| search`` (no subsearch): same matcher, applied to result rows."""

    @staticmethod
    def build(cmd: A.SearchCmd, text: str, resolve=None) -> FilterSearchOp:  # noqa: ANN001
        return FilterSearchOp(compile_search(cmd.expr, resolve, text))


def iter_apply(op: Op, rows: Iterable[Row]) -> Iterable[Row]:
    for r in rows:
        yield from op.process(r)
