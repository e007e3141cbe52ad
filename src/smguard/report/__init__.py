"""``smguard report``: one JSON document (``data``) and its self-contained HTML view (``html``)."""

from smguard.report.data import SCHEMA, build_report
from smguard.report.html import render

__all__ = ["SCHEMA", "build_report", "render"]
