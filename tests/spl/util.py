"""Helpers for the SPL engine's golden tests: tiny hand-made events."""

from __future__ import annotations

from typing import Any

from smguard.spl import SearchContext, SearchResult, run

NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z


def ev(eid: str, t: float, raw: str | None = None, **fields: Any) -> dict[str, Any]:
    """An event with eventID ``eid`` at epoch ``t``; dotted names via dict unpacking."""
    e: dict[str, Any] = {"eventID": eid, "_time": float(t)}
    e.update(fields)
    e["_raw"] = raw if raw is not None else " ".join(f"{k}={v}" for k, v in fields.items())
    return e


def q(spl: str, events: list[dict[str, Any]], ctx: SearchContext | None = None, **kw: Any) -> SearchResult:
    return run(spl, events, ctx or SearchContext(), now=kw.pop("now", NOW), **kw)


def ids(res: SearchResult) -> list[str]:
    """eventIDs of a non-transforming search, one per row, in result order."""
    return [i[0] for i in res.event_ids]


def col(res: SearchResult, name: str) -> list[Any]:
    return [r.get(name) for r in res.rows]
