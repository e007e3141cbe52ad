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
   every row of its window. :func:`smguard.spl.optimizer.pushdown.push_filters` puts such filters there.

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
from smguard.spl.analysis import expr_reads, search_reads, uses_now
from smguard.spl.commands import Op, SearchOp, WhereOp
from smguard.spl.rows import Row
from smguard.spl.statscmd import EventstatsOp, Group, StatsAccumulator, merge_groups

_KEY = itemgetter(0)


def _row_local(op: Op, cmd: A.Command) -> bool:
    """Does the command work row by row, the same in every run?"""
    return op.streaming and not uses_now(A.Pipeline([cmd]))


def _filter_reads(cmd: A.Command) -> set[str] | None:
    """The fields a ``where``/``search`` filter reads (None: not a filter, or any field)."""
    if isinstance(cmd, A.WhereCmd):
        return expr_reads(cmd.expr)
    if isinstance(cmd, A.SearchCmd):
        out = search_reads(cmd.expr)
        return out if out is not None and "_raw" not in out else None
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
        groups: dict[tuple, Group] = {}
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


class SlidingMerge:
    """The merged stats groups of each run's segments, for runs replayed in order.

    When segments share groups (``stats ... by user`` over a 7-day window on an hourly
    cron: every run merges hundreds of segments holding the same users), merging every
    segment for every run costs the window's length per run. Windows only move forward,
    so a run's segments are the previous run's minus some of the oldest plus some new
    ones; but ``min``, ``max``, ``dc`` and ``values`` cannot be taken back out of a
    merge. The two-stack scheme of sliding-window aggregation avoids that: the older
    segments (*front*) are kept with their suffix merges (each segment merged with every
    later front segment), the newer ones (*back*) with one running merge. A run's groups
    are the suffix merge of its oldest front segment merged with the running merge; when
    the window has moved past every front segment, the back becomes the front (its
    suffix merges computed once). Each segment is merged a constant number of times
    instead of once per run.

    Merging keeps the segments' order (provenance is concatenated oldest first, as
    merging them one by one does); parts are never changed. Segments that do not follow
    on from the previous run's (logs merged from parts, out-of-order records) or that
    got rows since they were merged restart the scheme, so the answer is always the
    merge of exactly the given segments.
    """

    def __init__(self, specs: list) -> None:
        self.specs = specs
        self.front: list[tuple[StatsAccumulator, int, dict]] = []  # (segment, rows then, suffix merge)
        self.back: list[tuple[StatsAccumulator, int]] = []
        self.back_groups: dict[tuple, Group] = {}
        self.restarts = 0  # (for tests)

    def groups(self, parts: Sequence[StatsAccumulator]) -> dict[tuple, Group]:
        """The groups of all ``parts`` (in time order) merged."""
        known = [(a, n) for a, n, _g in self.front] + self.back
        start = next((i for i, (a, _n) in enumerate(known) if a is parts[0]), None)
        same = start is not None and all(
            i < len(parts) and parts[i] is a and a.added == n for i, (a, n) in enumerate(known[start:]))
        if not same:
            self.front, self.back, self.back_groups = [], [], {}
            self.restarts += 1
            start, known = 0, []
        for acc in parts[len(known) - start:]:
            self.back.append((acc, acc.added))
            self.back_groups = merge_groups([self.back_groups, acc.groups], self.specs)
        if start < len(self.front):
            del self.front[:start]
        else:  # the window has left every front segment: the back becomes the front
            fresh = self.back[start - len(self.front):]
            self.front, self.back, self.back_groups = [], [], {}
            suffix: dict[tuple, Group] = {}
            for acc, n in reversed(fresh):
                suffix = merge_groups([acc.groups, suffix], self.specs) if suffix else acc.groups
                self.front.append((acc, n, suffix))
            self.front.reverse()
        if not self.front:
            return self.back_groups
        if not self.back_groups:
            return self.front[0][2]
        return merge_groups([self.front[0][2], self.back_groups], self.specs)


__all__ = ["SegmentedTail", "SlidingMerge"]
