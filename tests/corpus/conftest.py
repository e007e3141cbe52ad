"""One generated day and one evaluation of the whole corpus for this package (the slow part),
dropped when its tests are done: the day's events are about 0.6 GB."""

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
def day(tmp_path_factory) -> escu.Day:
    return escu.build_day(tmp_path_factory.mktemp("escu"))


@pytest.fixture(scope="package")
def outcomes(corpus, day) -> dict[str, escu.Outcome]:
    return escu.evaluate(corpus, day)
