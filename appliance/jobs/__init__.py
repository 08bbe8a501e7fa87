"""Durable job queue and the worker that runs jobs."""
