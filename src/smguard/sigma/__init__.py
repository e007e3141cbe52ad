"""Sigma in and out: export structured detections as Sigma rules, import Sigma rules as detections.

``export`` renders the pack's structured detections as Sigma (v2) rules and correlation
rules; ``fields`` maps the Splunk add-on's field names back to CloudTrail's raw names;
``pipelines`` holds the pySigma processing pipelines that put them back for Splunk;
``importer`` turns a Sigma rule for AWS CloudTrail into a structured detection.
"""
