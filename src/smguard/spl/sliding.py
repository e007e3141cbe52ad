"""Sliding-window aggregates for a windowed ``streamstats``, exactly as recomputing.

``streamstats time_window=``/``window=`` gives each row the aggregates over the entries
in its window. The window only ever gains an entry at its end (the row that arrives)
and loses entries at its start (:meth:`SlidingWindow.pop`, the oldest first), so it is
a queue. Recomputing every row's result with fresh aggregators costs O(rows x window)
(hundreds of S3 reads in a 10-minute window); here each function keeps a state that
the entering entry is added to and the leaving one removed from, *only where that
gives exactly what a fresh aggregator fed the window's entries in order would give*
(:class:`smguard.spl.stats.Agg`, same value, same type). Per function:

- ``count``: the number of values, an int: adding and subtracting ints is exact.
- ``dc`` and ``values``: a count per distinct string form (the same string form the
  aggregators use). The set of strings with a count above zero *is* the set a fresh
  aggregator builds, so ``dc`` (its size) and ``values`` (sorted; one value, or a list)
  are the same. Order plays no part in either.
- ``sum`` and ``avg``: a fresh :class:`~smguard.spl.stats.Sum` adds the numbers in order
  to a total starting at int ``0``. While every number is an int, the total is the
  exact integer sum (Python ints), whatever the order, so a running int total is equal.
  A float makes the total a float; float addition is exact when every addend and every
  partial sum is an integer of magnitude at most 2**53, which holds when every float
  is integral and the sum of the magnitudes of all numbers is at most 2**53 (every
  prefix sum is bounded by it). Then the fresh total is the exact sum, as a float:
  ``float(int total)``. ``avg`` divides that same total by the same count. Any other
  float (fractional, huge, inf, nan) or a larger magnitude sum: that function is
  recomputed over the window's entries in order, as before.
- ``min`` and ``max``: a fresh :class:`~smguard.spl.stats.MinMax` keeps the numeric
  extreme if any value is numeric, else the string extreme, and replaces it only on a
  strictly better value, so among equal values (``1`` and ``1.0``) the first seen wins.
  One monotonic queue per kind (numeric, string) holds the values with no strictly
  better value after them, oldest first, ties kept: its head is the earliest of the
  window's extreme values, i.e. the one the fresh aggregator keeps. A value leaves the
  queue with its entry (the oldest), so the head is always in the window. A queue is
  non-empty exactly when the window holds a value of its kind. A nan (unordered) in
  the window: recomputed.
- anything else (``list``, ``first``/``last``, ``mode``, ``earliest``/``latest``, ``stdev``,
  ``perc``, ...): recomputed over the window's entries in order, as before.

Between scheduled runs most results are reused (``StreamstatsOp.apply_in_window``):
their entries join with :meth:`SlidingWindow.push_unread`, which leaves the states
behind; the next result read rebuilds them by adding the window's entries in order,
which is their definition, so a stretch of reused rows costs one rebuild.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Sequence

from smguard.spl.stats import AggSpec, make_agg
from smguard.spl.values import Value, num, to_str

Entry = tuple[tuple, float | None]
"""A window entry: the values each function reads from its row (per spec), and its time."""

_EXACT = 2**53  # integers up to this magnitude are exact as floats, and so are their sums


def _recompute(i: int, spec: AggSpec, entries: deque[Entry]) -> Value:
    """Spec ``i`` over the entries in order, with a fresh aggregator (the definition)."""
    a = make_agg(spec.func, spec.param)
    add = a.add
    for vals, t in entries:
        add(vals[i], t)
    return a.result()


class _Part:
    """One function's running state; ``add``/``remove`` get the entry's values for it."""

    __slots__ = ("i", "spec")

    def __init__(self, i: int, spec: AggSpec) -> None:
        self.i = i
        self.spec = spec

    def add(self, seq: int, vals: Sequence) -> None:
        """The entry numbered ``seq`` enters the window."""

    def remove(self, seq: int, vals: Sequence) -> None:
        """The oldest entry, numbered ``seq``, leaves the window."""

    def result(self, entries: deque[Entry]) -> Value:
        return _recompute(self.i, self.spec, entries)


class _Count(_Part):
    __slots__ = ("n",)

    def __init__(self, i: int, spec: AggSpec) -> None:
        super().__init__(i, spec)
        self.n = 0

    def add(self, seq, vals):
        self.n += len(vals)

    def remove(self, seq, vals):
        self.n -= len(vals)

    def result(self, entries):
        return self.n


class _Strings(_Part):
    """dc/values: how many of the window's values have each string form."""

    __slots__ = ("c", "dc")

    def __init__(self, i: int, spec: AggSpec) -> None:
        super().__init__(i, spec)
        self.c: dict[str, int] = {}
        self.dc = spec.func == "dc"

    def add(self, seq, vals):
        c = self.c
        for x in vals:
            s = x if type(x) is str else (to_str(x) or "")
            c[s] = c.get(s, 0) + 1

    def remove(self, seq, vals):
        c = self.c
        for x in vals:
            s = x if type(x) is str else (to_str(x) or "")
            n = c[s] - 1
            if n:
                c[s] = n
            else:
                del c[s]

    def result(self, entries):
        if self.dc:
            return len(self.c)
        if not self.c:
            return None
        out = sorted(self.c)
        return out if len(out) > 1 else out[0]


class _Sum(_Part):
    """sum/avg: the exact integer total while that is what the fresh total is."""

    __slots__ = ("avg", "inexact", "mag", "n", "nfloat", "total")

    def __init__(self, i: int, spec: AggSpec) -> None:
        super().__init__(i, spec)
        self.avg = spec.func == "avg"
        self.n = 0  # numbers in the window
        self.total = 0  # their exact sum
        self.mag = 0  # the sum of their magnitudes
        self.nfloat = 0  # how many are floats
        self.inexact = 0  # how many are floats not integral or above 2**53

    def _step(self, vals: Sequence, sign: int) -> None:
        for x in vals:
            tx = type(x)
            v = x if tx is int or tx is float else num(x)  # as Sum.add reads a value
            if v is None:
                continue
            self.n += sign
            tv = type(v)
            if tv is int:
                iv = v
            elif tv is float:
                self.nfloat += sign
                if v.is_integer() and -_EXACT <= v <= _EXACT:  # False for inf and nan
                    iv = int(v)
                else:
                    self.inexact += sign
                    continue
            else:  # an int/float subclass from a computed value: no claim made
                self.inexact += sign
                continue
            self.total += sign * iv
            self.mag += sign * abs(iv)

    def add(self, seq, vals):
        self._step(vals, 1)

    def remove(self, seq, vals):
        self._step(vals, -1)

    def result(self, entries):
        n = self.n
        if not n:
            return None
        if self.inexact or (self.nfloat and self.mag > _EXACT):
            return _recompute(self.i, self.spec, entries)
        total: int | float = float(self.total) if self.nfloat else self.total
        return total / n if self.avg else total


class _MinMax(_Part):
    """min/max: a monotonic queue of ``(seq, value)`` per kind, head = the result."""

    __slots__ = ("better", "is_max", "nan", "nums", "strs")

    def __init__(self, i: int, spec: AggSpec) -> None:
        super().__init__(i, spec)
        self.is_max = spec.func == "max"
        self.nums: deque[tuple[int, int | float]] = deque()
        self.strs: deque[tuple[int, str]] = deque()
        self.nan = 0  # nans in the window (unordered: no queue can hold them)
        self.better: Callable[[Value, Value], bool] = (
            (lambda a, b: a > b) if self.is_max else (lambda a, b: a < b))

    def add(self, seq, vals):
        better = self.better
        for x in vals:
            tx = type(x)
            n = x if tx is float or tx is int else num(x)  # as MinMax.add reads a value
            if n is not None:
                if n != n:
                    self.nan += 1
                    continue
                q: deque = self.nums
                v = n
            else:
                q = self.strs
                v = x if tx is str else (to_str(x) or "")
            while q and better(v, q[-1][1]):  # strictly better: an equal earlier value stays
                q.pop()
            q.append((seq, v))

    def remove(self, seq, vals):
        for q in (self.nums, self.strs):
            while q and q[0][0] == seq:
                q.popleft()
        if self.nan:
            for x in vals:
                tx = type(x)
                n = x if tx is float or tx is int else num(x)
                if n is not None and n != n:
                    self.nan -= 1

    def result(self, entries):
        if self.nan:
            return _recompute(self.i, self.spec, entries)
        if self.nums:
            return self.nums[0][1]
        if self.strs:
            return self.strs[0][1]
        return None


_PARTS: dict[str, type[_Part]] = {
    "count": _Count, "dc": _Strings, "values": _Strings, "sum": _Sum, "avg": _Sum, "min": _MinMax, "max": _MinMax,
}


class SlidingWindow:
    """The entries of one window and every function's result over them.

    :meth:`push` adds an entry at the end, :meth:`pop` removes the oldest, :meth:`result`
    is what fresh aggregators fed :attr:`entries` in order return (see the module's
    docstring for why each incremental state equals that).
    """

    __slots__ = ("entries", "first", "live", "names", "next", "parts", "specs", "synced")

    def __init__(self, specs: Sequence[AggSpec]) -> None:
        self.entries: deque[Entry] = deque()
        self.first = 0  # the number of entries[0]
        self.next = 0  # the number the next entry gets
        self.specs = specs
        self.names = [s.name for s in specs]
        self.parts: list[_Part] = []
        self.live: list[_Part] = []  # the parts keeping a state
        self.synced = True  # do the parts' states hold exactly the entries?
        self._fresh_parts()

    def _fresh_parts(self) -> None:
        self.parts = [_PARTS.get(s.func, _Part)(i, s) for i, s in enumerate(self.specs)]
        self.live = [p for p in self.parts if type(p) is not _Part]

    def __len__(self) -> int:
        return len(self.entries)

    def front_time(self) -> float | None:
        """The time of the oldest entry (the window must not be empty)."""
        return self.entries[0][1]

    def push(self, entry: Entry) -> None:
        seq = self.next
        self.next = seq + 1
        self.entries.append(entry)
        if self.synced:
            vals = entry[0]
            for p in self.live:
                p.add(seq, vals[p.i])

    def push_unread(self, entry: Entry) -> None:
        """:meth:`push` for an entry whose result is known already (a reused result):
        the states are left behind, and rebuilt from the entries when a result is next
        read, so a run of such entries costs one rebuild, not an update each."""
        self.next += 1
        self.entries.append(entry)
        self.synced = False

    def pop(self) -> None:
        vals = self.entries.popleft()[0]
        seq = self.first
        self.first = seq + 1
        if self.synced:
            for p in self.live:
                p.remove(seq, vals[p.i])

    def result(self, only: Sequence[int] | None = None) -> dict:
        """Each function's result by its name (``only``: of those functions, by index); a
        function with no result is left out."""
        out: dict = {}
        entries = self.entries
        if not self.synced:  # the entries added as they are, in order: the states' definition
            self._fresh_parts()
            for seq, (vals, _t) in enumerate(entries, self.first):
                for p in self.live:
                    p.add(seq, vals[p.i])
            self.synced = True
        if only is not None:
            for i in only:
                v = self.parts[i].result(entries)
                if v is not None:
                    out[self.names[i]] = v
            return out
        for name, p in zip(self.names, self.parts, strict=True):
            v = p.result(entries)
            if v is not None:
                out[name] = v
        return out
