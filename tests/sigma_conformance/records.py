"""Hand-written CloudTrail records that exercise what the generated day does not: the
SigmaHQ rules' own event names, CIDR ranges (IPv4 and IPv6), regular expressions,
keywords, arrays, null and absent fields, and a stop-then-delete sequence for the
temporal correlation, each next to a near miss, so that agreement is not vacuous.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

ACCOUNT = "111122223333"


def _user(name: str, **extra: Any) -> dict[str, Any]:
    u = {"type": "IAMUser", "principalId": "AIDAEXAMPLE" + name.upper(), "arn": f"arn:aws:iam::{ACCOUNT}:user/{name}",
         "accountId": ACCOUNT, "accessKeyId": "AKIAEXAMPLE", "userName": name}
    u.update(extra)
    return u


def _role(role: str, session: str) -> dict[str, Any]:
    return {"type": "AssumedRole", "principalId": f"AROAEXAMPLE:{session}",
            "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}", "accountId": ACCOUNT,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
                                                 "userName": role, "accountId": ACCOUNT}}}


def _rec(i: int, t: dt.datetime, source: str, name: str, ip: str = "192.0.2.10", agent: str = "aws-cli/2.15.0",
         who: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    r: dict[str, Any] = {
        "eventVersion": "1.09", "userIdentity": who or _user("alice"), "eventTime": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "eventSource": source, "eventName": name, "awsRegion": "eu-west-1", "sourceIPAddress": ip,
        "userAgent": agent, "requestParameters": None, "responseElements": None,
        "requestID": f"req-{i:04d}", "eventID": f"sigma-{i:04d}", "readOnly": False, "eventType": "AwsApiCall",
        "managementEvent": True, "recipientAccountId": ACCOUNT, "eventCategory": "Management",
    }
    r.update(extra)
    return r


def records(start: dt.datetime) -> list[dict[str, Any]]:
    """The records, at minutes after ``start`` (the first hours of the generated logs)."""
    def at(minute: int) -> dt.datetime:
        return start + dt.timedelta(minutes=minute)

    mozilla = "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"
    out = [
        # console sign-ins: CIDR v4/v6 and outside, MFA, failure, non-browser agent
        _rec(1, at(61), "signin.amazonaws.com", "ConsoleLogin", ip="198.51.100.23", agent=mozilla,
             eventType="AwsConsoleSignIn", additionalEventData={"MFAUsed": "No", "LoginTo": "https://console"},
             responseElements={"ConsoleLogin": "Success"}),
        _rec(2, at(62), "signin.amazonaws.com", "ConsoleLogin", ip="2001:db8::42", agent="python-requests/2.31",
             eventType="AwsConsoleSignIn", errorMessage="Failed authentication",
             responseElements={"ConsoleLogin": "Failure"}),
        _rec(3, at(63), "signin.amazonaws.com", "ConsoleLogin", ip="203.0.113.5", agent=mozilla,
             eventType="AwsConsoleSignIn", additionalEventData={"MFAUsed": "Yes"},
             responseElements={"ConsoleLogin": "Success"}),
        _rec(4, at(64), "signin.amazonaws.com", "ConsoleLogin", ip="2001:db9::1", agent="curl/8.0",
             eventType="AwsConsoleSignIn", responseElements={"ConsoleLogin": "Success"}),
        _rec(5, at(65), "signin.amazonaws.com", "GetSigninToken", ip="198.51.100.24", agent=mozilla),
        # STS: TruffleHog from inside 10/8, anonymous callers, session tokens, SAML
        _rec(6, at(70), "sts.amazonaws.com", "GetCallerIdentity", ip="10.1.2.3", agent="TruffleHog"),
        _rec(7, at(71), "sts.amazonaws.com", "GetCallerIdentity", ip="10.1.2.4", agent="trufflehogish/1.0"),
        _rec(8, at(72), "sts.amazonaws.com", "AssumeRole", ip="192.0.2.77",
             who={"type": "AWSAccount", "principalId": "AIDAANON"}),
        _rec(9, at(73), "sts.amazonaws.com", "GetSessionToken", ip="10.9.9.9"),
        _rec(10, at(74), "sts.amazonaws.com", "AssumeRoleWithSAML", ip="192.0.2.78",
             who={"type": "SAMLUser", "principalId": "saml:alice"}),
        # a principal stops then deletes its trail (temporal), another only stops it
        _rec(11, at(121), "cloudtrail.amazonaws.com", "StopLogging", who=_user("mallory"),
             requestParameters={"name": "main"}, resources=[{"ARN": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/main",
                                                             "accountId": ACCOUNT}]),
        _rec(12, at(124), "cloudtrail.amazonaws.com", "DeleteTrail", who=_user("mallory"),
             requestParameters={"name": "main"}, resources=[{"ARN": f"arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/main"}]),
        _rec(13, at(150), "cloudtrail.amazonaws.com", "StopLogging", who=_user("bob"),
             requestParameters={"name": "audit"}),
        _rec(14, at(152), "cloudtrail.amazonaws.com", "UpdateTrail", who=_user("carol"),
             requestParameters={"name": "audit"}, resources=[{"ARN": "arn:aws:s3:::not-a-trail"}]),
        # GuardDuty, S3, EC2
        _rec(15, at(160), "guardduty.amazonaws.com", "UpdateDetector", requestParameters={"detectorId": "d1", "enable": False}),
        _rec(16, at(161), "guardduty.amazonaws.com", "UpdateDetector", requestParameters={"detectorId": "d1", "enable": True}),
        _rec(17, at(162), "guardduty.amazonaws.com", "DeleteDetector", requestParameters={"detectorId": "d2"},
             errorCode="AccessDenied", errorMessage="not allowed"),
        _rec(18, at(163), "s3.amazonaws.com", "DeleteBucket", requestParameters={"bucketName": "old"}),
        _rec(19, at(164), "s3.amazonaws.com", "DeleteBucket", requestParameters={"bucketName": "kept"},
             errorCode="AccessDenied", errorMessage="Access Denied"),
        _rec(20, at(165), "s3.amazonaws.com", "PutBucketVersioning",
             requestParameters={"bucketName": "b", "VersioningConfiguration": {"Status": "Suspended"}}),
        _rec(21, at(166), "s3.amazonaws.com", "ListBuckets", agent="Boto3/1.28.0 Python/3.11"),
        _rec(22, at(167), "s3.amazonaws.com", "GetBucketAcl", agent="boto3/1.21.4"),
        _rec(23, at(168), "s3.amazonaws.com", "GetBucketAcl", agent="Boto3/1.9.0", who=_role("AppRole", "s1")),
        _rec(24, at(169), "ec2.amazonaws.com", "ModifyInstanceAttribute",
             requestParameters={"instanceId": "i-1", "attribute": "userData"}),
        _rec(25, at(170), "ec2.amazonaws.com", "CreateInstanceExportTask", requestParameters={"instanceId": "i-1"}),
        _rec(26, at(171), "ec2.amazonaws.com", "DescribeInstances", ip="198.51.100.9",
             who=_role("aws:ec2-instance", "i-0abc")),
        _rec(27, at(172), "ec2.amazonaws.com", "DescribeInstances", who=_role("aws-ec2-instance", "i-0abd")),
        # IAM: access keys, root, S3 Browser, policies, SAML providers
        _rec(28, at(180), "iam.amazonaws.com", "CreateAccessKey",
             requestParameters={"userName": "bob"}, responseElements={"accessKey": {"userName": "bob"}}),
        _rec(29, at(181), "iam.amazonaws.com", "ListUsers",
             who={"type": "Root", "principalId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}),
        _rec(30, at(182), "iam.amazonaws.com", "CreateUser", agent="S3 Browser 10.9.9 https://s3browser.com",
             requestParameters={"userName": "s3b"}),
        _rec(31, at(183), "iam.amazonaws.com", "PutRolePolicy", requestParameters={
            "roleName": "r", "policyDocument": '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}'}),
        _rec(32, at(184), "iam.amazonaws.com", "PutRolePolicy", requestParameters={
            "roleName": "r", "policyDocument": '{"Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::b"}]}'}),
        _rec(33, at(185), "iam.amazonaws.com", "DeleteSAMLProvider", requestParameters={"sAMLProviderArn": "arn:x"}),
        _rec(34, at(186), "iam.amazonaws.com", "UpdateSAMLProvider", requestParameters={"sAMLProviderArn": "arn:x"}),
        # SageMaker by execution roles (regex), KMS by an anonymous principal, misc services
        _rec(35, at(190), "sagemaker.amazonaws.com", "CreateTrainingJob", who=_role("SageMakerExecRole", "job-1")),
        _rec(36, at(191), "sagemaker.amazonaws.com", "CreateTrainingJob", who=_role("DataScientist", "alice")),
        _rec(37, at(192), "kms.amazonaws.com", "ScheduleKeyDeletion", who={"type": "AWSService", "invokedBy": "x"}),
        _rec(38, at(193), "elasticfilesystem.amazonaws.com", "DeleteFileSystem", requestParameters={"fileSystemId": "fs-1"}),
        _rec(39, at(194), "ssm.amazonaws.com", "SendCommand", agent="kali-linux/2024 aws-cli",
             requestParameters={"documentName": "AWS-RunShellScript"}),
        _rec(40, at(195), "lambda.amazonaws.com", "UpdateFunctionConfiguration20150331v2",
             requestParameters={"functionName": "f", "layers": ["arn:aws:lambda:eu-west-1:1:layer:x:1"]}),
        _rec(41, at(196), "ecs.amazonaws.com", "RunTask", requestParameters={
            "containerDefinitions": [{"command": ["curl $AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]}]}),
        _rec(42, at(197), "account.amazonaws.com", "EnableRegion", requestParameters={"RegionName": "me-south-1"}),
        _rec(43, at(198), "bedrock.amazonaws.com", "DeleteGuardrail", requestParameters={"guardrailIdentifier": "g"}),
        _rec(44, at(199), "rds.amazonaws.com", "RestoreDBInstanceFromDBSnapshot",
             responseElements={"publiclyAccessible": True, "dBInstanceIdentifier": "db"}),
        _rec(45, at(200), "ec2.amazonaws.com", "DeleteFlowLogs", requestParameters={"flowLogId": "fl-1"}),
    ]
    # one call each for SigmaHQ rules that are a plain eventSource/eventName match
    plain = [
        ("bedrock.amazonaws.com", "UpdateGuardrail"), ("ec2.amazonaws.com", "CreateNetworkAclEntry"),
        ("ec2.amazonaws.com", "CreateRoute"), ("config.amazonaws.com", "StopConfigurationRecorder"),
        ("ses.amazonaws.com", "DeleteIdentity"), ("ec2.amazonaws.com", "DisableEbsEncryptionByDefault"),
        ("ec2.amazonaws.com", "ImportKeyPair"), ("eks.amazonaws.com", "DeleteCluster"),
        ("elasticache.amazonaws.com", "CreateCacheSecurityGroup"), ("guardduty.amazonaws.com", "CreateIPSet"),
        ("kms.amazonaws.com", "ImportKeyMaterial"), ("lambda.amazonaws.com", "CreateFunctionUrlConfig"),
        ("glue.amazonaws.com", "CreateDevEndpoint"), ("route53.amazonaws.com", "DisableDomainTransferLock"),
        ("s3.amazonaws.com", "PutBucketLogging"), ("securityhub.amazonaws.com", "UpdateFindings"),
        ("sso.amazonaws.com", "AssociateDirectory"),
        # near misses: the right name from another service, the right service with another name
        ("ec2.amazonaws.com", "UpdateGuardrail"), ("eks.amazonaws.com", "DescribeCluster"),
    ]
    for k, (source, name) in enumerate(plain):
        out.append(_rec(100 + k, at(210 + k), source, name))
    out.append(_rec(130, at(240), "rds.amazonaws.com", "ModifyDBInstance",
                    responseElements={"pendingModifiedValues": {"masterUserPassword": "****"}}))
    out.append(_rec(131, at(241), "rds.amazonaws.com", "ModifyDBInstance",
                    responseElements={"pendingModifiedValues": {"allocatedStorage": 100}}))
    return out
