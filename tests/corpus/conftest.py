"""One generated day and one evaluation of the whole corpus per test session (the slow part)."""

from __future__ import annotations

import pytest

from . import escu


@pytest.fixture(scope="session")
def corpus() -> dict:
    try:
        return escu.load_corpus()
    except escu.CorpusMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="session")
def day(tmp_path_factory) -> escu.Day:
    return escu.build_day(tmp_path_factory.mktemp("escu"))


@pytest.fixture(scope="session")
def outcomes(corpus, day) -> dict[str, escu.Outcome]:
    return escu.evaluate(corpus, day)
