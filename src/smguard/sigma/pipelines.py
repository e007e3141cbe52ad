"""pySigma processing pipelines for running exported rules where the Splunk add-on extracts fields.

The exported rules name CloudTrail's raw fields, which Splunk with the Splunk Add-on for AWS
also extracts (``KV_MODE = json``), so field names need no mapping. One thing differs: the
add-on replaces ``errorCode`` with a calculated field that is ``"success"`` when CloudTrail
wrote none, so Sigma's ``errorCode: null`` ("no error") never matches in Splunk as
``NOT errorCode=*``. :func:`splunk_addon_pipeline` rewrites it to ``errorCode="success"``.

And a value that is the *text* of a CIDR (``cidrIp: 0.0.0.0/0``, as EC2 writes it in its
request parameters): pySigma's Splunk backend writes it as a search term, ``cidrIp="0.0.0.0/0"``,
which Splunk's ``search`` reads as a subnet to match addresses against (Search Reference,
``search`` command: IPv4 and IPv6 subnets in CIDR notation), so the literal text never matches.
The pipeline turns such a value into an anchored regular expression on the literal text.

Use it with pySigma's Splunk backend::

    from sigma.backends.splunk import SplunkBackend
    SplunkBackend(splunk_addon_pipeline()).convert(rules)
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

from smguard.sigma.fields import SUCCESS


def splunk_addon_pipeline() -> Any:
    """The pipeline that makes exported rules mean the same under the Splunk add-on's fields."""
    from sigma.processing.conditions import IncludeFieldCondition
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations.base import DetectionItemTransformation
    from sigma.types import SigmaNull, SigmaRegularExpression, SigmaString

    @dataclass
    class NoErrorIsSuccess(DetectionItemTransformation):
        """``errorCode: null`` → ``errorCode: success`` (the add-on's calculated value)."""

        def apply_detection_item(self, detection_item: Any) -> Any:
            if any(isinstance(v, SigmaNull) for v in detection_item.value):
                detection_item.value = [SigmaString(SUCCESS) if isinstance(v, SigmaNull) else v
                                        for v in detection_item.value]
                self.processing_item_applied(detection_item)
            return None

    @dataclass
    class CidrTextIsLiteral(DetectionItemTransformation):
        """A plain value that is CIDR text → a regex matching exactly that text."""

        def apply_detection_item(self, detection_item: Any) -> Any:
            if detection_item.modifiers or not all(isinstance(v, SigmaString) and _cidr_text(str(v))
                                                   for v in detection_item.value):
                return None
            detection_item.value = [SigmaRegularExpression("(?i)^" + re.escape(str(v)) + "$")
                                    for v in detection_item.value]
            self.processing_item_applied(detection_item)
            return None

    return ProcessingPipeline(
        name="smguard: Splunk Add-on for AWS field semantics",
        priority=20,
        items=[ProcessingItem(identifier="smguard_errorcode_success", transformation=NoErrorIsSuccess(),
                              field_name_conditions=[IncludeFieldCondition(fields=["errorCode"])]),
               ProcessingItem(identifier="smguard_cidr_text_literal", transformation=CidrTextIsLiteral())],
    )


def _cidr_text(text: str) -> bool:
    """Does the value read as a subnet in CIDR notation (what Splunk's search would take as one)?"""
    if "/" not in text or "*" in text:
        return False
    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        return False
    return True
