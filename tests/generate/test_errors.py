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
