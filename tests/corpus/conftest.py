"""One generated day and one evaluation of the whole corpus for this package (the slow part),
done in a child process: the day's events (about 0.6 GB) never enter the test process."""

from __future__ import annotations

import pytest

from . import escu


@pytest.fixture(scope="package")
def corpus() -> dict:
    try:
        return escu.load_corpus()
    except escu.CorpusMissing as exc:
        pytest.fail(str(exc), pytrace=False)


@pytest.fixture(scope="package")
def evaluated(corpus, tmp_path_factory) -> tuple[escu.Day, dict[str, escu.Outcome], escu.DayFacts]:
    return escu.evaluate_elsewhere(tmp_path_factory.mktemp("escu"))


@pytest.fixture(scope="package")
def day(evaluated) -> escu.Day:
    """The generated day's file, ground truth and scenario kinds (its events stayed in the child)."""
    return evaluated[0]


@pytest.fixture(scope="package")
def outcomes(evaluated) -> dict[str, escu.Outcome]:
    return evaluated[1]


@pytest.fixture(scope="package")
def facts(evaluated) -> escu.DayFacts:
    return evaluated[2]
