"""The report as one JSON document: coverage, detections, tests, evaluation, alert volume, ATT&CK.

Why one document: the HTML page (:mod:`smguard.report.html`) is only a view of it, so what a
person sees and what a test or another tool reads can never disagree. Its inputs are what
the pack ships (guardrails, detections, their tests) plus two optional outputs of earlier
runs: ``smguard test --format json`` and ``smguard evaluate --format json``. Nothing is
recomputed here, which keeps ``smguard report`` to a few seconds after an evaluation.

Schema ``smguard-report/1`` (every list sorted, so the document is reproducible):

- ``pack``: app id, label, version;
- ``summary``: counts shown at the top of the page;
- ``areas``: the seed's six areas, each with its guardrails (status, detections, reason);
- ``detections``: logic, schedule, risk, ATT&CK, test cases with results, evaluation;
- ``volume``: alerts per day per detection, and those throttling suppressed;
- ``timeline``: scenario instances and the alerts raised, over the evaluation's first week;
- ``attack``: techniques with the detections that cover them (the Navigator layer's data).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from smguard.model import Pack
from smguard.model.entities import Detection
from smguard.testing.coverage import coverage_rows, navigator_layer

SCHEMA = "smguard-report/1"
AREAS = ("iam", "network", "data", "monitoring", "deployment", "cost")
WEEK = 7 * 86400


def _day(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d")


def _epoch(value: Any) -> float | None:
    """A time from an evaluation document: epoch seconds or ISO 8601."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _case_kind(case: dict[str, Any]) -> str:
    if case.get("variant") or case.get("kind") == "variant":
        return "variant"
    return "near miss" if case["expect"]["results"] == 0 else "positive"


def _logic(det: Detection) -> list[str]:
    if det.is_raw:
        return ["raw SPL"]
    s = det.search
    kinds = ["selection"]
    kinds += ["allow-list"] if s.get("allow") else []
    kinds += ["deny-list"] if s.get("deny") else []
    kinds += ["threshold"] if s.get("threshold") else []
    kinds += ["time bins"] if s.get("span") else []
    return kinds


def _tests(det: Detection, results: dict[tuple[str, str], dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for case in det.tests:
        r = results.get((det.id, case["name"]))
        out.append({
            "name": case["name"], "kind": _case_kind(case), "expect": case["expect"]["results"],
            "source": case.get("scenario") or ("records" if "records" in case else "baseline"),
            "result": "not run" if r is None else ("pass" if r.get("ok") else "fail"),
            "detail": "; ".join(r.get("failures", [])) if r else "",
        })
    return out


def _evaluation_by_id(evaluation: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    if not evaluation:
        return {}
    return {d["id"]: d for d in evaluation.get("detections", []) if "id" in d}


def _detection_evaluation(row: dict[str, Any] | None) -> dict[str, Any] | None:
    """One detection's figures from ``smguard evaluate``'s document (docs/evaluate.md)."""
    if row is None:
        return None
    missed = [{"instance": f"seed {m['seed']}: {m['instance']} at {m['at']}", "reason": m["reason"],
               "detail": m.get("detail", "")} for m in row.get("misses", [])]
    return {
        "expected": row.get("expected", 0), "caught": row.get("caught", 0), "missed": missed,
        "behind_open_alert": row.get("behind_open_alert", 0),
        "suppressed": row.get("suppressed", 0), "declared": row.get("declared", 0),
        "false_positives": {k: int(v or 0) for k, v in sorted((row.get("false_positives") or {}).items())},
        "alerts": row.get("alerts", 0),
    }


CLASS_OF_OUTCOME = {"caught": "tp"}


def _alerts(evaluation: dict[str, Any] | None, names: dict[str, str]) -> list[dict[str, Any]]:
    """Every alert of the evaluation (sent or suppressed): detection, seed, time, class."""
    out = []
    for row in (evaluation or {}).get("detections", []):
        for a in row.get("alert_log", []):
            t = _epoch(a.get("run_time"))
            if t is None:
                continue
            outcome = a.get("outcome", "unknown")
            out.append({"detection": names.get(row["id"], row.get("name")), "seed": a.get("seed"), "time": t,
                        "class": CLASS_OF_OUTCOME.get(outcome, outcome), "suppressed": bool(a.get("suppressed")),
                        "instances": a.get("instances", [])})
    return sorted(out, key=lambda a: (a["seed"] or 0, a["time"], a["detection"]))


def _instances(evaluation: dict[str, Any] | None) -> list[dict[str, Any]]:
    out = []
    for sc in (evaluation or {}).get("scenarios", []):
        for i in sc.get("instances", []):
            t = _epoch(i.get("at"))
            if t is not None:
                out.append({"scenario": sc["name"], "instance": i["instance"], "kind": sc.get("kind"),
                            "seed": i.get("seed"), "time": t})
    return sorted(out, key=lambda i: (i["seed"] or 0, i["time"], str(i["instance"])))


def _volume(alerts: list[dict[str, Any]], start: float | None, days: int, seeds: list[int]) -> dict[str, Any]:
    """Alerts per (seed, day) column per detection: each seed is another sample of the same days."""
    if start is None or days <= 0:
        return {"days": [], "series": []}
    columns = [(seed, _day(start + i * 86400)) for seed in seeds for i in range(days)]
    labels = [f"s{seed} {d[5:]}" if len(seeds) > 1 else d for seed, d in columns]
    raised: dict[str, Counter[tuple[Any, str]]] = defaultdict(Counter)
    suppressed: dict[str, Counter[tuple[Any, str]]] = defaultdict(Counter)
    for a in alerts:
        (suppressed if a["suppressed"] else raised)[a["detection"]][(a["seed"], _day(a["time"]))] += 1
    series = [{"detection": name, "alerts": [raised[name][c] for c in columns],
               "suppressed": [suppressed[name][c] for c in columns]}
              for name in sorted(set(raised) | set(suppressed))]
    return {"days": labels, "series": series}


def build_report(pack: Pack, *, tests: list[dict[str, Any]] | None = None,
                 evaluation: dict[str, Any] | None = None) -> dict[str, Any]:
    """The report document; ``tests``/``evaluation`` are the JSON outputs of those commands."""
    results = {(t["id"], t["case"]): t for t in tests or [] if "id" in t and "case" in t}
    evals = _evaluation_by_id(evaluation)
    names = {d.id: d.name for d in pack.detections}
    rows = coverage_rows(pack)
    areas = []
    for area in AREAS:
        guardrails = []
        for r in rows:
            if r.guardrail.area != area:
                continue
            status = {"GAP": "gap"}.get(r.status, r.status)  # covered / partial / not observable / gap
            pos, neg = r.cases() if r.detections else (0, 0)
            guardrails.append({
                "id": r.guardrail.id, "title": r.guardrail.title, "status": status,
                "detections": [d.id for d in r.detections],
                "reason": r.guardrail.not_observable or r.guardrail.partial or "",
                "tests": {"fire": pos, "silent": neg},
            })
        areas.append({"area": area, "guardrails": guardrails})

    detections = []
    for det in sorted(pack.detections, key=lambda d: (d.area, d.name)):
        rba = det.data.get("rba") or {}
        sched = det.schedule
        thr = det.throttling
        detections.append({
            "id": det.id, "name": det.name, "area": det.area, "type": det.data.get("type"),
            "enforces": det.enforces, "logic": _logic(det),
            "schedule": {"cron": sched.cron, "earliest": sched.earliest, "latest": sched.latest},
            "throttling": {"fields": list(thr.fields), "period": thr.period} if thr else None,
            "risk_objects": rba.get("risk_objects", []), "threat_objects": rba.get("threat_objects", []),
            "mitre": list((det.data.get("tags") or {}).get("mitre_attack_id", [])),
            "tests": _tests(det, results),
            "evaluation": _detection_evaluation(evals.get(det.id)),
        })

    alerts = _alerts(evaluation, names)
    instances = _instances(evaluation)
    params = (evaluation or {}).get("parameters", {})
    seeds = list(params.get("seeds") or [])
    start = _epoch(params.get("start"))
    days = max(1, int(round(float(params.get("days") or 1)))) if evaluation else 0
    first = seeds[0] if seeds else None
    week_end = start + min(days, 7) * 86400 if start is not None else None
    timeline = {
        "start": start, "end": week_end, "seed": first,
        "instances": [i for i in instances if i["seed"] == first and week_end and i["time"] < week_end],
        "alerts": [a for a in alerts if a["seed"] == first and week_end and a["time"] < week_end],
    }

    layer = navigator_layer(pack)
    attack = [{"id": t["techniqueID"], "score": t["score"], "detections": t["comment"].split("; ")}
              for t in layer["techniques"]]

    cases = [c for d in detections for c in d["tests"]]
    statuses = Counter(g["status"] for a in areas for g in a["guardrails"])
    summary: dict[str, Any] = {
        "detections": len(detections), "guardrails": sum(statuses.values()),
        "covered": statuses["covered"], "partial": statuses["partial"],
        "not_observable": statuses["not observable"], "gaps": statuses["gap"],
        "test_cases": len(cases), "tests_passed": sum(c["result"] == "pass" for c in cases) if tests else None,
        "tests_failed": sum(c["result"] == "fail" for c in cases) if tests else None,
        "alerts": sum(not a["suppressed"] for a in alerts), "suppressed": sum(a["suppressed"] for a in alerts),
        "techniques": len(attack),
    }
    if evaluation:
        evs = [d["evaluation"] for d in detections if d["evaluation"]]
        summary["expected"] = sum(e["expected"] for e in evs)
        summary["caught"] = sum(e["caught"] for e in evs)
        summary["missed"] = sum(len(e["missed"]) for e in evs)
        summary["behind_open_alert"] = sum(e["behind_open_alert"] for e in evs)
        classes = sorted({k for e in evs for k in e["false_positives"]})
        summary["false_positives"] = {k: sum(e["false_positives"].get(k, 0) for e in evs) for k in classes}
    return {
        "schema": SCHEMA,
        "pack": {"app_id": pack.settings.app_id, "label": pack.settings.label, "version": pack.settings.version},
        "inputs": {"tests": tests is not None, "evaluation": evaluation is not None, "evaluation_days": days,
                   "evaluation_seeds": seeds, "evaluation_start": _day(start) if start is not None else None},
        "summary": summary,
        "areas": areas,
        "detections": detections,
        "volume": _volume(alerts, start, days, seeds),
        "timeline": timeline,
        "attack": attack,
    }


def week_ticks(start: float) -> list[tuple[float, str]]:
    """Midnights of the timeline's week, for the axis."""
    return [(start + i * 86400, (datetime.fromtimestamp(start, UTC) + timedelta(days=i)).strftime("%a %d"))
            for i in range(8)]
