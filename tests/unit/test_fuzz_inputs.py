"""Fuzz: random and adversarial YAML (detections, scenarios) and SPL, for a bounded time.

The rule under test, for every input: the entry point returns a result or raises one of
smguard's own located errors (``SmguardError``, of which ``SplError`` is one). Never a
traceback of another kind, never a hang (hypothesis' per-example deadline), and garbage
is never accepted silently (random text is never a valid detection).
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smguard import jsonschemas, spl, yamlio
from smguard.errors import SmguardError
from smguard.model import Detection, check_detection, check_pack

ROOT = Path(__file__).resolve().parents[2]
FUZZ = settings(max_examples=120, deadline=3000, suppress_health_check=[HealthCheck.too_slow,
                                                                          HealthCheck.function_scoped_fixture])


@pytest.fixture(scope="module")
def pack():
    found, problems = check_pack(ROOT)
    assert found is not None and not problems
    return found


# ---------------------------------------------------------------- inputs

YAML_PIECES = ["a: 1\n", "- x\n", "&a ", "*a", "[", "]", "{", "}", ": ", "\n  ", "'", '"', "!!python/object:os.system ",
               "? ", "---\n", "...\n", "%YAML 1.1\n", "|\n", ">-\n", "\t", "#", "\\", "\x00", "é", "<<: *a\n", ","]

scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=False),
                    st.text(max_size=30))
values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(st.text(max_size=12), inner, max_size=4)),
                      max_leaves=12)

SPL_PIECES = ["search", "|", " ", "where", "eval", "stats", "count", "by", "rex", "field=a", "lookup", "table",
              "sort", "head", "dedup", "fields", "rename", "as", "AND", "OR", "NOT", "(", ")", "[", "]", "=", "!=",
              "<", ">=", '"', "'", ",", "x", "a", "1", "-", "+", "*", "/", "%", ".", "match(", "replace(",
              "if(", "case(", "len(", "cidrmatch(", "mvfind(", "strftime(", "relative_time(", "now()", '"(a+)+$"',
              '"(?<g>\\\\w+)"', "`", "IN", "earliest=-1d", "span=1h", "bin", "_time", "makeresults", "inputlookup",
              "join", "append", "spath", "mvexpand", "fillnull", "\\", "\n", "\x00", "é", "9" * 30]

EVENTS = [{"_time": float(t), "_raw": '{"a": "1"}', "eventID": f"e{t}", "a": str(t % 3), "src": "10.0.0.1",
           "userAgent": "a" * 41} for t in range(5)]


def _paths(node: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, prefix + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, prefix + (i,))
    return out


def _mutate(data: Any, data_strategy: st.DataObject) -> Any:
    """Replace, delete or add one node anywhere in ``data``."""
    data = copy.deepcopy(data)
    paths = _paths(data)[1:]
    path = data_strategy.draw(st.sampled_from(paths))
    parent = data
    for k in path[:-1]:
        parent = parent[k]
    action = data_strategy.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "delete":
        del parent[path[-1]]
    elif action == "replace":
        parent[path[-1]] = data_strategy.draw(values)
    elif isinstance(parent, dict):
        parent[data_strategy.draw(st.text(max_size=12))] = data_strategy.draw(values)
    else:
        parent.append(data_strategy.draw(values))
    return data


def _detection_problems(pack, text: str) -> list:
    """The validate path for one detection file's text: YAML, schema, cross-checks, SPL plan."""
    doc = yamlio.loads(text, "detections/iam/fuzz.yml")
    if not isinstance(doc.data, dict):
        return ["not a mapping"]
    problems = jsonschemas.check("detection", doc)
    if problems:
        return problems
    return check_detection(pack, Detection(doc.data, doc))


# ---------------------------------------------------------------- YAML


@FUZZ
@given(st.lists(st.sampled_from(YAML_PIECES) | st.text(max_size=8), max_size=30).map("".join))
def test_random_yaml_is_never_a_valid_detection(pack, text):
    try:
        problems = _detection_problems(pack, text)
    except SmguardError:
        return
    assert problems, f"garbage accepted: {text!r}"


DETECTION_FILES = sorted((ROOT / "detections").rglob("*.yml"))


@FUZZ
@given(st.sampled_from(DETECTION_FILES), st.data())
def test_mutated_detections_give_problems_or_pass_never_crash(pack, path, data):
    original = yamlio.load(path).data
    mutated = _mutate(original, data)
    text = yaml.safe_dump(mutated, sort_keys=False, allow_unicode=True)
    try:
        _detection_problems(pack, text)
    except SmguardError:
        pass


SCENARIO_FILES = sorted((ROOT / "generators/scenarios").glob("*.yml"))


@pytest.fixture(scope="module")
def baseline():
    from smguard.generate.model import load_baseline

    return load_baseline(ROOT / "generators/baseline.yml")


@FUZZ
@given(st.sampled_from(SCENARIO_FILES), st.data())
def test_mutated_scenarios_load_or_fail_located(baseline, tmp_path_factory, path, data):
    from smguard.generate.scenario import load_scenario

    mutated = _mutate(yamlio.load(path).data, data)
    target = tmp_path_factory.mktemp("scen") / path.name
    target.write_text(yaml.safe_dump(mutated, sort_keys=False, allow_unicode=True))
    try:
        load_scenario(target, baseline)
    except SmguardError as exc:
        assert all(p.line >= 0 and p.message for p in exc.problems)


# ---------------------------------------------------------------- SPL


@FUZZ
@given(st.lists(st.sampled_from(SPL_PIECES), min_size=1, max_size=25).map(" ".join))
def test_random_spl_runs_or_fails_with_an_spl_error(q):
    ctx = spl.SearchContext({}, {})
    try:
        spl.check(q, ctx)
        spl.run(q, EVENTS, ctx, now=100.0)
    except SmguardError:
        pass


@FUZZ
@given(st.text(max_size=200))
def test_arbitrary_text_as_spl(q):
    ctx = spl.SearchContext({}, {})
    try:
        spl.run(q, EVENTS, ctx, now=100.0)
    except SmguardError:
        pass


@FUZZ
@given(st.text(max_size=40))
def test_arbitrary_text_as_a_regex(pattern):
    from smguard.spl import pcre

    try:
        rx = pcre.compile(pattern)
    except SmguardError:
        return
    rx.search("a" * 41 + "!")


atoms = st.sampled_from(["a", "src", "userAgent", "'a'", "1", "0", "-2.5", '"x"', '"10.0.0.0/8"', "null()",
                         "now()", "true()", '""', "missing_field"])
exprs = st.recursive(atoms, lambda inner: st.one_of(
    st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "%", ".", "=", "!=", "<", ">=", "AND", "OR", "XOR",
                                      "LIKE"]), inner).map(" ".join),
    inner.map(lambda e: f"NOT {e}"), inner.map(lambda e: f"({e})"),
    st.tuples(st.sampled_from(["if", "case", "coalesce", "len", "lower", "match", "replace", "cidrmatch",
                               "mvfind", "tonumber", "round", "substr", "split", "mvcount", "isnull"]),
              st.lists(inner, min_size=0, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
), max_leaves=20)


@FUZZ
@given(exprs, st.sampled_from(["where", "eval y=", "stats count(eval({})) as c by a"]))
def test_generated_eval_expressions_run_or_fail_with_an_spl_error(expr, cmd):
    q = "search * | " + (cmd.format(expr) if "{}" in cmd else f"{cmd} {expr}")
    try:
        spl.run(q, EVENTS, spl.SearchContext({}, {}), now=100.0)
    except SmguardError:
        pass
