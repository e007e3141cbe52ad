"""What the offline SPL engine needs from the outside world.

The engine knows nothing about the pack's YAML: the pack (``smguard.model``) turns its
macros and lookups into these plain definitions, exactly as they are written to
``macros.conf`` and ``transforms.conf``, so the engine runs what Splunk would run.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class MacroDef:
    """A search macro as in macros.conf: ``[name]`` or ``[name(N)]`` with ``args``."""

    name: str
    definition: str
    args: tuple[str, ...] = ()

    @property
    def stanza(self) -> str:
        return f"{self.name}({len(self.args)})" if self.args else self.name


@dataclass(frozen=True)
class LookupDef:
    """A CSV lookup as in transforms.conf, with its rows already read.

    ``match_types`` maps a column to ``"WILDCARD"`` or ``"CIDR"``; ``case_sensitive``
    is transforms.conf's ``case_sensitive_match`` (Splunk's default is true).
    """

    name: str
    fields: tuple[str, ...]
    rows: tuple[Mapping[str, str], ...]
    case_sensitive: bool = True
    match_types: Mapping[str, str] = field(default_factory=dict)
    max_matches: int = 100
    min_matches: int = 0
    default_match: str | None = None
    filename: str = ""


@dataclass(frozen=True)
class SearchContext:
    """Macros keyed by stanza name (``name`` or ``name(N)``) and lookups by name."""

    macros: Mapping[str, MacroDef] = field(default_factory=dict)
    lookups: Mapping[str, LookupDef] = field(default_factory=dict)
