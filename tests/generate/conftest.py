"""Shared fixtures: one baseline, one generated day and the facts of a weekday-and-weekend stretch,
built once for this package (they are the slow part) and dropped when its tests are done.

Memory: a day of baseline records held as dicts costs about 0.5 GB, so nothing longer than
the working hours of a day is ever held; the Friday-to-Sunday stretch is summarised while it
streams.
"""

from __future__ import annotations

import collections
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from smguard.generate import baseline_records, iter_baseline, load_baseline, scenario_records

ROOT = Path(__file__).resolve().parents[2]

# The scenarios this test suite owns (names are contracts for detections). Other scenario
# files in generators/scenarios belong to the detections that use them and are tested there.
OWNED = (
    "manual_endpoint_deployment", "pipeline_endpoint_deployment", "training_output_to_unapproved_bucket",
    "training_output_to_approved_bucket", "gpu_notebook_instance", "approved_notebook_instance",
    "stolen_access_key_sagemaker", "sso_user_notebook", "notebook_direct_internet_access", "notebook_vpc_only",
    "cloudtrail_stop_logging", "cloudtrail_trail_review", "notebook_create_then_presign", "lifecycle_persistence",
    "job_role_changes_iam", "bulk_s3_read", "cloudwatch_log_group_deleted", "security_services_impaired",
    "s3_bucket_protection_weakened", "iam_policy_allow_all", "console_login_bruteforce", "access_key_created",
)


@pytest.fixture(scope="package")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="package")
def baseline():
    return load_baseline(ROOT / "generators/baseline.yml")


@pytest.fixture(scope="package")
def day() -> list[dict]:
    """A working day (Tuesday, 06:00 to 18:00) of baseline records: the hours people work and
    the pipelines and services run; the nights and weekends are the streamed ``week``'s.
    Twelve hours, not 24, so the package holds about 0.25 GB of dicts, not 0.5 (the suite's
    processes keep their peak)."""
    return baseline_records(12, seed=7, start=dt.datetime(2026, 11, 24, 6, tzinfo=dt.UTC), pack_root=ROOT)


@dataclass
class Stretch:
    """What the realism tests need from several days of baseline, gathered in one streaming pass."""

    hour_counts: collections.Counter = field(default_factory=collections.Counter)   # (weekday, hour) -> records
    weekdays: set[int] = field(default_factory=set)                                   # weekdays present (0 = Monday)
    people: collections.Counter = field(default_factory=collections.Counter)        # weekend? -> SSO people's records
    services: collections.Counter = field(default_factory=collections.Counter)      # weekend? -> AWS services' records
    writes_naming: collections.Counter = field(default_factory=collections.Counter)  # endpoint named in a write
    endpoint_ids: collections.Counter = field(default_factory=collections.Counter)  # vpcEndpointId -> records
    records: int = 0

    def days(self, weekend: bool) -> int:
        return sum(1 for wd in self.weekdays if (wd >= 5) == weekend)


@pytest.fixture(scope="package")
def week(baseline) -> Stretch:
    """Friday to Sunday (72 hours) of baseline, summarised as it streams (never held whole)."""
    endpoints = baseline.data["network"]["vpc_endpoints"]
    watched = sorted(set(endpoints.values()))
    out = Stretch()
    start = dt.datetime(2026, 11, 27, tzinfo=dt.UTC)
    for r in iter_baseline(baseline, start, 72, 11):
        out.records += 1
        t = dt.datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ")
        wd = t.weekday()
        out.weekdays.add(wd)
        out.hour_counts[(wd, t.hour)] += 1
        weekend = wd >= 5
        if "AWSReservedSSO_" in r["userIdentity"].get("arn", ""):
            out.people[weekend] += 1
        elif r["userIdentity"]["type"] == "AWSService" or "aws-service-role" in str(r["userIdentity"]):
            out.services[weekend] += 1
        if not r["readOnly"]:
            text = repr(r)
            for v in watched:
                if v in text:
                    out.writes_naming[v] += 1
        if r.get("vpcEndpointId"):
            out.endpoint_ids[r["vpcEndpointId"]] += 1
    return out


@pytest.fixture(scope="package")
def scenarios() -> dict[str, list[dict]]:
    return {name: scenario_records(name, seed=3, pack_root=ROOT) for name in OWNED}
