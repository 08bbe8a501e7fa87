"""Reply models of the Cortex XDR public API, built on its real payload shapes.

XDR adds fields between versions and keeps two alert schemas side by side: the short
one (about 40 fields) and the full one (about 156). The models name the fields the
appliance reads and keep every other field as it came (``extra="allow"``), so a reply
round-trips without loss and a new field never breaks intake.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

T = TypeVar("T")


class XdrModel(BaseModel):
    """Base of every reply model: unknown fields are kept, not refused."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class Incident(XdrModel):
    """An incident, in the short or the newer schema."""

    incident_id: str
    incident_name: str | None = None
    creation_time: int | None = None
    modification_time: int | None = None
    detection_time: int | None = None
    status: str
    severity: str
    description: str | None = None
    assigned_user_mail: str | None = None
    assigned_user_pretty_name: str | None = None
    alert_count: int | None = None
    low_severity_alert_count: int | None = None
    med_severity_alert_count: int | None = None
    high_severity_alert_count: int | None = None
    critical_severity_alert_count: int | None = None
    user_count: int | None = None
    host_count: int | None = None
    notes: str | None = None
    resolve_comment: str | None = None
    resolved_timestamp: int | None = None
    manual_severity: str | None = None
    manual_description: str | None = None
    xdr_url: str | None = None
    starred: bool | None = None
    hosts: list[str] | None = None
    users: list[str] | None = None
    incident_sources: list[str] | None = None
    mitre_tactics_ids_and_names: list[str] | None = None
    mitre_techniques_ids_and_names: list[str] | None = None
    alert_categories: list[str] | None = None
    tags: list[str] | None = None


class Alert(XdrModel):
    """An alert, in the short or the full schema."""

    alert_id: str
    detection_timestamp: int | None = None
    source: str | None = None
    severity: str | None = None
    name: str | None = None
    category: str | None = None
    action: str | None = None
    action_pretty: str | None = None
    description: str | None = None
    endpoint_id: str | None = None
    host_ip: str | list[str] | None = None
    host_name: str | None = None
    user_name: str | None = None
    event_type: str | None = None
    actor_process_image_name: str | None = None
    actor_process_command_line: str | None = None
    actor_process_image_sha256: str | None = None
    causality_actor_process_image_name: str | None = None
    causality_actor_process_command_line: str | None = None
    causality_actor_process_image_sha256: str | None = None
    causality_actor_causality_id: str | None = None
    action_process_image_name: str | None = None
    action_process_image_command_line: str | None = None
    action_process_image_sha256: str | None = None
    action_file_path: str | None = None
    action_file_md5: str | None = None
    action_file_sha256: str | None = None
    action_local_ip: str | None = None
    action_local_port: int | None = None
    action_remote_ip: str | None = None
    action_remote_port: int | None = None
    action_external_hostname: str | None = None
    dns_query_name: str | None = None
    mitre_tactic_id_and_name: str | list[str] | None = None
    mitre_technique_id_and_name: str | list[str] | None = None
    is_whitelisted: bool | str | None = None
    starred: bool | None = None
    external_id: str | None = None
    case_id: int | None = None

    @property
    def full_schema(self) -> bool:
        """Whether the alert came in the full (156-field) schema."""
        extra = self.model_extra or {}
        return "agent_os_type" in extra or "resolution_status" in extra


class NetworkArtifact(XdrModel):
    """A network artifact of an incident (a domain or an IP address)."""

    type: str
    alert_count: int | None = None
    is_manual: bool | None = None
    network_domain: str | None = None
    network_remote_ip: str | None = None
    network_remote_port: int | None = None
    network_country: str | None = None


class FileArtifact(XdrModel):
    """A file artifact of an incident (a hash with its verdict)."""

    type: str
    alert_count: int | None = None
    is_manual: bool | None = None
    is_malicious: bool | None = None
    is_process: bool | None = None
    file_name: str | None = None
    file_sha256: str | None = None
    file_signature_status: str | None = None
    file_signature_vendor_name: str | None = None
    file_wildfire_verdict: str | None = None


class Counted(XdrModel, Generic[T]):
    """A list XDR sends with its total count (which may exceed the list)."""

    total_count: int
    data: list[T] = Field(default_factory=list)


class IncidentExtraData(XdrModel):
    """Reply of ``incidents/get_incident_extra_data``: an incident and its parts."""

    incident: Incident
    alerts: Counted[Alert]
    network_artifacts: Counted[NetworkArtifact]
    file_artifacts: Counted[FileArtifact]


class IncidentsPage(XdrModel):
    """Reply of ``incidents/get_incidents``: one page of incident summaries."""

    total_count: int
    result_count: int
    incidents: list[Incident]


class MultipleIncidentsExtraData(XdrModel):
    """Reply of ``incidents/get_multiple_incidents_extra_data``."""

    total_count: int
    result_count: int
    alerts_limit_per_incident: int | None = None
    incidents: list[IncidentExtraData]


class FlatIncident(Incident):
    """An incident flattened with its alerts and artifacts as plain lists.

    This is the shape connectors (an XSOAR playbook) hold and may post to the
    webhook, and the input of ``appliance triage``.
    """

    alerts: list[Alert] = Field(default_factory=list)
    network_artifacts: list[NetworkArtifact] = Field(default_factory=list)
    file_artifacts: list[FileArtifact] = Field(default_factory=list)


class AlertWithEvents(XdrModel):
    """An alert of ``alerts/get_alerts_multi_events`` with its events."""

    alert_id: str
    name: str | None = None
    severity: str | None = None
    events: list[dict[str, Any]] = Field(default_factory=list)


class AlertsMultiEvents(XdrModel):
    """Reply of ``alerts/get_alerts_multi_events``."""

    total_count: int
    result_count: int
    alerts: list[AlertWithEvents]


class UpdatedAlerts(XdrModel):
    """Reply of ``alerts/update_alerts``: the ids XDR updated."""

    alerts_ids: list[int | str] = Field(default_factory=list)


class XqlResults(XdrModel):
    """Reply of ``xql/get_query_results``.

    ``status`` is PENDING, SUCCESS or FAIL. Up to 1,000 rows come in
    ``results.data``; a larger result comes as ``results.stream_id``.
    """

    status: str
    number_of_results: int | None = None
    query_cost: dict[str, Any] | None = None
    remaining_quota: float | None = None
    results: dict[str, Any] | None = None

    @field_validator("results")
    @classmethod
    def _rows_are_objects(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Refuse rows that are not a list of objects, or a stream id not text.

        ``rows`` and ``stream_id`` read them, so a reply of another shape is a bad
        reply here rather than a TypeError in the caller.
        """
        data = (value or {}).get("data")
        if data is not None and not (
            isinstance(data, list) and all(isinstance(row, dict) for row in data)
        ):
            raise ValueError("results.data must be a list of objects")
        stream_id = (value or {}).get("stream_id")
        if stream_id is not None and not isinstance(stream_id, str):
            raise ValueError("results.stream_id must be a string")

        return value

    @property
    def rows(self) -> list[dict[str, Any]]:
        """Return the result rows (empty while pending or when streamed)."""
        return list((self.results or {}).get("data") or [])

    @property
    def stream_id(self) -> str | None:
        """Return the stream id of a result over 1,000 rows."""
        return (self.results or {}).get("stream_id")


class XqlQuota(XdrModel):
    """Reply of ``xql/get_quota``: the tenant's query quota in compute units."""

    license_quota: float
    additional_purchased_quota: float = 0.0
    used_quota: float
    eval_quota: float = 0.0


class AlertByFilter(XdrModel):
    """One entry of ``alerts/get_alerts_by_filter_data``."""

    alert_fields: dict[str, Any]
    incident_fields: Any = None


class AlertsByFilter(XdrModel):
    """Reply of ``alerts/get_alerts_by_filter_data``."""

    result_count: int
    alerts: list[AlertByFilter]


class CorrelationAlertData(XdrModel):
    """Reply of ``alerts/get_correlation_alert_data`` (contributing events)."""

    events: list[dict[str, Any]]
    events_viewdef: dict[str, Any] | None = None
    investigation_link: str | None = None


class OriginalAlert(XdrModel):
    """One entry of ``alerts/get_original_alerts``; the alert is JSON text."""

    internal_id: int | str
    original_alert_json: str


class OriginalAlerts(XdrModel):
    """Reply of ``alerts/get_original_alerts``."""

    alerts: list[OriginalAlert]


class TenantInfo(XdrModel):
    """Reply of ``system/get_tenant_info``: licences and their expiry dates."""

    purchased_pro_per_endpoint: dict[str, Any] | None = None
    installed_prevent: int | None = None


class ErrorReply(XdrModel):
    """The ``reply`` of an XDR error."""

    err_code: int | str
    err_msg: str
    err_extra: Any = None
