"""``appliance triage FILE``: the whole incident analysis, offline, on one file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from appliance.config import load_settings


def load_reply(path: Path) -> dict[str, Any]:
    """Read a ``get_incident_extra_data`` reply (with or without ``{"reply": …}``)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"cannot read {path}: {exc}") from None
    reply = data.get("reply", data) if isinstance(data, dict) else None
    if not isinstance(reply, dict) or "incident" not in reply:
        raise click.ClickException(
            "the file is not a get_incident_extra_data reply (no 'incident')"
        )

    return reply


@click.command("triage")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model_name", default=None, help="Model manifest to use.")
@click.option("--no-model", is_flag=True, help="Deterministic results only.")
@click.option(
    "--task",
    "tasks",
    multiple=True,
    type=click.Choice(["triage", "root_cause", "copilot", "response", "closure"]),
    help="Run only these tasks (repeatable); default: all that apply.",
)
def triage(
    file: Path, model_name: str | None, no_model: bool, tasks: tuple[str, ...]
) -> None:
    """Analyze the incident in FILE offline and print the results as JSON.

    FILE holds the reply of get_incident_extra_data. Nothing is sent to XDR.
    """
    from appliance.db.engine import Database
    from appliance.db.migrate import upgrade
    from appliance.llm.manifests import default_manifest
    from appliance.llm.runtime import ModelRuntime
    from appliance.privacy.service import scrubber_for
    from appliance.tasks.jobs import enrichment_of
    from appliance.tasks.pipeline import TASKS, analyze, narrator_for

    settings = load_settings()
    reply = load_reply(file)
    db = Database(settings.resolved_database_url)
    upgrade(db)
    scrubber = scrubber_for(settings)
    vault = scrubber.new_vault(str(reply["incident"].get("incident_id")))
    runtime = None
    unavailable = "--no-model given" if no_model else None
    if not no_model:
        runtime = ModelRuntime(db, settings)
        try:
            runtime.activate(model_name or default_manifest(settings).name)
        except Exception as exc:  # the analysis still runs, on its rules
            runtime, unavailable = None, f"{type(exc).__name__}: {exc}"
    narrator = narrator_for(
        settings,
        scrubber,
        vault,
        runtime,
        db=db,
        model_name=runtime.info().get("model") if runtime else None,
        unavailable=unavailable,
    )
    try:
        analysis = analyze(
            reply,
            narrator,
            tasks=list(tasks) or TASKS,
            enrichment=enrichment_of(settings, reply),
            budget=settings.task_evidence_budget_tokens,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        if runtime is not None:
            runtime.close()
    click.echo(json.dumps(analysis.as_dict(), indent=2, ensure_ascii=False))
