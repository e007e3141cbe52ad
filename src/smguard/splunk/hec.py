"""Send CloudTrail records to Splunk's HTTP Event Collector (``/services/collector/event``).

splunk-sdk has no HEC client (HEC is a separate listener, port 8088, with its own token),
so this is a small stdlib client. Events are batched — several JSON event objects in one
POST body, which HEC accepts — to keep a test run to a handful of requests.

Each event carries ``time`` from the record's ``eventTime`` (so the search sees the
record's own time, as the add-on's timestamp extraction would), ``sourcetype``,
``index``, and a ``source``/``host`` that mark the run, so concurrent or repeated runs
never see each other's data.
"""

from __future__ import annotations

import json
import ssl
import urllib.error
import urllib.request
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from smguard.cloudtrail.fields import time_fields
from smguard.errors import SmguardError
from smguard.splunk.connection import Endpoint

MAX_BATCH_EVENTS = 500
MAX_BATCH_BYTES = 800_000  # under HEC's default max_content_length (~1 MB)


@dataclass(frozen=True)
class Hec:
    endpoint: Endpoint
    token: str
    verify: bool = True
    timeout: float = 30.0

    def __repr__(self) -> str:
        return f"Hec({self.endpoint.url!r})"

    def send(self, records: Iterable[dict[str, Any]], *, index: str, sourcetype: str, source: str,
             host: str) -> int:
        """Send every record; return how many HEC accepted. Raises SmguardError on any rejection."""
        sent = 0
        for body, n in _batches(
            event_json(r, index=index, sourcetype=sourcetype, source=source, host=host) for r in records
        ):
            self._post(body)
            sent += n
        return sent

    def _post(self, body: bytes) -> None:
        req = urllib.request.Request(
            self.endpoint.url + "/services/collector/event", data=body, method="POST",
            headers={"Authorization": f"Splunk {self.token}", "Content-Type": "application/json"},
        )
        ctx = None
        if self.endpoint.scheme == "https":
            ctx = ssl.create_default_context()
            if not self.verify:
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
        try:
            with urllib.request.urlopen(req, timeout=self.timeout, context=ctx) as resp:  # noqa: S310 (http/https only)
                reply = json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode("utf-8", "replace")[:300]
            raise SmguardError(f"HEC {self.endpoint.url} rejected a batch: HTTP {exc.code} {detail}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise SmguardError(f"cannot reach HEC at {self.endpoint.url}: {exc}") from None
        if reply.get("code", 0) != 0:
            raise SmguardError(f"HEC {self.endpoint.url} rejected a batch: {reply}")


def event_json(record: dict[str, Any], *, index: str, sourcetype: str, source: str, host: str) -> bytes:
    """One HEC event object for one CloudTrail record."""
    event: dict[str, Any] = {"index": index, "sourcetype": sourcetype, "source": source, "host": host,
                             "event": record}
    when = record.get("eventTime")
    if isinstance(when, str):
        try:
            event["time"] = round(time_fields(when)["_time"], 3)
        except (ValueError, IndexError):
            pass  # HEC then stamps receipt time; the case's counts will say if that matters
    return json.dumps(event, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _batches(events: Iterable[bytes]) -> Iterator[tuple[bytes, int]]:
    buf: list[bytes] = []
    size = 0
    for ev in events:
        if buf and (len(buf) >= MAX_BATCH_EVENTS or size + len(ev) > MAX_BATCH_BYTES):
            yield b"\n".join(buf), len(buf)
            buf, size = [], 0
        buf.append(ev)
        size += len(ev) + 1
    if buf:
        yield b"\n".join(buf), len(buf)
