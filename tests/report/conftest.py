"""A small evaluation document in the shape `smguard evaluate --format json` writes, for the report tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from smguard.model import Pack, load_pack

REPO = Path(__file__).resolve().parents[2]

START = datetime(2026, 11, 23, tzinfo=UTC).timestamp()


@pytest.fixture(scope="package")
def pack() -> Pack:
    return load_pack(REPO)


@pytest.fixture(scope="package")
def evaluation(pack: Pack) -> dict:
    """Two detections over three days of one seed, in `smguard evaluate --format json`'s shape
    (docs/evaluate.md): raised, suppressed, a miss and each false-positive class."""
    a, b = sorted(pack.detections, key=lambda d: d.name)[:2]

    def at(hours: float) -> str:
        return datetime.fromtimestamp(START + 3600 * hours, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def log(hours, outcome, insts=()):
        return {"seed": 1, "run_time": at(hours), "instances": list(insts), "suppressed": outcome == "suppressed",
                "outcome": outcome}

    fp = {"baseline": 0, "benign": 0, "near_miss": 0, "cross_fire": 0}
    return {
        "schema": "smguard-evaluate/1",
        "parameters": {"seeds": [1], "per_scenario": 1, "days": 3.0, "start": "2026-11-23T00:00:00Z"},
        "ok": False,
        "totals": {"records": 1000, "scenario_instances": 3},
        "scenarios": [
            {"name": "s1", "kind": "attack", "also_triggers": [], "instances": [{"seed": 1, "instance": "s1#1", "at": at(9.5)}]},
            {"name": "s2", "kind": "attack", "also_triggers": [], "instances": [{"seed": 1, "instance": "s2#1", "at": at(36)}]},
            {"name": "n1", "kind": "near_miss", "also_triggers": [], "instances": [{"seed": 1, "instance": "n1#1", "at": at(63)}]},
        ],
        "detections": [
            {"id": a.id, "name": a.name, "area": a.area, "expected": 2, "caught": 1, "missed": 1, "alerts": 1,
             "suppressed": 1, "declared": 0, "false_positives": {**fp, "baseline": 1},
             "misses": [{"seed": 1, "scenario": "s2", "instance": "s2#1", "at": at(36), "reason": "below_threshold",
                         "detail": "x"}],
             "alert_log": [log(10, "caught", ["s1#1"]), log(11, "suppressed", ["s1#1"]), log(33, "baseline")]},
            {"id": b.id, "name": b.name, "area": b.area, "expected": 0, "caught": 0, "missed": 0, "alerts": 0,
             "suppressed": 0, "declared": 0, "false_positives": {**fp, "near_miss": 1, "cross_fire": 1},
             "misses": [], "alert_log": [log(63, "near_miss", ["n1#1"]), log(64, "cross_fire", ["s2#1"])]},
        ],
    }
