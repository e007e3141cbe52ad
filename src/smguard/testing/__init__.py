"""Detections proven offline: their own test cases, pack evaluation, and coverage."""
