"""Values that belong together stay together: one secret one ARN, one key one ARN, one session
one IP and one user agent, one model one project; durations and event shapes the detection
engineers asked for."""

from __future__ import annotations

import collections
import csv
import datetime as dt
import random
import re
import shutil
import textwrap
from pathlib import Path

import pytest

from smguard.cloudtrail.schema import validate_record
from smguard.errors import SmguardError
from smguard.generate import catalog, ids, load_scenario, render_scenario
from smguard.generate.records import VARS, Ctx, build_record
from smguard.generate.scenario import span

WHEN = dt.datetime(2026, 11, 24, 10, tzinfo=dt.UTC)


def _rec(b, call, seed, *, kind="people", client="cli", params=None, account=None, region=None):
    spec = catalog.lookup(call)
    p = b.principals[kind][0]
    rng = random.Random(seed)
    ctx = Ctx(b, rng, account or b.accounts[0], region or b.regions[0], p, WHEN)
    return build_record(spec, p, client, ctx, rng, event_time="2026-11-24T10:00:00Z",
                        event_id="0f8fad5b-d9cb-469f-a165-70867728950e", params=params)


@pytest.fixture()
def pack(tmp_path: Path, root: Path) -> Path:
    (tmp_path / "generators/scenarios").mkdir(parents=True)
    shutil.copy(root / "generators/baseline.yml", tmp_path / "generators/baseline.yml")
    return tmp_path


def _scenario(pack: Path, text: str, name: str = "t"):
    p = pack / "generators/scenarios" / f"{name}.yml"
    p.write_text(textwrap.dedent(text))
    return load_scenario(p)


# ----------------------------------------------------------------------------- 1. secrets

def test_secret_arn_suffix_is_fixed_per_secret(baseline, day):
    arns = collections.defaultdict(set)
    for seed in range(60):
        arn = _rec(baseline, "secretsmanager:GetSecretValue", seed, kind="execution_roles", client="vpc")["requestParameters"]["secretId"]
        name, suffix = arn.split(":secret:", 1)[1].rsplit("-", 1)
        arns[name].add(suffix)
    assert set(arns) == set(baseline.data["resources"]["secrets"])
    for name, suffixes in arns.items():
        assert suffixes == {ids.secret_suffix(name)}, (name, suffixes)
        assert re.fullmatch(r"[A-Za-z0-9]{6}", ids.secret_suffix(name))
    # and in a day of baseline: one ARN suffix per secret name
    seen = collections.defaultdict(set)
    for r in day:
        if r["eventName"] == "GetSecretValue":
            name, suffix = r["requestParameters"]["secretId"].split(":secret:", 1)[1].rsplit("-", 1)
            seen[name].add(suffix)
    assert seen and all(len(s) == 1 for s in seen.values()), seen


def test_scenarios_can_name_the_same_secret_arn(pack, baseline):
    sc = _scenario(pack, """\
        description: a role reads every known secret by ARN
        kind: benign
        actor: {execution_role: notebook}
        steps:
          - call: secretsmanager:GetSecretValue
            repeat: 3
            params:
              secretId: "arn:aws:secretsmanager:{{ baseline.region }}:{{ baseline.account }}:secret:{{ cycle(baseline.resources.secrets) }}-{{ secret_suffix(cycle(baseline.resources.secrets)) }}"
        """)
    got = [r["requestParameters"]["secretId"] for r in render_scenario(baseline, sc, WHEN, 1)]
    want = [f"arn:aws:secretsmanager:{baseline.regions[0]}:{baseline.accounts[0]}:secret:{n}-{ids.secret_suffix(n)}"
            for n in baseline.data["resources"]["secrets"]]
    assert got == want


# ----------------------------------------------------------------------------- 2. KMS

@pytest.mark.parametrize("call", ["kms:ScheduleKeyDeletion", "kms:DisableKey", "kms:PutKeyPolicy", "kms:DescribeKey", "kms:GenerateDataKey"])
def test_kms_resources_name_the_requested_key(baseline, call):
    acct, region = baseline.accounts[0], baseline.regions[0]
    for key in baseline.data["kms_keys"]:
        arn = f"arn:aws:kms:{region}:{acct}:key/{key['id']}"
        for ref in (key["id"], arn, key["alias"], f"arn:aws:kms:{region}:{acct}:{key['alias']}"):
            for seed in range(4):
                params = {"keyId": ref}
                if call == "kms:PutKeyPolicy":
                    params["policy"] = "{}"
                rec = _rec(baseline, call, seed, params=params)
                assert rec["requestParameters"]["keyId"] == ref
                assert [r["ARN"] for r in rec["resources"]] == [arn], (call, ref)
                if call == "kms:ScheduleKeyDeletion":
                    assert rec["responseElements"]["keyId"] == arn


def test_kms_unknown_keys_stand_for_themselves(baseline):
    acct = baseline.accounts[0]
    foreign = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    rec = _rec(baseline, "kms:ScheduleKeyDeletion", 1, params={"keyId": foreign})
    assert rec["resources"][0]["ARN"] == foreign == rec["responseElements"]["keyId"]
    a = _rec(baseline, "kms:DisableKey", 1, params={"keyId": "alias/attacker-key"})["resources"][0]["ARN"]
    b = _rec(baseline, "kms:DisableKey", 2, params={"keyId": "alias/attacker-key"})["resources"][0]["ARN"]
    assert a == b and a.startswith(f"arn:aws:kms:{baseline.regions[0]}:{acct}:key/")


def test_kms_scenario_key_by_alias(pack, baseline):
    sc = _scenario(pack, """\
        description: delete a key by alias
        kind: attack
        actor: {person: privileged, client: cli}
        steps:
          - call: kms:ScheduleKeyDeletion
            params: {keyId: alias/ml-artifacts, pendingWindowInDays: 7}
        """)
    key = next(k for k in baseline.data["kms_keys"] if k["alias"] == "alias/ml-artifacts")
    for seed in range(5):
        rec = render_scenario(baseline, sc, WHEN, seed)[0]
        arn = f"arn:aws:kms:{baseline.regions[0]}:{baseline.accounts[0]}:key/{key['id']}"
        assert rec["resources"][0]["ARN"] == arn == rec["responseElements"]["keyId"]


# ----------------------------------------------------------------------------- 3. sessions

def _sessions(records, who):
    groups = collections.defaultdict(list)
    for r in records:
        ui = r["userIdentity"]
        if who(ui.get("arn", "")) and "attributes" in ui.get("sessionContext", {}):
            groups[(ui["arn"], ui["sessionContext"]["attributes"]["creationDate"], "invokedBy" in ui)].append(r)
    return groups


def test_execution_role_session_keeps_one_ip_and_one_agent(day):
    groups = _sessions(day, lambda arn: "ExecutionRole" in arn)
    assert len(groups) > 20
    multi = 0
    for key, recs in groups.items():
        ips = {r["sourceIPAddress"] for r in recs}
        agents = {r["userAgent"] for r in recs}
        assert len(ips) == 1, (key, ips)
        assert len(agents) == 1, (key, agents)
        multi += len(recs) > 1
        for r in recs:
            assert r["userIdentity"]["sessionContext"]["attributes"]["creationDate"] <= r["eventTime"]
    assert multi > 10
    # several jobs run at once: more than one session per role and hour
    per_hour = collections.Counter((k[0], k[2], r["eventTime"][:13]) for k, recs in groups.items() for r in recs[:1])
    assert max(per_hour.values()) > 1


def test_people_do_not_hop_between_egress_ips(day):
    by_person_hour = collections.defaultdict(set)
    for r in day:
        arn = r["userIdentity"].get("arn", "")
        if "AWSReservedSSO_" in arn:
            by_person_hour[(arn, r["eventTime"][:13])].add(r["sourceIPAddress"])
    assert by_person_hour
    assert all(len(ips) == 1 for ips in by_person_hour.values()), [k for k, v in by_person_hour.items() if len(v) > 1][:3]
    # and from hour to hour the IP mostly stays
    hours = collections.defaultdict(list)
    for (arn, _hour), ips in sorted(by_person_hour.items()):
        hours[arn].append(next(iter(ips)))
    changes = sum(sum(a != b for a, b in zip(v, v[1:], strict=False)) for v in hours.values())
    steps = sum(len(v) - 1 for v in hours.values())
    assert steps > 50 and changes <= 0.2 * steps, (changes, steps)


def test_pipeline_session_keeps_one_runner(day):
    for key, recs in _sessions(day, lambda arn: "-pipeline/" in arn).items():
        assert len({r["sourceIPAddress"] for r in recs}) == 1, key


SESSION_SCENARIO = """\
description: one actor, many calls
kind: benign
actor: {ACTOR}
steps:
  - call: sagemaker:ListNotebookInstances
    repeat: 6
    every: 5s..40s
  - call: sagemaker:DescribeTrainingJob
    after: 1m
    repeat: 6
    every: 5s..40s
  - call: sagemaker:ListModels
    after: 1m
    actor: {ACTOR_OTHER}
  - call: sagemaker:ListEndpoints
    after: 1m
    repeat: 3
"""


@pytest.mark.parametrize("actor", [
    "{execution_role: training, client: vpc}",
    "{execution_role: notebook, client: sdk}",
    "{person: PERSON, client: console}",
    "{person: PERSON, client: sdk}",
    "{person: PERSON, client: cli}",
    "{pipeline: sagemaker-deploy-pipeline, session: GitHubActions, client: sdk}",
])
def test_scenario_actor_keeps_ip_and_agent(pack, baseline, actor):
    actor = actor.replace("PERSON", baseline.people[3]["email"])
    other = actor[:-1] + ", source_ip: 203.0.113.77}"
    sc = _scenario(pack, SESSION_SCENARIO.replace("{ACTOR_OTHER}", other).replace("{ACTOR}", actor))
    for seed in range(6):
        recs = render_scenario(baseline, sc, WHEN, seed)
        own = [r for i, r in enumerate(recs) if i != 12]
        assert len({r["sourceIPAddress"] for r in own}) == 1, (actor, seed, {r["sourceIPAddress"] for r in own})
        agents = {r["userAgent"] for r in own}
        if "cli" in actor:  # the CLI names its command, nothing else changes
            agents = {re.sub(r"md/command#\S+", "", a) for a in agents}
        assert len(agents) == 1, (actor, seed, agents)
        assert recs[12]["sourceIPAddress"] == "203.0.113.77"
        # the same credentials used from elsewhere keep their session start
        starts = {r["userIdentity"]["sessionContext"]["attributes"]["creationDate"] for r in recs}
        assert len(starts) == 1


def test_actor_source_ip_template_is_the_ip_used(pack, baseline):
    sc = _scenario(pack, """\
        description: the actor's IP in a parameter
        kind: benign
        actor: {person: any, client: cli}
        steps:
          - call: sagemaker:AddTags
            params:
              resourceArn: "arn:aws:sagemaker:eu-west-1:418295730164:endpoint/churn-prod"
              tags: [{key: Caller, value: "{{ actor.source_ip }}"}]
            repeat: 3
        """)
    for seed in range(5):
        for r in render_scenario(baseline, sc, WHEN, seed):
            assert r["requestParameters"]["tags"][0]["value"] == r["sourceIPAddress"]


# ----------------------------------------------------------------------------- 4. CreateModel

def _model_projects(rec, projects):
    req = rec["requestParameters"]
    name_proj = next(p for p in sorted(projects, key=len, reverse=True) if req["modelName"].startswith(p + "-"))
    image_proj = req["primaryContainer"]["image"].split("/ml-inference/", 1)[1].split("@", 1)[0]
    tag_proj = next(t["value"] for t in req["tags"] if t["key"] == "Project")
    return name_proj, image_proj, tag_proj


def test_create_model_name_image_and_tags_agree(baseline):
    projects = baseline.data["projects"]
    for seed in range(40):
        name, image, tag = _model_projects(_rec(baseline, "sagemaker:CreateModel", seed, kind="pipelines", client="sdk"), projects)
        assert name == image == tag, (seed, name, image, tag)
    for seed in range(10):
        rec = _rec(baseline, "sagemaker:CreateModel", seed, params={"modelName": "fraud-gbm-v8"})
        assert _model_projects(rec, projects) == ("fraud", "fraud", "fraud")
        assert "/models/fraud-gbm-v8/" in rec["requestParameters"]["primaryContainer"]["modelDataUrl"]


# ----------------------------------------------------------------------------- 5. Snowflake PrivateLink

def test_snowflake_privatelink_endpoints_in_baseline_match_lookup(root, baseline):
    vpc = baseline.data["network"]["vpc"]["id"]
    with open(root / "lookups/snowflake_privatelink_endpoints.csv", newline="") as fh:
        listed = {row["vpce_id"] for row in csv.DictReader(fh) if row["vpc_id"] == vpc}
    endpoints = baseline.data["network"]["vpc_endpoints"]
    assert endpoints["snowflake"] == "vpce-07a8b9c0d1e2f3a45"
    snowflake = {v for k, v in endpoints.items() if k.startswith("snowflake")}
    assert snowflake == listed


def test_nothing_in_the_baseline_touches_the_snowflake_endpoints(baseline, week):
    endpoints = baseline.data["network"]["vpc_endpoints"]
    snowflake = {v for k, v in endpoints.items() if k.startswith("snowflake")}
    # no baseline principal modifies VPC endpoints at all ...
    mixes = list(baseline.data["activity"]["mix"].values()) + [s["mix"] for s in baseline.data["services"]]
    for mix in mixes:
        for call in mix:
            spec = catalog.lookup(call)
            assert not (spec.service == "ec2" and "VpcEndpoint" in spec.name and not spec.read_only), call
    # ... a generic endpoint change never picks a third-party endpoint ...
    p = baseline.principals["people"][0]
    for seed in range(300):
        ctx = Ctx(baseline, random.Random(seed), baseline.accounts[0], baseline.regions[0], p, WHEN)
        assert VARS["vpce_id"](ctx) not in snowflake
    # ... and days of baseline (a weekday and a weekend) never name them in a write
    assert week.records > 50_000
    assert not any(week.writes_naming[v] for v in snowflake), week.writes_naming
    assert not any(week.endpoint_ids[v] for v in snowflake), week.endpoint_ids


# ----------------------------------------------------------------------------- 6. durations

@pytest.mark.parametrize("text, want", [
    ("3h30m", (12600, 12600)), ("1h5m30s", (3930, 3930)), ("210m", (12600, 12600)), ("30s..3m", (30, 180)),
    ("1h..1h30m", (3600, 5400)), ("2d12h", (216000, 216000)), ("1m30s500ms", (90.5, 90.5)), (45, (45, 45)),
])
def test_compound_durations(text, want):
    assert span(text) == want


def test_compound_duration_in_a_scenario(pack):
    sc = _scenario(pack, """\
        description: a long wait
        kind: benign
        actor: {person: any}
        steps:
          - call: sagemaker:ListModels
          - call: sagemaker:ListModels
            after: 3h30m
          - call: sagemaker:ListModels
            after: 1h5m30s..2h
        """)
    assert sc.duration() == 12600 + 7200


@pytest.mark.parametrize("bad", ["3m3h", "1h1h", "5m..1m", "1h 30m", "soon", "h30m"])
def test_bad_compound_duration_is_located(pack, bad):
    p = pack / "generators/scenarios/bad.yml"
    p.write_text(textwrap.dedent(f"""\
        description: A step waits for a badly written duration.
        kind: benign
        actor: {{person: any}}
        steps:
          - call: sagemaker:ListModels
          - call: sagemaker:ListModels
            after: "{bad}"
        """))
    with pytest.raises(SmguardError) as exc:
        load_scenario(p)
    msgs = [str(m) for m in exc.value.problems]
    assert any(re.search(r"bad\.yml:7: steps/1/after: ", m) for m in msgs), msgs


# ----------------------------------------------------------------------------- 7. new event shapes

NEW = {
    "apigateway:PutMethod": "apigateway.amazonaws.com",
    "apigateway:UpdateMethod": "apigateway.amazonaws.com",
    "budgets:DeleteBudget": "budgets.amazonaws.com",
    "budgets:UpdateBudget": "budgets.amazonaws.com",
    "logs:DeleteSubscriptionFilter": "logs.amazonaws.com",
    "cloudtrail:StopEventDataStoreIngestion": "cloudtrail.amazonaws.com",
    "cloudtrail:DeleteEventDataStore": "cloudtrail.amazonaws.com",
    "guardduty:DisassociateFromAdministratorAccount": "guardduty.amazonaws.com",
    "guardduty:DeleteMembers": "guardduty.amazonaws.com",
    "macie2:DisassociateFromAdministratorAccount": "macie2.amazonaws.com",
    "detective:DisassociateMembership": "detective.amazonaws.com",
    "sagemaker:CreateHyperParameterTuningJob": "sagemaker.amazonaws.com",
    "s3:UploadPartCopy": "s3.amazonaws.com",
    "s3:PutBucketAcl": "s3.amazonaws.com",
}
DESTRUCTIVE = [k for k in NEW if k.split(":")[1].startswith(("Delete", "Stop", "Disassociate", "Update", "Put", "Create"))
               and k not in ("sagemaker:CreateHyperParameterTuningJob",)]


@pytest.mark.parametrize("call", sorted(NEW))
def test_new_event_shapes(baseline, call):
    spec = catalog.lookup(call)
    assert spec is not None and spec.source == NEW[call] and not spec.read_only
    rec = _rec(baseline, call, 1)
    assert rec["eventSource"] == NEW[call] and rec["eventName"] == call.split(":")[1]
    assert not validate_record(rec, strict=True)
    if spec.service == "budgets":
        assert rec["awsRegion"] == "us-east-1"
        assert rec["requestParameters"]["accountId"] == baseline.accounts[0]
    else:
        assert rec["awsRegion"] == baseline.regions[0]
    if call == "s3:UploadPartCopy":
        assert rec["eventCategory"] == "Data" and rec["managementEvent"] is False
        assert {"partNumber", "uploadId", "x-amz-copy-source"} <= set(rec["requestParameters"])
    if call == "s3:PutBucketAcl":
        assert rec["eventCategory"] == "Management"
        assert "AccessControlList" in rec["requestParameters"]["AccessControlPolicy"]
    if call == "sagemaker:CreateHyperParameterTuningJob":
        name = rec["requestParameters"]["hyperParameterTuningJobName"]
        assert len(name) <= 32
        assert rec["responseElements"]["hyperParameterTuningJobArn"].endswith(f":hyper-parameter-tuning-job/{name}")


@pytest.mark.parametrize("auth", ["NONE", "AWS_IAM", "CUSTOM", "COGNITO_USER_POOLS"])
def test_apigateway_method_authorization_types(pack, baseline, auth):
    sc = _scenario(pack, f"""\
        description: method authorization
        kind: benign
        actor: {{person: any, client: cli}}
        steps:
          - call: apigateway:PutMethod
            params: {{restApiId: a1b2c3d4e5, resourceId: x9y8z7, httpMethod: POST, authorizationType: {auth}}}
          - call: apigateway:PutMethod
            params: {{restApiId: a1b2c3d4e5, resourceId: x9y8z7, httpMethod: GET, authorizationType: {auth}}}
          - call: apigateway:UpdateMethod
            params:
              restApiId: a1b2c3d4e5
              resourceId: x9y8z7
              httpMethod: GET
              patchOperations: [{{op: replace, path: /authorizationType, value: {auth}}}]
        """)
    put, create, update = render_scenario(baseline, sc, WHEN, 1)
    assert put["requestParameters"]["authorizationType"] == create["requestParameters"]["authorizationType"] == auth
    assert update["requestParameters"]["patchOperations"][0]["value"] == auth
    # the response is the method as it now is
    assert put["responseElements"]["authorizationType"] == create["responseElements"]["authorizationType"] == auth
    assert update["responseElements"]["authorizationType"] == auth
    assert put["responseElements"]["httpMethod"] == "POST" and create["responseElements"]["httpMethod"] == "GET"
    for r in (put, create, update):
        assert r["eventSource"] == "apigateway.amazonaws.com" and not validate_record(r, strict=True)


def test_baseline_does_nothing_destructive_with_the_new_events(baseline):
    mixes = list(baseline.data["activity"]["mix"].values()) + [s["mix"] for s in baseline.data["services"]]
    used = {catalog.lookup(c).key for mix in mixes for c in mix}
    assert not used & set(DESTRUCTIVE), used & set(DESTRUCTIVE)


# ----------------------------------------------------------------------------- joiners

def test_a_joiner_is_a_new_member_of_the_permission_set(pack, baseline):
    """`person: {email, permission_set}` is a person the baseline does not have, whose session
    has the team's IAM Identity Center role as issuer: a first-seen scenario's premise ("never
    did this before") then holds in a day where other scenarios draw the baseline's people."""
    sc = _scenario(pack, """\
        description: a new data scientist creates a notebook, then a training job
        kind: benign
        actor:
          person: {email: "Nina.Okafor.{{ hex(4) }}@contoso-analytics.com", permission_set: DataScientist}
          client: console
        steps:
          - call: sagemaker:ListNotebookInstances
          - call: sagemaker:ListTrainingJobs
            after: 1h
            client: sdk
        """)
    recs = render_scenario(baseline, sc, WHEN, 1)
    team = next(p for p in baseline.people if p["permission_set"] == "DataScientist")
    emails = {p["email"] for p in baseline.people}
    arns = {r["userIdentity"]["arn"] for r in recs}
    assert len(arns) == 1
    email = arns.pop().rsplit("/", 1)[1]
    assert re.fullmatch(r"nina\.okafor\.[0-9a-f]{4}@contoso-analytics\.com", email) and email not in emails
    for r in recs:
        ui = r["userIdentity"]
        assert ui["type"] == "AssumedRole" and ui["principalId"].endswith(":" + email)
        assert ui["sessionContext"]["sessionIssuer"]["arn"] == team["role_arn"]
        assert ui["principalId"].split(":")[0] == ui["sessionContext"]["sessionIssuer"]["principalId"]
        validate_record(r)
    # the team's own people keep their identities (the joiner is a copy, not an edit)
    assert all(p.name in emails for p in baseline.principals["people"])
    assert all(p.identity[baseline.accounts[0]]["arn"].endswith("/" + p.name) for p in baseline.principals["people"])


def test_a_joiner_of_an_unknown_permission_set_is_a_located_error(pack):
    with pytest.raises(SmguardError) as exc:
        _scenario(pack, """\
            description: a joiner of a team the organisation does not have
            kind: benign
            actor:
              person: {email: nina@contoso-analytics.com, permission_set: Astronaut}
            steps:
              - call: sagemaker:ListNotebookInstances
            """)
    msgs = [str(m) for m in exc.value.problems]
    assert any("t.yml:" in m and "no person in permission set 'Astronaut'" in m for m in msgs), msgs
