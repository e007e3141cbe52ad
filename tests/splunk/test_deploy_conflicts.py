"""``smguard deploy`` against a server where people changed things: what it keeps, reports, forces and restores."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from smguard.cli import main
from smguard.compile.confs import rule_name
from smguard.model import load_pack
from smguard.splunk.connection import Target, parse_url
from smguard.splunk.deploy import plan
from smguard.splunk.manifest import COLLECTION

from .conftest import deploy
from .fake_splunkd import FakeSplunk

APP = "SA-SageMakerGuardrails"
MACROS = "configs/conf-macros"
SEARCHES = "saved/searches"


def _allow_listed(pack_root: Path) -> tuple[str, str]:
    """(a detection with an allow-list, that allow-list's name)."""
    pack = load_pack(pack_root)
    for det in sorted(pack.detections, key=lambda d: d.name):
        if not det.is_raw and det.search.get("allow"):
            return det.name, det.search["allow"][0]["lookup"]
    pytest.skip("no detection with an allow-list in the cut pack")


def soc_tunes(fake: FakeSplunk, pack_root: Path) -> dict[str, str]:
    """What a SOC does after the first deploy: an allow-list row, a filter macro, a schedule, a disable."""
    pack = load_pack(pack_root)
    det_name, allow = _allow_listed(pack_root)
    det = pack.detection(det_name)
    lk = pack.lookups[allow]
    fake.soc_add_row(APP, f"{allow}_soc", {f: "soc-" + f for f in lk.fields})
    fake.soc_set(MACROS, APP, det.filter_macro, definition='search NOT user_arn="arn:aws:iam::1:role/scanner"')
    fake.soc_set(SEARCHES, APP, rule_name(pack, det), cron_schedule="7 * * * *", disabled="1")
    return {"filter": det.filter_macro, "search": rule_name(pack, det), "collection": f"{allow}_soc"}


def test_deploy_twice_keeps_every_piece_of_soc_tuning_and_says_so(fake: FakeSplunk, live_pack: Path,
                                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(fake, live_pack) == 0
    names = soc_tunes(fake, live_pack)
    before = {k: dict(v) for k, v in fake.objects.items()}
    kv_before = json.dumps(fake.kv_data[(APP, names["collection"])])
    capsys.readouterr()
    assert deploy(fake, live_pack) == 0
    out = capsys.readouterr().out
    assert fake.objects == before  # nothing the SOC set was written over (nor anything else)
    assert json.dumps(fake.kv_data[(APP, names["collection"])]) == kv_before
    ss = fake.objects[(SEARCHES, APP, names["search"])]
    assert ss["cron_schedule"] == "7 * * * *" and ss["disabled"] == "1"
    assert fake.objects[(MACROS, APP, names["filter"])]["definition"].startswith("search NOT user_arn=")
    # ... and it says so, for each of the three.
    assert f"keep      filter-macro {names['filter']}: the SOC's filter differs from the repo" in out
    assert "= cron_schedule: the SOC's 7 * * * * kept" in out and "= disabled: the SOC's 1 kept" in out
    assert f"= 1 SOC row(s) in {names['collection']} kept" in out
    assert "0 conflict(s)" in out and "0 created, 0 updated" in out


def test_a_change_on_the_server_is_a_conflict_left_alone_until_forced_then_restorable(
        fake: FakeSplunk, live_pack: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(fake, live_pack) == 0
    fake.soc_set(MACROS, APP, "smguard_ctime(1)", definition="convert timeformat=\"%F\" ctime($field$)")
    changed = dict(fake.objects[(MACROS, APP, "smguard_ctime(1)")])
    capsys.readouterr()
    # --dry-run: the diff, key by key, and nothing written.
    n = len(fake.writes())
    assert deploy(fake, live_pack, "--dry-run") == 0
    out = capsys.readouterr().out
    assert "CONFLICT  macro smguard_ctime(1): changed on the server since the last deploy" in out
    assert "    ~ definition: server convert timeformat=\"%F\" ctime($field$) -> repo " in out
    assert len(fake.writes()) == n
    # A plain deploy leaves it alone and fails, naming it.
    assert deploy(fake, live_pack) == 1
    captured = capsys.readouterr()
    assert "conflict: macro smguard_ctime(1): changed on the server since the last deploy" in captured.err
    assert fake.objects[(MACROS, APP, "smguard_ctime(1)")] == changed
    # --force: backed up first, then overwritten with the repo's definition.
    backup = tmp_path / "b.json"
    assert deploy(fake, live_pack, "--force", "--backup", str(backup)) == 0
    out = capsys.readouterr().out
    assert "1 overwritten with --force" in out and str(backup) in out
    saved = json.loads(backup.read_text())
    assert [o["name"] for o in saved["objects"]] == ["smguard_ctime(1)"]
    assert saved["objects"][0]["params"]["definition"] == changed["definition"]
    repo_def = fake.objects[(MACROS, APP, "smguard_ctime(1)")]["definition"]
    assert repo_def != changed["definition"]
    # The next deploy has nothing to do; restore puts the server's version back.
    assert deploy(fake, live_pack) == 0
    assert main(["restore", str(backup), "--url", fake.url, "--token", fake.token]) == 0
    assert fake.objects[(MACROS, APP, "smguard_ctime(1)")]["definition"] == changed["definition"]
    # ... which deploy again treats as someone else's version.
    assert deploy(fake, live_pack) == 1


def test_a_changed_lookup_file_is_a_conflict_too(fake: FakeSplunk, live_pack: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(fake, live_pack) == 0
    (app, filename), rows = next(iter(fake.lookup_rows.items()))
    fake.lookup_rows[(app, filename)] = rows[:-1] if len(rows) > 1 else rows + [dict(rows[0])]
    capsys.readouterr()
    assert deploy(fake, live_pack) == 1
    assert f"CONFLICT  lookup-file {filename}: changed on the server since the last deploy" in capsys.readouterr().out


def test_a_repo_change_updates_only_that_object(fake: FakeSplunk, live_pack: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(fake, live_pack) == 0
    path = sorted((live_pack / "detections").rglob("*.yml"))[0]
    data = yaml.safe_load(path.read_text())
    data["description"] = data["description"] + " Updated."
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    name = rule_name(load_pack(live_pack), load_pack(live_pack).detection(data["name"]))
    n = len(fake.requests)
    capsys.readouterr()
    assert deploy(fake, live_pack) == 0
    out = capsys.readouterr().out
    assert "1 updated" in out and f"update    savedsearch {name}" in out and "~ description: server" in out
    posts = [r for r in fake.requests[n:] if r.method == "POST" and "/saved/searches/" in r.path]
    assert len(posts) == 1 and "disabled" not in posts[0].params and "cron_schedule" not in posts[0].params
    assert fake.objects[(SEARCHES, APP, name)]["description"].endswith("Updated.")


def test_failure_half_way_leaves_whole_objects_and_a_true_manifest(fake: FakeSplunk, live_pack: Path,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    fake.fail_writes_after = 12
    assert deploy(fake, live_pack) == 1
    captured = capsys.readouterr()
    assert "error:" in captured.err and "created" in captured.out
    # Every object on the server is whole: exactly the keys deploy sends, or absent.
    pack = load_pack(live_pack)
    want = {rule_name(pack, d) for d in pack.detections}
    for (coll, _, name), params in fake.objects.items():
        if coll == SEARCHES:
            assert name in want and "search" in params and "action.notable" in params
    # Every manifest record names an object that is on the server.
    records = fake.kv_data.get((APP, COLLECTION), [])
    assert records
    on_server = {n for (_, _, n) in fake.objects} | set(fake.lookup_files) | {n for (_, n) in fake.kv_config}
    assert all(r["name"] in on_server for r in records)
    # The rerun finishes the job without a single conflict.
    fake.fail_writes_after = None
    assert deploy(fake, live_pack) == 0
    assert "0 conflict(s)" in capsys.readouterr().out


def test_fake_follows_the_reference_409_on_existing_objects(fake: FakeSplunk) -> None:
    from splunklib.binding import HTTPError

    fake.apps.add(APP)
    service = Target(parse_url(fake.url, 8089), APP, token=fake.token).connect()
    service.post("configs/conf-macros", name="m", definition="search *")
    with pytest.raises(HTTPError) as exc:
        service.post("configs/conf-macros", name="m", definition="search *")
    assert exc.value.status == 409
    service.post("storage/collections/config", name="c")
    with pytest.raises(HTTPError) as exc:
        service.post("storage/collections/config", name="c")
    assert exc.value.status == 409
    hdr = [("Content-Type", "application/json")]
    service.post("storage/collections/data/c", headers=hdr, body=json.dumps({"_key": "k", "a": "1"}))
    with pytest.raises(HTTPError) as exc:
        service.post("storage/collections/data/c", headers=hdr, body=json.dumps({"_key": "k", "a": "2"}))
    assert exc.value.status == 409
    # Another app's namespace does not see this app's objects.
    other = Target(parse_url(fake.url, 8089), "search", token=fake.token).connect()
    with pytest.raises(HTTPError) as exc:
        other.get("storage/collections/data/c")
    assert exc.value.status == 404
    # A wrong token is refused at connect (one authenticated GET of server/info), as one line.
    from smguard.errors import SmguardError

    with pytest.raises(SmguardError, match="cannot connect to .*not logged in"):
        Target(parse_url(fake.url, 8089), APP, token="wrong").connect()
    assert any(r.path == "/services/server/info" and r.auth == "Bearer wrong" for r in fake.requests)


def test_bad_backup_files_and_unreachable_servers_are_clean_errors(live_pack: Path, tmp_path: Path,
                                                                    capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope.json"
    assert main(["restore", str(missing), "--url", "http://127.0.0.1:9", "--token", "t"]) == 1
    assert f"{missing}: cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "smguard-backup/1",\n "objects": [}\n')
    assert main(["restore", str(bad), "--url", "http://127.0.0.1:9", "--token", "t"]) == 1
    assert f"{bad}:2: not JSON" in capsys.readouterr().err
    other = tmp_path / "other.json"
    other.write_text('{"objects": []}')
    assert main(["restore", str(other), "--url", "http://127.0.0.1:9", "--token", "t"]) == 1
    assert "not an smguard backup" in capsys.readouterr().err
    for cmd in (["deploy"], ["deploy", "--dry-run"], ["pull"]):
        assert main(["--pack", str(live_pack), *cmd, "--url", "http://127.0.0.1:9", "--token", "t"]) == 1
        err = capsys.readouterr().err
        assert "http://127.0.0.1:9" in err and "Traceback" not in err, cmd


def test_dry_run_on_a_fresh_server_lists_every_create_and_writes_nothing(fake: FakeSplunk, live_pack: Path,
                                                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert deploy(fake, live_pack, "--dry-run") == 0
    out = capsys.readouterr().out
    assert fake.writes() == [] and fake.objects == {} and fake.apps == set()
    assert "create    app SA-SageMakerGuardrails" in out and "    + definition = " in out
    pack = load_pack(live_pack)
    creates = len(plan(pack, APP)) - len(pack.lookups)  # every object but the lookup files, which are "written"
    assert f"dry run, nothing written; it would be: {creates} created, 0 updated" in out
    assert f"{len(pack.lookups)} lookup file(s) written" in out and "0 error(s)" in out
