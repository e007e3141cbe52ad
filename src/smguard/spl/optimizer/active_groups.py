"""Optimizer rule: per-group work only for the groups that can reach the final ``stats``.

A scheduled baseline search scores one hour against a day of history::

    ... | sort 0 _time | streamstats ... by principal
        | eval scored_from=relative_time(now(), "-70m@m")
        | eval history=if(_time < scored_from, ..., null())
        | eventstats ... by principal history_bin | eventstats avg(history) ... by principal
        | ... | where _time >= scored_from AND above=1 | stats ... by principal

Every run regroups the whole day, but only principals with a row in the scored hour can
give a result: for any other principal, every row fails ``_time >= scored_from`` at the
``where``. The rewrite keeps, right after the last command that sets a field the
condition reads, only the rows of the groups with a row where it holds::

    ... | eval scored_from=... | keepgroups by principal if _time >= scored_from | eval history=... | ...

(``A.KeepGroupsCmd``: an internal command, never parsed; run by
:class:`smguard.spl.statscmd.KeepGroupsOp`.)

Why the results (rows, order, fields and values, provenance, errors) are the same. Let
``K`` be the final ``stats``' BY fields, ``Q`` a top-level ``AND`` conjunct of a
``where`` between the insertion point ``p`` and that ``stats``:

- every command from ``p`` to the ``stats`` is *group-local*: ``eval``, ``where``,
  ``search`` without subsearches, ``fillnull`` with listed fields (row by row);
  ``sort 0`` (a stable reorder: the rows left keep their relative order); and
  ``eventstats``/``streamstats`` whose BY fields include all of ``K``, without
  ``eval(...)`` arguments, wildcards or options that couple groups (a count ``window``
  shared by all groups, resets), so a row's result depends only on the rows that share
  its ``K`` values and their order. None of them writes a ``K`` field, none creates rows;
- no command between ``p`` and the ``where`` writes a field ``Q`` reads, so ``Q`` has the
  same value on a row at ``p`` and at the ``where``; the keep also ANDs in what each later
  ``where`` implies at ``p`` (:mod:`smguard.spl.optimizer.implied`: a row that passes the
  ``where`` satisfied it at ``p``), which only makes the argument below hold for more
  groups;
- a group without a row where ``Q`` holds at ``p`` has no row passing the ``where``, so it
  sends no row to the ``stats`` and has no result row; dropping its rows at ``p`` changes
  no other group's rows (group-local commands), so every other group reaches the
  ``stats`` with the same rows, in the same relative order, with the same values;
- a row with a null ``K`` field is in no group of any of these commands and is dropped by
  the ``stats``; it is dropped at ``p`` instead. A row with a multivalue ``K`` field would
  be in several groups; :class:`~smguard.spl.statscmd.KeepGroupsOp` then keeps every row;
- errors: the expressions evaluated between ``p`` and the ``stats`` (``eval``, ``where``,
  ``Q``) use only operators and functions that never raise on any value (``eval``s that
  may give a boolean, which Splunk rejects, are not allowed; arithmetic whose math fails
  is null), so a dropped row would have raised nothing, and the keep raises nothing.

The insertion point must lie after the first non-streaming command (the per-event
prefix a scan runs once stays as it is) and before an ``eventstats``/``streamstats``
(where the saving is). Subsearch pipelines are left as they are.
"""

from __future__ import annotations

from smguard.spl import ast as A
from smguard.spl.analysis import expr_reads, search_reads, subsearches
from smguard.spl.optimizer.implied import TRUE, implied_before
from smguard.spl.optimizer.pushdown import may_be_bool

# eval functions that return a value (or null) for any arguments and never raise
_TOTAL_FUNCS = frozenset({"abs", "case", "ceil", "ceiling", "coalesce", "false", "floor", "if", "isnotnull", "isnull",
                          "isnum", "isstr", "now", "null", "round", "time", "true"})
_TOTAL_OPS = frozenset({"+", "-", "*", "/", "%", "=", "!=", "<", ">", "<=", ">=", "AND", "OR", "XOR", "NOT", "."})
_STREAMSTATS_OPTIONS = frozenset({"time_window", "window", "current", "global"})


def _total(e: object) -> bool:
    """Does evaluating ``e`` never raise, whatever the field values?"""
    if isinstance(e, A.Literal | A.FieldRef):
        return True
    if isinstance(e, A.BinOp):
        return e.op in _TOTAL_OPS and _total(e.left) and _total(e.right)
    if isinstance(e, A.BoolOp):
        return e.op in _TOTAL_OPS and all(_total(i) for i in e.items)
    if isinstance(e, A.UnaryOp):
        return e.op in _TOTAL_OPS and _total(e.operand)
    if isinstance(e, A.Call):
        return e.name in _TOTAL_FUNCS and all(_total(a) for a in e.args)
    return False


def _writes(c: A.Command, keys: set[str]) -> set[str] | None:
    """The fields a group-local command writes, or None when ``c`` is not group-local for
    the BY fields ``keys`` (see the module docstring)."""
    if isinstance(c, A.EvalCmd):
        names = {n for n, _ in c.assignments}
        if any("*" in n for n in names):
            return None
        if any(may_be_bool(e) or not _total(e) for _, e in c.assignments):
            return None
        return names
    if isinstance(c, A.WhereCmd):
        return set() if _total(c.expr) else None
    if isinstance(c, A.SearchCmd):
        if c.expr is not None and (any(True for _ in subsearches(c.expr)) or search_reads(c.expr) is None):
            return None
        return set()
    if isinstance(c, A.FillnullCmd):
        return set(c.fields) if c.fields and not any("*" in f for f in c.fields) else None
    if isinstance(c, A.SortCmd):
        return set() if c.limit == 0 else None
    if isinstance(c, A.StatsCmd) and c.kind in ("eventstats", "streamstats"):
        if not keys <= set(c.by) or any("*" in b for b in c.by):
            return None
        if c.kind == "eventstats" and c.options:
            return None
        if c.kind == "streamstats":
            o = c.options
            if set(o) - _STREAMSTATS_OPTIONS:
                return None
            if o.get("window", "0") not in ("0", "") and o.get("global", "t").lower() in ("t", "true", "1"):
                return None  # one count window shared by all groups
        out: set[str] = set()
        for a in c.aggs:
            if a.eval_expr is not None or (a.arg is not None and "*" in a.arg) or "*" in a.out_name:
                return None
            out.add(a.out_name)
        return out
    return None


def _conjuncts(e: A.Expr) -> list[A.Expr]:
    return list(e.items) if isinstance(e, A.BoolOp) and e.op == "AND" else [e]


def _place(cmds: list[A.Command], s: int) -> tuple[int, A.Expr] | None:
    """Where to keep only the active groups before the ``stats`` at ``s``, and the condition."""
    st = cmds[s]
    assert isinstance(st, A.StatsCmd)
    keys = set(st.by)
    if not keys or any("*" in k for k in keys) or any(a.eval_expr is not None for a in st.aggs):
        return None
    best: tuple[int, int, A.Expr] | None = None  # (place, where index, condition)
    j = s - 1
    while j >= 1:
        c = cmds[j]
        w = _writes(c, keys)
        if w is None or w & keys:
            break  # commands from j+1 to the stats are group-local
        if isinstance(c, A.WhereCmd):
            for q in _conjuncts(c.expr):
                reads = expr_reads(q)
                if reads is None or any("*" in f for f in reads) or not _total(q):
                    continue
                p = j
                while p - 1 >= 1:
                    w2 = _writes(cmds[p - 1], keys)
                    if w2 is None or w2 & (keys | reads):
                        break
                    p -= 1
                if best is None or p < best[0]:
                    best = (p, j, q)
        j -= 1
    if best is None:
        return None
    p, w_at, q = best
    if not any(isinstance(c, A.StatsCmd | A.SortCmd) for c in cmds[1:p]):
        return None  # would cut into the per-event prefix
    if not any(isinstance(c, A.StatsCmd) for c in cmds[p:w_at]):
        return None  # nothing per group to save before the where
    q = _strengthened(cmds, p, s, q)
    before = cmds[p - 1]
    if isinstance(before, A.KeepGroupsCmd) and before.by == list(st.by) and before.expr == q:
        return None  # placed already
    return p, q


def _strengthened(cmds: list[A.Command], p: int, s: int, q: A.Expr) -> A.Expr:
    """``q`` and what every ``where`` between ``p`` and the ``stats`` at ``s`` implies at
    ``p`` (:func:`~smguard.spl.optimizer.implied.implied_before`): a row the ``stats``
    receives satisfied each of them at ``p``. ``q`` alone when the whole is not known
    never to raise (it runs on rows the original evaluates none of it on)."""
    conds: list[A.Expr] = [q]
    for j in range(p, s):
        c = cmds[j]
        if isinstance(c, A.WhereCmd):
            for part in _conjuncts(c.expr):
                got = implied_before(part, cmds[p:j])
                if got is not None and got != TRUE:
                    conds.append(got)
    conds = list(dict.fromkeys(conds))
    whole = conds[0] if len(conds) == 1 else A.BoolOp("AND", tuple(conds))
    return whole if _total(whole) else q


def keep_active_groups(p: A.Pipeline) -> A.Pipeline:
    """The pipeline with a ``KeepGroupsCmd`` before the per-group work of each final
    ``stats ... by`` whose later ``where`` makes most groups irrelevant (see above).

    The input is not changed.
    """
    cmds = list(p.commands)
    for s in range(len(cmds) - 1, 0, -1):
        c = cmds[s]
        if not (isinstance(c, A.StatsCmd) and c.kind == "stats"):
            continue
        got = _place(cmds, s)
        if got is not None:
            at, q = got
            cmds.insert(at, A.KeepGroupsCmd(list(c.by), q, pos=c.pos))
    return A.Pipeline(cmds) if len(cmds) != len(p.commands) else p


__all__ = ["keep_active_groups"]
