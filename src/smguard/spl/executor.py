"""Executor: runs a parsed Pipeline over events.

Order of work, mirroring Splunk's split between indexers and the search head:

1. events outside ``[earliest, latest)`` are skipped; the base search (the first
   ``search`` command) is compiled to a predicate and tested on the event dict as is;
2. the *streaming prefix* (commands up to the first one that needs the whole result
   set: stats, sort, dedup, head, join, ...) runs per event, so memory does not grow
   with the size of the logs;
3. the surviving rows are put in search order, **newest first** (descending ``_time``,
   stable), which is the order Splunk hands events to the rest of the pipeline; an
   order-independent ``stats`` instead consumes the stream directly;
4. the remaining commands run on the ordered list.

Subsearches (``[ ... ]`` in a search, ``join``, ``append``) run first, over the same
event source and time range, which is why ``run()`` wants a re-iterable source.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from smguard.spl import ast as A
from smguard.spl.analysis import (
    expr_reads,
    needs_rescan,
    pipeline_fields,
    tail_fields,
    uses_now,
    walk_commands,
)
from smguard.spl.commands import (
    BinOp,
    ConvertOp,
    DedupOp,
    EvalOp,
    FieldsOp,
    FillnullOp,
    HeadOp,
    MvexpandOp,
    Op,
    RegexOp,
    RenameOp,
    ReverseOp,
    RexOp,
    SearchOp,
    SortOp,
    SpathOp,
    TableOp,
    TailOp,
    WhereOp,
    stream_through,
)
from smguard.spl.context import SearchContext
from smguard.spl.errors import SplError, UnsupportedError
from smguard.spl.evalfuncs import EvalEnv
from smguard.spl.history import HistoryTail, plan_history
from smguard.spl.history_groups import GroupedHistory, plan_groups
from smguard.spl.lookup import LookupOp, find_lookup, table_rows
from smguard.spl.prefix_memo import PrefixMemo
from smguard.spl.rows import Row, merge_ids
from smguard.spl.searchmatch import compile_search
from smguard.spl.statscmd import EventstatsOp, KeepGroupsOp, StatsOp, StreamstatsOp
from smguard.spl.values import num, to_str

EventSource = Callable[[], Iterable[dict]]

SUBSEARCH_MAXOUT = 10000  # limits.conf [subsearch] maxout
JOIN_MAXOUT = 50000  # limits.conf [join] subsearch_maxout


@dataclass
class Runtime:
    """Everything a search run depends on besides its text."""

    ctx: SearchContext
    source: EventSource
    now: float
    earliest: float | None = None
    latest: float | None = None
    text: str = ""
    env: EvalEnv = field(init=False)

    def __post_init__(self) -> None:
        self.env = EvalEnv(self.now, self.text)


def _time_key(r: Row) -> float:
    t = r.t if r.t is not None else r.f.get("_time")
    if t is None:
        return float("-inf")
    if isinstance(t, float | int):
        return float(t)
    n = num(t)
    return float("-inf") if n is None else float(n)


def _by_time(cmd: A.SortCmd) -> bool:
    """Is ``cmd`` ``sort 0 _time`` (ascending, every row kept, numbers compared as numbers)?"""
    return cmd.limit == 0 and len(cmd.keys) == 1 and cmd.keys[0][0] == "_time" and not cmd.keys[0][1] \
        and cmd.keys[0][2] in ("auto", "num")


def time_ascending(rows: list[Row]) -> list[Row] | None:
    """What ``sort 0 _time`` makes of ``rows`` after :func:`search_order`, in one sort;
    None when a row's time is not a plain number (then both sorts must run).

    Search order is a *stable* sort by time, newest first; ``sort 0 _time`` then a stable
    sort by the same time, oldest first. Rows of equal time keep, through both, the order
    they came in, so the result is the rows stably sorted by time, oldest first. That
    holds when both sorts read the same number: the row's ``_time`` field is an int or
    float (not NaN, which orders nothing), and the row's event time, when set, is that
    value (search order reads the event time first).
    """
    for r in rows:
        v = r.f.get("_time")
        tv = type(v)
        if (tv is not float and tv is not int) or v != v or (r.t is not None and r.t != v):
            return None
    return sorted(rows, key=_field_time)


def _field_time(r: Row) -> float:
    return r.f["_time"]


def search_order(rows: list[Row]) -> list[Row]:
    """Newest first, stable for equal times (Splunk's event order)."""
    rows.sort(key=_time_key, reverse=True)
    return rows


class CompiledSearch:
    """A pipeline bound to a Runtime, split into base predicate, stream and tail."""

    def __init__(self, pipeline: A.Pipeline, rt: Runtime, stream_upto: int | None = None):
        """``stream_upto``: at most that many leading streaming commands form the streaming
        prefix (the planner ends it before a command calling ``now()``); the others join
        the tail, which runs streaming commands row by row as well."""
        self.pipeline = pipeline
        self.rt = rt
        cmds = pipeline.commands
        if not cmds:
            raise SplError("empty search", 0, rt.text)
        first = cmds[0]
        self.generator: A.Command | None = None
        self.base_expr: A.SearchExpr | None = None
        if isinstance(first, A.SearchCmd):
            self.base_expr = self._time_modifiers(first.expr)
            self.base_pred = compile_search(self.base_expr, self._resolve, rt.text)
        elif isinstance(first, A.InputlookupCmd | A.MakeresultsCmd | A.MultisearchCmd):
            self.generator = first
            self.base_pred = lambda f: True
        else:
            raise SplError(f"a search must start with search or a generating command, not '{first.name}'", first.pos, rt.text)
        ops = [self._op(c) for c in cmds[1:]]
        i = 0
        while i < len(ops) and ops[i].streaming and (stream_upto is None or i < stream_upto):
            i += 1
        self.stream_ops = ops[:i]
        self.tail_ops = ops[i:]
        self.memo = PrefixMemo(cmds[1 : 1 + i], self.stream_ops)
        self.tail_cmds = cmds[1 + i :]
        self.keep_fields = tail_fields(self.tail_cmds)
        self.window_reuse = self._window_reuse()
        self.history: HistoryTail | GroupedHistory | None = None
        if self.window_reuse is not None:
            plan = plan_history(self.tail_cmds, self.window_reuse + 1, self.tail_ops[self.window_reuse].time_window)
            if plan is not None:
                grouped = plan_groups(plan, self.tail_cmds)
                self.history = HistoryTail(plan, self.tail_ops, rt.env) if grouped is None else \
                    GroupedHistory(plan, self.tail_ops, rt.env, *grouped)
        self.sorts_by_time = bool(self.tail_ops) and isinstance(self.tail_ops[0], SortOp) and _by_time(self.tail_ops[0].cmd)
        if self.history is None:  # (the history path reads every row the reused streamstats gives)
            self._fuse_filters()

    def _fuse_filters(self) -> None:
        """A ``where`` right after a time-window ``streamstats`` drops rows inside it,
        before the results the condition does not read are computed
        (:meth:`StreamstatsOp.keep_only`, which says when that is sound)."""
        t, cmds = self.tail_ops, self.tail_cmds
        for k in range(len(t) - 1):
            op, nxt = t[k], t[k + 1]
            if isinstance(op, StreamstatsOp) and isinstance(nxt, WhereOp):
                reads = expr_reads(cmds[k + 1].expr)  # type: ignore[attr-defined]
                if reads is not None:
                    op.keep_only(nxt.fn, reads, cmds[k + 1].expr)  # type: ignore[attr-defined]

    def _window_reuse(self) -> int | None:
        """The tail position of a ``streamstats`` that may reuse results across runs.

        That is ``sort 0 _time | streamstats time_window=...`` leading the tail: the
        streamstats then sees every row of the run's window, in ascending time, ties in
        search order (both sorts are stable, so a run's rows keep the relative order they
        have in every other run), which is what
        :meth:`smguard.spl.statscmd.StreamstatsOp.apply_in_window` needs.
        """
        t = self.tail_ops
        if len(t) < 2 or not isinstance(t[0], SortOp) or not isinstance(t[1], StreamstatsOp):
            return None
        cmd = t[0].cmd
        if cmd.limit != 0 or len(cmd.keys) != 1:
            return None
        fld, desc, mode = cmd.keys[0]
        if fld != "_time" or desc or mode not in ("auto", "num") or not t[1].window_local:
            return None
        return 1

    # -------------------------------------------------------------- building

    def _time_modifiers(self, expr: A.SearchExpr | None) -> A.SearchExpr | None:
        """Top-level ``earliest=``/``latest=`` in the base search narrow the time range."""
        items = list(expr.items) if isinstance(expr, A.SAnd) else ([expr] if expr is not None else [])
        keep: list[A.SearchExpr] = []
        rt = Runtime(self.rt.ctx, self.rt.source, self.rt.now, self.rt.earliest, self.rt.latest, self.rt.text)
        for it in items:
            if isinstance(it, A.SCompare) and it.op == "=" and it.field.lower() in ("earliest", "latest"):
                from smguard.spl.timeutil import parse_time_arg

                try:
                    t = parse_time_arg(it.value, rt.now)
                except (SplError, ValueError) as exc:
                    raise SplError(f"invalid {it.field}={it.value}", it.pos, rt.text) from exc
                if it.field.lower() == "earliest":
                    rt.earliest = t if rt.earliest is None else max(rt.earliest, t)
                else:
                    rt.latest = t if rt.latest is None else min(rt.latest, t)
            else:
                keep.append(it)
        if len(keep) == len(items):
            return expr
        self.rt = rt  # a copy: subsearches and other runs keep their own range
        if not keep:
            return None
        return keep[0] if len(keep) == 1 else A.SAnd(tuple(keep))

    def _op(self, c: A.Command) -> Op:
        env = self.rt.env
        if isinstance(c, A.SearchCmd):
            return SearchOp(compile_search(c.expr, self._resolve, self.rt.text))
        if isinstance(c, A.WhereCmd):
            return WhereOp(c, env)
        if isinstance(c, A.EvalCmd):
            return EvalOp(c, env)
        if isinstance(c, A.RenameCmd):
            return RenameOp(c)
        if isinstance(c, A.FieldsCmd):
            return FieldsOp(c)
        if isinstance(c, A.TableCmd):
            return TableOp(c)
        if isinstance(c, A.FillnullCmd):
            return FillnullOp(c)
        if isinstance(c, A.RexCmd):
            return RexOp(c, self.rt.text)
        if isinstance(c, A.RegexCmd):
            return RegexOp(c, self.rt.text)
        if isinstance(c, A.SpathCmd):
            return SpathOp(c)
        if isinstance(c, A.MvexpandCmd):
            return MvexpandOp(c)
        if isinstance(c, A.ConvertCmd):
            return ConvertOp(c)
        if isinstance(c, A.BinCmd):
            return BinOp(c)
        if isinstance(c, A.LookupCmd):
            return LookupOp(c, self.rt.ctx, self.rt.text)
        if isinstance(c, A.StatsCmd):
            if c.kind == "stats":
                return StatsOp(c, env)
            if c.kind == "eventstats":
                return EventstatsOp(c, env)
            return StreamstatsOp(c, env)
        if isinstance(c, A.KeepGroupsCmd):
            return KeepGroupsOp(c, env)
        if isinstance(c, A.DedupCmd):
            return DedupOp(c)
        if isinstance(c, A.SortCmd):
            return SortOp(c)
        if isinstance(c, A.HeadCmd):
            return HeadOp(c.count)
        if isinstance(c, A.TailCmd):
            return TailOp(c.count)
        if isinstance(c, A.ReverseCmd):
            return ReverseOp()
        if isinstance(c, A.JoinCmd):
            return JoinOp(c, self.rt)
        if isinstance(c, A.AppendCmd):
            return AppendOp(c, self.rt)
        if isinstance(c, A.InputlookupCmd):
            if not c.append:
                raise SplError("inputlookup must be the first command unless append=t", c.pos, self.rt.text)
            return InputlookupAppendOp(c, self.rt)
        if isinstance(c, A.OutputlookupCmd):
            return OutputlookupOp()
        if isinstance(c, A.MakeresultsCmd | A.MultisearchCmd):
            raise SplError(f"{c.name} must be the first command", c.pos, self.rt.text)
        raise UnsupportedError(f"unsupported command '{c.name}'", c.pos, self.rt.text)

    def _resolve(self, ss: A.SSubsearch) -> A.SearchExpr:
        rows = CompiledSearch(ss.pipeline, self.rt).execute()[:SUBSEARCH_MAXOUT]
        return rows_to_search(rows)

    # -------------------------------------------------------------- running

    def stream(self, row: Row) -> list[Row]:
        """Push one row (already past the base search) through the streaming prefix."""
        if self.memo.active:
            return self.memo.run(row)
        return stream_through(self.stream_ops, [row])

    def in_range(self, ev: dict) -> bool:
        lo, hi = self.rt.earliest, self.rt.latest
        if lo is None and hi is None:
            return True
        t = ev.get("_time")
        if t is None:
            return False
        return (lo is None or t >= lo) and (hi is None or t < hi)

    def scan(self) -> Iterable[Row]:
        pred = self.base_pred
        lo, hi = self.rt.earliest, self.rt.latest
        has_stream = bool(self.stream_ops)
        for ev in self.rt.source():
            if lo is not None or hi is not None:
                t = ev.get("_time")
                if t is None or (lo is not None and t < lo) or (hi is not None and t >= hi):
                    continue
            if not pred(ev):
                continue
            row = Row.from_event(ev)
            out = self.stream(row) if has_stream else (row,)
            for r in out:
                yield self.prune(r)

    def prune(self, r: Row) -> Row:
        """Keep only the fields the rest of the pipeline reads, before rows are held."""
        keep = self.keep_fields
        if keep is None:
            return r
        f = r.f
        return Row({k: f[k] for k in keep if k in f}, r.ids, True, r.t)

    def stats_first(self) -> StatsOp | None:
        """The tail's first command when it is an order-independent stats (can stream)."""
        t = self.tail_ops
        if t and isinstance(t[0], StatsOp) and t[0].order_free:
            return t[0]
        return None

    def finish_after_stats(self, rows: list[Row]) -> list[Row]:
        """Run the tail after its leading stats, whose result rows are given."""
        for op in self.tail_ops[1:]:
            rows = op.apply(rows)
        return rows

    def finish(self, rows: Iterable[Row], ordered: bool = False, window: tuple[float, float] | None = None,
               history: bool = True) -> list[Row]:
        """Run the tail over the rows that left the streaming prefix.

        ``window``: the rows are *every* row the streaming prefix gave (the same in every
        run: it calls no ``now()``) whose event time is in a scheduled run's
        ``[lo, hi)``, the rows lent by a scan that keeps them between runs, and runs come
        in time order. A tail that can reuse work across such runs then does
        (:meth:`_window_reuse`); the rows it returns are the same. ``history=False``: the
        history path already declined this run.
        """
        tail = self.tail_ops
        reuse = self.window_reuse if window is not None else None
        start = 0
        if tail and isinstance(tail[0], StatsOp) and tail[0].order_free:
            out = tail[0].consume(rows, ordered=ordered)
            start = 1
        else:
            out = list(rows)
            if not ordered:
                ascending = time_ascending(out) if self.sorts_by_time else None
                if ascending is None:
                    search_order(out)
                else:
                    out, start = ascending, 1
        for k in range(start, len(tail)):
            op = tail[k]
            if k == reuse:
                if self.history is not None and history:  # the rows below a time cut, once per segment
                    got = self.history.run(out, window[0], window[1])  # type: ignore[index]
                    if got is not None:
                        return got
                out = op.apply_in_window(out, window[0])  # type: ignore[index]
            else:
                out = op.apply(out)
        return out

    def finish_held(self, rows: list[Row], window: tuple[float, float]) -> list[Row]:
        """:meth:`finish` with ``window`` for rows a scan holds between runs: they are not
        written (each command that writes gets a borrowing copy), and they are in
        ascending event time, ties in the logs' order (what :func:`time_ascending` makes
        of them when every row's ``_time`` is its event time).

        A tail with a history block (:mod:`smguard.spl.history`) reads them as they are:
        its ``run`` writes none of them and itself checks that every row's ``_time`` is
        its event time, so no per-run copy and no per-run sort of a day of rows. Any
        other tail, or a run the history path declines, runs :meth:`finish` over copies.
        """
        if self.history is not None and self.sorts_by_time and self.window_reuse == 1:
            got = self.history.run(rows, window[0], window[1])
            if got is not None:
                return got
            return self.finish([Row(r.f, r.ids, False, r.t) for r in rows], window=window, history=False)
        return self.finish([Row(r.f, r.ids, False, r.t) for r in rows], window=window)

    def execute(self) -> list[Row]:
        if self.generator is not None:
            gen_rows = generate_rows(self.generator, self.rt)
            rows: list[Row] = []
            for r in gen_rows:
                rows.extend(self.stream(r))
            return self.finish(rows, ordered=True)
        return self.finish(self.scan())


def generate_rows(c: A.Command, rt: Runtime) -> list[Row]:
    """The rows a generating command starts a search with, in search order."""
    if isinstance(c, A.MakeresultsCmd):
        return [Row({"_time": rt.now}, (), True) for _ in range(c.count)]
    if isinstance(c, A.MultisearchCmd):
        # each subsearch is a streaming search over the same events and time range; their
        # results are interleaved by time, newest first (an event two subsearches match
        # is there twice, once from each, as with separate searches)
        rows: list[Row] = []
        for sub in c.subsearches:
            rows.extend(CompiledSearch(sub, rt).execute())
        return search_order(rows)
    assert isinstance(c, A.InputlookupCmd)
    lk = find_lookup(rt.ctx, c.table, c.pos, rt.text)
    pred = compile_search(c.where, None, rt.text) if c.where is not None else None
    return [Row(r, (), True) for r in table_rows(lk) if pred is None or pred(r)]


def rows_to_search(rows: list[Row]) -> A.SearchExpr:
    """What Splunk's implicit ``format`` makes of subsearch results: OR of ANDs."""
    ors: list[A.SearchExpr] = []
    for r in rows:
        ands: list[A.SearchExpr] = []
        for k, v in r.f.items():
            if k.startswith("_") or v is None:
                continue
            if k in ("search", "query"):
                raise UnsupportedError(f"subsearch field '{k}' (raw search text) is not supported")
            vals = v if isinstance(v, list) else [to_str(v) or ""]
            terms = tuple(A.SCompare(k, "=", x) for x in vals)
            ands.append(terms[0] if len(terms) == 1 else A.SOr(terms))
        if ands:
            ors.append(ands[0] if len(ands) == 1 else A.SAnd(tuple(ands)))
    if len(ors) == 1:
        return ors[0]
    return A.SOr(tuple(ors))  # empty OR matches nothing, like Splunk's "NOT ()"


class JoinOp(Op):
    streaming = False

    def __init__(self, cmd: A.JoinCmd, rt: Runtime):
        self.cmd = cmd
        self.rt = rt

    def apply(self, rows: list[Row]) -> list[Row]:
        c = self.cmd
        sub = CompiledSearch(c.subsearch, self.rt).execute()[:JOIN_MAXOUT]
        index: dict[tuple, list[Row]] = {}
        for r in sub:
            key = tuple(to_str(r.f.get(k)) for k in c.fields)
            if any(k is None for k in key):
                continue
            index.setdefault(key, []).append(r)
        out: list[Row] = []
        for r in rows:
            key = tuple(to_str(r.f.get(k)) for k in c.fields)
            matches = index.get(key) if all(k is not None for k in key) else None
            if not matches:
                if c.type == "left":
                    out.append(r)
                continue
            for m in matches[: c.max] if c.max > 0 else matches:
                f = dict(r.f)
                for k, v in m.f.items():
                    if c.overwrite or f.get(k) is None:
                        f[k] = v
                out.append(Row(f, merge_ids([r.ids, m.ids]), True, r.t))
        return out


class AppendOp(Op):
    streaming = False

    def __init__(self, cmd: A.AppendCmd, rt: Runtime):
        self.cmd = cmd
        self.rt = rt

    def apply(self, rows: list[Row]) -> list[Row]:
        sub = CompiledSearch(self.cmd.subsearch, self.rt).execute()[:SUBSEARCH_MAXOUT * 5]
        return rows + sub


class InputlookupAppendOp(Op):
    streaming = False

    def __init__(self, cmd: A.InputlookupCmd, rt: Runtime):
        self.cmd = cmd
        self.rt = rt

    def apply(self, rows: list[Row]) -> list[Row]:
        return rows + generate_rows(self.cmd, self.rt)


class OutputlookupOp(Op):
    """Offline, outputlookup writes nothing: results pass through unchanged."""

    streaming = False

    def apply(self, rows: list[Row]) -> list[Row]:
        return rows


# ------------------------------------------------------------------ analysis helpers


__all__ = ["CompiledSearch", "Runtime", "needs_rescan", "pipeline_fields", "search_order", "tail_fields", "uses_now",
           "walk_commands"]
