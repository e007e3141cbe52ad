"""What the Splunk Add-on for AWS (Splunk_TA_aws) adds to ``sourcetype=aws:cloudtrail``: ONE table.

Everything smguard knows about the add-on's search-time knowledge lives here, as data, in
the order Splunk applies it (props.conf precedence for one sourcetype):

1. ``KV_MODE = json`` extraction (done by :func:`smguard.cloudtrail.fields.flatten`);
2. :data:`FIELD_ALIASES` (``FIELDALIAS-``): copy a field's value(s) to another name;
3. :data:`CALCULATED_FIELDS` (``EVAL-``): every expression sees the event as it was after
   the aliases; none sees another's output; a null result removes the field;
4. :data:`AUTOMATIC_LOOKUPS` (``LOOKUP-``), in class-name order, each seeing the
   calculated fields (e.g. the action/status lookup reads the *calculated* ``errorCode``).

Source: the add-on's ``default/props.conf`` ``[aws:cloudtrail]`` stanza (7.x, as vendored
in public repositories; its behaviour is re-expressed here, not its text). The lookup CSV
files themselves were not available: :data:`ACTION_STATUS_ROWS`,
:data:`CHANGE_TYPE_BY_EVENT_SOURCE`, :data:`OBJECT_CATEGORY_BY_EVENT_NAME` and
:data:`VENDOR_PRODUCT` are a small reconstruction (marked *unverified* in
docs/cloudtrail.md); correct them here when the real CSVs are at hand.

Not modelled (not used by SageMaker detections; add a row when one is): the
``REPORT-user-for-aws-cloudtrail-acctmgmt`` regex extraction (its ``user`` is always
overwritten by ``EVAL-user``), and the ``EVAL-`` fields ``object``, ``object_id``,
``object_attrs``, ``src_user_name``, ``src_user_id``, ``src_user_type``, ``dest_ip_range``,
``dest_port_range``, ``src_ip_range``, ``src_port_range``, ``direction``, ``protocol``,
``protocol_code`` and the ``protocol`` lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from fnmatch import fnmatchcase
from functools import lru_cache

from smguard.cloudtrail._eval import (
    NULL,
    TRUE,
    C,
    Expr,
    F,
    all_,
    any_,
    case,
    coalesce,
    eq,
    event_in,
    if_,
    isnotnull,
    isnull,
    like,
    mvjoin,
    ne,
    replace,
    split_index,
)

# -- 2. FIELDALIAS: (source field, alias) ---------------------------------------------------
FIELD_ALIASES: tuple[tuple[str, str], ...] = (
    ("requestParameters", "desc"),
    ("eventTime", "start_time"),
    ("responseElements.credentials.accessKeyId", "temp_access_key"),
    ("userIdentity.accessKeyId", "user_access_key"),
    ("eventType", "app"),
    ("eventSource", "dvc"),
    ("awsRegion", "region"),
    ("eventName", "signature"),
    ("sourceIPAddress", "src"),
    ("sourceIPAddress", "src_ip"),
    ("userIdentity.accountId", "user_group_id"),
    ("awsRegion", "vendor_region"),
    ("errorMessage", "reason"),
    ("eventName", "command"),
    ("requestParameters.instancesSet.items{}.imageId", "image_id"),
    ("requestParameters.instanceType", "instance_type"),
    ("errorMessage", "result"),
    ("errorCode", "result_id"),
)

# -- 3. EVAL: (field, expression) ----------------------------------------------------------
_UI = "userIdentity."
_ISSUER = "userIdentity.sessionContext.sessionIssuer."
_TYPE = "userIdentity.type"
_ASSUME = ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity")
# The add-on pulls the user out of IAM error messages such as "... on resource: user bob".
_RESOURCE_USER = (r".*resource\s*:\s*(?:user\s*)?(.*)", r"\1")
_BY_RESOURCE_KIND = any_(like("eventName", "%Instances"), like("eventName", "%Volume"),
                         like("eventName", "Put%"), like("eventName", "%Bucket"))


def _arn_tail(expr: Expr) -> Expr:
    """``mvindex(split(mvindex(split(x, ":"), -1), "/"), -1)``: the last path segment of an ARN."""
    return split_index(split_index(expr, ":", -1), "/", -1)


def _user_from_error() -> Expr:
    return replace(F("errorMessage"), *_RESOURCE_USER)


_ARN_USER_FALLBACK = if_(isnull(_UI + "arn"), _arn_tail(F("requestParameters.roleArn")), _arn_tail(F(_UI + "arn")))

CALCULATED_FIELDS: tuple[tuple[str, Expr], ...] = (
    ("rule_action", coalesce(F("responseElements.networkAcl.entrySet.items{}.ruleAction"),
                             F("requestParameters.ruleAction"))),
    ("msg", coalesce(F("errorCode"), C("success"))),
    ("user_arn", coalesce(F(_UI + "arn"), F("requestParameters.roleArn"))),
    ("userName", coalesce(F(_UI + "userName"), F("requestParameters.sourceIdentity"),
                          F(_ISSUER + "userName"), _ARN_USER_FALLBACK)),
    ("vendor_account", coalesce(F(_UI + "accountId"), F("recipientAccountId"))),
    ("user", case(
        (event_in("PutBucketAcl"), F(_UI + "userName")),
        (event_in("CreateLoadBalancerListeners", "CreateLoadBalancerPolicy", "CreateLogGroup", "CreateLogStream",
                  "GetBucketEncryption"), F(_ISSUER + "userName")),
        (event_in("CreateLoginProfile"), F("responseElements.loginProfile.userName")),
        (event_in("CreateUser"), F("responseElements.user.userName")),
        (event_in("DeleteUser", "DeleteLoginProfile"), F("requestParameters.userName")),
        (event_in("UpdateUser"), F("requestParameters.newUserName")),
        (event_in("CreateAccessKey"), coalesce(F("responseElements.accessKey.userName"), _user_from_error())),
        (event_in("ListSigningCertificates", "ListAccessKeys", "GetUser", "GetAccountSummary", "ListAccountAliases"),
         _user_from_error()),
        (event_in("CreateVirtualMFADevice"), F(_UI + "userName")),
        (event_in("CreateNetworkInterface", "DeleteNetworkInterface"), F(_ISSUER + "userName")),
        (all_(event_in("AssumeRole"), eq(_TYPE, "AssumedRole")),
         split_index(F("requestParameters.roleArn"), "/", -1)),
        (event_in(*_ASSUME), split_index(F("responseElements.assumedRoleUser.arn"), "/", -1)),
        (all_(event_in("ConsoleLogin"), eq(_TYPE, "AssumedRole"), isnotnull("additionalEventData.LoginTo")),
         coalesce(split_index(F(_UI + "principalId"), ":", 1), F(_UI + "userName"))),
        (any_(eq("eventType", "AwsConsoleSignIn"), event_in("ListAliases", "ListRoles")),
         coalesce(F(_UI + "userName"), F(_ISSUER + "userName"))),
        (_BY_RESOURCE_KIND, coalesce(F(_UI + "userName"), F(_ISSUER + "userName"))),
        (TRUE, F(_UI + "userName")),
    )),
    ("user_name", case(
        (event_in("ListRoles"), split_index(F(_UI + "principalId"), ":", 0)),
        (event_in("CreateLoginProfile"), F("responseElements.loginProfile.userName")),
        (event_in("CreateUser"), F("responseElements.user.userName")),
        (event_in("DeleteUser", "DeleteLoginProfile"), F("requestParameters.userName")),
        (event_in("UpdateUser"), F("requestParameters.newUserName")),
        (event_in("CreateAccessKey"), coalesce(F("responseElements.accessKey.userName"), _user_from_error())),
        (event_in("ListSigningCertificates", "ListAccessKeys", "GetUser", "GetAccountSummary", "ListAccountAliases"),
         _user_from_error()),
        (event_in("CreateVirtualMFADevice"), F(_UI + "userName")),
        (TRUE, coalesce(F(_UI + "userName"), F(_ISSUER + "userName"), _ARN_USER_FALLBACK)),
    )),
    ("user_id", case(
        (any_(all_(event_in("ConsoleLogin"), eq(_TYPE, "IAMUser")), event_in("CheckMfa")),
         coalesce(split_index(F(_UI + "principalId"), ":", 0), F(_UI + "accountId"))),
        (all_(event_in("ConsoleLogin", "ListAliases", "ListRoles", "DeleteNetworkInterface"),
              eq(_TYPE, "AssumedRole")),
         coalesce(split_index(F(_ISSUER + "principalId"), ":", 0), split_index(F(_UI + "principalId"), ":", 0))),
        (event_in("CreateUser"), F("responseElements.user.userId")),
        (event_in("DeleteUser", "UpdateUser"), F("requestParameters.userName")),
        (eq("eventType", "AwsApiCall"), split_index(F("responseElements.assumedRoleUser.assumedRoleId"), ":", 0)),
        (TRUE, F(_UI + "userName")),
    )),
    ("user_type", case(
        (any_(event_in("CreateLoginProfile", "ListSigningCertificates", "CreateAccessKey", "ListAccessKeys",
                       "CreateVirtualMFADevice", "GetAccountSummary", "ListAccountAliases"),
              like("eventName", "%User")), NULL),
        (all_(event_in("ConsoleLogin"), eq(_TYPE, "AssumedRole"), isnull("additionalEventData.LoginTo")),
         F(_ISSUER + "type")),
        (eq("eventType", "AwsConsoleSignIn"), F(_TYPE)),
        (_BY_RESOURCE_KIND, F(_TYPE)),
        (event_in("ListAliases", "ListRoles", "DeleteNetworkInterface"), F(_ISSUER + "type")),
        (like("eventName", "AssumeRole%"),
         mvjoin(coalesce(F("resources{}.type"), split_index(F("responseElements.assumedRoleUser.arn"), "/", 1)), ",")),
        (TRUE, F(_TYPE)),
    )),
    ("user_agent", coalesce(F("userAgent"), F("userAgent{}"))),
    ("aws_account_id", if_(any_(eq(_TYPE, "AWSAccount"), eq(_TYPE, "AWSService")),
                           F("recipientAccountId"), F(_UI + "accountId"))),
    ("vendor_product", C("AWS CloudTrail")),
    ("dest", case(
        (event_in("PutBucketAcl"), F("requestParameters.Host")),
        (event_in("GetBucketEncryption"), F("requestParameters.host{}")),
        (event_in("RunInstances"), coalesce(F("responseElements.instancesSet.items{}.instanceId"), F("eventSource"))),
        (event_in("StartInstances"), coalesce(F("requestParameters.instancesSet.items{}.instanceId"), F("eventSource"))),
        (event_in("StopInstances", "TerminateInstances", "RebootInstances"),
         F("requestParameters.instancesSet.items{}.instanceId")),
        (like("eventName", "%Volume"), coalesce(F("requestParameters.instanceId"), F("eventSource"))),
        (like("eventName", "%Bucket"), F("requestParameters.host{}")),
        (like("eventName", "Put%"), coalesce(F("requestParameters.host{}"), F("requestParameters.Host"))),
        (event_in("CreateUser", "UpdateUser", "DeleteUser"), F("eventSource")),
        (event_in("DeleteLoginProfile"), F("requestParameters.userName")),
        (event_in("ConsoleLogin", *_ASSUME, "CheckMfa", "ListAliases"),
         coalesce(F("additionalEventData.LoginTo"), F("eventSource"))),
        (event_in("DeleteSecurityGroup"), F("eventSource")),
        (TRUE, F("eventSource")),
    )),
    ("authentication_method", case(
        (any_(all_(eq("additionalEventData.MFAUsed", "Yes"), event_in("ConsoleLogin")),
              event_in("CheckMfa")), C("MFA")),
        (any_(all_(eq("additionalEventData.MFAUsed", "No"), event_in("ConsoleLogin")),
              all_(event_in("AssumeRole", "ListAliases"), eq(_TYPE, "AssumedRole"),
                   eq("userIdentity.sessionContext.attributes.mfaAuthenticated", "false"))), C("SFA")),
    )),
    # errorCode=success is what detections filter on: absent errorCode becomes "success", and a
    # console sign-in whose responseElements.ConsoleLogin is "Failure" becomes "failure".
    ("errorCode", coalesce(F("errorCode"),
                           if_(like("responseElements.ConsoleLogin", "Failure"), C("failure"), C("success")),
                           C("success"))),
    ("src_user", case(
        (event_in("PutBucketAcl"), F(_UI + "userName")),
        (event_in("CreateLoadBalancerListeners", "GetBucketEncryption", "CreateLogStream", "CreateLogGroup",
                  "CreateLoadBalancerPolicy"), F(_ISSUER + "userName")),
        (event_in("CreateUser", "CreateLoginProfile", "DeleteNetworkInterface"),
         split_index(F(_UI + "principalId"), ":", 1)),
        (event_in("DeleteLoginProfile"), F("requestParameters.userName")),
        (event_in("CreateVirtualMFADevice"), F(_UI + "userName")),
        (event_in("CreateNetworkInterface"), F(_ISSUER + "userName")),
        (like("eventName", "AssumeRole%"),
         coalesce(F(_UI + "userName"), F("requestParameters.sourceIdentity"), F(_ISSUER + "userName"))),
        (all_(event_in("ConsoleLogin"), isnotnull("additionalEventData.LoginTo")), NULL),
        (event_in("ConsoleLogin"), split_index(F(_UI + "principalId"), ":", 1)),
        (event_in("ListAliases", "ListRoles"), split_index(F(_UI + "arn"), "/", -1)),
        (_BY_RESOURCE_KIND, coalesce(F(_UI + "userName"), F(_ISSUER + "userName"))),
        (TRUE, F(_UI + "userName")),
    )),
    ("src_user_role", if_(all_(event_in(*_ASSUME), eq(_TYPE, "AssumedRole")), F(_UI + "arn"), NULL)),
    ("user_role", if_(event_in(*_ASSUME), case(
        (eq(_TYPE, "AssumedRole"), F("requestParameters.roleArn")),
        (ne(_TYPE, "AWSService"), F("responseElements.assumedRoleUser.arn")),
    ), NULL)),
)

# -- 4. Automatic lookups -------------------------------------------------------------------
# aws-cloudtrail-action-status-lookup: eventName, errorCode OUTPUTNEW action, status.
# Rows are tried in order and the first match wins (WILDCARD match on eventName, max 1 match);
# errorCode is the *calculated* one ("success", "failure", or the AWS error code).
# UNVERIFIED reconstruction of aws_cloudtrail_action_status.csv: see docs/cloudtrail.md.
_ANY_ERROR = "!success"  # any errorCode other than "success"
ACTION_STATUS_ROWS: tuple[tuple[str, str, str, str], ...] = (
    # (eventName pattern, errorCode, action, status)
    ("ConsoleLogin", "success", "success", "success"),
    ("ConsoleLogin", _ANY_ERROR, "failure", "failure"),
    ("CheckMfa", "success", "success", "success"),
    ("CheckMfa", _ANY_ERROR, "failure", "failure"),
    ("AssumeRole*", "success", "success", "success"),
    ("AssumeRole*", _ANY_ERROR, "failure", "failure"),
    # Change events: the verb of eventName gives action, errorCode gives status.
    *((pattern, code, action, "success" if code == "success" else "failure")
      for pattern, action in (
          ("Create*", "created"), ("RunInstances", "created"),
          ("Delete*", "deleted"), ("TerminateInstances", "deleted"),
          *((f"{verb}*", "modified") for verb in (
              "Update", "Modify", "Put", "Attach", "Detach", "Add", "Remove", "Start", "Stop", "Enable", "Disable",
              "Set", "Replace", "Authorize", "Revoke", "Associate", "Disassociate", "Tag", "Untag", "Schedule",
              "Reboot", "Register", "Deregister", "Reset")),
      )
      for code in ("success", _ANY_ERROR)),
    ("*", "success", "success", "success"),
    ("*", _ANY_ERROR, "failure", "failure"),
)

# change_type-for-aws-cloudtrail: eventSource OUTPUTNEW change_type. UNVERIFIED subset.
CHANGE_TYPE_BY_EVENT_SOURCE: dict[str, str] = {
    "ec2.amazonaws.com": "EC2",
    "s3.amazonaws.com": "S3",
    "iam.amazonaws.com": "AAA",
    "sts.amazonaws.com": "AAA",
    "signin.amazonaws.com": "AAA",
}

# eventName-change_type-for-aws-cloudtrail: eventName OUTPUT change_type (overrides). UNVERIFIED: empty.
CHANGE_TYPE_BY_EVENT_NAME: dict[str, str] = {}

# aws_cloudtrail_eventname_lookup: eventName OUTPUTNEW object_category. UNVERIFIED subset.
OBJECT_CATEGORY_BY_EVENT_NAME: dict[str, str] = {
    **dict.fromkeys(("CreateUser", "DeleteUser", "UpdateUser", "CreateLoginProfile", "DeleteLoginProfile",
                     "CreateAccessKey"), "user"),
    **dict.fromkeys(("RunInstances", "StartInstances", "StopInstances", "TerminateInstances",
                     "RebootInstances"), "instance"),
    **dict.fromkeys(("CreateBucket", "DeleteBucket", "PutBucketPolicy", "DeleteBucketPolicy", "PutBucketAcl",
                     "PutBucketPublicAccessBlock", "DeleteBucketPublicAccessBlock"), "bucket"),
    **dict.fromkeys(("AttachRolePolicy", "PutRolePolicy", "CreatePolicyVersion", "UpdateAssumeRolePolicy",
                     "CreatePolicy"), "policy"),
}

# vendor-product-for-aws-cloudtrail: sourcetype OUTPUTNEW vendor, product. UNVERIFIED values.
VENDOR_PRODUCT: dict[str, tuple[str, str]] = {"aws:cloudtrail": ("AWS", "CloudTrail")}


@lru_cache(maxsize=65536)
def lookup_action_status(event_name: str | None, error_code: str | None) -> tuple[str, str] | None:
    """(action, status) for the first :data:`ACTION_STATUS_ROWS` row matching, or None."""
    if event_name is None or error_code is None:
        return None
    for pattern, code, action, status in ACTION_STATUS_ROWS:
        if code == _ANY_ERROR:
            if error_code == "success":
                continue
        elif code != error_code:
            continue
        if pattern == "*" or fnmatchcase(event_name, pattern):
            return action, status
    return None


def _one(table: dict[str, str]) -> Callable[..., tuple[str, ...] | None]:
    def run(key: str | None) -> tuple[str, ...] | None:
        value = table.get(key) if key is not None else None
        return (value,) if value is not None else None

    return run


# The lookups in the order Splunk runs them (LOOKUP- class names in ASCII order):
# (class, input fields, output fields, OUTPUT or OUTPUTNEW, resolver(*inputs) -> outputs or None).
# A multivalue input is matched on its first value (none of these inputs is multivalue in practice).
AUTOMATIC_LOOKUPS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str, Callable[..., tuple[str, ...] | None]], ...] = (
    ("action-status-for-aws-cloudtrail", ("eventName", "errorCode"), ("action", "status"), "OUTPUTNEW",
     lookup_action_status),
    ("changeType-for-aws-cloudtrail-lookup", ("eventName",), ("change_type",), "OUTPUT",
     _one(CHANGE_TYPE_BY_EVENT_NAME)),
    ("changetype-for-aws-cloudtrail", ("eventSource",), ("change_type",), "OUTPUTNEW",
     _one(CHANGE_TYPE_BY_EVENT_SOURCE)),
    ("object_category-for-aws-cloudtrail", ("eventName",), ("object_category",), "OUTPUTNEW",
     _one(OBJECT_CATEGORY_BY_EVENT_NAME)),
    ("vendor-product-for-aws-cloudtrail", ("sourcetype",), ("vendor", "product"), "OUTPUTNEW",
     lambda st: VENDOR_PRODUCT.get(st) if st is not None else None),
)

__all__ = [
    "ACTION_STATUS_ROWS",
    "AUTOMATIC_LOOKUPS",
    "CALCULATED_FIELDS",
    "CHANGE_TYPE_BY_EVENT_NAME",
    "CHANGE_TYPE_BY_EVENT_SOURCE",
    "FIELD_ALIASES",
    "OBJECT_CATEGORY_BY_EVENT_NAME",
    "VENDOR_PRODUCT",
    "lookup_action_status",
]
