"""Analytic stories (analytic_stories.yml): how ES users find the detections by theme."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from smguard import jsonschemas
from smguard.errors import SmguardError


@dataclass(frozen=True)
class Story:
    name: str
    area: str
    description: str
    narrative: str


def load_stories(path: str | Path) -> dict[str, Story]:
    doc = jsonschemas.load_valid(path, "stories")
    problems = []
    stories: dict[str, Story] = {}
    for i, s in enumerate(doc.data["stories"]):
        if s["name"] in stories:
            problems.append(doc.problem(("stories", i, "name"), f"duplicate story {s['name']!r}"))
        stories[s["name"]] = Story(s["name"], s["area"], " ".join(s["description"].split()),
                                   " ".join(s["narrative"].split()))
    if problems:
        raise SmguardError(problems)
    return stories
