"""Realistic CloudTrail records, one per userIdentity variant, shaped after AWS's documented
examples and public samples (account ids, keys and names are made up)."""

from __future__ import annotations

import copy
from typing import Any

ACCT = "111122223333"

ASSUMED_ROLE_SSO: dict[str, Any] = {
    "eventVersion": "1.11",
    "userIdentity": {
        "type": "AssumedRole",
        "principalId": "AROAEXAMPLEID12345678:alice@corp.example",
        "arn": f"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_DataScientist_0123456789abcdef/alice@corp.example",
        "accountId": ACCT,
        "accessKeyId": "ASIAEXAMPLEKEY123456",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": "AROAEXAMPLEID12345678",
                "arn": f"arn:aws:iam::{ACCT}:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_DataScientist_0123456789abcdef",
                "accountId": ACCT,
                "userName": "AWSReservedSSO_DataScientist_0123456789abcdef",
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-08-22T09:12:03Z", "mfaAuthenticated": "false"},
        },
    },
    "eventTime": "2026-08-22T09:15:42Z",
    "eventSource": "sagemaker.amazonaws.com",
    "eventName": "CreateTrainingJob",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "203.0.113.10",
    "userAgent": "Boto3/1.34.1 md/Botocore#1.34.1 ua/2.0 os/linux#6.1 lang/python#3.11.7",
    "requestParameters": {
        "trainingJobName": "churn-xgb-2026-08-22",
        "roleArn": f"arn:aws:iam::{ACCT}:role/SageMakerExecutionRole",
        "resourceConfig": {"instanceType": "ml.m5.xlarge", "instanceCount": 1, "volumeSizeInGB": 30},
        "vpcConfig": {"subnets": ["subnet-0aaa", "subnet-0bbb"], "securityGroupIds": ["sg-0ccc"]},
        "enableNetworkIsolation": True,
        "enableInterContainerTrafficEncryption": False,
        "outputDataConfig": {"s3OutputPath": "s3://ml-artifacts/churn/", "kmsKeyId": None},
        "tags": [{"key": "team", "value": "ds"}, {"key": "env", "value": "dev"}],
        "hyperParameters": {},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
    },
    "responseElements": {
        "trainingJobArn": f"arn:aws:sagemaker:eu-west-1:{ACCT}:training-job/churn-xgb-2026-08-22"
    },
    "requestID": "5f8b0b7e-0d0b-4c43-9a8d-1b0f3e6c1a11",
    "eventID": "0d9c2b7a-4b8e-4f3c-9d2a-7e1f6a5b4c3d",
    "readOnly": False,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
    "tlsDetails": {
        "tlsVersion": "TLSv1.3",
        "cipherSuite": "TLS_AES_128_GCM_SHA256",
        "clientProvidedHostHeader": "api.sagemaker.eu-west-1.amazonaws.com",
    },
}

IAM_USER_FAILED: dict[str, Any] = {
    "eventVersion": "1.09",
    "userIdentity": {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLEUSER123456",
        "arn": f"arn:aws:iam::{ACCT}:user/breakglass/bob",
        "accountId": ACCT,
        "accessKeyId": "AKIAEXAMPLEKEY123456",
        "userName": "bob",
    },
    "eventTime": "2026-08-22T23:59:59Z",
    "eventSource": "sagemaker.amazonaws.com",
    "eventName": "DeleteEndpoint",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "198.51.100.7",
    "userAgent": "aws-cli/2.15.0 Python/3.11.6 Linux/6.1 exe/x86_64",
    "errorCode": "AccessDenied",
    "errorMessage": "User: arn:aws:iam::111122223333:user/breakglass/bob is not authorized to perform: "
    "sagemaker:DeleteEndpoint with an explicit deny in a service control policy",
    "requestParameters": {"endpointName": "prod-churn"},
    "responseElements": None,
    "requestID": "1a2b3c4d-0000-4000-8000-000000000001",
    "eventID": "9f1e2d3c-0000-4000-8000-000000000002",
    "readOnly": False,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
}

ROOT_CONSOLE_FAILED: dict[str, Any] = {
    "eventVersion": "1.09",
    "userIdentity": {"type": "Root", "principalId": ACCT, "arn": f"arn:aws:iam::{ACCT}:root", "accountId": ACCT},
    "eventTime": "2026-08-23T03:04:05Z",
    "eventSource": "signin.amazonaws.com",
    "eventName": "ConsoleLogin",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "192.0.2.44",
    "userAgent": "Mozilla/5.0 (X11; Linux x86_64)",
    "errorMessage": "Failed authentication",
    "requestParameters": None,
    "responseElements": {"ConsoleLogin": "Failure"},
    "additionalEventData": {
        "LoginTo": "https://console.aws.amazon.com/console/home",
        "MobileVersion": "No",
        "MFAUsed": "No",
    },
    "eventID": "3c2b1a09-0000-4000-8000-000000000003",
    "readOnly": False,
    "eventType": "AwsConsoleSignIn",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
    "tlsDetails": {"tlsVersion": "TLSv1.2", "cipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                   "clientProvidedHostHeader": "signin.aws.amazon.com"},
}

AWS_SERVICE: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"},
    "eventTime": "2026-08-22T10:00:00Z",
    "eventSource": "sts.amazonaws.com",
    "eventName": "AssumeRole",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "sagemaker.amazonaws.com",
    "userAgent": "sagemaker.amazonaws.com",
    "requestParameters": {
        "roleArn": f"arn:aws:iam::{ACCT}:role/SageMakerExecutionRole",
        "roleSessionName": "SageMaker",
        "durationSeconds": 3600,
    },
    "responseElements": {
        "credentials": {"accessKeyId": "ASIAEXAMPLETEMP12345", "expiration": "Aug 22, 2026, 11:00:00 AM",
                        "sessionToken": "IQoJb3JpZ2luX2VjEXAMPLE"},
        "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEID12345678:SageMaker",
                            "arn": f"arn:aws:sts::{ACCT}:assumed-role/SageMakerExecutionRole/SageMaker"},
    },
    "requestID": "7d6c5b4a-0000-4000-8000-000000000004",
    "eventID": "6e5d4c3b-0000-4000-8000-000000000005",
    "readOnly": True,
    "resources": [
        {"accountId": ACCT, "type": "AWS::IAM::Role", "ARN": f"arn:aws:iam::{ACCT}:role/SageMakerExecutionRole"}
    ],
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "sharedEventID": "1b2c3d4e-0000-4000-8000-000000000006",
    "eventCategory": "Management",
}

AWS_ACCOUNT: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "AWSAccount", "principalId": "AIDAEXAMPLEOTHER12345", "accountId": "444455556666"},
    "eventTime": "2026-08-22T11:00:00Z",
    "eventSource": "kms.amazonaws.com",
    "eventName": "Decrypt",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "198.51.100.99",
    "userAgent": "aws-sdk-java/1.12.0",
    "requestParameters": {"encryptionAlgorithm": "SYMMETRIC_DEFAULT"},
    "responseElements": None,
    "requestID": "8e7d6c5b-0000-4000-8000-000000000007",
    "eventID": "7f6e5d4c-0000-4000-8000-000000000008",
    "readOnly": True,
    "resources": [{"accountId": ACCT, "type": "AWS::KMS::Key",
                   "ARN": f"arn:aws:kms:eu-west-1:{ACCT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"}],
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "sharedEventID": "2c3d4e5f-0000-4000-8000-000000000009",
    "eventCategory": "Management",
}

FEDERATED_USER: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "FederatedUser",
        "principalId": f"{ACCT}:carol",
        "arn": f"arn:aws:sts::{ACCT}:federated-user/carol",
        "accountId": ACCT,
        "accessKeyId": "ASIAEXAMPLEFED123456",
        "sessionContext": {
            "sessionIssuer": {"type": "IAMUser", "principalId": "AIDAEXAMPLEFEDISSUER1",
                              "arn": f"arn:aws:iam::{ACCT}:user/federation-broker", "accountId": ACCT,
                              "userName": "federation-broker"},
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-08-22T12:00:00Z", "mfaAuthenticated": "false"},
        },
    },
    "eventTime": "2026-08-22T12:01:00Z",
    "eventSource": "sagemaker.amazonaws.com",
    "eventName": "ListNotebookInstances",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "203.0.113.50",
    "userAgent": "aws-cli/2.15.0",
    "requestParameters": None,
    "responseElements": None,
    "requestID": "9f8e7d6c-0000-4000-8000-00000000000a",
    "eventID": "8a7b6c5d-0000-4000-8000-00000000000b",
    "readOnly": True,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
}

IDENTITY_CENTER_USER: dict[str, Any] = {
    "eventVersion": "1.10",
    "userIdentity": {
        "type": "IdentityCenterUser",
        "accountId": ACCT,
        "onBehalfOf": {"userId": "906723ef-0000-4000-8000-00000000000c",
                       "identityStoreArn": f"arn:aws:identitystore::{ACCT}:identitystore/d-1234567890"},
        "credentialId": "EXAMPLEc3RvcmUtY3JlZGVudGlhbA",
    },
    "eventTime": "2026-08-22T13:00:00Z",
    "eventSource": "sso.amazonaws.com",
    "eventName": "ListAccounts",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "203.0.113.60",
    "userAgent": "Mozilla/5.0",
    "requestParameters": None,
    "responseElements": None,
    "requestID": "a1b2c3d4-0000-4000-8000-00000000000d",
    "eventID": "b2c3d4e5-0000-4000-8000-00000000000e",
    "readOnly": True,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
}

SAML_USER: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "SAMLUser",
        "principalId": "SAMPLEMFwdIRFxt5/EXAMPLE=:dave@corp.example",
        "userName": "dave@corp.example",
        "identityProvider": "SAMPLEMFwdIRFxt5/EXAMPLE=",
    },
    "eventTime": "2026-08-22T14:00:00Z",
    "eventSource": "sts.amazonaws.com",
    "eventName": "AssumeRoleWithSAML",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "203.0.113.70",
    "userAgent": "Mozilla/5.0",
    "requestParameters": {"roleArn": f"arn:aws:iam::{ACCT}:role/SamlDataScience",
                          "principalArn": f"arn:aws:iam::{ACCT}:saml-provider/CorpIdP", "durationSeconds": 3600},
    "responseElements": {"assumedRoleUser": {"assumedRoleId": "AROAEXAMPLESAML12345:dave@corp.example",
                                             "arn": f"arn:aws:sts::{ACCT}:assumed-role/SamlDataScience/dave@corp.example"}},
    "requestID": "c3d4e5f6-0000-4000-8000-00000000000f",
    "eventID": "d4e5f6a7-0000-4000-8000-000000000010",
    "readOnly": True,
    "resources": [{"ARN": f"arn:aws:iam::{ACCT}:role/SamlDataScience", "accountId": ACCT, "type": "AWS::IAM::Role"}],
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
}

WEB_IDENTITY_USER: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {
        "type": "WebIdentityUser",
        "principalId": "token.actions.githubusercontent.com:sts.amazonaws.com:repo:corp/ml:ref:refs/heads/main",
        "userName": "repo:corp/ml:ref:refs/heads/main",
        "identityProvider": "token.actions.githubusercontent.com",
    },
    "eventTime": "2026-08-22T15:00:00Z",
    "eventSource": "sts.amazonaws.com",
    "eventName": "AssumeRoleWithWebIdentity",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "140.82.112.1",
    "userAgent": "aws-sdk-js/3.0",
    "requestParameters": {"roleArn": f"arn:aws:iam::{ACCT}:role/GitHubActionsDeploy", "roleSessionName": "GitHubActions"},
    "responseElements": {"assumedRoleUser": {"assumedRoleId": "AROAEXAMPLEGHA123456:GitHubActions",
                                             "arn": f"arn:aws:sts::{ACCT}:assumed-role/GitHubActionsDeploy/GitHubActions"}},
    "requestID": "e5f6a7b8-0000-4000-8000-000000000011",
    "eventID": "f6a7b8c9-0000-4000-8000-000000000012",
    "readOnly": True,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
}

UNKNOWN_USER: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "Unknown", "principalId": "", "accountId": ACCT, "userName": "erin"},
    "eventTime": "2026-08-22T16:00:00Z",
    "eventSource": "signin.amazonaws.com",
    "eventName": "CredentialVerification",
    "awsRegion": "us-east-1",
    "sourceIPAddress": "203.0.113.80",
    "userAgent": "Mozilla/5.0",
    "requestParameters": None,
    "responseElements": None,
    "eventID": "a7b8c9d0-0000-4000-8000-000000000013",
    "readOnly": False,
    "eventType": "AwsServiceEvent",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
}

ROLE_USER: dict[str, Any] = {
    "eventVersion": "1.08",
    "userIdentity": {"type": "Role", "principalId": "AROAEXAMPLEROLE12345", "arn": f"arn:aws:iam::{ACCT}:role/Deploy",
                     "accountId": ACCT},
    "eventTime": "2026-08-22T17:00:00Z",
    "eventSource": "sagemaker.amazonaws.com",
    "eventName": "DescribeEndpoint",
    "awsRegion": "eu-west-1",
    "sourceIPAddress": "10.0.0.5",
    "userAgent": "Boto3/1.34.1",
    "requestParameters": {"endpointName": "prod-churn"},
    "responseElements": None,
    "requestID": "b8c9d0e1-0000-4000-8000-000000000014",
    "eventID": "c9d0e1f2-0000-4000-8000-000000000015",
    "readOnly": True,
    "eventType": "AwsApiCall",
    "managementEvent": True,
    "recipientAccountId": ACCT,
    "eventCategory": "Management",
    "vpcEndpointId": "vpce-0a1b2c3d4e5f",
}

INSIGHT: dict[str, Any] = {
    "eventVersion": "1.08",
    "eventTime": "2026-08-22T18:00:00Z",
    "awsRegion": "us-east-1",
    "eventID": "d0e1f2a3-0000-4000-8000-000000000016",
    "eventType": "AwsCloudTrailInsight",
    "recipientAccountId": ACCT,
    "sharedEventID": "e1f2a3b4-0000-4000-8000-000000000017",
    "insightDetails": {"state": "Start", "eventSource": "sagemaker.amazonaws.com", "eventName": "CreateEndpoint",
                       "insightType": "ApiCallRateInsight"},
    "eventCategory": "Insight",
}

ALL_VARIANTS: dict[str, dict[str, Any]] = {
    "AssumedRole": ASSUMED_ROLE_SSO,
    "IAMUser": IAM_USER_FAILED,
    "Root": ROOT_CONSOLE_FAILED,
    "AWSService": AWS_SERVICE,
    "AWSAccount": AWS_ACCOUNT,
    "FederatedUser": FEDERATED_USER,
    "IdentityCenterUser": IDENTITY_CENTER_USER,
    "SAMLUser": SAML_USER,
    "WebIdentityUser": WEB_IDENTITY_USER,
    "Unknown": UNKNOWN_USER,
    "Role": ROLE_USER,
}


def sample(name: str) -> dict[str, Any]:
    """A deep copy, so a test can mutate it."""
    return copy.deepcopy(ALL_VARIANTS[name])
