"""Upgrade, proven: the SOC's tuning of version N is still in effect after installing version N+1.

Version N is built and installed into a ``$SPLUNK_HOME/etc/apps`` layout; the SOC tunes it
the way Splunk Web saves tuning (``local/macros.conf`` filter, ``local/savedsearches.conf``
``disabled`` and ``cron_schedule``) and adds an allow-list exception to the KV store; version
N+1 is installed the way Splunk upgrades an app. Then the *effective* configuration
(default under local, :mod:`smguard.package.layering`) is computed and the affected
correlation searches — exactly the ``search`` Splunk would run — are run by the offline engine.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from smguard.compile.confs import rule_name
from smguard.model import load_pack
from smguard.package import build_app
from smguard.package.layering import app_context, effective_conf, parse_conf_text
from smguard.scan.cron import Cron
from smguard.spl import run
from smguard.testing.expect import parse_count
from smguard.testing.runner import case_events, case_now

from .splunk_home import SplunkHome

REGION = "SageMaker Activity In Unapproved Region"
REGION_CASE = "a person enumerates and creates a notebook in us-east-1"


def _firing_case(det):  # noqa: ANN001, ANN202
    return next(c for c in det.tests if parse_count(c["expect"]["results"]).low >= 1)


def run_installed(home: SplunkHome, app: str, pack, det, case) -> list[dict]:  # noqa: ANN001
    """Run the detection's search as the installed app defines it, with the app's effective macros and lookups."""
    app_dir = home.apps / app
    spl = effective_conf(app_dir, "savedsearches")[rule_name(pack, det)]["search"]
    ctx = app_context(app_dir, home.kv_rows(app))
    return run(spl, case_events(pack, case), ctx, now=case_now(pack, det, case)).rows


def _bump(pack_root: Path) -> None:
    text = (pack_root / "pack.yml").read_text()
    (pack_root / "pack.yml").write_text(re.sub(r"version: (\d+)\.(\d+)\.(\d+)",
                                               lambda m: f"version: {m[1]}.{int(m[2]) + 1}.0", text, count=1))


def test_tuning_survives_an_upgrade(pack_copy: Path, tmp_path: Path) -> None:
    home = SplunkHome(tmp_path / "splunk")
    pack = load_pack(pack_copy)
    app = pack.settings.app_id
    _, tgz1 = build_app(pack, tmp_path / "v1")
    home.install(tgz1)

    region = pack.detection(REGION)
    region_case = next(c for c in region.tests if c["name"] == REGION_CASE)
    other = next(d for d in sorted(pack.detections, key=lambda d: d.name)
                 if d is not region and not d.is_raw and d.tests and "user_arn" in pack.compiled(d).output)
    other_case = _firing_case(other)
    disabled_det = next(d for d in sorted(pack.detections, key=lambda d: d.name)
                        if d.data["status"] == "production" and d not in (region, other))

    # Version N, untuned: both searches fire as installed.
    assert run_installed(home, app, pack, region, region_case)
    fired = run_installed(home, app, pack, other, other_case)
    assert fired
    user = fired[0]["user_arn"] if isinstance(fired[0]["user_arn"], str) else fired[0]["user_arn"][0]

    # The SOC tunes version N as Splunk Web would save it, plus the mistake the README warns about.
    filt = f'search NOT user_arn="{user}"'
    home.write_local(app, "macros", f"[{other.filter_macro}]\ndefinition = {filt}\n")
    home.write_local(app, "savedsearches", f"[{rule_name(pack, disabled_det)}]\ndisabled = 1\n\n"
                                           f"[{rule_name(pack, region)}]\ncron_schedule = 7,37 * * * *\n")
    home.kv_add(app, "sagemaker_approved_regions_soc", {"region": "us-east-1", "note": "DR tests, CHG-42"})
    shipped_csv = home.apps / app / "lookups" / "sagemaker_approved_regions.csv"
    shipped_csv.write_text(shipped_csv.read_text() + "ap-south-1,edited in the app directory\n")
    local_before = {p.name: p.read_bytes() for p in (home.apps / app / "local").iterdir()}

    # Version N+1: a new version with a changed detection, installed over N.
    _bump(pack_copy)
    det_path = Path(region.path) if Path(region.path).is_absolute() else pack_copy / region.path
    det_path.write_text(det_path.read_text().replace("description: >-\n", "description: >-\n  Version two.\n", 1))
    pack2 = load_pack(pack_copy)
    assert pack2.settings.version != pack.settings.version
    _, tgz2 = build_app(pack2, tmp_path / "v2")
    app_dir = home.install(tgz2)

    # The upgrade replaced the app's files and kept local/ byte for byte.
    assert effective_conf(app_dir, "app")["launcher"]["version"] == pack2.settings.version
    assert {p.name: p.read_bytes() for p in (app_dir / "local").iterdir()} == local_before
    assert "ap-south-1" not in shipped_csv.read_text()  # the app-directory edit is gone, as documented
    ss = effective_conf(app_dir, "savedsearches")
    assert ss[rule_name(pack2, region)]["description"].startswith("Version two.")  # N+1's default ...

    # ... under the SOC's local/: disabled, schedule and filter still in effect.
    assert ss[rule_name(pack2, disabled_det)]["disabled"] == "1"
    assert parse_conf_text((app_dir / "default" / "savedsearches.conf").read_text())[
        rule_name(pack2, disabled_det)]["disabled"] == "false"
    assert ss[rule_name(pack2, region)]["cron_schedule"] == "7,37 * * * *"
    assert sorted(Cron(ss[rule_name(pack2, region)]["cron_schedule"]).minutes) == [7, 37]
    assert effective_conf(app_dir, "macros")[other.filter_macro]["definition"] == filt
    scheduled = {name for name, keys in ss.items() if keys.get("disabled") in ("0", "false") and
                 keys.get("enableSched") == "1"}
    assert rule_name(pack2, disabled_det) not in scheduled and rule_name(pack2, region) in scheduled

    # Running what Splunk would run: the KV store exception and the filter still silence their alerts.
    assert run_installed(home, app, pack2, pack2.detection(REGION), region_case) == []
    assert run_installed(home, app, pack2, pack2.detection(other.id), other_case) == []


def test_layering_precedence_and_default_stanza(tmp_path: Path) -> None:
    app = tmp_path / "a"
    (app / "default").mkdir(parents=True)
    (app / "local").mkdir()
    (app / "default" / "x.conf").write_text("[default]\nshared = d\n\n[s]\na = 1\nb = 2\n[t]\nlong = one \\\ntwo\n")
    (app / "local" / "x.conf").write_text("# the SOC\n[s]\nb = 3\n[u]\nc = 4\n")
    conf = effective_conf(app, "x")
    assert conf == {"s": {"shared": "d", "a": "1", "b": "3"}, "t": {"shared": "d", "long": "one \ntwo"},
                    "u": {"shared": "d", "c": "4"}}


def test_a_malformed_local_line_is_reported_with_its_place(tmp_path: Path) -> None:
    from smguard.errors import SmguardError

    app = tmp_path / "a"
    (app / "local").mkdir(parents=True)
    (app / "local" / "macros.conf").write_text("[m]\ndefinition = x\nbroken line\n")
    with pytest.raises(SmguardError, match=r"macros\.conf:3: not a stanza header"):
        effective_conf(app, "macros")
