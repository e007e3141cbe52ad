"""Shared fixtures: the repository root and a scratch copy of the pack to break."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def repo_root() -> Path:
    return ROOT


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """A writable copy of the pack (settings, detections, macros, lookups, catalog, scenarios)."""
    dst = tmp_path / "pack"
    dst.mkdir()
    for name in ("pack.yml", "guardrails.yml", "analytic_stories.yml"):
        shutil.copy(ROOT / name, dst / name)
    for name in ("detections", "macros", "lookups", "generators"):
        if (ROOT / name).exists():
            shutil.copytree(ROOT / name, dst / name)
    return dst
