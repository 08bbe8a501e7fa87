"""The settings page: rollout phases, thresholds, policies, sources and retention.

Settings come from the settings file and ``APPLIANCE_*`` variables and take effect
when the processes restart; this page shows what is in force, with secrets masked.
Rollout phases are the one policy changed live (on the phases page).
"""

from __future__ import annotations

from typing import Any

from flask.typing import ResponseReturnValue
from sqlalchemy.engine import make_url

from appliance.admin.blueprint import app_state, bp, page
from appliance.api.openapi import document
from appliance.auth.guard import require_role
from appliance.auth.roles import Role
from appliance.config import Settings
from appliance.governance import phases
from appliance.governance.gate import AUTOMATION_RULES

# The groups a SOC lead looks for, by setting name; the rest is listed under "other".
GROUPS: dict[str, tuple[str, ...]] = {
    "Policies": (
        "rollout_phase",
        "automate_min_confidence",
        "automate_hourly_limits",
        "automate_max_per_hour",
        "automate_resolve_comment",
        "approval_expiry_hours",
        "scrub_policy",
    ),
    "Thresholds": (
        "task_evidence_budget_tokens",
        "task_model_timeout_seconds",
        "task_max_output_tokens",
        "llm_timeout_seconds",
        "retrieval_top_k",
        "retrieval_ann_threshold",
        "correlate_gap_minutes",
        "correlate_wave_min_hosts",
        "correlate_idle_minutes",
        "job_max_attempts",
        "login_max_failures",
    ),
    "Sources": (
        "xdr_base_url",
        "xdr_key_type",
        "poll_enabled",
        "poll_interval_seconds",
        "enrich_cmdb_path",
        "enrich_cmdb_url",
        "embedding_model_path",
        "llm_backend",
        "llm_model",
        "vllm_url",
    ),
    "Retention": (
        "vault_retention_days",
        "retrieval_max_age_days",
        "enrich_cache_ttl_seconds",
        "session_lifetime_minutes",
    ),
}


def setting_rows(settings: Settings) -> dict[str, list[dict[str, str]]]:
    """Return the settings in force, grouped, with secrets and passwords masked."""
    shown = {
        env: {"env": env, "value": value, "help": help_text}
        for env, value, help_text in settings.masked()
    }
    database = Settings.env_name("database_url")
    if settings.database_url:
        url = make_url(settings.database_url)
        shown[database]["value"] = url.render_as_string(hide_password=True)
    grouped: dict[str, list[dict[str, str]]] = {}
    for group, names in GROUPS.items():
        grouped[group] = [shown.pop(Settings.env_name(n)) for n in names]
    grouped["Other"] = list(shown.values())

    return grouped


@bp.get("/settings")
@document(
    "Show the settings in force: policies, thresholds, sources and retention.",
    tags=["admin"],
    content_type="text/html",
)
@require_role(Role.ADMIN, scope="governance")
def settings_page() -> ResponseReturnValue:
    """Show the settings in force: policies, thresholds, sources and retention."""
    state = app_state()
    with state.db.read_session() as session:
        phase_rows = phases.listing(session)
    context: dict[str, Any] = {
        "groups": setting_rows(state.settings),
        "phase_rows": phase_rows,
        "rules": sorted(AUTOMATION_RULES),
    }

    return page("settings.html", **context)
