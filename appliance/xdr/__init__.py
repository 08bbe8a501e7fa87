"""Cortex XDR: API client, payload models, poller, write-back and local sandbox."""
