"""Gather every table module so the full schema is known to Alembic and tests."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from appliance.db.base import Base

# Each domain that owns tables lists its module here.
TABLE_MODULES = [
    "appliance.db.tables",
    "appliance.llm.tables",
    "appliance.xdr.tables",
    "appliance.privacy.tables",
    "appliance.governance.tables",
    "appliance.auth.tables",
    "appliance.enrich.tables",
    "appliance.retrieval.tables",
    "appliance.tasks.tables",
    "appliance.correlate.tables",
]


def load_metadata() -> MetaData:
    """Import every table module and return the shared metadata."""
    for name in TABLE_MODULES:
        importlib.import_module(name)

    return Base.metadata
