"""Optimizer rule: filter pushdown (a pure Pipeline -> Pipeline rewrite; same results, less work).

*Filter pushdown* (sqlglot's optimizer does the same for SQL): a
``where`` late in a pipeline often tests a field that was final much earlier, e.g.::

    ... | stats ... by _time user | eventstats sum(objects) as total by user
        | eval avg=... | eval stdev=sqrt(...) | where objects>=50 AND objects>avg+4*stdev

Every row must reach ``eventstats`` (its totals read them all), but a row with
``objects < 50`` is dropped by the ``where`` whatever ``avg`` and ``stdev`` are, so the
two evals are wasted on it. The rewrite derives from the ``where`` a *necessary
condition* that reads only fields the commands in between do not write
(``objects>=50``), and places it right after the last command it cannot cross::

    ... | eventstats ... | where objects>=50 | eval avg=... | eval stdev=... | where ...

A row the original ``where`` keeps satisfies the derived one, and the commands crossed
act on each row alone, so the results (rows, order, fields, provenance) are unchanged;
only rows that were going to be dropped are dropped sooner. When the whole ``where``
reads stable fields it is moved instead of copied.

What may be crossed: ``eval`` (unless an assignment may produce a boolean, which
Splunk rejects with an error that a dropped row would no longer raise), ``lookup``
with explicit outputs, ``convert``, ``bin``, ``fillnull`` with listed fields.
Everything else (stats, eventstats, sort, dedup, head, rename, table, ...) is a
barrier, as is the base search. So is another ``where``: filters keep the order they
were written in (the scanner runs a leading run of them on raw records, and which is
cheaper is not known here).
"""

from __future__ import annotations

from smguard.spl import ast as A
from smguard.spl.analysis import expr_reads

_COMPARISONS = frozenset({"=", "!=", "<", ">", "<=", ">=", "LIKE", "AND", "OR", "XOR"})
# functions whose result is never a boolean, whatever their arguments
_VALUE_FUNCS = frozenset({
    "abs", "ceil", "ceiling", "exp", "floor", "json_extract", "len", "ln", "log", "lower", "ltrim", "md5",
    "mvcount", "mvfind", "mvjoin", "now", "null", "pi", "pow", "relative_time", "replace", "round", "rtrim",
    "sha1", "sha256", "sha512", "spath", "split", "sqrt", "strftime", "strptime", "substr", "time", "tonumber",
    "tostring", "trim", "typeof", "upper", "urldecode",
})
# functions that return one of their arguments: (first value argument, step)
_PASS_FUNCS: dict[str, tuple[int, int]] = {
    "if": (1, 1), "case": (1, 2), "validate": (1, 2), "coalesce": (0, 1), "exact": (0, 1), "max": (0, 1),
    "min": (0, 1), "mvappend": (0, 1), "mvdedup": (0, 1), "mvsort": (0, 1), "mvindex": (0, 99),
}


def may_be_bool(e: A.Expr) -> bool:
    """Can evaluating ``e`` give a boolean (which ``eval`` refuses to assign)?"""
    if isinstance(e, A.Literal):
        return isinstance(e.value, bool)
    if isinstance(e, A.FieldRef):
        return False  # field values are strings, numbers or multivalues
    if isinstance(e, A.UnaryOp):
        return e.op == "NOT"
    if isinstance(e, A.BinOp):
        return e.op in _COMPARISONS
    if isinstance(e, A.BoolOp):
        return True
    if isinstance(e, A.Call):
        if e.name in _VALUE_FUNCS:
            return False
        pas = _PASS_FUNCS.get(e.name)
        if pas is not None:
            start, step = pas
            return any(may_be_bool(a) for a in e.args[start::step])
    return True


def _writes(c: A.Command) -> set[str] | None:
    """Fields a crossable command may change, or None when it is a barrier."""
    if isinstance(c, A.EvalCmd):
        if any(may_be_bool(e) for _, e in c.assignments):
            return None
        return {name for name, _ in c.assignments}
    if isinstance(c, A.LookupCmd):
        return None if c.outputs is None else {f for _, f in c.outputs}
    if isinstance(c, A.ConvertCmd):
        return {alias or f for _, f, alias in c.conversions} if all("*" not in f for _, f, _ in c.conversions) else None
    if isinstance(c, A.BinCmd):
        return {c.alias or c.field}
    if isinstance(c, A.FillnullCmd):
        return set(c.fields) if c.fields and all("*" not in f for f in c.fields) else None
    return None


def necessary(e: A.Expr, changing: set[str]) -> A.Expr | None:
    """A condition true whenever ``e`` is, reading no field in ``changing`` (or None).

    ``where`` keeps a row when its condition is truthy; AND is truthy only when both
    sides are, OR only when one side is, so the condition keeps the parts that read
    no changing field. The expression itself qualifies when all its reads are stable.
    """
    reads = expr_reads(e)
    if reads is not None and not (reads & changing):
        return e
    if isinstance(e, A.BoolOp) and e.op == "AND":
        kept = [n for n in (necessary(i, changing) for i in e.items) if n is not None]
        return None if not kept else (kept[0] if len(kept) == 1 else A.BoolOp("AND", tuple(kept)))
    if isinstance(e, A.BoolOp) and e.op == "OR":
        parts = [necessary(i, changing) for i in e.items]
        if all(p is not None for p in parts):
            return A.BoolOp("OR", tuple(parts))  # type: ignore[arg-type]
    return None


def push_filters(p: A.Pipeline) -> A.Pipeline:
    """The pipeline with every ``where`` pushed as early as it soundly goes (see above).

    Subsearch pipelines are left as they are. The input is not changed.
    """
    cmds = list(p.commands)
    i = 1  # the base search (or generating command) stays first
    while i < len(cmds):
        c = cmds[i]
        if isinstance(c, A.WhereCmd):
            target, cond = _earliest_place(cmds, i)
            if target < i and cond is not None:
                moved = A.WhereCmd(cond, pos=c.pos)
                if cond is c.expr:
                    del cmds[i]
                cmds.insert(target, moved)
                if cond is not c.expr:
                    i += 1  # the original stays, one further down
        i += 1
    return A.Pipeline(cmds) if cmds != list(p.commands) else p


def _earliest_place(cmds: list[A.Command], i: int) -> tuple[int, A.Expr | None]:
    """Where the ``where`` at ``i`` (or a condition it implies) can go, and that condition."""
    expr = cmds[i].expr  # type: ignore[attr-defined]
    changing: set[str] = set()
    best, best_cond = i, None
    j = i - 1
    while j >= 1:
        w = _writes(cmds[j])
        if w is None:
            break  # a barrier (an earlier where included: the pipeline may be optimized already)
        changing |= w
        cond = necessary(expr, changing)
        if cond is None:
            break
        best, best_cond = j, cond
        j -= 1
    before = cmds[best - 1]
    if best_cond is not None and isinstance(before, A.WhereCmd) and before.expr == best_cond:
        return i, None  # derived before: the pipeline was optimized already
    return best, best_cond


__all__ = ["may_be_bool", "necessary", "push_filters"]
