"""The ``search`` command's matcher: search expressions compiled to predicates.

Search semantics differ from eval on purpose (Splunk's index-oriented matching):
values match case-insensitively with ``*`` wildcards, a multivalue field matches if
any value does, ``f!=v`` needs ``f`` to exist while ``NOT f=v`` does not, and a bare
term looks for a whole token in ``_raw``.

A value in CIDR notation (``src=10.0.0.0/8``, ``src="2001:db8::/32"``) matches the IP
addresses inside that subnet, as the Search Reference documents for ``search``
(https://help.splunk.com/splunk-enterprise/spl-search-reference/9.2/search-commands/search).
Values that denote something this engine does not model (a CIDR as a bare term, a
``field::value`` indexed-field term, ``tag``/``eventtype`` fields, a CIDR compared with
``<``) raise :class:`UnsupportedError`: matched as plain text they would silently
return a wrong answer.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable
from functools import lru_cache

from smguard.spl import ast as A
from smguard.spl.errors import SplError, UnsupportedError
from smguard.spl.evalfuncs import date_field
from smguard.spl.values import Value, compare, fmt_number

Pred = Callable[[dict], bool]
StrMatch = Callable[[str], bool]


@lru_cache(maxsize=4096)
def value_matcher(pattern: str, case_sensitive: bool = False) -> StrMatch:
    """A predicate on one string value for a search value with optional ``*``."""
    if "*" not in pattern:
        if case_sensitive:
            return lambda s: s == pattern
        p = pattern.lower()
        return lambda s: s.lower() == p
    if pattern.strip("*") == "":
        return lambda s: True
    body = pattern.strip("*")
    if "*" not in body and not case_sensitive:
        b = body.lower()
        if pattern.startswith("*") and pattern.endswith("*"):
            return lambda s: b in s.lower()
        if pattern.endswith("*"):
            return lambda s: s.lower().startswith(b)
        if pattern.startswith("*"):
            return lambda s: s.lower().endswith(b)
    rx = re.compile(".*".join(re.escape(x) for x in pattern.split("*")) + r"\Z", 0 if case_sensitive else re.I | re.S)
    return lambda s: rx.match(s) is not None


IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=1024)
def cidr_network(value: str) -> IPNetwork | None:
    """The subnet a search value denotes in CIDR notation (``10.0.0.0/8``, ``2001:db8::/32``),
    or None for any other value (wildcards, plain addresses, text with a ``/``)."""
    v = value.strip()
    if "/" not in v or "*" in v or not v.rpartition("/")[2].isdigit():
        return None
    try:
        return ipaddress.ip_network(v, strict=False)
    except ValueError:
        return None


@lru_cache(maxsize=65536)
def _ip(s: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(s.strip())
    except ValueError:
        return None


def search_value_matcher(pattern: str, case_sensitive: bool = False) -> StrMatch:
    """A predicate on one field value for a ``search`` value: subnet membership for a
    CIDR value (a value that is not an IP address is outside every subnet), else
    :func:`value_matcher`'s case-insensitive wildcard match."""
    net = cidr_network(pattern)
    if net is None:
        return value_matcher(pattern, case_sensitive)

    def in_subnet(s: str) -> bool:
        ip = _ip(s)
        return ip is not None and ip in net
    return in_subnet


# Splunk's default major breakers (segmenters.conf), the single-character ones: a
# TERM() must be bounded by these (or the ends of _raw), not by minor breakers like "." or ":"
MAJOR_BREAKERS = " \t\r\n[]<>(){}|!;,'\"*&?+"

# Search fields whose values Splunk computes from configuration this engine does not
# model (event types, tags): matching them against event fields would be a silent miss.
_UNMODELLED_FIELDS = ("tag", "eventtype")


# ``sourcetype::aws:cloudtrail``: a term on an indexed field, which events here do not have
_INDEXED_FIELD_TERM = re.compile(r"[A-Za-z_][A-Za-z0-9_.]*::")


def _check_field(name: str, pos: int, text: str) -> None:
    # field names are case-sensitive: CloudTrail's eventType is not Splunk's eventtype
    if name in _UNMODELLED_FIELDS or name.startswith("tag::"):
        raise UnsupportedError(f"search on '{name}' (event types and tags) is not supported", pos, text)


def _strings(v: Value) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list):
        return v
    if isinstance(v, bool):
        return ["true" if v else "false"]
    return [fmt_number(v)]


@lru_cache(maxsize=1024)
def _term_regex(term: str, case_sensitive: bool, whole: bool = False) -> re.Pattern[str]:
    flags = 0 if case_sensitive else re.I
    parts = [re.escape(p) for p in term.split("*")]
    if whole:
        # TERM(x): x is one segment between major breakers
        major = "[" + re.escape(MAJOR_BREAKERS) + "]"
        body = "[^" + re.escape(MAJOR_BREAKERS) + "]*"
        return re.compile(f"(?:(?<={major})|^)" + body.join(parts) + f"(?={major}|$)", flags)
    # A term matches a token of _raw: not preceded/followed by a letter or digit.
    body = r"[^\s]*".join(parts)
    return re.compile(r"(?<![A-Za-z0-9])" + body + r"(?![A-Za-z0-9])", flags)


def _getter(name: str) -> Callable[[dict], Value]:
    if "*" in name:
        rx = re.compile(".*".join(re.escape(x) for x in name.split("*")) + r"\Z", re.S)

        def get_wild(f: dict) -> Value:
            out: list[str] = []
            for k, v in f.items():
                if rx.match(k) and v is not None:
                    out.extend(_strings(v))
            return out or None
        return get_wild
    if name.startswith("date_"):
        return lambda f: f.get(name) if f.get(name) is not None else date_field(f, name)
    return lambda f: f.get(name)


SubsearchResolver = Callable[[A.SSubsearch], A.SearchExpr]


def compile_search(expr: A.SearchExpr | None, resolve: SubsearchResolver | None = None, text: str = "") -> Pred:
    """Compile a search expression; subsearches are resolved (run) through ``resolve``."""
    if expr is None:
        return lambda f: True
    if isinstance(expr, A.SAnd):
        preds = [compile_search(x, resolve, text) for x in _selective_first(expr.items)]
        if len(preds) == 2:
            p0, p1 = preds
            return lambda f: p0(f) and p1(f)

        def and_(f: dict) -> bool:
            for p in preds:
                if not p(f):
                    return False
            return True
        return and_
    if isinstance(expr, A.SOr):
        preds = [compile_search(x, resolve, text) for x in expr.items]

        def or_(f: dict) -> bool:
            for p in preds:
                if p(f):
                    return True
            return False
        return or_
    if isinstance(expr, A.SNot):
        inner = compile_search(expr.item, resolve, text)
        return lambda f: not inner(f)
    if isinstance(expr, A.SSubsearch):
        if resolve is None:
            raise SplError("subsearch not allowed here", expr.pos, text)
        return compile_search(resolve(expr), None, text)
    if isinstance(expr, A.STerm):
        if cidr_network(expr.value) is not None:
            raise UnsupportedError(f"a CIDR value as a bare term ({expr.value}) is not supported: "
                                   f"name the field, e.g. src={expr.value}", expr.pos, text)
        if _INDEXED_FIELD_TERM.match(expr.value) and _ip(expr.value) is None:  # fe80::1 is an address
            raise UnsupportedError(f"indexed-field term '{expr.value}' (field::value) is not supported", expr.pos, text)
        if expr.value.strip("*") == "":
            return lambda f: True
        rx = _term_regex(expr.value, expr.case_sensitive, expr.whole)

        def term(f: dict) -> bool:
            raw = f.get("_raw")
            if raw is None:
                return False
            return any(rx.search(s) for s in _strings(raw))
        return term
    if isinstance(expr, A.SIn):
        _check_field(expr.field, expr.pos, text)
        get = _getter(expr.field)
        ms = [search_value_matcher(v) for v in expr.values]

        def in_(f: dict) -> bool:
            v = get(f)
            if v is None:
                return False
            return any(m(s) for s in _strings(v) for m in ms)
        return in_
    if isinstance(expr, A.SCompare):
        return _compile_compare(expr, text)
    raise SplError(f"cannot compile search expression {expr!r}")


# Fields every event of one data source shares: a base search names them first
# (``index=aws sourcetype=aws:cloudtrail eventName=...``), and they reject nothing there.
_SOURCE_FIELDS = frozenset({"index", "sourcetype", "source", "host"})


def _selective_first(items: tuple[A.SearchExpr, ...] | list[A.SearchExpr]) -> list[A.SearchExpr]:
    """The conjuncts of an AND in the order to try them: terms on the source fields last.

    Only the order of evaluation changes, never the result: every compiled search
    predicate is a pure function of the event that returns a bool and cannot raise
    (subsearches and CIDRs are resolved when compiling), so ``a AND b`` equals ``b AND
    a``. A base search rejects most events; testing ``eventName`` before ``index`` and
    ``sourcetype`` (true for every CloudTrail event) rejects them in one test, not three.
    """
    def source_term(e: A.SearchExpr) -> bool:
        return isinstance(e, A.SCompare | A.SIn) and e.field in _SOURCE_FIELDS
    return [e for e in items if not source_term(e)] + [e for e in items if source_term(e)]


_TIME_MODIFIERS = {"earliest", "latest", "_index_earliest", "_index_latest", "starttime", "endtime"}


def _compile_compare(c: A.SCompare, text: str) -> Pred:
    if c.field.lower() in _TIME_MODIFIERS:
        raise UnsupportedError(
            f"time modifier '{c.field}' inside the search is not supported (pass earliest/latest to run())", c.pos, text
        )
    _check_field(c.field, c.pos, text)
    get = _getter(c.field)
    op = c.op
    if op in ("=", "!="):
        m = search_value_matcher(c.value, c.case_sensitive)
        if op == "=":
            def eq(f: dict) -> bool:
                v = get(f)
                if v is None:
                    return False
                if isinstance(v, str):
                    return m(v)
                return any(m(s) for s in _strings(v))
            return eq

        def ne(f: dict) -> bool:
            v = get(f)
            if v is None:
                return False
            return not any(m(s) for s in _strings(v))
        return ne
    val = c.value
    if cidr_network(val) is not None:
        raise UnsupportedError(f"'{c.field}{op}{val}': a CIDR value compares only with = or !=", c.pos, text)

    def rel(f: dict) -> bool:
        v = get(f)
        if v is None:
            return False
        for s in _strings(v):
            r = compare(s, val)
            if r is None:
                continue
            if (op == "<" and r < 0) or (op == ">" and r > 0) or (op == "<=" and r <= 0) or (op == ">=" and r >= 0):
                return True
        return False
    return rel


# ------------------------------------------------------------------ indexed terms


def indexed_terms(
    expr: A.SearchExpr | None, fields: tuple[str, ...] | Callable[[str], bool] = ("eventName", "eventSource")
) -> dict[str, tuple[str, ...]]:
    """Field values a search *requires*, for cheap prefiltering before extraction.

    Returns ``{field: patterns}`` for each of ``fields`` constrained at the top level
    of the base search (ANDed): an event can match only if its value of that field
    matches one of the patterns (case-insensitive, ``*`` wildcards). A field absent
    from the result is unconstrained. Only sound constraints are reported: terms under
    NOT, or ORs mixing other fields, are ignored; so is a field with a CIDR value
    (``src=10.0.0.0/8``), whose match is subnet membership, not a text pattern.
    """
    out: dict[str, tuple[str, ...]] = {}
    items = expr.items if isinstance(expr, A.SAnd) else ((expr,) if expr is not None else ())
    wanted = fields if callable(fields) else (lambda f: f in fields)
    for it in items:
        for fname in _fields_of(it):
            if not wanted(fname):
                continue
            vals = _required_values(it, fname)
            if vals is not None:
                if fname in out:
                    # two constraints on one field: keep the smaller (both must hold)
                    if len(vals) < len(out[fname]):
                        out[fname] = vals
                else:
                    out[fname] = vals
    return out


def _required_values(e: A.SearchExpr, fname: str) -> tuple[str, ...] | None:
    if isinstance(e, A.SCompare) and e.field == fname and e.op == "=":
        return None if cidr_network(e.value) is not None else (e.value,)
    if isinstance(e, A.SIn) and e.field == fname:
        return None if any(cidr_network(v) is not None for v in e.values) else e.values
    if isinstance(e, A.SOr):
        acc: list[str] = []
        for x in e.items:
            v = _required_values(x, fname)
            if v is None:
                return None
            acc.extend(v)
        return tuple(acc)
    if isinstance(e, A.SAnd):
        for x in e.items:
            v = _required_values(x, fname)
            if v is not None:
                return v
    return None


def _fields_of(e: A.SearchExpr) -> list[str]:
    if isinstance(e, A.SCompare | A.SIn):
        return [e.field]
    if isinstance(e, A.SAnd | A.SOr):
        out: list[str] = []
        for x in e.items:
            for f in _fields_of(x):
                if f not in out:
                    out.append(f)
        return out
    return []
