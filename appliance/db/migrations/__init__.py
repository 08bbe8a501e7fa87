"""Alembic migrations of the appliance schema."""
