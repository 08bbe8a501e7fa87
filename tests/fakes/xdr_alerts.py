"""A factory of XDR alert objects for tests, in XDR's field names."""

from __future__ import annotations

import itertools
from typing import Any

_ids = itertools.count(1000)
BASE_MS = 1_780_000_000_000
MINUTE_MS = 60_000


def xdr_alert(minute: float = 0, **fields: Any) -> dict[str, Any]:
    """Return one endpoint alert ``minute`` minutes after a fixed start.

    Defaults describe an Execution alert on host ws-01 by CORP\\alice under
    WINWORD.EXE; keyword arguments override or add XDR fields.
    """
    alert: dict[str, Any] = {
        "alert_id": str(next(_ids)),
        "detection_timestamp": BASE_MS + int(minute * MINUTE_MS),
        "name": "Suspicious PowerShell Download",
        "description": "Detects a download cradle in a PowerShell command line.",
        "severity": "high",
        "host_name": "ws-01",
        "host_ip": "10.0.0.1",
        "user_name": "CORP\\alice",
        "causality_actor_process_image_name": "WINWORD.EXE",
        "mitre_tactic_id_and_name": ["TA0002 - Execution"],
        "mitre_technique_id_and_name": ["T1059.001 - PowerShell"],
    }
    alert.update(fields)

    return alert
