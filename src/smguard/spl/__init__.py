"""Offline SPL engine: run Splunk searches over CloudTrail events without Splunk.

Public API::

    expand_macros(spl, ctx) -> str
    parse(spl) -> Pipeline
    run(spl, events, ctx, *, now, earliest=None, latest=None) -> SearchResult
    required_terms(spl, ctx) -> {field: patterns}

``events`` for :func:`run` is either a list/tuple of event dicts, or a *callable
returning a fresh iterable* each time it is called (e.g. a function re-reading log
files). Searches with subsearches (``[...]``, ``join``, ``append``) read the events
more than once; a plain one-shot iterator is accepted and is materialized into a list
only when the search needs a second pass.

Events are ``dict[str, str | list[str]]`` plus ``_time`` (float epoch), ``_raw`` and
``eventID``. Results come back newest-first for non-transforming searches and sorted
by the BY fields after ``stats``, like Splunk; every row carries the eventIDs it was
computed from (``SearchResult.event_ids``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from smguard.spl.ast import Pipeline
from smguard.spl.context import LookupDef, MacroDef, SearchContext
from smguard.spl.errors import SplError, UnsupportedError, as_spl_error
from smguard.spl.executor import CompiledSearch, Runtime, needs_rescan, uses_now
from smguard.spl.macros import expand_macros
from smguard.spl.parser import parse
from smguard.spl.rows import Row
from smguard.spl.searchmatch import indexed_terms
from smguard.spl.values import out_value

__all__ = [
    "CompiledSearch",
    "LookupDef",
    "MacroDef",
    "Pipeline",
    "Runtime",
    "SearchContext",
    "SearchResult",
    "SplError",
    "UnsupportedError",
    "check",
    "compile_search",
    "expand_macros",
    "parse",
    "required_terms",
    "rows_to_result",
    "run",
]

Events = Iterable[dict] | Callable[[], Iterable[dict]]


@dataclass
class SearchResult:
    """Rows (field -> str or list[str]) and, per row, the eventIDs behind it."""

    rows: list[dict[str, str | list[str]]]
    event_ids: list[list[str]]

    def __len__(self) -> int:
        return len(self.rows)


def rows_to_result(rows: list[Row]) -> SearchResult:
    out_rows: list[dict[str, str | list[str]]] = []
    for r in rows:
        d: dict[str, str | list[str]] = {}
        for k, v in r.f.items():
            ov = out_value(v)
            if ov is not None:
                d[k] = ov
        out_rows.append(d)
    return SearchResult(out_rows, [list(r.ids) for r in rows])


def _source(events: Events, pipeline: Pipeline) -> Callable[[], Iterable[dict]]:
    if callable(events):
        return events  # type: ignore[return-value]
    if isinstance(events, list | tuple):
        return lambda: events
    if needs_rescan(pipeline):
        materialized = list(events)
        return lambda: materialized
    used = False

    def once() -> Iterable[dict]:
        nonlocal used
        if used:
            raise SplError("the event iterator was consumed already; pass a list or a callable")
        used = True
        return events
    return once


def compile_search(spl: str, events: Events, ctx: SearchContext, *, now: float,
                   earliest: float | None = None, latest: float | None = None,
                   optimize: bool = True) -> CompiledSearch:
    """Expand, parse, optimize and bind a search, through the planner scans use too
    (:func:`smguard.spl.planner.plan_search`); lets callers push events themselves.

    ``optimize`` applies the optimizer's rules (:mod:`smguard.spl.optimizer`: same
    results, less work); tests turn it off to prove exactly that.
    """
    from smguard.spl.planner import plan_search

    text = expand_macros(spl, ctx)
    source = _source(events, parse(text))
    plan = plan_search(spl, ctx, source, now, all_time=True, optimize=optimize, earliest=earliest, latest=latest,
                       defer_subsearches=False)
    assert plan.compiled is not None
    return plan.compiled


def run(spl: str, events: Events, ctx: SearchContext, *, now: float,
        earliest: float | None = None, latest: float | None = None, optimize: bool = True) -> SearchResult:
    """Run one SPL search over events; see the module docstring for ``events``.

    A failure while running is an :class:`SplError`, named as a scan names it
    (:func:`smguard.spl.errors.as_spl_error`), so ``smguard search`` reports it in one line.
    """
    cs = compile_search(spl, events, ctx, now=now, earliest=earliest, latest=latest, optimize=optimize)
    try:
        return rows_to_result(cs.execute())
    except SplError:
        raise
    except Exception as exc:  # noqa: BLE001 - reported as the scan reports it, never a traceback
        raise as_spl_error(exc) from exc


def check(spl: str, ctx: SearchContext) -> None:
    """Expand, parse and plan ``spl`` as a run would, without data; raise :class:`SplError` if it fails.

    Planning compiles every command, eval function, literal regex, lookup and subsearch
    (a run over no events still builds each of them), so an unknown command, function,
    lookup or macro, or a broken regex, is found before a search ships or runs.
    """
    try:
        run(spl, [], ctx, now=0.0)
    except RecursionError:
        raise SplError("search too deeply nested to plan") from None


def required_terms(
    spl: str, ctx: SearchContext, fields: tuple[str, ...] | Callable[[str], bool] = ("eventName", "eventSource")
) -> dict[str, tuple[str, ...]]:
    """Field value patterns the base search requires (for prefiltering raw records)."""
    pipeline = parse(expand_macros(spl, ctx))
    first = pipeline.commands[0]
    from smguard.spl.ast import SearchCmd

    if not isinstance(first, SearchCmd):
        return {}
    return indexed_terms(first.expr, fields)


_ = uses_now  # re-exported for scan
