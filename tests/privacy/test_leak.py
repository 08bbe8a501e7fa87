"""Planted personal data never reaches a prompt, a log line or an audit row."""

from __future__ import annotations

import copy
import json
import logging

import pytest
from sqlalchemy import select

from appliance.db.engine import Database
from appliance.db.tables import AuditEvent
from appliance.governance import audit
from appliance.privacy import service
from appliance.privacy.scrubber import Scrubber, build_prompt
from tests.conftest import SHARED
from tests.fakes.echo_model import EchoModel

FIXTURE = SHARED / "fixtures" / "xdr" / "get_extra_data_all_alerts.json"

# Restored in the write-back: the analyst must see who and what.
PLANTED = {
    "host": "FIN-WS-0420",
    "user": "tgreenwood",
    "domain_user": "ACME\\lpetrova",
    "internal_ip": "10.44.3.17",
    "email": "olga.petrova@example.org",
    "upn": "mchen@acme.local",
    "phone": "+44 20 7946 0958",
    "person": "Daniel Okafor",
    "cmd_person": "Rebecca Lindqvist",
    "path_user": "hwatanabe",
    "unix_user": "fbrennan",
    "card": "4111 1111 1111 1111",
    "national_id": "536-90-4412",
}
# Redacted by default: never shown again, not even in the write-back.
SECRETS = {
    "password_flag": "Tr0ub4dor&3",
    "password_eq": "CorrectHorse9",
    "bearer": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjMifQ.c2lnbmF0dXJl",
    "conn": "Pa55w0rdSql",
}


def planted_alerts() -> list[dict[str, object]]:
    """Alerts of the fixture's full schema with planted data in every field type."""
    reply = json.loads(FIXTURE.read_text(encoding="utf-8"))["reply"]
    alerts = []
    for template in reply["alerts"]["data"]:
        alert = copy.deepcopy(template)
        alert.update(
            {
                "host_name": PLANTED["host"],
                "user_name": PLANTED["domain_user"],
                "host_ip": PLANTED["internal_ip"],
                "action_local_ip": PLANTED["internal_ip"],
                "action_remote_ip": "185.199.108.153",
                "actor_process_command_line": (
                    f"powershell.exe -File C:\\Users\\{PLANTED['path_user']}\\run.ps1"
                    f" -p {SECRETS['password_flag']}"
                    f" --password={SECRETS['password_eq']}"
                ),
                "causality_actor_process_command_line": (
                    f'curl -H "Authorization: Bearer {SECRETS["bearer"]}" '
                    f"-d 'owner={PLANTED['cmd_person']}' https://api.example.net"
                ),
                "action_process_image_command_line": (
                    f"sqlcmd -S db01 -Q x Server=db01;User Id=sa;"
                    f"Password={SECRETS['conn']};"
                ),
                "action_file_path": f"/home/{PLANTED['unix_user']}/.bash_history",
                "description": (
                    f"{PLANTED['person']} ({PLANTED['email']}, {PLANTED['phone']}) "
                    f"reported {PLANTED['host']}; user {PLANTED['user']} and "
                    f"{PLANTED['upn']} used card {PLANTED['card']}, "
                    f"SSN {PLANTED['national_id']}. Technique T1059.001."
                ),
                "os_actor_effective_username": PLANTED["user"],
            }
        )
        alerts.append(alert)

    return alerts


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG)
    return caplog


def test_nothing_planted_leaks_and_everything_is_restored(
    scrubber: Scrubber, db: Database, settings, captured: pytest.LogCaptureFixture
) -> None:
    model = EchoModel()
    alerts = planted_alerts()

    with db.session() as session:
        vault = service.incident_vault(session, settings, scrubber, "INC-2")
        prompt = build_prompt(
            scrubber,
            vault,
            [("system", "Summarize the incident."), ("user", "Alerts:\n{{ alerts }}")],
            {"alerts": alerts},
        )
        service.store_vault(session, settings, vault)
        # What the model-call record keeps: the hash and the entity counts.
        audit.record(
            session,
            actor="worker:test",
            action="llm.generate",
            outcome="success",
            target="incident:INC-2",
            details={"prompt_sha256": prompt.sha256, "entities": prompt.entities},
        )
    answer = model.generate(prompt)
    with db.session() as session:
        vault = service.incident_vault(session, settings, scrubber, "INC-2")
    write_back = scrubber.restore(answer, vault)

    prompt_text = json.dumps(prompt.as_openai(), ensure_ascii=False)
    with db.read_session() as session:
        audit_text = json.dumps(
            [
                [e.action, e.target, e.details]
                for e in session.scalars(select(AuditEvent))
            ]
        )
    log_text = "\n".join(
        json.dumps(vars(r), default=str, ensure_ascii=False) for r in captured.records
    )
    plain = {**PLANTED, **SECRETS, "user_part": "lpetrova"}
    for name, value in plain.items():
        for where, text in [("prompt", prompt_text), ("audit", audit_text)]:
            assert value not in text.replace("\\\\", "\\"), (name, where)
            assert value not in text, (name, where)
        assert value not in log_text, (name, "log")
    for name, value in PLANTED.items():
        if name == "domain_user":
            value = "lpetrova"
        assert value in write_back, name
    for value in SECRETS.values():
        assert value not in write_back
    assert "T1059.001" in prompt_text
    assert "185.199.108.153" in prompt_text
    assert set(prompt.entities) >= {
        "HOST_NAME",
        "USER_NAME",
        "INTERNAL_IP",
        "EMAIL_ADDRESS",
        "PHONE_NUMBER",
        "PERSON",
        "CREDIT_CARD",
        "NATIONAL_ID",
        "SECRET",
    }


def test_same_incident_same_tokens_next_time(
    scrubber: Scrubber, db: Database, settings
) -> None:
    with db.session() as session:
        first = service.incident_vault(session, settings, scrubber, "INC-3")
        one = scrubber.scrub({"user_name": "tgreenwood"}, first).data
        service.store_vault(session, settings, first)
    with db.session() as session:
        again = service.incident_vault(session, settings, scrubber, "INC-3")
        two = scrubber.scrub({"user_name": "tgreenwood"}, again).data

    assert one == two
