"""Out-of-sample evaluation of the whole pack (``smguard evaluate``).

An evaluation a pack cannot be tuned to: for each of several seeds, a fresh baseline is
generated and every scenario is injected ``per_scenario`` times at seeded random
offsets (any second of the window, never lined up with schedule bins); the logs are
scanned with the pack's schedules replayed, and every result row of every run is
classified through the ground-truth sidecar by the eventIDs it was computed from
(``_event_ids``).

Throttling is replayed here, not inside the scan, so that what it suppresses is seen:
the scan runs with throttling off and :func:`throttle` applies the detection's
throttle (same fields, same period, in run order, exactly as the scan would) while
remembering which earlier alert suppressed which row.

Per detection:

- **expected**: injected instances of the attack scenarios its positive tests name;
- **caught**: expected instances whose records are in an alert that went out;
- **missed**, each named (seed, scenario, instance, time) with a reason:
  ``throttled`` (its rows were suppressed by an earlier alert on the same entity that
  was not itself a true positive: a false positive or a declared cross-fire blinding the
  entity is exactly what an attacker hides behind),
  ``outside_window`` (some of its records fall in no replayed run's window) or
  ``below_threshold`` (inside the windows, but no run's results hold its records: the
  activity was split across windows or bins, or too small) or ``failed`` (the detection
  failed while running: its error is in ``errors`` and the other detections are scored);
- **behind an open alert**: expected instances whose rows were suppressed by an earlier
  alert *of this detection on the same entity that caught an expected instance* less than
  the throttle period before: the SOC is already investigating that entity for this
  detection, and not alerting again is what throttling is for. Counted apart: not caught
  (recall stays alerts only), not missed;
- **suppressed**: alerts held back by throttling (repeats; counted apart, not as misses);
- **declared**: alerts on a scenario that lists the detection in ``also_triggers``;
- **false positives**, by class: ``baseline`` (no scenario records), ``benign`` and
  ``near_miss`` (records of scenarios of those kinds), ``cross_fire`` (records of
  another attack scenario that did not declare the detection).

The JSON form (:meth:`Evaluation.to_json`) is a stable, documented document
(``docs/evaluate.md``, ``"schema": "smguard-evaluate/1"``).
"""

from __future__ import annotations

import json
import random
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from smguard.errors import SmguardError
from smguard.model import Pack
from smguard.model.entities import Detection

SCHEMA_ID = "smguard-evaluate/1"
HISTORY_DAYS = 1.0
"""Baseline days before the scored ones (no scenarios, not scored): the account's history."""
FP_CLASSES = ("baseline", "benign", "near_miss", "cross_fire")
MISS_REASONS = ("throttled", "outside_window", "below_threshold", "failed")
_EVENT_ID = re.compile(r'"eventID":"([^"]+)"')


@dataclass(frozen=True)
class Miss:
    """An expected instance no alert that went out holds, with why."""

    seed: int
    scenario: str
    instance: str
    at: str
    reason: str
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "scenario": self.scenario, "instance": self.instance, "at": self.at,
                "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class FalsePositive:
    """An alert that went out without holding an expected instance or a declared cross-fire."""

    seed: int
    cls: str
    run_time: str
    instances: tuple[str, ...]
    entity: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {"seed": self.seed, "class": self.cls, "run_time": self.run_time,
                "instances": list(self.instances), "entity": self.entity}


@dataclass
class DetectionScore:
    detection: Detection
    expected: list[tuple[int, str]] = field(default_factory=list)  # (seed, instance label)
    caught: set[tuple[int, str]] = field(default_factory=set)
    misses: list[Miss] = field(default_factory=list)
    # expected instances held back by the throttle of an alert that caught another expected
    # instance on the same entity (reason ``behind_open_alert``): neither caught nor missed
    behind: list[Miss] = field(default_factory=list)
    alerts: int = 0  # alerts that went out and hold an expected instance
    suppressed: int = 0
    declared: int = 0
    false_positives: list[FalsePositive] = field(default_factory=list)
    # Every alert the runs produced, sent or suppressed, with its run time and outcome:
    # the report's alert volume and timeline are drawn from it.
    alert_log: list[dict[str, Any]] = field(default_factory=list)
    # ``path:line: name: message`` of each run this detection failed in (a run-time SPL error)
    errors: list[str] = field(default_factory=list)

    def fp_count(self, cls: str) -> int:
        return sum(1 for f in self.false_positives if f.cls == cls)

    @property
    def ok(self) -> bool:
        return not self.misses and not self.false_positives and not self.errors

    def to_json(self, days: float) -> dict[str, Any]:
        d = self.detection
        return {
            "id": d.id, "name": d.name, "area": d.area,
            "expected": len(self.expected), "caught": len(self.caught), "missed": len(self.misses),
            "behind_open_alert": len(self.behind),
            "missed_by_reason": {r: sum(1 for m in self.misses if m.reason == r) for r in MISS_REASONS},
            "alerts": self.alerts, "suppressed": self.suppressed, "declared": self.declared,
            "false_positives": {c: self.fp_count(c) for c in FP_CLASSES},
            "baseline_alerts_per_day": round(self.fp_count("baseline") / days, 3) if days else None,
            "misses": [m.to_json() for m in self.misses],
            "behind_open_alert_instances": [m.to_json() for m in self.behind],
            "false_positive_alerts": [f.to_json() for f in self.false_positives],
            "alert_log": self.alert_log,
            "errors": self.errors,
        }


@dataclass
class Evaluation:
    seeds: list[int]
    per_scenario: int
    days: float
    start: str
    records: int
    instances: int
    scores: list[DetectionScore]
    unclaimed: list[str]  # attack scenarios no detection's tests claim
    placements: list[dict[str, Any]] = field(default_factory=list)  # every injected instance: seed, scenario, instance, at
    infos: dict[str, ScenarioInfo] = field(default_factory=dict)
    history_days: float = 0.0  # unscored baseline before ``start`` (records include it)

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.scores)

    @property
    def misses(self) -> list[Miss]:
        return [m for s in self.scores for m in s.misses]

    def to_json(self) -> dict[str, Any]:
        expected = sum(len(s.expected) for s in self.scores)
        caught = sum(len(s.caught) for s in self.scores)
        behind = sum(len(s.behind) for s in self.scores)
        total_days = self.days * len(self.seeds)
        return {
            "schema": SCHEMA_ID,
            "parameters": {"seeds": self.seeds, "per_scenario": self.per_scenario, "days": self.days,
                           "start": self.start, "history_days": self.history_days},
            "ok": self.ok,
            "totals": {
                "records": self.records, "scenario_instances": self.instances,
                "expected": expected, "caught": caught, "behind_open_alert": behind,
                "missed": expected - caught - behind,
                "recall": round(caught / expected, 4) if expected else None,
                "suppressed": sum(s.suppressed for s in self.scores),
                "declared": sum(s.declared for s in self.scores),
                "false_positives": {c: sum(s.fp_count(c) for s in self.scores) for c in FP_CLASSES},
                "baseline_alerts_per_day": round(sum(s.fp_count("baseline") for s in self.scores) / total_days, 3)
                if total_days else None,
            },
            "unclaimed_attack_scenarios": self.unclaimed,
            "scenarios": [
                {"name": name, "kind": info.kind, "also_triggers": sorted(info.also_triggers),
                 "instances": [{k: p[k] for k in ("seed", "instance", "at")} for p in self.placements
                               if p["scenario"] == name]}
                for name, info in sorted(self.infos.items())
            ],
            "detections": [s.to_json(total_days) for s in self.scores],
        }


def positive_scenarios(det: Detection) -> set[str]:
    return {c["scenario"] for c in det.tests if "scenario" in c and c["expect"]["results"] != 0}


@dataclass(frozen=True)
class ScenarioInfo:
    """What the evaluation needs to know about a scenario file."""

    name: str
    kind: str
    also_triggers: frozenset[str]  # detection ids


def scenario_infos(pack: Pack) -> dict[str, ScenarioInfo]:
    """Kind and declared cross-fires of every shipped scenario; an unknown detection in
    ``also_triggers`` is an error naming the file."""
    from smguard.generate import list_scenarios
    from smguard.yamlio import load

    by_key = {d.name: d.id for d in pack.detections} | {d.id: d.id for d in pack.detections}
    out: dict[str, ScenarioInfo] = {}
    problems = []
    for name in list_scenarios(pack.root):
        path = Path(pack.root) / "generators" / "scenarios" / f"{name}.yml"
        doc = load(path)
        data = doc.data if isinstance(doc.data, dict) else {}
        ids_ = set()
        for i, key in enumerate(data.get("also_triggers") or []):
            if key not in by_key:
                problems.append(doc.problem(("also_triggers", i), f"also_triggers: no detection named {key!r}"))
            else:
                ids_.add(by_key[key])
        out[name] = ScenarioInfo(name, str(data.get("kind", "attack")), frozenset(ids_))
    if problems:
        raise SmguardError(problems)
    return out


@dataclass
class Throttled:
    """One result row after throttling: sent, or suppressed by the row at ``by``."""

    row: dict[str, Any]
    run_t: float
    key: str | None
    by: dict[str, Any] | None = None


def throttle(rows: Iterable[dict[str, Any]], fields: Sequence[str], period: float) -> list[Throttled]:
    """The scan's throttling, keeping what it suppresses: rows in run order; a row whose
    throttle fields equal those of a row sent less than ``period`` before its run is
    suppressed (``by`` is that earlier row)."""
    out: list[Throttled] = []
    until: dict[str, tuple[float, dict[str, Any]]] = {}
    on = bool(fields) and period > 0
    for d in rows:
        t = _epoch(d["_run_time"]) if "_run_time" in d else 0.0
        if not on:
            out.append(Throttled(d, t, None))
            continue
        key = json.dumps([d.get(f) for f in fields])
        held = until.get(key)
        if held is not None and t < held[0]:
            out.append(Throttled(d, t, key, by=held[1]))
            continue
        until[key] = (t + period, d)
        out.append(Throttled(d, t, key))
    return out


def _epoch(iso: str) -> float:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def place(names: Sequence[str], durations: dict[str, float], start: datetime, hours: int, per_scenario: int,
          seed: int) -> list[tuple[str, datetime]]:
    """Injection times: ``per_scenario`` instances of each scenario at seeded random
    seconds of the window (minus the scenario's own length), independent of the bins."""
    rng = random.Random(f"evaluate-placement:{seed}")
    out = []
    for name in names:
        room = max(0.0, hours * 3600 - durations[name] - 60)
        for _ in range(per_scenario):
            out.append((name, start + timedelta(seconds=rng.randrange(0, int(room) + 1))))
    return out


class _Coverage:
    """Whether a time lies in some replayed run window of a detection (for ``outside_window``)."""

    def __init__(self, spec: Any, lo: float, now: float):
        from smguard.scan.cron import Cron
        from smguard.spl.timeutil import relative_time

        self.windows = [(relative_time(r, spec.earliest), relative_time(r, spec.latest))
                        for r in Cron(spec.cron).times(lo - 8 * 86400, now)]

    def covers(self, t: float) -> bool:
        return any(a <= t < b for a, b in self.windows)


def classify_run(scores: dict[str, DetectionScore], specs: Sequence[Any], alerts: dict[str, list[dict]],
                 truth: dict[str, Any], times: dict[str, float], infos: dict[str, ScenarioInfo], seed: int,
                 now: float, failed: dict[str, str] | None = None, scored_from: str = "") -> None:
    """Score one seed's unthrottled scan results (per detection id) into ``scores``.

    ``failed`` maps the id of each detection that failed while running to its error: it
    has no results to score, so each of its expected instances is a ``failed`` miss.
    ``scored_from`` (ISO, UTC): results of runs before it are the history's: they are
    replayed through throttling (an alert then still suppresses a repeat after it) but not
    scored.
    """
    events = truth["events"]
    inst_info = {i["instance"]: i for i in truth["instances"]}
    by_scenario: dict[str, list[str]] = {}
    for inst in truth["instances"]:
        by_scenario.setdefault(inst["scenario"], []).append(inst["instance"])
    t0 = _epoch(truth["start"])
    for spec in specs:
        score = scores[spec.id]
        det = score.detection
        own = [i for sc in sorted(positive_scenarios(det)) for i in by_scenario.get(sc, [])]
        score.expected += [(seed, i) for i in own]
        own_set = set(own)
        error = (failed or {}).get(spec.id)
        if error is not None:
            score.errors.append(error)
            for i in own:
                info = inst_info[i]
                score.misses.append(Miss(seed, info["scenario"], i, info["at"], "failed", error))
            continue
        suppressed_by: dict[str, list[dict[str, Any]]] = {}
        for th in throttle(alerts.get(spec.id, []), spec.throttle_fields, spec.throttle_period):
            if scored_from and th.row["_run_time"] < scored_from:
                continue  # a run of the history before the scored days (every scan row has its run time)
            insts = _instances(th.row, events)
            log = {"seed": seed, "run_time": th.row.get("_run_time", ""), "instances": insts,
                   "suppressed": th.by is not None}
            score.alert_log.append(log)
            if th.by is not None:
                log["outcome"] = "suppressed"
                score.suppressed += 1
                for i in insts:
                    suppressed_by.setdefault(i, []).append(th.by)
                continue
            hit = own_set.intersection(insts)
            if hit:
                log["outcome"] = "caught"
                score.alerts += 1
                score.caught |= {(seed, i) for i in hit}
                continue
            scenarios = {inst_info[i]["scenario"] for i in insts}
            if scenarios and all(spec.id in infos[s].also_triggers for s in scenarios if s in infos):
                log["outcome"] = "declared"
                score.declared += 1
                continue
            kinds = {infos[s].kind if s in infos else "attack" for s in scenarios}
            cls = ("cross_fire" if "attack" in kinds else "near_miss" if "near_miss" in kinds
                   else "benign" if "benign" in kinds else "baseline")
            log["outcome"] = cls
            entity = {f: th.row.get(f) for f in spec.throttle_fields} if spec.throttle_fields else {}
            score.false_positives.append(FalsePositive(seed, cls, th.row.get("_run_time", ""), tuple(insts), entity))
        cover = None
        for i in own:
            if (seed, i) in score.caught:
                continue
            info = inst_info[i]
            if i in suppressed_by:
                bys = suppressed_by[i]
                # behind an open alert when any alert that suppressed it caught an expected instance
                by = next((b for b in bys if own_set.intersection(_instances(b, events))), bys[0])
                by_insts = _instances(by, events)
                ent = ", ".join(f"{f}={by.get(f)}" for f in spec.throttle_fields)
                held = ", ".join(by_insts) if by_insts else "baseline records"
                detail = (f"suppressed by the alert of the run at {by.get('_run_time')} on the same entity ({ent}; "
                          f"throttle {det.throttling.period if det.throttling else ''}), which held {held}")
                if own_set.intersection(by_insts):
                    score.behind.append(Miss(seed, info["scenario"], i, info["at"], "behind_open_alert", detail))
                else:
                    score.misses.append(Miss(seed, info["scenario"], i, info["at"], "throttled", detail))
                continue
            cover = cover or _Coverage(spec, t0, now)
            ts = [times[e] for e in info["eventIDs"] if e in times]
            outside = [t for t in ts if not cover.covers(t)]
            if outside:
                score.misses.append(Miss(seed, info["scenario"], i, info["at"], "outside_window",
                                         f"{len(outside)} of its {len(ts)} record(s) (first at {_iso(min(outside))}) "
                                         f"are in no replayed run window (cron {spec.cron!r}, "
                                         f"{spec.earliest}..{spec.latest}, last run before {_iso(now)})"))
            else:
                score.misses.append(Miss(seed, info["scenario"], i, info["at"], "below_threshold",
                                         f"its {len(ts)} record(s) ({_iso(min(ts)) if ts else '-'}.."
                                         f"{_iso(max(ts)) if ts else '-'}) are inside the run windows but no run's "
                                         f"results hold them"))


def _instances(row: dict[str, Any], events: dict[str, Any]) -> list[str]:
    """The scenario instances whose records a result row was computed from."""
    return sorted({events[e]["instance"] for e in row.get("_event_ids", []) if e in events})


def _scenario_lines(path: Path, wanted: set[str]) -> dict[str, tuple[float, str]]:
    """eventTime and line of the scenario records (by eventID), read back from the generated log."""
    out: dict[str, tuple[float, str]] = {}
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            m = _EVENT_ID.search(line)
            if m and m.group(1) in wanted:
                out[m.group(1)] = (_epoch(json.loads(line)["eventTime"]), line)
    return out


def explain_below_threshold(pack: Pack, score: DetectionScore, spec: Any, seed: int, truth: dict[str, Any],
                            lines: dict[str, tuple[float, str]], tmp: Path) -> None:
    """Say, for each ``below_threshold`` miss of this seed, whether the detection fires on the
    instance's own records searched in one all-time run: if it does, the schedule split the
    activity across windows or bins; if not, the instance alone does not reach the threshold."""
    from smguard.scan import scan

    ids_of = {i["instance"]: i["eventIDs"] for i in truth["instances"]}
    for k, m in enumerate(score.misses):
        if m.seed != seed or m.reason != "below_threshold":
            continue
        path = tmp / f"alone-{k}.ndjson"
        path.write_text("".join(lines[e][1] for e in ids_of[m.instance] if e in lines), encoding="utf-8")
        got = scan([spec], [str(path)], pack.context(), index=pack.settings.index,
                   sourcetype=pack.settings.sourcetype, all_time=True).alerts[0]
        alone = got.results
        why = ("it fires when its records are searched alone in one run: the schedule split them across "
               "windows or bins, none of which reaches the threshold" if alone else
               f"it fails when its records are searched alone in one run: {got.error.message}" if got.error else
               "it does not fire even on its own records searched in one run: below the threshold or not matched")
        score.misses[k] = replace(m, detail=f"{m.detail}; {why}")


def evaluate(pack: Pack, *, days: float = 1, seeds: Sequence[int] = (1,), start: str | None = None,
             per_scenario: int = 1, workdir: str | Path | None = None, progress: bool = False,
             jobs: int = 1, scenarios: Sequence[str] | None = None, history_days: float = HISTORY_DAYS) -> Evaluation:
    """Generate, inject at random offsets, scan with schedules replayed, throttle, score; once per seed.

    ``history_days`` of baseline come first, without scenarios and unscored: the pack is
    measured as installed on an account with history, as it is in production, so a
    first-seen or per-principal baseline is not judged on a cold start at midnight.
    """
    from smguard.generate import default_start, generate, list_scenarios, load_baseline, load_scenario
    from smguard.model.positions import spl_problems
    from smguard.scan import scan, specs_from_pack

    if per_scenario < 1 or days <= 0 or not seeds or history_days < 0:
        raise SmguardError("evaluate: --per-scenario and --days must be positive, --history-days not negative, "
                           "and at least one seed given")
    hours = max(1, int(round(days * 24)))
    history = int(round(history_days * 24))
    infos = scenario_infos(pack)
    names = list(scenarios) if scenarios is not None else list_scenarios(pack.root)
    baseline = load_baseline(Path(pack.root) / "generators" / "baseline.yml")
    durations = {n: load_scenario(Path(pack.root) / "generators" / "scenarios" / f"{n}.yml", baseline).duration()
                 for n in names}
    # without --start, the history begins on the generator's fixed Monday and the scored days follow it
    t_start = (datetime.fromisoformat(start.replace("Z", "+00:00")) if start
               else default_start() + timedelta(hours=history)).astimezone(UTC)
    specs = specs_from_pack(pack)
    unthrottled = [replace(s, throttle_period=0.0) for s in specs]
    scores = {d.id: DetectionScore(d) for d in pack.detections}
    records = instances = 0
    placements: list[dict[str, Any]] = []
    for seed in seeds:
        with tempfile.TemporaryDirectory(prefix="smguard-eval-") as tmp:
            out = Path(workdir) / f"evaluate-seed{seed}.ndjson" if workdir else Path(tmp) / "evaluate.ndjson"
            out.parent.mkdir(parents=True, exist_ok=True)
            placed = place(names, durations, t_start, hours, per_scenario, seed)
            generate(baseline=baseline, start=t_start - timedelta(hours=history), hours=history + hours, seed=seed,
                     scenarios=placed, fmt="ndjson", out=out, pack_root=pack.root, progress=progress)
            truth = json.loads(Path(f"{out}.truth.json").read_text())
            end = _epoch(truth["start"]) + (history + hours) * 3600
            now = end + 3600
            result = scan(unthrottled, [str(out)], pack.context(), index=pack.settings.index,
                          sourcetype=pack.settings.sourcetype, now=now, progress=progress, jobs=jobs)
            alerts = {a.spec.id: a.results for a in result.alerts}
            failed = {a.spec.id: str(spl_problems(pack, scores[a.spec.id].detection, a.error, named=True)[0])
                      for a in result.alerts if a.error is not None}
            lines = _scenario_lines(out, set(truth["events"]))
            classify_run(scores, specs, alerts, truth, {e: t for e, (t, _) in lines.items()}, infos, seed, now,
                         failed, scored_from=_iso(t_start.timestamp()))
            for spec in specs:
                explain_below_threshold(pack, scores[spec.id], spec, seed, truth, lines, Path(tmp))
        records += result.events
        instances += len(truth["instances"])
        placements += [{"seed": seed, "scenario": i["scenario"], "instance": i["instance"], "at": i["at"]}
                       for i in truth["instances"]]
    claimed = set().union(*(positive_scenarios(d) for d in pack.detections)) if pack.detections else set()
    unclaimed = sorted({n for n in names if infos[n].kind == "attack"} - claimed)
    ordered = sorted(scores.values(), key=lambda s: (s.detection.area, s.detection.name))
    return Evaluation(list(seeds), per_scenario, days, _iso(t_start.timestamp()), records, instances, ordered,
                      unclaimed, placements, {n: infos[n] for n in names}, history_days)


def table(ev: Evaluation, *, false_positives: bool = True) -> str:
    """The Markdown report: one row per detection, totals, then every miss and (unless
    ``false_positives`` is false) every false positive."""
    lines = [
        "| area | detection | expected | caught | behind open alert | missed | throttled repeats | declared | "
        "FP baseline | FP benign | FP near miss | FP cross-fire |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in ev.scores:
        name = f"{s.detection.name} **(failed)**" if s.errors else s.detection.name
        lines.append(f"| {s.detection.area} | {name} | {len(s.expected)} | {len(s.caught)} | "
                     f"{len(s.behind)} | {len(s.misses)} | {s.suppressed} | {s.declared} | "
                     + " | ".join(str(s.fp_count(c)) for c in FP_CLASSES) + " |")
    t = ev.to_json()["totals"]
    fps = t["false_positives"]
    lines += [
        "",
        f"Seeds {', '.join(map(str, ev.seeds))}; {ev.days:g} day(s) each from {ev.start}"
        + (f", after {ev.history_days:g} day(s) of unscored history" if ev.history_days else "")
        + f"; {ev.per_scenario} "
        f"instance(s) of every scenario at random offsets; {ev.records} records"
        + (" (the history's included)" if ev.history_days else "") + f", {ev.instances} instances. "
        f"Recall {t['caught']}/{t['expected']} ({t['behind_open_alert']} more behind an open alert of the same "
        f"detection on the same entity, {t['missed']} missed); false positives: baseline {fps['baseline']}, benign {fps['benign']}, "
        f"near miss {fps['near_miss']}, cross-fire {fps['cross_fire']}; {t['suppressed']} alert(s) suppressed by "
        f"throttling; {t['declared']} declared cross-fire(s).",
    ]
    if ev.unclaimed:
        lines.append(f"Attack scenarios no detection claims in its tests: {', '.join(ev.unclaimed)}.")
    broken = [s for s in ev.scores if s.errors]
    if broken:
        lines += ["", f"Failed while running ({len(broken)} detection(s); the others were scored):", ""]
        for s in broken:
            n = sum(1 for m in s.misses if m.reason == "failed")
            lines += [f"- {e}" for e in dict.fromkeys(s.errors)]
            if n:
                lines.append(f"  ({n} expected instance(s) counted as missed)")
    misses = [(s, m) for s in ev.scores for m in s.misses if m.reason != "failed"]
    if misses:
        lines += ["", "Missed:", ""]
        lines += [f"- {s.detection.name}: seed {m.seed} `{m.instance}` at {m.at}: **{m.reason}** ({m.detail})"
                  for s, m in misses]
    behind = [(s, m) for s in ev.scores for m in s.behind]
    if behind:  # in the README too: not counted as misses, so each one is shown to be audited
        lines += ["", "Behind an open alert (not alerted again by design; not missed):", ""]
        lines += [f"- {s.detection.name}: seed {m.seed} `{m.instance}` at {m.at} ({m.detail})" for s, m in behind]
    fpl = [(s, f) for s in ev.scores for f in s.false_positives]
    if fpl and false_positives:
        lines += ["", "False positives:", ""]
        for s, f in fpl:
            on = ", ".join(f"`{i}`" for i in f.instances) or "baseline records only"
            ent = ", ".join(f"{k}={v}" for k, v in f.entity.items())
            lines.append(f"- {s.detection.name}: seed {f.seed} run {f.run_time}: **{f.cls}** on {on}"
                         + (f" ({ent})" if ent else ""))
    return "\n".join(lines)


README_SETTINGS = {"seed": 1, "seeds": 3, "per_scenario": 3, "days": 1.0}
"""What the README's evaluate block is made with (also what CI runs)."""


def readme_command(ev: Evaluation) -> str:
    """The command that rewrites the README block with this evaluation's settings."""
    return (f"smguard evaluate --seed {ev.seeds[0]} --seeds {len(ev.seeds)} --per-scenario {ev.per_scenario} "
            f"--days {ev.days:g} --readme README.md")


def readme_text(ev: Evaluation) -> str:
    """The README block: the command that made it, then the report."""
    return (f"Generated by `{readme_command(ev)}` (CI fails when it is stale: `.ci/run` evaluates with "
            f"`--check-readme README.md`); every false positive, by class and with its instances, is listed by "
            f"the same command without `--readme`.\n\n{table(ev, false_positives=False)}")


def readme_is_current(text: str, ev: Evaluation) -> bool:
    """Whether ``text`` (a README) holds exactly the block this evaluation would write.

    The block names its own command, so a block made with other settings is stale too. CI runs
    the README's settings once and checks with this (the test suite does not re-run a 3-seed
    evaluation: that alone took two of its minutes)."""
    from smguard.testing.coverage import readme_block

    return "<!-- evaluate:start -->" in text and readme_block(text, "evaluate") == readme_text(ev)
