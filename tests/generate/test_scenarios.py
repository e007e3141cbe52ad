"""Each shipped scenario shows exactly the behaviour its name promises (names are contracts)."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json

import pytest

from .conftest import OWNED

EXPECTED = set(OWNED)


def _t(r):
    return dt.datetime.strptime(r["eventTime"], "%Y-%m-%dT%H:%M:%SZ")


def _by(recs, name):
    return [r for r in recs if r["eventName"] == name]


def _in(ip, cidrs):
    try:
        a = ipaddress.ip_address(ip)
    except ValueError:
        return False
    return any(a in ipaddress.ip_network(c) for c in cidrs)


def test_all_contract_scenarios_ship(root):
    from smguard.generate import list_scenarios

    assert EXPECTED <= set(list_scenarios(root))


def test_records_in_time_order_and_successful_unless_asked(scenarios):
    for name, recs in scenarios.items():
        assert recs, name
        assert [r["eventTime"] for r in recs] == sorted(r["eventTime"] for r in recs), name
        if name != "console_login_bruteforce":
            assert not any("errorCode" in r for r in recs), name


def test_manual_vs_pipeline_deployment(scenarios):
    manual = scenarios["manual_endpoint_deployment"]
    assert [r["eventName"] for r in manual] == ["CreateModel", "CreateEndpointConfig", "CreateEndpoint"]
    for r in manual:
        assert "AWSReservedSSO_" in r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
        assert r["sessionCredentialFromConsole"] == "true"
    pipe = scenarios["pipeline_endpoint_deployment"]
    assert {"CreateModel", "CreateEndpointConfig", "CreateEndpoint"} <= {r["eventName"] for r in pipe}
    for r in pipe:
        assert r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"].endswith(":role/sagemaker-deploy-pipeline")
        assert r["userAgent"].startswith("Boto3/")
        assert "sessionCredentialFromConsole" not in r
    ep = _by(manual, "CreateEndpoint")[0]
    assert ep["requestParameters"]["endpointConfigName"] == _by(manual, "CreateEndpointConfig")[0]["requestParameters"]["endpointConfigName"]
    assert ep["responseElements"]["endpointArn"].endswith("/" + ep["requestParameters"]["endpointName"])


def _bucket(uri):
    return uri.split("/")[2]


def test_training_output_buckets(scenarios, baseline):
    approved = set(baseline.data["buckets"]["approved"])
    bad = scenarios["training_output_to_unapproved_bucket"]
    assert _bucket(_by(bad, "CreateTrainingJob")[0]["requestParameters"]["outputDataConfig"]["s3OutputPath"]) not in approved
    assert _bucket(_by(bad, "CreateEndpointConfig")[0]["requestParameters"]["dataCaptureConfig"]["destinationS3Uri"]) not in approved
    good = scenarios["training_output_to_approved_bucket"]
    assert _bucket(_by(good, "CreateTrainingJob")[0]["requestParameters"]["outputDataConfig"]["s3OutputPath"]) in approved
    assert _bucket(_by(good, "CreateEndpointConfig")[0]["requestParameters"]["dataCaptureConfig"]["destinationS3Uri"]) in approved
    # the rest of the template survives the deep merge
    assert _by(bad, "CreateTrainingJob")[0]["requestParameters"]["outputDataConfig"]["kmsKeyId"]


def test_gpu_vs_approved_instances(scenarios):
    gpu = scenarios["gpu_notebook_instance"]
    assert _by(gpu, "CreateNotebookInstance")[0]["requestParameters"]["instanceType"] == "ml.p4d.24xlarge"
    assert _by(gpu, "CreateTrainingJob")[0]["requestParameters"]["resourceConfig"]["instanceType"] == "ml.p3.16xlarge"
    ok = scenarios["approved_notebook_instance"]
    assert _by(ok, "CreateNotebookInstance")[0]["requestParameters"]["instanceType"] == "ml.t3.medium"
    assert not _by(ok, "CreateTrainingJob")[0]["requestParameters"]["resourceConfig"]["instanceType"].startswith(("ml.p", "ml.g"))


def test_stolen_key_vs_sso_user(scenarios, baseline):
    proxy = baseline.data["network"]["proxy_egress"]
    stolen = scenarios["stolen_access_key_sagemaker"]
    writes = [r for r in stolen if r["eventSource"] == "sagemaker.amazonaws.com" and not r["readOnly"]]
    assert len(writes) >= 2
    ips = {r["sourceIPAddress"] for r in stolen}
    assert len(ips) == 1 and not _in(ips.pop(), proxy)
    for r in stolen:
        ui = r["userIdentity"]
        assert ui["type"] == "IAMUser" and ui["accessKeyId"].startswith("AKIA") and len(ui["accessKeyId"]) == 20
        assert r["userAgent"].startswith("aws-cli/")
        assert "vpcEndpointId" not in r
    sso = scenarios["sso_user_notebook"]
    for r in sso:
        assert r["userIdentity"]["type"] == "AssumedRole" and "AWSReservedSSO_" in r["userIdentity"]["arn"]
        assert _in(r["sourceIPAddress"], proxy)


def test_notebook_internet_access(scenarios):
    bad = _by(scenarios["notebook_direct_internet_access"], "CreateNotebookInstance")
    assert bad[0]["requestParameters"]["directInternetAccess"] == "Enabled"
    assert "directInternetAccess" not in bad[1]["requestParameters"]
    assert "subnetId" not in bad[1]["requestParameters"]
    ok = _by(scenarios["notebook_vpc_only"], "CreateNotebookInstance")[0]["requestParameters"]
    assert ok["directInternetAccess"] == "Disabled" and ok["subnetId"].startswith("subnet-") and ok["securityGroupIds"]


def test_cloudtrail_stop_vs_review(scenarios):
    stop = scenarios["cloudtrail_stop_logging"]
    assert {"StopLogging", "DeleteTrail"} <= {r["eventName"] for r in stop}
    for r in stop:
        assert r["userAgent"] != "console.amazonaws.com" and r["userAgent"].startswith("aws-cli/")
        assert "errorCode" not in r
    review = [r["eventName"] for r in scenarios["cloudtrail_trail_review"]]
    assert review == ["DescribeTrails", "GetTrailStatus", "StartLogging"]


def test_create_then_presign_within_30_minutes(scenarios):
    recs = scenarios["notebook_create_then_presign"]
    create, presign = _by(recs, "CreateNotebookInstance")[0], _by(recs, "CreatePresignedNotebookInstanceUrl")[0]
    assert create["userIdentity"]["arn"] == presign["userIdentity"]["arn"]
    assert create["requestParameters"]["notebookInstanceName"] == presign["requestParameters"]["notebookInstanceName"]
    assert dt.timedelta(0) < _t(presign) - _t(create) <= dt.timedelta(minutes=30)
    assert "ExecutionRole" not in create["requestParameters"]["roleArn"]


def test_lifecycle_persistence_sequence_within_an_hour(scenarios):
    recs = scenarios["lifecycle_persistence"]
    names = [r["eventName"] for r in recs]
    assert names[0] == "StopNotebookInstance" and names[-1] == "StartNotebookInstance"
    assert "UpdateNotebookInstanceLifecycleConfig" in names and "UpdateNotebookInstance" in names
    nb = {r["requestParameters"]["notebookInstanceName"] for r in recs if "notebookInstanceName" in r["requestParameters"]}
    assert len(nb) == 1
    assert _t(recs[-1]) - _t(recs[0]) <= dt.timedelta(hours=1)
    upd = _by(recs, "UpdateNotebookInstance")[0]["requestParameters"]
    assert upd["lifecycleConfigName"] and "instanceType" not in upd
    import base64

    script = base64.b64decode(_by(recs, "UpdateNotebookInstanceLifecycleConfig")[0]["requestParameters"]["onStart"][0]["content"]).decode()
    assert "curl" in script and "| bash" in script


def test_job_role_then_changes_iam(scenarios):
    recs = scenarios["job_role_changes_iam"]
    job = _by(recs, "CreateTrainingJob")[0]
    role_arn = job["requestParameters"]["roleArn"]
    for name in ("PutRolePolicy", "AttachRolePolicy"):
        r = _by(recs, name)[0]
        assert r["eventSource"] == "iam.amazonaws.com"
        assert r["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"] == role_arn
        assert _t(r) > _t(job)
    doc = json.loads(_by(recs, "PutRolePolicy")[0]["requestParameters"]["policyDocument"])
    assert doc["Statement"][0]["Resource"] == "*"


def test_bulk_s3_read(scenarios):
    gets = _by(scenarios["bulk_s3_read"], "GetObject")
    assert len(gets) >= 300
    assert len({r["userIdentity"]["arn"] for r in gets}) == 1
    assert all("vpcEndpointId" not in r for r in gets)
    assert sum(r["additionalEventData"]["bytesTransferredOut"] for r in gets) > 10e9
    assert _t(gets[-1]) - _t(gets[0]) < dt.timedelta(minutes=15)
    assert len({r["requestParameters"]["key"] for r in gets}) == len(gets)


def test_splunk_corpus_shapes(scenarios, baseline):
    lg = _by(scenarios["cloudwatch_log_group_deleted"], "DeleteLogGroup")[0]
    assert lg["requestParameters"]["logGroupName"].startswith("/aws/sagemaker/") and lg["userAgent"] != "console.amazonaws.com"
    impaired = {r["eventName"] for r in scenarios["security_services_impaired"]}
    assert {"DeleteDetector", "DisableMacie", "DeleteGraph", "DeleteLogStream"} <= impaired
    s3 = scenarios["s3_bucket_protection_weakened"]
    assert _by(s3, "PutBucketVersioning")[0]["requestParameters"]["VersioningConfiguration"]["Status"] == "Suspended"
    lc = _by(s3, "PutBucketLifecycle")[0]
    assert lc["userIdentity"]["type"] == "IAMUser"
    assert lc["requestParameters"]["LifecycleConfiguration"]["Rule"]["Expiration"]["Days"] < 3
    assert _by(s3, "PutBucketPolicy")[0]["requestParameters"]["bucketPolicy"]["Statement"][0]["Principal"] == "*"
    assert _by(s3, "DeleteBucketPolicy")
    pv = _by(scenarios["iam_policy_allow_all"], "CreatePolicyVersion")[0]
    stmt = json.loads(pv["requestParameters"]["policyDocument"])["Statement"][0]
    assert stmt["Action"] == "*" and stmt["Resource"] == "*"
    key = _by(scenarios["access_key_created"], "CreateAccessKey")[0]
    assert key["requestParameters"]["userName"] != key["userIdentity"].get("userName")
    assert key["requestParameters"]["userName"] == key["responseElements"]["accessKey"]["userName"]
    assert key["userAgent"] != "console.amazonaws.com"


def test_console_login_bruteforce(scenarios, baseline):
    recs = scenarios["console_login_bruteforce"]
    assert len(recs) > 25
    assert _t(recs[-1]) - _t(recs[0]) <= dt.timedelta(minutes=5)
    assert len({r["sourceIPAddress"] for r in recs}) == 1
    assert not _in(recs[0]["sourceIPAddress"], baseline.data["network"]["proxy_egress"])
    names = {r["userIdentity"]["userName"] for r in recs}
    # names the account does not have are hidden, as AWS writes them; the known ones show
    assert "HIDDEN_DUE_TO_SECURITY_REASONS" in names and len(names - {"HIDDEN_DUE_TO_SECURITY_REASONS"}) >= 2
    for r in recs:
        assert r["eventType"] == "AwsConsoleSignIn" and r["eventSource"] == "signin.amazonaws.com"
        hidden = r["userIdentity"]["userName"] == "HIDDEN_DUE_TO_SECURITY_REASONS"
        assert r["errorMessage"] == ("No username found in supplied account" if hidden else "Failed authentication")
        assert "errorCode" not in r and ("arn" in r["userIdentity"]) != hidden
        assert r["responseElements"] == {"ConsoleLogin": "Failure"}
        assert r["additionalEventData"]["MFAUsed"] == "No"


@pytest.mark.parametrize("seed", [1, 2])
def test_scenario_instances_are_deterministic(root, seed):
    from smguard.generate import scenario_records

    a = scenario_records("stolen_access_key_sagemaker", seed=seed, pack_root=root)
    b = scenario_records("stolen_access_key_sagemaker", seed=seed, pack_root=root)
    assert a == b
    c = scenario_records("stolen_access_key_sagemaker", seed=seed + 10, pack_root=root)
    assert a[0]["eventID"] != c[0]["eventID"]
