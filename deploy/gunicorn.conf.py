"""Gunicorn settings for `appliance serve`, taken from the appliance's settings.

Workers are sync: views are thin and return quickly (the model runs in the job
workers, never in a web process), so a few processes serve a SOC's traffic. Scale
with APPLIANCE_WEB_WORKERS (about two per core is plenty) or with more instances
behind a load balancer; each instance is stateless apart from the database.
"""

import os

from appliance.config import load_settings

_settings = load_settings()

bind = _settings.bind
workers = _settings.web_workers
worker_class = "sync"
# A view that takes longer than this is stuck: the worker is killed and replaced.
timeout = 30
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak cannot grow without bound.
max_requests = 5000
max_requests_jitter = 500
# The heartbeat files live in memory: the root file system may be read-only, and a
# disk-backed /tmp can stall the heartbeat and get healthy workers killed.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None
# The control socket would sit in $HOME, which hardened units and images keep
# read-only; nothing here uses it.
control_socket_disable = True
# Logs go to stdout as JSON from the app; gunicorn's own access log would duplicate.
accesslog = None
errorlog = "-"
loglevel = "warning"
# X-Forwarded-* headers are believed only from loopback and the trusted proxies.
forwarded_allow_ips = ",".join(
    ["127.0.0.1", "::1"]
    + [p.strip() for p in (_settings.sso_trusted_proxies or "").split(",") if p.strip()]
)
