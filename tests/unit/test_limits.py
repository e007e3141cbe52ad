"""Nothing crashes, nothing hangs (issue 11 items 6, 7, 8).

Rules over many sizes: a deep or wide input either works or fails with one clear error
naming the place; never a RecursionError, never a hang, never unbounded memory.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard import spl, yamlio
from smguard.compile.search import compile_structured
from smguard.errors import SmguardError
from smguard.spl import SearchContext, SplError, pcre
from smguard.spl.parser import MAX_NESTING

CTX = SearchContext({}, {})
EVENTS = [
    {"_time": 100.0, "_raw": "{}", "eventID": "e1", "a": "1", "src": "10.1.2.3", "userAgent": "a" * 41},
    {"_time": 200.0, "_raw": "{}", "eventID": "e2", "a": "2", "src": "192.0.2.7", "userAgent": "a" * 40 + "!"},
]


def run(q: str) -> spl.SearchResult:
    return spl.run(q, EVENTS, CTX, now=1000.0)


def ids(q: str) -> list[list[str]]:
    return run(q).event_ids


# ---------------------------------------------------------------- item 6: deep and wide SPL


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=1, max_value=3000))
def test_long_or_chains_work_flat(n):
    q = "search * | where " + " OR ".join(f"a={i + 3}" for i in range(n)) + " OR a=1"
    assert ids(q) == [["e1"]]
    q = "search * | where " + " AND ".join("a=1" for _ in range(n))
    assert ids(q) == [["e1"]]


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=5000))
def test_any_number_of_nots_is_parity(n):
    expected = [["e2"]] if n % 2 else [["e1"]]
    assert ids("search * | where " + "NOT " * n + "a=1") == expected
    assert ids("search " + "NOT " * n + "a=1") == expected


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=1, max_value=3000), st.sampled_from(["where", "search"]))
def test_nested_parentheses_work_or_fail_clearly(n, where):
    q = ("search * | where " if where == "where" else "search ") + "(" * n + "a=1" + ")" * n
    if n <= MAX_NESTING:
        assert ids(q) == [["e1"]]
    else:
        with pytest.raises(SplError, match=f"nesting deeper than {MAX_NESTING} levels") as info:
            run(q)
        assert info.value.pos >= 0


@pytest.mark.parametrize("q", [
    "search * | eval x=" + "+".join("1" for _ in range(1000)),
    "search * | eval x=" + "abs(" * 3000 + "1" + ")" * 3000,
    "search " + "[search " * 200 + "a=1" + "]" * 200,
])
def test_deep_expressions_fail_with_a_positioned_error(q):
    with pytest.raises(SplError, match="deeper than") as info:
        run(q)
    assert info.value.pos >= 0


def test_a_thousand_eval_assignments_and_unary_minus_chains():
    row = run("search a=1 | eval " + ", ".join(f"x{i}={i}" for i in range(1000))).rows[0]
    assert row["x999"] == "999"
    assert run("search a=1 | eval y=" + "-" * 5001 + "a").rows[0]["y"] == "-1"


def test_structured_cidr_list_of_1200_ranges_compiles_flat_and_runs():
    ranges = [f"172.{16 + i // 256}.{i % 256}.0/24" for i in range(1199)] + ["10.0.0.0/8"]
    s = {"selections": {"net": {"src": {"cidr": ranges}}}, "group_by": ["src"]}
    compiled = compile_structured(s, base_macro="base", filter_macro="f")
    ctx = SearchContext({"base": spl.MacroDef("base", "search *"), "f": spl.MacroDef("f", "search *"),
                         "smguard_ctime(1)": spl.MacroDef("smguard_ctime", "eval $field$=$field$", ("field",))}, {})
    spl.check(compiled.spl, ctx)
    res = spl.run(compiled.spl, EVENTS, ctx, now=1000.0)
    assert [r["src"] for r in res.rows] == ["10.1.2.3"] and res.event_ids == [["e1"]]


# ---------------------------------------------------------------- item 7: catastrophic regexes


@pytest.mark.parametrize("q", [
    'search * | where match(userAgent, "(a+)+$")',
    'search * | where match(userAgent, "^(a|aa)+$")',
    'search * | eval r=replace(userAgent, "(a*)*b", "x")',
    'search * | rex field=userAgent "(?<g>(a+)+b)"',
])
def test_catastrophic_patterns_return_promptly(q):
    start = time.monotonic()
    try:
        run(q)
    except SplError as exc:
        assert "match limit" in str(exc)
    assert time.monotonic() - start < 5


def test_match_over_41_chars_gives_splunks_answer():
    assert ids('search * | where match(userAgent, "^(a+)+$")') == [["e1"]]


def test_a_match_past_the_limit_is_an_error_naming_the_pattern(monkeypatch):
    monkeypatch.setattr(pcre, "MATCH_TIMEOUT", 0.05)
    rx = pcre.compile(r"(x+x+)+y")
    start = time.monotonic()
    with pytest.raises(SplError, match=r"'\(x\+x\+\)\+y' exceeded the match limit"):
        rx.search("x" * 5000)
    assert time.monotonic() - start < 3


@pytest.mark.parametrize("pattern, text, expected", [
    (r"\Qa.b\E", "a.b", True), (r"\Qa.b\E", "axb", False),
    (r"a\z", "a\n", False), (r"a\Z", "a\n", True), (r"a$", "a\n", True),
    (r"\v", "\n", True), (r"\v", "\x0b", True), (r"[\v]", "\r", True), (r"\N", "\n", False),
    (r"\x{41}", "A", True), (r"\e", "\x1b", True), (r"\cA", "\x01", True),
    (r"a{,3}", "a{,3}", True), (r"a{,3}", "aaa", False), (r"x{e<=1}", "x{e<=1}", True),
    (r"(?'n'ab)\k{n}", "abab", True), (r"(?<n>ab)\k<n>", "abab", True),
    (r"[]a]", "]", True), (r"[^]a]", "]", False), (r"[[:digit:]]+", "42", True),
])
def test_pcre_syntax_is_translated_faithfully(pattern, text, expected):
    assert bool(pcre.compile(pattern).search(text)) is expected


@pytest.mark.parametrize("pattern", [r"\m", r"\u0041", r"(*UTF8)a", r"(?C1)a", r"\g<n>", r"a\o{101}", "[a", "(a", "\\"])
def test_pcre_syntax_we_cannot_reproduce_is_refused(pattern):
    with pytest.raises(SplError):
        pcre.compile(pattern)


def test_literal_regex_errors_are_found_when_planning():
    with pytest.raises(SplError, match="invalid regular expression") as info:
        spl.check('search * | eval y=replace(userAgent, "(unclosed", "")', CTX)
    assert info.value.pos == len("search * | eval y=")


# ---------------------------------------------------------------- item 8 (and 6): hostile YAML


BOMB = """a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def test_alias_bomb_is_refused_at_once_with_its_line():
    start = time.monotonic()
    with pytest.raises(SmguardError, match="expands to more than") as info:
        yamlio.loads(BOMB, "bomb.yml")
    assert time.monotonic() - start < 1
    assert info.value.problems[0].line == 6  # where the expansion crosses the bound


def test_alias_bomb_in_detections_fails_validate_quickly(pack_copy):
    from smguard.model import check_pack

    (pack_copy / "detections/iam/bomb.yml").write_text(BOMB)
    start = time.monotonic()
    _, found = check_pack(pack_copy)
    assert time.monotonic() - start < 60
    assert [str(p) for p in found if "bomb.yml" in p.path] == [
        f"{pack_copy / 'detections/iam/bomb.yml'}:6: YAML document expands to more than 200000 nodes (aliases multiply): refused"]


def test_recursive_alias_is_refused():
    with pytest.raises(SmguardError, match=r"alias \*x refers to a node that contains it"):
        yamlio.loads("a: &x [1, *x]\n")


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=1, max_value=2000), st.booleans())
def test_deep_yaml_works_or_fails_clearly(n, flow):
    if flow:
        text = "a: " + "[" * n + "1" + "]" * n + "\n"
    else:
        text = "".join("  " * i + f"k{i}:\n" for i in range(n)) + "  " * n + "1\n"
    # containers: the root mapping plus n sequences (flow), or n mappings in all (block)
    depth = n + 1 if flow else n
    if depth <= yamlio.MAX_DEPTH:
        assert yamlio.loads(text).data is not None
    else:
        # ours, or libyaml's own flow-depth limit (1000), both located
        with pytest.raises(SmguardError, match=f"nested deeper than {yamlio.MAX_DEPTH} levels|exceeded maximum nesting"):
            yamlio.loads(text)


def test_many_small_aliases_are_bounded():
    text = "a: &a 1\nb: [" + ", ".join("*a" for _ in range(yamlio.MAX_ALIASES + 1)) + "]\n"
    with pytest.raises(SmguardError, match="more than 100 YAML aliases"):
        yamlio.loads(text)


def test_oversize_yaml_is_refused():
    with pytest.raises(SmguardError, match="larger than"):
        yamlio.loads("a: '" + "x" * (yamlio.MAX_BYTES + 1) + "'\n")


@settings(max_examples=20, deadline=None)
@given(st.integers(min_value=0, max_value=5000), st.integers(min_value=1, max_value=3000))
def test_structured_conditions_never_recurse_without_bound(nots, width):
    from smguard.compile import condition

    assert condition.parse("not " * nots + "a") == (condition.Not(condition.Ref("a")) if nots % 2 else condition.Ref("a"))
    wide = condition.parse(" or ".join(f"s{i}" for i in range(width)))
    assert len(condition.refs(wide)) == width
    deep = "(" * width + "a" + ")" * width
    if width <= condition.MAX_DEPTH:
        assert condition.parse(deep) == condition.Ref("a")
    else:
        with pytest.raises(condition.ConditionError, match="nested deeper than"):
            condition.parse(deep)


def test_detection_with_1200_cidr_ranges_validates_and_its_tests_run(pack_copy):
    from smguard.model import check_pack
    from smguard.testing.runner import run_detection

    rel = "detections/network/sagemaker_api_called_from_outside_corporate_proxy.yml"
    path = pack_copy / rel
    ranges = ", ".join(f"172.{16 + i // 256}.{i % 256}.0/24" for i in range(1200))
    text = path.read_text()
    old = r"src: {regex: '^\d{1,3}(\.\d{1,3}){3}$|^[0-9A-Fa-f]*:[0-9A-Fa-f:]+$'}"
    assert old in text
    text = text.replace(old, "src: {exists: true}\n    ranges:\n      src: {cidr: [" + ranges + "]}")
    text = text.replace("condition: sagemaker and ip_caller and", "condition: sagemaker and ip_caller and ranges and")
    path.write_text(text)
    pack, problems = check_pack(pack_copy)
    assert problems == [], problems
    det = next(d for d in pack.detections if d.path.endswith(rel))
    assert det.search["selections"]["ranges"]["src"]["cidr"][1199] == "172.20.175.0/24"
    det.data["tests"] = det.data["tests"][:1]  # one case is enough to prove it runs (each is 1,200 tests/event)
    results = run_detection(pack, det)  # the case may now fail (the logic changed), but it runs
    assert len(results) == 1
    assert all("RecursionError" not in f for r in results for f in r.failures)
