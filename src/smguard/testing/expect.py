"""What a detection test case asserts, and how a result set is checked against it.

A case asserts the number of result rows (exact, ``>= n``, ``<= n``, ``> n``, ``< n`` or
``a..b``), values of key fields, and — always — that every risk-object and threat-object
field is non-null in every row (ES would otherwise write risk with an empty object).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Row = Mapping[str, Any]


@dataclass(frozen=True)
class CountRule:
    low: int
    high: int | None  # None: unbounded
    text: str

    def ok(self, n: int) -> bool:
        return n >= self.low and (self.high is None or n <= self.high)


def parse_count(spec: int | str) -> CountRule:
    if isinstance(spec, int):
        return CountRule(spec, spec, f"exactly {spec}")
    s = spec.strip()
    m = re.fullmatch(r"(\d+)\.\.(\d+)", s)
    if m:
        return CountRule(int(m.group(1)), int(m.group(2)), f"between {m.group(1)} and {m.group(2)}")
    m = re.fullmatch(r"(>=|<=|>|<)\s*(\d+)", s)
    if not m:
        raise ValueError(f"bad results rule {spec!r}")
    op, n = m.group(1), int(m.group(2))
    low, high = {">=": (n, None), ">": (n + 1, None), "<=": (0, n), "<": (0, n - 1)}[op]
    return CountRule(low, high, f"{op} {n}")


def _values(v: Any) -> list[str]:
    if v is None:
        return []
    return [str(x) for x in v] if isinstance(v, list | tuple) else [str(v)]


def _scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def check(rows: Sequence[Row], expect: Mapping[str, Any], required_fields: Sequence[str]) -> list[str]:
    """Every way ``rows`` fails ``expect`` (empty when the case passes)."""
    failures: list[str] = []
    rule = parse_count(expect["results"])
    if not rule.ok(len(rows)):
        failures.append(f"expected {rule.text} result(s), got {len(rows)}")
    for fname, want in (expect.get("fields") or {}).items():
        seen = sorted({x for row in rows for x in _values(row.get(fname))})
        wanted = [_scalar(w) for w in want] if isinstance(want, list) else [_scalar(want)]
        missing = [w for w in wanted if w not in seen]
        if missing:
            failures.append(f"field {fname}: expected value(s) {missing} in results, saw {seen}")
    for i, row in enumerate(rows):
        for fname in required_fields:
            if not _values(row.get(fname)) or all(v == "" for v in _values(row.get(fname))):
                failures.append(f"row {i}: risk/threat object field {fname!r} is null")
    return failures
