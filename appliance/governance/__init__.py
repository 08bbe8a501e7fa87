"""Rollout phases, approvals, the audit trail and feedback."""
