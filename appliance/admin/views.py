"""The console's blueprint with every page registered on it."""

from __future__ import annotations

from appliance.admin import (  # noqa: F401  (importing registers the pages)
    access_pages,
    governance_pages,
    incident_pages,
    model_pages,
    overview,
    session_pages,
    settings_page,
)
from appliance.admin.blueprint import bp

__all__ = ["bp"]
