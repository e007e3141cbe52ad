"""Shared records for the Sigma tests: generated activity with every scenario, and real CloudTrail.

One hour of baseline (seed 3) with every scenario of ``generators/scenarios/`` injected two
minutes apart, plus the 310 records Stratus Red Team captured from real AWS accounts
(vendored in ``tests/data/corpus/stratus_detonation_logs/``, Apache-2.0). Built once per
package (freed when its last test ends: a test worker runs other packages after it) and kept
small (about six thousand records) for the suite's memory bound.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from smguard.generate import baseline_records, list_scenarios, scenario_records
from smguard.model import Pack, load_pack

REPO = Path(__file__).resolve().parents[2]
STRATUS = REPO / "tests" / "data" / "corpus" / "stratus_detonation_logs"
SIGMAHQ = REPO / "tests" / "data" / "corpus" / "sigma_aws_cloudtrail" / "rules"
START = dt.datetime(2026, 11, 24, 8, tzinfo=dt.UTC)


@pytest.fixture(scope="package")
def pack() -> Pack:
    return load_pack(REPO)


@pytest.fixture(scope="package")
def real_records() -> list[dict]:
    records: list[dict] = []
    for path in sorted(STRATUS.glob("*.json")):
        data = json.loads(path.read_text())
        records += data["Records"] if isinstance(data, dict) else data
    assert len(records) >= 300, "the vendored Stratus captures are missing"
    return records


@pytest.fixture(scope="package")
def records(pack: Pack, real_records: list[dict]) -> list[dict]:
    out = list(baseline_records(1, seed=3, start=START))
    for i, name in enumerate(list_scenarios(pack.root)):
        out += scenario_records(name, seed=3, at=START + dt.timedelta(minutes=2 * i), pack_root=pack.root)
    return out + real_records


@pytest.fixture(scope="package")
def events(pack: Pack, records: list[dict]) -> list[dict]:
    from smguard.testing.runner import events_of

    return events_of(pack, records)
