"""Incident intelligence: triage, root cause, copilot, response, closure, hunting."""
