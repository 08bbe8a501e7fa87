"""``appliance enrich …`` and ``appliance attack …`` commands."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import click

from appliance.cli import Context, pass_context

#: Import kinds and the parser that checks a file of that kind.
KINDS = ("cmdb", "vulns", "intel")


def _parse(kind: str, path: Path) -> dict[str, object]:
    """Parse ``path`` as ``kind`` and return the report."""
    from appliance.enrich.assets import parse_asset_file
    from appliance.enrich.intel import parse_intel_file
    from appliance.enrich.vulnerabilities import parse_scan_csv

    if kind == "cmdb":
        return parse_asset_file(path).report()
    if kind == "vulns":
        return parse_scan_csv(path).report()
    return parse_intel_file(path).report()


@click.group()
def enrich() -> None:
    """Import enrichment feeds and look incidents up in them."""


@enrich.command("import")
@click.argument("kind", type=click.Choice(KINDS))
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def import_feed(ctx: Context, kind: str, file: Path) -> None:
    """Check FILE, report skipped rows, and install it as a KIND feed.

    cmdb: a CSV or JSON asset export; vulns: a scanner CSV export; intel: a STIX 2.1
    bundle, a MISP JSON export or a CSV indicator list. A file with no usable row is
    refused (exit 1).
    """
    from appliance.enrich.service import feed_folder
    from appliance.enrich.source import SourceUnavailable

    try:
        report = _parse(kind, file)
    except SourceUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(report, indent=2))
    if not report["accepted"]:
        sys.exit(1)
    folder = feed_folder(ctx.settings, kind)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f".{file.name}.partial"
    shutil.copyfile(file, partial)
    partial.replace(folder / file.name)


@enrich.command("lookup")
@click.option("--host", "hosts", multiple=True)
@click.option("--ip", "ips", multiple=True)
@click.option("--domain", "domains", multiple=True)
@click.option("--url", "urls", multiple=True)
@click.option("--hash", "hashes", multiple=True)
@click.option("--technique", "technique_ids", multiple=True)
@pass_context
def lookup(ctx: Context, **entities: tuple[str, ...]) -> None:
    """Print the enrichment context of the given entities as JSON."""
    from appliance.enrich.model import IncidentEntities
    from appliance.enrich.service import EnrichmentService, sources_from_settings

    query = IncidentEntities.model_validate(
        {"tenant": ctx.settings.tenant, **{k: list(v) for k, v in entities.items()}}
    )
    context = EnrichmentService(sources_from_settings(ctx.settings)).enrich(query)
    click.echo(context.model_dump_json(indent=2))


@click.group()
def attack() -> None:
    """Offline MITRE ATT&CK knowledge."""


@attack.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@pass_context
def attack_import(ctx: Context, file: Path) -> None:
    """Import a full official ATT&CK STIX bundle (enterprise-attack.json)."""
    from appliance.enrich.attack_import import import_bundle
    from appliance.enrich.source import SourceUnavailable

    try:
        summary = import_bundle(file, ctx.settings.resolved_data_dir)
    except SourceUnavailable as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(json.dumps(summary, indent=2))


@attack.command("show")
@click.argument("technique_id")
@pass_context
def attack_show(ctx: Context, technique_id: str) -> None:
    """Print what ATT&CK says about TECHNIQUE_ID (v18 or v19 ids); exit 1 if unknown."""
    from appliance.enrich.attack import AttackKnowledge

    info = AttackKnowledge.load(ctx.settings.resolved_data_dir).technique(technique_id)
    if info is None:
        click.echo(f"unknown technique {technique_id}", err=True)
        sys.exit(1)
    click.echo(info.model_dump_json(indent=2))
