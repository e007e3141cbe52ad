"""``smguard evaluate``: random placement, throttling kept visible, every miss named with its
reason, false positives by class, the JSON document, and the README block kept current."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.errors import SmguardError
from smguard.model import usable_pack
from smguard.scan import scan, specs_from_pack
from smguard.testing.coverage import readme_block
from smguard.testing.evaluate import (
    FP_CLASSES,
    MISS_REASONS,
    README_SETTINGS,
    SCHEMA_ID,
    DetectionScore,
    ScenarioInfo,
    classify_run,
    evaluate,
    place,
    readme_is_current,
    readme_text,
    scenario_infos,
    throttle,
)

BUDGET = "Budget Deleted Or Loosened"  # positive scenario budget_deleted_and_raised


def _budget_throttled_daily(pack):
    """BUDGET's spec throttled for a day on budget_name alone. The pack throttles it for the
    schedule's hour on (principal, budget_name), which suppresses nothing across hourly runs;
    these tests are about suppression, so they give it a throttle that does."""
    return replace(_spec(pack, BUDGET), throttle_fields=("budget_name",), throttle_period=86400.0)


@pytest.fixture(scope="module")
def pack(request):
    # The repository root from this file: `pytest` (the README's command) does not put the
    # working directory on sys.path, so `tests.conftest` is not importable there.
    p, _ = usable_pack(Path(__file__).resolve().parents[2])
    return p


def _spec(pack, name):
    return next(s for s in specs_from_pack(pack) if s.name == name)


def test_placement_is_seeded_random_and_not_aligned_to_bins():
    start = datetime(2026, 11, 23, tzinfo=UTC)
    names = [f"s{i}" for i in range(40)]
    a = place(names, dict.fromkeys(names, 600.0), start, 24, 3, seed=1)
    assert a == place(names, dict.fromkeys(names, 600.0), start, 24, 3, seed=1)
    assert a != place(names, dict.fromkeys(names, 600.0), start, 24, 3, seed=2)
    assert len(a) == 120 and {n for n, _ in a} == set(names)
    offsets = [(t - start).total_seconds() for _, t in a]
    assert all(0 <= o <= 24 * 3600 - 600 - 60 for o in offsets)
    assert len({o % 60 for o in offsets}) > 30 and len({o % 3600 // 60 for o in offsets}) > 30


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 48)), max_size=40), st.integers(1, 10))
@settings(max_examples=200, deadline=None)
def test_throttle_sends_one_alert_per_entity_per_period(rows, period_h):
    rows = sorted(rows, key=lambda r: r[1])
    data = [{"k": f"e{k}", "_run_time": f"2026-11-{23 + h // 24:02d}T{h % 24:02d}:00:00Z"} for k, h in rows]
    out = throttle(data, ["k"], period_h * 3600.0)
    assert [t.row for t in out] == data
    sent = [t for t in out if t.by is None]
    for t in out:
        if t.by is not None:  # suppressed by an alert on the same entity, sent less than a period before
            assert t.by["k"] == t.row["k"] and 0 <= t.run_t - next(s.run_t for s in sent if s.row is t.by) < period_h * 3600
    for a in sent:
        for b in sent:
            if a is not b and a.row["k"] == b.row["k"]:
                assert abs(a.run_t - b.run_t) >= period_h * 3600
    assert all(t.by is None for t in throttle(data, [], 3600.0) + throttle(data, ["k"], 0.0))


def test_throttle_replay_matches_the_scan(pack, tmp_path):
    """The scan run with throttling off, then :func:`throttle`, sends exactly what the scan sends."""
    from smguard.generate import generate

    out = tmp_path / "two.ndjson"
    generate(start="2026-11-24T00:00:00Z", hours=6, seed=3, pack_root=pack.root, out=out,
             scenarios=[("budget_deleted_and_raised", "2026-11-24T00:20:07Z"),
                        ("budget_deleted_and_raised", "2026-11-24T03:41:53Z")])
    spec = _budget_throttled_daily(pack)
    now = datetime(2026, 11, 24, 7, tzinfo=UTC).timestamp()
    kw = dict(index=pack.settings.index, sourcetype=pack.settings.sourcetype, now=now)
    on = scan([spec], [str(out)], pack.context(), **kw).alerts[0]
    off = scan([replace(spec, throttle_period=0.0)], [str(out)], pack.context(), **kw).alerts[0]
    replay = throttle(off.results, spec.throttle_fields, spec.throttle_period)
    assert [t.row for t in replay if t.by is None] == on.results
    assert sum(t.by is not None for t in replay) == on.suppressed >= 1


def _truth(instances):
    events = {}
    for inst in instances:
        for e in inst["eventIDs"]:
            events[e] = {"scenario": inst["scenario"], "instance": inst["instance"], "step": "x"}
    return {"start": "2026-11-24T00:00:00Z", "instances": instances, "events": events}


def _inst(scenario, n, ids, kind="attack", at="2026-11-24T01:00:00Z"):
    return {"scenario": scenario, "instance": f"{scenario}#{n}", "at": at, "kind": kind, "eventIDs": ids}


def test_every_outcome_is_classified_and_every_miss_named(pack):
    spec = _budget_throttled_daily(pack)
    truth = _truth([
        _inst("budget_deleted_and_raised", 1, ["a1"]),
        _inst("budget_deleted_and_raised", 2, ["a2"], at="2026-11-24T03:00:00Z"),   # behind #1's open alert
        _inst("budget_deleted_and_raised", 3, ["a3"], at="2026-11-24T05:00:00Z"),   # in windows, no result
        _inst("budget_deleted_and_raised", 4, ["a4"], at="2026-11-30T05:00:00Z"),   # after the last run
        _inst("budget_deleted_and_raised", 5, ["a5"], at="2026-11-24T05:00:00Z"),   # behind a baseline FP: missed
        _inst("budget_limit_adjusted_within_plan", 1, ["n1"], kind="near_miss"),
        _inst("approved_notebook_instance", 1, ["b1"], kind="benign"),
        _inst("cloudtrail_stop_logging", 1, ["c1"]),
        _inst("guardduty_detector_deleted", 1, ["d1"]),
    ])
    times = {"a1": 1, "a2": 3, "a3": 5, "a4": 24 * 6 + 5, "a5": 5, "n1": 1, "b1": 1, "c1": 1, "d1": 1}
    t0 = datetime(2026, 11, 24, tzinfo=UTC).timestamp()
    times = {k: t0 + h * 3600 + 17 for k, h in times.items()}
    row = lambda ids, run, b: {"_event_ids": ids, "_run_time": run, "budget_name": b}  # noqa: E731
    alerts = {spec.id: [
        row(["a1"], "2026-11-24T02:00:00Z", "ml"),
        row(["a2"], "2026-11-24T04:00:00Z", "ml"),
        row(["n1"], "2026-11-24T04:00:00Z", "n"),
        row(["b1"], "2026-11-24T04:00:00Z", "b"),
        row(["c1"], "2026-11-24T04:00:00Z", "c"),
        row(["d1"], "2026-11-24T04:00:00Z", "d"),
        row(["zz"], "2026-11-24T04:00:00Z", "z"),
        row(["a1"], "2026-11-24T05:00:00Z", "ml"),  # a repeat: suppressed, not a miss
        row(["a5"], "2026-11-24T06:00:00Z", "z"),  # suppressed by the baseline alert on "z"
    ]}
    infos = {
        "budget_deleted_and_raised": ScenarioInfo("budget_deleted_and_raised", "attack", frozenset()),
        "budget_limit_adjusted_within_plan": ScenarioInfo("budget_limit_adjusted_within_plan", "near_miss", frozenset()),
        "approved_notebook_instance": ScenarioInfo("approved_notebook_instance", "benign", frozenset()),
        "cloudtrail_stop_logging": ScenarioInfo("cloudtrail_stop_logging", "attack", frozenset()),
        "guardduty_detector_deleted": ScenarioInfo("guardduty_detector_deleted", "attack", frozenset({spec.id})),
    }
    det = next(d for d in pack.detections if d.id == spec.id)
    scores = {spec.id: DetectionScore(det)}
    classify_run(scores, [spec], alerts, truth, times, infos, seed=7, now=t0 + 86400 + 3600)
    s = scores[spec.id]
    assert len(s.expected) == 5 and s.caught == {(7, "budget_deleted_and_raised#1")} and s.alerts == 1
    assert s.suppressed == 3 and s.declared == 1
    # held back by the throttle of the alert that caught #1 on the same budget: the SOC has it open
    (behind,) = s.behind
    assert (behind.instance, behind.reason) == ("budget_deleted_and_raised#2", "behind_open_alert")
    assert "budget_name=ml" in behind.detail and "budget_deleted_and_raised#1" in behind.detail
    reasons = {m.instance: m.reason for m in s.misses}
    assert reasons == {"budget_deleted_and_raised#5": "throttled", "budget_deleted_and_raised#3": "below_threshold",
                       "budget_deleted_and_raised#4": "outside_window"}
    # held back by a false positive on the same entity: noise an attacker hides behind, a miss
    throttled = next(m for m in s.misses if m.reason == "throttled")
    assert "budget_name=z" in throttled.detail and "baseline records" in throttled.detail
    doc = s.to_json(1.0)
    assert (doc["caught"], doc["behind_open_alert"], doc["missed"]) == (1, 1, 3)
    assert all(m.seed == 7 and m.at for m in s.misses)
    assert {f.cls: f.instances for f in s.false_positives} == {
        "near_miss": ("budget_limit_adjusted_within_plan#1",), "benign": ("approved_notebook_instance#1",),
        "cross_fire": ("cloudtrail_stop_logging#1",), "baseline": ()}
    assert next(f for f in s.false_positives if f.cls == "baseline").entity == {"budget_name": "z"}


def test_history_runs_throttle_but_are_not_scored(pack):
    """Runs before ``scored_from`` are the account's history: their alerts are not scored (a
    baseline alert then is no false positive of the evaluation), but they still suppress a
    repeat on the same entity after them, as the scheduler would."""
    spec = _budget_throttled_daily(pack)
    truth = _truth([_inst("budget_deleted_and_raised", 1, ["a1"], at="2026-11-24T03:00:00Z"),
                    _inst("budget_deleted_and_raised", 2, ["a2"], at="2026-11-24T05:00:00Z")])
    t0 = datetime(2026, 11, 24, tzinfo=UTC).timestamp()
    times = {"a1": t0 + 3 * 3600 + 17, "a2": t0 + 5 * 3600 + 17}
    row = lambda ids, run, b: {"_event_ids": ids, "_run_time": run, "budget_name": b}  # noqa: E731
    alerts = {spec.id: [
        row(["h1"], "2026-11-23T23:00:00Z", "z"),  # history: a baseline alert on budget z
        row(["a1"], "2026-11-24T04:00:00Z", "ml"),
        row(["a2"], "2026-11-24T06:00:00Z", "z"),  # held back by the history's alert on z
    ]}
    infos = {"budget_deleted_and_raised": ScenarioInfo("budget_deleted_and_raised", "attack", frozenset())}
    det = next(d for d in pack.detections if d.id == spec.id)
    scores = {spec.id: DetectionScore(det)}
    classify_run(scores, [spec], alerts, truth, times, infos, seed=1, now=t0 + 86400,
                 scored_from="2026-11-24T00:00:00Z")
    s = scores[spec.id]
    assert s.false_positives == [] and s.caught == {(1, "budget_deleted_and_raised#1")}
    assert [(m.instance, m.reason) for m in s.misses] == [("budget_deleted_and_raised#2", "throttled")]
    assert [a["run_time"] for a in s.alert_log] == ["2026-11-24T04:00:00Z", "2026-11-24T06:00:00Z"]


def test_unknown_detection_in_also_triggers_is_a_located_error(pack_copy):
    path = pack_copy / "generators" / "scenarios" / "cloudtrail_stop_logging.yml"
    path.write_text(path.read_text() + "also_triggers: [No Such Detection]\n")
    p, _ = usable_pack(pack_copy)
    with pytest.raises(SmguardError) as exc:
        scenario_infos(p)
    (problem,) = exc.value.problems
    assert str(problem).startswith(f"{path}:") and "No Such Detection" in str(problem)


def test_declared_cross_fires_are_read_by_name_or_id(pack_copy):
    path = pack_copy / "generators" / "scenarios" / "cloudtrail_stop_logging.yml"
    path.write_text(path.read_text() + f"also_triggers: [{BUDGET}]\n")
    p, _ = usable_pack(pack_copy)
    info = scenario_infos(p)["cloudtrail_stop_logging"]
    assert info.kind == "attack" and info.also_triggers == {p.detection(BUDGET).id}


@pytest.fixture(scope="module")
def small_ev(pack):
    """Two seeds, three scenarios, three hours after three of history: the evaluation the
    document tests share (small: it proves the document's shape, not the pack's recall)."""
    return evaluate(pack, days=0.125, seeds=[1, 2], per_scenario=2, history_days=0.125,
                    scenarios=["budget_deleted_and_raised", "budget_limit_adjusted_within_plan", "bulk_s3_read"])


def test_json_document_is_stable(small_ev):
    ev = small_ev
    doc = json.loads(json.dumps(ev.to_json()))
    assert doc["schema"] == SCHEMA_ID
    # the three scored hours follow three hours of history that begin on the fixed Monday
    assert doc["parameters"] == {"seeds": [1, 2], "per_scenario": 2, "days": 0.125, "start": "2026-11-23T03:00:00Z",
                                 "history_days": 0.125}
    assert all("2026-11-23T03:00:00Z" <= p["at"] < "2026-11-23T06:00:00Z" for p in ev.placements), \
        "scenarios land in the scored hours only"
    assert set(doc["totals"]) == {"records", "scenario_instances", "expected", "caught", "behind_open_alert",
                                  "missed", "recall",
                                  "suppressed", "declared", "false_positives", "baseline_alerts_per_day"}
    assert doc["totals"]["scenario_instances"] == 12
    assert set(doc["totals"]["false_positives"]) == set(FP_CLASSES)
    budget = next(d for d in doc["detections"] if d["name"] == BUDGET)
    assert budget["expected"] == 4 and budget["caught"] + budget["behind_open_alert"] + budget["missed"] == 4
    assert set(budget["missed_by_reason"]) == set(MISS_REASONS)
    assert set(budget) >= {"id", "name", "area", "expected", "caught", "missed", "alerts", "suppressed", "declared",
                           "false_positives", "misses", "false_positive_alerts", "baseline_alerts_per_day"}
    scen = {x["name"]: x for x in doc["scenarios"]}
    assert set(scen) == {"budget_deleted_and_raised", "budget_limit_adjusted_within_plan", "bulk_s3_read"}
    assert scen["budget_limit_adjusted_within_plan"]["kind"] == "near_miss"
    assert [(i["seed"], i["instance"]) for i in scen["bulk_s3_read"]["instances"]] == [
        (1, "bulk_s3_read#1"), (1, "bulk_s3_read#2"), (2, "bulk_s3_read#1"), (2, "bulk_s3_read#2")]
    assert all(i["at"].endswith("Z") for x in doc["scenarios"] for i in x["instances"])
    for m in budget["misses"]:
        assert set(m) == {"seed", "scenario", "instance", "at", "reason", "detail"} and m["reason"] in MISS_REASONS


def test_readme_check_says_stale_unless_the_block_is_exactly_this_run(small_ev):
    """CI's guard on the README's figures (`evaluate --check-readme`): current only when the
    block is byte for byte what this evaluation writes, its command included."""
    from smguard.testing.coverage import replace_block

    text = "intro\n<!-- evaluate:start -->\nold\n<!-- evaluate:end -->\nrest\n"
    assert not readme_is_current(text, small_ev)
    current = replace_block(text, "evaluate", readme_text(small_ev))
    assert readme_is_current(current, small_ev)
    assert "--seed 1 --seeds 2 --per-scenario 2 --days 0.125" in current
    assert not readme_is_current(current.replace("<!-- evaluate:end -->", "one more line\n<!-- evaluate:end -->"), small_ev)
    assert not readme_is_current("no block here", small_ev)


def test_ci_checks_the_readme_block_with_the_readme_settings(repo_root):
    """The README block's settings are the ones CI evaluates with, and CI checks the block."""
    ci = (repo_root / ".ci/run").read_text()
    s = README_SETTINGS
    assert (f"smguard evaluate --seed {s['seed']} --seeds {s['seeds']} --per-scenario {s['per_scenario']} "
            f"--days {s['days']:g}") in ci
    assert "--check-readme README.md" in ci
    block = readme_block((repo_root / "README.md").read_text(), "evaluate")
    assert block.startswith(f"Generated by `smguard evaluate --seed {s['seed']} --seeds {s['seeds']} "
                            f"--per-scenario {s['per_scenario']} --days {s['days']:g} --readme README.md`")


def test_below_threshold_misses_say_whether_the_schedule_split_the_activity(pack, tmp_path):
    """An instance inside the windows that no run caught: searched alone in one run, the detection
    fires on all of its records (the schedule split them) and not on a single one of them."""
    from smguard.generate import scenario_records
    from smguard.generate.output import dumps
    from smguard.testing.evaluate import Miss, explain_below_threshold

    spec = _spec(pack, "SageMaker Reconnaissance Burst")
    recs = scenario_records("sagemaker_enumeration_stolen_keys", seed=3, pack_root=pack.root)
    lines = {r["eventID"]: (0.0, dumps(r) + "\n") for r in recs}
    ids_ = [r["eventID"] for r in recs]
    truth = {"instances": [_inst("sagemaker_enumeration_stolen_keys", 1, ids_), _inst("sagemaker_enumeration_stolen_keys", 2, ids_[:1])]}
    det = next(d for d in pack.detections if d.id == spec.id)
    score = DetectionScore(det, misses=[
        Miss(4, "sagemaker_enumeration_stolen_keys", "sagemaker_enumeration_stolen_keys#1", "t", "below_threshold", "d"),
        Miss(4, "sagemaker_enumeration_stolen_keys", "sagemaker_enumeration_stolen_keys#2", "t", "below_threshold", "d"),
        Miss(5, "sagemaker_enumeration_stolen_keys", "sagemaker_enumeration_stolen_keys#1", "t", "below_threshold", "d"),
    ])
    explain_below_threshold(pack, score, spec, 4, truth, lines, tmp_path)
    assert "the schedule split them across windows or bins" in score.misses[0].detail
    assert "does not fire even on its own records" in score.misses[1].detail
    assert score.misses[2].detail == "d"  # another seed's miss is left alone
