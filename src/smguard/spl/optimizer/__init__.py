"""The optimizer: a list of pure rewrites of a parsed pipeline that keep its results.

Like sqlglot's optimizer, each rule is a function ``Pipeline -> Pipeline`` that returns
its input unchanged (the same object) when it has nothing to do, never mutates it, and
states in its docstring why the results (rows, order, fields, provenance, errors) are the
same. :func:`optimize` applies them in order. The planner
(:mod:`smguard.spl.planner`) runs the optimizer, then derives the plan's other
decisions (prefilter terms, base-search skip, raw-record filters, field pruning) from
the optimized tree; the executor (:mod:`smguard.spl.executor`) runs the result.

Tests: ``tests/spl/test_optimize.py`` and ``tests/spl/test_active_groups.py`` (each rule's cases), ``tests/spl/test_plan_properties.py``
(random pipelines: optimizer on == off), ``tests/spl/test_oracle.py`` (every shipped
detection, every scan mode, optimizer on and off).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from smguard.spl import ast as A
from smguard.spl.optimizer.active_groups import keep_active_groups
from smguard.spl.optimizer.pushdown import push_filters
from smguard.spl.optimizer.sink_now import sink_now_evals

Rule = Callable[[A.Pipeline], A.Pipeline]

RULES: tuple[Rule, ...] = (sink_now_evals, push_filters, keep_active_groups)
"""The rules, in the order they are applied."""


def optimize(p: A.Pipeline, rules: Sequence[Rule] = RULES) -> A.Pipeline:
    """``p`` rewritten by every rule in turn (the same object when none applies)."""
    for rule in rules:
        p = rule(p)
    return p


__all__ = ["RULES", "Rule", "keep_active_groups", "optimize", "push_filters", "sink_now_evals"]
