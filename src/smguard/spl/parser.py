"""Parser: search text -> :class:`~smguard.spl.ast.Pipeline`.

The pipeline is split on top-level pipes; each command's slice is tokenized in the
mode that command's grammar needs (see :mod:`smguard.spl.tokenizer`) and turned into
one ast dataclass. Anything not understood raises :class:`SplError` at its offset:
the engine must never quietly run a different search than the one written.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

from smguard.spl import ast as A
from smguard.spl.errors import SplError, UnsupportedError
from smguard.spl.tokenizer import (
    COMMA,
    EOF_,
    FIELD,
    LPAREN,
    NUMBER,
    OP,
    RPAREN,
    STRING,
    SUBSEARCH,
    WORD,
    Token,
    split_pipeline,
    tokenize_eval,
    tokenize_search,
)

MAX_NESTING = 50
"""Parentheses, function calls and subsearches may nest this deep (Python recursion bound)."""
MAX_EXPR_DEPTH = 400
"""An eval expression tree may be this deep (long ``a+b+c...`` chains count one per term)."""

_nesting: ContextVar[int] = ContextVar("spl_nesting", default=0)


@contextmanager
def _nested(pos: int, text: str) -> Iterator[None]:
    """One level of nesting; past :data:`MAX_NESTING` a clear error instead of RecursionError."""
    depth = _nesting.get() + 1
    if depth > MAX_NESTING:
        raise SplError(f"nesting deeper than {MAX_NESTING} levels (parentheses, function calls, subsearches)", pos, text)
    token = _nesting.set(depth)
    try:
        yield
    finally:
        _nesting.reset(token)


def _flat(op: str, items: list[A.Expr]) -> A.Expr:
    return items[0] if len(items) == 1 else A.BoolOp(op, tuple(items))


def _children(e: A.Expr) -> tuple[A.Expr, ...]:
    if isinstance(e, A.BinOp):
        return (e.left, e.right)
    if isinstance(e, A.BoolOp | A.Call):
        return e.items if isinstance(e, A.BoolOp) else e.args
    if isinstance(e, A.UnaryOp):
        return (e.operand,)
    return ()


def check_depth(e: A.Expr, pos: int, text: str) -> A.Expr:
    """Refuse an expression tree deeper than :data:`MAX_EXPR_DEPTH` (walked without recursion)."""
    stack = [(e, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_EXPR_DEPTH:
            raise SplError(f"expression nested deeper than {MAX_EXPR_DEPTH} levels (split it up)", pos, text)
        stack.extend((c, depth + 1) for c in _children(node))
    return e


class Cursor:
    """A position in a token list, with the source text for error messages."""

    def __init__(self, toks: list[Token], text: str):
        self.toks = toks
        self.i = 0
        self.text = text

    def peek(self, k: int = 0) -> Token:
        j = min(self.i + k, len(self.toks) - 1)
        return self.toks[j]

    def next(self) -> Token:
        t = self.toks[self.i]
        if t.kind != EOF_:
            self.i += 1
        return t

    def at_end(self) -> bool:
        return self.peek().kind == EOF_

    def error(self, msg: str, tok: Token | None = None) -> SplError:
        return SplError(msg, (tok or self.peek()).pos, self.text)

    def expect(self, kind: str, what: str = "") -> Token:
        t = self.peek()
        if t.kind != kind:
            raise self.error(f"expected {what or kind}, found {t.value or t.kind!r}", t)
        return self.next()

    def accept(self, kind: str, value: str | None = None) -> Token | None:
        t = self.peek()
        if t.kind == kind and (value is None or t.value == value):
            return self.next()
        return None

    def accept_word(self, *words: str) -> Token | None:
        t = self.peek()
        if t.is_word(*words):
            return self.next()
        return None


# ------------------------------------------------------------------ entry points


def parse(text: str) -> A.Pipeline:
    """Parse a macro-expanded SPL search into a Pipeline.

    Parsing is a pure function of the text and the AST is never changed after it is
    built (frozen dataclasses; optimizer rules return new nodes), so one parse per
    distinct text is shared: a scheduled replay plans the same search once per run, and
    every CLI command checks every detection's search again (``tests/spl/
    test_parse_cache.py`` holds the AST unchanged through planning and execution). A
    text that fails is not remembered; it fails the same way each time. Inside a
    subsearch (nesting above 0) the depth bound depends on the caller, so nothing is
    shared there.
    """
    if "`" in text:
        pos = text.index("`")
        raise SplError("unexpanded macro: call expand_macros() first", pos, text)
    if _nesting.get():
        return parse_pipeline(text, 0, len(text))
    return _parse_top(text)


@lru_cache(maxsize=1024)
def _parse_top(text: str) -> A.Pipeline:
    return parse_pipeline(text, 0, len(text))


def parse_pipeline(text: str, start: int, end: int) -> A.Pipeline:
    spans = split_pipeline(text, start, end)
    commands: list[A.Command] = []
    first = True
    leading_pipe = False
    for s, e in spans:
        seg = text[s:e]
        if not seg.strip():
            if first and len(spans) > 1:
                leading_pipe = True
                first = False
                continue
            if first:
                # empty search: match everything
                commands.append(A.SearchCmd(None, pos=s))
                first = False
                continue
            raise SplError("empty command between pipes", s, text)
        m = re.match(r"\s*([A-Za-z_][A-Za-z0-9_]*)", seg)
        name = m.group(1).lower() if m else ""
        is_first_cmd = not commands
        if is_first_cmd and not leading_pipe and name != "search":
            # implicit search at the start of a pipeline
            commands.append(_parse_search_cmd(text, s, e, s))
        else:
            if not m:
                raise SplError("expected a command name", s, text)
            name_pos = s + m.start(1)
            args_start = s + m.end(1)
            parser = _COMMANDS.get(name)
            if parser is None and name in UNIMPLEMENTED_COMMANDS:
                parser = _p_unimplemented
            if parser is None:
                raise UnsupportedError(f"unsupported command '{name}'", name_pos, text)
            cmd = parser(text, args_start, e, name_pos, name)
            commands.append(cmd)
        first = False
    return A.Pipeline(commands, text[start:end])


# ------------------------------------------------------------------ search expressions


def _parse_search_cmd(text: str, s: int, e: int, pos: int) -> A.SearchCmd:
    cur = Cursor(tokenize_search(text, s, e), text)
    expr = parse_search_expr(cur)
    if not cur.at_end():
        raise cur.error(f"unexpected {cur.peek().value!r} in search")
    return A.SearchCmd(expr, pos=pos)


def parse_search_expr(cur: Cursor) -> A.SearchExpr | None:
    """Search grammar: implied/explicit AND of OR-groups; OR binds tighter; NOT is unary."""
    items: list[A.SearchExpr] = []
    while not cur.at_end() and cur.peek().kind != RPAREN:
        if cur.peek().kind == WORD and cur.peek().value == "AND":
            cur.next()
            continue
        items.append(_search_or(cur))
    if not items:
        return None
    return items[0] if len(items) == 1 else A.SAnd(tuple(items))


def _search_or(cur: Cursor) -> A.SearchExpr:
    items = [_search_not(cur)]
    while cur.peek().kind == WORD and cur.peek().value == "OR":
        cur.next()
        items.append(_search_not(cur))
    return items[0] if len(items) == 1 else A.SOr(tuple(items))


def _search_not(cur: Cursor) -> A.SearchExpr:
    # NOT NOT x is x in search (no nulls there): count them instead of recursing.
    negations = 0
    while cur.peek().kind == WORD and cur.peek().value == "NOT":
        cur.next()
        negations += 1
    inner = _search_primary(cur)
    return A.SNot(inner) if negations % 2 else inner


def _search_primary(cur: Cursor) -> A.SearchExpr:
    t = cur.peek()
    if t.kind == LPAREN:
        cur.next()
        with _nested(t.pos, cur.text):
            inner = parse_search_expr(cur)
        cur.expect(RPAREN, "')'")
        if inner is None:
            raise cur.error("empty parentheses in search", t)
        return inner
    if t.kind == SUBSEARCH:
        cur.next()
        with _nested(t.pos, cur.text):
            return A.SSubsearch(parse_pipeline(cur.text, t.pos, t.pos + len(t.value)), pos=t.pos)
    if t.kind == WORD and t.value in ("OR", "AND") :
        raise cur.error(f"'{t.value}' without a left operand", t)
    if t.kind in (WORD, STRING):
        cur.next()
        nxt = cur.peek()
        if t.kind == WORD and t.value.upper() in ("CASE", "TERM") and nxt.kind == LPAREN:
            cur.next()
            val = cur.next()
            if val.kind not in (WORD, STRING):
                raise cur.error(f"expected a term inside {t.value}()", val)
            cur.expect(RPAREN, "')'")
            kind = t.value.upper()
            return A.STerm(val.value, case_sensitive=kind == "CASE", whole=kind == "TERM", pos=t.pos)
        if nxt.kind == OP:
            cur.next()
            v = cur.peek()
            if v.kind not in (WORD, STRING):
                raise cur.error(f"expected a value after {t.value}{nxt.value}", v)
            cur.next()
            if v.kind == WORD and v.value.upper() in ("CASE", "TERM") and cur.peek().kind == LPAREN:
                cur.next()
                inner = cur.next()
                if inner.kind not in (WORD, STRING):
                    raise cur.error(f"expected a value inside {v.value}()", inner)
                cur.expect(RPAREN, "')'")
                if v.value.upper() == "TERM":
                    # TERM() names an indexed segment of _raw; on a field value its
                    # meaning is not documented, so it is refused rather than guessed
                    raise UnsupportedError(f"TERM() as a field value ({t.value}{nxt.value}TERM(...)) is not supported; "
                                           "use TERM() as a bare term", v.pos, cur.text)
                return A.SCompare(t.value, nxt.value, inner.value, case_sensitive=True, pos=t.pos)
            return A.SCompare(t.value, nxt.value, v.value, pos=t.pos)
        if nxt.kind == WORD and nxt.value.upper() == "IN" and cur.peek(1).kind == LPAREN:
            cur.next()
            cur.next()
            values: list[str] = []
            while True:
                v = cur.next()
                if v.kind == RPAREN:
                    break
                if v.kind == COMMA:
                    continue
                if v.kind not in (WORD, STRING):
                    raise cur.error("expected a value in IN (...)", v)
                values.append(v.value)
            return A.SIn(t.value, tuple(values), pos=t.pos)
        return A.STerm(t.value, pos=t.pos)
    raise cur.error(f"unexpected {t.value or t.kind!r} in search", t)


# ------------------------------------------------------------------ eval expressions

_CMP = {"=", "==", "!=", "<", ">", "<=", ">="}


class EvalParser:
    """Recursive descent: OR/XOR < AND < NOT < comparison < + - . < * / % < unary."""

    def __init__(self, cur: Cursor):
        self.cur = cur

    def parse(self) -> A.Expr:
        return self.or_()

    def _kw(self, word: str) -> bool:
        t = self.cur.peek()
        if t.kind != WORD or t.value.upper() != word:
            return False
        # Boolean operators are never functions: `(a) OR (b)` is an OR. Only LIKE doubles
        # as a function name (like(x, pattern)).
        return word != "LIKE" or self.cur.peek(1).kind != LPAREN

    def or_(self) -> A.Expr:
        items = [self.and_()]  # the current run of ORs, one flat node
        while self._kw("OR") or self._kw("XOR"):
            op = self.cur.next().value.upper()
            right = self.and_()
            if op == "OR":
                items.append(right)
            else:
                items = [A.BinOp("XOR", _flat("OR", items), right)]
        return _flat("OR", items)

    def and_(self) -> A.Expr:
        items = [self.not_()]
        while self._kw("AND"):
            self.cur.next()
            items.append(self.not_())
        return _flat("AND", items)

    def not_(self) -> A.Expr:
        # NOT's result is a boolean or null, so NOT NOT NOT x == NOT x: count, do not recurse.
        negations = 0
        while self._kw("NOT"):
            self.cur.next()
            negations += 1
        e = self.cmp()
        for _ in range(1 if negations % 2 else min(negations, 2)):
            e = A.UnaryOp("NOT", e)
        return e

    def cmp(self) -> A.Expr:
        left = self.add()
        while True:
            t = self.cur.peek()
            if t.kind == OP and t.value in _CMP:
                self.cur.next()
                op = "=" if t.value == "==" else t.value
                left = A.BinOp(op, left, self.add())
            elif self._kw("LIKE"):
                self.cur.next()
                left = A.BinOp("LIKE", left, self.add())
            elif t.kind == WORD and t.value.upper() == "IN" and self.cur.peek(1).kind == LPAREN:
                self.cur.next()
                self.cur.next()
                with _nested(t.pos, self.cur.text):
                    left = A.Call("in", (left, *self._args()), t.pos)
            else:
                return left

    def _args(self) -> tuple[A.Expr, ...]:
        """A comma-separated argument list after '(' up to and including ')'."""
        args: list[A.Expr] = []
        if not self.cur.accept(RPAREN):
            while True:
                args.append(self.parse())
                if self.cur.accept(RPAREN):
                    break
                self.cur.expect(COMMA, "',' or ')'")
        return tuple(args)

    def add(self) -> A.Expr:
        left = self.mul()
        while True:
            t = self.cur.peek()
            if t.kind == OP and t.value in ("+", "-", "."):
                self.cur.next()
                left = A.BinOp(t.value, left, self.mul())
            else:
                return left

    def mul(self) -> A.Expr:
        left = self.unary()
        while True:
            t = self.cur.peek()
            if t.kind == OP and t.value in ("*", "/", "%"):
                self.cur.next()
                left = A.BinOp(t.value, left, self.unary())
            else:
                return left

    def unary(self) -> A.Expr:
        # Unary +/- counted in a loop (-(-x) is tonumber-like, so at most two are kept).
        minus = 0
        while (t := self.cur.peek()).kind == OP and t.value in ("-", "+"):
            self.cur.next()
            minus += t.value == "-"
        operand = self.primary()
        for _ in range(1 if minus % 2 else min(minus, 2)):
            if isinstance(operand, A.Literal) and isinstance(operand.value, int | float) and not isinstance(operand.value, bool):
                operand = A.Literal(-operand.value)
            else:
                operand = A.UnaryOp("-", operand)
        return operand

    def primary(self) -> A.Expr:
        t = self.cur.next()
        if t.kind == NUMBER:
            v = t.value
            if re.fullmatch(r"\d+", v):
                return A.Literal(int(v))
            return A.Literal(float(v))
        if t.kind == STRING:
            return A.Literal(t.value)
        if t.kind == FIELD:
            return A.FieldRef(t.value)
        if t.kind == LPAREN:
            with _nested(t.pos, self.cur.text):
                e = self.parse()
            self.cur.expect(RPAREN, "')'")
            return e
        if t.kind == WORD:
            if self.cur.peek().kind == LPAREN:
                self.cur.next()
                with _nested(t.pos, self.cur.text):
                    return A.Call(t.value.lower(), self._args(), t.pos)
            if t.value.upper() in ("AND", "OR", "NOT", "XOR", "LIKE"):
                raise self.cur.error(f"unexpected operator {t.value!r}", t)
            return A.FieldRef(t.value)
        raise self.cur.error(f"unexpected {t.value or 'end of expression'!r} in expression", t)


def parse_eval_expr(text: str, start: int, end: int) -> A.Expr:
    cur = Cursor(tokenize_eval(text, start, end), text)
    e = EvalParser(cur).parse()
    if not cur.at_end():
        raise cur.error(f"unexpected {cur.peek().value!r} in expression")
    return check_depth(e, start, text)


# ------------------------------------------------------------------ helpers for commands


def _search_cursor(text: str, s: int, e: int) -> Cursor:
    return Cursor(tokenize_search(text, s, e), text)


def _is_option(cur: Cursor) -> bool:
    return cur.peek().kind == WORD and cur.peek(1).kind == OP and cur.peek(1).value == "="


def _take_options(cur: Cursor, allowed: set[str], cmd: str) -> dict[str, str]:
    opts: dict[str, str] = {}
    while _is_option(cur):
        key = cur.peek()
        if key.value.lower() not in allowed:
            raise UnsupportedError(f"unsupported argument '{key.value}' for {cmd}", key.pos, cur.text)
        cur.next()
        cur.next()
        v = cur.next()
        if v.kind not in (WORD, STRING):
            raise cur.error(f"expected a value for {key.value}=", v)
        opts[key.value.lower()] = v.value
    return opts


def _bool(v: str) -> bool:
    return v.lower() in ("t", "true", "1", "yes")


def _field_list(cur: Cursor, stop_words: tuple[str, ...] = ()) -> list[str]:
    out: list[str] = []
    while not cur.at_end():
        t = cur.peek()
        if t.kind == COMMA:
            cur.next()
            continue
        if t.kind in (WORD, STRING):
            if t.kind == WORD and t.value.lower() in stop_words:
                break
            if _is_option(cur):
                break
            out.append(cur.next().value)
            continue
        break
    return out


def _end(cur: Cursor, cmd: str) -> None:
    if not cur.at_end():
        t = cur.peek()
        raise UnsupportedError(f"unexpected or unsupported argument {t.value or t.kind!r} for {cmd}", t.pos, cur.text)


# ------------------------------------------------------------------ commands


def _p_search(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    return _parse_search_cmd(text, s, e, pos)


def _p_where(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    if not text[s:e].strip():
        raise SplError("where needs an expression", pos, text)
    return A.WhereCmd(parse_eval_expr(text, s, e), pos=pos)


def _p_eval(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = Cursor(tokenize_eval(text, s, e), text)
    assigns: list[tuple[str, A.Expr]] = []
    while True:
        first = cur.peek()
        if first.kind == EOF_:
            raise cur.error("eval needs field=expression")
        if first.kind in (FIELD, STRING):
            cur.next()
            target = first.value
        else:
            # bare target: everything up to the '=' (allows dotted names)
            j = cur.i
            while cur.toks[j].kind not in (EOF_,) and not (cur.toks[j].kind == OP and cur.toks[j].value == "="):
                j += 1
            if cur.toks[j].kind == EOF_ or j == cur.i:
                raise cur.error("eval needs field=expression", first)
            target = text[first.pos : cur.toks[j].pos].strip()
            cur.i = j
        eq = cur.next()
        if not (eq.kind == OP and eq.value == "="):
            raise cur.error("expected '=' after eval target", eq)
        expr = check_depth(EvalParser(cur).parse(), eq.pos, text)
        assigns.append((target, expr))
        if cur.accept(COMMA):
            continue
        if cur.at_end():
            break
        raise cur.error(f"unexpected {cur.peek().value!r} in eval")
    return A.EvalCmd(assigns, pos=pos)


_STATS_FUNCS = {
    "count", "c", "dc", "distinct_count", "values", "list", "min", "max", "sum", "avg", "mean",
    "earliest", "latest", "first", "last", "stdev", "stdevp", "var", "varp", "median", "range",
    "mode", "sumsq", "earliest_time", "latest_time",
}
_PERC_RE = re.compile(r"(?:perc|p|exactperc|upperperc)(\d+(?:\.\d+)?)$", re.I)
_STATS_OPTS = {
    "stats": {"allnum", "delim", "partitions", "dedup_splitvals"},
    "eventstats": {"allnum"},
    "streamstats": {"window", "time_window", "current", "global", "allnum", "reset_on_change"},
}


def _p_stats(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, _STATS_OPTS[name], name)
    aggs: list[A.Agg] = []
    by: list[str] = []
    while not cur.at_end():
        t = cur.peek()
        if t.kind == COMMA:
            cur.next()
            continue
        if t.is_word("by"):
            cur.next()
            by = _field_list(cur)
            if not by:  # Splunk refuses a bare BY clause; grouping by nothing must not pass silently
                raise cur.error(f"{name}: 'by' must be followed by at least one field", t)
            break
        if t.kind != WORD:
            raise cur.error(f"expected a stats function, found {t.value!r}", t)
        cur.next()
        fname = t.value.lower()
        m = _PERC_RE.fullmatch(fname)
        if fname not in _STATS_FUNCS and not m:
            raise UnsupportedError(f"unsupported stats function '{t.value}'", t.pos, text)
        arg: str | None = None
        eval_expr: A.Expr | None = None
        label = t.value
        if cur.peek().kind == LPAREN:
            lp = cur.next()
            depth = 1
            while depth:
                x = cur.next()
                if x.kind == EOF_:
                    raise cur.error("unclosed '(' in stats function", lp)
                if x.kind == LPAREN:
                    depth += 1
                elif x.kind == RPAREN:
                    depth -= 1
            rp = cur.toks[cur.i - 1]
            inner = text[lp.pos + 1 : rp.pos].strip()
            label = f"{t.value}({inner})"
            em = re.match(r"eval\s*\(", inner, re.I)
            if em:
                istart = lp.pos + 1 + (len(text[lp.pos + 1 : rp.pos]) - len(text[lp.pos + 1 : rp.pos].lstrip())) + em.end()
                close = rp.pos - 1
                while text[close] != ")":
                    close -= 1
                eval_expr = parse_eval_expr(text, istart, close)
            else:
                if inner.startswith('"') and inner.endswith('"') and len(inner) >= 2:
                    inner = inner[1:-1]
                arg = inner
        elif fname not in ("count", "c"):
            raise cur.error(f"stats function '{t.value}' needs a field", t)
        alias = None
        if cur.accept_word("as"):
            a = cur.next()
            if a.kind not in (WORD, STRING):
                raise cur.error("expected a name after 'as'", a)
            alias = a.value
        canon = {"c": "count", "distinct_count": "dc", "mean": "avg"}.get(fname, fname)
        param = None
        if m:
            canon = "perc"
            param = float(m.group(1))
        elif canon == "median":
            canon, param = "perc", 50.0
        aggs.append(A.Agg(canon, arg, label, alias, eval_expr, param))
    _end(cur, name)
    if not aggs:
        raise SplError(f"{name} needs at least one function", pos, text)
    return A.StatsCmd(name, aggs, by, opts, pos=pos)


def _p_bin(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts: dict[str, str] = {}
    fld = None
    alias = None
    while not cur.at_end():
        if _is_option(cur):
            opts.update(_take_options(cur, {"span", "bins", "minspan", "aligntime", "start", "end"}, name))
            continue
        if cur.accept_word("as"):
            alias = cur.next().value
            continue
        t = cur.next()
        if t.kind not in (WORD, STRING) or fld is not None:
            raise cur.error(f"unexpected {t.value!r} for {name}", t)
        fld = t.value
    for unsupported in ("bins", "minspan", "aligntime", "start", "end"):
        if unsupported in opts:
            raise UnsupportedError(f"unsupported argument '{unsupported}' for {name}", pos, text)
    if "span" not in opts:
        raise UnsupportedError(f"{name} without span= is not supported", pos, text)
    if fld is None:
        raise SplError(f"{name} needs a field", pos, text)
    return A.BinCmd(fld, opts["span"], alias, pos=pos)


def _p_table(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    fields = _field_list(cur)
    _end(cur, name)
    return A.TableCmd(fields, pos=pos)


def _p_fields(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    remove = False
    t = cur.peek()
    if t.kind == WORD and t.value in ("-", "+"):
        remove = t.value == "-"
        cur.next()
    fields = _field_list(cur)
    _end(cur, name)
    return A.FieldsCmd(fields, remove, pos=pos)


def _p_rename(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    pairs: list[tuple[str, str]] = []
    while not cur.at_end():
        if cur.accept(COMMA):
            continue
        src = cur.next()
        if src.kind not in (WORD, STRING):
            raise cur.error("expected a field to rename", src)
        if not cur.accept_word("as"):
            raise cur.error("expected 'as' in rename")
        dst = cur.next()
        if dst.kind not in (WORD, STRING):
            raise cur.error("expected a new field name", dst)
        pairs.append((src.value, dst.value))
    if not pairs:
        raise SplError("rename needs 'field as newname'", pos, text)
    return A.RenameCmd(pairs, pos=pos)


def _sort_keys(cur: Cursor) -> list[tuple[str, bool, str]]:
    keys: list[tuple[str, bool, str]] = []
    desc_next: bool | None = None
    while not cur.at_end():
        t = cur.peek()
        if t.kind == COMMA:
            cur.next()
            continue
        if t.kind != WORD and t.kind != STRING:
            break
        if t.kind == WORD and t.value in ("-", "+"):
            desc_next = t.value == "-"
            cur.next()
            continue
        if t.kind == WORD and t.value.lower() == "d" and keys and cur.peek(1).kind == EOF_:
            cur.next()
            keys = [(f, not d, m) for f, d, m in keys]
            break
        cur.next()
        val = t.value
        desc = False
        if t.kind == WORD and val[:1] in "-+":
            desc = val[0] == "-"
            val = val[1:]
        if desc_next is not None:
            desc = desc_next
            desc_next = None
        mode = "auto"
        if t.kind == WORD and val.lower() in ("num", "str", "ip", "auto") and cur.peek().kind == LPAREN:
            mode = val.lower()
            cur.next()
            val = cur.next().value
            cur.expect(RPAREN, "')'")
        keys.append((val, desc, mode))
    return keys


def _p_sort(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    limit = 10000
    opts = _take_options(cur, {"limit"}, name)
    if "limit" in opts:
        limit = int(opts["limit"])
    t = cur.peek()
    if t.kind == WORD and t.value.isdigit():
        limit = int(t.value)
        cur.next()
    keys = _sort_keys(cur)
    _end(cur, name)
    if not keys:
        raise SplError("sort needs at least one field", pos, text)
    return A.SortCmd(keys, limit if limit > 0 else 0, pos=pos)


def _p_dedup(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    count = 1
    t = cur.peek()
    if t.kind == WORD and t.value.isdigit():
        count = int(t.value)
        cur.next()
    opts = _take_options(cur, {"keepempty", "consecutive", "keepevents"}, name)
    fields = _field_list(cur, stop_words=("sortby",))
    opts.update(_take_options(cur, {"keepempty", "consecutive", "keepevents"}, name))
    sortby: list[tuple[str, bool, str]] = []
    if cur.accept_word("sortby"):
        sortby = _sort_keys(cur)
    _end(cur, name)
    if "keepevents" in opts:
        raise UnsupportedError("unsupported argument 'keepevents' for dedup", pos, text)
    if not fields:
        raise SplError("dedup needs at least one field", pos, text)
    return A.DedupCmd(fields, count, _bool(opts.get("keepempty", "f")), _bool(opts.get("consecutive", "f")), sortby, pos=pos)


def _p_head(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"limit"}, name)
    n = int(opts.get("limit", 10))
    t = cur.peek()
    if t.kind == WORD and t.value.isdigit():
        n = int(t.value)
        cur.next()
    _end(cur, name)
    return (A.HeadCmd if name == "head" else A.TailCmd)(n, pos=pos)


def _p_reverse(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    _end(_search_cursor(text, s, e), name)
    return A.ReverseCmd(pos=pos)


def _p_fillnull(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"value"}, name)
    fields = _field_list(cur)
    _end(cur, name)
    return A.FillnullCmd(opts.get("value", "0"), fields, pos=pos)


def _p_rex(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"field", "max_match", "mode", "offset_field"}, name)
    rx = cur.expect(STRING, "a quoted regular expression")
    opts.update(_take_options(cur, {"field", "max_match", "mode", "offset_field"}, name))
    _end(cur, name)
    if "mode" in opts or "offset_field" in opts:
        raise UnsupportedError("rex mode=sed / offset_field are not supported", pos, text)
    mm = int(opts.get("max_match", 1))
    return A.RexCmd(rx.value, opts.get("field", "_raw"), mm, pos=pos)


def _p_regex(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    """``regex field="re"`` / ``regex field!="re"`` / ``regex "re"`` (field ``_raw``); the
    expression must be quoted and ``NOT`` is not valid (Search Reference, regex:
    https://help.splunk.com/splunk-enterprise/spl-search-reference/9.4/search-commands/regex)."""
    cur = _search_cursor(text, s, e)
    t = cur.next()
    field, negate = "_raw", False
    if t.kind == WORD and t.value.upper() == "NOT":
        raise cur.error("regex does not accept NOT; use field!=\"<regex>\"", t)
    if t.kind == WORD and cur.peek().kind == OP:
        op = cur.next()
        if op.value not in ("=", "!="):
            raise cur.error(f"regex takes field=\"<regex>\" or field!=\"<regex>\", not {op.value!r}", op)
        field, negate = t.value, op.value == "!="
        t = cur.next()
    if t.kind != STRING:
        raise cur.error("regex needs a quoted regular expression", t)
    _end(cur, name)
    return A.RegexCmd(t.value, field, negate, pos=pos)


# Distributable streaming commands a multisearch subsearch may hold besides its leading
# search (Search Reference, "Command types"); anything else is refused, as Splunk does.
MULTISEARCH_STREAMING = frozenset({
    "search", "where", "eval", "fields", "rename", "rex", "regex", "spath", "convert", "lookup", "mvexpand",
    "bin", "fillnull",
})


def _p_multisearch(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    """Two or more ``[search ...]`` subsearches of streaming commands only (Search Reference,
    multisearch:
    https://help.splunk.com/splunk-cloud-platform/spl-search-reference/10.0.2503/search-commands/multisearch)."""
    cur = _search_cursor(text, s, e)
    subs: list[A.Pipeline] = []
    while not cur.at_end():
        t = cur.next()
        if t.kind != SUBSEARCH:
            raise cur.error(f"multisearch takes only [subsearches], found {t.value!r}", t)
        sub = parse_pipeline(text, t.pos, t.pos + len(t.value))
        n = len(subs) + 1
        first = sub.commands[0]
        if not isinstance(first, A.SearchCmd):
            raise SplError(f"multisearch subsearch {n} must start with search, not '{first.name}'", first.pos, text)
        for c in sub.commands[1:]:
            if c.name not in MULTISEARCH_STREAMING or (isinstance(c, A.FillnullCmd) and not c.fields):
                raise SplError(f"multisearch subsearches may only contain purely streaming operations "
                               f"(subsearch {n} contains the non-streaming command '{c.name}')", c.pos, text)
        subs.append(sub)
    if len(subs) < 2:
        raise SplError("multisearch needs at least two subsearches", pos, text)
    return A.MultisearchCmd(subs, pos=pos)


def _p_spath(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts: dict[str, str] = {}
    path = None
    while not cur.at_end():
        if _is_option(cur):
            opts.update(_take_options(cur, {"input", "output", "path"}, name))
            continue
        t = cur.next()
        if t.kind not in (WORD, STRING) or path is not None:
            raise cur.error(f"unexpected {t.value!r} for spath", t)
        path = t.value
    if "path" in opts:
        path = opts["path"]
    return A.SpathCmd(opts.get("input", "_raw"), opts.get("output"), path, pos=pos)


def _p_mvexpand(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"limit"}, name)
    f = cur.next()
    if f.kind not in (WORD, STRING):
        raise cur.error("mvexpand needs a field", f)
    opts.update(_take_options(cur, {"limit"}, name))
    _end(cur, name)
    return A.MvexpandCmd(f.value, int(opts["limit"]) if "limit" in opts else None, pos=pos)


def _p_lookup(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"local", "update", "event_time_field"}, name)
    if "event_time_field" in opts:
        raise UnsupportedError("time-based lookups are not supported", pos, text)
    tbl = cur.next()
    if tbl.kind not in (WORD, STRING):
        raise cur.error("lookup needs a table name", tbl)

    def pairs(stop: tuple[str, ...]) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        while not cur.at_end():
            if cur.accept(COMMA):
                continue
            t = cur.peek()
            if t.kind == WORD and t.value.upper() in stop:
                break
            if t.kind not in (WORD, STRING):
                raise cur.error(f"unexpected {t.value!r} in lookup", t)
            cur.next()
            dst = t.value
            if cur.accept_word("as"):
                dst = cur.next().value
            out.append((t.value, dst))
        return out

    inputs = pairs(("OUTPUT", "OUTPUTNEW"))
    outputs = None
    outputnew = False
    if not cur.at_end():
        kw = cur.next()
        outputnew = kw.value.upper() == "OUTPUTNEW"
        outputs = pairs(())
        if not outputs:
            raise cur.error(f"{kw.value} needs at least one field", kw)
    if not inputs:
        raise SplError("lookup needs at least one input field", pos, text)
    return A.LookupCmd(tbl.value, inputs, outputs, outputnew, pos=pos)


def _p_inputlookup(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"append", "start", "max"}, name)
    tbl = cur.next()
    if tbl.kind not in (WORD, STRING):
        raise cur.error("inputlookup needs a table name", tbl)
    opts.update(_take_options(cur, {"append", "start", "max"}, name))
    where = None
    if cur.accept_word("where"):
        where = parse_search_expr(cur)
    _end(cur, name)
    if "start" in opts or "max" in opts:
        raise UnsupportedError("inputlookup start=/max= are not supported", pos, text)
    return A.InputlookupCmd(tbl.value, _bool(opts.get("append", "f")), where, pos=pos)


def _p_outputlookup(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    _take_options(cur, {"append", "create_empty", "override_if_empty", "max", "key_field", "createinapp"}, name)
    tbl = cur.next()
    if tbl.kind not in (WORD, STRING):
        raise cur.error("outputlookup needs a table name", tbl)
    _end(cur, name)
    return A.OutputlookupCmd(tbl.value, pos=pos)


def _p_convert(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"timeformat"}, name)
    convs: list[tuple[str, str, str | None]] = []
    while not cur.at_end():
        if cur.accept(COMMA):
            continue
        f = cur.next()
        if f.kind != WORD or cur.peek().kind != LPAREN:
            raise cur.error("expected a conversion function like ctime(field)", f)
        fn = f.value.lower()
        if fn not in ("ctime", "mktime", "num", "none"):
            raise UnsupportedError(f"unsupported convert function '{f.value}'", f.pos, text)
        cur.next()
        fld = cur.next().value
        cur.expect(RPAREN, "')'")
        alias = None
        if cur.accept_word("as"):
            alias = cur.next().value
        convs.append((fn, fld, alias))
    if not convs:
        raise SplError("convert needs a conversion", pos, text)
    return A.ConvertCmd(opts.get("timeformat", "%m/%d/%Y %H:%M:%S"), convs, pos=pos)


def _subsearch_tail(cur: Cursor, name: str) -> A.Pipeline:
    t = cur.next()
    if t.kind != SUBSEARCH:
        raise cur.error(f"{name} needs a [subsearch]", t)
    _end(cur, name)
    return parse_pipeline(cur.text, t.pos, t.pos + len(t.value))


def _p_join(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"type", "max", "overwrite", "usetime", "earlier"}, name)
    fields = _field_list(cur)
    opts.update(_take_options(cur, {"type", "max", "overwrite", "usetime", "earlier"}, name))
    if "usetime" in opts or "earlier" in opts:
        raise UnsupportedError("join usetime/earlier are not supported", pos, text)
    jtype = opts.get("type", "inner").lower()
    if jtype not in ("inner", "left", "outer"):
        raise UnsupportedError(f"unsupported join type '{jtype}'", pos, text)
    sub = _subsearch_tail(cur, name)
    if not fields:
        raise UnsupportedError("join without fields is not supported", pos, text)
    return A.JoinCmd(fields, sub, "left" if jtype == "outer" else jtype, int(opts.get("max", 1)), _bool(opts.get("overwrite", "t")), pos=pos)


def _p_append(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    _take_options(cur, {"extendtimerange"}, name)
    return A.AppendCmd(_subsearch_tail(cur, name), pos=pos)


def _p_makeresults(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    cur = _search_cursor(text, s, e)
    opts = _take_options(cur, {"count"}, name)
    _end(cur, name)
    return A.MakeresultsCmd(int(opts.get("count", 1)), pos=pos)


# Real Splunk commands that parse (so a search using them is recognised as SPL) but raise
# UnsupportedError naming the command when the search is run: never a silent empty result.
UNIMPLEMENTED_COMMANDS = frozenset({"anomalydetection", "transaction"})


def _p_unimplemented(text: str, s: int, e: int, pos: int, name: str) -> A.Command:
    return A.UnimplementedCmd(name, text[s:e].strip(), pos=pos)


_COMMANDS: dict[str, Callable[[str, int, int, int, str], A.Command]] = {
    "search": _p_search,
    "where": _p_where,
    "eval": _p_eval,
    "stats": _p_stats,
    "eventstats": _p_stats,
    "streamstats": _p_stats,
    "bin": _p_bin,
    "bucket": _p_bin,
    "table": _p_table,
    "fields": _p_fields,
    "rename": _p_rename,
    "dedup": _p_dedup,
    "sort": _p_sort,
    "head": _p_head,
    "tail": _p_head,
    "reverse": _p_reverse,
    "fillnull": _p_fillnull,
    "rex": _p_rex,
    "regex": _p_regex,
    "multisearch": _p_multisearch,
    "spath": _p_spath,
    "mvexpand": _p_mvexpand,
    "lookup": _p_lookup,
    "inputlookup": _p_inputlookup,
    "outputlookup": _p_outputlookup,
    "convert": _p_convert,
    "join": _p_join,
    "append": _p_append,
    "makeresults": _p_makeresults,
}

SUPPORTED_COMMANDS = tuple(sorted(_COMMANDS))
