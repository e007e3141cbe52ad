"""Golden tests: per-command behaviour (rename, table, fields, dedup, sort, head, fillnull, rex, spath, mvexpand, convert)."""

from __future__ import annotations

import json

import pytest

from smguard.spl import SplError, UnsupportedError

from .util import col, ev, ids, q

EVENTS = [
    ev("e1", 100, user="bob", src="b", n="5"),
    ev("e2", 200, user="alice", src="a", n="10"),
    ev("e3", 300, user="bob", src="a", n="2"),
    ev("e4", 400, src="c", n="1"),
]


def test_rename_plain_and_wildcard():
    events = [ev("r1", 1, **{"requestParameters.bucketName": "bk", "requestParameters.key": "k", "x": "1"})]
    res = q("* | rename requestParameters.* as * | table bucketName key x", events)
    assert res.rows == [{"bucketName": "bk", "key": "k", "x": "1"}]
    res = q("* | rename requestParameters.bucketName AS bucketName, x as y | table bucketName y x", events)
    assert res.rows == [{"bucketName": "bk", "y": "1"}]


def test_table_keeps_only_listed_fields_in_order():
    res = q("* | table n user", EVENTS)
    assert res.rows[0] == {"n": "1"}
    assert list(res.rows[1]) == ["n", "user"]


def test_fields_plus_minus_and_wildcards():
    res = q("* | fields user", EVENTS)
    assert set(res.rows[1]) == {"user", "_time", "_raw"}
    res = q("* | fields - user, s*", EVENTS)
    assert "user" not in res.rows[1] and "src" not in res.rows[1] and "n" in res.rows[1]


def test_dedup_keeps_first_in_search_order_and_drops_missing():
    res = q("* | dedup user", EVENTS)
    assert ids(res) == ["e3", "e2"]  # e4 lacks user: dropped; e3 is the newest bob
    res = q("* | dedup user keepempty=t", EVENTS)
    assert ids(res) == ["e4", "e3", "e2"]
    res = q("* | dedup 2 user", EVENTS)
    assert ids(res) == ["e3", "e2", "e1"]
    res = q("* | dedup src sortby +n", EVENTS)
    assert ids(res) == ["e4", "e3", "e1"]


def test_sort_numeric_desc_and_limits():
    assert ids(q("* | sort - n", EVENTS)) == ["e2", "e1", "e3", "e4"]
    assert ids(q("* | sort n", EVENTS)) == ["e4", "e3", "e1", "e2"]
    assert ids(q("* | sort str(n)", EVENTS)) == ["e4", "e2", "e3", "e1"]
    assert ids(q("* | sort 2 -n", EVENTS)) == ["e2", "e1"]
    assert ids(q("* | sort user, -n", EVENTS)) == ["e2", "e1", "e3", "e4"]  # missing user last


def test_head_tail_reverse():
    assert ids(q("* | head 2", EVENTS)) == ["e4", "e3"]
    assert ids(q("* | head", EVENTS)) == ["e4", "e3", "e2", "e1"]
    assert ids(q("* | tail 1", EVENTS)) == ["e1"]
    assert ids(q("* | reverse", EVENTS)) == ["e1", "e2", "e3", "e4"]


def test_fillnull_with_and_without_fields():
    res = q("* | table user src | fillnull", EVENTS)
    assert res.rows[0] == {"user": "0", "src": "c"}
    res = q('* | fillnull value="none" user zz | table user zz', EVENTS)
    assert res.rows[0] == {"user": "none", "zz": "none"}
    # fillnull only knows fields that exist somewhere in the results: a field no event has stays null
    res = q("* | fillnull | stats count by nowhere", EVENTS)
    assert res.rows == []


def test_rex_named_groups_field_and_max_match():
    events = [ev("x1", 1, raw='prefix {"a": 1} suffix', msg="user=bob user=alice")]
    res = q('* | rex field=_raw "(?<json_field>{.+})" | rex field=msg "user=(?<u>\\w+)" | table json_field u', events)
    assert res.rows == [{"json_field": '{"a": 1}', "u": "bob"}]
    res = q('* | rex field=msg max_match=0 "user=(?<u>\\w+)" | table u', events)
    assert res.rows == [{"u": ["bob", "alice"]}]


POLICY = json.dumps({"Statement": [{"Action": "kms:Encrypt", "Principal": {"AWS": "*"}},
                                    {"Action": ["s3:Get", "s3:Put"], "Principal": {"AWS": "arn:x"}}]})


def test_spath_paths_arrays_and_mvexpand():
    events = [ev("p1", 1, policy=POLICY)]
    res = q("* | spath input=policy output=st path=Statement{} | mvexpand st "
            "| spath input=st output=a1 path=Action | spath input=st output=a2 path=Action{} "
            "| eval act=mvappend(a1, a2) | spath input=st output=pr path=Principal.AWS | table act pr", events)
    # path=Action on an array yields the array's JSON text; Action{} yields its elements
    assert res.rows == [{"act": "kms:Encrypt", "pr": "*"},
                        {"act": ['["s3:Get","s3:Put"]', "s3:Get", "s3:Put"], "pr": "arn:x"}]
    assert res.event_ids == [["p1"], ["p1"]]
    res = q("* | spath input=policy output=second path=Statement{2}.Principal.AWS | table second", events)
    assert res.rows == [{"second": "arn:x"}]


def test_spath_without_path_extracts_all_and_positional_path():
    raw = json.dumps({"userIdentity": {"arn": "arn:u"}, "resources": [{"ARN": "r1"}, {"ARN": "r2"}], "ok": True})
    events = [ev("s1", 1, raw=raw)]
    res = q("* | spath | table userIdentity.arn resources{}.ARN ok", events)
    assert res.rows == [{"userIdentity.arn": "arn:u", "resources{}.ARN": ["r1", "r2"], "ok": "true"}]
    res = q("* | spath output=user userIdentity.arn | table user", events)
    assert res.rows == [{"user": "arn:u"}]


def test_mvexpand_keeps_single_values_and_limit():
    events = [ev("m1", 1, v=["a", "b", "c"]), ev("m2", 2, v="z"), ev("m3", 3)]
    res = q("* | mvexpand v limit=2 | table v", events)
    assert col(res, "v") == [None, "z", "a", "b"]


def test_convert_ctime_default_and_alias():
    res = q('* | eval t=0 | convert timeformat="%Y/%m/%d" ctime(t) AS day | table day t', [ev("c1", 1)])
    assert res.rows == [{"day": "1970/01/01", "t": "0"}]


def test_makeresults():
    res = q("| makeresults count=2 | eval x=1", [])
    assert len(res.rows) == 2 and res.rows[0]["x"] == "1"


@pytest.mark.parametrize(
    "spl,name",
    [
        ("* | anomalydetection count", "anomalydetection"),
        ("* | transaction user", "transaction"),
        ("* | stats foo(x)", "foo"),
        ("* | bin _time bins=10", "bins"),
        ("* | eval x=searchmatch(\"a\")", "searchmatch"),
        ("* | dedup user keepevents=t", "keepevents"),
    ],
)
def test_unsupported_things_raise_naming_them(spl, name):
    with pytest.raises(UnsupportedError, match=name) as exc:
        q(spl, EVENTS)
    assert exc.value.pos >= 0


def test_parse_error_has_position():
    with pytest.raises(SplError) as exc:
        q('* | where x="unterminated', EVENTS)
    assert exc.value.pos == 12
