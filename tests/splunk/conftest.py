"""Fixtures for the live-Splunk tests: a fake splunkd and a pack whose cases use inline records.

Inline records keep these tests independent of the scenario generator (whose output the
fake does not evaluate anyway) and fast.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from .fake_splunkd import FakeSplunk


def record(event_id: str, name: str = "CreateNotebookInstance", minute: int = 30) -> dict:
    return {
        "eventVersion": "1.09", "eventTime": f"2026-11-24T13:{minute:02d}:00Z", "eventSource": "sagemaker.amazonaws.com",
        "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2",
        "eventID": event_id, "readOnly": False, "eventType": "AwsApiCall", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/mallory",
                         "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE"},
    }


@pytest.fixture
def live_pack(pack_copy: Path) -> Path:
    """The repo's pack cut to three detections, each with two inline-record cases.

    Three keep the runs short and the tests independent of detections being written in
    parallel; every kind of object (macros, lookups, transforms, searches) is still there.
    """
    paths = sorted((pack_copy / "detections").rglob("*.yml"))
    for path in paths[3:]:
        path.unlink()
    for n, path in enumerate(paths[:3]):
        data = yaml.safe_load(path.read_text())
        data["tests"] = [
            {"name": "fires", "records": [record(f"e{n}-1"), record(f"e{n}-2", minute=31)],
             "expect": {"results": ">= 1"}},
            {"name": "stays silent", "records": [record(f"e{n}-3", "ListNotebookInstances")],
             "expect": {"results": 0}},
        ]
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    return pack_copy


@pytest.fixture
def fake() -> Iterator[FakeSplunk]:
    with FakeSplunk(lifetime=60) as server:
        yield server


@pytest.fixture(autouse=True)
def _no_env_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials in the environment must not leak into tests against the fake server."""
    for var in ("SPLUNK_URL", "SPLUNK_TOKEN", "SPLUNK_USERNAME", "SPLUNK_PASSWORD", "SPLUNK_HEC_TOKEN",
                "SPLUNK_HEC_URL"):
        monkeypatch.delenv(var, raising=False)


def deploy(fake: FakeSplunk, pack: Path, *extra: str) -> int:
    """``smguard deploy`` of ``pack`` to the fake server with its token."""
    from smguard.cli import main

    return main(["--pack", str(pack), "deploy", "--url", fake.url, "--token", fake.token, *extra])

