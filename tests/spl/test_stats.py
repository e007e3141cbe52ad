"""Golden tests: stats / eventstats / streamstats / bin."""

from __future__ import annotations

from .util import col, ev, q

EVENTS = [
    ev("e1", 100, user="bob", src="b", n="5", arn="arn:1"),
    ev("e2", 200, user="alice", src="a", n="10", arn="arn:2"),
    ev("e3", 300, user="bob", src="a", n="x", arn="arn:1"),
    ev("e4", 400, src="c", n="1"),  # no user
    ev("e5", 500, user="bob", src="B", n="20"),
]


def test_stats_drops_events_with_null_by_field_and_sorts_by_group():
    res = q("* | stats count by user", EVENTS)
    assert res.rows == [{"user": "alice", "count": "1"}, {"user": "bob", "count": "3"}]
    assert res.event_ids == [["e2"], ["e5", "e3", "e1"]]  # provenance in search order


def test_stats_without_by_is_one_row_even_when_empty():
    assert q("* | stats count", EVENTS).rows == [{"count": "5"}]
    assert q("nomatch=1 | stats count", EVENTS).rows == [{"count": "0"}]


def test_values_sorted_dedup_list_keeps_order():
    res = q("user=bob | stats values(src) as v list(src) as l", EVENTS)
    assert res.rows[0]["v"] == ["B", "a", "b"]  # lexicographic: uppercase first
    assert res.rows[0]["l"] == ["B", "a", "b"]  # newest first: e5, e3, e1
    res = q("* | stats values(n) as v", EVENTS)
    assert res.rows[0]["v"] == ["1", "10", "20", "5", "x"]


def test_first_last_follow_search_order_earliest_latest_by_time():
    res = q("user=bob | stats first(src) as f last(src) as l earliest(src) as e latest(src) as t", EVENTS)
    assert res.rows[0] == {"f": "B", "l": "b", "e": "b", "t": "B"}


def test_numeric_functions():
    res = q(
        "* | stats count(n) as c dc(src) as d min(n) as mn max(n) as mx sum(n) as s avg(n) as a "
        "range(n) as r median(n) as md perc90(n) as p90 stdev(n) as sd var(n) as v mode(user) as mo",
        EVENTS,
    )
    r = res.rows[0]
    assert r["c"] == "5"
    assert r["d"] == "4"  # a, b, B, c (case-sensitive)
    assert (r["mn"], r["mx"]) == ("1", "20")  # numeric when any value is numeric
    assert r["s"] == "36"
    assert r["a"] == "9"
    assert r["r"] == "19"
    assert r["md"] == "7.5"
    assert r["p90"] == "17"
    assert r["v"] == str(float(sum((x - 9) ** 2 for x in [5, 10, 1, 20]) / 3))
    assert r["mo"] == "bob"


def test_min_max_lexicographic_when_no_numbers():
    res = q("* | stats min(src) as a max(src) as b", EVENTS)
    assert res.rows[0] == {"a": "B", "b": "c"}


def test_count_eval_and_implicit_names():
    res = q('* | stats count(eval(src="a")) as ca count dc(user) values(user)', EVENTS)
    r = res.rows[0]
    assert r["ca"] == "2"
    assert r["count"] == "5"
    assert r["dc(user)"] == "2"
    assert r["values(user)"] == ["alice", "bob"]


def test_by_with_commas_and_multiple_fields():
    res = q("* | stats count by user, src", EVENTS)
    assert [(r["user"], r["src"], r["count"]) for r in res.rows] == [
        ("alice", "a", "1"), ("bob", "B", "1"), ("bob", "a", "1"), ("bob", "b", "1")]


def test_multivalue_by_field_fans_out():
    events = [ev("m1", 1, tag=["x", "y"]), ev("m2", 2, tag="y")]
    res = q("* | stats count by tag", events)
    assert res.rows == [{"tag": "x", "count": "1"}, {"tag": "y", "count": "2"}]


def test_values_star_as_star():
    events = [ev("w1", 1, **{"requestParameters.a": "1", "requestParameters.b": "2", "k": "z"}),
              ev("w2", 2, **{"requestParameters.a": "3", "k": "z"})]
    res = q("* | stats values(requestParameters.*) as * by k", events)
    assert res.rows == [{"k": "z", "a": ["1", "3"], "b": "2"}]
    res = q("* | stats values(*) as * by k", events)
    assert res.rows[0]["requestParameters.a"] == ["1", "3"]
    assert "_raw" not in res.rows[0]


def test_min_time_and_ctime_convert():
    res = q('* | stats min(_time) as firstTime max(_time) as lastTime | convert timeformat="%Y-%m-%dT%H:%M:%S" ctime(firstTime)',
            EVENTS)
    assert res.rows[0] == {"firstTime": "1970-01-01T00:01:40", "lastTime": "500"}


def test_eventstats_annotates_every_event():
    res = q("* | eventstats count as c avg(n) as a by user | table user c", EVENTS)
    assert col(res, "c") == ["3", None, "3", "1", "3"]
    assert [i[0] for i in res.event_ids] == ["e5", "e4", "e3", "e2", "e1"]


def test_streamstats_cumulative_window_and_current():
    res = q("* | streamstats count as c | table c", EVENTS)
    assert col(res, "c") == ["1", "2", "3", "4", "5"]
    res = q("* | streamstats current=f count as c | table c", EVENTS)
    assert col(res, "c") == ["0", "1", "2", "3", "4"]
    res = q("* | streamstats window=2 sum(n) as s | table s", EVENTS)
    # search order n: 20, 1, x, 10, 5
    assert col(res, "s") == ["20", "21", "1", "10", "15"]
    res = q("* | streamstats count as c by user | table user c", EVENTS)
    assert col(res, "c") == ["1", None, "2", "1", "3"]


def test_streamstats_time_window():
    res = q("* | streamstats time_window=150s count as c | table c", EVENTS)
    # times 500, 400, 300, 200, 100: window keeps events within 150s of the current one
    assert col(res, "c") == ["1", "2", "2", "2", "2"]


def test_bin_span_alignment_floor_to_epoch_multiples():
    events = [ev("t1", 1_700_000_000), ev("t2", 1_700_003_599), ev("t3", 1_699_999_999)]
    res = q("* | bin _time span=10m | table _time", events)
    assert col(res, "_time") == ["1700003400", "1699999800", "1699999800"]
    res = q("* | bucket span=1h _time | table _time", events)
    assert col(res, "_time") == ["1700002800", "1699999200", "1699999200"]
    res = q("* | bin span=1d _time | stats count by _time", events)
    assert res.rows == [{"_time": "1699920000", "count": "3"}]


def test_bin_numeric_field_gives_ranges():
    res = q("* | bin n span=10 | stats count by n", [ev("a", 1, n="5"), ev("b", 2, n="15"), ev("c", 3, n="17")])
    assert res.rows == [{"n": "0-10", "count": "1"}, {"n": "10-20", "count": "2"}]


def test_stats_count_by_bin_time_and_dc_raw():
    events = [ev(f"x{i}", 1_700_000_000 + i * 60, raw=f"raw{i % 3}") for i in range(10)]
    res = q("* | bucket span=5m _time | stats dc(_raw) as d count by _time", events)
    # 1700000000 is 200s past a 5-minute boundary (1699999800)
    assert res.rows == [{"_time": "1699999800", "d": "2", "count": "2"}, {"_time": "1700000100", "d": "3", "count": "5"},
                        {"_time": "1700000400", "d": "3", "count": "3"}]


def test_rows_are_pruned_to_the_fields_the_tail_reads():
    from smguard.spl import SearchContext, compile_search

    cs = compile_search("* | eval a=n+1 | where a > 1 | stats count values(src) as s by user", EVENTS, SearchContext(), now=0)
    assert cs.keep_fields == {"_time", "src", "user"}
    cs = compile_search("* | eval a=n+1 | sort a | table a user", EVENTS, SearchContext(), now=0)
    assert cs.keep_fields == {"_time", "a", "user"}
    # results as they are, or wildcard reads: nothing can be pruned
    assert compile_search("* | head 2", EVENTS, SearchContext(), now=0).keep_fields is None
    assert compile_search("* | stats values(*) as *", EVENTS, SearchContext(), now=0).keep_fields is None
    # pruning does not change results
    assert q("* | sort n | table n user", EVENTS).rows[0] == {"n": "1"}


def test_sum_and_avg_fast_aggregator_equals_the_general_one():
    """sum/avg keep only a count and a total; adds and merges give what Numeric gives."""
    import random

    from smguard.spl.stats import Numeric, Sum

    rnd = random.Random(5)
    pool = ["3", "x", "-0.0", "2.5", " 7", "1e3", 4, 2.25, -0.0, True, "", "0012"]
    for _ in range(200):
        parts = [[rnd.choice(pool) for _ in range(rnd.randint(0, 4))] for _ in range(rnd.randint(1, 4))]
        for func in ("sum", "avg"):
            fast, slow = Sum(func == "avg"), Numeric(func)
            fast_parts, slow_parts = [Sum(func == "avg") for _ in parts], [Numeric(func) for _ in parts]
            for p, f, s in zip(parts, fast_parts, slow_parts, strict=True):
                f.add(p, None)
                s.add(p, None)
                fast.merge(f)
                slow.merge(s)
            got, want = fast.result(), slow.result()
            assert type(got) is type(want) and got == want and str(got) == str(want), (parts, func)


def test_wildcard_values_and_dc_merged_across_window_segments_are_copies():
    """values(*)/dc(*) groups merged from several parts copy their sets (base-class slots
    included), so the parts are left as they were."""
    from smguard.spl.stats import DistinctCount, Values
    from smguard.spl.statscmd import _copy_agg

    for cls in (Values, DistinctCount):
        a = cls()
        a.add(["x", "y"], None)
        b = cls.__new__(cls)
        _copy_agg(a, b)
        b.add(["z"], None)
        assert a.s == {"x", "y"} and b.s == {"x", "y", "z"}
