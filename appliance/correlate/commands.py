"""``appliance cluster``: cluster a file of XDR alerts offline."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import TextIO

import click

from appliance.cli import Context, pass_context
from appliance.errors import ValidationFailed


def read_alerts(stream: TextIO) -> Iterator[object]:
    """Yield one alert per non-blank JSON line.

    Raises:
        ValidationFailed: a line is not valid JSON (its number is in the message).
    """
    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            yield json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValidationFailed(
                f"line {number}: not valid JSON ({exc.msg})"
            ) from None


@click.command("cluster")
@click.option(
    "--input",
    "source",
    type=click.File("r", encoding="utf-8"),
    required=True,
    help="XDR alerts, one JSON object a line ('-' for stdin).",
)
@click.option(
    "--output",
    "target",
    type=click.File("w", encoding="utf-8"),
    default="-",
    show_default=True,
    help='Where to write {"alert_id", "cluster_id", "confidence"} lines.',
)
@click.option(
    "--suggestions",
    type=click.File("w", encoding="utf-8"),
    default=None,
    help="Also write one grouped-incident suggestion a line here.",
)
@click.option(
    "--semantic/--no-semantic",
    default=None,
    help="Merge waves worded differently (loads the embedding model); "
    "default from APPLIANCE_CORRELATE_SEMANTIC.",
)
@pass_context
def cluster(
    ctx: Context,
    source: TextIO,
    target: TextIO,
    suggestions: TextIO | None,
    semantic: bool | None,
) -> None:
    """Cluster alerts into campaigns; noise gets a null cluster_id."""
    from appliance.correlate import service

    settings = ctx.settings
    use_semantic = settings.correlate_semantic if semantic is None else semantic
    cache = service.encoder_cache(settings) if use_semantic else None
    run = service.run_clustering(read_alerts(source), settings, embeddings=cache)
    for row in run.rows:
        target.write(json.dumps(row) + "\n")
    if suggestions is not None:
        for suggestion in run.suggestions:
            suggestions.write(
                json.dumps(
                    {
                        "cluster_id": suggestion.cluster_id,
                        "title": suggestion.title,
                        "severity": suggestion.severity,
                        "confidence": suggestion.confidence,
                        "evidence": list(suggestion.evidence),
                        "alert_ids": list(suggestion.alert_ids),
                    }
                )
                + "\n"
            )
    click.echo(json.dumps(run.summary()), err=True)
    sys.stdout.flush()
