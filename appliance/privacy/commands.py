"""``appliance scrub``: scrub text or JSON from stdin to stdout."""

from __future__ import annotations

import json
import sys

import click

from appliance.config import load_settings


@click.command("scrub")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Read JSON (an alert, an incident, any value) instead of plain text.",
)
@click.option(
    "--report", is_flag=True, help="List what was found on stderr (not the values)."
)
def scrub(as_json: bool, report: bool) -> None:
    """Read text or JSON on stdin and write the scrubbed form on stdout.

    Pseudonyms are throwaway: they are numbered afresh on every run.
    """
    from appliance.privacy.scrubber import Scrubber, ScrubInputError

    settings = load_settings()
    raw = sys.stdin.buffer.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise click.ClickException("input is not UTF-8 text") from None
    data: object = text
    if as_json:
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            raise click.ClickException(f"input is not JSON: {exc}") from None
    scrubber = Scrubber.create(settings.scrub_policy, settings.scrub_nlp_model)
    if not scrubber.ner_available:
        click.echo(
            "warning: NER model missing; person names in free text are not found",
            err=True,
        )
    try:
        result = scrubber.scrub(data, scrubber.new_vault())
    except ScrubInputError as exc:
        raise click.ClickException(exc.message) from None
    if isinstance(result.data, str):
        click.echo(result.data, nl=False)
    else:
        click.echo(json.dumps(result.data, ensure_ascii=False, indent=2))
    if report:
        for f in result.findings:
            where = f"{f.field}:" if f.field else ""
            click.echo(
                f"{f.entity_type}\t{f.action.value}\t{f.replacement}\t"
                f"{where}{f.start}-{f.end}\t{f.score:g}",
                err=True,
            )
        click.echo(json.dumps({"entities": result.entities}), err=True)
