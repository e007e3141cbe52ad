"""Optimizer rule: a per-run constant ``eval`` sinks below the commands that ignore it.

A scheduled search often names its scoring boundary early::

    base | eval principal=... | eval scored_from=relative_time(now(), "-70m@m")
         | sort 0 _time | streamstats time_window=10m dc(key) as objects by principal
         | eval history=if(_time < scored_from, objects, null()) | eventstats ... | where ...

The ``eval`` reads no field, so it gives every row of a run the same value; but it calls
``now()``, and a search calling ``now()`` in its per-event prefix must be run whole for
every scheduled run (each run's ``now()`` differs), re-doing the per-event work of a
24-hour window once per hourly run. Moved right before the first command that reads
what it sets, it leaves a prefix that is the same for every run, which a scan computes
once per event (:mod:`smguard.spl.planner`)::

    base | eval principal=... | sort 0 _time | streamstats ... by principal
         | eval scored_from=relative_time(now(), "-70m@m") | eval history=... | ...

A chain moves too: ``eval scored_from=relative_time(now(), "-70m@m") | eval
history_until=relative_time(scored_from - 3600, "@h")`` (the second reads only what a
run-constant ``eval`` before it set): the later one moves first, and the earlier one then
stops right before it, the first command that reads what it sets.

Why the results (rows, order, fields and their values, provenance, errors) are the same:

- the moved ``eval`` reads no field (only ``now()``/``time()``, literals and pure
  functions of them; never ``random()``), or only fields a run-constant ``eval`` before
  it set and nothing between has written; so it computes one value per run whatever
  row it is applied to and wherever it stands, provided the fields it reads still hold
  those values there: the commands it crosses neither read nor write them (below), and
  the ``eval`` that set them stays before it (it stops at the first command reading
  what it sets);
- it only crosses ``sort`` and ``eventstats``/``streamstats`` that neither read nor
  write any field it sets (keys, BY fields, function arguments and output names,
  no wildcards, no ``eval(...)`` arguments) and never set ``_``-fields it could touch
  (it moves only when it sets no ``_``-field: ``_time`` is read implicitly by
  ``sort``'s order and by the time windows and ``earliest``/``latest`` of the stats);
  those commands keep or reorder rows without looking at the moved fields, and put
  their own fields on each row, so each row reaches the ``eval``'s new place with the
  same other fields and leaves it with the same values;
- a crossed command never turns rows into no rows (``sort N`` keeps the first N), so
  the ``eval`` runs on some row at its new place exactly when it did at the old one,
  and an error it raises (it would raise on every row alike) is raised either way; the
  crossed commands raise no per-row error of their own.

What may differ is only the position of the moved fields in each row's field order,
which is not part of a result (rows are compared as field -> value maps; Splunk's own
column order comes from ``table``/``fields``).
"""

from __future__ import annotations

from smguard.spl import ast as A
from smguard.spl.analysis import expr_calls, expr_reads, uses_now_expr


def _run_constant(c: A.Command, known: set[str]) -> tuple[set[str], set[str]] | None:
    """(the fields it sets, the fields it reads) for a run-constant ``eval``: one that calls
    ``now()`` or reads only fields in ``known`` (set by run-constant evals before it);
    None if ``c`` is not one."""
    if not isinstance(c, A.EvalCmd) or not c.assignments:
        return None
    names: set[str] = set()
    read: set[str] = set()
    for name, e in c.assignments:
        reads = expr_reads(e)
        if reads is None or reads - known - names or name.startswith("_") or "*" in name:
            return None
        if any(f in ("random", "searchmatch") for f in expr_calls(e)):
            return None
        read |= reads - names
        names.add(name)
    if not read and not any(uses_now_expr(e) for _, e in c.assignments):
        return None
    return names, read


def _known_before(cmds: list[A.Command]) -> list[set[str]]:
    """For each position ``i``: the fields set by run-constant evals before it (from the
    second command on) and not written since. One pass over the commands."""
    known: set[str] = set()
    out = [known, known]
    for c in cmds[1:-1]:
        got = _run_constant(c, known)
        if got is not None:
            known = known | got[0]
        else:
            writes = _writes(c)
            known = set() if writes is None else known - writes
        out.append(known)
    return out


def _writes(c: A.Command) -> set[str] | None:
    """Fields ``c`` may set or remove (None: it may change any field or the rows)."""
    if isinstance(c, A.EvalCmd):
        return {name for name, _e in c.assignments}
    if isinstance(c, A.SortCmd | A.WhereCmd | A.SearchCmd | A.KeepGroupsCmd):
        return set()
    if isinstance(c, A.StatsCmd) and c.kind in ("eventstats", "streamstats"):
        if any(a.arg and "*" in a.arg for a in c.aggs):
            return None
        return {a.out_name for a in c.aggs}
    return None


def _ignores(c: A.Command, names: set[str]) -> bool:
    """Does ``c`` keep its rows and fields unaware of ``names`` (crossable, see above)?"""
    if isinstance(c, A.SortCmd):
        return not any(k in names or "*" in k for k, _, _ in c.keys)
    if isinstance(c, A.StatsCmd) and c.kind in ("eventstats", "streamstats"):
        touched = set(c.by)
        for a in c.aggs:
            if a.eval_expr is not None:
                return False
            if a.arg is not None:
                touched.add(a.arg)
            touched.add(a.out_name)
        return not any("*" in f for f in touched) and not touched & names
    return False


def sink_now_evals(p: A.Pipeline) -> A.Pipeline:
    """The pipeline with every run-constant ``eval`` that calls ``now()`` moved past the
    ``sort``/``eventstats``/``streamstats`` right after it that ignore its fields.

    Subsearch pipelines are left as they are. The input is not changed.
    """
    cmds = list(p.commands)
    # commands move only forward from the position being looked at, and positions are
    # looked at from the last: what lies before each is as it was, known in one pass
    knowns = _known_before(cmds)
    i = len(cmds) - 1
    while i >= 1:
        got = _run_constant(cmds[i], knowns[i])
        if got is not None:
            names = got[0] | got[1]  # what it sets, and the run constants it reads
            j = i
            while j + 1 < len(cmds) and _ignores(cmds[j + 1], names):
                cmds[j], cmds[j + 1] = cmds[j + 1], cmds[j]
                j += 1
        i -= 1
    return A.Pipeline(cmds) if cmds != list(p.commands) else p


__all__ = ["sink_now_evals"]
