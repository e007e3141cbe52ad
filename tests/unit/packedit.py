"""Helpers for tests that break a copy of the pack and read the problems `check_pack` reports."""

from __future__ import annotations

from pathlib import Path

from smguard.model import check_pack


def problems(root: Path) -> list[str]:
    _, found = check_pack(root)
    return [str(p) for p in found]


def edit(root: Path, rel: str, old: str, new: str) -> None:
    path = root / rel
    text = path.read_text()
    assert old in text, f"{old!r} not in {rel}"
    path.write_text(text.replace(old, new, 1))


def line_of(root: Path, rel: str, needle: str) -> int:
    for i, line in enumerate((root / rel).read_text().splitlines(), start=1):
        if needle in line:
            return i
    raise AssertionError(needle)
