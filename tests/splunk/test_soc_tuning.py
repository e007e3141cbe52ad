"""The SOC's part of an allow-list (KV store, offline: lookups/<name>_soc.csv) silences its alert.

For each match type (exact, WILDCARD, CIDR) a real detection's firing case is run, an entry
for the entity it reported is added to the SOC part only, and the same case must go silent.
KV store lookups match case-sensitively (case_sensitive_match "does not apply to KV Store
lookups": https://help.splunk.com/en/splunk-enterprise/manage-knowledge-objects/knowledge-management-manual/9.1/use-the-configuration-files-to-configure-lookups/add-field-matching-rules-to-your-lookup-configuration),
so an entry in the wrong case does not.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from smguard.compile.confs import collections_conf, transforms_conf
from smguard.model import load_pack
from smguard.splunk.deploy import parse_conf
from smguard.testing.expect import parse_count
from smguard.testing.runner import run_case


def write_soc_rows(root: Path, lookup: str, fields: tuple[str, ...], rows: list[dict[str, str]]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(fields), lineterminator="\n")
    w.writeheader()
    w.writerows([{f: r.get(f, "") for f in fields} for r in rows])
    (root / "lookups" / f"{lookup}_soc.csv").write_text(buf.getvalue())


def _entry(value: str, match: str) -> str:
    if match == "CIDR":
        return f"{value}/32"
    if match == "WILDCARD":
        return value[: max(1, len(value) // 2)] + "*"
    return value


def _candidates(pack, match: str):  # noqa: ANN001, ANN202
    """(detection, positive case, allow ref, lookup) whose allow field is in the search output."""
    for det in sorted(pack.detections, key=lambda d: d.name):
        if det.is_raw:
            continue
        output = set(pack.compiled(det).output)
        for ref in det.search.get("allow", []):
            lk = pack.lookups[ref["lookup"]]
            column = ref.get("column", ref["field"])
            if lk.match_type.get(column, "EXACT") != match or ref["field"] not in output:
                continue
            for case in det.tests:
                if parse_count(case["expect"]["results"]).low >= 1:
                    yield det, case, ref, lk
                    break


@pytest.mark.parametrize("match", ["EXACT", "WILDCARD", "CIDR"])
def test_a_soc_entry_silences_its_alert(pack_copy: Path, match: str) -> None:
    pack = load_pack(pack_copy)
    found = next(_candidates(pack, match), None)
    assert found is not None, f"no detection with a {match} allow-list on an output field"
    det, case, ref, lk = found
    before = run_case(pack, det, case)
    assert before.ok and before.rows, before.failures
    column = ref.get("column", ref["field"])
    values = sorted({str(v) for r in before.rows for v in (r[ref["field"]] if isinstance(r[ref["field"]], list)
                                                             else [r[ref["field"]]])})
    # Wrong case first: the KV store part matches case-sensitively, so this must not silence it.
    if match != "CIDR":
        write_soc_rows(pack_copy, lk.name, lk.fields, [{k: _entry(v, match).upper() for k in lk.key}
                                                       | {column: _entry(v, match).upper()} for v in values])
        upper = load_pack(pack_copy)
        if any(v != v.upper() for v in values):
            assert run_case(upper, upper.detection(det.id), case).rows, "a KV store entry matched case-insensitively"
    write_soc_rows(pack_copy, lk.name, lk.fields, [{k: "x" for k in lk.key} | {column: _entry(v, match)}
                                                   for v in values])
    tuned = load_pack(pack_copy)
    assert len(tuned.lookups[lk.name].soc_rows) == len(values)
    after = run_case(tuned, tuned.detection(det.id), case)
    assert after.rows == [], f"{det.name}: SOC entries {values} did not silence it"
    # The shipped CSV was not touched: the exception lives only in the SOC part.
    assert tuned.lookups[lk.name].rows == pack.lookups[lk.name].rows


def test_every_allow_list_has_a_kv_collection_and_lookup_with_the_same_match_types(pack_copy: Path) -> None:
    pack = load_pack(pack_copy)
    transforms = {k: dict(v) for k, v in parse_conf(transforms_conf(pack)).items()}
    collections = {k: dict(v) for k, v in parse_conf(collections_conf(pack)).items()}
    allow = pack.allow_lists()
    assert allow and set(collections) == {f"{lk.name}_soc" for lk in allow}
    for lk in allow:
        soc = transforms[f"{lk.name}_soc"]
        assert soc["external_type"] == "kvstore" and soc["collection"] == f"{lk.name}_soc"
        assert soc["fields_list"] == ", ".join(("_key", *lk.fields))
        assert soc.get("match_type") == transforms[lk.name].get("match_type")
        assert "case_sensitive_match" not in soc  # does not apply to KV store lookups
        assert all(collections[f"{lk.name}_soc"][f"field.{f}"] == "string" for f in lk.fields)


def test_a_bad_soc_row_is_reported_with_its_line(pack_copy: Path) -> None:
    from smguard.model import check_pack

    (pack_copy / "lookups" / "corporate_egress_ranges_soc.csv").write_text("cidr,egress,owner\nnot-a-range,x,y\n")
    _, problems = check_pack(pack_copy)
    assert [str(p).split("/pack/", 1)[-1] for p in problems] == [
        "lookups/corporate_egress_ranges_soc.csv:2: cidr='not-a-range' is not a CIDR range"]


def test_the_app_readme_says_where_each_kind_of_tuning_goes(pack_copy: Path) -> None:
    from smguard.package.app import app_files

    pack = load_pack(pack_copy)
    files = app_files(pack)
    readme = files["README.md"].decode()
    assert "Installing a new version replaces every file this app ships" in readme
    assert "Do **not** edit `lookups/*.csv`" in readme
    for where in ("KV store collection `<allow-list>_soc`", "`<name>_filter` macro", "local/savedsearches.conf"):
        assert where in readme
    for lk in pack.allow_lists():
        assert f"your entries: KV store collection `{lk.name}_soc`" in readme
    # The SOC's rows are never shipped: only the defaults are app files.
    assert not [p for p in files if p.endswith("_soc.csv")]
    assert "default/collections.conf" in files
