"""Value model shared by every part of the executor.

A field value is ``None`` (null: the field is absent), a ``str``, an ``int``/``float``
(produced by eval/stats; events only carry strings), or a ``list[str]`` (multivalue).
Splunk is loosely typed: a string that parses as a number takes part in arithmetic and
compares numerically, so numbers are recognised lazily here rather than at extraction.
"""

from __future__ import annotations

import math
import re
from typing import Any

_NUM_RE = re.compile(r"\s*[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?\s*\Z")

Value = Any  # None | str | int | float | bool | list[str]


def num(v: Value) -> int | float | None:
    """The number a value stands for, or None when it is not numeric."""
    t = type(v)
    if t is float or t is int:
        return v
    if t is str:
        if v and (v[0] in _NUM_START) and _NUM_RE.match(v):
            try:
                return int(v)
            except ValueError:
                return float(v)
        if v and v[0] in " \t" and _NUM_RE.match(v):
            return float(v)
        return None
    if t is bool or v is None:
        return None
    if isinstance(v, int | float):
        return v
    if isinstance(v, list) and len(v) == 1:
        return num(v[0])
    return None


_NUM_START = frozenset("0123456789+-.")


def fmt_number(x: int | float) -> str:
    """Render a number the way Splunk shows eval/stats results (no trailing .0)."""
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, int):
        return str(x)
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x.is_integer() and abs(x) < 1e16:
        return str(int(x))
    r = repr(x)
    return r


def to_str(v: Value) -> str | None:
    """A single string for a scalar value (first value of a multivalue)."""
    t = type(v)
    if t is str:
        return v
    if v is None:
        return None
    if t is list:
        return to_str(v[0]) if v else None
    if t is bool:
        return "true" if v else "false"
    return fmt_number(v)


def mv(v: Value) -> list[str]:
    """All values as strings (empty for null)."""
    t = type(v)
    if t is str:
        return [v]
    if v is None:
        return []
    if t is list:
        return [x if type(x) is str else (to_str(x) or "") for x in v]
    s = to_str(v)
    return [] if s is None else [s]


def out_value(v: Value) -> str | list[str] | None:
    """The external form of a value: str or list[str] (numbers rendered)."""
    if v is None:
        return None
    if isinstance(v, list):
        vals = mv(v)
        if not vals:
            return None
        return vals if len(vals) > 1 else vals[0]
    return to_str(v)


def compare(a: Value, b: Value) -> int | None:
    """Three-way comparison: numeric when both sides are numbers, else as strings.

    Returns None when either side is null (comparisons with null are never true).
    """
    if a is None or b is None:
        return None
    na, nb = num(a), num(b)
    if na is not None and nb is not None:
        return (na > nb) - (na < nb)
    sa, sb = to_str(a), to_str(b)
    if sa is None or sb is None:
        return None
    return (sa > sb) - (sa < sb)


def sort_key(v: Value) -> tuple:
    """Sort key used by ``sort`` in auto mode: numbers before strings, nulls last."""
    if v is None:
        return (2, 0, "")
    n = num(v)
    if n is not None:
        return (0, n, "")
    return (1, 0, to_str(v) or "")
