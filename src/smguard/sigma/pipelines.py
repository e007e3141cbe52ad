"""pySigma processing pipelines for running exported rules where the Splunk add-on extracts fields.

The exported rules name CloudTrail's raw fields, which Splunk with the Splunk Add-on for AWS
also extracts (``KV_MODE = json``), so field names need no mapping. One thing differs: the
add-on replaces ``errorCode`` with a calculated field that is ``"success"`` when CloudTrail
wrote none, so Sigma's ``errorCode: null`` ("no error") never matches in Splunk as
``NOT errorCode=*``. :func:`splunk_addon_pipeline` rewrites it to ``errorCode="success"``.

Use it with pySigma's Splunk backend::

    from sigma.backends.splunk import SplunkBackend
    SplunkBackend(splunk_addon_pipeline()).convert(rules)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from smguard.sigma.fields import SUCCESS


def splunk_addon_pipeline() -> Any:
    """The pipeline that makes exported rules mean the same under the Splunk add-on's fields."""
    from sigma.processing.conditions import IncludeFieldCondition
    from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
    from sigma.processing.transformations.base import DetectionItemTransformation
    from sigma.types import SigmaNull, SigmaString

    @dataclass
    class NoErrorIsSuccess(DetectionItemTransformation):
        """``errorCode: null`` → ``errorCode: success`` (the add-on's calculated value)."""

        def apply_detection_item(self, detection_item: Any) -> Any:
            if any(isinstance(v, SigmaNull) for v in detection_item.value):
                detection_item.value = [SigmaString(SUCCESS) if isinstance(v, SigmaNull) else v
                                        for v in detection_item.value]
                self.processing_item_applied(detection_item)
            return None

    return ProcessingPipeline(
        name="smguard: Splunk Add-on for AWS field semantics",
        priority=20,
        items=[ProcessingItem(identifier="smguard_errorcode_success", transformation=NoErrorIsSuccess(),
                              field_name_conditions=[IncludeFieldCondition(fields=["errorCode"])])],
    )
