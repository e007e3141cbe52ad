"""Field names between the pack (Splunk add-on names) and Sigma (CloudTrail's raw JSON names).

Sigma's convention for ``logsource: {product: aws, service: cloudtrail}`` is CloudTrail's
own JSON names (``sourceIPAddress``, ``userIdentity.arn``; SigmaHQ's AWS rules use them), so
an exported rule names raw fields. Detections may use the Splunk Add-on for AWS's aliases and
calculated fields (``src``, ``region``, ``user_arn``); each is mapped back to the raw field it
copies. A calculated field that is not a plain copy (``user_arn`` is
``coalesce(userIdentity.arn, requestParameters.roleArn)``) maps to its first argument, and
:data:`APPROXIMATE` says so, so an export never pretends to be exact where it is not.

The add-on's ``errorCode`` is calculated too: ``coalesce(errorCode, "success")`` (and
``"failure"`` for failed console sign-ins). A detection's ``errorCode: success`` therefore
means "CloudTrail wrote no errorCode", which Sigma says as ``errorCode: null``.
"""

from __future__ import annotations

# Add-on alias or calculated field -> the raw CloudTrail field it is (or starts) from.
# Source: Splunk_TA_aws default/props.conf [aws:cloudtrail] FIELDALIAS-/EVAL- lines
# (mirrored in smguard.cloudtrail.addon).
RAW_NAME: dict[str, str] = {
    "src": "sourceIPAddress",
    "src_ip": "sourceIPAddress",
    "region": "awsRegion",
    "vendor_region": "awsRegion",
    "signature": "eventName",
    "command": "eventName",
    "dvc": "eventSource",
    "app": "eventType",
    "user_access_key": "userIdentity.accessKeyId",
    "temp_access_key": "responseElements.credentials.accessKeyId",
    "user_group_id": "userIdentity.accountId",
    "reason": "errorMessage",
    "result": "errorMessage",
    "result_id": "errorCode",
    "start_time": "eventTime",
    "user_agent": "userAgent",
    "user_arn": "userIdentity.arn",
    "aws_account_id": "recipientAccountId",
    "vendor_account": "userIdentity.accountId",
    "image_id": "requestParameters.instancesSet.items{}.imageId",
    "instance_type": "requestParameters.instanceType",
}

# Calculated fields whose raw name is only their usual source, with why.
APPROXIMATE: dict[str, str] = {
    "user_arn": "the add-on's user_arn is coalesce(userIdentity.arn, requestParameters.roleArn)",
    "aws_account_id": "the add-on's aws_account_id is userIdentity.accountId except for AWSAccount/AWSService callers",
    "user_agent": "the add-on's user_agent is coalesce(userAgent, userAgent{})",
}

# The value of the add-on's calculated errorCode for a call that succeeded.
SUCCESS = "success"


def raw_name(name: str) -> str:
    """The raw CloudTrail name for a field a detection reads."""
    return RAW_NAME.get(name, name)


def addon_name(raw: str) -> str:
    """The inverse for one field: the add-on alias a Splunk user would search (first match)."""
    for alias, source in RAW_NAME.items():
        if source == raw and alias not in APPROXIMATE:
            return alias
    return raw
