"""Gunicorn entry point: ``gunicorn appliance.wsgi:app``."""

from appliance import create_app

app = create_app()
