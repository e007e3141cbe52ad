"""Every real ESCU CloudTrail search in the vendored corpus parses and runs, or fails loudly.

The corpus is read-only input (never edited); its filter macros are ``search *`` by
that project's convention and a few lookups it references are not shipped with it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from smguard.spl import MacroDef, SearchContext, SplError, UnsupportedError, run

# Vendored with its LICENSE and COMMIT (tests/data/corpus/escu/), so a fresh clone runs it.
CORPUS = Path(__file__).resolve().parents[1] / "data" / "corpus" / "escu" / "escu_cloudtrail_searches.json"


def _load():
    return json.loads(CORPUS.read_text())


DATA = _load()
EXPECTED_FAILURES = {
    "AWS Exfiltration via Anomalous GetObject API Activity": (UnsupportedError, "anomalydetection"),
    "Detect Spike in S3 Bucket deletion": (SplError, "unknown lookup 's3_deletion_baseline'"),
}


def _ctx() -> SearchContext:
    macros = {}
    for name, m in DATA["macros"].items():
        args = tuple(m.get("arguments", ()))
        md = MacroDef(name, m["definition"], args)
        macros[md.stanza] = md
    for s in DATA["searches"]:
        for f in re.findall(r"`(\w+_filter)`", s["search"]):
            macros[f] = MacroDef(f, "search *")
    return SearchContext(macros=macros)


@pytest.mark.parametrize("item", DATA["searches"], ids=[s["name"] for s in DATA["searches"]])
def test_corpus_search_runs_or_fails_loudly(item):
    ctx = _ctx()
    events = [{"_time": 1.0, "eventID": "x", "sourcetype": "aws:cloudtrail", "_raw": "{}", "eventName": "Nothing"}]
    if item["name"] in EXPECTED_FAILURES:
        exc, msg = EXPECTED_FAILURES[item["name"]]
        with pytest.raises(exc, match=re.escape(msg)):
            run(item["search"], events, ctx, now=100.0)
        return
    res = run(item["search"], events, ctx, now=100.0)
    # nothing in the single unrelated event can satisfy any of these detections' base search
    assert all("count" not in r or r["count"] != "0" for r in res.rows)


def test_corpus_is_not_empty():
    assert len(DATA["searches"]) >= 50
