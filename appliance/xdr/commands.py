"""``appliance xdr-sandbox``: serve the local Cortex XDR sandbox."""

from __future__ import annotations

import secrets
import sys

import click

from appliance.cli import Context, pass_context
from appliance.log import configure_logging


@click.command("xdr-sandbox")
@click.option(
    "--bind", help="host:port to listen on (default: APPLIANCE_XDR_SANDBOX_BIND)."
)
@click.option(
    "--fault-rate",
    type=float,
    help="Share of calls answered with a fault, 0 to 1.",
)
@click.option(
    "--fault",
    "fault_kinds",
    multiple=True,
    type=click.Choice(["429", "500", "slow", "drop"]),
    help="A fault to inject (repeatable; default 429 and 500).",
)
@click.option("--copies", type=int, default=0, help="Add this many copied incidents.")
@click.option(
    "--enforce-rate/--no-enforce-rate",
    default=True,
    show_default=True,
    help="Refuse calls over XDR's documented rates.",
)
@pass_context
def xdr_sandbox(
    ctx: Context,
    bind: str | None,
    fault_rate: float | None,
    fault_kinds: tuple[str, ...],
    copies: int,
    enforce_rate: bool,
) -> None:
    """Serve a local Cortex XDR API with sample incidents, for demos and tests.

    It accepts the key in APPLIANCE_XDR_API_KEY_ID / APPLIANCE_XDR_API_KEY (of
    APPLIANCE_XDR_KEY_TYPE); when they are unset it makes a key and prints it.
    """
    from appliance.xdr.sandbox import Faults, SandboxApp, SandboxServer
    from appliance.xdr.sandbox_tenant import SandboxTenant

    settings = ctx.settings
    configure_logging(settings.log_level)
    host, _, port = (bind or settings.xdr_sandbox_bind).rpartition(":")
    tenant = SandboxTenant()
    key_id = settings.xdr_api_key_id or "1"
    key = settings.xdr_api_key or secrets.token_hex(32)
    tenant.add_key(key_id, key, settings.xdr_key_type)
    ids = tenant.load_samples()
    if copies:
        ids += tenant.add_copies(copies)
    faults = Faults(
        rate=settings.xdr_sandbox_fault_rate if fault_rate is None else fault_rate,
        kinds=fault_kinds or ("429", "500"),
    )
    app = SandboxApp(
        tenant,
        faults=faults,
        requests_per_second=settings.xdr_requests_per_second if enforce_rate else None,
        extra_data_per_minute=(
            settings.xdr_extra_data_per_minute if enforce_rate else None
        ),
    )
    server = SandboxServer(app, host or "127.0.0.1", int(port or 0))
    click.echo(f"XDR sandbox at {server.url} with {len(ids)} incidents")
    if not settings.xdr_api_key:
        # A throwaway key for a local sandbox, shown so the operator can use it.
        click.echo(f"key id {key_id}, {settings.xdr_key_type} key {key}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
