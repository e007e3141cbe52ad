"""Fixtures for the peer conformance suite, built once for its module (and freed after it): the logs, the rules
converted once with pySigma's Splunk backend, and the conformance table printed at the
end of every run that collected the suite (refusals and divergences are shown, never
hidden)."""

from __future__ import annotations

import pytest

from . import suite


@pytest.fixture(scope="module")
def logs(tmp_path_factory: pytest.TempPathFactory) -> suite.Logs:
    return suite.build_logs(tmp_path_factory.mktemp("sigma"))


@pytest.fixture(scope="module")
def conversions() -> dict[str, suite.Conversion]:
    return suite.convert_all()


@pytest.fixture(scope="module")
def outcomes(conversions: dict[str, suite.Conversion], logs: suite.Logs) -> dict[str, suite.Outcome]:
    out = suite.evaluate(conversions, logs)
    suite.LAST_TABLE[:] = suite.table(conversions, out)
    return out


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001 - pytest hook
    if suite.LAST_TABLE:
        terminalreporter.write_sep("-", "Sigma AWS CloudTrail rules via pySigma's Splunk backend")
        for line in suite.LAST_TABLE:
            terminalreporter.write_line(line)

