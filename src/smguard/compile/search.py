"""Structured detection search → idiomatic SPL.

The rules, in the order Splunk runs them:

1. the base macro, then every filter SPL's ``search`` can express (equality, wildcard,
   IN, exists/missing, numeric comparison, negation) — case-insensitive like Splunk;
2. ``| where`` only for what ``search`` cannot say (regex, CIDR, and a value that is the
   *text* of a CIDR such as ``0.0.0.0/0``, which ``search`` would take as a subnet), as
   whole conjuncts;
3. ``| eval`` for computed fields, then allow-/deny-lists through ``| lookup ... OUTPUT`` and ``| where isnull/isnotnull``
   (honours the lookup's WILDCARD/CIDR match types and case sensitivity); an allow-list is
   consulted twice: the shipped CSV ``<name>`` and the SOC's KV store lookup ``<name>_soc``;
   (computed fields from ``eval`` come first, so an allow-list can match them);
4. optional ``| bin _time span=… as time_window`` (a copy, so firstTime/lastTime stay exact);
5. ``| stats count min(_time) as firstTime max(_time) as lastTime values(...) by ...``;
6. ``| where`` thresholds, time formatting via macro, and the detection's filter macro.

Every matcher has a ``search`` rendering (or none) and an ``eval`` rendering; a
condition conjunct goes to the base search when all its matchers have a search form.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from smguard.compile import condition as cond
from smguard.compile.quoting import dq, eval_field, search_field, stats_field, wildcard_regex
from smguard.spl import pcre
from smguard.spl.errors import SplError
from smguard.spl.searchmatch import cidr_network

CTIME_MACRO = "smguard_ctime"
SOC_SUFFIX = "_soc"
"""``<allow-list>_soc``: the KV store lookup holding the SOC's own entries of an allow-list."""
SEARCH_OPS = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}


class CompileError(ValueError):
    """A structured search that cannot be compiled; ``key`` points into the YAML."""

    def __init__(self, key: tuple[Any, ...], message: str):
        super().__init__(message)
        self.key = key


def _str(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _mvfind(fname: str, regex: str) -> str:
    # mvfind tests every value of a multivalue field, like search's any-match.
    return f"isnotnull(mvfind({eval_field(fname)}, {dq(regex)}))"


@dataclass(frozen=True)
class Matcher:
    """One field test from a selection."""

    field: str
    spec: Any

    @property
    def op(self) -> str:
        if isinstance(self.spec, dict):
            return next(iter(self.spec))
        return "in" if isinstance(self.spec, list) else "eq"

    @property
    def arg(self) -> Any:
        return next(iter(self.spec.values())) if isinstance(self.spec, dict) else self.spec

    def search(self) -> str | None:
        f, op, arg = search_field(self.field), self.op, self.arg
        if op in ("eq", "in") and any(cidr_network(_str(v)) is not None for v in (arg if op == "in" else [arg])):
            # search reads a value in CIDR notation as a subnet (addresses inside it), not
            # as the text "0.0.0.0/0" a CloudTrail field may hold: only eval says "this text"
            return None
        if op == "eq":
            return f"{f}={dq(_str(arg))}"
        if op == "in":
            return f"{f} IN ({', '.join(dq(_str(v)) for v in arg)})"
        if op == "exists":
            return f"{f}=*" if arg else f"NOT {f}=*"
        if op == "not":
            inner = Matcher(self.field, arg).search()
            return f"NOT {inner}"
        if op in SEARCH_OPS:
            return f"{f}{SEARCH_OPS[op]}{_str(arg)}"
        return None  # regex, cidr: only eval can say them

    def eval(self) -> str:
        f, op, arg = self.field, self.op, self.arg
        if op == "eq":
            return _mvfind(f, wildcard_regex(_str(arg)))
        if op == "in":
            alts = "|".join(wildcard_regex(_str(v))[5:-1] for v in arg)
            return _mvfind(f, f"(?i)^(?:{alts})$")
        if op == "exists":
            return f"isnotnull({eval_field(f)})" if arg else f"isnull({eval_field(f)})"
        if op == "not":
            return f"NOT {Matcher(self.field, arg).eval()}"
        if op == "regex":
            regex = arg if arg.startswith("(?") else f"(?i){arg}"
            return _mvfind(f, regex)
        if op == "cidr":
            ranges = arg if isinstance(arg, list) else [arg]
            tests = [f"cidrmatch({dq(r)}, {eval_field(f)})" for r in ranges]
            return tests[0] if len(tests) == 1 else "(" + " OR ".join(tests) + ")"
        return f"tonumber({eval_field(f)}){SEARCH_OPS[op]}{_str(arg)}"


@dataclass
class CompiledSearch:
    """The SPL of one detection and the fields its results carry."""

    spl: str
    output: list[str] = field(default_factory=list)
    macros: set[str] = field(default_factory=set)
    lookups: set[str] = field(default_factory=set)


def _selection_matchers(sel: dict[str, Any]) -> list[Matcher]:
    return [Matcher(k, v) for k, v in sel.items()]


def _render(node: cond.Node, sels: dict[str, list[Matcher]], mode: str) -> str:
    if isinstance(node, cond.Ref):
        parts = [getattr(m, mode)() for m in sels[node.name]]
        joiner = " " if mode == "search" else " AND "
        body = joiner.join(parts)  # type: ignore[arg-type]
        return body if len(parts) == 1 else f"({body})"
    if isinstance(node, cond.Not):
        return f"NOT {_render(node.item, sels, mode)}"
    joiner = " OR " if isinstance(node, cond.Or) else (" " if mode == "search" else " AND ")
    return "(" + joiner.join(_render(i, sels, mode) for i in node.items) + ")"


def _searchable(node: cond.Node, sels: dict[str, list[Matcher]]) -> bool:
    return all(m.search() is not None for name in cond.refs(node) for m in sels[name])


def soc_lookup(name: str) -> str:
    """The lookup (and KV store collection) that holds the SOC's entries of allow-list ``name``."""
    return name + SOC_SUFFIX


def safe_name(prefix: str, fname: str) -> str:
    return prefix + re.sub(r"[^A-Za-z0-9]+", "_", fname).strip("_")


def _as(name: str) -> str:
    return name if re.match(r"^[A-Za-z0-9_.]+$", name) else dq(name)


def compile_structured(s: dict[str, Any], *, base_macro: str, filter_macro: str) -> CompiledSearch:
    """Compile the ``search`` mapping of a structured detection."""
    try:
        return _compile_structured(s, base_macro=base_macro, filter_macro=filter_macro)
    except ValueError as exc:
        if isinstance(exc, CompileError):
            raise
        raise CompileError(("search",), str(exc)) from None


def _check_matcher(m: Matcher) -> None:
    """Render a matcher both ways and check its regex / CIDR values; ValueError if unusable."""
    m.search()
    m.eval()
    op, arg = m.op, m.arg
    while op == "not":
        m = Matcher(m.field, arg)
        op, arg = m.op, m.arg
    if op == "regex":
        try:
            pcre.compile(arg if arg.startswith("(?") else f"(?i){arg}")
        except SplError as exc:
            raise ValueError(exc.message) from None
    if op == "cidr":
        for r in arg if isinstance(arg, list) else [arg]:
            try:
                ipaddress.ip_network(r, strict=False)
            except ValueError:
                raise ValueError(f"{r!r} is not a CIDR range") from None


def _compile_structured(s: dict[str, Any], *, base_macro: str, filter_macro: str) -> CompiledSearch:
    sels = {name: _selection_matchers(sel) for name, sel in s["selections"].items()}
    for name, matchers in sels.items():
        for m in matchers:
            try:
                _check_matcher(m)
            except ValueError as exc:
                raise CompileError(("search", "selections", name, m.field), f"{m.field}: {exc}") from None
    text = s.get("condition") or " and ".join(sels)
    try:
        tree = cond.parse(text)
    except cond.ConditionError as exc:
        raise CompileError(("search", "condition"), f"condition: {exc}") from None
    unknown = cond.refs(tree) - set(sels)
    if unknown:
        raise CompileError(("search", "condition"), f"condition names unknown selection(s): {sorted(unknown)}")
    unused = set(sels) - cond.refs(tree)
    if unused:
        raise CompileError(("search", "selections"), f"selection(s) not used by the condition: {sorted(unused)}")

    base = s.get("base", base_macro)
    conjuncts = list(tree.items) if isinstance(tree, cond.And) else [tree]
    in_search: list[str] = []
    in_where: list[str] = []
    for c in conjuncts:
        if isinstance(c, cond.Ref):
            # A top-level selection is a plain AND of matchers: each goes where it can.
            for m in sels[c.name]:
                text = m.search()
                if text is None:
                    in_where.append(m.eval())
                else:
                    in_search.append(text)
        elif _searchable(c, sels):
            in_search.append(_render(c, sels, "search"))
        else:
            in_where.append(_render(c, sels, "eval"))

    pipe = ["`" + base + "`" + ("" if not in_search else " " + " ".join(in_search))]
    if in_where:
        pipe.append("where " + " AND ".join(in_where))
    for name, expr in (s.get("eval") or {}).items():
        if "\n" in expr or "\r" in expr:
            raise CompileError(("search", "eval", name), f"eval {name}: a line break would be folded into a space; "
                                                           "write the expression on one line")
        pipe.append(f"eval {name}={expr}")
    lookups: set[str] = set()
    for kind in ("allow", "deny"):
        for i, ref in enumerate(s.get(kind, [])):
            column = ref.get("column", ref["field"])
            out = safe_name(f"{kind}listed_{i}_", ref["lookup"])
            lookups.add(ref["lookup"])
            pipe.append(f"lookup {ref['lookup']} {column} AS {stats_field(ref['field'])} OUTPUT {column} AS {out}")
            if kind == "deny":
                pipe.append(f"where isnotnull({out})")
                continue
            # The SOC's own entries live in a KV store collection (upgrades never touch it):
            # an event is allowed when either part lists it.
            soc = soc_lookup(ref["lookup"])
            pipe.append(f"lookup {soc} {column} AS {stats_field(ref['field'])} OUTPUT {column} AS {out}_soc")
            pipe.append(f"where isnull({out}) AND isnull({out}_soc)")

    group_by = list(s.get("group_by") or [])
    if not group_by:
        raise CompileError(("search",), "group_by is required: stats without BY returns a row even when nothing matched")
    if "span" in s:
        # Bin into a copy so firstTime/lastTime keep the events' real times.
        pipe.append(f"bin _time span={s['span']} as time_window")
        group_by = ["time_window", *group_by]
    values = list(s.get("values") or [])
    if "eventID" not in values:
        values.append("eventID")  # the raw-events drilldown needs it
    aggs = ["count", "min(_time) as firstTime", "max(_time) as lastTime"]
    output = [*group_by, "count", "firstTime", "lastTime"]
    for v in values:
        if v in group_by:
            continue
        aggs.append(f"values({stats_field(v)}) as {_as(v)}")
        output.append(v)
    for d in s.get("distinct") or []:
        aggs.append(f"dc({stats_field(d)}) as {safe_name('distinct_', d)}")
        output.append(safe_name("distinct_", d))
    for t in s.get("sum") or []:
        aggs.append(f"sum({stats_field(t)}) as {safe_name('total_', t)}")
        output.append(safe_name("total_", t))
    pipe.append("stats " + " ".join(aggs) + " by " + " ".join(stats_field(g) for g in group_by))
    thresholds = s.get("threshold") or {}
    for key in thresholds:
        if key not in output:
            raise CompileError(("search", "threshold", key), f"threshold on {key!r}, which the stats do not produce ({output})")
    if thresholds:
        tests = []
        for key, rule in thresholds.items():
            m = re.match(r"^(>=|<=|>|<|=|!=)\s*(-?\d+(?:\.\d+)?)$", rule)
            assert m  # the schema's pattern guarantees it
            tests.append(f"{eval_field(key)}{m.group(1)}{m.group(2)}")
        pipe.append("where " + " AND ".join(tests))
    pipe.append(f"`{CTIME_MACRO}(firstTime)`")
    pipe.append(f"`{CTIME_MACRO}(lastTime)`")
    pipe.append(f"`{filter_macro}`")
    return CompiledSearch(" | ".join(pipe), output, {base, f"{CTIME_MACRO}(1)", filter_macro}, lookups)


_MACRO_RE = re.compile(r"`([A-Za-z0-9_]+)(?:\(([^`]*)\))?`")
_LOOKUP_RE = re.compile(r"\|\s*(?:input)?lookup\s+(?:[a-z_]+=\S+\s+)*([A-Za-z0-9_.]+)")


def compile_raw(s: dict[str, Any]) -> CompiledSearch:
    """Raw SPL is taken as written; its references are collected for validation."""
    spl = " ".join(s["spl"].split())
    macros = {m.group(1) + (f"({len(m.group(2).split(','))})" if m.group(2) is not None else "")
              for m in _MACRO_RE.finditer(spl)}
    lookups = set(_LOOKUP_RE.findall(spl))
    return CompiledSearch(spl, list(s["output"]), macros, lookups)
