"""The planner: from a search's text to what running it needs, decided once.

sqlglot's split, for SPL: the optimizer (:mod:`smguard.spl.optimizer`) rewrites the tree,
the planner decides how to run it, the executor (:mod:`smguard.spl.executor`) runs it.
A :class:`SearchPlan` holds the optimized pipeline, its compiled form (base predicate,
streaming prefix, tail) and every planning decision a scan over many records uses, each
with the reason it keeps results unchanged:

- **prefilter terms** (:func:`smguard.spl.searchmatch.indexed_terms`): values a field
  must have for the base search to match (ANDed at the top level; an OR only when all its
  branches constrain the field). A record failing them cannot match, so skipping it
  changes nothing. A search with subsearches needs the union over all its base searches.
- **base-search skip** (:func:`decided_by_terms`): when the base search *is* its terms
  (an AND of ``field=value``/``IN`` over distinct fields the prefilter checks with the
  same values, or constants true of every event), a record the prefilter passed for sure
  matches it: running it again is redundant.
- **raw-record filters** (:func:`raw_prefix`): the leading ``search``/``where`` of the
  stream (with ``eval``/``lookup`` between them) that read only fields the caller can
  read off the raw record with the extracted value: given the same values they keep or
  drop a record exactly as on the full event, so a dropped record needs no extraction.
- **field pruning** (:func:`smguard.spl.analysis.pipeline_fields`): the event fields the
  search can read; an event holding those (same values) gives the same results.
- **whole runs**: a search that reads the events twice (subsearches), generates its rows,
  or calls ``now()`` per event must run whole per scheduled run; the others stream each
  event once and finish each run from what they kept.

The planner knows nothing of CloudTrail: what can be read off a raw record is the
caller's ``raw_readable`` predicate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from smguard.spl import ast as A
from smguard.spl.analysis import (
    eval_reads_writes,
    expr_calls,
    expr_reads,
    needs_rescan,
    pipeline_fields,
    pipelines,
    search_reads,
    uses_now,
)
from smguard.spl.commands import SearchOp
from smguard.spl.context import SearchContext
from smguard.spl.evalfuncs import FAILS_ON_DATA
from smguard.spl.executor import CompiledSearch, Runtime
from smguard.spl.macros import expand_macros
from smguard.spl.optimizer import optimize as optimize_pipeline
from smguard.spl.parser import parse
from smguard.spl.searchmatch import compile_search, indexed_terms, value_matcher


@dataclass
class SearchPlan:
    """How one search runs over many records (see the module docstring)."""

    text: str  # macro-expanded
    pipeline: A.Pipeline  # optimized (unless optimize=False)
    compiled: CompiledSearch | None  # None: it has subsearches, compiled per run over buffered events
    rescan: bool  # reads the events more than once
    whole: bool  # runs whole per scheduled run (subsearches, generating, now() per event)
    terms: dict[str, tuple[str, ...]]  # prefilter terms ({"eventName": ()}: needs no events)
    fields: frozenset[str] | None  # event fields read (None: all)
    base_decided: bool  # a record the prefilter passed for sure needs no base search
    raw_ops: list  # leading stream ops that may run on raw values
    raw_fields: tuple[str, ...]  # the raw fields they read
    base_rest: Callable[[dict], bool] | None = None  # the base search left once the prefilter passed a record for sure


def plan_search(spl: str, ctx: SearchContext, events: Callable[[], Iterable[dict]], now: float, *,
                all_time: bool, optimize: bool = True, raw_readable: Callable[[str], bool] = lambda f: False,
                constants: dict[str, str] | None = None, earliest: float | None = None,
                latest: float | None = None, defer_subsearches: bool = True) -> SearchPlan:
    """Plan ``spl`` (macros expanded here) over the event source ``events``.

    ``smguard search`` (:func:`smguard.spl.run`) plans with ``defer_subsearches=False``: its
    events exist when the search is compiled. A scan plans before reading (the default):
    a subsearch is resolved when a search is compiled, so a search that has one is
    compiled per run over the buffered events (``compiled`` is None).
    """
    text = expand_macros(spl, ctx)
    pipeline = optimize_pipeline(parse(text)) if optimize else parse(text)
    rescan = needs_rescan(pipeline)
    first = pipeline.commands[0]
    generating = not isinstance(first, A.SearchCmd)
    cs = None if rescan and defer_subsearches else CompiledSearch(pipeline, Runtime(ctx, events, now, earliest, latest,
                                                                                    text))
    # now() after the per-event work (in the tail) is set per run on the compiled search's
    # env. A streaming command calling it ends the per-event work: it and what follows run
    # per scheduled run over the rows held (cut_at_now); only a search whose base search or
    # leading stats (fed per event) calls it must run whole for each run
    if cs is not None and not rescan and not generating and not all_time:
        at = cut_at_now(pipeline.commands[1:1 + len(cs.stream_ops)])
        if at is not None:
            cs = CompiledSearch(pipeline, Runtime(ctx, events, now, earliest, latest, text), stream_upto=at)
    per_event = 1 + len(cs.stream_ops) + (cs.stats_first() is not None) if cs is not None and not rescan else None
    whole = rescan or generating or (uses_now(pipeline, per_event) and not all_time)
    if rescan:
        terms = union_terms(pipeline)
    elif isinstance(first, A.SearchCmd):
        terms = indexed_terms(first.expr, raw_readable)
    else:
        terms = {"eventName": ()}  # generating search: needs no events
    found = pipeline_fields(pipeline)
    base_decided = False
    base_rest = None
    rest: tuple[A.SearchExpr, ...] = ()
    if cs is not None and not rescan:
        rest = residual_base(cs.base_expr, terms, constants or {}, raw_readable)
        base_decided = not rest
        items = cs.base_expr.items if isinstance(cs.base_expr, A.SAnd) else (cs.base_expr,)
        if rest and len(rest) < len(items):  # what a record passed for sure still has to pass
            base_rest = compile_search(rest[0] if len(rest) == 1 else A.SAnd(rest), None, text)
    raw_ops: list = []
    raw_fields: tuple[str, ...] = ()
    if cs is not None and not rescan and not generating and not whole:  # whole: the stream may call now()
        lead = raw_base_filter(rest, raw_readable)
        lead_cmds: list[A.Command] = [] if lead is None else [A.SearchCmd(lead)]
        lead_ops: list = [] if lead is None else [SearchOp(compile_search(lead, None, text))]
        raw_ops, raw_fields = raw_prefix(lead_cmds + pipeline.commands[1:1 + len(cs.stream_ops)],
                                         lead_ops + cs.stream_ops, raw_readable)
    return SearchPlan(text, pipeline, cs, rescan, whole, terms, frozenset(found) if found is not None else None,
                      base_decided, raw_ops, raw_fields, base_rest)


def cut_at_now(stream: Sequence[A.Command]) -> int | None:
    """The position of the first streaming command that calls ``now()``/``time()``, where
    a scan ends the per-event work; None when none does.

    Sound because the commands from there on are streaming: each row's output depends on
    that row alone, so running them per run over the rows the earlier commands gave (held
    between runs, in search order) gives the rows running them per event would, in the
    same order (search order sorts by the event time, which no command changes).
    """
    for i, c in enumerate(stream):
        if uses_now(A.Pipeline([c])):
            return i
    return None


def union_terms(p: A.Pipeline) -> dict[str, tuple[str, ...]]:
    """eventName values any base search of the pipeline (incl. subsearches) may need."""
    names: list[str] = []
    for sub in pipelines(p):
        first = sub.commands[0] if sub.commands else None
        if not isinstance(first, A.SearchCmd):
            continue  # generating: reads no events
        t = indexed_terms(first.expr, ("eventName",))
        if "eventName" not in t:
            return {}
        names.extend(t["eventName"])
    return {"eventName": tuple(names)} if names else {}


def decided_by_terms(expr: A.SearchExpr | None, terms: dict[str, tuple[str, ...]], constants: dict[str, str],
                     raw_readable: Callable[[str], bool]) -> bool:
    """Is ``expr`` true exactly when the prefilter's ``terms`` hold? That is: an AND of
    ``field=value`` / ``field IN (...)`` over distinct fields, each a term the prefilter
    checks with the same values, or a field in ``constants`` whose value it matches."""
    return not residual_base(expr, terms, constants, raw_readable)


def residual_base(expr: A.SearchExpr | None, terms: dict[str, tuple[str, ...]], constants: dict[str, str],
                  raw_readable: Callable[[str], bool]) -> tuple[A.SearchExpr, ...]:
    """The items of the base search's top-level AND an event still has to pass once the
    prefilter passed its record for sure (every term checked on a plain value).

    Left out: a ``field=value`` / ``field IN (...)`` on a field no other item names that
    is a term the prefilter checks with the same values (it holds), or that names a field
    of ``constants`` (``index``, ``sourcetype``: what every event of the scan has) with a
    single value the constant matches (it holds on every event). The base search is the
    AND of its items, so on such an event it is true exactly when the others are.
    """
    items = expr.items if isinstance(expr, A.SAnd) else (() if expr is None else (expr,))
    named: dict[str, int] = {}
    for it in items:
        if isinstance(it, A.SCompare | A.SIn):
            named[it.field] = named.get(it.field, 0) + 1
    left: list[A.SearchExpr] = []
    for it in items:
        if isinstance(it, A.SCompare) and it.op == "=" and not it.case_sensitive:
            values: tuple[str, ...] = (it.value,)
        elif isinstance(it, A.SIn):
            values = it.values
        else:
            left.append(it)
            continue
        if named[it.field] > 1:
            left.append(it)
        elif it.field in constants and it.field not in terms:
            if len(values) != 1 or not value_matcher(values[0])(constants[it.field]):
                left.append(it)
        elif not raw_readable(it.field) or terms.get(it.field) != values:
            left.append(it)
    return tuple(left)


def raw_base_filter(rest: Sequence[A.SearchExpr], raw_readable: Callable[[str], bool]) -> A.SearchExpr | None:
    """The items of the base search's residual (:func:`residual_base`) that read only
    raw-readable fields, as one filter for the raw-record filters to run first; None when
    there are none.

    Sound for every record, whether or not the prefilter was sure of it: the base search
    is the AND of its items, so an event failing any of these fails the base search and
    is never a row of the search. On the raw values they give the event's verdict (each
    field's raw value is its extracted value, or not a plain value, which the raw filters
    leave to the full event). A record they drop therefore needs no extraction: e.g.
    ``NOT vpcEndpointId=*`` drops every call made through a VPC endpoint before its
    fields are extracted, instead of after.
    """
    taken = []
    for it in rest:
        reads = search_reads(it)
        if reads and all("*" not in f and raw_readable(f) for f in reads):
            taken.append(it)
    if not taken:
        return None
    return taken[0] if len(taken) == 1 else A.SAnd(tuple(taken))


def _reads_sets(c: A.Command) -> tuple[set[str] | None, set[str]] | None:
    """What a leading filter-or-enrich command reads from before it and the fields it sets
    (reads None: any field), or None when it is not ``search``/``where``/``eval``/``lookup``/
    ``mvexpand``."""
    if isinstance(c, A.SearchCmd):
        return search_reads(c.expr), set()
    if isinstance(c, A.WhereCmd):
        return expr_reads(c.expr), set()
    if isinstance(c, A.EvalCmd):
        return eval_reads_writes(c)
    if isinstance(c, A.MvexpandCmd):
        return {c.field}, {c.field}  # a row per value: the field rewritten in each
    if isinstance(c, A.LookupCmd) and c.outputs is not None:
        reads = {f for _, f in c.inputs}
        if c.outputnew:
            return reads | {f for _, f in c.outputs}, set()  # written only when missing: read
        return reads, {f for _, f in c.outputs}  # OUTPUT sets or clears them
    return None


def raw_prefix(cmds: Sequence[A.Command], ops: Sequence[Any], raw_readable: Callable[[str], bool]) -> tuple[list, tuple[str, ...]]:
    """The leading ``search``/``where``/``eval``/``lookup``/``mvexpand`` commands, up to the last filter
    taken, that decide whether a row is dropped from fields the prefilter reads off the raw
    record with the extracted value (``raw_readable``); with the raw fields they read.

    A command is taken when every field it reads is such a raw field or one an earlier
    taken command sets. An ``eval`` or ``lookup`` that reads anything else is passed over
    when it cannot fail on a value (no function of :data:`FAILS_ON_DATA`): the fields it
    may write are then unknown (an ``OUTPUTNEW`` lookup's outputs too: it fills them when
    missing, a raw field among them), and the run stops at a command reading one (an enrichment
    such as the principal's ``case()``, which the allow-list filter after it never reads).
    A filter or ``mvexpand`` is never passed over (the allow-list's ``mvexpand`` judges
    every value of a list: a row becomes a row per value, and the record is dropped when
    every one of them is).

    Given exactly those field values, the taken commands keep or drop a row as they do
    the full event: they read nothing else, a command passed over neither drops rows nor
    writes a field they read, and one that could raise on the row is never passed over.
    So a record they drop needs no extraction.
    """
    defined: set[str] = set()
    unknown: set[str] = set()
    raw: set[str] = set()
    taken: list[int] = []
    keep = 0
    kept_raw: set[str] = set()
    for i, c in enumerate(cmds):
        got = _reads_sets(c)
        if got is None:
            break
        reads, sets = got
        if reads is None or any("*" in f for f in reads) or any("*" in f for f in sets):
            break
        new = reads - defined
        if not (reads & unknown) and all(raw_readable(f) for f in new):
            taken.append(i)
            raw |= new
            defined |= sets
            unknown -= sets
            if isinstance(c, A.SearchCmd | A.WhereCmd):
                keep = len(taken)
                kept_raw = set(raw)
        elif isinstance(c, A.LookupCmd) or (isinstance(c, A.EvalCmd) and not _fails_on_data(c)):
            # everything it may write is unknown from here: an OUTPUTNEW lookup fills its
            # outputs when missing (read, so not in ``sets``), a raw field among them too
            writes = sets | ({f for _, f in c.outputs} if isinstance(c, A.LookupCmd) and c.outputs else set())
            unknown |= writes
            defined -= writes
        else:
            break
    if not keep:
        return [], ()
    return [ops[i] for i in taken[:keep]], tuple(sorted(kept_raw))


def _fails_on_data(c: A.EvalCmd) -> bool:
    """Can the ``eval`` raise on a value read from the data?"""
    return any(name in FAILS_ON_DATA for _n, e in c.assignments for name in expr_calls(e))


__all__ = ["SearchPlan", "cut_at_now", "decided_by_terms", "plan_search", "raw_base_filter", "raw_prefix",
           "residual_base", "union_terms"]
