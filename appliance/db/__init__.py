"""Database engine, sessions, tables and migrations."""

from appliance.db.engine import Database

__all__ = ["Database"]
