"""XSOAR automation: hand the current Cortex XDR incident to the appliance.

Run it from a playbook task (or the war room) on an incident that the Cortex XDR
integration fetched. It posts the XDR incident id and modification time to the
appliance's webhook, signed with HMAC-SHA256 over "timestamp.body", and puts the
appliance's job id in the context under Appliance.Intake.

Import it together with ApplianceSendIncident.yml (Settings > Automations > Import).
"""

import hashlib
import hmac
import json
import time

import demistomock as demisto
import requests
from CommonServerPython import (
    CommandResults,
    argToBoolean,
    return_error,
    return_results,
)

WEBHOOK_PATH = "/api/v1/webhooks/xdr"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Return the X-Appliance-Signature value for body sent at timestamp."""
    message = timestamp.encode() + b"." + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return "sha256=" + digest


def xdr_incident_fields(args: dict) -> tuple:
    """Return the XDR incident id and modification time of this incident."""
    incident = demisto.incident() or {}
    custom = incident.get("CustomFields") or {}
    incident_id = (
        args.get("incident_id")
        or custom.get("xdrincidentid")
        or incident.get("dbotMirrorId")
    )
    modification_time = args.get("modification_time") or custom.get(
        "xdrmodificationtime"
    )
    return incident_id, modification_time


def main() -> None:
    """Send the incident to the appliance and report the job it queued."""
    args = demisto.args()
    incident_id, modification_time = xdr_incident_fields(args)
    if not incident_id:
        return_error("no Cortex XDR incident id: pass incident_id")
        return
    payload = {"incident_id": str(incident_id), "event": "xsoar_playbook"}
    if modification_time not in (None, ""):
        payload["modification_time"] = int(modification_time)
    body = json.dumps(payload).encode()
    timestamp = str(int(time.time()))
    url = args["appliance_url"].rstrip("/") + WEBHOOK_PATH
    try:
        response = requests.post(
            url,
            data=body,
            headers={
                "Content-Type": "application/json",
                "X-Appliance-Timestamp": timestamp,
                "X-Appliance-Signature": sign(args["webhook_secret"], timestamp, body),
            },
            timeout=float(args.get("timeout_seconds") or 10),
            verify=argToBoolean(args.get("verify_tls", "true")),
        )
    except requests.RequestException as exc:
        return_error(f"the appliance did not answer: {type(exc).__name__}")
        return
    if response.status_code != 202:
        # The appliance's error body holds no secrets; show its message.
        message = response.json().get("error", {}).get("message", response.text[:200])
        return_error(
            f"the appliance refused the incident ({response.status_code}): {message}"
        )
        return
    accepted = response.json()
    state = "queued" if accepted.get("created") else "already queued"
    return_results(
        CommandResults(
            outputs_prefix="Appliance.Intake",
            outputs_key_field="job_id",
            outputs=accepted,
            readable_output=(
                f"XDR incident {accepted['incident_id']} {state} "
                f"on the appliance as job {accepted['job_id']}."
            ),
        )
    )


if __name__ in ("__main__", "__builtin__", "builtins"):
    main()
