"""What one Flask app holds: settings, database and metrics, reachable from views."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask
from prometheus_client import CollectorRegistry

from appliance.api.metrics import HttpMetrics
from appliance.config import Settings
from appliance.db.engine import Database

EXTENSION = "appliance"


@dataclass
class AppState:
    """The per-app services views use; built once by ``create_app``."""

    settings: Settings
    db: Database
    metrics_registry: CollectorRegistry
    http_metrics: HttpMetrics


def state(app: Flask) -> AppState:
    """Return the app's state."""
    return app.extensions[EXTENSION]
