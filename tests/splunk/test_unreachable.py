"""An unreachable or unresolvable Splunk is one line naming the host and why, exit 1 (issue 11, item 9).

With a token, splunklib connects lazily, so before the fix the first request raised a
socket traceback deep inside ``deploy``. Only loopback is contacted: the unresolvable name
is answered by a patched resolver, so the test sends no DNS query.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from smguard.cli import main

ROOT = Path(__file__).resolve().parents[2]


def _refused_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _args(command: str) -> list[str]:
    return ["--hec-token", "hec-value"] if command == "splunk-test" else []


def _one_error_line(capsys: pytest.CaptureFixture[str]) -> str:
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and "Traceback" not in err[0], err
    return err[0]


@pytest.mark.parametrize("command", ["deploy", "splunk-test"])
@pytest.mark.parametrize("cred", [["--token", "t0ken-value"], ["--username", "admin", "--password", "pw-value"]])
def test_connection_refused(capsys, command, cred):
    for port in (1, _refused_port()):
        rc = main(["--pack", str(ROOT), command, "--url", f"https://127.0.0.1:{port}", *cred, *_args(command)])
        line = _one_error_line(capsys)
        assert rc == 1
        assert f"cannot connect to https://127.0.0.1:{port}: Connection refused" in line
        assert "t0ken-value" not in line and "pw-value" not in line


@pytest.mark.parametrize("command", ["deploy", "splunk-test"])
def test_unresolvable_host(capsys, monkeypatch, command):
    asked: list[str] = []

    def no_such_name(host, *args, **kwargs):
        asked.append(host)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", no_such_name)
    rc = main(["--pack", str(ROOT), command, "--url", "https://nonexistent.invalid:8089", "--token", "t",
               *_args(command)])
    line = _one_error_line(capsys)
    assert rc == 1 and asked == ["nonexistent.invalid"]
    assert "cannot connect to https://nonexistent.invalid:8089: cannot resolve host 'nonexistent.invalid'" in line
    assert "Name or service not known" in line


def test_a_bad_token_is_refused_at_connect_not_per_object(fake, capsys):
    """splunklib checks a token only when a request is made: before, every object of the plan
    failed in turn ("not logged in"); now one authenticated GET at connect says it once."""
    rc = main(["--pack", str(ROOT), "deploy", "--url", fake.url, "--token", "wrong-token-value", "--no-searches"])
    line = _one_error_line(capsys)
    assert rc == 1 and line.endswith("AuthenticationError: Request aborted: not logged in.")
    assert f"cannot connect to {fake.url}" in line and "wrong-token-value" not in line
    assert not [r for r in fake.requests if r.method == "POST"]
