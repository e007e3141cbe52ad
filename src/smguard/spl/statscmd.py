"""stats, eventstats and streamstats.

``stats`` can consume rows as they stream when none of its functions depends on
order, so ``stats count by x`` over a big log holds only its groups in memory.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from smguard.spl import ast as A
from smguard.spl import timeutil
from smguard.spl.bounds import Bound, bounded_outputs, need
from smguard.spl.commands import Op
from smguard.spl.errors import UnsupportedError
from smguard.spl.evalfuncs import EvalEnv, compile_expr, truthy
from smguard.spl.rows import Row, merge_ids
from smguard.spl.sliding import SlidingWindow
from smguard.spl.stats import ORDER_DEPENDENT, Agg, AggSpec, make_agg, wildcard_rename
from smguard.spl.values import mv, num, to_str


def _time_of(f: dict) -> float | None:
    t = f.get("_time")
    if type(t) is float:
        return t
    n = num(t) if t is not None else None
    return None if n is None else float(n)


def _specs(cmd: A.StatsCmd, env: EvalEnv) -> list[AggSpec]:
    return [AggSpec(a, compile_expr(a.eval_expr, env) if a.eval_expr is not None else None) for a in cmd.aggs]


def text_key(key: tuple) -> tuple:
    """A group key as groups compare it, as text (``to_str`` of each value; a key from
    :func:`group_keys` holds no null or list): the key itself when every value is a string."""
    for k in key:
        if type(k) is not str:
            return tuple(map(to_str, key))
    return key


def group_keys(f: dict, by: list[str]) -> list[tuple] | None:
    """Every BY combination of a row (multivalue BY fields fan out); None if any is null."""
    if not by:
        return [()]
    single = tuple(map(f.get, by))
    if None not in single and list not in map(type, single):
        return [single]  # the common case: one plain value per BY field
    parts: list[list] = []
    for b in by:
        v = f.get(b)
        if v is None:
            return None
        if isinstance(v, list):
            if not v:
                return None
            parts.append(list(dict.fromkeys(v)))
        else:
            parts.append([v])
    if all(len(p) == 1 for p in parts):
        return [tuple(p[0] for p in parts)]
    return list(itertools.product(*parts))


class Group:
    __slots__ = ("aggs", "any_wild", "cached", "ids", "key", "pairs", "times", "wild")

    def __init__(self, key: tuple, specs: list[AggSpec]):
        self.key = key
        self.aggs: list[Agg | None] = [None if s.wild else make_agg(s.func, s.param) for s in specs]
        self.pairs = [(a, s.values) for a, s in zip(self.aggs, specs, strict=True) if a is not None]
        self.any_wild = any(s.wild for s in specs)
        self.wild: list[dict[str, Agg]] = [{} for _ in specs]
        self.ids: list[tuple[str, ...]] = []
        self.times: list[float] = []
        # (len(ids), ordered, fields, ids) of the last result row: every change to a group
        # appends to ids, so the row is still right while len(ids) is the same
        self.cached: tuple | None = None

    def __getstate__(self) -> tuple:
        # the value readers are compiled code; another process re-attaches its own (rebind)
        return (self.key, self.aggs, self.any_wild, self.wild, self.ids, self.times)

    def __setstate__(self, state: tuple) -> None:
        self.key, self.aggs, self.any_wild, self.wild, self.ids, self.times = state
        self.pairs = []
        self.cached = None

    def rebind(self, specs: list[AggSpec]) -> None:
        """Re-attach the value readers of ``specs`` (after unpickling)."""
        self.pairs = [(a, s.values) for a, s in zip(self.aggs, specs, strict=True) if a is not None]

    def add(self, f: dict, specs: list[AggSpec], by: list[str], t: float | None) -> None:
        for a, values in self.pairs:
            a.add(values(f), t)
        if not self.any_wild:
            return
        for i, s in enumerate(specs):
            if s.wild:
                pat = s.agg.arg or "*"
                wd = self.wild[i]
                for k, v in f.items():
                    if v is None or k in by or (k.startswith("_") and not pat.startswith("_")):
                        continue
                    if wildcard_rename(pat, pat, k) is None:
                        continue
                    a = wd.get(k)
                    if a is None:
                        a = wd[k] = make_agg(s.func, s.param)
                    a.add(mv(v), t)

    def merge(self, o: Group) -> None:
        for a, b in zip(self.aggs, o.aggs, strict=True):
            if a is not None and b is not None:
                a.merge(b)  # type: ignore[attr-defined]
        for wd, owd in zip(self.wild, o.wild, strict=True):
            for k, b in owd.items():
                a = wd.get(k)
                if a is None:
                    a = wd[k] = type(b).__new__(type(b))
                    _copy_agg(b, a)
                else:
                    a.merge(b)  # type: ignore[attr-defined]
        self.ids.extend(o.ids)
        self.times.extend(o.times)

    def results(self, specs: list[AggSpec]) -> dict:
        out: dict = {}
        for i, s in enumerate(specs):
            if s.wild:
                pat = s.agg.arg or "*"
                for k in sorted(self.wild[i]):
                    name = wildcard_rename(pat, s.name, k) if "*" in s.name else s.name
                    v = self.wild[i][k].result()
                    if v is not None and name:
                        out[name] = v
            else:
                v = self.aggs[i].result()  # type: ignore[union-attr]
                if v is not None:
                    out[s.name] = v
        return out


def _copy_agg(src: Agg, dst: Agg) -> None:
    import copy

    for cls in type(src).__mro__:  # slots of the class and of its bases
        for slot in getattr(cls, "__slots__", ()):
            setattr(dst, slot, copy.copy(getattr(src, slot)))


def merge_groups(parts: list[dict[tuple, Group]], specs: list[AggSpec]) -> dict[tuple, Group]:
    """The groups of all parts' rows together (the parts are not changed).

    A group present in only one part is shared, not copied: reading results does not
    change it.
    """
    if len(parts) == 1:
        return parts[0]
    groups: dict[tuple, Group] = {}
    owned: set[tuple] = set()
    for part in parts:
        for hk, g in part.items():
            have = groups.get(hk)
            if have is None:
                groups[hk] = g
                continue
            if hk not in owned:
                copy = Group(have.key, specs)
                copy.merge(have)
                groups[hk] = have = copy
                owned.add(hk)
            have.merge(g)
    return groups


_SCALAR_FUNCS = frozenset({"count", "dc", "sum", "avg", "min", "max", "range", "sumsq", "stdev", "stdevp", "var",
                           "varp", "perc", "earliest_time", "latest_time"})
"""stats functions whose result is one value, never a multivalue list."""


def _key_sort(key: tuple) -> tuple:
    return tuple(to_str(k) or "" for k in key)


class StatsOp(Op):
    streaming = False

    def __init__(self, cmd: A.StatsCmd, env: EvalEnv):
        self.cmd = cmd
        self.specs = _specs(cmd, env)
        self.by = cmd.by
        self.order_free = not any(a.func in ORDER_DEPENDENT for a in cmd.aggs)

    def accumulator(self, ordered: bool = True) -> StatsAccumulator:
        """Incremental state: add rows as they come, read the result rows at the end."""
        return StatsAccumulator(self, ordered)

    def consume(self, rows: Iterable[Row], ordered: bool = True) -> list[Row]:
        """Aggregate ``rows``; ``ordered=False`` means they arrive in log order, not search order."""
        acc = StatsAccumulator(self, ordered)
        for r in rows:
            acc.add(r)
        return acc.rows()

    def apply(self, rows: list[Row]) -> list[Row]:
        return self.consume(rows)


class StatsAccumulator:
    """The groups of one ``stats`` so far; memory is per group, not per row."""

    def __init__(self, op: StatsOp, ordered: bool = True):
        self.op = op
        self.ordered = ordered
        self.groups: dict[tuple, Group] = {}
        self.added = 0  # rows added so far: what was derived from the groups is stale when it moves
        self.segment_part: object = None  # what smguard.spl.segments derived from the groups

    def add(self, r: Row) -> None:
        self.added += 1
        op = self.op
        specs, by = op.specs, op.by
        keys = group_keys(r.f, by)
        if keys is None:
            return
        t = _time_of(r.f)
        groups = self.groups
        for key in keys:
            hk = text_key(key)
            g = groups.get(hk)
            if g is None:
                g = groups[hk] = Group(key, specs)
            g.add(r.f, specs, by, t)
            g.ids.append(r.ids)
            if not self.ordered:
                g.times.append(r.t if r.t is not None else (t if t is not None else float("-inf")))

    def rows(self) -> list[Row]:
        """The result rows, in Splunk's order (sorted by the BY values)."""
        return [r for _k, r in self.keyed_rows()]

    def keyed_rows(self) -> list[tuple[tuple, Row]]:
        """The result rows, each with the key they are sorted by (unique per group)."""
        op = self.op
        specs, by = op.specs, op.by
        groups = dict(self.groups)
        if not by and not groups:
            groups[()] = Group((), specs)
        out: list[tuple[tuple, Row]] = []
        ordered = self.ordered
        for hk in sorted(groups, key=_key_sort):
            g = groups[hk]
            c = g.cached
            if c is not None and c[0] == len(g.ids) and c[1] is ordered:
                # the same group read again (a window shared by several scheduled runs):
                # its row is lent, commands copy it before writing
                out.append((_key_sort(hk), Row(c[2], c[3], False)))
                continue
            f = dict(zip(by, g.key, strict=True))
            for k, v in g.results(specs).items():
                if k not in f:
                    f[k] = v
            id_groups = g.ids
            if not ordered:
                # provenance in search order (newest first), as if the rows had been sorted
                order = sorted(range(len(id_groups)), key=lambda i: g.times[i], reverse=True)
                id_groups = [id_groups[i] for i in order]
            ids = merge_ids(id_groups)
            g.cached = (len(g.ids), ordered, f, ids)
            out.append((_key_sort(hk), Row(f, ids, False)))
        return out


class EventstatsOp(Op):
    streaming = False

    def __init__(self, cmd: A.StatsCmd, env: EvalEnv):
        self.specs = _specs(cmd, env)
        self.by = cmd.by

    def apply(self, rows: list[Row]) -> list[Row]:
        groups, row_keys = self.group(rows)
        cache: dict[tuple, dict] = {}
        for r, hk in zip(rows, row_keys, strict=True):
            if hk is not None:
                res = cache.get(hk)
                if res is None:
                    res = cache[hk] = groups[hk].results(self.specs)
                self.write(r, res)
        return rows

    def group(self, rows: list[Row]) -> tuple[dict[tuple, Group], list[tuple | None]]:
        """The BY groups of ``rows`` and each row's group (None: a BY field is null)."""
        groups: dict[tuple, Group] = {}
        row_keys: list[tuple | None] = []
        specs, by = self.specs, self.by
        for r in rows:
            f = r.f
            keys = group_keys(f, by)
            if keys is None:
                row_keys.append(None)
                continue
            t = _time_of(f)
            first = None
            for key in keys:
                hk = text_key(key)
                if first is None:
                    first = hk
                g = groups.get(hk)
                if g is None:
                    g = groups[hk] = Group(key, specs)
                g.add(f, specs, by, t)
            row_keys.append(first)
        return groups, row_keys

    def write(self, r: Row, res: dict) -> None:
        """Write a group's results onto one of its rows."""
        f = r.w()
        for s in self.specs:
            if not s.wild:
                f.pop(s.name, None)
        f.update(res)

    @property
    def mergeable(self) -> bool:
        """Can groups built from parts of the rows be merged into the groups of all of them?"""
        return not any(s.wild or s.func in ORDER_DEPENDENT for s in self.specs)


class KeepGroupsOp(Op):
    """``A.KeepGroupsCmd``: the rows of the BY groups that have a row where the condition holds.

    Groups are the BY values as ``eventstats``/``stats`` group them (the same
    ``group_keys``, compared as text). Rows keep their order. When a row has a
    multivalue BY field (several groups) every row is kept: the optimizer's soundness
    argument needs each row in exactly one group.
    """

    streaming = False

    def __init__(self, cmd: A.KeepGroupsCmd, env: EvalEnv):
        self.by = cmd.by
        self.cond = compile_expr(cmd.expr, env)

    def apply(self, rows: list[Row]) -> list[Row]:
        by, cond = self.by, self.cond
        active: set[tuple] = set()
        row_keys: list[tuple | None] = []
        for r in rows:
            keys = group_keys(r.f, by)
            if keys is None:
                row_keys.append(None)
                continue
            if len(keys) > 1:
                return rows
            hk = text_key(keys[0])
            row_keys.append(hk)
            if hk not in active and truthy(cond(r.f)):
                active.add(hk)
        if len(active) == len({k for k in row_keys if k is not None}) and None not in row_keys:
            return rows
        return [r for r, hk in zip(rows, row_keys, strict=True) if hk in active]


def _write(f: dict, res: dict) -> None:
    """Write a row's running aggregates onto it: a null result removes the field, as
    ``streamstats`` leaves a function with no value unset."""
    for k, v in res.items():
        if v is None:
            f.pop(k, None)
        else:
            f[k] = v


class StreamstatsOp(Op):
    streaming = False

    def __init__(self, cmd: A.StatsCmd, env: EvalEnv):
        self.specs = _specs(cmd, env)
        self.by = cmd.by
        o = cmd.options
        if "reset_on_change" in o:
            raise UnsupportedError("streamstats reset_on_change is not supported", cmd.pos)
        self.window = int(o.get("window", 0))
        self.time_window = timeutil.parse_span(o["time_window"])[0] if "time_window" in o else None
        self.current = o.get("current", "t").lower() in ("t", "true", "1")
        self.global_ = o.get("global", "t").lower() in ("t", "true", "1")
        if any(s.wild for s in self.specs):
            raise UnsupportedError("wildcard functions in streamstats are not supported", cmd.pos)
        self._out_names = frozenset(s.name for s in self.specs)
        # id(row fields) -> [fields, time, group, values, result]: see apply_in_window
        self._memo: dict[int, list] = {}
        self._memo_order: deque = deque()
        self.keep: tuple[Callable[[dict], Any], tuple[str, ...], tuple[int, ...]] | None = None
        self.bound: Bound | None = None  # decides groups the fused where keeps no row of (see keep_only)

    def keep_only(self, fn: Callable[[dict], Any], reads: set[str], expr: A.Expr | None = None) -> bool:
        """Fuse the ``where`` right after: rows it would drop are dropped here, before
        the results it does not read are computed (``values`` sorts its window per row).

        ``fn`` is the where's compiled condition and ``reads`` every field it reads. Sound
        for a time window alone with ``current=t`` (the default): a row's results are then
        its window's aggregates including itself, so the functions the condition reads
        can be computed first, from the same window state, and the condition sees the
        row's other fields as they were (this command writes only its outputs). A row it
        keeps gets every result, as without the fusion; the ``where`` still runs after.
        False (and nothing fused) otherwise.

        With the condition itself (``expr``): what it requires of this command's
        ``count``/``dc``/``sum`` results (``count >= 40 AND dc >= 8``) bounds them over
        all of a group's rows in the run, which hold each of its rows' windows
        (:mod:`smguard.spl.bounds`, :attr:`bound`); a run skips the rows of groups that
        cannot meet it, which the ``where`` would drop.
        """
        if not self.window_local or not self.current:
            return False
        names = [s.name for s in self.specs]
        idx = tuple(i for i, n in enumerate(names) if n in reads)
        if not idx or len(idx) == len(names):
            return False
        self.keep = (fn, tuple(sorted(reads)), idx)
        if expr is not None:
            req = need(expr, bounded_outputs([sp.agg for sp in self.specs], set()))
            self.bound = Bound(req, self.specs) if req is not None else None
        return True

    def _kept(self, win: SlidingWindow, f: dict) -> dict | None:
        """The row's results (its entry already pushed), or None when the fused ``where``
        drops it."""
        part = win.result(self.keep[2])  # type: ignore[index]
        return win.result() if self._keeps(part, f) else None

    def _keeps(self, res: dict, f: dict) -> bool:
        """Does the fused ``where`` keep a row with fields ``f`` and results ``res`` (at
        least those it reads)? Asked in every run: its condition may call ``now()``."""
        fn, reads, _idx = self.keep  # type: ignore[misc]
        outs = self._out_names
        probe = {}
        for k in reads:
            v = res.get(k) if k in outs else f.get(k)
            if v is not None:
                probe[k] = v
        return truthy(fn(probe))

    @property
    def window_local(self) -> bool:
        """Is a row's result fixed by the rows of its group in the ``time_window`` before it?

        A time window alone (no count ``window``, which reaches back any distance), over
        functions of the row's own fields that return one value, or ``values`` (the
        sorted distinct values of the window's rows: a remembered list is then one object
        in the rows of several runs, as rows already share their event's values: no
        command changes a value in place).
        """
        return (self.time_window is not None and self.window == 0
                and all(s.value_of is None and (s.func in _SCALAR_FUNCS or s.func == "values") for s in self.specs))

    def apply_in_window(self, rows: list[Row], lo: float) -> list[Row]:
        """:meth:`apply`, remembering the results that are the same in every later run.

        Call it only when ``rows`` are, in ascending ``_time`` order (ties in one fixed
        order), *every* row of a stream whose per-row values do not depend on the run,
        with time in a scheduled run's ``[lo, hi)``, and runs come with ``lo`` not
        decreasing (:meth:`smguard.spl.executor.CompiledSearch.finish` with ``window``).
        Then the rows in a row's time window (``_time`` in ``(t - time_window, t]``,
        before it in that order, of its group) are the same in every run that holds it,
        as soon as ``t - time_window >= lo``: all of them are at or after ``lo`` and
        before ``hi``, so in the run. Such a row's result is computed once and reused by
        later runs; rows nearer the window's start are computed as before. A row is
        known by its fields' dict (the stream's held row, lent to every run); the memo
        holds that dict, so the identity cannot be reused while remembered, and forgets
        rows before ``lo``. When a row's ``_time`` field is not its event's time (the
        stream rewrote it), or two rows share one dict, nothing is remembered.
        """
        memo, order = self._memo, self._memo_order
        while order and order[0][1] < lo:
            key, _t = order.popleft()
            memo.pop(key, None)
        if (not self.window_local or any(r.t is None or _time_of(r.f) != r.t for r in rows)
                or len({id(r.f) for r in rows}) != len(rows)):
            return self.apply(rows)
        return self._apply_reusing(rows, lo + self.time_window)  # type: ignore[operator]

    def _apply_reusing(self, rows: list[Row], reuse_from: float) -> list[Row]:
        """:meth:`apply` for a time window over per-group windows (see
        :meth:`apply_in_window`), with what each held row gives remembered: its group,
        time and values (they depend on its fields only, which a held row never changes)
        and, once ``t >= reuse_from``, its result (never the fused ``where``'s verdict: it may
        call ``now()``, so it is asked in every run)."""
        memo, order = self._memo, self._memo_order
        specs, by, tw, keep = self.specs, self.by, self.time_window, self.keep
        per_group: dict[tuple, SlidingWindow] = {}
        out: list[Row] = []
        held: list[list] = []
        for r in rows:
            f = r.f
            key = id(f)
            m = memo.get(key)
            if m is None or m[0] is not f:
                keys = group_keys(f, by)
                t = _time_of(f)
                if keys is None:
                    m = [f, t, None, None, None]
                else:
                    m = [f, t, text_key(keys[0]), None, None]  # its values: read when first needed
                memo[key] = m
                order.append((key, t))
            held.append(m)
        small: set = set()
        if keep is not None and self.bound is not None:  # groups the fused where keeps no row of
            fields: dict = {}
            times: dict = {}
            for m in held:
                if m[2] is not None:
                    got = fields.get(m[2])
                    if got is None:
                        fields[m[2]] = [m[0]]
                        times[m[2]] = [m[1]]
                    else:
                        got.append(m[0])
                        times[m[2]].append(m[1])
            may = self.bound.may_pass  # reads only the values the condition bounds
            small = {hk for hk, group in fields.items() if not may(group, times[hk], tw)}
        for r, m in zip(rows, held, strict=True):
            f, t, hk, snap, res = m  # f is r.f (the memo's entry is for that very dict)
            if hk is None:
                out.append(r)
                continue
            if hk in small:
                continue
            if snap is None:
                snap = m[3] = (tuple([s.values(f) for s in specs]), t)
            win = per_group.get(hk)
            if win is None:
                win = per_group[hk] = SlidingWindow(specs)
            while win and abs(t - win.front_time()) >= tw:  # type: ignore[operator]
                win.pop()
            if res is None or t < reuse_from:  # remembered, but this run cuts its window
                if keep is None:
                    res = self._step(win, snap)
                else:
                    win.push(snap)
                    res = self._kept(win, f)
                    if res is None:
                        continue  # dropped this run (only the results are remembered, not the verdict)
                if t >= reuse_from:
                    m[4] = res
            else:
                win.push_unread(snap)
                if keep is not None and not self._keeps(res, f):
                    continue
            _write(r.w(), res)
            out.append(r)
        return out

    def _step(self, win: SlidingWindow, snap: tuple) -> dict:
        """Add a row's entry to its window; its result (with or without itself, ``current``)."""
        if self.current:
            win.push(snap)
            return win.result()
        res = win.result()
        win.push(snap)
        return res

    def apply(self, rows: list[Row]) -> list[Row]:
        """Running (or windowed) aggregates written onto each row, in row order.

        A windowed entry keeps the values each function reads from its row (read once,
        from the row as it arrived: ``values`` only reads the row, and the fields this
        command writes are written after every read of that row), not a copy of the row:
        the same aggregates over the same values in the same order, without copying each
        row and reading it again for every later row whose window holds it. A group's
        window is a :class:`~smguard.spl.sliding.SlidingWindow`: entries join at its end
        and leave oldest first (time eviction from the front, stopping at an entry with no
        time, then the count trim), so its aggregates slide instead of being recomputed.
        """
        n, tw = self.window, self.time_window
        windowed = n > 0 or tw is not None
        specs = self.specs
        running: dict[tuple, list[Agg]] = {}
        windows: dict[tuple, SlidingWindow] = {}  # per group
        global_win: deque[tuple[tuple, float | None]] = deque()  # (group, time) of each entry, when shared
        shared = n > 0 and self.global_ and bool(self.by)
        keep = self.keep
        out: list[Row] = []
        for r in rows:
            keys = group_keys(r.f, self.by)
            if keys is None:
                out.append(r)
                continue
            hk = text_key(keys[0])
            t = _time_of(r.f)
            if not windowed:
                aggs = running.get(hk)
                if aggs is None:
                    aggs = running[hk] = [make_agg(s.func, s.param) for s in specs]
                if self.current:
                    for s, a in zip(specs, aggs, strict=True):
                        a.add(s.values(r.f), t)
                res = {s.name: a.result() for s, a in zip(specs, aggs, strict=True)}
                if not self.current:
                    for s, a in zip(specs, aggs, strict=True):
                        a.add(s.values(r.f), t)
            else:
                snap = (tuple([s.values(r.f) for s in specs]), t)
                win = windows.get(hk)
                if win is None:
                    win = windows[hk] = SlidingWindow(specs)
                if shared:
                    # one window of every group's entries; each group's own entries in it
                    # are its SlidingWindow (they leave in the same order: oldest first)
                    if tw is not None and t is not None:
                        while (global_win and global_win[0][1] is not None
                               and abs(t - global_win[0][1]) >= tw):
                            windows[global_win.popleft()[0]].pop()
                    if self.current and len(win) >= n:
                        # the row's own entry pushes the oldest out of its count window; the
                        # shared window then holds only this group's entries, so it is the
                        # shared window's oldest too, which the trim below would drop anyway
                        windows[global_win.popleft()[0]].pop()
                    res = self._step(win, snap)
                    global_win.append((hk, t))
                    while len(global_win) > n:
                        windows[global_win.popleft()[0]].pop()
                else:
                    if tw is not None and t is not None:
                        while win and win.front_time() is not None and abs(t - win.front_time()) >= tw:  # type: ignore[operator]
                            win.pop()
                    if self.current and n and len(win) >= n:
                        win.pop()  # the row's own entry takes the oldest one's place
                    if keep is None:
                        res = self._step(win, snap)
                    else:  # n == 0, current: see keep_only
                        win.push(snap)
                        got = self._kept(win, r.f)
                        if got is None:
                            continue
                        res = got
                    if n:
                        while len(win) > n:
                            win.pop()
            _write(r.w(), res)
            out.append(r)
        return out
