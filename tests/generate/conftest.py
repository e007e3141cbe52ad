"""Shared fixtures: one baseline and one generated day, built once per session (they are the slow part)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from smguard.generate import baseline_records, load_baseline, scenario_records

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


@pytest.fixture(scope="session")
def root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def baseline():
    return load_baseline(ROOT / "generators/baseline.yml")


@pytest.fixture(scope="session")
def day() -> list[dict]:
    """A working day (Tuesday) of baseline records."""
    return baseline_records(24, seed=7, start=dt.datetime(2026, 11, 24, tzinfo=dt.UTC), pack_root=ROOT)


@pytest.fixture(scope="session")
def week() -> list[dict]:
    return baseline_records(24 * 7, seed=11, start=dt.datetime(2026, 11, 23, tzinfo=dt.UTC), pack_root=ROOT)


@pytest.fixture(scope="session")
def scenarios() -> dict[str, list[dict]]:
    return {name: scenario_records(name, seed=3, pack_root=ROOT) for name in OWNED}
