"""The XDR readiness check."""

from __future__ import annotations

from dataclasses import replace

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.xdr.readiness import check_xdr
from appliance.xdr.tables import OutboxEntry, OutboxState


def configured(settings: Settings) -> Settings:
    return replace(
        settings,
        xdr_base_url="http://127.0.0.1:9",
        xdr_api_key_id="1",
        xdr_api_key="k",
    )


def test_unconfigured_xdr_is_degraded(settings: Settings, db: Database) -> None:
    check = check_xdr(db, settings)

    assert (check.status, check.detail) == (
        "degraded",
        "Cortex XDR API is not configured",
    )


def test_failed_write_back_is_reported(settings: Settings, db: Database) -> None:
    with db.session() as session:
        session.add(
            OutboxEntry(
                idempotency_key="k",
                tenant="t",
                incident_id="1",
                task="triage",
                kind="comment",
                update_data={},
                state=OutboxState.FAILED,
                verdict="send",
                reason="r",
                next_attempt_at=utcnow(),
            )
        )

    check = check_xdr(db, configured(settings))

    assert check.status == "degraded"
    assert check.data["outbox"] == {"failed": 1}


def test_stale_poller_is_reported(settings: Settings, db: Database) -> None:
    assert check_xdr(db, configured(settings)).status == "ok"

    polling = replace(configured(settings), poll_enabled=True)
    assert check_xdr(db, polling).detail == "the poller has not run recently"


def test_readyz_lists_the_xdr_check(client) -> None:  # type: ignore[no-untyped-def]
    names = [c["name"] for c in client.get("/readyz").get_json()["checks"]]

    assert "xdr" in names
