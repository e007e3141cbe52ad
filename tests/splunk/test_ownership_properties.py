"""Properties of deploy's rule of ownership and of conf layering, for every state hypothesis can think of."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.package.layering import effective_conf
from smguard.splunk.deploy import SAVED_SEARCHES, SOC_SEARCH_KEYS, Change, decide
from smguard.splunk.manifest import Manifest, Record, digest, record_key

KEYS = st.sampled_from(["definition", "search", "description", "disabled", "cron_schedule", "args"])
VALUES = st.sampled_from(["a", "b", "search *", "0", "1", "*/5 * * * *", ""])
STATE = st.dictionaries(KEYS, VALUES, max_size=5)


@st.composite
def situations(draw):  # noqa: ANN001, ANN201
    kind = draw(st.sampled_from(["macro", "filter-macro", "transform", "savedsearch", "collection"]))
    params = tuple(sorted(draw(st.dictionaries(KEYS, VALUES, min_size=1, max_size=5)).items()))
    ch = Change(kind, SAVED_SEARCHES, "obj", params, soc_keys=SOC_SEARCH_KEYS if kind == "savedsearch" else (),
                create_only=kind in ("filter-macro", "collection"))
    server = draw(st.none() | STATE)
    if server is not None:
        server = {k: server.get(k, "") for k in (dict(ch.params) if ch.create_only else ch.managed)}
    full = dict(server or {}) | draw(STATE)
    records = {}
    if draw(st.booleans()):
        sent = draw(st.sampled_from([digest(ch.repo_state()), "old"]))
        seen = draw(st.sampled_from([digest(server) if server is not None else "x", "other"]))
        records[record_key(kind, "obj")] = Record(kind, "obj", sent, seen)
    return ch, server, full, Manifest(records, exists=True)


@settings(max_examples=400, deadline=None)
@given(situations())
def test_deploy_never_writes_what_it_does_not_own(s) -> None:  # noqa: ANN001
    ch, server, full, manifest = s
    d = decide(ch, server, full, manifest)
    record = manifest.get(ch.kind, ch.name)
    if server is None:
        assert d.action == "create"
        return
    if ch.create_only:  # SOC-owned once it exists: never written
        assert d.action in ("kept", "unchanged", "exists")
    if record is not None and digest(server) != record.seen and not ch.create_only:
        assert d.action == "conflict"  # changed since deploy wrote it: left alone unless --force
    if record is None and not ch.create_only:
        assert d.action in ("adopt", "conflict")  # never overwrite an object deploy has no record of
    if d.action == "update":
        assert record is not None and digest(server) == record.seen and digest(ch.repo_state()) != record.sent
    # What an update sends never holds the SOC's keys.
    assert not set(ch.managed) & set(ch.soc_keys)


CONF = st.dictionaries(st.sampled_from(["s1", "s2", "s3"]), st.dictionaries(KEYS, VALUES, max_size=4), max_size=3)


def _write(path: Path, conf: dict[str, dict[str, str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"[{s}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items()) + "\n"
                            for s, keys in conf.items()))


@settings(max_examples=200, deadline=None)
@given(CONF, CONF)
def test_local_wins_key_by_key(tmp_path_factory, default, local) -> None:  # noqa: ANN001
    app = tmp_path_factory.mktemp("app")
    _write(app / "default" / "x.conf", default)
    _write(app / "local" / "x.conf", local)
    eff = effective_conf(app, "x")
    assert set(eff) == set(default) | set(local)
    for stanza, keys in eff.items():
        assert keys == {**default.get(stanza, {}), **local.get(stanza, {})}
