"""A baseline's history per group, worked only for the groups a run keeps.

A scored baseline (see :mod:`smguard.spl.history`) keeps, right after its ``streamstats``,
only the groups that can reach the final ``stats``
(:mod:`smguard.spl.optimizer.active_groups`): with the condition a later ``where``
implies, that is the principals with a large window in the scored hour, a handful of a
run's dozens. :class:`~smguard.spl.history.HistoryTail` still processes every group's
history segments and merges every group's segments in each run, to throw most of them
away at the keep. Here the rows are split by the keep's BY values and each group has its
own :class:`~smguard.spl.history.HistoryTail`: a run asks each group whether the keep
keeps it (:meth:`~smguard.spl.history.HistoryTail.active`: its rows from the last
segment on, through the ``streamstats`` and the ``eval``s before the keep), runs the
block and the commands up to the final ``stats`` only for the groups kept, and runs the
final ``stats`` and what follows over their rows together, in the order one tail would
have given them.

**Why the rows are the same** (with :class:`~smguard.spl.history.HistoryTail`'s own
argument for each group). :func:`plan_groups` accepts a history block with exactly one
``keep_groups`` by ``K`` when

- the reused ``streamstats`` groups by fields that include ``K``, and so does every
  ``eventstats``/``streamstats`` from there to the final ``stats`` (the history analysis
  and the keep's own rule require it after the keep): a row's values from the
  ``streamstats`` to the final ``stats`` depend only on the rows of its ``K`` group;
- only ``eval``s come between the ``streamstats`` and the keep, none writing a ``K`` field
  (nor does the ``streamstats``), so a row's group at the keep is its group as held, and
  whether a group is kept depends only on its own rows (its condition is decided false
  below the last segment: every row's ``_time`` is checked to be its event time, which
  the segments are cut by);
- from the cut to the final ``stats`` (a ``stats`` by ``K``) come only row-by-row commands
  (``eval``, ``where``, ``search`` without subsearches, ``fillnull`` with a field list; none
  writing a ``K`` field) and groupings by fields that include ``K``, none of which makes or
  reorders rows, so
  each group's rows reach the final ``stats`` as one tail would give them, and one tail's
  order is the rows' order in the run (time order), which the merge restores.

**Groups answered without the ``streamstats``.** When the ``streamstats`` groups by
exactly ``K``, every row of a group gets its results, each over a window of the group's
rows in ``(t - W, t]``; the keep's condition holds only on rows from its lowest bound on,
whose windows lie in the group's rows from ``W`` before the last segment on. What the
condition requires of the bounded results (:mod:`smguard.spl.bounds`: ``count``, ``dc``,
``sum`` reaching a number) is then checked on those rows first; a group that cannot meet
it is not kept, and its ``streamstats`` is not run (most groups of the bulk-read baseline:
a training job re-reading a few shards is far from 50 distinct objects).

A row with a null ``K`` value is in no group of any of these commands and is dropped by
the keep; a row with a multivalue ``K`` value makes the keep keep everything, so the run
goes plainly. A group's run that would go plainly (a float total, a bound that is not a
number) makes the whole run go plainly. Groups not seen in a run are forgotten.
"""

from __future__ import annotations

from collections.abc import Sequence

from smguard.spl import ast as A
from smguard.spl.analysis import subsearches
from smguard.spl.bounds import Bound, Need, bounded_outputs, need
from smguard.spl.commands import Op
from smguard.spl.evalfuncs import EvalEnv
from smguard.spl.history import HistoryPlan, HistoryTail, lent_again
from smguard.spl.rows import Row
from smguard.spl.statscmd import group_keys, text_key


def _writes_group(c: A.Command, by: set[str]) -> bool:
    """Does an ``eval``, ``fillnull`` or grouping write a BY field (or a wildcard)?"""
    if isinstance(c, A.EvalCmd):
        names = [name for name, _e in c.assignments]
    elif isinstance(c, A.FillnullCmd):
        names = list(c.fields)
    elif isinstance(c, A.StatsCmd):
        names = [a.out_name for a in c.aggs]
    else:
        return False
    return any(n in by or "*" in n for n in names)


def plan_groups(plan: HistoryPlan, cmds: Sequence[A.Command]) -> tuple[int, list[str], int, Need | None] | None:
    """(the keep's index, its BY fields, the final ``stats``' index, what the keep requires
    of the ``streamstats``' results) when the tail can run per group (see the module
    docstring), else None."""
    if len(plan.keeps) != 1:
        return None
    keep = plan.keeps[0]
    kc = cmds[keep]
    ss = cmds[plan.start - 1]
    if not isinstance(kc, A.KeepGroupsCmd) or not isinstance(ss, A.StatsCmd) or not kc.by:
        return None
    by = set(kc.by)
    if not by <= set(ss.by) or _writes_group(ss, by):
        return None
    for c in cmds[plan.start:keep]:  # only evals, and none may change a group (outside review)
        if not isinstance(c, A.EvalCmd) or _writes_group(c, by):
            return None
    for i in range(plan.cut, len(cmds)):
        c = cmds[i]
        if isinstance(c, A.StatsCmd) and c.kind == "stats":
            return (keep, list(kc.by), i, _requirement(kc, ss, cmds[plan.start:keep])) if set(c.by) == by else None
        if _writes_group(c, by):
            return None
        if isinstance(c, A.StatsCmd) and c.kind in ("eventstats", "streamstats"):
            if not by <= set(c.by):
                return None
        elif isinstance(c, A.SearchCmd):
            if c.expr is not None and any(True for _ in subsearches(c.expr)):
                return None
        elif isinstance(c, A.FillnullCmd):
            if not c.fields:  # without a list it fills what any row of the run has: not row by row
                return None
        elif not isinstance(c, A.EvalCmd | A.WhereCmd):
            return None
    return None


def _requirement(kc: A.KeepGroupsCmd, ss: A.StatsCmd, evals: Sequence[A.Command]) -> Need | None:
    """What the keep's condition requires of the ``streamstats``' bounded results
    (:mod:`smguard.spl.bounds`), or None. Only when the ``streamstats`` groups by exactly
    the keep's fields: every row of a kept group then has a full BY combination, so its
    outputs are the ``streamstats``' results (a row missing another BY field would keep
    a value of that name from before)."""
    if set(ss.by) != set(kc.by):
        return None
    written = {name for c in evals if isinstance(c, A.EvalCmd) for name, _e in c.assignments}
    return need(kc.expr, bounded_outputs(ss.aggs, written))


class GroupedHistory:
    """Runs a history tail per group of the keep's BY fields (see the module docstring)."""

    def __init__(self, plan: HistoryPlan, ops: Sequence[Op], env: EvalEnv, keep: int, by: list[str], final: int,
                 req: Need | None = None):
        self.plan = plan
        # decides most groups unkept from their rows alone, without the streamstats
        self.bound = Bound(req, ops[plan.start - 1].specs) if req is not None else None  # type: ignore[attr-defined]
        self.ops = list(ops)
        self.env = env
        self.keep = keep
        self.by = by
        self.final = final
        self.tails: dict[tuple, HistoryTail] = {}
        self.runs = 0  # runs answered (for tests and benchmarks)
        self.built = 0  # segments processed, all groups together
        self.reused = 0  # streamstats results taken from the run before, all groups together
        self.kept = 0  # groups kept, over all runs
        self.bounded = 0  # groups answered unkept from the bound alone, over all runs
        self._prev: tuple[list[Row], list] | None = None  # the last run's rows and their group keys
        self._groups: dict[tuple, list[Row]] = {}  # the last run's rows by group

    def run(self, rows: list[Row], lo: float, hi: float) -> list[Row] | None:
        """As :meth:`HistoryTail.run <smguard.spl.history.HistoryTail.run>`: the tail's
        rows for the run, or None (the caller runs the tail plainly)."""
        groups = self._split(rows)
        if groups is None:
            return None
        tails = {}
        placed: list[tuple[Row, Row]] = []  # (the row given, the row it became)
        for k, mine in groups.items():
            tail = self.tails.get(k)
            if tail is None:
                tail = HistoryTail(self.plan, self.ops, self.env)
            tails[k] = tail
            built, reused, bounded = tail.built, tail.reused, tail.bounded
            kept = tail.active(mine, lo, hi, self.keep, self.bound)
            out = None
            order: list[int] = []
            if kept:
                out = tail.run(mine, lo, hi, upto=self.final, order=order)
            self.built += tail.built - built
            self.reused += tail.reused - reused
            self.bounded += tail.bounded - bounded
            if kept is None or (kept and out is None):
                self.tails = tails
                return None
            if out is not None:
                self.kept += 1
                placed += zip((mine[x] for x in order), out, strict=True)
        self.tails = tails  # groups not in this run are forgotten
        if placed:  # in the run's order: each row given's place among all rows
            pos = {id(r): i for i, r in enumerate(rows)}
            placed.sort(key=lambda p: pos[id(p[0])])
        out_rows = [r for _given, r in placed]
        for op in self.ops[self.final:]:
            out_rows = op.apply(out_rows)
        self.runs += 1
        return out_rows

    def _split(self, rows: list[Row]) -> dict[tuple, list[Row]] | None:
        """The rows by group, each group's in the run's order (a null BY value: in no
        group); None when a row is in several groups.

        Consecutive runs lend mostly the same held rows (the window moved on), and a held
        row is never written: when this run's rows are the last run's from some row on,
        plus new ones (found by identity), each group's rows are the last run's minus
        those before this window, plus the new ones of the group; only the new rows'
        groups are read. Lists are never changed once made (the groups' tails keep them).
        """
        by = self.by
        prev = self._prev
        at, m = lent_again(prev[0], rows) if prev is not None else (0, 0)
        if prev is not None and at + m != len(prev[0]):
            m = 0  # this run does not hold all of the last run's later rows: split afresh
        new_keys: list = []
        for r in rows[m:]:
            ks = group_keys(r.f, by)
            if ks is None:
                new_keys.append(None)
            elif len(ks) > 1:
                self._prev, self._groups = None, {}
                return None
            else:
                new_keys.append(text_key(ks[0]))
        groups: dict[tuple, list[Row]] = {}
        if m:
            gone: dict[tuple, int] = {}
            p_keys = prev[1]  # type: ignore[index]
            for k in p_keys[:at]:
                if k is not None:
                    gone[k] = gone.get(k, 0) + 1
            for k, mine in self._groups.items():
                left = mine[gone.get(k, 0):]
                if left:
                    groups[k] = left
            keys = p_keys[at:] + new_keys
        else:
            keys = new_keys
        for r, k in zip(rows[m:], new_keys, strict=True):
            if k is not None:
                got = groups.get(k)
                if got is None:
                    groups[k] = [r]
                else:
                    got.append(r)
        self._prev, self._groups = (rows, keys), groups
        return groups


__all__ = ["GroupedHistory", "plan_groups"]
