"""A running XDR sandbox for tests, with one standard and one advanced key."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from appliance.xdr.client import XdrClient
from appliance.xdr.ratelimit import TenantLimiter
from appliance.xdr.sandbox import Faults, SandboxApp, SandboxServer
from appliance.xdr.sandbox_tenant import SandboxTenant

KEYS = {
    "advanced": ("11", "advanced-test-key-0123456789abcdef"),
    "standard": ("12", "standard-test-key-0123456789abcdef"),
}


@dataclass
class RunningSandbox:
    """The sandbox's tenant, app and URL."""

    tenant: SandboxTenant
    app: SandboxApp
    url: str

    def client(self, key_type: str = "advanced", **kwargs: object) -> XdrClient:
        """Return a client with fast retries and generous limits for tests."""
        key_id, key = KEYS[key_type]
        options: dict[str, object] = {
            "key_type": key_type,
            "timeout": 5.0,
            "limiter": TenantLimiter(1000.0, 6000.0, 4),
            "max_attempts": 8,
            "backoff_base": 0.01,
            "backoff_max": 0.05,
        }
        options.update(kwargs)
        return XdrClient(self.url, key_id, key, **options)  # type: ignore[arg-type]


@contextmanager
def running_sandbox(
    faults: Faults | None = None,
    *,
    extra_data_per_minute: float | None = None,
    samples: bool = True,
) -> Iterator[RunningSandbox]:
    """Serve a sandbox tenant on a random loopback port for the block's duration."""
    tenant = SandboxTenant()
    for key_type, (key_id, key) in KEYS.items():
        tenant.add_key(key_id, key, key_type)
    if samples:
        tenant.load_samples()
    app = SandboxApp(tenant, faults=faults, extra_data_per_minute=extra_data_per_minute)
    server = SandboxServer(app).start()
    try:
        yield RunningSandbox(tenant, app, server.url)
    finally:
        server.stop()
