"""The guardrail catalog (guardrails.yml): what the pack promises to cover."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smguard import jsonschemas
from smguard.errors import SmguardError


@dataclass(frozen=True)
class Guardrail:
    id: str
    area: str
    title: str
    text: str
    not_observable: str | None
    line: int
    partial: str | None = None


@dataclass
class Catalog:
    path: str
    entries: dict[str, Guardrail]


def load_catalog(path: str | Path) -> Catalog:
    doc = jsonschemas.load_valid(path, "guardrails")
    problems = []
    entries: dict[str, Guardrail] = {}
    for i, g in enumerate(doc.data["guardrails"]):
        if g["id"] in entries:
            problems.append(doc.problem(("guardrails", i, "id"), f"duplicate guardrail id {g['id']!r}"))
        if not g["id"].startswith(g["area"] + "."):
            problems.append(doc.problem(("guardrails", i, "id"), f"id {g['id']!r} must start with its area {g['area']!r}"))
        entries[g["id"]] = Guardrail(g["id"], g["area"], g["title"], " ".join(g["text"].split()),
                                     g.get("not_observable"), doc.line(("guardrails", i)),
                                     " ".join(g["partial"].split()) if g.get("partial") else None)
    if problems:
        raise SmguardError(problems)
    return Catalog(doc.path, entries)
