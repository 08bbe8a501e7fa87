"""Alert correlation: cluster related alerts into grouped-incident suggestions."""
