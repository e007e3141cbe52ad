"""Eval expressions: the AST compiled to Python closures over a row's field dict.

Compiling once per search (rather than walking the tree per event) keeps the per-event
cost to a few function calls. Null is ``None`` and propagates: most functions of null
are null, comparisons with null are null (so ``where`` drops the row), and the
three-valued AND/OR follow SQL (false AND null = false, true OR null = true).
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import math
import re
import sys
import urllib.parse
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from smguard.spl import ast as A
from smguard.spl import pcre, timeutil
from smguard.spl.errors import SplError, UnsupportedError
from smguard.spl.values import Value, compare, fmt_number, mv, num, to_str

Fn = Callable[[dict], Value]


class EvalEnv:
    """What eval needs from the run: the fixed ``now()`` and the search text for errors.

    ``now`` is read when ``now()`` is evaluated, so a compiled search can be re-run for
    another scheduled time by setting it (nothing else is bound to it at compile time).
    """

    def __init__(self, now: float, text: str = ""):
        self.now = now
        self.text = text


# ------------------------------------------------------------------ field access

_WDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MONTHS = ["january", "february", "march", "april", "may", "june", "july", "august",
           "september", "october", "november", "december"]


def date_field(f: dict, name: str) -> Value:
    """Splunk's default ``date_*`` fields, derived from ``_time`` (UTC) when absent."""
    t = f.get("_time")
    if t is None:
        return None
    dt = datetime.fromtimestamp(float(t), UTC)
    part = name[5:]
    if part == "hour":
        return str(dt.hour)
    if part == "minute":
        return str(dt.minute)
    if part == "second":
        return str(dt.second)
    if part == "mday":
        return str(dt.day)
    if part == "month":
        return _MONTHS[dt.month - 1]
    if part == "wday":
        return _WDAYS[dt.weekday()]
    if part == "year":
        return str(dt.year)
    if part == "zone":
        return "0"
    return None


def field_getter(name: str) -> Fn:
    """A fast accessor for one field (with the ``date_*`` fallback)."""
    if name.startswith("date_"):
        def get_date(f: dict) -> Value:
            v = f.get(name)
            return v if v is not None else date_field(f, name)
        return get_date
    return lambda f: f.get(name)


# ------------------------------------------------------------------ helpers


def truthy(v: Value) -> bool:
    """Is a predicate value true? Null and false are not."""
    if v is None or v is False:
        return False
    if v is True:
        return True
    # non-boolean values used as conditions (e.g. where 'field') count as true when present
    return True


def _bool_or_null(v: Value) -> bool | None:
    if v is None:
        return None
    return truthy(v)


def compiled_regex(pat: str) -> pcre.Pattern:
    """User regexes go through :mod:`smguard.spl.pcre` (PCRE syntax, bounded matching)."""
    return pcre.compile(pat)


@lru_cache(maxsize=512)
def _like_regex(pat: str) -> re.Pattern[str]:
    out = []
    for c in pat:
        if c == "%":
            out.append(".*")
        elif c == "_":
            out.append(".")
        else:
            out.append(re.escape(c))
    return re.compile("".join(out) + r"\Z", re.S)


def like(v: Value, pat: Value) -> bool | None:
    if v is None or pat is None:
        return None
    p = _like_regex(to_str(pat) or "")
    return any(p.match(x) for x in mv(v))


def _arith(op: str, a: Value, b: Value) -> Value:
    """``a op b``; null when either is null, or (as the numeric functions do, see
    ``_numeric``) when the math fails: a number past double range meeting a float or a
    division (``OverflowError``), ``%`` of an infinity (``ValueError``). Never raises, so
    the optimizer may evaluate arithmetic on rows the original pipeline would not have."""
    if a is None or b is None:
        return None
    na, nb = num(a), num(b)
    if na is None or nb is None:
        if op == "+":
            sa, sb = to_str(a), to_str(b)
            return None if sa is None or sb is None else sa + sb
        return None
    try:
        return _numbers(op, na, nb)
    except (OverflowError, ValueError):
        return None


_DOUBLE_MAX = sys.float_info.max


def _in_range(r: int | float) -> int | float | None:
    """An exact integer result past double range is null: Splunk's numbers are doubles
    (and Python would refuse to print one past 4,300 digits)."""
    if type(r) is int and (r > _DOUBLE_MAX or r < -_DOUBLE_MAX):
        return None
    return r


def _numbers(op: str, na: int | float, nb: int | float) -> Value:
    if op == "+":
        return _in_range(na + nb)
    if op == "-":
        return _in_range(na - nb)
    if op == "*":
        return _in_range(na * nb)
    if op == "/":
        if nb == 0:
            return None
        r = na / nb
        return r
    if op == "%":
        if nb == 0:
            return None
        return math.fmod(na, nb) if isinstance(na, float) or isinstance(nb, float) else int(math.fmod(na, nb))
    raise SplError(f"unknown operator {op}")


_FAST_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": lambda x, y: x + y,
    "-": lambda x, y: x - y,
    "*": lambda x, y: x * y,
}


def _cmp(op: str, a: Value, b: Value) -> bool | None:
    if a is None or b is None:
        return None
    ta, tb = type(a), type(b)
    if (ta is int or ta is float) and (tb is int or tb is float):
        if op == "=":
            return a == b
        if op == "!=":
            return a != b
        if op == "<":
            return a < b
        if op == ">":
            return a > b
        if op == "<=":
            return a <= b
        return a >= b
    av = a if isinstance(a, list) else [a]
    bv = b if isinstance(b, list) else [b]
    for x in av:
        for y in bv:
            c = compare(x, y)
            if c is None:
                continue
            if (op == "=" and c == 0) or (op == "!=" and c != 0) or (op == "<" and c < 0) or (
                op == ">" and c > 0) or (op == "<=" and c <= 0) or (op == ">=" and c >= 0):
                return True
    return False


# ------------------------------------------------------------------ compiler


def compile_expr(e: A.Expr, env: EvalEnv) -> Fn:
    if isinstance(e, A.Literal):
        v = e.value
        return lambda f: v
    if isinstance(e, A.FieldRef):
        return field_getter(e.name)
    if isinstance(e, A.UnaryOp):
        inner = compile_expr(e.operand, env)
        if e.op == "NOT":
            def not_(f: dict) -> Value:
                b = _bool_or_null(inner(f))
                return None if b is None else not b
            return not_
        def neg(f: dict) -> Value:
            n = num(inner(f))
            return None if n is None else -n
        return neg
    if isinstance(e, A.BoolOp):
        return _compile_bool(e, env)
    if isinstance(e, A.BinOp):
        left = compile_expr(e.left, env)
        right = compile_expr(e.right, env)
        op = e.op
        if op == "XOR":
            def xor(f: dict) -> Value:
                a, b = _bool_or_null(left(f)), _bool_or_null(right(f))
                return None if a is None or b is None else a != b
            return xor
        if op == ".":
            def concat(f: dict) -> Value:
                a, b = left(f), right(f)
                if a is None or b is None:
                    return None
                return (to_str(a) or "") + (to_str(b) or "")
            return concat
        if op == "LIKE":
            return lambda f: like(left(f), right(f))
        if op in ("=", "!=", "<", ">", "<=", ">="):
            return lambda f: _cmp(op, left(f), right(f))
        fast = _FAST_ARITH.get(op)
        if fast is not None:
            def arith(f: dict) -> Value:
                a = left(f)
                if a is None:
                    return None
                b = right(f)
                if b is None:
                    return None
                ta, tb = type(a), type(b)
                if (ta is int or ta is float) and (tb is int or tb is float):
                    try:
                        r = fast(a, b)
                    except OverflowError:  # an int past double range meets a float: as _arith
                        return None
                    return _in_range(r) if type(r) is int else r
                return _arith(op, a, b)
            return arith
        return lambda f: _arith(op, left(f), right(f))
    if isinstance(e, A.Call):
        impl = FUNCS.get(e.name)
        if impl is None:
            raise UnsupportedError(f"unsupported eval function '{e.name}'", e.pos, env.text)
        lo, hi, make = impl
        if len(e.args) < lo or (hi >= 0 and len(e.args) > hi):
            raise SplError(f"function '{e.name}' takes {lo}..{hi if hi >= 0 else 'n'} arguments, got {len(e.args)}", e.pos, env.text)
        if e.name in _REGEX_FUNCS:
            pat = e.args[1]
            if isinstance(pat, A.Literal) and isinstance(pat.value, str):
                try:  # a literal pattern is checked when the search is planned, not on the first event
                    pcre.compile(pat.value)
                except SplError as exc:
                    raise SplError(exc.message, e.pos, env.text) from None
        fn = make(e, env)
        return _located(fn, e, env) if e.name in FAILS_ON_DATA else fn
    raise SplError(f"cannot evaluate {e!r}")


_REGEX_FUNCS = frozenset({"match", "replace", "mvfind"})  # the pattern is their second argument
FAILS_ON_DATA = _REGEX_FUNCS | {"relative_time"}
"""Functions that can fail on a value read from the data (a regex over its match limit, a
time spec that is not one): their errors are raised at the call's place in the search."""


def _located(fn: Fn, call: A.Call, env: EvalEnv) -> Fn:
    """``fn``, whose place-less errors (raised by the value, not the search) are re-raised at
    ``call``'s position, so the message points at the failing function, not the search."""
    pos, text = call.pos, env.text

    def located(f: dict) -> Value:
        try:
            return fn(f)
        except SplError as exc:
            raise exc.placed(pos, text) from None
    return located


def _compile_bool(e: A.BoolOp, env: EvalEnv) -> Fn:
    """Flat AND/OR: left to right, short-circuit, null when undecided (Splunk's 3-valued logic)."""
    parts = [compile_expr(i, env) for i in e.items]
    stop = e.op == "OR"  # the value that decides the whole node

    def bool_(f: dict) -> Value:
        unknown = False
        for part in parts:
            b = _bool_or_null(part(f))
            if b is stop:
                return stop
            unknown |= b is None
        return None if unknown else not stop
    return bool_


# ------------------------------------------------------------------ functions

Maker = Callable[[A.Call, EvalEnv], Fn]
FUNCS: dict[str, tuple[int, int, Maker]] = {}


def _reg(name: str, lo: int, hi: int) -> Callable[[Maker], Maker]:
    def deco(make: Maker) -> Maker:
        FUNCS[name] = (lo, hi, make)
        return make
    return deco


def _args(c: A.Call, env: EvalEnv) -> list[Fn]:
    return [compile_expr(a, env) for a in c.args]


def _simple(name: str, lo: int, hi: int, fn: Callable[..., Value], null_in_null_out: bool = True) -> None:
    """Register a strict function: arguments evaluated, null in -> null out."""

    def make(c: A.Call, env: EvalEnv) -> Fn:
        args = _args(c, env)
        if null_in_null_out:
            if len(args) == 1:
                (a0,) = args

                def call1(f: dict) -> Value:
                    v = a0(f)
                    return None if v is None else fn(v)
                return call1
            if len(args) == 2:
                a0, a1 = args

                def call2(f: dict) -> Value:
                    v0 = a0(f)
                    if v0 is None:
                        return None
                    v1 = a1(f)
                    return None if v1 is None else fn(v0, v1)
                return call2

            def call(f: dict) -> Value:
                vals = [a(f) for a in args]
                if any(v is None for v in vals):
                    return None
                return fn(*vals)
            return call
        return lambda f: fn(*[a(f) for a in args])

    FUNCS[name] = (lo, hi, make)


@_reg("if", 3, 3)
def _if(c: A.Call, env: EvalEnv) -> Fn:
    cond, a, b = _args(c, env)
    # A null condition takes the else branch (unverified; pinned by a test).
    return lambda f: a(f) if truthy(cond(f)) else b(f)


@_reg("case", 2, -1)
def _case(c: A.Call, env: EvalEnv) -> Fn:
    args = _args(c, env)
    if len(args) % 2:
        raise SplError("case() needs condition/value pairs", c.pos, env.text)
    pairs = list(zip(args[::2], args[1::2], strict=True))

    def call(f: dict) -> Value:
        for cond, val in pairs:
            if truthy(cond(f)):
                return val(f)
        return None
    return call


@_reg("validate", 2, -1)
def _validate(c: A.Call, env: EvalEnv) -> Fn:
    args = _args(c, env)
    pairs = list(zip(args[::2], args[1::2], strict=False))

    def call(f: dict) -> Value:
        for cond, val in pairs:
            if not truthy(cond(f)):
                return val(f)
        return None
    return call


@_reg("coalesce", 1, -1)
def _coalesce(c: A.Call, env: EvalEnv) -> Fn:
    args = _args(c, env)

    def call(f: dict) -> Value:
        for a in args:
            v = a(f)
            if v is not None:
                return v
        return None
    return call


@_reg("null", 0, 0)
def _null(c: A.Call, env: EvalEnv) -> Fn:
    return lambda f: None


@_reg("true", 0, 0)
def _true(c: A.Call, env: EvalEnv) -> Fn:
    return lambda f: True


@_reg("false", 0, 0)
def _false(c: A.Call, env: EvalEnv) -> Fn:
    return lambda f: False


@_reg("now", 0, 0)
def _now(c: A.Call, env: EvalEnv) -> Fn:
    # read at call time: a scan replaying a schedule sets each run's now() on the env
    return lambda f: env.now


@_reg("time", 0, 0)
def _time(c: A.Call, env: EvalEnv) -> Fn:
    # time() is the wall-clock time of evaluation in Splunk; offline it is fixed to now().
    return lambda f: env.now


@_reg("isnull", 1, 1)
def _isnull(c: A.Call, env: EvalEnv) -> Fn:
    (a,) = _args(c, env)
    return lambda f: a(f) is None


@_reg("isnotnull", 1, 1)
def _isnotnull(c: A.Call, env: EvalEnv) -> Fn:
    (a,) = _args(c, env)
    return lambda f: a(f) is not None


@_reg("isnum", 1, 1)
def _isnum(c: A.Call, env: EvalEnv) -> Fn:
    (a,) = _args(c, env)
    return lambda f: num(a(f)) is not None


@_reg("isint", 1, 1)
def _isint(c: A.Call, env: EvalEnv) -> Fn:
    (a,) = _args(c, env)

    def call(f: dict) -> Value:
        n = num(a(f))
        return n is not None and float(n).is_integer()
    return call


@_reg("isstr", 1, 1)
def _isstr(c: A.Call, env: EvalEnv) -> Fn:
    (a,) = _args(c, env)

    def call(f: dict) -> Value:
        v = a(f)
        return v is not None and not isinstance(v, bool) and num(v) is None
    return call


@_reg("typeof", 1, 1)
def _typeof(c: A.Call, env: EvalEnv) -> Fn:
    (a,) = _args(c, env)

    def call(f: dict) -> Value:
        v = a(f)
        if v is None:
            return "Invalid"
        if isinstance(v, bool):
            return "Boolean"
        if isinstance(v, list):
            return "Multivalue" if len(v) > 1 else ("Number" if num(v) is not None else "String")
        return "Number" if num(v) is not None else "String"
    return call


@_reg("like", 2, 2)
def _like(c: A.Call, env: EvalEnv) -> Fn:
    a, p = _args(c, env)
    return lambda f: like(a(f), p(f))


@_reg("match", 2, 2)
def _match(c: A.Call, env: EvalEnv) -> Fn:
    a, p = _args(c, env)

    def call(f: dict) -> Value:
        v, pat = a(f), p(f)
        if v is None or pat is None:
            return None
        rx = compiled_regex(to_str(pat) or "")
        return any(rx.search(x) for x in mv(v))
    return call


@_reg("searchmatch", 1, 1)
def _searchmatch(c: A.Call, env: EvalEnv) -> Fn:
    raise UnsupportedError("unsupported eval function 'searchmatch'", c.pos, env.text)


@_reg("in", 1, -1)
def _in(c: A.Call, env: EvalEnv) -> Fn:
    args = _args(c, env)
    x, rest = args[0], args[1:]

    def call(f: dict) -> Value:
        v = x(f)
        if v is None:
            return None
        vals = mv(v)
        for r in rest:
            rv = r(f)
            if rv is None:
                continue
            for cand in mv(rv):
                if cand in vals:
                    return True
        return False
    return call


@lru_cache(maxsize=4096)
def _network(text: str) -> tuple[int, int, int] | None:
    """(version, first, last) of a CIDR range, parsed once: long cidr: lists test every event."""
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    return net.version, int(net.network_address), int(net.broadcast_address)


@lru_cache(maxsize=65536)
def _address(text: str) -> tuple[int, int] | None:
    try:
        ip = ipaddress.ip_address(text.strip())
    except ValueError:
        return None
    return ip.version, int(ip)


def _cidrmatch(cidr: Value, ip: Value) -> Value:
    net = _network(to_str(cidr) or "")
    if net is None:
        return None
    version, lo, hi = net
    for x in mv(ip):
        addr = _address(x)
        if addr is not None and addr[0] == version and lo <= addr[1] <= hi:
            return True
    return False


_simple("cidrmatch", 2, 2, _cidrmatch)


def _map_str(fn: Callable[[str], str]) -> Callable[[Value], Value]:
    def call(v: Value) -> Value:
        if isinstance(v, list):
            return [fn(x) for x in mv(v)]
        return fn(to_str(v) or "")
    return call


_simple("lower", 1, 1, _map_str(str.lower))
_simple("upper", 1, 1, _map_str(str.upper))


def _trim(name: str, meth: str) -> None:
    def fn(v: Value, chars: Value = None) -> Value:
        ch = None if chars is None else to_str(chars)
        return _map_str(lambda s: getattr(s, meth)(ch if ch is not None else " \t\r\n"))(v)

    def make(c: A.Call, env: EvalEnv) -> Fn:
        args = _args(c, env)

        def call(f: dict) -> Value:
            v = args[0](f)
            if v is None:
                return None
            return fn(v, args[1](f) if len(args) > 1 else None)
        return call

    FUNCS[name] = (1, 2, make)


_trim("trim", "strip")
_trim("ltrim", "lstrip")
_trim("rtrim", "rstrip")

_simple("len", 1, 1, lambda v: len(to_str(v) or ""))


def _substr(s: Value, start: Value, length: Value = None) -> Value:
    st = to_str(s) or ""
    n = num(start)
    if n is None:
        return None
    i = int(n)
    # 1-based; a negative start counts from the end
    idx = i - 1 if i > 0 else (len(st) + i if i < 0 else 0)
    idx = max(idx, 0)
    if length is None:
        return st[idx:]
    ln = num(length)
    if ln is None:
        return None
    return st[idx : idx + max(int(ln), 0)]


_simple("substr", 2, 3, _substr)


def _splunk_repl(rep: str) -> str:
    # Splunk uses \1 for groups like Python; escape nothing else.
    return rep


def _replace(s: Value, pat: Value, rep: Value) -> Value:
    rx = compiled_regex(to_str(pat) or "")
    r = _splunk_repl(to_str(rep) or "")
    if isinstance(s, list):
        return [rx.sub(r, x) for x in mv(s)]
    return rx.sub(r, to_str(s) or "")


_simple("replace", 3, 3, _replace)


def _split(s: Value, sep: Value) -> Value:
    st, sp = to_str(s) or "", to_str(sep) or ""
    if sp == "":
        return list(st)
    return st.split(sp)


_simple("split", 2, 2, _split)


@_reg("mvcount", 1, 1)
def _mvcount(c: A.Call, env: EvalEnv) -> Fn:
    (a,) = _args(c, env)

    def call(f: dict) -> Value:
        v = a(f)
        if v is None:
            return None
        return len(v) if isinstance(v, list) else 1
    return call


def _mvindex(v: Value, start: Value, end: Value = None) -> Value:
    vals = mv(v)
    n = len(vals)
    s = num(start)
    if s is None:
        return None
    si = int(s)
    si = si + n if si < 0 else si
    if si < 0 or si >= n:
        return None
    if end is None:
        return vals[si]
    e = num(end)
    if e is None:
        return None
    ei = int(e)
    ei = ei + n if ei < 0 else ei
    ei = min(ei, n - 1)
    if ei < si:
        return None
    out = vals[si : ei + 1]
    return out if len(out) > 1 else out[0]


_simple("mvindex", 2, 3, _mvindex)
_simple("mvjoin", 2, 2, lambda v, d: (to_str(d) or "").join(mv(v)))


@_reg("mvappend", 1, -1)
def _mvappend(c: A.Call, env: EvalEnv) -> Fn:
    args = _args(c, env)

    def call(f: dict) -> Value:
        out: list[str] = []
        for a in args:
            out.extend(mv(a(f)))
        if not out:
            return None
        return out if len(out) > 1 else out[0]
    return call


def _mvdedup(v: Value) -> Value:
    out = list(dict.fromkeys(mv(v)))
    return out if len(out) > 1 else (out[0] if out else None)


_simple("mvdedup", 1, 1, _mvdedup)


def _mvsort(v: Value) -> Value:
    out = sorted(mv(v))
    return out if len(out) > 1 else (out[0] if out else None)


_simple("mvsort", 1, 1, _mvsort)


def _mvfind(v: Value, pat: Value) -> Value:
    rx = compiled_regex(to_str(pat) or "")
    for i, x in enumerate(mv(v)):
        if rx.search(x):
            return i
    return None


_simple("mvfind", 2, 2, _mvfind)


def _fields_in(e: A.Expr) -> set[str]:
    if isinstance(e, A.FieldRef):
        return {e.name}
    if isinstance(e, A.BinOp):
        return _fields_in(e.left) | _fields_in(e.right)
    if isinstance(e, A.BoolOp):
        return set().union(*(_fields_in(i) for i in e.items))
    if isinstance(e, A.UnaryOp):
        return _fields_in(e.operand)
    if isinstance(e, A.Call):
        out: set[str] = set()
        for a in e.args:
            out |= _fields_in(a)
        return out
    return set()


@_reg("mvfilter", 1, 1)
def _mvfilter(c: A.Call, env: EvalEnv) -> Fn:
    names = _fields_in(c.args[0])
    if len(names) != 1:
        raise SplError("mvfilter() must reference exactly one field", c.pos, env.text)
    name = next(iter(names))
    pred = compile_expr(c.args[0], env)

    def call(f: dict) -> Value:
        v = f.get(name)
        if v is None:
            return None
        out = [x for x in mv(v) if truthy(pred({**f, name: x}))]
        return out if len(out) > 1 else (out[0] if out else None)
    return call


def _tonumber(v: Value, base: Value = None) -> Value:
    s = to_str(v)
    if s is None:
        return None
    if base is not None:
        b = int(num(base) or 10)
        try:
            return int(s.strip(), b)
        except ValueError:
            return None
    return num(s)


_simple("tonumber", 1, 2, _tonumber)


def _tostring(v: Value, f: Value = None) -> Value:
    if isinstance(v, bool):
        return "True" if v else "False"
    if f is None:
        return to_str(v)
    mode = (to_str(f) or "").lower()
    n = num(v)
    if n is None:
        return to_str(v)
    if mode == "hex":
        return hex(int(n))
    if mode == "commas":
        return f"{round(n, 2):,}" if isinstance(n, float) and not n.is_integer() else f"{int(n):,}"
    if mode == "duration":
        s = int(n)
        d, rem = divmod(s, 86400)
        h, rem = divmod(rem, 3600)
        m, sec = divmod(rem, 60)
        base = f"{h:02d}:{m:02d}:{sec:02d}"
        return f"{d}+{base}" if d else base
    return to_str(v)


_simple("tostring", 1, 2, _tostring)


def _numeric(fn: Callable[..., Value]) -> Callable[..., Value]:
    def call(*vals: Value) -> Value:
        ns = [num(v) for v in vals]
        if any(n is None for n in ns):
            return None
        try:
            return fn(*ns)
        except (ValueError, OverflowError, ZeroDivisionError):
            return None
    return call


def _round(x: float, n: float = 0) -> Value:
    nd = int(n)
    # Splunk rounds half away from zero
    q = 10 ** nd
    r = math.floor(abs(x) * q + 0.5) / q
    r = math.copysign(r, x)
    return int(r) if nd == 0 else r


_simple("round", 1, 2, _numeric(_round))
_simple("floor", 1, 1, _numeric(lambda x: math.floor(x)))
_simple("ceil", 1, 1, _numeric(lambda x: math.ceil(x)))
_simple("ceiling", 1, 1, _numeric(lambda x: math.ceil(x)))
_simple("abs", 1, 1, _numeric(abs))
_simple("sqrt", 1, 1, _numeric(math.sqrt))
_simple("pow", 2, 2, _numeric(lambda x, y: x**y))
_simple("exp", 1, 1, _numeric(math.exp))
_simple("ln", 1, 1, _numeric(math.log))
_simple("log", 1, 2, _numeric(lambda x, b=10: math.log(x, b)))
_simple("exact", 1, 1, lambda v: v)
_simple("pi", 0, 0, lambda: math.pi)


def _minmax(is_max: bool) -> Maker:
    def make(c: A.Call, env: EvalEnv) -> Fn:
        args = _args(c, env)

        pick = max if is_max else min

        def call(f: dict) -> Value:
            got = [a(f) for a in args]
            fast: list[int | float] = []
            for v in got:  # plain numbers: what num(mv(v)) would give, without the string round trip
                t = type(v)
                if t is int:
                    fast.append(v)
                elif t is float and math.isfinite(v):
                    fast.append(int(v) if v.is_integer() and abs(v) < 1e16 else v)
                else:
                    break
            else:
                if fast:
                    return pick(fast)
            vals = [x for v in got for x in mv(v)]
            if not vals:
                return None
            nums = [num(x) for x in vals]
            if all(n is not None for n in nums):
                return (max if is_max else min)(nums)  # type: ignore[type-var]
            return (max if is_max else min)(vals)
        return call
    return make


FUNCS["max"] = (1, -1, _minmax(True))
FUNCS["min"] = (1, -1, _minmax(False))


def _strftime(t: Value, fmt: Value) -> Value:
    n = num(t)
    if n is None:
        return None
    return timeutil.strftime(float(n), to_str(fmt) or "")


_simple("strftime", 2, 2, _strftime)
_simple("strptime", 2, 2, lambda s, fmt: timeutil.strptime(to_str(s) or "", to_str(fmt) or ""))


def _relative_time(t: Value, spec: Value) -> Value:
    n = num(t)
    if n is None:
        return None
    return timeutil.relative_time(float(n), to_str(spec) or "")


_simple("relative_time", 2, 2, _relative_time)
_simple("urldecode", 1, 1, lambda v: urllib.parse.unquote_plus(to_str(v) or ""))
_simple("md5", 1, 1, lambda v: hashlib.md5((to_str(v) or "").encode()).hexdigest())
_simple("sha1", 1, 1, lambda v: hashlib.sha1((to_str(v) or "").encode()).hexdigest())
_simple("sha256", 1, 1, lambda v: hashlib.sha256((to_str(v) or "").encode()).hexdigest())
_simple("sha512", 1, 1, lambda v: hashlib.sha512((to_str(v) or "").encode()).hexdigest())


# ---- JSON: spath() and json_extract()


def json_render(v: object) -> str:
    """JSON text of an object/array value; scalars as Splunk shows them."""
    if isinstance(v, str):
        return v
    if v is True:
        return "true"
    if v is False:
        return "false"
    if v is None:
        return "null"
    if isinstance(v, int | float):
        return fmt_number(v)
    return json.dumps(v, separators=(",", ":"), ensure_ascii=False)


_PATH_STEP = re.compile(r"([^.{}]+)|\{(\d*)\}|\.")


def parse_path(path: str) -> list[str | int | None]:
    """``a.b{}.c{2}`` -> ['a', 'b', None, 'c', 2]; None = every element."""
    steps: list[str | int | None] = []
    for m in _PATH_STEP.finditer(path):
        if m.group(1) is not None:
            steps.append(m.group(1))
        elif m.group(0).startswith("{"):
            steps.append(int(m.group(2)) if m.group(2) else None)
    return steps


def walk_path(doc: object, steps: list[str | int | None]) -> list[object]:
    """All values at ``steps`` in a parsed JSON document, in document order."""
    cur = [doc]
    for st in steps:
        nxt: list[object] = []
        for node in cur:
            if st is None:
                if isinstance(node, list):
                    nxt.extend(node)
                elif isinstance(node, dict):
                    # `{}` on an object passes the object (unverified; ESCU's PutBucketLifecycle
                    # reads requestParameters{}.LifecycleConfiguration{}.Rule{}... where real
                    # CloudTrail has objects, and passes Splunk's own tests on such records)
                    nxt.append(node)
            elif isinstance(st, int):
                # Splunk's {N} is 1-based
                if isinstance(node, list) and 1 <= st <= len(node):
                    nxt.append(node[st - 1])
            elif isinstance(node, dict):
                if st in node:
                    nxt.append(node[st])
            elif isinstance(node, list):
                # a name step applied to an array looks into every element
                for el in node:
                    if isinstance(el, dict) and st in el:
                        nxt.append(el[st])
        cur = nxt
    out: list[object] = []
    for v in cur:
        if v is None:
            continue
        out.append(v)
    return out


def load_json(text: str) -> object | None:
    try:
        return json.loads(text)
    except (ValueError, TypeError):
        i = text.find("{")
        j = text.rfind("}")
        if 0 <= i < j:
            try:
                return json.loads(text[i : j + 1])
            except ValueError:
                return None
        return None


def spath_values(text: str, path: str) -> Value:
    doc = load_json(text)
    if doc is None:
        return None
    vals = [json_render(v) for v in walk_path(doc, parse_path(path))]
    if not vals:
        return None
    return vals if len(vals) > 1 else vals[0]


_simple("spath", 2, 2, lambda v, p: spath_values(to_str(v) or "", to_str(p) or ""))
_simple("json_extract", 1, 2, lambda v, p="": spath_values(to_str(v) or "", to_str(p) or "") if p != "" else to_str(v))
_simple("json_valid", 1, 1, lambda v: load_json(to_str(v) or "") is not None, null_in_null_out=False)
