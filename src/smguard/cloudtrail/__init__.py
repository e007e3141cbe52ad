"""CloudTrail in smguard: record schema checks, log reading, and Splunk field extraction.

- :mod:`smguard.cloudtrail.schema`: ``validate_record(record, strict=False)``.
- :mod:`smguard.cloudtrail.reader`: ``iter_records(paths, strict=..., report=...)``.
- :mod:`smguard.cloudtrail.fields`: ``to_event(record, ...)``, what ``sourcetype=aws:cloudtrail``
  search sees in Splunk with the Splunk Add-on for AWS installed.

See docs/cloudtrail.md for the decisions behind each.
"""
