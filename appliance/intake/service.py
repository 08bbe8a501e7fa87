"""Turn an accepted connector webhook into one ingest job."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.jobs import queue
from appliance.xdr.ingest import INGEST_KIND, ingest_key, ingest_max_attempts

logger = logging.getLogger(__name__)


def _is_id(value: Any) -> bool:
    """Whether ``value`` can be an incident id: a string or a number, not a bool."""
    return isinstance(value, str | int) and not isinstance(value, bool)


class XdrWebhook(BaseModel):
    """What a connector posts: an incident id, or an incident object.

    The incident may come as ``{"incident_id": …, "modification_time": …}``, as
    ``{"incident": {…}}`` (an XDR incident or extra-data reply), or flattened. Only
    the id and the modification time are read; the appliance fetches the incident
    itself from XDR.
    """

    model_config = ConfigDict(extra="allow")

    # XDR incident ids are numbers; letters and ``_.:-`` leave room for other
    # sources, while control characters, spaces and markup are refused outright.
    incident_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    # Milliseconds since the epoch; bounded so the job's idempotency key stays short.
    modification_time: int | None = Field(default=None, ge=0, lt=2**63)
    event: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _lift_nested_incident(cls, data: Any) -> Any:
        if isinstance(data, dict) and "incident_id" not in data:
            nested = data.get("incident")
            if isinstance(nested, dict) and _is_id(nested.get("incident_id")):
                lifted = dict(data)
                lifted["incident_id"] = str(nested["incident_id"])
                lifted.setdefault("modification_time", nested.get("modification_time"))
                return lifted
        if isinstance(data, dict) and _is_id(data.get("incident_id")):
            return {**data, "incident_id": str(data["incident_id"])}
        return data


class Accepted(BaseModel):
    """The answer to an accepted webhook: the job that will fetch the incident."""

    job_id: int
    incident_id: str
    created: bool


def accept(
    db: Database, settings: Settings, webhook: XdrWebhook, sent_at: int
) -> Accepted:
    """Enqueue the ingest job of a webhook, once per incident and modification time.

    Without a modification time, the signed timestamp stands in for it: a replay of
    the same request inside the window is then a duplicate too.
    """
    version = (
        webhook.modification_time
        if webhook.modification_time is not None
        else f"ts{sent_at}"
    )
    key = ingest_key(settings.tenant, webhook.incident_id, version)
    with db.session() as session:
        job, created = queue.enqueue(
            session,
            INGEST_KIND,
            {"incident_id": webhook.incident_id, "source": "webhook"},
            idempotency_key=key,
            max_attempts=ingest_max_attempts(settings),
            correlation_id=f"webhook:{webhook.incident_id}",
        )
        job_id = job.id
    logger.info(
        "xdr webhook accepted",
        extra={"incident_id": webhook.incident_id, "job_id": job_id, "new": created},
    )

    return Accepted(job_id=job_id, incident_id=webhook.incident_id, created=created)
