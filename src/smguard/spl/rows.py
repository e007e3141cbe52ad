"""Rows flowing through the executor, with provenance and copy-on-write fields."""

from __future__ import annotations


class Row:
    """One result: its fields and the eventIDs it was computed from.

    Events read from logs are shared between detections in a scan, so a row starts
    out *borrowing* its event's dict and copies it the first time a command writes
    (``w()``). Filtering commands therefore cost no copy at all.
    """

    __slots__ = ("f", "ids", "own", "t")

    def __init__(self, f: dict, ids: tuple[str, ...], own: bool = False, t: float | None = None):
        self.f = f
        self.ids = ids
        self.own = own
        # the source event's _time: search order survives commands that drop _time
        self.t = t

    def w(self) -> dict:
        """The fields, writable (copied on first write)."""
        if not self.own:
            self.f = dict(self.f)
            self.own = True
        return self.f

    def copy(self) -> Row:
        return Row(dict(self.f), self.ids, True, self.t)

    @staticmethod
    def from_event(ev: dict) -> Row:
        eid = ev.get("eventID")
        t = ev.get("_time")
        if eid is None:
            return Row(ev, (), False, t)
        if isinstance(eid, list):
            return Row(ev, tuple(eid), False, t)
        return Row(ev, (eid,), False, t)


def merge_ids(groups: list[tuple[str, ...]]) -> tuple[str, ...]:
    """Union of provenance tuples, first-seen order."""
    seen: dict[str, None] = {}
    for g in groups:
        for i in g:
            seen[i] = None
    return tuple(seen)
