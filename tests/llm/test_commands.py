from __future__ import annotations

import json

from click.testing import CliRunner
from sqlalchemy import select

from appliance.cli import Context, cli
from appliance.config import Settings
from appliance.db.engine import Database
from appliance.db.tables import AuditEvent
from appliance.llm.commands import models


def _invoke(settings: Settings, *args: str) -> tuple[int, str]:
    ctx = Context()
    ctx._settings = settings
    result = CliRunner().invoke(models, list(args), obj=ctx)
    return result.exit_code, result.output


def test_list_shows_the_models_and_whether_their_files_are_here(
    settings: Settings, db: Database
) -> None:
    code, output = _invoke(settings, "list", "--json")

    rows = {row["name"]: row for row in json.loads(output)}
    assert code == 0
    assert rows["smollm2-135m-instruct"]["present"] is True
    assert rows["qwen2.5-coder-1.5b-instruct"]["present"] is False
    assert rows["qwen2.5-coder-1.5b-instruct"]["default"] is True


def test_verify_checks_the_installed_models(settings: Settings, db: Database) -> None:
    code, output = _invoke(settings, "verify")

    assert code == 0
    assert "smollm2-135m-instruct: ok" in output
    assert "qwen2.5-coder-1.5b-instruct: not installed" in output


def test_activate_requests_a_swap_and_audits_it(
    settings: Settings, db: Database
) -> None:
    code, output = _invoke(settings, "activate", "smollm2-135m-instruct")

    assert code == 0
    assert "activation 1 of smollm2-135m-instruct requested" in output
    with db.read_session() as session:
        event = session.scalars(select(AuditEvent)).one()
    assert (event.action, event.outcome) == ("model.activate", "attempt")


def test_the_models_group_is_on_the_appliance_command() -> None:
    from appliance.cli import _add_commands

    _add_commands()
    assert "models" in cli.commands


def test_backends_says_why_vllm_cannot_run_here(settings: Settings) -> None:
    code, output = _invoke(settings, "backends")

    assert code == 0
    assert "vllm       unavailable: no GPU" in output
    assert "llama_cpp  available" in output
