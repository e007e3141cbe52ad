"""smguard: SageMaker guardrails as Splunk detections.

The flow is YAML -> model -> SPL -> Splunk app (``model``, ``compile``, ``package``)
and SPL + CloudTrail -> results (``cloudtrail``, ``spl``), with ``generate`` producing
the synthetic CloudTrail the pack is proven on.
"""

__version__ = "0.1.0"
