"""``smguard deploy`` against a fake splunkd: what is sent, key for key, and idempotence."""

from __future__ import annotations

from pathlib import Path

import pytest

from smguard.cli import main
from smguard.compile.confs import macros_conf, rule_name, savedsearches_conf, transforms_conf
from smguard.model import load_pack
from smguard.model.entities import Lookup
from smguard.splunk.connection import parse_url, target_from
from smguard.splunk.deploy import lookup_upload_spl, parse_conf, plan

from .conftest import deploy
from .fake_splunkd import SESSION, FakeSplunk

APP = "SA-SageMakerGuardrails"


def test_plan_prints_what_is_sent_without_connecting(live_pack: Path, capsys: pytest.CaptureFixture[str],
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPLUNK_TOKEN", "s3cret-token")
    # Port 9 on loopback: nothing listens, so any connection attempt would fail the run.
    rc = main(["--pack", str(live_pack), "deploy", "--url", "http://127.0.0.1:9", "--plan", "-v"])
    out = capsys.readouterr().out
    assert rc == 0
    pack = load_pack(live_pack)
    for det in pack.detections:
        assert f"savedsearch {rule_name(pack, det)}" in out
    for stanza in pack.macros:
        assert f"macro {stanza}:" in out
    for lk in pack.lookups.values():
        assert f"lookup file {lk.filename}" in out and f"transform {lk.name}:" in out
    assert "s3cret-token" not in out


def test_deploy_sends_exactly_the_packaged_confs(fake: FakeSplunk, live_pack: Path) -> None:
    assert deploy(fake, live_pack) == 0
    pack = load_pack(live_pack)
    assert fake.apps == {APP}
    packaged = {
        "saved/searches": parse_conf(savedsearches_conf(pack)),
        "configs/conf-macros": parse_conf(macros_conf(pack)),
        "configs/conf-transforms": parse_conf(transforms_conf(pack)),
    }
    for coll, stanzas in packaged.items():
        deployed = {name: params for (c, app, name), params in fake.objects.items() if c == coll and app == APP}
        assert set(deployed) == set(stanzas), coll
        for name, pairs in stanzas.items():
            assert deployed[name] == dict(pairs), f"{coll} {name}"
            assert fake.acls[(coll, name)] == {"sharing": "global", "owner": "nobody", "perms.read": "*",
                                               "perms.write": "admin,sc_admin"}
    # Every saved search is a correlation search with its compiled SPL and ES keys.
    for det in pack.detections:
        ss = fake.objects[("saved/searches", APP, rule_name(pack, det))]
        assert ss["search"] == " ".join(pack.compiled(det).spl.split())
        assert ss["action.correlationsearch.enabled"] == "1" and ss["action.notable"] == "1"
    # Every lookup file was written in the app namespace with all its rows.
    assert set(fake.lookup_files) == {lk.filename for lk in pack.lookups.values()}
    # Everything went to owner nobody in the target app, authenticated with the token.
    ns_requests = [r for r in fake.requests if r.path.startswith("/servicesNS/")]
    assert ns_requests and all(r.path.startswith(f"/servicesNS/nobody/{APP}/") for r in ns_requests)
    assert all(r.auth == f"Bearer {fake.token}" for r in fake.requests)


def test_second_run_writes_nothing(fake: FakeSplunk, live_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(fake, live_pack) == 0
    first = {k: dict(v) for k, v in fake.objects.items()}
    n_first = len(fake.requests)
    capsys.readouterr()
    assert deploy(fake, live_pack) == 0
    out = capsys.readouterr().out
    second = fake.requests[n_first:]
    assert [r for r in second if r.method in ("POST", "DELETE") and "/search/v2/jobs" not in r.path] == []
    assert not [r for r in second if "outputlookup" in r.params.get("search", "")]
    assert fake.objects == first
    assert "0 created, 0 updated, 0 lookup file(s) written" in out and "exists    app" in out


def test_username_password_logs_in_and_uses_the_session(fake: FakeSplunk, live_pack: Path,
                                                        capsys: pytest.CaptureFixture[str],
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPLUNK_URL", fake.url)
    monkeypatch.setenv("SPLUNK_USERNAME", fake.username)
    monkeypatch.setenv("SPLUNK_PASSWORD", fake.password)
    assert main(["--pack", str(live_pack), "deploy", "--no-searches"]) == 0
    out = capsys.readouterr().out
    assert fake.password not in out and SESSION not in out
    assert fake.requests[0].path == "/services/auth/login"
    assert all(r.auth == f"Splunk {SESSION}" for r in fake.requests[1:])
    assert not [k for k in fake.objects if k[0] == "saved/searches"]


def test_bad_password_is_a_clean_error(fake: FakeSplunk, live_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["--pack", str(live_pack), "deploy", "--url", fake.url, "--username", "admin", "--password", "wrong"])
    err = capsys.readouterr().err
    assert rc == 1 and "cannot connect" in err and "wrong" not in err


def test_missing_credentials(live_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--pack", str(live_pack), "deploy", "--url", "https://splunk.example"]) == 1
    assert "no Splunk credential" in capsys.readouterr().err


def test_a_rejected_object_is_reported_and_the_rest_deployed(fake: FakeSplunk, live_pack: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    pack = load_pack(live_pack)
    bad = rule_name(pack, pack.detections[0])
    fake.reject.add(bad)
    assert deploy(fake, live_pack) == 1
    captured = capsys.readouterr()
    assert bad in captured.err and "not supported by this handler" in captured.err
    deployed = {name for (c, _, name) in fake.objects if c == "saved/searches"}
    assert deployed == {rule_name(pack, d) for d in pack.detections} - {bad}


def test_same_named_object_in_another_app_is_not_touched(fake: FakeSplunk, live_pack: Path) -> None:
    fake.objects[("configs/conf-macros", "search", "sagemaker_cloudtrail")] = {"definition": "index=prod"}
    assert deploy(fake, live_pack, "--no-searches") == 0
    assert fake.objects[("configs/conf-macros", "search", "sagemaker_cloudtrail")] == {"definition": "index=prod"}
    assert fake.objects[("configs/conf-macros", APP, "sagemaker_cloudtrail")]["definition"].startswith("index=")


def test_custom_app_namespace(fake: FakeSplunk, live_pack: Path) -> None:
    assert deploy(fake, live_pack, "--app", "smguard_dev", "--no-searches") == 0
    assert fake.apps == {"smguard_dev"}
    assert {app for (_, app, _) in fake.objects} == {"smguard_dev"}


def test_lookup_upload_keeps_hostile_values_as_data() -> None:
    lk = Lookup(name="t", filename="t.csv", description="", fields=("a", "b"), key=("a",),
                rows=[{"a": 'x" | delete', "b": "back\\slash"}, {"a": "`macro`", "b": ""}])
    spl = lookup_upload_spl(lk)
    assert spl.startswith("| makeresults count=2 ")
    assert 'smguard_row=1, "x\\" | delete"' in spl and 'smguard_row=1, "back\\\\slash"' in spl
    assert "`" not in spl and 'smguard_row=2, ("" . urldecode("%60") . "macro" . urldecode("%60") . "")' in spl
    assert spl.endswith("| table a b | outputlookup createinapp=true t.csv")


def test_plan_is_ordered_so_dependencies_come_first(live_pack: Path) -> None:
    kinds = [c.kind for c in plan(load_pack(live_pack), APP)]
    rank = {"app": 0, "macro": 1, "filter-macro": 1, "collection": 2, "lookup-file": 3, "transform": 4,
            "savedsearch": 5}  # KV collections before the transforms that name them
    assert kinds == sorted(kinds, key=rank.__getitem__)


def test_target_repr_hides_secrets() -> None:
    class Args:
        url, token, username, password, verify = "splunk.example", "Zq9-secret", None, None, False

    t = target_from(Args(), "app", env={})
    assert t.endpoint == parse_url("https://splunk.example:8089", 8089)
    assert "Zq9" not in repr(t) and "Zq9" not in t.describe() and "not verified" in t.describe()
