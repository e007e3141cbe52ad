"""The few SPL eval functions the Splunk Add-on for AWS's calculated fields use, as data.

Each constructor returns a small closure ``expr(get) -> value`` where ``get(name)`` reads a
field of the event *as it was before any calculated field ran* (Splunk evaluates every
``EVAL-`` of a sourcetype against the same input, so one cannot see another's output).
Values follow the event contract: ``str``, ``list[str]`` (multivalue) or ``None`` (null).

This keeps :mod:`smguard.cloudtrail.addon` a table that reads like the add-on's
``props.conf`` lines, instead of hand-written ``if`` chains that drift from it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable

Value = str | list[str] | None
Getter = Callable[[str], Value]
Expr = Callable[[Getter], Value]
Cond = Callable[[Getter], bool]


def _values(v: Value) -> list[str]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def _pack(values: list[str]) -> Value:
    if not values:
        return None
    return values[0] if len(values) == 1 else values


# -- values -------------------------------------------------------------------------------


def F(name: str) -> Expr:  # noqa: N802 - reads like the SPL 'field' reference it stands for
    """A field reference: ``'userIdentity.arn'``."""

    def field(get: Getter) -> Value:
        return get(name)

    field.field_name = name  # type: ignore[attr-defined]
    return field


def C(text: str) -> Expr:  # noqa: N802
    """A string literal."""

    def const(get: Getter) -> Value:
        return text

    const.const_value = text  # type: ignore[attr-defined]
    return const


NULL: Expr = lambda get: None  # noqa: E731 - null()


def coalesce(*exprs: Expr) -> Expr:
    """``coalesce(a, b, ...)``: the first argument that is not null."""
    names = [getattr(e, "field_name", None) for e in exprs]
    default = getattr(exprs[-1], "const_value", None) if exprs else None
    if default is not None and all(n is not None for n in names[:-1]):
        head = tuple(names[:-1])

        def run_fields_default(get: Getter) -> Value:  # coalesce(fields..., "literal")
            for n in head:
                v = get(n)
                if v is not None:
                    return v
            return default

        return run_fields_default
    if all(n is not None for n in names):
        fields = tuple(names)

        def run_fields(get: Getter) -> Value:  # the common case: coalesce of plain fields
            for n in fields:
                v = get(n)
                if v is not None:
                    return v
            return None

        return run_fields

    def run(get: Getter) -> Value:
        for e in exprs:
            v = e(get)
            if v is not None:
                return v
        return None

    return run


class _If:
    """``if(cond, then, else)``; a null comparison counts as false."""

    def __init__(self, cond: Cond, then: Expr, other: Expr):
        self.cond, self.then, self.other = cond, then, other

    def __call__(self, get: Getter) -> Value:
        return self.then(get) if self.cond(get) else self.other(get)

    def specialize(self, event_name: str | None) -> Expr:
        known = on_name(self.cond, event_name)
        if known is None:
            cond = fast_cond(reduce_cond(self.cond, event_name))
            then, other = specialize(self.then, event_name), specialize(self.other, event_name)
            return lambda get: then(get) if cond(get) else other(get)
        return specialize(self.then if known else self.other, event_name)


def if_(cond: Cond, then: Expr, other: Expr) -> Expr:
    return _If(cond, then, other)


class _Case:
    """``case(c1, v1, c2, v2, ...)``: the value of the first true branch, else null."""

    def __init__(self, branches: tuple[tuple[Cond, Expr], ...]):
        self.branches = branches

    def __call__(self, get: Getter) -> Value:
        for cond, expr in self.branches:
            if cond(get):
                return expr(get)
        return None

    def specialize(self, event_name: str | None) -> Expr:
        """Drop the branches that this eventName rules out, stop at one it makes certain."""
        kept: list[tuple[Cond, Expr]] = []
        for cond, expr in self.branches:
            known = on_name(cond, event_name)
            if known is False:
                continue
            if known is True:
                if not kept:
                    return specialize(expr, event_name)
                kept.append((TRUE, specialize(expr, event_name)))
                break
            kept.append((fast_cond(reduce_cond(cond, event_name)), specialize(expr, event_name)))
        return _compiled_case(tuple(kept)) if kept else NULL


def case(*branches: tuple[Cond, Expr]) -> Expr:
    return _Case(tuple(branches))


def specialize(expr: Expr, event_name: str | None) -> Expr:
    """``expr`` simplified for events whose eventName is ``event_name`` (same results, fewer tests).

    Most branches of the add-on's ``case()`` expressions test only eventName, so a scan
    resolves them once per distinct eventName instead of once per record.
    """
    method = getattr(expr, "specialize", None)
    return method(event_name) if method is not None else expr


def split_index(expr: Expr, sep: str, index: int) -> Expr:
    """``mvindex(split(x, sep), index)`` (index may be negative, from the end)."""

    def run(get: Getter) -> Value:
        v = expr(get)
        if v is None:
            return None
        if type(v) is str:
            if index == -1:
                return v.rpartition(sep)[2]
            parts = v.split(sep)
        else:
            parts = [p for x in v for p in x.split(sep)]
        if not -len(parts) <= index < len(parts):
            return None
        return parts[index]

    return run


def mvjoin(expr: Expr, sep: str) -> Expr:
    """``mvjoin(x, sep)``."""

    def run(get: Getter) -> Value:
        values = _values(expr(get))
        return sep.join(values) if values else None

    return run


def mvappend(*exprs: Expr) -> Expr:
    """``mvappend(a, b, ...)``: all values of all arguments, nulls skipped."""

    def run(get: Getter) -> Value:
        out: list[str] = []
        for e in exprs:
            out.extend(_values(e(get)))
        return _pack(out)

    return run


def replace(expr: Expr, pattern: str, replacement: str) -> Expr:
    """``replace(x, regex, repl)`` with ``\\1`` back-references, on every value."""
    rx = re.compile(pattern)
    repl = re.sub(r"\\(\d)", r"\\\1", replacement)

    def run(get: Getter) -> Value:
        v = expr(get)
        if v is None:
            return None
        return _pack([rx.sub(repl, x) for x in _values(v)])

    return run


def concat(*exprs: Expr) -> Expr:
    """``a . b . c``: string concatenation; null if any part is null (as in SPL)."""

    def run(get: Getter) -> Value:
        parts = []
        for e in exprs:
            v = e(get)
            if v is None:
                return None
            parts.append(v if isinstance(v, str) else v[0])
        return "".join(parts)

    return run


# -- conditions ---------------------------------------------------------------------------
# A condition is callable on a getter and may also answer ``on_name(event_name)``: True or
# False when eventName alone decides it, None when other fields matter.


class _Cond(ABC):
    name_only = False  # decided by eventName alone

    @abstractmethod
    def __call__(self, get: Getter) -> bool:
        """Implemented by every subclass."""

    def by_name(self, event_name: str | None) -> bool | None:
        return None


def on_name(cond: Cond, event_name: str | None) -> bool | None:
    method = getattr(cond, "by_name", None)
    return method(event_name) if method is not None else None


def reduce_cond(cond: Cond, event_name: str | None) -> Cond:
    """``cond`` without the parts that eventName ``event_name`` already decides (call only
    when :func:`on_name` is None, i.e. the condition as a whole is still open)."""
    method = getattr(cond, "reduce", None)
    return method(event_name) if method is not None else cond


class _Eq(_Cond):
    def __init__(self, name: str, value: str, negate: bool = False):
        self.name, self.value, self.negate = name, value, negate

    def __call__(self, get: Getter) -> bool:
        v = get(self.name)
        if v is None:
            return False  # a comparison with null is not true, either way
        hit = v == self.value if isinstance(v, str) else self.value in v
        return hit != self.negate

    def by_name(self, event_name: str | None) -> bool | None:
        if self.name != "eventName":
            return None
        return self({"eventName": event_name}.get)


def eq(name: str, value: str) -> Cond:
    """``'field'="value"`` in eval: exact, case-sensitive; any value of a multivalue field."""
    return _Eq(name, value)


def ne(name: str, value: str) -> Cond:
    """``'field'!="value"``: false when the field is null (a null comparison is not true)."""
    return _Eq(name, value, negate=True)


class _EventIn(_Cond):
    def __init__(self, names: tuple[str, ...]):
        self.wanted = frozenset(names)

    def __call__(self, get: Getter) -> bool:
        v = get("eventName")
        return isinstance(v, str) and v in self.wanted

    def by_name(self, event_name: str | None) -> bool | None:
        return event_name in self.wanted if isinstance(event_name, str) else False


def event_in(*names: str) -> Cond:
    """``eventName IN ("A", "B")`` or a chain of ``eventName="A" OR ...``."""
    return _EventIn(names)


class _Like(_Cond):
    def __init__(self, name: str, pattern: str):
        self.name = name
        rx = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
        self.rx = re.compile(rx + r"\Z", re.S)

    def __call__(self, get: Getter) -> bool:
        return any(self.rx.match(v) for v in _values(get(self.name)))

    def by_name(self, event_name: str | None) -> bool | None:
        if self.name != "eventName":
            return None
        return self({"eventName": event_name}.get)


def like(name: str, pattern: str) -> Cond:
    """``like(field, "Put%")``: SQL LIKE with ``%`` and ``_``, case-sensitive, anchored."""
    return _Like(name, pattern)


class _Null(_Cond):
    def __init__(self, name: str, want_null: bool):
        self.name, self.want_null = name, want_null

    def __call__(self, get: Getter) -> bool:
        return (get(self.name) is None) == self.want_null


def isnull(name: str) -> Cond:
    return _Null(name, True)


def isnotnull(name: str) -> Cond:
    return _Null(name, False)


class _All(_Cond):
    def __init__(self, conds: tuple[Cond, ...]):
        self.conds = conds

    def __call__(self, get: Getter) -> bool:
        for c in self.conds:
            if not c(get):
                return False
        return True

    def reduce(self, event_name: str | None) -> Cond:
        kept = tuple(reduce_cond(c, event_name) for c in self.conds if on_name(c, event_name) is not True)
        return kept[0] if len(kept) == 1 else _All(kept)

    def by_name(self, event_name: str | None) -> bool | None:
        known = [on_name(c, event_name) for c in self.conds]
        if False in known:
            return False
        return True if all(k is True for k in known) else None


class _Any(_Cond):
    def __init__(self, conds: tuple[Cond, ...]):
        self.conds = conds

    def __call__(self, get: Getter) -> bool:
        for c in self.conds:
            if c(get):
                return True
        return False

    def reduce(self, event_name: str | None) -> Cond:
        kept = tuple(reduce_cond(c, event_name) for c in self.conds if on_name(c, event_name) is not False)
        return kept[0] if len(kept) == 1 else _Any(kept)

    def by_name(self, event_name: str | None) -> bool | None:
        known = [on_name(c, event_name) for c in self.conds]
        if True in known:
            return True
        return False if all(k is False for k in known) else None


def all_(*conds: Cond) -> Cond:
    """``a AND b AND ...``."""
    return _All(conds)


class _In(_Cond):
    """``'f'="a" OR 'f'="b"``, folded into one read of the field."""

    def __init__(self, name: str, values: tuple[str, ...]):
        self.name, self.values = name, frozenset(values)

    def __call__(self, get: Getter) -> bool:
        v = get(self.name)
        if v is None:
            return False
        return v in self.values if isinstance(v, str) else any(x in self.values for x in v)

    def by_name(self, event_name: str | None) -> bool | None:
        return self({"eventName": event_name}.get) if self.name == "eventName" else None


def any_(*conds: Cond) -> Cond:
    """``a OR b OR ...``."""
    if len(conds) > 1 and all(type(c) is _Eq and not c.negate for c in conds):
        names = {c.name for c in conds}  # type: ignore[attr-defined]
        if len(names) == 1:
            return _In(names.pop(), tuple(c.value for c in conds))  # type: ignore[attr-defined]
    return _Any(conds)


class _True(_Cond):
    def __call__(self, get: Getter) -> bool:
        return True

    def by_name(self, event_name: str | None) -> bool | None:
        return True


TRUE: Cond = _True()
"""SPL's ``true()``."""


# -- specialised forms: plain closures (cheaper to call than objects with __call__) -------------


def _compiled_case(branches: tuple[tuple[Cond, Expr], ...]) -> Expr:
    if branches[-1][0] is TRUE:
        default = branches[-1][1]
        rest = branches[:-1]
        if len(rest) == 1:
            (c1, e1), = rest
            return lambda get: e1(get) if c1(get) else default(get)

        def run_default(get: Getter) -> Value:
            for cond, expr in rest:
                if cond(get):
                    return expr(get)
            return default(get)

        return run_default

    def run(get: Getter) -> Value:
        for cond, expr in branches:
            if cond(get):
                return expr(get)
        return None

    return run


def fast_cond(cond: Cond) -> Cond:  # noqa: C901 - one branch per condition kind
    """The same test as a closure, for conditions that no longer need specialising."""
    t = type(cond)
    if t is _Eq:
        name, value = cond.name, cond.value  # type: ignore[attr-defined]
        if cond.negate:  # type: ignore[attr-defined]

            def ne_(get: Getter) -> bool:
                v = get(name)
                return v is not None and (v != value if type(v) is str else value not in v)

            return ne_

        def eq_(get: Getter) -> bool:
            v = get(name)
            return v == value if type(v) is str else (v is not None and value in v)

        return eq_
    if t is _In:
        name, values = cond.name, cond.values  # type: ignore[attr-defined]

        def in_(get: Getter) -> bool:
            v = get(name)
            if v is None:
                return False
            return v in values if type(v) is str else any(x in values for x in v)

        return in_
    if t is _EventIn:
        wanted = cond.wanted  # type: ignore[attr-defined]

        def event_in_(get: Getter) -> bool:
            v = get("eventName")
            return type(v) is str and v in wanted

        return event_in_
    if t is _Like:
        name, rx = cond.name, cond.rx  # type: ignore[attr-defined]

        def like_(get: Getter) -> bool:
            v = get(name)
            if v is None:
                return False
            if type(v) is str:
                return rx.match(v) is not None
            return any(rx.match(x) for x in v)

        return like_
    if t is _Null:
        name, want_null = cond.name, cond.want_null  # type: ignore[attr-defined]
        return lambda get: (get(name) is None) == want_null
    if t is _All or t is _Any:
        parts = tuple(fast_cond(c) for c in cond.conds)  # type: ignore[attr-defined]
        if len(parts) == 1:
            return parts[0]
        if len(parts) == 2:
            a, b = parts
            return (lambda get: a(get) and b(get)) if t is _All else (lambda get: a(get) or b(get))
        if t is _All:
            return lambda get: all(p(get) for p in parts)
        return lambda get: any(p(get) for p in parts)
    return cond
