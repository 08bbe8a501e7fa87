"""What the sandbox answers to each Cortex XDR call, with XDR's limits.

Each handler takes the tenant and the call's ``request_data`` and returns the
``reply``, or raises :class:`CallRefused` with XDR's status and message.
"""

from __future__ import annotations

import copy
import re
import uuid
from collections.abc import Callable
from typing import Any

from appliance.xdr.calls import (
    MAX_ALERT_UPDATE_IDS,
    MAX_PAGE,
    MAX_PARSED_ALERTS,
    MAX_XQL_ROWS,
    IncidentStatus,
)
from appliance.xdr.sandbox_tenant import SandboxTenant, now_ms

ALERTS_LIMIT_PER_INCIDENT = 50
XQL_PARALLEL = 4
_XQL_START = re.compile(r"^\s*(dataset|preset|config|datamodel)\b", re.IGNORECASE)
_XQL_LIMIT = re.compile(r"\|\s*limit\s+(\d+)", re.IGNORECASE)
UPDATE_FIELDS = {
    "assigned_user_mail",
    "assigned_user_pretty_name",
    "unassign_user",
    "status",
    "manual_severity",
    "severity",
    "resolve_comment",
    "comment",
}


class CallRefused(Exception):
    """XDR refuses the call with this status, message and ``err_extra``."""

    def __init__(self, status: int, message: str, err_extra: Any = "") -> None:
        super().__init__(message)
        self.status = status
        self.err_extra = err_extra


def _page(data: dict[str, Any]) -> tuple[int, int]:
    """Return the requested window, refusing pages over 100."""
    start = int(data.get("search_from", 0))
    end = int(data.get("search_to", MAX_PAGE))
    if end - start > MAX_PAGE or end < start or start < 0:
        raise CallRefused(400, f"search_to - search_from must be 0..{MAX_PAGE}")
    return start, end


def _matches(record: dict[str, Any], filters: list[dict[str, Any]]) -> bool:
    """Apply XDR search filters (in, contains, gte, lte, eq, neq) to a record."""
    for flt in filters:
        name, operator, value = flt.get("field"), flt.get("operator"), flt.get("value")
        if name == "incident_id_list":
            name = "incident_id"
        if name == "alert_id_list":
            name = "alert_id"
        actual = record.get(str(name))
        if operator == "in":
            if str(actual) not in {str(v) for v in value or []}:
                return False
        elif operator == "contains":
            if str(value).lower() not in str(actual or "").lower():
                return False
        elif operator == "gte":
            if actual is None or actual < value:
                return False
        elif operator == "lte":
            if actual is None or actual > value:
                return False
        elif operator == "eq":
            if actual != value:
                return False
        elif operator == "neq":
            if actual == value:
                return False
        else:
            raise CallRefused(400, f"unknown filter operator {operator!r}")

    return True


def _sorted(
    records: list[dict[str, Any]], data: dict[str, Any]
) -> list[dict[str, Any]]:
    """Sort records as the request asks (default: creation time, newest first)."""
    sort = data.get("sort") or {"field": "creation_time", "keyword": "desc"}
    key = sort.get("field", "creation_time")
    return sorted(
        records,
        key=lambda r: (r.get(key) is None, r.get(key) or 0, str(r.get("incident_id"))),
        reverse=sort.get("keyword") == "desc",
    )


def get_incidents(tenant: SandboxTenant, data: dict[str, Any]) -> dict[str, Any]:
    """Answer ``incidents/get_incidents``."""
    start, end = _page(data)
    with tenant.lock:
        found = [
            copy.deepcopy(extra["incident"])
            for extra in tenant.incidents.values()
            if _matches(extra["incident"], data.get("filters") or [])
        ]
    found = _sorted(found, data)
    page = found[start:end]

    return {"total_count": len(found), "result_count": len(page), "incidents": page}


def _extra_data(extra: dict[str, Any], alerts_limit: int) -> dict[str, Any]:
    reply = copy.deepcopy(extra)
    reply["alerts"]["data"] = reply["alerts"]["data"][:alerts_limit]
    return reply


def get_incident_extra_data(
    tenant: SandboxTenant, data: dict[str, Any]
) -> dict[str, Any]:
    """Answer ``incidents/get_incident_extra_data``."""
    incident_id = str(data.get("incident_id", ""))
    with tenant.lock:
        extra = tenant.incidents.get(incident_id)
        if extra is None:
            raise CallRefused(500, f"Incident {incident_id} was not found")
        return _extra_data(extra, int(data.get("alerts_limit", 1000)))


def get_multiple_incidents_extra_data(
    tenant: SandboxTenant, data: dict[str, Any]
) -> dict[str, Any]:
    """Answer ``incidents/get_multiple_incidents_extra_data``."""
    page = get_incidents(tenant, data)
    with tenant.lock:
        incidents = [
            _extra_data(tenant.incidents[i["incident_id"]], ALERTS_LIMIT_PER_INCIDENT)
            for i in page["incidents"]
        ]
    return {
        "total_count": page["total_count"],
        "result_count": len(incidents),
        "alerts_limit_per_incident": ALERTS_LIMIT_PER_INCIDENT,
        "incidents": incidents,
    }


def update_incident(tenant: SandboxTenant, data: dict[str, Any]) -> bool:
    """Answer ``incidents/update_incident``; every accepted call counts as a write."""
    incident_id = str(data.get("incident_id", ""))
    update = data.get("update_data")
    if not isinstance(update, dict) or not update:
        raise CallRefused(400, "update_data is required")
    unknown = set(update) - UPDATE_FIELDS
    if unknown:
        raise CallRefused(400, f"unknown update_data fields {sorted(unknown)}")
    status = update.get("status")
    if status is not None and status not in {s.value for s in IncidentStatus}:
        raise CallRefused(400, f"invalid status {status!r}")
    comment = update.get("comment")
    if comment is not None and (
        not isinstance(comment, dict)
        or comment.get("comment_action") != "add"
        or not comment.get("value")
    ):
        raise CallRefused(400, 'comment must be {"comment_action": "add", "value": …}')
    with tenant.lock:
        extra = tenant.incidents.get(incident_id)
        if extra is None:
            raise CallRefused(500, f"Incident {incident_id} was not found")
        incident = extra["incident"]
        for name in ("assigned_user_mail", "assigned_user_pretty_name", "status"):
            if name in update:
                incident[name] = update[name]
        if "resolve_comment" in update:
            incident["resolve_comment"] = update["resolve_comment"]
        severity = update.get("manual_severity") or update.get("severity")
        if severity:
            incident["manual_severity"] = severity
            incident["severity"] = severity
        if comment is not None:
            tenant.comments[incident_id].append(comment["value"])
        tenant.writes[incident_id] += 1
        tenant.touch(incident_id)

    return True


def get_alerts_multi_events(
    tenant: SandboxTenant, data: dict[str, Any]
) -> dict[str, Any]:
    """Answer ``alerts/get_alerts_multi_events``."""
    start, end = _page(data)
    found = [a for a in tenant.all_alerts() if _matches(a, data.get("filters") or [])]
    page = []
    for alert in found[start:end]:
        entry = copy.deepcopy(alert)
        entry["events"] = [
            {
                "event_id": f"{alert['alert_id']}-1",
                "event_timestamp": alert.get("detection_timestamp"),
                "event_type": alert.get("event_type"),
                "agent_hostname": alert.get("host_name"),
                "actor_process_command_line": alert.get("actor_process_command_line"),
            }
        ]
        page.append(entry)

    return {"total_count": len(found), "result_count": len(page), "alerts": page}


def update_alerts(tenant: SandboxTenant, data: dict[str, Any]) -> dict[str, Any]:
    """Answer ``alerts/update_alerts`` (at most 100 ids)."""
    ids = [str(i) for i in data.get("alert_id_list") or []]
    if not ids or len(ids) > MAX_ALERT_UPDATE_IDS:
        raise CallRefused(400, f"alert_id_list must hold 1..{MAX_ALERT_UPDATE_IDS} ids")
    update = data.get("update_data") or {}
    updated = []
    with tenant.lock:
        for alert in tenant.all_alerts():
            if alert["alert_id"] in ids:
                if update.get("severity"):
                    alert["severity"] = update["severity"]
                if update.get("comment"):
                    alert["resolution_comment"] = update["comment"]
                tenant.updated_alerts[alert["alert_id"]] += 1
                updated.append(int(alert["alert_id"]))

    return {"alerts_ids": updated}


def insert_parsed_alerts(tenant: SandboxTenant, data: dict[str, Any]) -> bool:
    """Answer ``alerts/insert_parsed_alerts`` (at most 60 alerts)."""
    alerts = data.get("alerts") or []
    if not alerts or len(alerts) > MAX_PARSED_ALERTS:
        raise CallRefused(400, f"alerts must hold 1..{MAX_PARSED_ALERTS} alerts")
    with tenant.lock:
        tenant.inserted_alerts.extend(alerts)

    return True


def start_xql_query(tenant: SandboxTenant, data: dict[str, Any]) -> str:
    """Answer ``xql/start_xql_query``; a query must start with a data source."""
    query = str(data.get("query", ""))
    if not _XQL_START.match(query):
        raise CallRefused(
            500,
            "XQL query failed to parse",
            {"parse_err": {"line": 1, "column": 1, "message": "expected a source"}},
        )
    with tenant.lock:
        running = [q for q in tenant.xql_queries.values() if q["polls"] < 2]
        if len(running) >= XQL_PARALLEL:
            raise CallRefused(429, "Rate limit exceeded: 4 queries are running")
        query_id = f"{uuid.uuid4().hex[:14]}_inv"
        limit = _XQL_LIMIT.search(query)
        tenant.xql_queries[query_id] = {
            "rows": int(limit.group(1)) if limit else 100,
            "polls": 0,
        }

    return query_id


def get_query_results(tenant: SandboxTenant, data: dict[str, Any]) -> dict[str, Any]:
    """Answer ``xql/get_query_results``: PENDING once, then the rows or a stream id."""
    query = tenant.xql_queries.get(str(data.get("query_id")))
    if query is None:
        raise CallRefused(500, "query id not found")
    limit = int(data.get("limit", MAX_XQL_ROWS))
    if limit > MAX_XQL_ROWS:
        raise CallRefused(400, f"limit is at most {MAX_XQL_ROWS}")
    query["polls"] += 1
    if query["polls"] == 1:
        return {"status": "PENDING", "number_of_results": 0, "results": None}
    alerts = tenant.all_alerts() or [{}]
    count = query["rows"]
    cost = {"local_tenant": round(count / 10000, 4)}
    if count > MAX_XQL_ROWS:
        results: dict[str, Any] = {"stream_id": uuid.uuid4().hex}
    else:
        results = {
            "data": [
                {
                    "_time": alerts[n % len(alerts)].get("detection_timestamp"),
                    "agent_hostname": alerts[n % len(alerts)].get("host_name"),
                    "action_process_image_name": alerts[n % len(alerts)].get(
                        "actor_process_image_name"
                    ),
                }
                for n in range(min(count, limit))
            ]
        }
    return {
        "status": "SUCCESS",
        "number_of_results": count,
        "query_cost": cost,
        "remaining_quota": 1000.0,
        "results": results,
    }


def get_quota(tenant: SandboxTenant, data: dict[str, Any]) -> dict[str, Any]:
    """Answer ``xql/get_quota``."""
    return {
        "license_quota": 1000,
        "additional_purchased_quota": 0,
        "used_quota": 3.5,
        "eval_quota": 0,
        "updated_at": now_ms(),
    }


Handler = Callable[[SandboxTenant, dict[str, Any]], Any]

HANDLERS: dict[str, Handler] = {
    "incidents/get_incidents": get_incidents,
    "incidents/get_incident_extra_data": get_incident_extra_data,
    "incidents/get_multiple_incidents_extra_data": get_multiple_incidents_extra_data,
    "incidents/update_incident": update_incident,
    "alerts/get_alerts_multi_events": get_alerts_multi_events,
    "alerts/update_alerts": update_alerts,
    "alerts/insert_parsed_alerts": insert_parsed_alerts,
    "xql/start_xql_query": start_xql_query,
    "xql/get_query_results": get_query_results,
    "xql/get_quota": get_quota,
}
