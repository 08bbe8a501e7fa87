"""The Cortex XDR API client: typed calls, tenant rate limits, retries.

Every call is ``POST {base}/public_api/v1/{api}/{call}`` with ``{"request_data": …}``
and answers ``{"reply": …}``. The client waits for the tenant's rate limiter before
each try, retries 429, 5xx, "Rate limit exceeded", timeouts and dropped connections
with exponential backoff and jitter, and raises a typed :class:`XdrError` otherwise.
Keys, request bodies and replies are never logged.
"""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter, ValidationError

from appliance.config import Settings
from appliance.errors import ConfigError
from appliance.xdr import calls, models
from appliance.xdr.auth import auth_headers
from appliance.xdr.errors import (
    XdrBadReply,
    XdrError,
    XdrTransportError,
    error_for,
)
from appliance.xdr.ratelimit import TenantLimiter, limiter_for

logger = logging.getLogger(__name__)

R = TypeVar("R")
API_PREFIX = "/public_api/v1/"

_shared: dict[tuple[object, ...], XdrClient] = {}
_shared_lock = threading.Lock()


def _refuse_constant(name: str) -> Any:
    """Refuse the non-standard JSON constants Python's parser would accept."""
    raise ValueError(f"{name} is not valid JSON")


class XdrClient:
    """A client of one Cortex XDR tenant."""

    def __init__(
        self,
        base_url: str,
        api_key_id: str,
        api_key: str,
        *,
        key_type: str = "advanced",
        timeout: float = 30.0,
        limiter: TenantLimiter | None = None,
        max_attempts: int = 6,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key_id = api_key_id
        self._key = api_key
        self.key_type = key_type
        self.limiter = limiter or TenantLimiter(10.0, 10.0, 4)
        self.max_attempts = max(max_attempts, 1)
        self.backoff_base = backoff_base
        self.backoff_max = backoff_max
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=self.base_url, timeout=timeout, transport=transport
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> XdrClient:
        """Build the client of the configured tenant.

        Raises:
            ConfigError: the base URL, key id or key is not set.
        """
        if not (
            settings.xdr_base_url and settings.xdr_api_key_id and settings.xdr_api_key
        ):
            raise ConfigError(
                "APPLIANCE_XDR_BASE_URL, APPLIANCE_XDR_API_KEY_ID and "
                "APPLIANCE_XDR_API_KEY must be set to reach Cortex XDR"
            )
        return cls(
            settings.xdr_base_url,
            settings.xdr_api_key_id,
            settings.xdr_api_key,
            key_type=settings.xdr_key_type,
            timeout=settings.xdr_timeout_seconds,
            limiter=limiter_for(settings),
            max_attempts=settings.xdr_max_attempts,
            backoff_base=settings.xdr_backoff_base_seconds,
            backoff_max=settings.xdr_backoff_max_seconds,
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def __enter__(self) -> XdrClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    # --- the one path every call takes ------------------------------------------------

    def _delay(self, attempt: int) -> float:
        """Return the backoff before try ``attempt + 1``: half fixed, half jitter."""
        ceiling = min(self.backoff_max, self.backoff_base * 2 ** max(attempt - 1, 0))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _send_once(self, call: str, request_data: dict[str, Any]) -> Any:
        """Send one try of ``call`` and return its ``reply``, or raise XdrError."""
        self.limiter.acquire(call)
        headers = auth_headers(self._key_id, self._key, self.key_type)
        try:
            response = self._http.post(
                API_PREFIX + call, json={"request_data": request_data}, headers=headers
            )
        except httpx.TimeoutException as exc:
            raise XdrTransportError(f"Cortex XDR call {call} timed out") from exc
        except httpx.TransportError as exc:
            raise XdrTransportError(
                f"connection to Cortex XDR failed during {call}"
            ) from exc
        try:
            # NaN and Infinity are not JSON: XDR never sends them, and PostgreSQL's
            # JSON columns would refuse the stored snapshot on every retry.
            body = json.loads(response.content, parse_constant=_refuse_constant)
        except (ValueError, RecursionError):
            body = None
        if response.status_code == 200 and not isinstance(body, dict):
            # Not JSON (truncated, not UTF-8, too deep) or not an object: the same
            # shape fault as a reply that fails its model, not an XDR error reply.
            raise XdrBadReply(
                f"Cortex XDR answered {call} with a body that is not a JSON object"
            )
        if response.status_code != 200 or not isinstance(body, dict):
            raise error_for(response.status_code, body)
        if "reply" not in body:
            raise error_for(502, body)

        return body["reply"]

    def call(self, call: str, request_data: dict[str, Any]) -> Any:
        """Send ``call`` with retries and return its raw ``reply``.

        Raises:
            XdrError: the typed error of the last try.
        """
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                reply = self._send_once(call, request_data)
            except XdrError as exc:
                logger.warning(
                    "xdr call failed",
                    extra={
                        "xdr_call": call,
                        "attempt": attempt,
                        "error_code": exc.code,
                        "err_code": exc.err_code,
                    },
                )
                if not exc.retryable or attempt >= self.max_attempts:
                    raise
                self._sleep(self._delay(attempt))
                continue
            logger.debug(
                "xdr call succeeded",
                extra={
                    "xdr_call": call,
                    "attempt": attempt,
                    "duration_s": round(time.monotonic() - started, 3),
                },
            )
            return reply

    def _typed(self, call: str, request: BaseModel, reply_type: type[R]) -> R:
        """Send a request model and parse the reply into ``reply_type``."""
        data = request.model_dump(mode="json", exclude_none=True)
        reply = self.call(call, data)
        try:
            return TypeAdapter(reply_type).validate_python(reply)
        except ValidationError as exc:
            where = [
                {"loc": list(e["loc"]), "type": e["type"]}
                for e in exc.errors(include_url=False, include_input=False)[:20]
            ]
            raise XdrBadReply(
                f"Cortex XDR answered {call} with a reply of an unexpected shape",
                err_extra=where,
            ) from None

    # --- incidents --------------------------------------------------------------------

    def get_incidents(self, request: calls.GetIncidentsRequest) -> models.IncidentsPage:
        """Return one page (at most 100) of incidents."""
        return self._typed("incidents/get_incidents", request, models.IncidentsPage)

    def iter_incidents(
        self, filters: list[calls.Filter], sort: calls.Sort | None = None
    ) -> Iterator[models.Incident]:
        """Yield every incident that matches, a page of 100 at a time."""
        start = 0
        while True:
            page = self.get_incidents(
                calls.GetIncidentsRequest(
                    filters=filters,
                    search_from=start,
                    search_to=start + calls.MAX_PAGE,
                    sort=sort,
                )
            )
            yield from page.incidents
            start += len(page.incidents)
            if not page.incidents or start >= page.total_count:
                return

    def get_incident_extra_data(
        self, incident_id: str, alerts_limit: int = 1000
    ) -> models.IncidentExtraData:
        """Return an incident with its alerts and artifacts (10 calls a minute)."""
        request = calls.GetIncidentExtraDataRequest(
            incident_id=incident_id, alerts_limit=alerts_limit
        )
        return self._typed(
            "incidents/get_incident_extra_data", request, models.IncidentExtraData
        )

    def get_multiple_incidents_extra_data(
        self, request: calls.GetMultipleIncidentsExtraDataRequest
    ) -> models.MultipleIncidentsExtraData:
        """Return up to 100 incidents, each with its alerts and artifacts."""
        return self._typed(
            "incidents/get_multiple_incidents_extra_data",
            request,
            models.MultipleIncidentsExtraData,
        )

    def update_incident(self, request: calls.UpdateIncidentRequest) -> bool:
        """Change an incident (status, severity, assignee, resolve comment, comment)."""
        return self._typed("incidents/update_incident", request, bool)

    def add_incident_comment(self, incident_id: str, text: str) -> bool:
        """Add a comment to an incident through ``update_data.comment``."""
        request = calls.UpdateIncidentRequest(
            incident_id=incident_id,
            update_data=calls.UpdateIncidentData(comment=calls.Comment(value=text)),
        )
        return self.update_incident(request)

    # --- alerts -----------------------------------------------------------------------

    def get_alerts_multi_events(
        self, request: calls.GetAlertsMultiEventsRequest
    ) -> models.AlertsMultiEvents:
        """Return one page of alerts with all their events."""
        return self._typed(
            "alerts/get_alerts_multi_events", request, models.AlertsMultiEvents
        )

    def update_alerts(
        self, alert_ids: list[str], update: calls.UpdateAlertsData
    ) -> list[str]:
        """Update alerts in batches of at most 100; return the ids XDR updated."""
        updated: list[str] = []
        for start in range(0, len(alert_ids), calls.MAX_ALERT_UPDATE_IDS):
            batch = alert_ids[start : start + calls.MAX_ALERT_UPDATE_IDS]
            reply = self._typed(
                "alerts/update_alerts",
                calls.UpdateAlertsRequest(alert_id_list=batch, update_data=update),
                models.UpdatedAlerts,
            )
            updated.extend(str(alert_id) for alert_id in reply.alerts_ids)

        return updated

    def insert_parsed_alerts(self, alerts: list[calls.ParsedAlert]) -> int:
        """Insert alerts in batches of at most 60; return how many were sent."""
        for start in range(0, len(alerts), calls.MAX_PARSED_ALERTS):
            batch = alerts[start : start + calls.MAX_PARSED_ALERTS]
            self.call(
                "alerts/insert_parsed_alerts",
                calls.InsertParsedAlertsRequest(alerts=batch).model_dump(
                    mode="json", exclude_none=True
                ),
            )

        return len(alerts)

    # --- XQL --------------------------------------------------------------------------

    def start_xql_query(self, request: calls.StartXqlQueryRequest) -> str:
        """Start a query once one of the 4 parallel slots is free; return its id."""
        self.limiter.xql.reserve()
        query_id: str | None = None
        try:
            query_id = self._typed("xql/start_xql_query", request, str)
        finally:
            self.limiter.xql.started(query_id)

        return query_id

    def get_query_results(
        self, request: calls.GetQueryResultsRequest
    ) -> models.XqlResults:
        """Return a query's status and rows; a finished query frees its slot."""
        results = self._typed("xql/get_query_results", request, models.XqlResults)
        if results.status.upper() != "PENDING":
            self.limiter.xql.finished(request.query_id)

        return results

    def get_quota(self) -> models.XqlQuota:
        """Return the tenant's XQL quota."""
        return self._typed("xql/get_quota", calls.GetQuotaRequest(), models.XqlQuota)


def shared_client(settings: Settings) -> XdrClient:
    """Return this process's client of the configured tenant, built once.

    Building a client sets up a TLS context, which costs more than a call; job
    handlers and duties share one client (its connection pool is thread-safe).
    """
    key = (
        settings.xdr_base_url,
        settings.xdr_api_key_id,
        settings.xdr_api_key,
        settings.xdr_key_type,
        settings.xdr_timeout_seconds,
        settings.xdr_max_attempts,
        settings.xdr_backoff_base_seconds,
        settings.xdr_backoff_max_seconds,
        settings.tenant,
    )
    with _shared_lock:
        client = _shared.get(key)
        if client is None:
            client = XdrClient.from_settings(settings)
            _shared[key] = client

    return client
