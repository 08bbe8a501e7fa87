"""Scrubbing personal data from everything that reaches the model."""
