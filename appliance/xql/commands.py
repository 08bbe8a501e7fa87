"""The ``appliance xql`` commands: validate queries and build hunts."""

from __future__ import annotations

import json
import sys

import click


@click.group()
def xql() -> None:
    """Validate and build XQL (Cortex Query Language) queries."""


@xql.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON report on stdout.")
def validate_command(as_json: bool) -> None:
    """Validate the XQL query read from stdin; exit 1 when it is invalid.

    Errors and warnings are printed as ``line L, column C: reason``; warnings go to
    stderr and do not change the exit status.
    """
    from appliance.xql.validator import validate

    result = validate(sys.stdin.read())
    if as_json:
        click.echo(json.dumps(result.as_dict(), indent=2))
    else:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
        for error in result.errors:
            click.echo(str(error), err=True)
    if not result.valid:
        sys.exit(1)


@xql.command("hunt")
@click.argument("intent")
@click.option(
    "--param",
    "params",
    multiple=True,
    metavar="NAME=VALUE",
    help="A template parameter, e.g. --param host=WS-01 (repeatable).",
)
@click.option("--timeframe", default="7d", show_default=True, help="e.g. 24h, 7d.")
@click.option("--limit", default=1000, show_default=True, type=int)
def hunt_command(
    intent: str, params: tuple[str, ...], timeframe: str, limit: int
) -> None:
    """Print the validated query of the hunting template INTENT.

    ``appliance xql hunt list`` prints the intents and their parameters.
    """
    from appliance.xql.builder import HuntSpecError
    from appliance.xql.hunts import TEMPLATES, build_hunt

    if intent == "list":
        for template in TEMPLATES.values():
            needs = ", ".join(
                template.required + tuple(f"[{o}]" for o in template.optional)
            )
            click.echo(f"{template.intent:<26} {needs:<20} {template.summary}")
        return
    values: dict[str, str] = {}
    for param in params:
        name, sep, value = param.partition("=")
        if not sep:
            raise click.BadParameter("use NAME=VALUE", param_hint="--param")
        values[name.strip()] = value
    try:
        query = build_hunt(intent, values, timeframe=timeframe, limit=limit)
    except (HuntSpecError, ValueError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    click.echo(query.xql)


@xql.command("generate")
@click.argument("question")
@click.option("--limit", default=1000, show_default=True, type=int)
@click.option("--json", "as_json", is_flag=True, help="Print the template and params.")
def generate_command(question: str, limit: int, as_json: bool) -> None:
    """Print a validated XQL query for the hunting QUESTION."""
    from appliance.errors import ValidationFailed
    from appliance.tasks.hunting import generate

    try:
        hunt = generate(question, limit=limit)
    except ValidationFailed as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    if as_json:
        click.echo(json.dumps(hunt.as_dict(), indent=2))
    else:
        click.echo(hunt.xql)
