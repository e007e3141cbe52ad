"""``smguard export sigma``: valid Sigma, and the same events through an engine we did not write.

The second engine is pySigma's DuckDB backend executed by DuckDB; the comparison is on the
events each side selects (our compiled SPL up to its ``stats``; the Sigma base rule), over
generated activity with every scenario and over real CloudTrail captured by Stratus Red Team.
"""

from __future__ import annotations

import pytest

from smguard.sigma.check import duckdb_event_ids, selection_spl, spl_event_ids
from smguard.sigma.export import export_pack, index_markdown
from smguard.sigma.validate import validate_rule_text


@pytest.fixture(scope="module")
def exports(pack):
    return export_pack(pack)


def test_every_structured_detection_is_exported_and_raw_spl_says_why(pack, exports):
    structured = {d.name for d in pack.detections if not d.is_raw}
    assert {e.detection.name for e in exports if e.exported} == structured
    for e in exports:
        if e.detection.is_raw:
            assert e.reason and e.reason.startswith("raw SPL ("), e.detection.name
    table = index_markdown(exports)
    assert f"{len(structured)} of {len(pack.detections)} detections exported" in table


def test_every_exported_rule_passes_pysigma_validators(exports):
    problems = {e.detection.name: validate_rule_text(e.text()) for e in exports if e.exported}
    assert {k: v for k, v in problems.items() if v} == {}


def test_thresholds_become_correlation_rules_referencing_the_base_rule(exports):
    with_threshold = [e for e in exports if e.exported and e.detection.search.get("threshold")]
    assert with_threshold
    for e in with_threshold:
        base, corr = e.rules
        body = corr["correlation"]
        assert body["rules"] == [base["id"]]
        assert body["type"] in ("event_count", "value_count")
        assert body["timespan"] and body["group-by"]


def test_allow_lists_become_filters_with_the_shipped_rows_never_dropped(pack, exports):
    for e in exports:
        if not e.exported:
            continue
        for ref in e.detection.search.get("allow") or []:
            lists = e.rules[0]["smguard"]["lists"]
            entry = next(v for v in lists.values() if v["lookup"] == ref["lookup"] and v["kind"] == "allow")
            if entry["inline"]:
                name = next(k for k, v in lists.items() if v is entry)
                assert f"not {name}" in e.rules[0]["detection"]["condition"]
            else:  # a placeholder: said in the rule, never silent
                assert any(ref["lookup"] in n for n in e.rules[0]["smguard"]["notes"]), e.detection.name


def test_duckdb_selects_the_same_events_as_our_spl(pack, exports, records, events):
    """Rule by rule, on generated and real records: equal sets (placeholders: Sigma's is a superset)."""
    ctx = pack.context()
    compared = nonempty = widened = 0
    for e in exports:
        if not e.exported:
            continue
        ours = spl_event_ids(selection_spl(pack.compiled(e.detection).spl), events, ctx)
        theirs = duckdb_event_ids(e.text(), records)
        compared += 1
        nonempty += bool(ours)
        if e.placeholders:  # the list Sigma cannot compute is missing, so Sigma selects more
            assert ours <= theirs, e.detection.name
            widened += bool(theirs - ours)
        else:
            assert ours == theirs, (e.detection.name, sorted(ours - theirs)[:3], sorted(theirs - ours)[:3])
    assert compared == sum(e.exported for e in exports)
    assert nonempty >= 30, "too few rules select anything: the comparison would prove little"
    assert widened >= 1, "no placeholder widened its rule on this data: the superset check proved nothing"


def test_real_captures_alone_agree_and_are_not_vacuous(pack, exports, real_records):
    from smguard.testing.runner import events_of

    events = events_of(pack, real_records)
    hits = 0
    for e in exports:
        if e.exported and not e.placeholders:
            ours = spl_event_ids(selection_spl(pack.compiled(e.detection).spl), events, pack.context())
            assert ours == duckdb_event_ids(e.text(), real_records), e.detection.name
            hits += bool(ours)
    assert hits >= 3  # StopLogging/DeleteTrail, trail event selectors, GuardDuty detector deletion


def test_unpatched_duckdb_backend_misses_exactly_the_negations_over_missing_fields(pack, exports, records):
    """Why the check wraps ``NOT``: SQL's NOT over NULL drops records Sigma's ``not`` keeps."""
    from sigma.processing.pipeline import ProcessingPipeline
    from sigma_backend_duckdb import DuckDBBackend

    e = next(x for x in exports if x.detection.name == "SageMaker Inter-Container Traffic Not Encrypted")
    plain = duckdb_event_ids(e.text(), records, backend=DuckDBBackend(processing_pipeline=ProcessingPipeline()))
    fixed = duckdb_event_ids(e.text(), records)
    missed = fixed - plain
    assert missed, "the plain backend should miss jobs that leave the encryption flag out"
    by_id = {r["eventID"]: r for r in records}
    for event_id in missed:  # each one leaves the negated flag out entirely
        rp = by_id[event_id].get("requestParameters") or {}
        flags = [rp.get("enableInterContainerTrafficEncryption"),
                 (rp.get("networkConfig") or {}).get("enableInterContainerTrafficEncryption"),
                 (rp.get("trainingJobDefinition") or {}).get("enableInterContainerTrafficEncryption")]
        assert all(f is None for f in flags)


def test_readme_table_is_current(pack, exports):
    from smguard.testing.coverage import readme_block

    text = (pack.root / "README.md").read_text()
    assert readme_block(text, "sigma") == index_markdown(exports, compact=True).strip("\n"), \
        "run: smguard export sigma --readme README.md"
