"""The appliance: an air-gapped AI assistant for Cortex XDR incidents."""

from appliance.app import create_app

__all__ = ["create_app"]
