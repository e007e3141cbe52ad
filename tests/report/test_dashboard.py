"""The app's dashboard: well-formed Simple XML whose every search our engine parses and runs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from smguard.compile.confs import rule_name
from smguard.package.extras import area_eval, dashboard, queries
from smguard.spl import run


def test_dashboard_is_well_formed_and_every_search_runs(pack):
    root = ET.fromstring(dashboard(pack))
    found = [q.text for q in root.iter("query")]
    assert sorted(found) == sorted(queries(pack).values())
    ctx = pack.context()
    for spl in found:
        run(spl, [], ctx, now=1.8e9)  # parses, plans and runs (on no events)


def test_area_is_computed_for_every_detection(pack):
    det = pack.detections[0]
    events = [{"_time": 1.7e9, "index": "notable", "source": rule_name(pack, det)},
              {"_time": 1.7e9, "index": "notable", "source": "Some Other Rule"}]
    rows = run(f"search * | {area_eval(pack)} | table source guardrail_area", events, pack.context(), now=1.8e9).rows
    assert [r["guardrail_area"] for r in rows] == [det.area, "unknown"]


def test_rule_names_match_the_correlation_searches(pack):
    from smguard.compile.confs import savedsearches_conf

    conf = savedsearches_conf(pack)
    for det in pack.detections:
        assert f"[{rule_name(pack, det)}]" in conf
