"""Bad baseline and scenario files fail before anything is written, as ``path:line: message``."""

from __future__ import annotations

import re
import shutil
import textwrap
from pathlib import Path

import pytest

from smguard.cli import main
from smguard.errors import SmguardError
from smguard.generate import load_baseline, load_scenario

GOOD = """\
description: A person creates a notebook instance for the tests.
actor:
  person: any
steps:
  - id: create
    call: sagemaker:CreateNotebookInstance
    params:
      notebookInstanceName: nb-test
      instanceType: ml.t3.medium
      roleArn: "arn:aws:iam::{{ baseline.account }}:role/x"
"""


@pytest.fixture()
def pack(tmp_path: Path, root: Path) -> Path:
    (tmp_path / "generators/scenarios").mkdir(parents=True)
    shutil.copy(root / "generators/baseline.yml", tmp_path / "generators/baseline.yml")
    return tmp_path


def _problems(path: Path, baseline=None) -> list[str]:
    with pytest.raises(SmguardError) as exc:
        load_scenario(path, baseline)
    return [str(p) for p in exc.value.problems]


def _write(pack: Path, text: str, name: str = "bad") -> Path:
    p = pack / "generators/scenarios" / f"{name}.yml"
    p.write_text(textwrap.dedent(text))
    return p


def _line_of(path: Path, needle: str) -> int:
    for i, line in enumerate(path.read_text().splitlines(), 1):
        if needle in line:
            return i
    raise AssertionError(needle)


def test_good_scenario_loads(pack):
    sc = load_scenario(_write(pack, GOOD, "good"))
    assert sc.name == "good" and len(sc.steps) == 1


def test_unknown_event_name(pack):
    p = _write(pack, GOOD.replace("sagemaker:CreateNotebookInstance", "sagemaker:CreateNotebokInstance"))
    (msg,) = _problems(p)
    assert msg.startswith(f"{p.name}:") or f"{p.name}:{_line_of(p, 'call:')}:" in msg
    assert f":{_line_of(p, 'call:')}: unknown event name 'sagemaker:CreateNotebokInstance'" in msg
    assert "did you mean sagemaker:CreateNotebookInstance" in msg


def test_missing_required_parameter(pack):
    p = _write(pack, GOOD.replace("      instanceType: ml.t3.medium\n", ""))
    (msg,) = _problems(p)
    assert f":{_line_of(p, 'call:')}: missing required parameter 'instanceType' for sagemaker:CreateNotebookInstance" in msg


def test_required_parameter_removed_with_null(pack):
    p = _write(pack, GOOD.replace("instanceType: ml.t3.medium", "instanceType: null"))
    assert any("missing required parameter 'instanceType'" in m for m in _problems(p))


def test_bad_reference_to_baseline(pack):
    p = _write(pack, GOOD.replace("{{ baseline.account }}", "{{ baseline.buckets.aproved[0] }}"))
    (msg,) = _problems(p)
    assert f":{_line_of(p, 'roleArn')}: bad reference to the baseline:" in msg and "'aproved'" in msg


def test_bad_actor_reference(pack):
    p = _write(pack, GOOD.replace("person: any", "pipeline: nonexistent-pipeline"))
    (msg,) = _problems(p)
    assert f":{_line_of(p, 'pipeline:')}: bad reference to the baseline: no pipeline role 'nonexistent-pipeline'" in msg


def test_index_out_of_range(pack):
    p = _write(pack, GOOD.replace("{{ baseline.account }}", "{{ baseline.buckets.approved[99] }}"))
    assert any("out of range" in m for m in _problems(p))


def test_wrong_type_schema(pack):
    p = _write(pack, GOOD.replace("  - id: create\n", "  - id: create\n    repeat: many\n"))
    (msg,) = _problems(p)
    assert f":{_line_of(p, 'repeat:')}: steps/0/repeat: 'many' is not of type 'integer'" in msg


def test_wrong_parameter_type(pack):
    p = _write(pack, GOOD.replace("nb-test", "nb-test\n      volumeSizeInGB: big"))
    (msg,) = _problems(p)
    assert f":{_line_of(p, 'volumeSizeInGB')}: sagemaker:CreateNotebookInstance parameter 'volumeSizeInGB' should be a number, not a string" in msg


def test_unknown_key_and_faker_provider_and_variable(pack):
    text = GOOD.replace("description:", "descripton: x\ndescription:")
    p = _write(pack, text)
    assert any("unknown key 'descripton'" in m and ":1:" in m for m in _problems(p))
    p = _write(pack, GOOD.replace("nb-test", "'{{ faker.not_a_provider }}'"))
    assert any("faker has no provider 'not_a_provider'" in m for m in _problems(p))
    p = _write(pack, GOOD.replace("nb-test", "'{{ vars.nope }}'"))
    assert any("no variable 'nope'" in m for m in _problems(p))


def test_bad_duration(pack):
    p = _write(pack, GOOD.replace("  - id: create\n", "  - id: create\n    after: soon\n"))
    assert any(re.search(r":\d+: steps/0/after: ", m) for m in _problems(p))


def test_yaml_syntax_error(pack):
    p = _write(pack, GOOD + "  - call: [unclosed\n")
    (msg,) = _problems(p)
    assert "YAML syntax error" in msg and re.match(r".*bad\.yml:\d+: ", msg)


def test_every_problem_reported_at_once(pack):
    text = GOOD.replace("sagemaker:CreateNotebookInstance", "sagemaker:Nope") + (
        "  - call: iam:CreateAccessKey\n"
        "  - call: s3:GetObject\n"
        '    params: {bucketName: "{{ baseline.nope }}", key: k}\n'
    )
    p = _write(pack, text)
    msgs = _problems(p)
    assert len(msgs) == 3, msgs
    assert all(re.match(r".+\.yml:\d+: ", m) for m in msgs)


def test_bad_baseline(pack):
    b = pack / "generators/baseline.yml"
    text = b.read_text()
    b.write_text(text.replace("sagemaker:DescribeTrainingJob: 110", "sagemaker:DescribeTrainingJobz: 110")
                 .replace("ci_egress: [192.0.2.16/28]", "ci_egress: [192.0.2.300/28]"))
    with pytest.raises(SmguardError) as exc:
        load_baseline(b)
    msgs = [str(p) for p in exc.value.problems]
    assert any("unknown event 'sagemaker:DescribeTrainingJobz'" in m and f":{_line_of(b, 'DescribeTrainingJobz')}:" in m for m in msgs)
    assert any("not a CIDR range" in m and f":{_line_of(b, 'ci_egress')}:" in m for m in msgs)
    b.write_text(text.replace('id: "418295730164"', "id: 418295730164"))
    with pytest.raises(SmguardError) as exc:
        load_baseline(b)
    assert any("is not of type 'string'" in str(p) for p in exc.value.problems)


def test_cli_reports_problems_and_writes_nothing(pack, capsys):
    _write(pack, GOOD.replace("sagemaker:CreateNotebookInstance", "sagemaker:Nope"), "broken")
    out = pack / "out.ndjson"
    rc = main(["--pack", str(pack), "generate", "--hours", "1", "--scenario", "broken", "--out", str(out)])
    assert rc == 1
    assert not out.exists() and not Path(f"{out}.truth.json").exists()
    err = capsys.readouterr().err
    assert "broken.yml:" in err and "unknown event name 'sagemaker:Nope'" in err
    rc = main(["--pack", str(pack), "generate", "--hours", "1", "--scenario", "no_such_scenario", "--out", str(out)])
    assert rc == 1 and "no scenario named 'no_such_scenario'" in capsys.readouterr().err


def test_account_not_in_baseline(pack):
    p = _write(pack, 'account: "999999999999"\n' + GOOD)
    (msg,) = _problems(p)
    assert ":1: bad reference to the baseline: account '999999999999'" in msg


def test_second_account_works(pack, baseline):
    from smguard.generate.scenario import render_scenario

    p = _write(pack, 'account: "{{ baseline.accounts[1].id }}"\n' + GOOD, "second")
    recs = render_scenario(baseline, load_scenario(p, baseline), __import__("datetime").datetime(2026, 11, 24, 10, tzinfo=__import__("datetime").UTC), 1)
    assert recs[0]["recipientAccountId"] == baseline.accounts[1] == recs[0]["userIdentity"]["accountId"]


# --- templates and parameter types are checked at load (issue 11, item 10) ---------------

MODEL = """\
description: A person creates a model.
vars:
  names: [a, b]
actor:
  person: any
steps:
  - id: create_model
    call: sagemaker:CreateModel
    params:
      modelName: MODEL
"""


@pytest.mark.parametrize("bad", [
    '"{{ faker.user_agent }"', '"{{ faker.user_agent"', '"faker.user_agent }}"', '"x-{{ hex(4) }-y"',
    '"{ { hex(4) }}"', '"{{ hex(4) }} and {{ rep"', '"{{ rep } {{ rep1 }}"',
])
def test_unbalanced_template_is_an_error_at_load(pack, bad):
    p = _write(pack, GOOD.replace("nb-test", bad))
    msgs = _problems(p)
    assert len(msgs) == 1, msgs
    assert f"bad.yml:{_line_of(p, 'notebookInstanceName')}: " in msgs[0]
    assert "unbalanced template" in msgs[0] or "braces inside an expression" in msgs[0]


def test_unbalanced_template_anywhere_in_a_step(pack):
    text = GOOD.replace("person: any", "person: any\n  user_agent: \"{{ faker.user_agent }\"")
    p = _write(pack, text)
    (msg,) = _problems(p)
    assert f":{_line_of(p, 'user_agent')}: unbalanced template" in msg


@pytest.mark.parametrize(("value", "shown"), [("42", "a number"), ("{a: 1}", "a mapping"), ("[x]", "a list"),
                                               ("true", "a boolean"), ("4.5", "a number")])
def test_resource_name_parameter_must_be_a_string(pack, value, shown):
    p = _write(pack, MODEL.replace("MODEL", value))
    (msg,) = _problems(p)
    assert (f"bad.yml:{_line_of(p, 'modelName')}: sagemaker:CreateModel parameter 'modelName' should be a string, "
            f"not {shown}") in msg


def test_resource_name_rendered_to_a_list_fails_before_writing(pack, capsys):
    _write(pack, MODEL.replace("MODEL", '"{{ vars.names }}"'), "listy")
    out = pack / "o.ndjson"
    rc = main(["--pack", str(pack), "generate", "--hours", "1", "--scenario", "listy", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and "listy.yml:" in err and "'modelName' should be a string, not a list" in err
    assert "Traceback" not in err and not out.exists() and not Path(f"{out}.truth.json").exists()


def test_string_resource_name_still_loads(pack):
    assert load_scenario(_write(pack, MODEL.replace("MODEL", '"m-{{ hex(6) }}"'), "fine")).steps


# --- scenarios outside the generated window (issue 11, item 11) ---------------------------

@pytest.mark.parametrize("when", ["2026-11-24T10:30", "1999-01-01", "2026-11-23T06:00Z", "2026-11-22T23:59:59Z"])
def test_scenario_outside_the_window_is_an_error(tmp_path, root, capsys, when):
    out = tmp_path / "w.ndjson"
    rc = main(["--pack", str(root), "generate", "--hours", "6", "--scenario", f"access_key_created@{when}",
               "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1, err
    assert "outside the generated window 2026-11-23T00:00Z to 2026-11-23T06:00Z" in err and "--allow-outside-window" in err
    assert "Traceback" not in err and not out.exists() and not Path(f"{out}.truth.json").exists()


def test_outside_the_window_when_asked_for(tmp_path, root):
    out = tmp_path / "w.ndjson"
    assert main(["--pack", str(root), "generate", "--hours", "1", "--scenario", "access_key_created@1999-01-01",
                 "--allow-outside-window", "--out", str(out), "--no-progress"]) == 0
    import json

    truth = json.loads(Path(f"{out}.truth.json").read_text())
    assert truth["instances"][0]["at"] == "1999-01-01T00:00:00Z"


def test_window_rule_over_many_times():
    """check_window raises exactly for times before the first hour or at/after the end."""
    import datetime as dt
    import random

    from smguard.generate import check_window

    rng = random.Random(11)
    for _ in range(500):
        start = dt.datetime(2026, 11, 23, tzinfo=dt.UTC) + dt.timedelta(seconds=rng.randrange(0, 10 * 86400))
        hours = rng.randrange(1, 72)
        at = start + dt.timedelta(seconds=rng.randrange(-3 * 86400, 6 * 86400))
        lo = start.replace(minute=0, second=0)
        inside = lo <= at < lo + dt.timedelta(hours=hours)
        try:
            check_window([("s", at)], start, hours)
            assert inside, (start, hours, at)
        except SmguardError as exc:
            assert not inside and "outside the generated window" in str(exc)


def test_no_template_brace_survives_a_check_that_passed(baseline):
    """Over many random strings: whenever the load-time checks find nothing, rendering
    succeeds and leaves no ``{{`` or ``}}`` in the output (nothing is written literally)."""
    import random

    from smguard.generate import templating

    rng = random.Random(5)
    tokens = ["{{ rep }}", "{{ rep1 }}", "{{", "}}", "{", "}", "a", " ", "{{rep}}"]
    scope = templating.Scope(baseline=baseline.view, rng=random.Random(0))
    flagged = 0
    for _ in range(3000):
        text = "".join(rng.choice(tokens) for _ in range(rng.randrange(1, 8)))
        if templating.unbalanced(text) or any(templating.static_check(e, baseline.view, set(), scope)
                                              for _, e in templating.expressions(text)):
            flagged += 1  # what load_scenario reports
            continue
        out = str(templating.render(text, scope))
        assert "{{" not in out and "}}" not in out, (text, out)
    assert 500 < flagged < 3000


@pytest.mark.parametrize(("field", "value"), [("userAgent", "42"), ("sourceIPAddress", "[]"), ("readOnly", "'yes'"),
                                              ("eventVersion", "'one'")])
def test_a_rendered_record_the_strict_schema_refuses_stops_generation(pack, capsys, field, value):
    """What only rendering shows (a ``fields:`` override of the wrong type) is still refused,
    located at the step, before anything is written: generated logs always pass strict checks."""
    _write(pack, GOOD + f"    fields:\n      {field}: {value}\n", "fieldy")
    out = pack / "f.ndjson"
    rc = main(["--pack", str(pack), "generate", "--hours", "1", "--scenario", "fieldy", "--out", str(out), "--no-progress"])
    err = capsys.readouterr().err
    p = pack / "generators/scenarios/fieldy.yml"
    assert rc == 1 and f"fieldy.yml:{_line_of(p, '- id: create')}: fieldy#1 step 'create' renders a record" in err
    assert f"/{field}: " in err and "Traceback" not in err
    assert not out.exists() and not Path(f"{out}.truth.json").exists()
