"""Precision and recall of the whole pack against injected scenarios (``smguard evaluate``).

Days of baseline are generated with every scenario injected, scanned with the pack's
schedules replayed (what production would have raised), and each alert is classified
through the ground-truth sidecar by the eventIDs it was computed from:

- **TP**: it contains records of an instance of a scenario the detection's own positive
  tests name (the instance counts as detected);
- **FP near-miss**: records of one of the detection's own near-miss scenarios (the
  benign look-alikes its negative tests name);
- **other scenario**: records of other scenarios only (another detection's attack or
  look-alike can legitimately break this detection's guardrail too): reported, not
  counted against the detection;
- **FP baseline**: no scenario records at all: noise the SOC would see on normal activity.
"""

from __future__ import annotations

import json
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from smguard.model import Pack
from smguard.model.entities import Detection


@dataclass
class DetectionScore:
    detection: Detection
    expected: list[str] = field(default_factory=list)  # instance ids of its own attack scenarios
    detected: set[str] = field(default_factory=set)
    tp: int = 0
    other_scenario: int = 0
    fp_near_miss: int = 0
    fp_baseline: int = 0

    @property
    def missed(self) -> list[str]:
        return [i for i in self.expected if i not in self.detected]

    @property
    def ok(self) -> bool:
        return not self.missed and self.fp_baseline == 0 and self.fp_near_miss == 0


@dataclass
class Evaluation:
    days: float
    records: int
    instances: int
    scores: list[DetectionScore]
    unclaimed: list[str]  # attack scenarios no detection's tests claim

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.scores)

    def to_json(self) -> dict[str, Any]:
        return {
            "days": self.days, "records": self.records, "scenario_instances": self.instances,
            "ok": self.ok,
            "recall": _ratio(sum(len(s.detected) for s in self.scores), sum(len(s.expected) for s in self.scores)),
            "baseline_alerts": sum(s.fp_baseline for s in self.scores),
            "baseline_alerts_per_day": round(sum(s.fp_baseline for s in self.scores) / self.days, 3),
            "unclaimed_attack_scenarios": self.unclaimed,
            "detections": [
                {"id": s.detection.id, "name": s.detection.name, "area": s.detection.area,
                 "expected": len(s.expected), "detected": len(s.detected), "missed": s.missed,
                 "tp_alerts": s.tp, "other_scenario_alerts": s.other_scenario,
                 "fp_near_miss_alerts": s.fp_near_miss, "fp_baseline_alerts": s.fp_baseline,
                 "baseline_alerts_per_day": round(s.fp_baseline / self.days, 3)}
                for s in self.scores
            ],
        }


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None


def positive_scenarios(det: Detection) -> set[str]:
    return {c["scenario"] for c in det.tests if "scenario" in c and c["expect"]["results"] != 0}


def near_miss_scenarios(det: Detection) -> set[str]:
    return {c["scenario"] for c in det.tests if "scenario" in c and c["expect"]["results"] == 0}


def classify(pack: Pack, alerts: list[dict[str, Any]], truth: dict[str, Any], days: float, records: int) -> Evaluation:
    """Score scan alerts (``ScanResult.to_json()['alerts']``) against the ground truth."""
    events = truth["events"]
    scenario_of = {i["instance"]: i["scenario"] for i in truth["instances"]}
    by_scenario: dict[str, list[str]] = {}
    for inst in truth["instances"]:
        by_scenario.setdefault(inst["scenario"], []).append(inst["instance"])
    scores = {d.id: DetectionScore(d) for d in pack.detections}
    for det in pack.detections:
        for sc in sorted(positive_scenarios(det)):
            scores[det.id].expected += by_scenario.get(sc, [])
    for alert in alerts:
        score = scores.get(alert["id"])
        if score is None:
            continue
        own = set(score.expected)
        look_alikes = near_miss_scenarios(score.detection)
        for row in alert["results"]:
            insts = {events[e]["instance"] for e in row.get("_event_ids", []) if e in events}
            hit = insts & own
            if hit:
                score.tp += 1
                score.detected |= hit
            elif any(scenario_of[i] in look_alikes for i in insts):
                score.fp_near_miss += 1
            elif insts:
                score.other_scenario += 1
            else:
                score.fp_baseline += 1
    claimed = set().union(*(positive_scenarios(d) for d in pack.detections)) if pack.detections else set()
    unclaimed = sorted({i["scenario"] for i in truth["instances"] if i["kind"] == "attack"} - claimed)
    return Evaluation(days, records, len(truth["instances"]), sorted(scores.values(), key=lambda s: (s.detection.area, s.detection.name)), unclaimed)


def evaluate(pack: Pack, *, days: float = 7, seed: int = 1, start: str | None = None, per_scenario: int = 1,
             workdir: str | Path | None = None, progress: bool = False, jobs: int = 1) -> Evaluation:
    """Generate, inject, scan with schedule replay (``jobs``: see :func:`smguard.scan.scan`), and score."""
    from smguard.generate import generate, list_scenarios
    from smguard.scan import scan, specs_from_pack

    hours = int(round(days * 24))
    with tempfile.TemporaryDirectory(prefix="smguard-eval-") as tmp:
        out = Path(workdir or tmp) / "evaluate.ndjson"
        out.parent.mkdir(parents=True, exist_ok=True)
        names = [n for n in list_scenarios(pack.root) for _ in range(per_scenario)]
        generate(start=start, hours=hours, seed=seed, scenarios=names, fmt="ndjson", out=out,
                 pack_root=pack.root, progress=progress)
        truth = json.loads(Path(f"{out}.truth.json").read_text())
        end = datetime.fromisoformat(truth["start"].replace("Z", "+00:00")).timestamp() + hours * 3600
        result = scan(specs_from_pack(pack), [str(out)], pack.context(), index=pack.settings.index,
                      sourcetype=pack.settings.sourcetype, now=end + 3600, progress=progress, jobs=jobs)
        alerts = result.to_json()["alerts"]
    return classify(pack, alerts, truth, days, result.events)


def table(ev: Evaluation) -> str:
    lines = [
        "| area | detection | expected | detected | missed | TP alerts | other-scenario alerts | near-miss FP | baseline FP/day |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in ev.scores:
        lines.append(f"| {s.detection.area} | {s.detection.name} | {len(s.expected)} | {len(s.detected)} | "
                     f"{len(s.missed)} | {s.tp} | {s.other_scenario} | {s.fp_near_miss} | {s.fp_baseline / ev.days:.2f} |")
    j = ev.to_json()
    totals = Counter(expected=sum(len(s.expected) for s in ev.scores), detected=sum(len(s.detected) for s in ev.scores))
    lines.append("")
    lines.append(f"{ev.records} records over {ev.days:g} day(s), {ev.instances} scenario instance(s) injected; "
                 f"recall {totals['detected']}/{totals['expected']}; baseline alerts {j['baseline_alerts']} "
                 f"({j['baseline_alerts_per_day']}/day).")
    if ev.unclaimed:
        lines.append(f"Attack scenarios no detection claims in its tests: {', '.join(ev.unclaimed)}.")
    return "\n".join(lines)


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
