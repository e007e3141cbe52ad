"""The parse cache is sound only if nothing changes an AST after the parser built it.

:func:`smguard.spl.parser.parse` shares one :class:`~smguard.spl.ast.Pipeline` per
distinct text between every caller (planner, scanner, checks). These tests plan and run
every shipped detection's search (optimizer on and off) and a set of searches using
every command the parser knows, then compare the shared AST with a fresh parse of the
same text: a rule or command that mutated a node in place would make the cached AST
differ, and later runs of that text would silently run another search.
"""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from smguard.model import load_pack
from smguard.spl import run
from smguard.spl.macros import expand_macros
from smguard.spl.parser import parse, parse_pipeline

ROOT = Path(__file__).resolve().parents[2]
PACK = load_pack(ROOT)
CTX = PACK.context()
SPLS = [PACK.compiled(d).spl for d in sorted(PACK.detections, key=lambda d: d.name)]

EVENTS = [
    {"_time": 1_700_000_000.0 + i * 60, "eventName": n, "eventSource": "s3.amazonaws.com", "index": "aws",
     "sourcetype": "aws:cloudtrail", "eventID": f"e{i}", "_raw": "{}", "x": str(i % 3),
     "userIdentity.arn": f"arn:aws:iam::1:user/u{i % 2}"}
    for i, n in enumerate(["GetObject", "PutObject", "GetObject", "DeleteBucket"] * 3)
]

COMMANDS = [
    "search x=1 | eval y=x*2, z=if(y>1, \"a\", \"b\") | where y>=0 | stats count sum(y) as s by z",
    "search * | streamstats time_window=10m count as c dc(eventName) as d by x | eventstats max(c) as m",
    "search * | sort 0 -_time | dedup x | table _time x eventName | rename x as xx | fields - _raw",
    "search * | rex field=eventName \"(?<head>Get|Put)\" | fillnull value=none head | head 3 | reverse",
    "search * | bin _time span=1h | stats values(eventName) as names by _time | mvexpand names",
    "search eventName IN (GetObject, Put*) NOT x=2 | tail 2 | append [search x=0 | stats count]",
    "search * | join type=left x [search x=1 | stats count as n by x] | spath input=_raw | eval bucket=\"b\" | lookup sagemaker_approved_buckets s3_uri as bucket OUTPUT purpose | inputlookup append=true sagemaker_approved_buckets",
    "| multisearch [search x=0] [search x=1] | sort 0 x",
    "| makeresults count=2 | eval n=split(\"0,1,2\", \",\") | mvexpand n | convert ctime(_time) | regex n=\"[0-2]\"",
]


def _fresh(text: str):
    return parse_pipeline(text, 0, len(text))


@pytest.mark.parametrize("optimize", [True, False])
def test_planning_and_running_every_shipped_search_leaves_its_ast_unchanged(optimize):
    for spl in SPLS:
        text = expand_macros(spl, CTX)
        shared = parse(text)
        before = copy.deepcopy(shared)
        run(spl, EVENTS, CTX, now=1_700_003_600.0, optimize=optimize)
        run(spl, EVENTS, CTX, now=1_700_003_600.0, earliest=1_700_000_000.0, latest=1_700_003_600.0, optimize=optimize)
        assert parse(text) is shared, "one text, one shared AST"
        assert shared == before == _fresh(text), spl[:80]


@pytest.mark.parametrize("spl", COMMANDS)
def test_running_each_command_leaves_its_ast_unchanged(spl):
    shared = parse(spl)
    before = copy.deepcopy(shared)
    first = run(spl, EVENTS, CTX, now=1_700_003_600.0)
    second = run(spl, EVENTS, CTX, now=1_700_003_600.0)
    assert shared == before == _fresh(spl)
    assert (first.rows, first.event_ids) == (second.rows, second.event_ids)


def test_a_failing_text_fails_every_time():
    from smguard.spl.errors import SplError

    for _ in range(2):
        with pytest.raises(SplError, match="evl"):
            parse("search x=1 | evl y=2")
