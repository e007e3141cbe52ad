"""Optimizer rule ``keep_active_groups``: where it keeps only the groups that can reach the
final ``stats``, where it must not, and that results never change (random pipelines)."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from smguard.spl import SearchContext, SplError, run
from smguard.spl import ast as A
from smguard.spl.evalfuncs import EvalEnv
from smguard.spl.optimizer import optimize
from smguard.spl.optimizer.active_groups import keep_active_groups
from smguard.spl.parser import parse, parse_eval_expr
from smguard.spl.rows import Row
from smguard.spl.statscmd import KeepGroupsOp

NOW = 100_000.0

BASELINE = ("* | sort 0 _time | streamstats time_window=10m count as recent by user "
            "| eval cut=now()-3600 | eval hist=if(_time < cut, recent, null()) "
            "| eventstats avg(hist) as avg_h max(hist) as max_h by user "
            "| where _time >= cut AND recent > max_h | stats count max(recent) as peak by user")


def kinds(spl: str) -> list[str]:
    return [type(c).__name__.removesuffix("Cmd") for c in keep_active_groups(parse(spl)).commands]


def test_the_groups_are_cut_right_after_the_condition_is_known():
    assert kinds(BASELINE) == ["Search", "Sort", "Stats", "Eval", "KeepGroups", "Eval", "Stats", "Where", "Stats"]
    kept = keep_active_groups(parse(BASELINE)).commands[4]
    assert isinstance(kept, A.KeepGroupsCmd) and kept.by == ["user"]
    assert kept.expr == parse_eval_expr("_time >= cut", 0, len("_time >= cut"))


def test_the_rule_is_idempotent():
    once = keep_active_groups(parse(BASELINE))
    assert keep_active_groups(once) is once


def _not_crossing(spl: str, at: int) -> bool:
    """Is the rule absent, or placed after the command at index ``at``?"""
    ks = kinds(spl)
    return "KeepGroups" not in ks or ks.index("KeepGroups") > at


def test_commands_that_couple_groups_or_may_fail_stop_it():
    swap = BASELINE.replace
    assert "KeepGroups" not in kinds(swap("by user | where", "by region | where"))  # eventstats over other groups
    for cmd in ["head 50",  # cuts rows of every group
                "sort - recent",  # a plain sort keeps 10,000 rows
                "streamstats window=3 count as c by user",  # one count window for all groups
                "eval user=lower(user)",  # writes the BY field
                "eval b=recent>1",  # an error on every row it runs on
                "eval m=match(user, \"a\")",  # not known never to raise
                "eval cut=cut+1"]:  # writes what the condition reads
        spl = swap("| eval hist=", f"| {cmd} | eval hist=")
        assert [type(c).__name__ for c in parse(spl).commands][:5][-1] != "KeepGroupsCmd"
        assert _not_crossing(spl, 4), cmd
        assert kinds(spl).count("KeepGroups") <= 1
    assert "KeepGroups" not in kinds(swap("stats count max(recent) as peak by user", "stats count"))  # no groups
    # per-event prefix: a rule there would make the scan hold what it streams
    assert "KeepGroups" not in kinds("* | eval cut=now() | where _time >= cut | eventstats count as n by user "
                                     "| stats count by user")


def test_the_condition_grows_with_what_later_wheres_imply():
    """A verdict computed late still narrows the groups kept: the ``where`` at the end
    implies, at the keep, a condition on fields known there (optimizer/implied.py)."""
    spl = BASELINE.replace("| where _time >= cut AND recent > max_h",
                           "| eval f=if(isnull(avg_h), 10, 1) | eval hot=if(recent >= 5*f AND recent > max_h, 1, 0) "
                           "| where _time >= cut AND hot=1")
    kept = next(c for c in keep_active_groups(parse(spl)).commands if isinstance(c, A.KeepGroupsCmd))
    want = "_time >= cut AND (recent >= 50 OR recent >= 5)"  # (no function call: positions compare equal)
    assert kept.expr == parse_eval_expr(want, 0, len(want))
    for seed, events in EVENTS.items():
        on = run(spl, events, SearchContext(), now=NOW)
        off = run(spl, events, SearchContext(), now=NOW, optimize=False)
        assert (on.rows, on.event_ids) == (off.rows, off.event_ids), seed


def test_a_crossed_command_keeps_the_rule_when_it_is_group_local():
    spl = BASELINE.replace("| eval hist=", "| streamstats window=3 global=f count as c by user "
                           "| fillnull value=0 recent | sort 0 - _time | eval hist=")
    assert "KeepGroups" in kinds(spl)


def _op(by: list[str], cond: str) -> KeepGroupsOp:
    return KeepGroupsOp(A.KeepGroupsCmd(by, parse_eval_expr(cond, 0, len(cond))), EvalEnv(NOW, cond))


def test_keep_groups_op_keeps_whole_groups_in_order_and_drops_null_keys():
    rows = [Row({"user": u, "x": x}, (f"e{i}",), True) for i, (u, x) in
            enumerate([("a", 1), ("b", 0), (None, 5), ("a", 0), ("b", 0), ("c", 9)])]
    rows[2].f.pop("user")
    out = _op(["user"], "x > 0").apply(rows)
    assert [r.ids for r in out] == [("e0",), ("e3",), ("e5",)]


def test_keep_groups_op_keeps_everything_when_a_row_is_in_two_groups():
    rows = [Row({"user": ["a", "b"], "x": 0}, ("e0",), True), Row({"user": "c", "x": 0}, ("e1",), True)]
    assert _op(["user"], "x > 0").apply(rows) == rows


# ------------------------------------------------------------ property: on == off

USERS = ("alice", "bob", "carol", "dave")


def _events(seed: int) -> list[dict]:
    """Three hours up to NOW; alice is only active before the last 90 minutes (her group
    has no row in the last hour), dave only in the last hour; some ties, some rows
    without a user, multivalue users with seed 2 only."""
    rnd = random.Random(seed)
    out = []
    for i in range(90):
        t = NOW - 3 * 3600 + i * 120 + rnd.choice((0, 0, 45))
        e: dict = {"eventID": f"e{i:03d}", "_time": float(t), "region": rnd.choice(("eu", "us"))}
        u = rnd.random()
        if u < 0.08:
            pass  # no user: in no group
        elif u < 0.12 and seed == 2:
            e["user"] = rnd.sample(USERS, 2)  # multivalue: in two groups (the op then keeps all)
        elif t < NOW - 5400:
            e["user"] = rnd.choice(USERS[:3])
        else:
            e["user"] = rnd.choice(USERS[1:])
        if rnd.random() < 0.9:
            e["size"] = rnd.randint(0, 50)
        e["_raw"] = " ".join(f"{k}={v}" for k, v in e.items() if k != "_time")
        out.append(e)
    return out


EVENTS = {s: _events(s) for s in range(3)}
LOCAL = st.sampled_from((  # group-local for BY user: the rule may cross them
    "eval big=if(size>25, 1, 0)",
    "eval hist=if(_time < cut, size, null())",
    "eventstats avg(size) as avg_s max(hist) as max_h by user",
    "eventstats count as n by user region",
    "streamstats count as seq by user",
    "streamstats window=2 global=f sum(size) as w2 by user",
    "streamstats time_window=20m max(size) as recent by user",
    "where size > 3",
    "search region=eu",
    "fillnull value=0 hist size",
    "sort 0 size",
))
BLOCKING = st.sampled_from((  # the rule must not cross them
    "eventstats count as n by region",  # couples groups
    "streamstats window=2 count as w2 by user",  # one count window for all groups
    "sort size",  # keeps 10,000 rows
    "head 40",
    "eval user=if(size>40, \"zed\", user)",  # writes the BY field
    "eval cut=cut+600",  # writes a field the condition reads
    "eval odd=size>40",  # a boolean: an error on each row it runs on
))
CROSSED = st.one_of(LOCAL, LOCAL, LOCAL, BLOCKING)
FINAL = st.sampled_from((
    "where _time >= cut | stats count sum(size) as total by user",
    "where _time >= cut AND size > 10 | stats values(region) as regions first(size) as f by user",
    "where size > 20 | stats count by user region",
    "where _time >= cut | eval k=size | stats last(k) as k by user",
    # verdicts computed late (implied.py reads them back through the evals to the keep)
    "eval f=1 | eval f=if(isnotnull(hist), 10, f) | eval above=if(size >= 3*f AND size > coalesce(avg_s, 0), 1, 0) "
    "| where _time >= cut AND above=1 | stats count sum(size) as total by user",
    "fillnull value=0 size | eval big=case(size>40, 2, size>20, 1) | where big>=1 AND _time >= cut "
    "| stats count by user",
))


@settings(max_examples=150, deadline=None)
@given(cmds=st.lists(CROSSED, min_size=1, max_size=4), final=FINAL, seed=st.sampled_from(sorted(EVENTS)),
       first=st.sampled_from(("sort 0 _time", "eventstats count as all_n by user")),
       cut=st.sampled_from(("now()-3600", "now()-3600+0*_time")))  # the second stays put (reads _time)
def test_keeping_active_groups_keeps_results(cmds, final, seed, first, cut):
    spl = " | ".join(["*", first, f"eval cut={cut}", *cmds, final])
    events = EVENTS[seed]

    def outcome(opt: bool):
        try:
            res = run(spl, events, SearchContext(), now=NOW, optimize=opt)
        except SplError as exc:
            return ("error", str(exc))
        return res.rows, res.event_ids

    assert outcome(True) == outcome(False)


def test_the_property_exercises_the_rule():
    """The random pipelines above do reach the rule (not only its refusals)."""
    spl = " | ".join(["*", "sort 0 _time", "eval cut=now()-3600", "eval hist=if(_time < cut, size, null())",
                      "eventstats avg(size) as avg_s max(hist) as max_h by user",
                      "where _time >= cut | stats count sum(size) as total by user"])
    assert any(isinstance(c, A.KeepGroupsCmd) for c in optimize(parse(spl)).commands)
    for seed, events in EVENTS.items():
        on = run(spl, events, SearchContext(), now=NOW)
        off = run(spl, events, SearchContext(), now=NOW, optimize=False)
        assert (on.rows, on.event_ids) == (off.rows, off.event_ids), seed
        assert 0 < len(on.rows) < len({u for e in events for u in ([e["user"]] if isinstance(e.get("user"), str)
                                                                     else e.get("user") or [])})


# ------------------------------------------------- scan == executor, schedule replay

BASELINE_SCAN = (
    "index=aws sourcetype=aws:cloudtrail eventName IN (GetObject, PutObject) "
    "| eval size=coalesce('requestParameters.size', 0) | eval scored_from=relative_time(now(), \"-30m@m\") "
    "| sort 0 _time | streamstats time_window=10m sum(size) as recent by user "
    "| eval hist=if(_time < scored_from, recent, null()) "
    "| eventstats avg(hist) as avg_h max(hist) as max_h by user "
    "| where _time >= scored_from AND recent >= max_h | stats count max(recent) as peak by user")


def test_the_scan_replays_the_rule_as_the_executor_runs_it(tmp_path, monkeypatch):
    """A baseline-shaped search replayed run by run (users idle in some scored half hours):
    the scanner, optimizer on and off, returns the executor's rows for every run."""
    import json

    from smguard.scan import DetectionSpec, scan
    from smguard.scan.logs import read_events

    from .oracle import expected_rows
    from .test_plan_properties import NOW as PNOW
    from .test_plan_properties import RECORDS

    assert any(isinstance(c, A.KeepGroupsCmd) for c in optimize(parse(BASELINE_SCAN)).commands)
    log = tmp_path / "logs.ndjson"
    log.write_text("".join(json.dumps(r) + "\n" for r in RECORDS))
    events = sorted(read_events([str(log)], index="aws", sourcetype="aws:cloudtrail"), key=lambda e: e["_time"])
    spec = DetectionSpec(id="g", name="g", area="a", spl=BASELINE_SCAN, cron="*/20 * * * *", earliest="-2h@h",
                         latest="@m")
    want = expected_rows(spec, events, SearchContext(), now=PNOW, all_time=False)
    assert want  # the runs do alert
    cut = []
    apply = KeepGroupsOp.apply

    def counted(self, rows):  # noqa: ANN001, ANN202
        out = apply(self, rows)
        cut.append(len(out) < len(rows))
        return out

    monkeypatch.setattr(KeepGroupsOp, "apply", counted)
    for opt in (True, False):
        got = scan([spec], [str(log)], SearchContext(), index="aws", sourcetype="aws:cloudtrail", all_time=False,
                   now=PNOW, optimize=opt).alerts[0].results
        assert got == want, opt
    assert any(cut)  # some runs did drop idle groups
