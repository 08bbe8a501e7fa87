"""Intake of XDR incidents from connectors: verify, deduplicate, enqueue."""
