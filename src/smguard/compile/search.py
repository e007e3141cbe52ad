"""Structured detection search → idiomatic SPL.

The rules, in the order Splunk runs them:

1. the base macro, then every filter SPL's ``search`` can express (equality, wildcard,
   IN, exists/missing, numeric comparison, negation) — case-insensitive like Splunk;
2. ``| where`` only for what ``search`` cannot say (regex, CIDR, and a value that is the
   *text* of a CIDR such as ``0.0.0.0/0``, which ``search`` would take as a subnet), as
   whole conjuncts;
3. ``| eval`` for computed fields, then allow-/deny-lists, judged per value (``mvexpand`` of a copy)
   through ``| lookup ... OUTPUT`` and ``| where isnull/isnotnull``
   (honours the lookup's WILDCARD/CIDR match types and case sensitivity); an allow-list is
   consulted twice: the shipped CSV ``<name>`` and the SOC's KV store lookup ``<name>_soc``;
   (computed fields from ``eval`` come first, so an allow-list can match them);
4. ``| stats count min(_time) as firstTime max(_time) as lastTime values(...) by ...`` and
   ``| where`` thresholds; with ``span`` a sliding window instead (``streamstats
   time_window=…``, threshold per window, then one row per group), never fixed bins;
5. time formatting via macro, and the detection's filter macro.

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


MISSING = "(none)"
"""Stands for a missing field while its values are expanded, so no event depends on how
``mvexpand`` treats a field an event lacks; it is turned back into null after judging."""


def per_value_lookup(kind: str, i: int, ref: dict[str, Any]) -> list[str]:
    """An allow-/deny-list that judges EVERY value of a (possibly multivalue) field.

    ``lookup`` on a multivalue field matches when any one value is listed, so an
    approved instance type beside an unapproved one would hide it. Each distinct value
    is judged on its own row (``mvexpand`` of a copy); on the rows that survive, a
    plain-named field is narrowed to the offending value so the alert names it. A
    missing field stays what it was before: not on any list.
    """
    fname = ref["field"]
    column = ref.get("column", fname)
    value = f"{kind}_value_{i}"
    out = safe_name(f"{kind}listed_{i}_", ref["lookup"])
    steps = [
        f"eval {value}=mvdedup(coalesce({eval_field(fname)}, {dq(MISSING)}))",
        f"mvexpand {value}",
        f"lookup {ref['lookup']} {column} AS {value} OUTPUT {column} AS {out}",
    ]
    if kind == "deny":
        steps.append(f"where isnotnull({out})")
    else:
        # The SOC's own entries live in a KV store collection (upgrades never touch it):
        # a value is allowed when either part lists it.
        steps.append(f"lookup {soc_lookup(ref['lookup'])} {column} AS {value} OUTPUT {column} AS {out}_soc")
        steps.append(f"where isnull({out}) AND isnull({out}_soc)")
    if re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", fname):
        steps.append(f"eval {fname}=if({value}=={dq(MISSING)}, null(), {value})")
    return steps


def _threshold_test(thresholds: dict[str, str]) -> str:
    tests = []
    for key, rule in thresholds.items():
        m = re.match(r"^(>=|<=|>|<|=|!=)\s*(-?\d+(?:\.\d+)?)$", rule)
        assert m  # the schema's pattern guarantees it
        tests.append(f"{eval_field(key)}{m.group(1)}{m.group(2)}")
    return " AND ".join(tests)


def sliding_window(span: str, by: str, values: list[str], distinct: list[tuple[str, str]],
                   sums: list[tuple[str, str]], test: str) -> list[str]:
    """A threshold over a SLIDING window of ``span`` ending at every event.

    Fixed bins (``bin _time span=10m``) miss a burst placed across a bin boundary, half on
    each side; the trailing window ending at each event cannot be dodged by timing. The
    window's aggregates carry the names the threshold uses (count, distinct_<f>,
    total_<f>); the windows that pass are then collapsed to one row per group (the largest
    window, the union of values, first to last event of the passing windows). The
    detection's schedule must cover its interval plus ``span`` so no window is cut by the
    run boundary; throttling on the group suppresses the repeat.
    """
    aggs = ["count", "min(_time) as firstTime", "max(_time) as lastTime"]
    aggs += [f"values({stats_field(v)}) as {_as(v)}" for v in values]
    aggs += [f"dc({f}) as {n}" for f, n in distinct] + [f"sum({f}) as {n}" for f, n in sums]
    steps = ["sort 0 _time", f"streamstats time_window={span} " + " ".join(aggs) + by]
    if test:
        steps.append("where " + test)
    final = ["max(count) as count", "min(firstTime) as firstTime", "max(lastTime) as lastTime"]
    final += [f"values({stats_field(v)}) as {_as(v)}" for v in values]
    final += [f"max({n}) as {n}" for _, n in [*distinct, *sums]]
    steps.append("stats " + " ".join(final) + by)
    return steps


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
            lookups.add(ref["lookup"])
            pipe.extend(per_value_lookup(kind, i, ref))

    group_by = list(s.get("group_by") or [])
    if not group_by:
        raise CompileError(("search",), "group_by is required: stats without BY returns a row even when nothing matched")
    values = list(s.get("values") or [])
    if "eventID" not in values:
        values.append("eventID")  # the raw-events drilldown needs it
    values = [v for v in values if v not in group_by]
    distinct = [(stats_field(d), safe_name("distinct_", d)) for d in s.get("distinct") or []]
    sums = [(stats_field(t), safe_name("total_", t)) for t in s.get("sum") or []]
    output = [*group_by, "count", "firstTime", "lastTime", *values, *(n for _, n in distinct), *(n for _, n in sums)]
    thresholds = s.get("threshold") or {}
    for key in thresholds:
        if key not in output:
            raise CompileError(("search", "threshold", key), f"threshold on {key!r}, which the stats do not produce ({output})")
    by = " by " + " ".join(stats_field(g) for g in group_by)
    if "span" in s:
        pipe.extend(sliding_window(s["span"], by, values, distinct, sums, _threshold_test(thresholds)))
    else:
        aggs = ["count", "min(_time) as firstTime", "max(_time) as lastTime"]
        aggs += [f"values({stats_field(v)}) as {_as(v)}" for v in values]
        aggs += [f"dc({f}) as {n}" for f, n in distinct] + [f"sum({f}) as {n}" for f, n in sums]
        pipe.append("stats " + " ".join(aggs) + by)
        if thresholds:
            pipe.append("where " + _threshold_test(thresholds))
    pipe.append(f"`{CTIME_MACRO}(firstTime)`")
    pipe.append(f"`{CTIME_MACRO}(lastTime)`")
    pipe.append(f"`{filter_macro}`")
    macros = {base, f"{CTIME_MACRO}(1)", filter_macro}
    for expr in (s.get("eval") or {}).values():
        # An eval expression may be a shared macro (e.g. `smguard_principal`): validate it too.
        macros |= {m.group(1) + (f"({len(m.group(2).split(','))})" if m.group(2) is not None else "")
                   for m in _MACRO_RE.finditer(expr)}
    return CompiledSearch(" | ".join(pipe), output, macros, lookups)


_MACRO_RE = re.compile(r"`([A-Za-z0-9_]+)(?:\(([^`]*)\))?`")
_LOOKUP_RE = re.compile(r"\|\s*(?:input)?lookup\s+(?:[a-z_]+=\S+\s+)*([A-Za-z0-9_.]+)")


def compile_raw(s: dict[str, Any]) -> CompiledSearch:
    """Raw SPL is taken as written; its references are collected for validation."""
    spl = " ".join(s["spl"].split())
    macros = {m.group(1) + (f"({len(m.group(2).split(','))})" if m.group(2) is not None else "")
              for m in _MACRO_RE.finditer(spl)}
    lookups = set(_LOOKUP_RE.findall(spl))
    return CompiledSearch(spl, list(s["output"]), macros, lookups)
