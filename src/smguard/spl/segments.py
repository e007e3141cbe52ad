"""Scheduled runs over overlapping windows, computed once per *segment* of time.

A scheduled search whose tail starts with an order-free ``stats`` keeps one stats
accumulator per segment: a stretch of time that lies in the same set of run windows
(:mod:`smguard.scan.runner`). A run merges the accumulators of its segments and runs
the rest of the tail. With hourly runs over a day, every segment is read by 24 runs,
and recomputing the tail from scratch each time is most of such a search's cost.

:class:`SegmentedTail` computes the tail's work *once per segment* when the stats
groups of different segments are disjoint (the BY clause holds a time bin that does not
straddle segment boundaries, as in ``bin _time span=10m | stats ... by _time user``;
checked for each run, never assumed). Then the stats rows of a run are the union of the
segments' rows, and Splunk's order (sorted by the BY values) is a merge of the
segments' sorted rows. What is cached per segment:

1. the stats rows after the tail's leading streaming commands (``eval``, ``where``,
   ``lookup``, ...: row by row, so the same per segment as over the union), unless one
   calls ``now()``/``time()``, whose value is the run's;
2. when an ``eventstats`` whose functions merge (no ``first``/``last``/``list``/
   ``mode``, no wildcard) follows, its groups over the segment's rows, and which rows
   pass the filters (``where``/``search``) right after it that read none of the
   eventstats' output fields. Those filters decide the same before and after the
   eventstats writes its fields, so a run merges the segments' groups of the rows that
   pass and writes the results on those rows only, instead of grouping and writing
   every row of its window. :func:`smguard.spl.optimize.push_filters` puts such filters there.

The result is the same rows, in the same order, with the same provenance, as running
the tail over the merged accumulator (tests check this for the whole pack); when the
groups overlap, :meth:`SegmentedTail.run` returns None and the caller runs the tail as
usual.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from operator import itemgetter

from smguard.spl import ast as A
from smguard.spl.commands import Op, SearchOp, WhereOp
from smguard.spl.executor import _expr_fields, _search_fields, uses_now
from smguard.spl.rows import Row
from smguard.spl.statscmd import EventstatsOp, StatsAccumulator, _Group, merge_groups

_KEY = itemgetter(0)


def _row_local(op: Op, cmd: A.Command) -> bool:
    """Does the command work row by row, the same in every run?"""
    return op.streaming and not uses_now(A.Pipeline([cmd]))


def _filter_reads(cmd: A.Command) -> set[str] | None:
    """The fields a ``where``/``search`` filter reads (None: not a filter, or any field)."""
    out: set[str] = set()
    if isinstance(cmd, A.WhereCmd):
        return out if _expr_fields(cmd.expr, out) else None
    if isinstance(cmd, A.SearchCmd):
        return out if _search_fields(cmd.expr, out) and "_raw" not in out else None
    return None


class _Part:
    """What one segment contributes, valid while its accumulator gets no more rows."""

    __slots__ = ("added", "groups", "keys", "passed", "rows")

    def __init__(self, added: int, keys: frozenset, rows: list, groups: dict, passed: list):
        self.added = added
        self.keys = keys  # the segment's stats group keys
        self.rows = rows  # (sort key, row) after the leading streaming commands
        self.groups = groups  # eventstats groups over those rows
        self.passed = passed  # (sort key, row, eventstats group key) passing the filters


class SegmentedTail:
    """The tail of a search (``tail_ops``/``tail_cmds`` of a compiled search whose first
    tail op is an order-free ``stats``), run per run from per-segment caches."""

    def __init__(self, ops: Sequence[Op], cmds: Sequence[A.Command]):
        i = 1
        while i < len(ops) and _row_local(ops[i], cmds[i]):
            i += 1
        self.local = list(ops[1:i])
        self.es: EventstatsOp | None = None
        self.filters: list[Op] = []
        if i < len(ops) and isinstance(ops[i], EventstatsOp) and ops[i].mergeable:
            es = ops[i]
            outputs = {s.name for s in es.specs}
            j = i + 1
            while j < len(ops) and isinstance(ops[j], WhereOp | SearchOp) and _row_local(ops[j], cmds[j]):
                reads = _filter_reads(cmds[j])
                if reads is None or reads & outputs:
                    break
                j += 1
            if j > i + 1:
                self.es, self.filters, i = es, list(ops[i + 1:j]), j
        self.rest = list(ops[i:])
        self.useful = bool(self.local) or self.es is not None
        self.runs = 0  # runs answered from the segments (for tests and benchmarks)

    def run(self, parts: Sequence[StatsAccumulator]) -> list[Row] | None:
        """The tail's output for a run whose segments are ``parts``; None when their
        stats groups overlap (the caller must then merge and run the tail itself)."""
        if not parts or not parts[0].op.by:
            return None  # no BY: one row over all segments
        cached = [self._part(p) for p in parts]
        if len(cached) > 1 and len(frozenset().union(*[c.keys for c in cached])) != sum(len(c.keys) for c in cached):
            return None
        self.runs += 1
        if self.es is None:
            merged = heapq.merge(*[c.rows for c in cached], key=_KEY) if len(cached) > 1 else cached[0].rows
            rows = [Row(r.f, r.ids, False, r.t) for _k, r in merged]
        else:
            specs = self.es.specs
            merged = heapq.merge(*[c.passed for c in cached], key=_KEY) if len(cached) > 1 else cached[0].passed
            rows = []
            results: dict[tuple, dict] = {}
            for _k, r, hk in merged:
                row = Row(r.f, r.ids, False, r.t)
                if hk is not None:
                    res = results.get(hk)
                    if res is None:  # only the groups of rows that passed are merged
                        g = merge_groups([{hk: c.groups[hk]} for c in cached if hk in c.groups], specs)[hk]
                        res = results[hk] = g.results(specs)
                    self.es.write(row, res)
                rows.append(row)
        for op in self.rest:
            rows = op.apply(rows)
        return rows

    def _part(self, acc: StatsAccumulator) -> _Part:
        got = acc.segment_part
        if isinstance(got, _Part) and got.added == acc.added:
            return got
        keyed = acc.keyed_rows()
        rows = keyed
        for op in self.local:
            nxt = []
            for k, r in rows:
                nxt.extend((k, out) for out in op.process(r))
            rows = nxt
        # held across runs: lent to every run, which copies before writing
        rows = [(k, Row(r.f, r.ids, False, r.t)) for k, r in rows]
        groups: dict[tuple, _Group] = {}
        passed: list = []
        if self.es is not None:
            groups, row_keys = self.es.group([r for _k, r in rows])
            for (k, r), hk in zip(rows, row_keys, strict=True):
                keep = True
                for op in self.filters:
                    if not op.process(r):
                        keep = False
                        break
                if keep:
                    passed.append((k, r, hk))
        got = _Part(acc.added, frozenset(acc.groups), rows, groups, passed)
        acc.segment_part = got
        return got


__all__ = ["SegmentedTail"]
