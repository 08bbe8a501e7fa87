"""Gunicorn settings for `appliance serve`, taken from the appliance's settings.

Workers are sync: views are thin and return quickly (the model runs in the job
workers, never in a web process), so a few processes serve a SOC's traffic.
"""

from appliance.config import load_settings

_settings = load_settings()

bind = _settings.bind
workers = _settings.web_workers
worker_class = "sync"
timeout = 30
graceful_timeout = 30
keepalive = 5
max_requests = 5000
max_requests_jitter = 500
# Logs go to stdout as JSON from the app; gunicorn's own access log would duplicate.
accesslog = None
errorlog = "-"
loglevel = "warning"
forwarded_allow_ips = "127.0.0.1"
