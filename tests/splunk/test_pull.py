"""``smguard pull`` round trip: deploy, the SOC tunes on the server, pull, `smguard test` shows it, deploy is a no-op."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from smguard.cli import main
from smguard.compile.confs import rule_name
from smguard.model import load_pack

from .fake_splunkd import FakeSplunk

APP = "SA-SageMakerGuardrails"
DETECTION = "SageMaker Activity In Unapproved Region"
SCANNER_FILTER = 'search NOT user_arn="arn:aws:iam::111122223333:role/inventory-scanner"'


@pytest.fixture
def region_pack(pack_copy: Path) -> Path:
    """The pack cut to one detection whose firing case a region allow-list entry silences, in git."""
    for path in sorted((pack_copy / "detections").rglob("*.yml")):
        if yaml.safe_load(path.read_text())["name"] != DETECTION:
            path.unlink()
    git = ["git", "-C", str(pack_copy), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "pack"], check=True)
    return pack_copy


def cli(fake: FakeSplunk, pack: Path, *args: str) -> int:
    return main(["--pack", str(pack), *args, "--url", fake.url, "--token", fake.token])


def soc_tunes(fake: FakeSplunk, pack: Path) -> str:
    det = load_pack(pack).detection(DETECTION)
    fake.soc_add_row(APP, "sagemaker_approved_regions_soc", {"region": "us-east-1", "note": "DR tests, CHG-42"})
    fake.soc_set("configs/conf-macros", APP, det.filter_macro, definition=SCANNER_FILTER)
    name = rule_name(load_pack(pack), det)
    fake.soc_set("saved/searches", APP, name, cron_schedule="*/30 * * * *")
    return name


def test_pull_round_trip(fake: FakeSplunk, region_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(fake, region_pack, "deploy") == 0
    assert main(["--pack", str(region_pack), "test", DETECTION]) == 0  # every case passes before tuning
    soc_tunes(fake, region_pack)
    capsys.readouterr()
    assert cli(fake, region_pack, "pull") == 0
    out = capsys.readouterr().out
    assert "1 allow-list row(s) in 1 list(s), 1 filter macro(s), 0 disabled-state change(s), 1 schedule change(s)" in out
    # The tuning is in the repo, as files a reviewer reads.
    assert (region_pack / "lookups" / "sagemaker_approved_regions_soc.csv").read_text() == \
        "region,note\nus-east-1,\"DR tests, CHG-42\"\n"
    tuning = yaml.safe_load((region_pack / "soc_tuning.yml").read_text())
    assert tuning["detections"] == {DETECTION: {"filter": SCANNER_FILTER, "cron_schedule": "*/30 * * * *"}}
    status = subprocess.run(["git", "-C", str(region_pack), "status", "--porcelain"], capture_output=True, text=True)
    assert sorted(line[3:] for line in status.stdout.splitlines()) == [
        "lookups/sagemaker_approved_regions_soc.csv", "soc_tuning.yml"]
    assert main(["--pack", str(region_pack), "validate"]) == 0
    # `smguard test` shows the effect: the SOC's exception silences the us-east-1 case.
    capsys.readouterr()
    assert main(["--pack", str(region_pack), "test", DETECTION]) == 1
    out = capsys.readouterr().out
    assert "FAIL SageMaker Activity In Unapproved Region :: a person enumerates and creates a notebook in us-east-1" in out
    assert ("with the SOC's tuning (lookups/*_soc.csv, soc_tuning.yml): 1 SOC row(s) in sagemaker_approved_regions_soc; "
            f"the SOC's filter for {DETECTION!r}") in out
    assert load_pack(region_pack).macros[load_pack(region_pack).detection(DETECTION).filter_macro].definition == \
        SCANNER_FILTER
    # Deploy again: nothing changes on the server, and it says why.
    n = len(fake.writes())
    capsys.readouterr()
    assert cli(fake, region_pack, "deploy") == 0
    out = capsys.readouterr().out
    assert len(fake.writes()) == n
    assert "0 created, 0 updated, 0 lookup file(s) written" in out and "0 conflict(s)" in out
    # A second pull has nothing to write.
    assert cli(fake, region_pack, "pull") == 0
    assert "nothing to write" in capsys.readouterr().out


def test_pull_refuses_to_overwrite_uncommitted_edits(fake: FakeSplunk, region_pack: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert cli(fake, region_pack, "deploy") == 0
    soc_tunes(fake, region_pack)
    assert cli(fake, region_pack, "pull") == 0
    git = ["git", "-C", str(region_pack), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "pulled"], check=True)
    # An engineer edits the pulled file locally, the SOC changes the server again.
    path = region_pack / "soc_tuning.yml"
    local = path.read_text().replace("*/30 * * * *", "*/20 * * * *")
    path.write_text(local)
    fake.soc_set("saved/searches", APP, rule_name(load_pack(region_pack), load_pack(region_pack).detection(DETECTION)),
                 cron_schedule="*/15 * * * *")
    capsys.readouterr()
    assert cli(fake, region_pack, "pull") == 1
    err = capsys.readouterr().err
    assert "uncommitted local changes in soc_tuning.yml" in err and "Traceback" not in err
    assert path.read_text() == local  # untouched
    assert cli(fake, region_pack, "pull", "--overwrite") == 0
    assert "*/15 * * * *" in path.read_text()


def test_bad_soc_tuning_is_a_located_validation_error(region_pack: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (region_pack / "soc_tuning.yml").write_text(
        "detections:\n  No Such Detection: {disabled: true}\n"
        f"  {DETECTION}: {{cron_schedule: '99 * * * *'}}\n")
    assert main(["--pack", str(region_pack), "validate"]) == 1
    err = capsys.readouterr()
    text = err.out + err.err
    assert "soc_tuning.yml:2: no detection named 'No Such Detection'" in text
    assert "soc_tuning.yml:3:" in text and "99" in text
