"""The pack's objects after loading: plain dataclasses over the validated YAML.

Each keeps its :class:`~smguard.yamlio.Located` document so later checks (cross-file
validation, compilation) can still point at the line a problem comes from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from smguard.yamlio import Located

DEFAULT_CRON = "0 * * * *"
DEFAULT_EARLIEST = "-70m@m"
DEFAULT_LATEST = "-10m@m"


def snake(name: str) -> str:
    """Splunk content's convention for macro names derived from a detection name."""
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", name.lower())).strip("_")


@dataclass(frozen=True)
class Settings:
    """pack.yml: the app's identity and where the CloudTrail data lives."""

    app_id: str
    label: str
    version: str
    author: str
    description: str
    prefix: str
    index: str
    sourcetype: str
    base_macro: str


@dataclass(frozen=True)
class Schedule:
    cron: str = DEFAULT_CRON
    earliest: str = DEFAULT_EARLIEST
    latest: str = DEFAULT_LATEST


@dataclass(frozen=True)
class Throttling:
    fields: tuple[str, ...]
    period: str

    @property
    def seconds(self) -> int:
        n, unit = int(self.period[:-1]), self.period[-1]
        return n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit]


@dataclass
class Macro:
    name: str
    definition: str
    description: str
    args: tuple[str, ...] = ()
    doc: Located | None = None
    generated: bool = False

    @property
    def stanza(self) -> str:
        return f"{self.name}({len(self.args)})" if self.args else self.name


@dataclass
class Lookup:
    name: str
    filename: str
    description: str
    fields: tuple[str, ...]
    key: tuple[str, ...]
    rows: list[dict[str, str]]
    case_sensitive_match: bool = False
    match_type: dict[str, str] = field(default_factory=dict)
    max_matches: int | None = None
    min_matches: int | None = None
    default_match: str | None = None
    doc: Located | None = None
    csv_text: str = ""
    soc_rows: list[dict[str, str]] = field(default_factory=list)
    """The SOC's own entries (``lookups/<name>_soc.csv``): offline stand-in for the KV store rows."""


@dataclass
class Detection:
    """A detection as written, plus the derived names Splunk will see."""

    data: dict[str, Any]
    doc: Located

    @property
    def id(self) -> str:
        return self.data["id"]

    @property
    def name(self) -> str:
        return self.data["name"]

    @property
    def version(self) -> int:
        return self.data["version"]

    @property
    def area(self) -> str:
        return self.data["guardrail"]["area"]

    @property
    def enforces(self) -> list[str]:
        return list(self.data["guardrail"]["enforces"])

    @property
    def search(self) -> dict[str, Any]:
        return self.data["search"]

    @property
    def is_raw(self) -> bool:
        return "spl" in self.search

    @property
    def filter_macro(self) -> str:
        return f"{snake(self.name)}_filter"

    @property
    def schedule(self) -> Schedule:
        s = self.data.get("schedule") or {}
        return Schedule(s.get("cron", DEFAULT_CRON), s.get("earliest", DEFAULT_EARLIEST), s.get("latest", DEFAULT_LATEST))

    @property
    def throttling(self) -> Throttling | None:
        t = self.data.get("throttling")
        return Throttling(tuple(t["fields"]), t["period"]) if t else None

    @property
    def tests(self) -> list[dict[str, Any]]:
        return list(self.data.get("tests") or [])

    @property
    def path(self) -> str:
        return self.doc.path
