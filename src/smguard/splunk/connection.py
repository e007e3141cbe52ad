"""Where the Splunk server is and how to log in: flags first, then ``SPLUNK_*`` env.

Credentials never reach output: :meth:`Target.describe` shows the URL, the app and the
kind of credential only, so dry runs and logs can be pasted into tickets safely.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from smguard.errors import SmguardError

DEFAULT_MGMT_PORT = 8089
DEFAULT_HEC_PORT = 8088
CONNECT_TIMEOUT = 10.0  # seconds to wait for the management port to answer


@dataclass(frozen=True)
class Endpoint:
    """A parsed ``scheme://host:port`` (paths are ignored: the SDK builds them)."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"


def parse_url(url: str, default_port: int) -> Endpoint:
    """Parse a server URL; a bare ``host[:port]`` means https (Splunk's default)."""
    text = url.strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SmguardError(f"bad Splunk URL {url!r}: expected https://HOST:PORT")
    try:
        port = parts.port or default_port
    except ValueError as exc:
        raise SmguardError(f"bad Splunk URL {url!r}: {exc}") from None
    return Endpoint(parts.scheme, parts.hostname, port)


@dataclass(frozen=True)
class Target:
    """A Splunk management endpoint, its credential and the app namespace to work in."""

    endpoint: Endpoint
    app: str
    token: str | None = None
    username: str | None = None
    password: str | None = None
    verify: bool = True

    def __repr__(self) -> str:  # never leak the credential through a traceback or log
        return f"Target({self.describe()!r})"

    def describe(self) -> str:
        if self.token:
            cred = "token"
        elif self.username:
            cred = f"user {self.username}"
        else:
            cred = "no credential"
        tls = "" if self.endpoint.scheme == "http" else (" (TLS verified)" if self.verify else " (TLS not verified)")
        return f"{self.endpoint.url} app={self.app} as {cred}{tls}"

    def connect(self) -> Any:
        """A logged-in ``splunklib.client.Service`` in namespace ``nobody``/``app``.

        ``owner=nobody`` makes created objects app-level (shared), not private to the
        deploying user — the same place an installed app's ``default/`` confs live.
        A ``--token`` is a Splunk authentication token (Settings → Tokens), sent as
        ``Authorization: Bearer``; username/password log in through ``auth/login``.
        """
        from splunklib import client

        self.check_reachable()
        kwargs: dict[str, Any] = {
            "scheme": self.endpoint.scheme, "host": self.endpoint.host, "port": self.endpoint.port,
            "owner": "nobody", "app": self.app, "verify": self.verify, "autologin": True,
        }
        if self.token:
            kwargs["splunkToken"] = self.token
        else:
            kwargs["username"] = self.username
            kwargs["password"] = self.password
        try:
            service = client.connect(**kwargs)
            _ = service.info  # one authenticated GET: a token is not checked until a request is made
            return service
        except Exception as exc:  # AuthenticationError, HTTP 401, ssl, connection reset ...
            raise SmguardError(f"cannot connect to {self.describe()}: {type(exc).__name__}: {exc}") from None


    def check_reachable(self, timeout: float = CONNECT_TIMEOUT) -> None:
        """Resolve the host and open (then close) one TCP connection to the management port.

        With a token, splunklib connects lazily: an unreachable server would surface as a
        socket traceback from the first request, deep inside a deploy. Asking here turns it
        into one line naming the host, port and reason. Only the named host's own addresses
        are tried.
        """
        host, port = self.endpoint.host, self.endpoint.port
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise SmguardError(f"cannot connect to {self.endpoint.url}: cannot resolve host {host!r}: "
                               f"{getattr(exc, 'strerror', None) or exc}") from None
        last: OSError | None = None
        for family, kind, proto, _, addr in infos:
            try:
                with socket.socket(family, kind, proto) as sock:
                    sock.settimeout(timeout)
                    sock.connect(addr)
                return
            except TimeoutError:
                last = TimeoutError(f"no answer within {timeout:g}s")
            except OSError as exc:
                last = exc
        reason = (last.strerror or str(last)) if last is not None else "no address"
        raise SmguardError(f"cannot connect to {self.endpoint.url}: {reason}") from None


def target_from(args: Any, app: str, env: Mapping[str, str] | None = None) -> Target:
    """Build a :class:`Target` from parsed CLI args, falling back to ``SPLUNK_*`` env vars."""
    env = os.environ if env is None else env
    url = getattr(args, "url", None) or env.get("SPLUNK_URL")
    if not url:
        raise SmguardError("no Splunk URL: pass --url https://HOST:8089 or set SPLUNK_URL")
    token = getattr(args, "token", None) or env.get("SPLUNK_TOKEN")
    username = getattr(args, "username", None) or env.get("SPLUNK_USERNAME")
    password = getattr(args, "password", None) or env.get("SPLUNK_PASSWORD")
    if not token and not (username and password):
        raise SmguardError("no Splunk credential: pass --token (or SPLUNK_TOKEN), or --username and --password "
                           "(or SPLUNK_USERNAME and SPLUNK_PASSWORD)")
    verify = getattr(args, "verify", True)
    return Target(parse_url(url, DEFAULT_MGMT_PORT), app, token=token or None,
                  username=None if token else username, password=None if token else password,
                  verify=True if verify is None else bool(verify))


def add_connection_args(p: Any) -> None:
    """The ``--url/--token/--username/--password/--app/--verify`` flags both commands share."""
    import argparse

    p.add_argument("--url", metavar="URL", help="management URL, https://HOST:8089 (env SPLUNK_URL)")
    p.add_argument("--token", metavar="T", help="Splunk authentication token (env SPLUNK_TOKEN)")
    p.add_argument("--username", metavar="U", help="user name (env SPLUNK_USERNAME)")
    p.add_argument("--password", metavar="P", help="password (env SPLUNK_PASSWORD; prefer the env var: flags show in ps)")
    p.add_argument("--app", metavar="APP", help="target app namespace (default: the pack's app id)")
    p.add_argument("--verify", action=argparse.BooleanOptionalAction, default=True,
                   help="verify the server's TLS certificate (default: on; --no-verify for self-signed lab servers)")
