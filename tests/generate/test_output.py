"""Output layouts, ground truth, determinism and the CLI."""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path

import pytest

from smguard.cli import main
from smguard.generate import generate, iter_baseline

from .conftest import OWNED

S3_NAME = re.compile(
    r"^AWSLogs/(\d{12})/CloudTrail/([a-z0-9-]+)/(\d{4})/(\d{2})/(\d{2})/"
    r"\1_CloudTrail_\2_(\d{8}T\d{4}Z)_[A-Za-z0-9]{16}\.json\.gz$"
)


def _tree_digest(d: Path) -> dict[str, str]:
    return {str(p.relative_to(d)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.rglob("*")) if p.is_file()}


def test_ndjson_same_seed_same_bytes(tmp_path, root):
    picks = [x for name in OWNED for x in ("--scenario", name)]
    args = ["--pack", str(root), "generate", "--hours", "6", "--seed", "5", *picks, "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "a.ndjson")]) == 0
    assert main([*args, "--out", str(tmp_path / "b.ndjson")]) == 0
    a, b = (tmp_path / "a.ndjson").read_bytes(), (tmp_path / "b.ndjson").read_bytes()
    assert a == b
    ta = json.loads((tmp_path / "a.ndjson.truth.json").read_text())
    tb = json.loads((tmp_path / "b.ndjson.truth.json").read_text())
    assert ta["events"] == tb["events"]
    args[6] = "6"
    assert main([*args, "--out", str(tmp_path / "c.ndjson")]) == 0
    assert (tmp_path / "c.ndjson").read_bytes() != a


def test_ndjson_ground_truth_covers_every_injected_record(tmp_path, root):
    out = tmp_path / "x.ndjson"
    s = generate(hours=24, seed=3, scenarios=list(OWNED), out=out, pack_root=root)
    truth = json.loads(Path(s.truth_path).read_text())
    # streamed, never held whole: a day of records as dicts is about 0.5 GB
    ids: set[str] = set()
    by_id: dict[str, dict] = {}
    lines, last_time = 0, ""
    with out.open() as fh:
        for line in fh:
            r = json.loads(line)
            lines += 1
            assert r["eventTime"] >= last_time, "records in time order"
            last_time = r["eventTime"]
            ids.add(r["eventID"])
            if r["eventID"] in truth["events"]:
                by_id[r["eventID"]] = r
    assert lines == s.records
    assert truth["records"] == s.records
    assert len(truth["instances"]) == len(OWNED)
    assert len(ids) == lines
    assert set(truth["events"]) <= ids
    assert len(truth["events"]) == s.scenario_records == sum(len(i["eventIDs"]) for i in truth["instances"])
    for t in truth["events"].values():
        assert set(t) == {"scenario", "instance", "step"}
        assert t["instance"].startswith(t["scenario"] + "#")
    inst = next(i for i in truth["instances"] if i["scenario"] == "manual_endpoint_deployment")
    assert [by_id[e]["eventName"] for e in inst["eventIDs"]] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    assert [truth["events"][e]["step"] for e in inst["eventIDs"]] == ["create_model", "create_endpoint_config", "create_endpoint"]


def test_scenario_at_a_chosen_time(tmp_path, root):
    out = tmp_path / "t.ndjson"
    assert main(["--pack", str(root), "generate", "--hours", "3", "--start", "2026-11-24T08:00Z",
                 "--scenario", "access_key_created@2026-11-24T09:17:05Z", "--no-progress", "--out", str(out)]) == 0
    truth = json.loads(Path(f"{out}.truth.json").read_text())
    (eid,) = truth["events"]
    rec = next(json.loads(line) for line in out.read_text().splitlines() if eid in line)
    assert rec["eventTime"] == "2026-11-24T09:17:05Z" and rec["eventName"] == "CreateAccessKey"


def test_same_scenario_twice_gets_two_instances(tmp_path, root):
    s = generate(hours=2, seed=1, scenarios=["access_key_created", "access_key_created"], out=tmp_path / "d.ndjson", pack_root=root)
    truth = json.loads(Path(s.truth_path).read_text())
    assert [i["instance"] for i in truth["instances"]] == ["access_key_created#1", "access_key_created#2"]


def test_s3_layout(tmp_path, root):
    out = tmp_path / "s3"
    s = generate(hours=3, seed=2, scenarios=["cloudtrail_stop_logging", "bulk_s3_read"], fmt="s3", out=out, pack_root=root)
    files = sorted(p for p in out.rglob("*.json.gz"))
    assert len(files) == s.files > 10
    total = 0
    assert s.truth_path == str(tmp_path / "s3.truth.json")  # beside the directory, not inside
    assert not (out / "ground_truth.json").exists() and {p.name for p in out.iterdir()} == {"AWSLogs"}
    truth = json.loads((tmp_path / "s3.truth.json").read_text())
    seen_truth = set()
    for f in files:
        rel = str(f.relative_to(out))
        m = S3_NAME.match(rel)
        assert m, rel
        raw = f.read_bytes()
        assert raw[:2] == b"\x1f\x8b" and raw[4:8] == b"\0\0\0\0"  # gzip, mtime 0
        doc = json.loads(gzip.decompress(raw))
        recs = doc["Records"]
        assert set(doc) == {"Records"} and recs
        total += len(recs)
        accounts = {r["recipientAccountId"] for r in recs}
        regions = {r["awsRegion"] for r in recs}
        assert accounts == {m.group(1)} and regions == {m.group(2)}
        times = sorted(r["eventTime"] for r in recs)
        # one file holds at most a 5-minute window, delivered after its last record
        assert times[0][:15] == times[-1][:15] or int(times[-1][14:16]) // 5 == int(times[0][14:16]) // 5
        delivered = m.group(6)
        assert delivered > times[-1].replace("-", "").replace(":", "")[:13]
        seen_truth |= {r["eventID"] for r in recs} & set(truth["events"])
    assert total == s.records
    assert seen_truth == set(truth["events"])
    again = tmp_path / "s3b"
    generate(hours=3, seed=2, scenarios=["cloudtrail_stop_logging", "bulk_s3_read"], fmt="s3", out=again, pack_root=root)
    assert _tree_digest(out) == _tree_digest(again)


def test_iter_baseline_matches_written_ndjson(tmp_path, root, baseline):
    out = tmp_path / "b.ndjson"
    generate(baseline=baseline, hours=2, seed=9, out=out, pack_root=root)
    written = [json.loads(line) for line in out.read_text().splitlines()]
    assert written == list(iter_baseline(baseline, None, 2, 9))


def test_cli_list_and_days(tmp_path, root, capsys):
    assert main(["--pack", str(root), "generate", "--list-scenarios"]) == 0
    listed = capsys.readouterr().out
    assert "manual_endpoint_deployment" in listed and "near_miss" in listed
    out = tmp_path / "d.ndjson"
    assert main(["--pack", str(root), "generate", "--days", "1", "--no-progress", "--out", str(out)]) == 0
    assert "records" in capsys.readouterr().err
    assert out.stat().st_size > 0


def test_generate_streams_hour_by_hour(root, baseline):
    from smguard.generate.output import merged_rows, place_scenarios
    from smguard.generate.scenario import load_scenario

    sc = load_scenario(root / "generators/scenarios/access_key_created.yml", baseline)
    start = __import__("datetime").datetime(2026, 11, 24, tzinfo=__import__("datetime").UTC)
    inj = place_scenarios([(sc, None)], start, 5, 1)
    truth = {"events": {}, "instances": []}
    batches = list(merged_rows(baseline, start, 5, 1, inj, truth))
    assert len(batches) == 5  # one batch per hour: memory holds one hour
    flat = [r for b in batches for r in b]
    assert [r[0] for r in flat] == sorted(r[0] for r in flat)
    assert len(truth["events"]) == 1


def test_name_at_time_strings(tmp_path, root):
    s = generate(hours=2, seed=1, scenarios=["access_key_created@2026-11-23T01:30:00Z"], out=tmp_path / "n.ndjson", pack_root=root)
    truth = json.loads(Path(s.truth_path).read_text())
    assert truth["instances"][0]["at"] == "2026-11-23T01:30:00Z"


def test_s3_layout_reads_back_through_the_log_reader(tmp_path, root):
    from smguard.cloudtrail.reader import iter_records
    from smguard.cloudtrail.schema import validate_record

    out = tmp_path / "s3r"
    s = generate(hours=2, seed=4, scenarios=["bulk_s3_read"], fmt="s3", out=out, pack_root=root)
    recs = list(iter_records(out / "AWSLogs", strict=True))
    assert len(recs) == s.records
    assert all(not validate_record(r.record, strict=True) for r in recs)
    assert all(r.source.endswith(".json.gz") for r in recs)


# --- issue 11: scannable S3 output, atomic writes, where the ground truth goes ----------------

def test_s3_output_is_scannable_as_is(tmp_path, root, capsys):
    """Item 12: the S3 directory holds only logs (the sidecar is beside it) and is read in
    delivery order, so strict checks pass and the scan does not see logs out of time order."""
    out = tmp_path / "logs"
    assert main(["--pack", str(root), "generate", "--hours", "3", "--seed", "3", "--format", "s3",
                 "--out", f"{out}/", "--no-progress"]) == 0
    assert "ground truth " + str(tmp_path / "logs.truth.json") in capsys.readouterr().err
    assert (tmp_path / "logs.truth.json").is_file() and [p.name for p in out.iterdir()] == ["AWSLogs"]
    assert main(["--pack", str(root), "check-logs", "--strict-schema", str(out)]) == 0
    capsys.readouterr()
    assert main(["--pack", str(root), "scan", "--strict", str(out)]) == 0
    captured = capsys.readouterr()
    assert "not in time order" not in captured.err
    assert re.search(r"^\d+ events, ", captured.out, re.M)


def test_directory_files_are_read_in_delivery_stamp_order(tmp_path):
    from smguard.cloudtrail.reader import expand_paths

    names = {
        "AWSLogs/111111111111/CloudTrail/us-east-1/2026/11/23/111111111111_CloudTrail_us-east-1_20261123T0110Z_a.json.gz": 3,
        "AWSLogs/111111111111/CloudTrail/us-east-1/2026/11/23/111111111111_CloudTrail_us-east-1_20261123T0010Z_b.json.gz": 0,
        "AWSLogs/222222222222/CloudTrail/eu-west-1/2026/11/23/222222222222_CloudTrail_eu-west-1_20261123T0015Z_c.json.gz": 1,
        "AWSLogs/222222222222/CloudTrail/eu-west-1/2026/11/23/222222222222_CloudTrail_eu-west-1_20261123T0105Z_d.json.gz": 2,
    }
    for rel in names:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b"")
    (tmp_path / "plain.ndjson").write_text("")
    got = [str(p.relative_to(tmp_path)) for p in expand_paths([tmp_path])]
    assert got == ["plain.ndjson", *sorted(names, key=names.__getitem__)]


def _leftovers(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.mark.parametrize("fmt", ["ndjson", "s3"])
def test_ctrl_c_leaves_nothing_behind(tmp_path, root, capsys, monkeypatch, fmt):
    """Item 16: interrupted after some output was written: no partial file, no temporary, no
    ground truth; a message on stderr; exit 130."""
    from smguard.generate import output

    calls = {"n": 0}
    real = output.NdjsonSink.write_many if fmt == "ndjson" else output.S3Sink.write_many

    def interrupting(self, rows):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        real(self, rows)

    monkeypatch.setattr(output.NdjsonSink if fmt == "ndjson" else output.S3Sink, "write_many", interrupting)
    out = tmp_path / "out" / ("x.ndjson" if fmt == "ndjson" else "s3")
    rc = main(["--pack", str(root), "generate", "--hours", "6", "--format", fmt, "--out", str(out),
               "--scenario", "access_key_created", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 130 and calls["n"] == 3
    assert f"generate: interrupted; nothing written to {out} (partial output removed)" in err
    assert _leftovers(tmp_path / "out") == []


def test_an_error_while_writing_leaves_nothing_behind(tmp_path, root, monkeypatch):
    from smguard.generate import output

    def failing(self, rows):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output.NdjsonSink, "write_many", failing)
    with pytest.raises(OSError):
        generate(hours=1, out=tmp_path / "x.ndjson", pack_root=root)
    assert _leftovers(tmp_path) == []


def test_dev_null_gets_no_sidecar(root, capsys):
    """Item 17: a device is written in place and gets no ground truth beside it."""
    assert not Path("/dev/null.truth.json").exists()
    assert main(["--pack", str(root), "generate", "--hours", "1", "--out", "/dev/null", "--no-progress"]) == 0
    assert Path("/dev/null").is_char_device() and not Path("/dev/null.truth.json").exists()
    assert "ground truth not written" in capsys.readouterr().err


def test_stdout_drops_no_ground_truth_in_the_working_directory(tmp_path, root, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--pack", str(root), "generate", "--hours", "1", "--out", "-", "--no-progress"]) == 0
    assert capsys.readouterr().out.count("\n") > 10
    assert _leftovers(tmp_path) == []
    truth = tmp_path / "t" / "truth.json"
    assert main(["--pack", str(root), "generate", "--hours", "1", "--scenario", "access_key_created",
                 "--truth", str(truth), "--no-progress"]) == 0
    assert len(json.loads(truth.read_text())["events"]) == 1
    assert _leftovers(tmp_path) == ["t", "t/truth.json"]


def test_s3_refuses_a_non_empty_directory_and_a_sidecar_inside(tmp_path, root, capsys):
    out = tmp_path / "s3"
    out.mkdir()
    (out / "old.json").write_text("{}")
    rc = main(["--pack", str(root), "generate", "--hours", "1", "--format", "s3", "--out", str(out), "--no-progress"])
    assert rc == 1 and f"{out}: exists and is not empty" in capsys.readouterr().err
    rc = main(["--pack", str(root), "generate", "--hours", "1", "--format", "s3", "--out", str(tmp_path / "new"),
               "--truth", str(tmp_path / "new" / "t.json"), "--no-progress"])
    assert rc == 1 and "cannot be inside the log directory" in capsys.readouterr().err
    assert _leftovers(tmp_path) == ["s3", "s3/old.json"]
