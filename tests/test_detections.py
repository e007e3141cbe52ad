"""Every detection's own test cases, one pytest item each (``pytest -k <detection>``).

Also the proof that those tests can fail: each positive case fails when the search
returns nothing, and each near-miss fails when its clause (allow-list, selection, ...)
is removed from the detection.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from smguard.model import snake, usable_pack
from smguard.testing.expect import check
from smguard.testing.mutate import silenced, without_clause
from smguard.testing.runner import (
    case_events,
    case_now,
    forget_baselines,
    required_fields,
    run_case,
    run_search,
)

ROOT = Path(__file__).resolve().parents[1]
PACK, PROBLEMS = usable_pack(ROOT)
CASES = [(det, case) for det in sorted(PACK.detections, key=lambda d: d.name) for case in det.tests]
IDS = [f"{snake(det.name)}::{case['name']}" for det, case in CASES]


@pytest.fixture(scope="module", autouse=True)
def _release_baselines():
    """The cases share cached baseline events (a full day's: about 0.5 GB); free them after."""
    yield
    forget_baselines()


@pytest.mark.parametrize("det,case", CASES, ids=IDS)
def test_case(det, case):
    result = run_case(PACK, det, case)
    assert result.ok, f"{det.path}: {case['name']}: " + "; ".join(result.failures)


POSITIVE = [(d, c) for d, c in CASES if c["expect"]["results"] != 0]
NEAR_MISS = [(d, c) for d, c in CASES if "near_miss_of" in c]


@pytest.mark.parametrize("det,case", POSITIVE, ids=[f"{snake(d.name)}::{c['name']}" for d, c in POSITIVE])
def test_positive_case_fails_when_search_returns_nothing(det, case):
    rows, _ = run_search(PACK, silenced(PACK, det), case_events(PACK, case), case_now(PACK, det, case))
    assert rows == []
    assert check(rows, case["expect"], required_fields(det)), "the case would pass with no results"


@pytest.mark.parametrize("det,case", NEAR_MISS, ids=[f"{snake(d.name)}::{c['name']}" for d, c in NEAR_MISS])
def test_near_miss_fails_without_its_clause(det, case):
    mutant = without_clause(PACK, det, case["near_miss_of"])
    assert mutant != PACK.compiled(det).spl
    rows, _ = run_search(PACK, mutant, case_events(PACK, case), case_now(PACK, det, case))
    assert check(rows, case["expect"], required_fields(det)), (
        f"{det.path}: near-miss {case['name']!r} stays silent even without {case['near_miss_of']}")


def test_every_detection_has_a_positive_and_a_negative_case():
    for det in PACK.detections:
        kinds = {c["expect"]["results"] == 0 for c in det.tests}
        assert kinds == {True, False}, det.path


def test_pack_has_no_problems():
    assert [str(p) for p in PROBLEMS] == []
