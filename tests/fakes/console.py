"""Rows the admin console shows: an incident in context, an AI output, approvals."""

from __future__ import annotations

import datetime as dt

from appliance.config import Settings
from appliance.db.base import utcnow
from appliance.db.engine import Database
from appliance.enrich.tables import IncidentEnrichment
from appliance.governance import impact, phases
from appliance.governance.gate import WriteBackRequest
from appliance.jobs import queue
from appliance.retrieval.tables import PastIncident
from appliance.tasks.tables import TaskResultRecord
from appliance.xdr.tables import XdrAlert, XdrIncident
from appliance.xdr.writeback import queue_write_back

INCIDENT_ID = "4242"


TECHNIQUE = "T1059.001 - Command and Scripting Interpreter: PowerShell"


def seed_incident(db: Database, settings: Settings, alert_name: str) -> int:
    """Store an incident with one alert named ``alert_name`` and one AI output.

    Its enrichment and a closed incident sharing its technique are stored too.
    """
    alert = {
        "alert_id": "a-1",
        "detection_timestamp": 1_700_000_000_000,
        "name": alert_name,
        "severity": "medium",
        "category": "Execution",
        "host_name": "host-7",
        "user_name": "CORP\\jdoe",
        "mitre_technique_id_and_name": [TECHNIQUE],
        "mitre_tactic_id_and_name": ["TA0002 - Execution"],
        "actor_process_image_name": "powershell.exe",
        "actor_process_command_line": "powershell -enc SQBFAFgA",
    }
    with db.session() as session:
        session.add(
            XdrIncident(
                tenant=settings.tenant,
                incident_id=INCIDENT_ID,
                modification_time=1,
                status="new",
                severity="medium",
                name="Suspicious PowerShell on host-7",
                alert_count=1,
                incident={
                    "incident_id": INCIDENT_ID,
                    "incident_name": "Suspicious PowerShell on host-7",
                    "severity": "medium",
                    "status": "new",
                    "creation_time": 1_700_000_000_000,
                    "hosts": ["host-7:abc123"],
                    "alert_count": 1,
                },
                fetched_at=utcnow(),
            )
        )
        session.add(
            XdrAlert(
                tenant=settings.tenant,
                incident_id=INCIDENT_ID,
                alert_id="a-1",
                detection_timestamp=alert["detection_timestamp"],
                severity="medium",
                name=alert_name,
                category="Execution",
                host_name="host-7",
                mitre_technique=TECHNIQUE,
                data=alert,
            )
        )
        session.add(
            IncidentEnrichment(
                tenant=settings.tenant,
                incident_id=INCIDENT_ID,
                context={
                    "incident_id": INCIDENT_ID,
                    "tenant": settings.tenant,
                    "asset_criticality": "high",
                    "business_unit_impact": "finance",
                    "sources": [
                        {
                            "source": "cmdb-file",
                            "kind": "asset",
                            "status": "ok",
                            "findings": [{"host": "host-7", "owner": "finance-it"}],
                        },
                        {
                            "source": "threat-intel",
                            "kind": "intel",
                            "status": "failed",
                            "error": "feed file missing",
                            "findings": [],
                        },
                    ],
                },
            )
        )
        session.add(
            PastIncident(
                tenant=settings.tenant,
                incident_id="4100",
                closed_at=utcnow(),
                summary="Admin script ran encoded PowerShell; benign.",
                techniques=["T1059.001"],
                resolution="resolved_false_positive",
            )
        )
        output = TaskResultRecord(
            tenant=settings.tenant,
            incident_id=INCIDENT_ID,
            task="triage",
            source="model",
            confidence=0.82,
            ai_generated=True,
            result={"verdict": "true_positive"},
            evidence_ids=["alert:a-1", "host:host-7"],
            model_name="smollm2-135m",
            prompt_version="triage-v1",
        )
        session.add(output)
        session.flush()
        return output.id


def seed_approval(db: Database, settings: Settings) -> int:
    """Queue a closure through the write-back path in the suggest phase.

    The gate holds the change for a human, so it becomes a pending approval with an
    outbox row waiting on it; returns the approval id.
    """
    with db.session() as session:
        phases.set_phase(
            session,
            settings,
            tenant=settings.tenant,
            task="closure",
            phase="suggest",
            actor="seed",
        )
        entry = queue_write_back(
            session,
            settings,
            WriteBackRequest(
                tenant=settings.tenant,
                task="closure",
                kind="status",
                incident_id=INCIDENT_ID,
                incident_severity="medium",
                confidence=0.9,
                details={
                    "status": "resolved_false_positive",
                    "evidence_ids": ["alert:a-1"],
                },
            ),
            idempotency_key=f"closure:{INCIDENT_ID}:1",
            change={"status": "resolved_false_positive"},
            text="Benign admin script seen 40 times.",
            correlation_id="seed-approval",
        )
        assert entry.approval_id is not None, entry.reason
        return entry.approval_id


def seed_activity(db: Database, settings: Settings, jobs: int = 3) -> None:
    """Queue some jobs and record an AI result 12 minutes after its incident began."""
    with db.session() as session:
        for n in range(jobs):
            queue.enqueue(session, "incident.analyze", {"incident_id": f"q-{n}"})
        impact.note_incident(
            session,
            tenant=settings.tenant,
            incident_id=INCIDENT_ID,
            incident_created_at=utcnow() - dt.timedelta(minutes=12),
        )
        impact.note_ai_result(
            session,
            tenant=settings.tenant,
            incident_id=INCIDENT_ID,
            task="triage",
            incident_created_at=utcnow() - dt.timedelta(minutes=12),
        )
