"""Splunk's own ESCU CloudTrail searches fire on the Splunk-compatibility scenarios and stay
silent on the baseline and the near misses (run through smguard's offline SPL engine)."""

from __future__ import annotations

import datetime as dt
import json
import re
from functools import cache
from pathlib import Path

import pytest

CORPUS = Path("/work/shared/corpus/escu_cloudtrail_searches.json")
pytestmark = pytest.mark.skipif(not CORPUS.exists(), reason="shared ESCU corpus not available")

FIRES = [
    ("cloudwatch_log_group_deleted", "AWS Defense Evasion Delete CloudWatch Log Group"),
    ("security_services_impaired", "AWS Defense Evasion Impair Security Services"),
    ("s3_bucket_protection_weakened", "AWS Disable Bucket Versioning"),
    # reads requestParameters{}.LifecycleConfiguration{}...: real records hold objects there, which
    # smguard's spath passes through for '{}' (see docs/spl.md)
    ("s3_bucket_protection_weakened", "AWS Defense Evasion PutBucketLifecycle"),
    ("iam_policy_allow_all", "AWS Create Policy Version to allow all resources"),
    ("console_login_bruteforce", "AWS High Number Of Failed Authentications From Ip"),
    ("console_login_bruteforce", "AWS Multiple Users Failing To Authenticate From Ip"),
    ("access_key_created", "AWS CreateAccessKey"),
    ("cloudtrail_stop_logging", "AWS Defense Evasion Stop Logging Cloudtrail"),
    ("cloudtrail_stop_logging", "AWS Defense Evasion Delete Cloudtrail"),
]
SILENT = [
    ("cloudtrail_trail_review", "AWS Defense Evasion Stop Logging Cloudtrail"),
    ("cloudtrail_trail_review", "AWS Defense Evasion Delete Cloudtrail"),
]
NOW = dt.datetime(2026, 11, 25, tzinfo=dt.UTC).timestamp()


@cache
def _corpus():
    from smguard.spl import MacroDef, SearchContext

    data = json.loads(CORPUS.read_text())
    macros = {}
    for name, m in data["macros"].items():
        md = MacroDef(name, m["definition"], tuple(m.get("arguments", ())))
        macros[md.stanza] = md
    for s in data["searches"]:
        for f in re.findall(r"`(\w+_filter)`", s["search"]):
            macros[f] = MacroDef(f, "search *")
    return {s["name"]: s["search"] for s in data["searches"]}, SearchContext(macros=macros)


def _rows(search: str, records: list[dict]) -> int:
    from smguard.cloudtrail.fields import to_event
    from smguard.spl import run

    searches, ctx = _corpus()
    return len(run(searches[search], [to_event(r) for r in records], ctx, now=NOW).rows)


@pytest.mark.parametrize(("scenario", "search"), FIRES)
def test_escu_search_fires_on_scenario(scenarios, scenario, search):
    assert _rows(search, scenarios[scenario]) >= 1


@pytest.mark.parametrize(("scenario", "search"), SILENT)
def test_escu_search_silent_on_near_miss(scenarios, scenario, search):
    assert _rows(search, scenarios[scenario]) == 0


@pytest.mark.parametrize("search", sorted({s for _, s in FIRES}))
def test_escu_search_silent_on_baseline(day, search):
    assert _rows(search, day) == 0
