"""Shared fixtures: one baseline and one generated day, built once per session (they are the slow part)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from smguard.generate import baseline_records, list_scenarios, load_baseline, scenario_records

ROOT = Path(__file__).resolve().parents[2]


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
    return {name: scenario_records(name, seed=3, pack_root=ROOT) for name in list_scenarios(ROOT)}
