"""A run's history below a time cut, computed once per segment of time.

A baseline search scores the last hour of a day-long window against the hours before::

    base | sort 0 _time | streamstats time_window=10m ... by principal
         | eval scored_from=relative_time(now(), "-70m@m")
         | eval history_bin=if(_time < scored_from - 600, floor(_time/600), null())
         | eventstats max(objects) as bin_objects by principal history_bin
         | streamstats count as bin_row by principal history_bin
         | eval history=if(isnotnull(history_bin) AND bin_row=1, bin_objects, null())
         | eventstats avg(history) stdev(history) by principal
         | where _time >= scored_from - 600
         | ...

Run hourly, every row of the day goes through the whole block again in each of the 24
runs that hold it, although everything a row below the cut (the ``where``) contributes
to the rows that survive it is the same in every such run. This module proves that from
the tree (:func:`plan_history`) and then (:class:`HistoryTail`) processes such rows once
per *segment* (a stretch of time whose rows the runs share), keeps what they contribute,
and per run processes only the *live* rows (the window's first minutes and everything
from the last segment below the cut on), merging the segments' contributions in.

**What the analysis proves.** The block is the tail after ``sort 0 _time | streamstats
time_window=W`` (:meth:`smguard.spl.executor.CompiledSearch._window_reuse`) up to the
first ``where _time >= R`` (or ``>``; the *cut*) where ``R`` is *run-constant*: built from
literals and fields set by an ``eval`` of ``now()`` and literals (one value per run, the
same on every row). A *history row* of a run is a row whose time is below every
run-constant ``R`` the block compares ``_time`` with (the cut's included) and at least
``W`` after the window's start. For every field on a history row, the analysis tracks
whether its value is the same in every run that holds the row as a history row
(*stable*), one value per run (*constant*), or may differ between runs (*varying*):

- fields from before the block are stable: the streaming prefix is the same in every run
  and ``streamstats time_window=W`` gives a row at least ``W`` after the window's start
  the same result in every run (the rows of its window are all in the run);
- a comparison of ``_time`` with a run-constant ``R`` is *decided* on a history row
  (``<``, ``<=``: true; ``>``, ``>=``: false), and so are ``NOT``/``AND``/``OR`` of
  decided comparisons and the branch ``if()`` takes on them;
- an ``eval`` field is stable when what it reads (decided parts left out) is stable;
- an ``eventstats``/``streamstats`` whose BY clause holds a *time bin* (a field that is
  ``floor(_time/N)`` on history rows, and ``floor(_time/N)`` or null on every row) groups
  rows of one ``N``-second bin only. With segments ``N`` seconds long, such a group is
  entirely inside one segment or entirely live, and its rows are the same rows in the
  same order in every run: its results are stable when its arguments are;
- any other ``eventstats`` (a *crossing* one: its groups mix history and live rows) must
  group by stable fields and aggregate stable arguments with functions whose partial
  groups merge into exactly the one-pass result (``count``, ``dc``, ``values``, ``min``,
  ``max``; ``sum``, ``avg``, ``stdev``/``var`` over integers, which merge exactly; a
  float total makes the run fall back). What it writes on history rows varies, so
  nothing may aggregate, filter or group on it before the cut;
- a ``keep_groups`` (:mod:`smguard.spl.optimizer.active_groups`) whose condition is
  decided false on history rows lets their groups live only through live rows, so it
  runs on the live rows alone, provided every later grouping's BY holds its BY;
- a ``lookup`` (a fixed table, named outputs) writes fields as stable as the fields it
  matches on (and, with ``OUTPUTNEW``, the outputs it may keep); a time bin may also be
  written ``floor(_time/N) * N``, the bin's start (``k * N`` is an exact whole number
  of seconds, so bins stay apart; another factor could round two bins together, or
  overflow);
- a ``where``/``search`` before the cut reads stable fields only; a ``fillnull`` names
  its fields (without a list it fills what any row of the run has); nothing writes
  ``_time``; an ``eval`` that might return a boolean (an error in Splunk) is refused,
  so errors cannot differ; any other command is refused.

Since every row below the cut is dropped there, what survives are live rows, whose
fields after the block depend on the history rows only through the crossing
``eventstats`` groups. The per-segment work is the block over the segment's rows
(``keep_groups`` skipped, crossing ``eventstats`` only grouped); the reused
``streamstats`` runs only over the rows whose results are read (live rows and segments
not processed yet, each stretch with the ``W`` seconds before it), and not again for a
row whose result the previous run computed (its live rows at the window's end, at least
``W`` after both windows' starts, among the same held rows in the same order: the same
result); a run merges, per
crossing ``eventstats``, its live rows' groups before the segments (older live rows),
the segments' groups (:class:`~smguard.spl.segments.SlidingMerge`, oldest first) and
the live rows after them, in time order, so ``min``/``max`` keep the same one of equal
values as one pass. Segments are checked to hold the very same rows as when they were
processed (the very same field dicts). When something is only known per run (a bound
is null, a stable row's ``_time`` is not its event time or the rows are not in time
order, a multivalue ``keep_groups`` key, a float total) the run falls back to the plain
tail: the answer is always the plain tail's.
"""

from __future__ import annotations

import bisect
import itertools
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field

from smguard.spl import ast as A
from smguard.spl.analysis import expr_calls, expr_reads, search_reads, uses_now_expr
from smguard.spl.bounds import Bound
from smguard.spl.commands import Op
from smguard.spl.evalfuncs import EvalEnv, compile_expr, truthy
from smguard.spl.rows import Row
from smguard.spl.segments import SlidingMerge
from smguard.spl.stats import Numeric, Sum
from smguard.spl.statscmd import EventstatsOp, Group, group_keys

STABLE, CONST, VARY = 0, 1, 2

_ROW_T = operator.attrgetter("t")
_ROW_F = operator.attrgetter("f")
_GET_TIME = operator.methodcaller("get", "_time")

_FLIP = {"<": ">", ">": "<", "<=": ">=", ">=": "<="}
_EXACT_MERGE = frozenset({"count", "dc", "values", "min", "max", "sum", "avg", "stdev", "stdevp", "var", "varp"})
_NOT_PER_RUN = frozenset({"random", "searchmatch", "time"})
_BOOL_FUNCS = frozenset({"isnull", "isnotnull", "isnum", "isint", "isstr", "isbool", "like", "match", "cidrmatch",
                         "searchmatch", "in", "true", "false", "json_valid"})
_DEFAULT_SPAN = 3600.0


def _is_time(e: A.Expr) -> bool:
    return isinstance(e, A.FieldRef) and e.name == "_time"


def _is_null(e: A.Expr) -> bool:
    return (isinstance(e, A.Literal) and e.value is None) or (isinstance(e, A.Call) and e.name == "null"
                                                               and not e.args)


def _may_be_bool(e: A.Expr) -> bool:
    """Could the expression's value be a boolean (which ``eval`` rejects)?"""
    if isinstance(e, A.BinOp):
        return e.op not in ("+", "-", "*", "/", "%", ".")
    if isinstance(e, A.BoolOp):
        return True
    if isinstance(e, A.UnaryOp):
        return e.op == "NOT" or _may_be_bool(e.operand)
    if isinstance(e, A.Literal):
        return isinstance(e.value, bool)
    if isinstance(e, A.Call):
        if e.name in _BOOL_FUNCS:
            return True
        if e.name == "if":
            return any(_may_be_bool(a) for a in e.args[1:])
        if e.name == "case":
            return any(_may_be_bool(a) for a in e.args[1::2])
        if e.name in ("coalesce", "mvindex", "validate"):
            return any(_may_be_bool(a) for a in e.args)
    return False


@dataclass
class HistoryPlan:
    """What :func:`plan_history` proved (indexes are positions in the tail ops)."""

    start: int  # first command of the block
    cut: int  # the cut ``where``
    lead: float  # the streamstats time window: rows this close to a window's start are live
    span: float  # segment length (the time bins' span)
    consts: list[tuple[str, A.Expr]] = field(default_factory=list)  # run-constant assignments, in order
    bounds: list[A.Expr] = field(default_factory=list)  # run-constant sides of decided comparisons
    crossing: list[int] = field(default_factory=list)  # eventstats whose groups mix history and live rows
    keeps: list[int] = field(default_factory=list)  # keep_groups commands (run on live rows only)
    last: int = -1  # the last command a segment needs (its last crossing eventstats)


class _Analysis:
    """Field states on history rows, command by command (see the module docstring)."""

    def __init__(self) -> None:
        self.state: dict[str, int] = {}  # fields written in the block (others: stable)
        self.bins: dict[str, float] = {}  # time-bin fields and their span
        self.bounds: list[A.Expr] = []
        self.keep_by: list[set[str]] = []

    def st(self, name: str) -> int:
        return self.state.get(name, STABLE)

    def const(self, e: A.Expr) -> bool:
        """One value per run, the same on every row?"""
        reads = expr_reads(e)
        return (reads is not None and all(self.st(f) == CONST for f in reads)
                and not any(c in _NOT_PER_RUN for c in expr_calls(e)))

    def decide(self, e: A.Expr) -> bool | None:
        """The value of a condition on every history row, when the analysis knows it.

        Every run-constant side it decides on joins ``bounds``: a run's history rows are
        below all of them, which is what makes the decision true.
        """
        if isinstance(e, A.BinOp) and e.op in _FLIP:
            left, right, op = e.left, e.right, e.op
            if _is_time(right) and not _is_time(left):
                left, right, op = right, left, _FLIP[op]
            if _is_time(left) and self.const(right):
                if right not in self.bounds:
                    self.bounds.append(right)
                return op in ("<", "<=")
            return None
        if isinstance(e, A.UnaryOp) and e.op == "NOT":
            d = self.decide(e.operand)
            return None if d is None else not d
        if isinstance(e, A.BoolOp) and e.op in ("AND", "OR"):
            ds = [self.decide(i) for i in e.items]
            stop = e.op == "OR"  # OR: one true decides; AND: one false
            if stop in ds:
                return stop
            if all(d is (not stop) for d in ds):
                return not stop
        return None

    def reads(self, e: A.Expr) -> set[str] | None:
        """What the expression reads on a history row, decided parts left out (None: any field)."""
        if self.decide(e) is not None:
            return set()
        if isinstance(e, A.Call):
            if e.name in _NOT_PER_RUN:
                return None
            args = e.args
            if e.name == "if" and len(args) == 3:
                d = self.decide(args[0])
                if d is not None:
                    return self.reads(args[1] if d else args[2])
            out: set[str] = set()
            for a in args:
                r = self.reads(a)
                if r is None:
                    return None
                out |= r
            if e.name == "now":
                out.add("now()")
            return out
        if isinstance(e, A.BinOp):
            left, right = self.reads(e.left), self.reads(e.right)
            return None if left is None or right is None else left | right
        if isinstance(e, A.BoolOp):
            out = set()
            for i in e.items:
                r = self.reads(i)
                if r is None:
                    return None
                out |= r
            return out
        if isinstance(e, A.UnaryOp):
            return self.reads(e.operand)
        return expr_reads(e)

    def state_of(self, reads: set[str] | None) -> int:
        """Stable when everything read is; otherwise it may differ between runs."""
        if reads is None or any(f == "now()" or self.st(f) != STABLE for f in reads):
            return VARY
        return STABLE

    def bin_span(self, e: A.Expr) -> float | None:
        """N when the expression is ``floor(_time/N)`` on history rows and that or null on any row."""
        if isinstance(e, A.Call) and e.name == "if" and len(e.args) == 3:
            d = self.decide(e.args[0])
            if d is True and _is_null(e.args[2]):
                return self.bin_span(e.args[1])
            if d is False and _is_null(e.args[1]):
                return self.bin_span(e.args[2])
            return None
        if isinstance(e, A.BinOp) and e.op == "*":  # floor(_time/N) * N: the bin's start, exact
            for inner, k in ((e.left, e.right), (e.right, e.left)):
                if (isinstance(k, A.Literal) and type(k.value) in (int, float) and isinstance(inner, A.Call)
                        and inner.name == "floor"):
                    n = self.bin_span(inner)
                    if n is not None and k.value == n:
                        return n
            return None
        if isinstance(e, A.Call) and e.name == "floor" and len(e.args) == 1:
            a = e.args[0]
            if (isinstance(a, A.BinOp) and a.op == "/" and _is_time(a.left) and isinstance(a.right, A.Literal)
                    and type(a.right.value) in (int, float) and a.right.value >= 1
                    and float(a.right.value).is_integer()):  # whole seconds: k * N is exact
                return float(a.right.value)
        return None

    def write(self, name: str, st: int) -> bool:
        """Record a field written with state ``st``; False when the plan must be refused."""
        if (name.startswith("_") or "*" in name or self.st(name) == CONST or name in self.bins
                or any(name in g for g in self.keep_by)):  # a keep_groups key must stay what it grouped
            return False
        self.state[name] = st
        return True


def _stats_ok(a: _Analysis, c: A.StatsCmd) -> tuple[bool, int, bool]:
    """(allowed, state of its outputs, crossing) for an eventstats/streamstats in the block."""
    if any(ag.eval_expr is not None or (ag.arg and "*" in ag.arg) for ag in c.aggs) or any("*" in b for b in c.by):
        return False, VARY, False
    if any(a.st(b) != STABLE for b in c.by) or not all(g <= set(c.by) for g in a.keep_by):
        return False, VARY, False
    args = max((a.st(ag.arg) for ag in c.aggs if ag.arg), default=STABLE)
    within = any(b in a.bins for b in c.by)
    if c.kind == "streamstats":
        if not within or set(c.options) - {"current", "global"}:
            return False, VARY, False
        return True, STABLE if args == STABLE else VARY, False
    if within:
        return True, STABLE if args == STABLE else VARY, False
    if args != STABLE or any(ag.func not in _EXACT_MERGE for ag in c.aggs):
        return False, VARY, True
    return True, VARY, True


def plan_history(cmds: Sequence[A.Command], start: int, lead: float) -> HistoryPlan | None:
    """The plan for the block ``cmds[start:]`` up to its cut, or None when it does not apply.

    ``cmds`` are a compiled search's tail commands; ``cmds[start - 1]`` is the
    ``streamstats time_window=lead`` a scan reuses between runs.
    """
    a = _Analysis()
    consts: list[tuple[str, A.Expr]] = []
    crossing: list[int] = []
    keeps: list[int] = []
    for i in range(start, len(cmds)):
        c = cmds[i]
        if isinstance(c, A.WhereCmd):
            d = a.decide(c.expr)
            if d is False:  # the cut: every history row leaves here
                spans = set(a.bins.values())
                if len(spans) > 1:
                    return None
                span = spans.pop() if spans else _DEFAULT_SPAN
                last = crossing[-1] if crossing else start - 1
                return HistoryPlan(start, i, lead, span, consts, list(a.bounds), crossing, keeps, last)
            if d is not True and a.state_of(a.reads(c.expr)) != STABLE:
                return None
        elif isinstance(c, A.SearchCmd):
            reads = search_reads(c.expr)
            if reads is None or any(a.st(f) != STABLE for f in reads):
                return None
        elif isinstance(c, A.EvalCmd):
            for name, e in c.assignments:
                if _may_be_bool(e):
                    return None
                if a.const(e) and (uses_now_expr(e) or any(a.st(f) == CONST for f in expr_reads(e) or ())):
                    if name in a.state or name.startswith("_") or "*" in name:
                        return None
                    a.state[name] = CONST
                    consts.append((name, e))
                    continue
                span = a.bin_span(e)
                st = a.state_of(a.reads(e))
                if not a.write(name, st):
                    return None
                if span is not None and st == STABLE:
                    a.bins[name] = span
        elif isinstance(c, A.FillnullCmd):
            # without a field list it fills the fields of any row of the run: not row by row
            # nor may it give a live row a time bin (a bin group would mix history and live rows)
            if not c.fields or any(a.st(f) == CONST or f.startswith("_") or "*" in f or f in a.bins
                                   or any(f in g for g in a.keep_by) for f in c.fields):
                return None
        elif isinstance(c, A.LookupCmd):
            # a fixed table, matched on the input fields (and with OUTPUTNEW the outputs
            # already there): what it writes is as stable as what it reads; it never raises
            if c.outputs is None:
                return None
            reads = {f for _col, f in c.inputs} | ({f for _col, f in c.outputs} if c.outputnew else set())
            st = a.state_of(reads)
            for _col, f in c.outputs:
                if a.st(f) == CONST or not a.write(f, st):
                    return None
        elif isinstance(c, A.KeepGroupsCmd):
            if a.decide(c.expr) is not False or any(a.st(b) != STABLE for b in c.by):
                return None
            a.keep_by.append(set(c.by))
            keeps.append(i)
        elif isinstance(c, A.StatsCmd) and c.kind in ("eventstats", "streamstats"):
            ok, st, cross = _stats_ok(a, c)
            if not ok:
                return None
            for ag in c.aggs:
                if not a.write(ag.out_name, st):
                    return None
            if cross:
                crossing.append(i)
        else:
            return None
    return None


class _Seg:
    """What one segment's rows contribute: per crossing eventstats, its groups."""

    __slots__ = ("fields", "parts")

    def __init__(self, fields: list, parts: list):
        self.fields = fields  # its rows' field dicts: the same objects in every run (never written)
        self.parts = parts  # one _Groups per crossing eventstats


class _Groups:
    """A segment's groups for one crossing eventstats, in the shape SlidingMerge reads."""

    __slots__ = ("added", "groups")

    def __init__(self, groups: dict, added: int):
        self.groups = groups
        self.added = added


def _exact(g: Group) -> bool:
    for a in g.aggs:
        if isinstance(a, Sum | Numeric) and (type(a.total) is float or (isinstance(a, Numeric) and type(a.sq) is float)):
            return False
    return True


def lent_again(before: list[Row], rows: list[Row]) -> tuple[int, int]:
    """Where ``rows`` (this run's) start among ``before`` (the last run's) and how many
    rows from there are the very same rows in the same order (0: none). Found by identity
    (``Row`` has no ``__eq__``): consecutive runs lend mostly the same held rows, and a held
    row is never written, so what was read off those rows last run holds this run."""
    if not rows:
        return 0, 0
    try:
        at = before.index(rows[0])
    except ValueError:
        return 0, 0
    m = min(len(before) - at, len(rows))
    return (at, m) if before[at:at + m] == rows[:m] else (0, 0)


class HistoryTail:
    """Runs a compiled search's tail from its block on (see the module docstring)."""

    def __init__(self, plan: HistoryPlan, ops: Sequence[Op], env: EvalEnv):
        self.plan = plan
        self.ops = list(ops)
        self.consts = [(name, compile_expr(e, env)) for name, e in plan.consts]
        self.bounds = [compile_expr(e, env) for e in plan.bounds]
        self.segs: dict[int, _Seg] = {}
        self.merges = {i: SlidingMerge(self.ops[i].specs) for i in plan.crossing}  # type: ignore[attr-defined]
        # the last run's rows, their times and dicts, and the streamstats output each of its
        # live rows at the window's end had (None elsewhere)
        self._prev: tuple[list[Row], list, list, list | None] | None = None
        self._old: tuple[list | None, int, int] | None = None  # see _times
        self.built = 0  # segments processed (for tests and benchmarks)
        self.reused = 0  # streamstats results taken from the last run (for tests and benchmarks)
        self.runs = 0  # runs answered from segments
        self.bounded = 0  # runs whose keep the bound answered (no streamstats run)

    def _last_segment(self, hi: float) -> int | None:
        """The segment holding this run's lowest run-constant bound (the cut's among
        them): segments before it are all history (None: a bound is not a number)."""
        scratch: dict = {}
        for name, fn in self.consts:
            v = fn(scratch)
            if isinstance(v, bool):
                return None
            if v is None:
                scratch.pop(name, None)
            else:
                scratch[name] = v
        top = hi
        for fn in self.bounds:
            v = fn(scratch)
            if type(v) not in (int, float) or not math.isfinite(v):
                return None
            top = min(top, v)
        span = self.plan.span
        k_end = math.floor(top / span)
        if k_end * span > top:  # the division rounded up to a whole number
            k_end -= 1
        return k_end

    def active(self, rows: list[Row], lo: float, hi: float, keep: int, bound: Bound | None = None) -> bool | None:
        """Does the block's ``keep_groups`` (at ``keep``; every command between the reused
        ``streamstats`` and it an ``eval``) keep ``rows``, one group's rows, in this run?
        None: the run must go plainly.

        Its condition is decided false on every row below the last segment (the analysis
        proved it false below every run-constant bound), so only the rows from that
        segment on are asked, after the ``streamstats`` (remembered results reused, these
        rows' remembered for the next run) and the ``eval``s before the keep. With
        ``bound`` (what the condition requires of the ``streamstats``' results,
        :mod:`smguard.spl.bounds`), a group whose rows from ``W`` before that segment on
        (every window of its rows) cannot meet it is answered without the ``streamstats``.
        """
        p = self.plan
        k_end = self._last_segment(hi)
        got = None if k_end is None else self._times(rows)
        if got is None or k_end is None:
            return None
        times = got[0]
        span = p.span
        i_hi = bisect.bisect_left(times, k_end, key=lambda t: math.floor(t / span))
        n = len(rows)
        if i_hi == n:
            return False
        if bound is not None:
            c = bisect.bisect_left(times, times[i_hi] - p.lead)
            if not bound.may_pass(got[1][c:], times[c:], p.lead):
                self.bounded += 1
                return False
        done = self._streamstats(rows, times, [(i_hi, n)], lo, i_hi)
        tail = [done[x] for x in range(i_hi, n)]
        for op in self.ops[p.start:keep]:
            tail = op.apply(tail)
        cond = self.ops[keep].cond  # type: ignore[attr-defined]
        return any(truthy(cond(r.f)) for r in tail)

    def run(self, rows: list[Row], lo: float, hi: float, upto: int | None = None,
            order: list[int] | None = None) -> list[Row] | None:
        """The tail's rows from the reused ``streamstats`` on, for a run whose window is
        ``[lo, hi)`` and whose rows (ascending time, ties in a fixed order, every row of
        the window) are ``rows``; None: the caller runs the tail plainly (``rows`` untouched).

        ``upto``: only the commands before this one (the rest is the caller's); with
        ``order``, each row returned has its index in ``rows`` appended there (the
        commands up to ``upto`` must keep rows as they are, as filters and field writers do).

        The ``streamstats time_window=W`` itself runs only where its results are read:
        over the live rows and the rows of segments not processed yet, each stretch with
        the rows of the ``W`` seconds before it (a row's result depends only on the rows
        of its group in ``(t - W, t]``), over wrappers, so ``rows`` are not written.
        """
        p = self.plan
        k_end = self._last_segment(hi)
        if k_end is None:
            return None
        span = p.span
        got = self._times(rows)
        if got is None:
            return None
        times, fs = got

        def seg_of(t: float) -> int:  # non-decreasing in t: bisect on it instead of a list of keys
            return math.floor(t / span)
        # the first segment whose rows are all at least W after the window's start (their
        # streamstats windows are whole); checked on the rows, not trusted to float division
        k_lo = math.ceil((lo + p.lead) / span)
        i_lo = bisect.bisect_left(times, k_lo, key=seg_of)
        if i_lo < len(rows) and seg_of(times[i_lo]) == k_lo and times[i_lo] < lo + p.lead:
            k_lo += 1
            i_lo = bisect.bisect_left(times, k_lo, key=seg_of)
        if k_end - k_lo < 2:
            return None
        i_hi = bisect.bisect_left(times, k_end, key=seg_of)
        for k in [k for k in self.segs if k < k_lo]:
            del self.segs[k]
        bounds: list[tuple[int, int, int]] = []  # (segment, first row, end row)
        need: list[tuple[int, int]] = [(0, i_lo)] if i_lo else []
        i = i_lo
        for k in range(k_lo, k_end):
            j = bisect.bisect_left(times, k + 1, i, i_hi, key=seg_of)
            got = self.segs.get(k)
            # a processed segment holds the very same field dicts (never written; every
            # lent row's _time is its event time, checked in _times)
            if got is None or len(got.fields) != j - i or not all(map(operator.is_, got.fields, fs[i:j])):
                if need and need[-1][1] == i:
                    need[-1] = (need[-1][0], j)
                elif j > i:
                    need.append((i, j))
                self.segs.pop(k, None)
            bounds.append((k, i, j))
            i = j
        if i_hi < len(rows):
            if need and need[-1][1] == i_hi:
                need[-1] = (need[-1][0], len(rows))
            else:
                need.append((i_hi, len(rows)))
        done = self._streamstats(rows, times, need, lo, i_hi)
        segs: list[_Seg] = []
        for k, i, j in bounds:
            seg = self.segs.get(k)
            if seg is None:
                seg = self._segment(k, [done[x] for x in range(i, j)], rows[i:j])
                if seg is None:
                    return None
            segs.append(seg)
        live = [done[x] for x in range(i_lo)] + [done[x] for x in range(i_hi, len(rows))]
        at = {id(done[x]): x for x in [*range(i_lo), *range(i_hi, len(rows))]} if order is not None else None
        ops = self.ops
        for n in range(p.start, p.cut):
            op = ops[n]
            if n in self.merges:
                if not self._crossing(op, live, [s.parts[p.crossing.index(n)] for s in segs], n, k_lo):
                    return None
            else:
                live = op.apply(live)
        self.runs += 1
        for op in ops[p.cut:upto]:
            live = op.apply(live)
        if at is not None and order is not None:
            for r in live:
                x = at.get(id(r))
                if x is None:  # a command made a new row: the caller cannot place it
                    return None
                order.append(x)
        return live

    def _times(self, rows: list[Row]) -> tuple[list, list] | None:
        """The rows' event times and field dicts, or None when the times are not finite
        and ascending or a row's ``_time`` is not its event time.

        Checked in C-level passes, and only over the rows the previous run did not hold:
        consecutive runs lend mostly the same held rows (the window moved by an hour), and
        a held row is never written (its ``t`` and ``f`` are what they were), so the part
        both runs hold, found by identity, keeps last run's times and dicts. Touching a
        day of rows per run cost more than the segments saved on the busiest baseline.
        """
        times: list = []
        fs: list = []
        prev = self._prev
        at, m = lent_again(prev[0], rows) if prev is not None else (0, 0)
        if m:
            times, fs = prev[1][at:at + m], prev[2][at:at + m]  # type: ignore[index]
        new_t = list(map(_ROW_T, rows[m:]))
        try:
            if not all(map(math.isfinite, new_t)):
                return None
        except TypeError:  # a row without an event time
            return None
        if m and new_t and new_t[0] < times[-1]:
            return None
        if not all(map(operator.le, new_t, itertools.islice(new_t, 1, None))):
            return None
        new_f = list(map(_ROW_F, rows[m:]))
        if list(map(_GET_TIME, new_f)) != new_t:  # each row's _time is its event time
            return None
        times += new_t
        fs += new_f
        # the last run's remembered results stay aligned with its rows: where this run's
        # rows start among them (at) and how many both hold (m); until this run's
        # streamstats has run, no results are remembered for its rows
        self._old = (prev[3], at, m) if m and prev is not None else None
        self._prev = (rows, times, fs, None)
        return times, fs

    def _streamstats(self, rows: list[Row], times: list, need: list[tuple[int, int]], lo: float,
                     i_hi: int) -> dict[int, Row]:
        """The reused streamstats' output rows at the ``need`` index ranges, by index.

        A row at least ``W`` after the window's start has the same result in every run
        (its ``(t - W, t]`` rows are all in the run). The last run's live rows at the
        window's end are remembered with their results, and a row both runs hold (the very
        same held rows in the same order: :func:`lent_again`) at least ``W`` after this
        window's start takes its result as a copy; every stretch of other rows is computed
        with the rows of the ``W`` seconds before it.
        """
        ss = self.ops[self.plan.start - 1]
        tw = self.plan.lead
        whole = lo + tw
        done: dict[int, Row] = {}
        old, at, shared = self._old if self._old is not None else (None, 0, 0)
        self._old = None
        keep: list | None = None

        def remembered(x: int) -> dict | None:
            if old is None or x >= shared or times[x] < whole:
                return None
            return old[at + x]

        for a, b in need:
            x = a
            while x < b:
                snap = remembered(x)
                if snap is not None:
                    r = rows[x]
                    done[x] = Row(dict(snap), r.ids, True, r.t)
                    self.reused += 1
                    x += 1
                    continue
                y = x + 1  # a stretch to compute: up to the next remembered row
                while y < b and remembered(y) is None:
                    y += 1
                c = bisect.bisect_left(times, times[x] - tw) if x else 0
                sub = [Row(r.f, r.ids, False, r.t) for r in rows[c:y]]
                ss.apply(sub)
                for z in range(x, y):
                    done[z] = sub[z - c]
                x = y
        for y in range(i_hi, len(rows)):  # the live rows at the end: remembered for the next run
            if times[y] >= whole:
                if keep is None:
                    keep = [None] * len(rows)
                keep[y] = dict(done[y].f)
        prev = self._prev
        if prev is not None and prev[0] is rows:
            self._prev = (rows, prev[1], prev[2], keep)
        return done

    def _crossing(self, op: EventstatsOp, live: list[Row], parts: list[_Groups], n: int, k_lo: int) -> bool:
        """Write a crossing eventstats' results on the live rows; False: a float total."""
        span = self.plan.span
        cut = 0
        while cut < len(live) and math.floor(live[cut].t / span) < k_lo:  # type: ignore[operator]
            cut += 1
        early, early_keys = op.group(live[:cut])
        late, late_keys = op.group(live[cut:])
        stable = self.merges[n].groups(parts) if parts else {}
        specs = op.specs
        results: dict[tuple, dict] = {}
        for r, hk in zip(live, early_keys + late_keys, strict=True):
            if hk is None:
                continue
            res = results.get(hk)
            if res is None:
                g = None
                for src in (early, stable, late):
                    part = src.get(hk)
                    if part is not None:
                        if g is None:
                            g = Group(part.key, specs)
                        g.merge(part)
                if g is None or not _exact(g):
                    return False
                res = results[hk] = g.results(specs)
            op.write(r, res)
        return True

    def _segment(self, k: int, work: list[Row], rows: list[Row]) -> _Seg | None:
        """Process segment ``k``: its rows after the streamstats are ``work`` (written), as
        held ``rows`` (None: a run must go plainly)."""
        p = self.plan
        parts: list[_Groups] = []
        self.built += 1
        for n in range(p.start, p.last + 1):
            op = self.ops[n]
            if n in p.keeps:
                by = op.by  # type: ignore[attr-defined]
                if any((ks := group_keys(r.f, by)) is not None and len(ks) > 1 for r in work):
                    return None  # keep_groups keeps every row then: only a plain run knows
                continue
            if n in self.merges:
                groups, _keys = op.group(work)  # type: ignore[attr-defined]
                parts.append(_Groups(groups, self.built))
                continue
            work = op.apply(work)
        seg = _Seg([r.f for r in rows], parts)
        self.segs[k] = seg
        return seg


__all__ = ["HistoryPlan", "HistoryTail", "lent_again", "plan_history"]
