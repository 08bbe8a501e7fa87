"""Turn an accepted connector webhook into one ingest job."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from appliance.config import Settings
from appliance.db.engine import Database
from appliance.jobs import queue
from appliance.xdr.ingest import INGEST_KIND, ingest_key

logger = logging.getLogger(__name__)


class XdrWebhook(BaseModel):
    """What a connector posts: an incident id, or an incident object.

    The incident may come as ``{"incident_id": …, "modification_time": …}``, as
    ``{"incident": {…}}`` (an XDR incident or extra-data reply), or flattened. Only
    the id and the modification time are read; the appliance fetches the incident
    itself from XDR.
    """

    model_config = ConfigDict(extra="allow")

    incident_id: str = Field(min_length=1, max_length=64)
    modification_time: int | None = None
    event: str | None = Field(default=None, max_length=64)

    @model_validator(mode="before")
    @classmethod
    def _lift_nested_incident(cls, data: Any) -> Any:
        if isinstance(data, dict) and "incident_id" not in data:
            nested = data.get("incident")
            if isinstance(nested, dict) and "incident_id" in nested:
                lifted = dict(data)
                lifted["incident_id"] = str(nested["incident_id"])
                lifted.setdefault("modification_time", nested.get("modification_time"))
                return lifted
        if isinstance(data, dict) and isinstance(data.get("incident_id"), int):
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
            correlation_id=f"webhook:{webhook.incident_id}",
        )
        job_id = job.id
    logger.info(
        "xdr webhook accepted",
        extra={"incident_id": webhook.incident_id, "job_id": job_id, "new": created},
    )

    return Accepted(job_id=job_id, incident_id=webhook.incident_id, created=created)
