"""Request models of the Cortex XDR calls the appliance makes, with XDR's limits.

Each model is the ``request_data`` of one call and refuses what XDR would refuse
(unknown fields, pages over 100, batches over the documented size), so a mistake
fails here, before a rate-limited request is spent on it.
"""

from __future__ import annotations

import enum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

MAX_PAGE = 100
MAX_ALERT_UPDATE_IDS = 100
MAX_PARSED_ALERTS = 60
MAX_XQL_ROWS = 1000


class IncidentStatus(enum.StrEnum):
    """Status values an incident can take in XDR."""

    NEW = "new"
    UNDER_INVESTIGATION = "under_investigation"
    RESOLVED_THREAT_HANDLED = "resolved_threat_handled"
    RESOLVED_KNOWN_ISSUE = "resolved_known_issue"
    RESOLVED_DUPLICATE = "resolved_duplicate"
    RESOLVED_FALSE_POSITIVE = "resolved_false_positive"
    RESOLVED_TRUE_POSITIVE = "resolved_true_positive"
    RESOLVED_SECURITY_TESTING = "resolved_security_testing"
    RESOLVED_OTHER = "resolved_other"
    RESOLVED_AUTO = "resolved_auto"


Severity = Literal["critical", "high", "medium", "low", "informational"]


class CallModel(BaseModel):
    """Base of request models: unknown fields are a mistake."""

    model_config = ConfigDict(extra="forbid")


class Filter(CallModel):
    """One filter of a search call (``field`` ``operator`` ``value``)."""

    field: str
    operator: Literal["in", "contains", "gte", "lte", "eq", "neq"]
    value: Any


class Sort(CallModel):
    """Sort order of a search call."""

    field: str
    keyword: Literal["asc", "desc"] = "asc"


class SearchRequest(CallModel):
    """A paged search: filters, a window of at most 100 results and a sort."""

    filters: list[Filter] = Field(default_factory=list)
    search_from: int = Field(default=0, ge=0)
    search_to: int = Field(default=MAX_PAGE, ge=0)
    sort: Sort | None = None

    @model_validator(mode="after")
    def _page_at_most_100(self) -> SearchRequest:
        if self.search_to - self.search_from > MAX_PAGE:
            raise ValueError(f"a page holds at most {MAX_PAGE} results")
        if self.search_to < self.search_from:
            raise ValueError("search_to is before search_from")
        return self


class GetIncidentsRequest(SearchRequest):
    """``incidents/get_incidents``."""


class GetMultipleIncidentsExtraDataRequest(SearchRequest):
    """``incidents/get_multiple_incidents_extra_data``."""


class GetAlertsMultiEventsRequest(SearchRequest):
    """``alerts/get_alerts_multi_events``."""


class GetIncidentExtraDataRequest(CallModel):
    """``incidents/get_incident_extra_data``."""

    incident_id: str
    alerts_limit: int = Field(default=1000, ge=1, le=1000)


class Comment(CallModel):
    """A comment added to an incident through ``update_data.comment``."""

    comment_action: Literal["add"] = "add"
    value: str = Field(min_length=1)


class UpdateIncidentData(CallModel):
    """What ``incidents/update_incident`` changes; absent fields stay as they are."""

    assigned_user_mail: str | None = None
    assigned_user_pretty_name: str | None = None
    unassign_user: Literal["true"] | None = None
    status: IncidentStatus | None = None
    manual_severity: Severity | None = None
    resolve_comment: str | None = None
    comment: Comment | None = None


class UpdateIncidentRequest(CallModel):
    """``incidents/update_incident``."""

    incident_id: str
    update_data: UpdateIncidentData


class UpdateAlertsData(CallModel):
    """What ``alerts/update_alerts`` changes."""

    severity: Severity | None = None
    status: IncidentStatus | None = None
    comment: str | None = None


class UpdateAlertsRequest(CallModel):
    """``alerts/update_alerts``: at most 100 alert ids a call."""

    alert_id_list: list[str] = Field(min_length=1, max_length=MAX_ALERT_UPDATE_IDS)
    update_data: UpdateAlertsData


class ParsedAlert(CallModel):
    """One alert for ``alerts/insert_parsed_alerts``."""

    product: str
    vendor: str
    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int
    event_timestamp: int
    severity: Literal["Informational", "Low", "Medium", "High", "Unknown"] = "Medium"
    alert_name: str
    alert_description: str | None = None
    action_status: str | None = None


class InsertParsedAlertsRequest(CallModel):
    """``alerts/insert_parsed_alerts``: at most 60 alerts a call."""

    alerts: list[ParsedAlert] = Field(min_length=1, max_length=MAX_PARSED_ALERTS)


class StartXqlQueryRequest(CallModel):
    """``xql/start_xql_query``; ``timeframe`` is relativeTime or from/to, in ms."""

    query: str = Field(min_length=1)
    tenants: list[str] | None = None
    timeframe: dict[str, int] | None = None


class GetQueryResultsRequest(CallModel):
    """``xql/get_query_results``; over 1,000 rows comes back as a stream id."""

    query_id: str
    pending_flag: bool = True
    limit: int = Field(default=MAX_XQL_ROWS, ge=1, le=MAX_XQL_ROWS)
    format: Literal["json", "csv"] = "json"


class GetQuotaRequest(CallModel):
    """``xql/get_quota`` takes no fields."""
