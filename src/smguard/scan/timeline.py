"""What the one-process pass and the parts agree on about time.

:mod:`smguard.scan.runner` replays runs while it reads and :mod:`smguard.scan.partition`
cuts the logs into parts; both rest on the same tolerance for records out of time order
(:data:`LATENESS`) and report a violation the same way (:class:`LateRecord`). Kept apart
so that neither module imports the other's internals (no import cycle).
"""

from __future__ import annotations

from smguard.cloudtrail.fields import epoch_time

LATENESS = 900.0
"""Runs are replayed during the pass (after each batch of records) once the newest record
is this far past their window."""


class LateRecord(Exception):
    """A record arrived for a window already replayed: the logs are not in time order."""


def time_span(tmin_s: str | None, tmax_s: str | None) -> tuple[float | None, float | None]:
    """The first and last ``eventTime`` read, as the first record's time and just after
    the last's (None, None: no records)."""
    if tmin_s is None or tmax_s is None:
        return None, None
    return epoch_time(tmin_s), epoch_time(tmax_s) + 1.0


__all__ = ["LATENESS", "LateRecord", "time_span"]
