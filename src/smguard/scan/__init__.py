"""Scan logs with many detections at once, replaying their schedules (``smguard scan``).

See :mod:`smguard.scan.runner` for how one pass over the logs serves every detection.
"""

from smguard.scan.runner import Alert, DetectionSpec, ScanResult, scan, specs_from_pack

__all__ = ["Alert", "DetectionSpec", "ScanResult", "scan", "specs_from_pack"]
