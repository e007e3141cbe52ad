"""scan extracts only the fields detections read: same results as full extraction.

Filter pushdown (optimizer on/off) and run-constant ``now()`` in a tail (staged runs vs
every run whole) are held to the plain executor per scheduled run by the differential
oracle (``test_oracle.py``, schedule modes with the optimizer on and off), which asserts
that every detection those plans change alerts there; they are not scanned again here.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.cli import main
from smguard.cloudtrail import addon
from smguard.cloudtrail.fields import Extractor, extractor, to_event
from smguard.cloudtrail.reader import iter_records
from smguard.model import load_pack
from smguard.scan import scan, specs_from_pack
from smguard.spl.analysis import pipeline_fields
from smguard.spl.parser import parse


@pytest.fixture(scope="module")
def day_of_logs(tmp_path_factory) -> Path:
    """Four hours of baseline with every scenario injected (generator defaults, fixed seed):
    enough for most detections to alert, a sixth of the cost of a day."""
    root = Path(__file__).resolve().parents[2]
    out = tmp_path_factory.mktemp("lazy") / "day.ndjson"
    assert main(["--pack", str(root), "generate", "--hours", "4", "--seed", "3", "--all-scenarios",
                 "--out", str(out), "--no-progress"]) == 0
    return out


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def pack():
    return load_pack(ROOT)


def pack_scan(pack, logs, specs=None, **kw) -> tuple:
    """Scan the logs with the pack (or some of its detections): what the tests compare
    (events, records read, runs per detection, the alerts as JSON)."""
    res = scan(specs if specs is not None else specs_from_pack(pack), [str(logs)], pack.context(),
               index=pack.settings.index, sourcetype=pack.settings.sourcetype, now=1.8e9, **kw)
    return res.events, res.report.records, [a.runs for a in res.alerts], json.dumps(res.to_json(), sort_keys=True)


def alerting(outcome: tuple) -> int:
    return len(json.loads(outcome[3])["alerts"])


@pytest.fixture(scope="module")
def one_process(day_of_logs, pack) -> tuple:
    """The whole pack over the day in one process with the defaults (lazy extraction): the
    reference several tests compare against, computed once."""
    return pack_scan(pack, day_of_logs)


def test_lazy_scan_equals_full_extraction(day_of_logs, pack, one_process):
    full = pack_scan(pack, day_of_logs, lazy=False)
    assert alerting(one_process) > 10, "the scenarios should make detections alert"
    assert one_process == full


@pytest.mark.parametrize("jobs", [2, 3])
def test_scanning_in_parts_leaves_the_pack_results_unchanged(day_of_logs, pack, one_process, jobs, monkeypatch):
    """Parts replay the runs inside their stretch of time, the merge the rest; throttling
    over all of them: the same alerts, runs and counts as one process."""
    from smguard.scan import partition

    monkeypatch.setattr(partition, "MIN_PART_BYTES", 1 << 16)  # four hours still cut into parts
    assert len(partition.split_logs([str(day_of_logs)], jobs)) == jobs
    parts = pack_scan(pack, day_of_logs, jobs=jobs)
    assert alerting(parts) > 10
    assert parts == one_process


def test_extractor_gives_requested_fields_exactly(day_of_logs):
    """Every requested field (raw paths, aliases, calculated, lookups) as to_event has it."""
    # every 8th record of the six hours (about 1,350; streamed, the logs are never held whole)
    sample = [r for i, r in enumerate(iter_records([str(day_of_logs)])) if i % 8 == 0]
    assert len(sample) > 1000
    rnd = random.Random(7)
    full = [to_event(r, index="aws", sourcetype="aws:cloudtrail") for r in sample]
    every = sorted({k for ev in full for k in ev})
    compiled = addon.load()
    addon_fields = sorted({a for _s, a in compiled.aliases} | {c.name for c in compiled.calculated}
                          | {f for lk in compiled.lookups for f in lk.outputs})
    wanted_sets = [frozenset([f]) for f in addon_fields] + [frozenset(rnd.sample(every, 12)) for _ in range(40)]
    for wanted in wanted_sets:
        ex = Extractor(wanted)
        for rec, ev in zip(sample, full, strict=True):
            got = ex(rec, index="aws", sourcetype="aws:cloudtrail")
            for f in wanted:
                assert got.get(f) == ev.get(f), (f, rec.line)
            assert got["_time"] == ev["_time"] and got.get("eventID") == ev.get("eventID")
            assert ("_raw" in got) is ("_raw" in ex.fields)  # read by a wanted field, or not made
        assert not any(f.startswith("date_") for f in got) or ex.dates


def test_extractor_follows_a_recompiled_addon(monkeypatch, tmp_path):
    rec = {"eventTime": "2026-11-23T10:00:00Z", "eventName": "X", "sourceIPAddress": "1.2.3.4"}
    ex = extractor(frozenset({"where_from"}))
    assert "where_from" not in ex(rec)
    text = addon.PROPS_PATH.read_text().replace("[aws:cloudtrail]\n", "[aws:cloudtrail]\nFIELDALIAS-w = sourceIPAddress AS where_from\n")
    conf = tmp_path / "props.conf"
    conf.write_text(text)
    changed = addon.compile_addon(conf)
    monkeypatch.setattr(addon, "load", lambda: changed)
    assert ex(rec)["where_from"] == "1.2.3.4" == to_event(rec)["where_from"]


@pytest.mark.parametrize(("spl", "fields"), [
    ("index=aws a=1 | stats count by b", {"a", "b", "index"}),
    ("index=aws \"AccessDenied\" | stats count by b", {"_raw", "b", "index"}),  # a bare term reads _raw
    ("index=aws a=1 | rex \"(?<b>x+)\" | stats count by b", {"_raw", "a", "b", "index"}),
    ("index=aws a=1 | eval c=d+1 | where c>2 | table c e", {"a", "c", "d", "e", "index"}),
    ("index=aws a=1 | lookup t k AS src OUTPUT v | stats values(v) by x", {"a", "src", "v", "x", "index"}),
    ("index=aws a=1", None),  # the events themselves are the results
    ("index=aws a=1 | stats values(*) as * by b", None),
    ("index=aws a=1 | table *", None),
    ("index=aws a=1 | spath | stats count by b", None),
    ("index=aws a=1 | fillnull | stats count by b", None),
    ("index=aws a=1 [search index=aws b=2 | fields c] | stats count", None),
])
def test_pipeline_fields(spl, fields):
    got = pipeline_fields(parse(spl))
    if fields is None:
        assert got is None
    else:
        assert got is not None and fields <= got and {"_time", "eventID"} <= got
        assert ("_raw" in got) is ("_raw" in fields)


def test_prefilter_error_code_is_the_calculated_one(day_of_logs):
    from smguard.scan.logs import raw_value

    checked = 0
    for i, rec in enumerate(iter_records([str(day_of_logs)])):
        if i % 3 == 0:
            assert raw_value(rec, "errorCode") == to_event(rec)["errorCode"]
            checked += 1
    assert checked > 3000


@pytest.mark.parametrize("args", [(3, 2.5), (3.0, 1), (0.1 + 0.2, 0.3), (1e20, 5), (-2.5, -2), (1, "10"), (2.0,),
                                  (1e16, 9999999999999998.0), ("a", 1), (float("nan"), 1), (True, 2), (["3", "4"], 1.0)])
def test_min_max_of_numbers_unchanged_by_the_fast_path(args):
    """max()/min() give exactly (value and type) what they gave via num(mv(value))."""
    from smguard.spl import ast as A
    from smguard.spl.evalfuncs import EvalEnv, compile_expr, mv
    from smguard.spl.values import num

    def slow(is_max):
        xs = [x for v in args for x in mv(v)]
        ns = [num(x) for x in xs]
        if all(n is not None for n in ns):
            return (max if is_max else min)(ns)
        return (max if is_max else min)(xs)

    refs = tuple(A.FieldRef(f"a{i}") for i in range(len(args)))
    row = {f"a{i}": v for i, v in enumerate(args)}
    for name, is_max in (("max", True), ("min", False)):
        got = compile_expr(A.Call(name, refs), EvalEnv(0.0))(row)
        want = slow(is_max)
        assert type(got) is type(want) and (got == want or (got != got and want != want))


@pytest.mark.parametrize(("tail", "n_ops", "fields"), [
    # filters reading raw-readable fields (aliases, dotted paths) are run on the raw record
    ("| where isnotnull(mvfind(src, \"^10\\.\")) | eval r='userIdentity.sessionContext.sessionIssuer.arn'"
     " | where like(r, \"%Role%\") | stats count", 3, ("src", "userIdentity.sessionContext.sessionIssuer.arn")),
    # a field set by an earlier eval (or OUTPUT lookup) is not read from the record
    ("| eval x=if(eventSource==\"s3.amazonaws.com\", 1, null()) | where isnotnull(x) | stats count", 2, ("eventSource",)),
    # trailing non-filters are not run early
    ("| where region!=\"eu-west-1\" | eval y=1 | stats count", 1, ("region",)),
    # stops at a field only extraction makes (add-on calculated, arrays, _time/date_*)
    ("| where user_arn=\"x\" | stats count", 0, ()),
    ("| where src=\"1.2.3.4\" | where 'resources{}.ARN'=\"a\" | stats count", 1, ("src",)),
    ("| where date_hour>3 | stats count", 0, ()),
    ("| lookup t k AS src OUTPUTNEW v AS user | where isnull(user) | stats count", 0, ()),
    # a top-level key only JSON extraction writes is read raw (an OUTPUTNEW lookup reads its output)
    ("| lookup t k AS src OUTPUTNEW v | where isnull(v) | stats count", 2, ("src", "v")),
    # the base search's residual runs first (smguard.spl.planner.raw_base_filter)
    ("vpcEndpointId!=\"vpce-1\" | where src=\"1.2.3.4\" | stats count", 2, ("src", "vpcEndpointId")),
    ("NOT user_arn=* | where src=\"1.2.3.4\" | stats count", 1, ("src",)),
    ("| search NOT \"term\" | stats count", 0, ()),
    # an enrichment no later filter reads is passed over (the principal's case() before an
    # allow-list); the allow-list's mvexpand judges every value of the list
    ("| eval p=coalesce(user_arn, src) | eval v=src | mvexpand v | lookup t k AS v OUTPUT v AS hit "
     "| where isnull(hit) | stats count by p", 4, ("src",)),
    # ... but not when a filter reads what it set, it rewrites a raw field read after it,
    # it can fail on a value (a regex, relative_time), or it is a filter itself
    ("| eval p=coalesce(user_arn, src) | where p=\"x\" | stats count", 0, ()),
    ("| eval src=user_arn | where src=\"1.2.3.4\" | stats count", 0, ()),
    ("| eval p=replace(user_arn, \"a\", \"b\") | mvexpand src | where src=\"1.2.3.4\" | stats count by p", 0, ()),
    ("| eval p=coalesce(user_arn, \"b\") | mvexpand src | where src=\"1.2.3.4\" | stats count by p", 2, ("src",)),
    ("| where user_arn=\"x\" | where src=\"1.2.3.4\" | stats count", 0, ()),
    ("| lookup t k AS user_arn OUTPUT v | where src=\"1.2.3.4\" | where isnull(v) | stats count", 1, ("src",)),
    # a lookup passed over fills a raw field when missing (OUTPUTNEW): a filter on it stops the run
    ("| lookup t k AS user_arn OUTPUTNEW v AS src | where src=\"1.2.3.4\" | stats count", 0, ()),
])
def test_raw_prefix(tail, n_ops, fields):
    from smguard.scan.logs import prefilterable
    from smguard.spl.context import LookupDef, SearchContext
    from smguard.spl.planner import plan_search

    ctx = SearchContext(lookups={"t": LookupDef("t", ("k", "v"), ({"k": "1.2.3.4", "v": "a"},))})
    plan = plan_search("index=aws eventName=X " + tail, ctx, list, 1.8e9, all_time=False, raw_readable=prefilterable)
    assert len(plan.raw_ops) == n_ops
    assert set(plan.raw_fields) == set(fields)


_RAW_FIELDS = ["eventName", "signature", "command", "eventSource", "dvc", "src", "region", "readOnly",
               "errorCode", "requestParameters.name", "requestParameters.a.b", "vpcEndpointId"]
_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.floats(-2, 2, width=16),
                     st.sampled_from(["x", "", "AccessDenied", "Failure", "1.2.3.4"]))
_VALUES = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=2),
    st.dictionaries(st.sampled_from(["name", "a", "b", "a.b", "ConsoleLogin"]), inner, max_size=2)), max_leaves=4)
_KEYS = st.sampled_from([*_RAW_FIELDS, "requestParameters", "requestParameters.a", "responseElements",
                         "responseElements.ConsoleLogin", "vpcEndpointId.a"])


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(_KEYS, _VALUES, max_size=6))
def test_raw_values_are_the_extracted_values_for_any_shape(extra):
    """The same promise over records shaped to trip it: keys holding dots (flattening
    names ``{"a.b": 1}`` and ``{"a": {"b": 1}}`` alike, and both at once as a multivalue
    field), a key of an alias's name with or without its source, lists, objects, numbers
    and nulls where strings are expected."""
    from smguard.cloudtrail.fields import prefilter_values
    from smguard.scan.logs import UNKNOWN, raw_value

    record = {"eventTime": "2026-11-23T10:00:00Z", "eventVersion": "1.08", "eventID": "e1", **extra}
    ev = to_event(record)
    for f in _RAW_FIELDS:
        got = raw_value(record, f)
        if got is not UNKNOWN:
            assert got == ev.get(f), f
    for f, v in prefilter_values(record).items():
        assert ev.get(f) == v, f


def test_raw_values_are_the_extracted_values(day_of_logs):
    """What the prefilter and the raw-record filters read off a record is what extraction
    gives the event, or 'not a plain value' (then the full event decides)."""
    from smguard.scan.logs import UNKNOWN, raw_value

    fields = ["eventName", "eventSource", "src", "region", "readOnly", "errorCode", "userIdentity.type",
              "userIdentity.sessionContext.sessionIssuer.arn", "requestParameters.bucketName",
              "responseElements.ConsoleLogin", "tlsDetails.tlsVersion", "additionalEventData.bytesTransferredOut"]
    plain = 0
    for i, rec in enumerate(iter_records([str(day_of_logs)])):
        if i % 10:
            continue
        ev = to_event(rec)
        for f in fields:
            got = raw_value(rec, f)
            if got is not UNKNOWN:
                assert got == ev.get(f), (f, rec.line)
                plain += got is not None
    assert plain > 1000

def test_a_top_level_key_is_raw_readable_only_where_extraction_writes_nothing_else():
    """A top-level key is read off the raw record (smguard.scan.logs.prefilterable) only
    when no later step of extraction writes a field of that name: not a default field,
    ``date_*``, or anything the add-on sets (an alias, a calculated field, a lookup or
    report output), except the fields with a getter of their own (aliases of the
    prefilter's top-level fields, the add-on's ``errorCode``)."""
    from smguard.cloudtrail.fields import PREFILTER_FIELDS, json_only
    from smguard.scan.logs import prefilterable

    written = addon.load().writes
    assert {"user", "user_arn", "aws_account_id", "src", "errorCode"} <= written
    for f in [*written, "_raw", "_time", "index", "sourcetype", "source", "host", "date_hour", "date_wday"]:
        assert not json_only(f), f
        assert prefilterable(f) == (f in PREFILTER_FIELDS or f == "errorCode"), f
    for f in ["vpcEndpointId", "sessionCredentialFromConsole", "sharedEventID", "eventVersion"]:
        assert json_only(f) and prefilterable(f), f
    # where the add-on writes a name the record also has, the event shows the add-on's value
    ev = to_event({"eventTime": "2026-11-23T10:00:00Z", "eventID": "e1", "sourceIPAddress": "10.0.0.1",
                   "user_arn": "raw", "userIdentity": {"arn": "arn:aws:iam::1:user/a"}})
    assert ev["user_arn"] == "arn:aws:iam::1:user/a"


def test_stats_rows_lent_to_several_runs_are_not_disturbed():
    from smguard.spl import ast as A
    from smguard.spl.commands import EvalOp
    from smguard.spl.context import SearchContext
    from smguard.spl.evalfuncs import EvalEnv
    from smguard.spl.executor import CompiledSearch, Runtime
    from smguard.spl.rows import Row

    cs = CompiledSearch(parse("index=aws | stats count values(b) as b by a"),
                        Runtime(SearchContext(), lambda: [], 0.0, None, None, ""))
    acc = cs.stats_first().accumulator(ordered=False)
    for i in range(3):
        acc.add(Row({"a": "x", "b": str(i), "_time": float(i)}, (f"e{i}",), False, float(i)))
    first = acc.rows()
    EvalOp(A.EvalCmd([("count", A.Literal(99))]), EvalEnv(0.0)).process(first[0])
    assert first[0].f["count"] == 99
    again = acc.rows()
    assert again[0].f["count"] == 3 and again[0].f["b"] == ["0", "1", "2"]
    acc.add(Row({"a": "x", "b": "3", "_time": 3.0}, ("e3",), False, 3.0))
    assert acc.rows()[0].f["count"] == 4
