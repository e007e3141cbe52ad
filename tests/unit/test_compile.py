"""The structured search compiler: one test per matcher kind, plus hostile values."""

from __future__ import annotations

import re

import pytest

from smguard.compile.search import CompileError, compile_raw, compile_structured


def spl_of(search: dict) -> str:
    return compile_structured(search, base_macro="base", filter_macro="det_filter").spl


def base_search(search: dict) -> str:
    """The first pipe segment (base macro + search filters)."""
    return split_pipes(spl_of(search))[0]


def split_pipes(spl: str) -> list[str]:
    """Split on pipes outside double quotes, honouring backslash escapes."""
    parts, cur, in_q, esc = [], [], False, False
    for ch in spl:
        if esc:
            cur.append(ch)
            esc = False
        elif ch == "\\" and in_q:
            cur.append(ch)
            esc = True
        elif ch == '"':
            in_q = not in_q
            cur.append(ch)
        elif ch == "|" and not in_q:
            parts.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    assert not in_q, f"unbalanced quotes in {spl}"
    parts.append("".join(cur).strip())
    return parts


def sel(**fields) -> dict:
    return {"selections": {"s": fields}, "group_by": ["user_arn"]}


def test_equality_is_quoted_in_base_search():
    assert base_search(sel(eventName="CreateModel")) == '`base` eventName="CreateModel"'


def test_wildcard_stays_a_wildcard():
    assert base_search(sel(**{"userIdentity.accessKeyId": "AKIA*"})) == '`base` userIdentity.accessKeyId="AKIA*"'


def test_list_becomes_in():
    assert base_search(sel(eventName=["A", "B*"])) == '`base` eventName IN ("A", "B*")'


def test_exists_and_missing():
    assert base_search(sel(f={"exists": True})) == "`base` f=*"
    assert base_search(sel(f={"exists": False})) == "`base` NOT f=*"


def test_negation_scalar_and_list():
    assert base_search(sel(f={"not": "x"})) == '`base` NOT f="x"'
    assert base_search(sel(f={"not": ["x", "y"]})) == '`base` NOT f IN ("x", "y")'


@pytest.mark.parametrize("op,sym", [("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<=")])
def test_numeric_comparisons_stay_in_search(op, sym):
    assert base_search(sel(n={op: 7})) == f"`base` n{sym}7"


def test_booleans_render_as_splunk_strings():
    assert base_search(sel(readOnly=False)) == '`base` readOnly="false"'


def test_regex_goes_to_where_with_case_insensitive_mvfind():
    pipes = split_pipes(spl_of(sel(eventName="Create*", **{"requestParameters.x": {"regex": "a.b"}})))
    assert pipes[0] == '`base` eventName="Create*"'
    assert pipes[1] == "where isnotnull(mvfind('requestParameters.x', \"(?i)a.b\"))"


def test_cidr_goes_to_where_with_each_range():
    pipes = split_pipes(spl_of(sel(src={"cidr": ["10.0.0.0/8", "192.168.0.0/16"]})))
    assert pipes[0] == "`base`"
    assert pipes[1] == 'where (cidrmatch("10.0.0.0/8", src) OR cidrmatch("192.168.0.0/16", src))'


def test_condition_or_and_not_are_parenthesised_for_spl_precedence():
    s = {"selections": {"a": {"x": "1"}, "b": {"y": "2", "z": "3"}, "c": {"w": "4"}},
         "condition": "a and (b or not c)", "group_by": ["user_arn"]}
    # In SPL's search OR binds tighter than the implied AND, so groups must be explicit.
    assert base_search(s) == '`base` x="1" ((y="2" z="3") OR NOT w="4")'


def test_where_only_selection_under_or_moves_the_whole_conjunct_to_where():
    s = {"selections": {"a": {"x": "1"}, "b": {"ip": {"cidr": "10.0.0.0/8"}}, "c": {"y": "v*"}},
         "condition": "a and (b or c)", "group_by": ["g"]}
    pipes = split_pipes(spl_of(s))
    assert pipes[0] == '`base` x="1"'
    assert pipes[1] == "where (cidrmatch(\"10.0.0.0/8\", ip) OR isnotnull(mvfind(y, \"(?i)^v.*$\")))"


def test_allow_and_deny_lists_judge_every_value_through_lookup_output_then_where():
    s = sel(eventName="X") | {
        "allow": [{"lookup": "ok_roles", "field": "userIdentity.sessionContext.sessionIssuer.arn", "column": "role_arn"}],
        "deny": [{"lookup": "bad_ips", "field": "src"}],
    }
    pipes = split_pipes(spl_of(s))
    assert pipes[1] == "eval allow_value_0=mvdedup(coalesce('userIdentity.sessionContext.sessionIssuer.arn', \"(none)\"))"
    assert pipes[2] == "mvexpand allow_value_0"
    assert pipes[3] == "lookup ok_roles role_arn AS allow_value_0 OUTPUT role_arn AS allowlisted_0_ok_roles"
    # The SOC's KV store part of the allow-list, same column and value (see docs/splunk.md).
    assert pipes[4] == "lookup ok_roles_soc role_arn AS allow_value_0 OUTPUT role_arn AS allowlisted_0_ok_roles_soc"
    assert pipes[5] == "where isnull(allowlisted_0_ok_roles) AND isnull(allowlisted_0_ok_roles_soc)"
    # a dotted JSON path is left as extracted; a plain field is narrowed to the judged value
    assert pipes[6] == 'eval deny_value_0=mvdedup(coalesce(src, "(none)"))'
    assert pipes[7] == "mvexpand deny_value_0"
    assert pipes[8] == "lookup bad_ips src AS deny_value_0 OUTPUT src AS denylisted_0_bad_ips"
    assert pipes[9] == "where isnotnull(denylisted_0_bad_ips)"
    assert pipes[10] == 'eval src=if(deny_value_0=="(none)", null(), deny_value_0)'


def test_aggregation_threshold_without_span_is_one_stats():
    s = sel(eventName="List*") | {"distinct": ["eventName"], "values": ["src"], "threshold": {"count": ">= 3"}}
    pipes = split_pipes(spl_of(s))
    assert pipes[1] == ("stats count min(_time) as firstTime max(_time) as lastTime values(src) as src "
                        "values(eventID) as eventID dc(eventName) as distinct_eventName by user_arn")
    assert pipes[2] == "where count>=3"


def test_span_is_a_sliding_window_not_fixed_bins_and_macros_last():
    s = sel(eventName="List*") | {"span": "10m", "distinct": ["eventName"], "sum": ["bytes"],
                                   "values": ["src"], "threshold": {"distinct_eventName": ">= 10"}}
    pipes = split_pipes(spl_of(s))
    assert not any(p.startswith("bin ") for p in pipes)
    assert pipes[1] == "sort 0 _time"
    assert pipes[2] == ("streamstats time_window=10m count min(_time) as firstTime max(_time) as lastTime "
                        "values(src) as src values(eventID) as eventID dc(eventName) as distinct_eventName "
                        "sum(bytes) as total_bytes by user_arn")
    assert pipes[3] == "where distinct_eventName>=10"
    assert pipes[4] == ("stats max(count) as count min(firstTime) as firstTime max(lastTime) as lastTime "
                        "values(src) as src values(eventID) as eventID max(distinct_eventName) as distinct_eventName "
                        "max(total_bytes) as total_bytes by user_arn")
    assert pipes[-3:] == ["`smguard_ctime(firstTime)`", "`smguard_ctime(lastTime)`", "`det_filter`"]


def test_output_fields_are_reported():
    out = compile_structured(sel(a="1") | {"values": ["x"], "distinct": ["y.z"]},
                             base_macro="b", filter_macro="f").output
    assert out == ["user_arn", "count", "firstTime", "lastTime", "x", "eventID", "distinct_y_z"]


HOSTILE = [
    'a"b',
    "back\\slash",
    'trailing\\',
    "x | delete",
    "k=v OR 1=1",
    "two words",
    '"] | inputlookup secrets | [ "',
    '\\" OR eventName=x',
]


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_cannot_change_the_query(value):
    spl = spl_of(sel(**{"requestParameters.name": value}))
    pipes = split_pipes(spl)
    # Still exactly: base search, stats, two ctime macros, filter macro.
    assert len(pipes) == 5, pipes
    m = re.fullmatch(r'`base` requestParameters\.name="((?:[^"\\]|\\.)*)"', pipes[0])
    assert m, pipes[0]
    assert re.sub(r"\\(.)", r"\1", m.group(1)) == value


@pytest.mark.parametrize("value", HOSTILE)
def test_hostile_values_in_where_regex_are_escaped(value):
    spl = spl_of(sel(**{"requestParameters.name": [value, "plain"], "src": {"cidr": "10.0.0.0/8"}}))
    assert len(split_pipes(spl)) == 6


def test_unknown_selection_in_condition_is_an_error():
    with pytest.raises(CompileError, match="unknown selection"):
        spl_of({"selections": {"a": {"x": 1}}, "condition": "a and b", "group_by": ["g"]})


def test_unused_selection_is_an_error():
    with pytest.raises(CompileError, match="not used"):
        spl_of({"selections": {"a": {"x": 1}, "b": {"y": 1}}, "condition": "a", "group_by": ["g"]})


def test_bad_condition_syntax_is_an_error():
    with pytest.raises(CompileError, match="condition"):
        spl_of({"selections": {"a": {"x": 1}}, "condition": "a and (", "group_by": ["g"]})


def test_raw_spl_references_are_collected():
    c = compile_raw({"spl": "`base` x=1 | lookup roles a OUTPUT b | `smguard_ctime(firstTime)` | `d_filter`",
                     "output": ["a"]})
    assert c.macros == {"base", "smguard_ctime(1)", "d_filter"}
    assert c.lookups == {"roles"}


def test_backtick_in_a_value_is_refused_because_splunk_would_expand_it():
    with pytest.raises(CompileError, match="backtick"):
        spl_of(sel(name="`evil_macro`"))


def test_star_in_a_value_is_a_wildcard_by_design():
    assert base_search(sel(name='\\" OR eventName=*')) == '`base` name="\\\\\\" OR eventName=*"'
