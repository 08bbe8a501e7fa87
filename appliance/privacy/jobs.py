"""Job kinds of the privacy domain."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from appliance.db.base import utcnow
from appliance.governance import audit
from appliance.jobs.registry import JobContext, job_handler
from appliance.privacy.tables import PseudonymVaultRecord
from appliance.privacy.vault_store import purge_expired


@job_handler("privacy.purge_vaults")
def purge_vaults(ctx: JobContext) -> dict[str, Any]:
    """Delete the pseudonym vaults past ``APPLIANCE_VAULT_RETENTION_DAYS``.

    The deletion and its audit row happen in the transaction that completes the
    job, so a job retried after a lost lease records one purge, not two.
    """
    cutoff = utcnow()
    with ctx.db.read_session() as session:
        expired = session.scalar(
            select(func.count())
            .select_from(PseudonymVaultRecord)
            .where(PseudonymVaultRecord.expires_at <= cutoff)
        )

    def purge(session: Session) -> None:
        purged = purge_expired(session, cutoff)
        audit.record(
            session,
            actor=f"worker:{ctx.worker_id}",
            action="privacy.purge_vaults",
            outcome="success",
            tenant=ctx.settings.tenant,
            target=f"job:{ctx.job_id}",
            correlation_id=ctx.correlation_id,
            details={"purged": purged},
        )

    ctx.defer(purge)

    return {"expired": int(expired or 0), "cutoff": cutoff.isoformat()}
