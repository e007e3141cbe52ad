"""A small evaluation document in the shape `smguard evaluate --format json` writes, for the report tests."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from smguard.model import Pack, load_pack

REPO = Path(__file__).resolve().parents[2]

START = datetime(2026, 11, 23, tzinfo=UTC).timestamp()


@pytest.fixture(scope="session")
def pack() -> Pack:
    return load_pack(REPO)


@pytest.fixture(scope="session")
def evaluation(pack: Pack) -> dict:
    """Two detections with alerts over three days: raised, suppressed, a miss and each FP class."""
    a, b = sorted(pack.detections, key=lambda d: d.name)[:2]
    alerts = [
        {"id": a.id, "time": START + 3600 * 10, "class": "tp", "instance": "s1#1"},
        {"id": a.id, "time": START + 3600 * 11, "class": "tp", "suppressed": True, "instance": "s1#1"},
        {"id": a.id, "time": START + 86400 + 3600 * 9, "class": "baseline"},
        {"id": b.id, "time": START + 2 * 86400 + 3600 * 15, "class": "near_miss"},
        {"id": b.id, "time": START + 2 * 86400 + 3600 * 16, "class": "cross_fire"},
    ]
    instances = [
        {"scenario": "s1", "instance": "s1#1", "kind": "attack", "time": START + 3600 * 9.5},
        {"scenario": "s2", "instance": "s2#1", "kind": "attack", "time": START + 86400 * 1.5},
        {"scenario": "n1", "instance": "n1#1", "kind": "near_miss", "time": START + 2 * 86400 + 3600 * 15},
    ]
    return {
        "days": 3, "start": "2026-11-23T00:00:00Z", "records": 1000, "scenario_instances": 3,
        "detections": [
            {"id": a.id, "name": a.name, "expected": 2, "detected": 1,
             "missed": [{"instance": "s2#1", "reason": "below threshold"}],
             "tp_alerts": 1, "fp_baseline_alerts": 1, "fp_near_miss_alerts": 0, "suppressed": 1},
            {"id": b.id, "name": b.name, "expected": 0, "detected": 0, "missed": [],
             "tp_alerts": 0, "fp_baseline_alerts": 0, "fp_near_miss_alerts": 1, "cross_fire_alerts": 1},
        ],
        "alerts": alerts, "instances": instances,
    }
