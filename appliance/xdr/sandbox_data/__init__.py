"""Sample incidents of the local Cortex XDR sandbox (extra-data replies)."""
