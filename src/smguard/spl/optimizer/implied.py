"""What a later ``where`` implies about a row earlier in the pipeline.

A baseline search computes its verdict late, from fields it sets on the way::

    ... | streamstats ... as objects ... by principal              <- point p
        | eventstats avg(history) as avg_objects ... by principal
        | fillnull value=0 avg_objects
        | eval floor_factor=1 | eval floor_factor=if(<new principal>, 10, floor_factor)
        | eval above=if(objects>=50*floor_factor AND objects>avg_objects+4*stdev, 1, 0)
        | where _time >= scored_from AND above=1

A row that passes the ``where`` had, at ``p``, ``objects>=500 OR objects>=50``: ``above``
is 1 only when its ``if`` condition held, ``floor_factor`` is 10 or 1, and the part
reading ``avg_objects`` (only known after the ``eventstats``) can be left out of an
``AND``. :func:`implied_before` derives such a condition in two steps.

**Back through the commands** (:func:`_through`): walking from the ``where`` back to
``p``, an ``eval name=E`` replaces ``name`` in the condition by ``E`` (so the condition
reads, at the ``eval``'s input, the value the field has at its output: ``eval`` sets
exactly that value, or removes the field when ``E`` is null, which reads as null too);
``fillnull value=v f`` replaces ``f`` by ``coalesce(f, v)`` (it sets ``v`` exactly where
``f`` is null); a field an ``eventstats``/``streamstats`` writes becomes *unknown* (its
value at ``p`` says nothing about it); ``where``, ``search`` and ``sort`` change no field.
Fields named ``_...`` or ``date_...`` (which read differently when absent) and
wildcards are refused. The result is *equal* to the condition at the ``where``, row for
row, except where it reads an unknown.

**Weakened to what is known** (:func:`weaken`): a condition ``W`` such that whenever the
expression is truthy, ``W`` is (``where`` keeps a row exactly when its condition is
truthy: not null, not false):

- a part reading no unknown is kept as it is; one reading only literals is evaluated
  now (true or false decides it);
- ``A AND B`` implies each side: a side reading an unknown is dropped; ``A OR B``
  implies the ``OR`` of what each side implies, nothing when one side implies nothing;
  ``NOT`` over an unknown implies nothing;
- a value that is one of several (*choices*): ``if(C, a, b)`` is ``a`` when ``C`` is
  truthy and ``b`` otherwise; ``case(c1, v1, ...)`` is ``vi`` when ``ci`` is truthy, or
  null; ``coalesce(a, b, ...)`` is one of its arguments or null. An arithmetic operator
  over choices is the operator over each combination (one value each, the guards
  combined), and a comparison over choices is true only if it is true for the choice
  the row takes: it implies the ``OR``, over the choices, of (guard ``AND``
  comparison), each weakened. A null value is never truthy in a comparison, so the null
  of ``case``/``coalesce`` adds nothing. An ``if``/``case`` used as the condition
  itself is treated the same way.

Every rule keeps "truthy implies truthy", so the result is a necessary condition.
Nothing is evaluated here but literals; the caller checks that the result never raises
(it is evaluated on rows the original pipeline may not have evaluated it on).
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import product

from smguard.spl import ast as A
from smguard.spl.analysis import expr_calls, expr_reads
from smguard.spl.evalfuncs import EvalEnv, compile_expr, truthy

UNKNOWN = A.FieldRef("\x00unknown")
"""A field value not known at the earlier point (no SPL text can name this field)."""

TRUE: A.Expr = A.Call("true", ())
"""The condition that holds on every row: nothing is implied."""
FALSE: A.Expr = A.Call("false", ())
"""The condition that holds on no row."""

MAX_NODES = 4000
"""Larger conditions are not derived (substitution can multiply an expression)."""
MAX_CHOICES = 16
"""Combinations of choices followed at most, per comparison."""

_CMP = frozenset({"=", "!=", "<", ">", "<=", ">=", "LIKE"})
_ARITH = frozenset({"+", "-", "*", "/", "%", "."})
_NOT_CONSTANT = frozenset({"now", "time", "random", "searchmatch"})


def implied_before(q: A.Expr, cmds: Sequence[A.Command]) -> A.Expr | None:
    """A condition on a row before ``cmds`` that is truthy whenever ``q`` is truthy on
    that row after them (:data:`TRUE`: nothing is implied); None when a command is not
    one this module reads through. Literal arithmetic in it is folded (``50*10`` is
    ``500``: the value every row would compute) and nested ``AND``/``OR`` flattened."""
    got = _through(q, cmds)
    if got is None or _size(got) > MAX_NODES:
        return None
    return _tidy(weaken(got))


def _tidy(e: A.Expr) -> A.Expr:
    if isinstance(e, A.BoolOp):
        items: list[A.Expr] = []
        for i in e.items:
            t = _tidy(i)
            items.extend(t.items if isinstance(t, A.BoolOp) and t.op == e.op else (t,))
        kept = tuple(dict.fromkeys(items))
        return kept[0] if len(kept) == 1 else A.BoolOp(e.op, kept)
    if isinstance(e, A.BinOp):
        if e.op in _ARITH and _constant(e):
            try:
                v = compile_expr(e, EvalEnv(0.0))({})
            except Exception:  # noqa: BLE001 - left as written
                return e
            return A.Literal(v) if type(v) in (int, float, str) else e
        return A.BinOp(e.op, _tidy(e.left), _tidy(e.right))
    if isinstance(e, A.UnaryOp):
        return A.UnaryOp(e.op, _tidy(e.operand))
    if isinstance(e, A.Call):
        return A.Call(e.name, tuple(_tidy(a) for a in e.args), e.pos)
    return e


def _through(q: A.Expr, cmds: Sequence[A.Command]) -> A.Expr | None:
    e = q
    for c in reversed(cmds):
        if isinstance(c, A.EvalCmd):
            for name, value in reversed(c.assignments):
                if not _plain(name):
                    return None
                e = _subst(e, name, value)
        elif isinstance(c, A.FillnullCmd):
            if not c.fields or not all(_plain(f) for f in c.fields):
                return None
            for f in c.fields:
                e = _subst(e, f, A.Call("coalesce", (A.FieldRef(f), A.Literal(c.value))))
        elif isinstance(c, A.StatsCmd) and c.kind in ("eventstats", "streamstats"):
            for a in c.aggs:
                if "*" in a.out_name:
                    return None
                e = _subst(e, a.out_name, UNKNOWN)
        elif isinstance(c, A.WhereCmd | A.SearchCmd | A.KeepGroupsCmd):
            continue
        elif isinstance(c, A.SortCmd) and c.limit == 0:
            continue
        else:
            return None
        if _size(e) > MAX_NODES:
            return None
    return e


def _plain(name: str) -> bool:
    return not (name.startswith("_") or name.startswith("date_") or "*" in name)


def _subst(e: A.Expr, name: str, by: A.Expr) -> A.Expr:
    """``e`` with every reference to field ``name`` replaced by ``by``."""
    if isinstance(e, A.FieldRef):
        return by if e.name == name else e
    if isinstance(e, A.BinOp):
        return A.BinOp(e.op, _subst(e.left, name, by), _subst(e.right, name, by))
    if isinstance(e, A.BoolOp):
        return A.BoolOp(e.op, tuple(_subst(i, name, by) for i in e.items))
    if isinstance(e, A.UnaryOp):
        return A.UnaryOp(e.op, _subst(e.operand, name, by))
    if isinstance(e, A.Call):
        return A.Call(e.name, tuple(_subst(a, name, by) for a in e.args), e.pos)
    return e


def _size(e: A.Expr) -> int:
    if isinstance(e, A.BinOp):
        return 1 + _size(e.left) + _size(e.right)
    if isinstance(e, A.BoolOp):
        return 1 + sum(_size(i) for i in e.items)
    if isinstance(e, A.UnaryOp):
        return 1 + _size(e.operand)
    if isinstance(e, A.Call):
        return 1 + sum(_size(a) for a in e.args)
    return 1


def _unknown(e: A.Expr) -> bool:
    reads = expr_reads(e)
    return reads is None or UNKNOWN.name in reads


def _constant(e: A.Expr) -> bool:
    reads = expr_reads(e)
    return reads is not None and not reads and not any(n in _NOT_CONSTANT for n in expr_calls(e))


def _and(parts: list[A.Expr]) -> A.Expr:
    if any(p == FALSE for p in parts):
        return FALSE
    kept = [p for p in parts if p != TRUE]
    return TRUE if not kept else kept[0] if len(kept) == 1 else A.BoolOp("AND", tuple(kept))


def _or(parts: list[A.Expr]) -> A.Expr:
    if any(p == TRUE for p in parts):
        return TRUE
    kept = [p for p in parts if p != FALSE]
    return FALSE if not kept else kept[0] if len(kept) == 1 else A.BoolOp("OR", tuple(kept))


def weaken(e: A.Expr) -> A.Expr:
    """A condition reading no unknown, truthy whenever ``e`` is (see the module docstring)."""
    if e == TRUE or e == FALSE:
        return e
    if _constant(e):
        try:
            return TRUE if truthy(compile_expr(e, EvalEnv(0.0))({})) else FALSE
        except Exception:  # noqa: BLE001 - a literal the engine refuses: nothing implied
            return TRUE
    if isinstance(e, A.BoolOp) and e.op == "AND":
        return _and([weaken(i) for i in e.items])
    if isinstance(e, A.BoolOp) and e.op == "OR":
        return _or([weaken(i) for i in e.items])
    if isinstance(e, A.BinOp) and e.op in _CMP:
        left, right = _choices(e.left), _choices(e.right)
        if left is not None and right is not None and (len(left) > 1 or len(right) > 1):
            if len(left) * len(right) > MAX_CHOICES:
                return TRUE if _unknown(e) else e
            return _or([weaken(_and([g for g in (gl, gr) if g is not None] + [A.BinOp(e.op, vl, vr)]))
                        for (gl, vl), (gr, vr) in product(left, right)])
    if isinstance(e, A.Call) and e.name in ("if", "case"):
        got = _choices(e)
        if got is not None:
            return _or([weaken(v if g is None else _and([g, v])) for g, v in got])
    return TRUE if _unknown(e) else e


def _choices(e: A.Expr) -> list[tuple[A.Expr | None, A.Expr]] | None:
    """The values ``e`` may take, each with the condition (guard; None: none) under which
    it does; None when there are more than :data:`MAX_CHOICES`. A value left out is null."""
    if isinstance(e, A.Call) and e.name == "if" and len(e.args) == 3:
        cond, a, b = e.args
        both = _guarded(cond, _choices(a)) + _guarded(None, _choices(b))
        return both if len(both) <= MAX_CHOICES else None
    if isinstance(e, A.Call) and e.name == "case" and e.args and len(e.args) % 2 == 0:
        out: list = []
        for cond, v in zip(e.args[::2], e.args[1::2], strict=True):
            got = _choices(v)
            if got is None:
                return None
            out += _guarded(cond, got)
        return out if len(out) <= MAX_CHOICES else None
    if isinstance(e, A.Call) and e.name == "coalesce" and e.args:
        out = []
        for a in e.args:
            got = _choices(a)
            if got is None:
                return None
            out += got
        return out if len(out) <= MAX_CHOICES else None
    if isinstance(e, A.BinOp) and e.op in _ARITH:
        left, right = _choices(e.left), _choices(e.right)
        if left is None or right is None or len(left) * len(right) > MAX_CHOICES:
            return None
        if len(left) == 1 and len(right) == 1:
            return [(None, e)]
        return [(_and_guard(gl, gr), A.BinOp(e.op, vl, vr)) for (gl, vl), (gr, vr) in product(left, right)]
    return [(None, e)]


def _guarded(cond: A.Expr | None, got: list | None) -> list:
    if got is None:
        return [(None, UNKNOWN)] * (MAX_CHOICES + 1)  # too many: the caller gives up
    return [(_and_guard(cond, g), v) for g, v in got]


def _and_guard(a: A.Expr | None, b: A.Expr | None) -> A.Expr | None:
    if a is None:
        return b
    if b is None:
        return a
    return A.BoolOp("AND", (a, b))


__all__ = ["FALSE", "MAX_CHOICES", "MAX_NODES", "TRUE", "UNKNOWN", "implied_before", "weaken"]
