from sqlalchemy import select

from appliance.auth.roles import Role
from appliance.auth.tables import ApiKey
from appliance.db.tables import AuditEvent
from appliance.governance.tables import Approval, Feedback, RolloutSetting
from appliance.xdr.tables import OutboxEntry, OutboxState
from tests.admin.conftest import post_form, sign_in
from tests.fakes.console import INCIDENT_ID, seed_approval, seed_incident

PAGES = {
    "/admin/": Role.VIEWER,
    "/admin/incidents": Role.VIEWER,
    f"/admin/incidents/{INCIDENT_ID}": Role.VIEWER,
    "/admin/approvals": Role.VIEWER,
    "/admin/models": Role.VIEWER,
    "/admin/audit": Role.ADMIN,
    "/admin/settings": Role.ADMIN,
    "/admin/settings/phases": Role.ADMIN,
    "/admin/settings/keys": Role.ADMIN,
    "/admin/settings/users": Role.ADMIN,
}


def test_every_page_renders_for_its_role_and_refuses_lesser_ones(as_role, db, settings):
    seed_incident(db, settings, "Encoded PowerShell")
    clients = {role: as_role(role) for role in Role}
    for url, needed in PAGES.items():
        for role, client in clients.items():
            answer = client.get(url)
            expected = 200 if role.allows(needed) else 403
            assert answer.status_code == expected, (url, role)
            assert answer.mimetype == "text/html"


def test_anonymous_gets_a_sign_in_link_and_no_cookie(client):
    answer = client.get("/admin/approvals")

    assert answer.status_code == 401
    assert "/admin/login?next=/admin/approvals" in answer.get_data(as_text=True)
    assert "Set-Cookie" not in answer.headers


def test_wrong_password_is_refused_and_the_form_needs_its_csrf_token(
    app, accounts, client
):
    assert sign_in(client, "admin", "not the password").status_code == 401
    forged = app.test_client()
    forged.get("/admin/login")
    answer = forged.post(
        "/admin/login", data={"username": "admin", "password": "x" * 30}
    )
    assert answer.status_code == 403


def test_sign_out_ends_the_session(as_role):
    client = as_role(Role.VIEWER)
    answer = post_form(client, "/admin/logout", "/admin/", {})

    assert answer.status_code == 303
    assert client.get("/admin/").status_code == 401


def test_alert_names_are_escaped(as_role, db, settings):
    seed_incident(db, settings, '<script>alert("x")</script>')
    html = (
        as_role(Role.VIEWER)
        .get(f"/admin/incidents/{INCIDENT_ID}")
        .get_data(as_text=True)
    )

    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(" in html


def test_incident_page_shows_outputs_with_confidence_evidence_and_label(
    as_role, db, settings
):
    seed_incident(db, settings, "Encoded PowerShell")
    html = (
        as_role(Role.VIEWER)
        .get(f"/admin/incidents/{INCIDENT_ID}")
        .get_data(as_text=True)
    )

    assert "Confidence 0.82" in html
    assert "alert:a-1" in html and "host:host-7" in html
    assert "AI-generated" in html
    assert "Send feedback" not in html  # viewers cannot rate


def test_incident_page_shows_evidence_pack_enrichment_and_similar_incidents(
    as_role, db, settings
):
    seed_incident(db, settings, "Encoded PowerShell")
    html = (
        as_role(Role.VIEWER)
        .get(f"/admin/incidents/{INCIDENT_ID}")
        .get_data(as_text=True)
    )

    assert "<code>AL1</code>" in html and "<code>TE1</code>" in html
    assert "T1059.001" in html and "host-7" in html
    assert "cmdb-file" in html and "feed file missing" in html
    assert "<code>CX1</code>" in html
    assert "4100" in html and "resolved_false_positive" in html


def test_analyst_gives_feedback(as_role, db, settings):
    output_id = seed_incident(db, settings, "Encoded PowerShell")
    client = as_role(Role.ANALYST)
    answer = post_form(
        client,
        f"/admin/outputs/{output_id}/feedback",
        f"/admin/incidents/{INCIDENT_ID}",
        {"rating": "inaccurate", "reason": "wrong host"},
    )

    assert answer.status_code == 303
    with db.read_session() as session:
        row = session.scalars(select(Feedback)).one()
    assert (row.rating, row.actor, row.output_id) == (
        "inaccurate",
        "analyst",
        str(output_id),
    )


def test_analyst_approves_and_rejects_with_a_comment(as_role, db, settings):
    seed_incident(db, settings, "Encoded PowerShell")
    approval_id = seed_approval(db, settings)
    client = as_role(Role.ANALYST)
    answer = post_form(
        client,
        f"/admin/approvals/{approval_id}/decide",
        "/admin/approvals",
        {"decision": "approve", "comment": "checked the host"},
    )

    assert answer.status_code == 303
    with db.read_session() as session:
        row = session.get(Approval, approval_id)
        assert row is not None
        assert (row.state, row.decided_by, row.comment) == (
            "approved",
            "analyst",
            "checked the host",
        )
        released = session.get(OutboxEntry, int(row.applied_ref or 0))
        assert released is not None and released.state == OutboxState.QUEUED
    again = post_form(
        client,
        f"/admin/approvals/{approval_id}/decide",
        "/admin/approvals",
        {"decision": "reject", "comment": "late"},
    )
    assert again.status_code == 409
    assert "approval" in again.get_data(as_text=True)


def test_viewer_cannot_approve(as_role, db, settings):
    approval_id = seed_approval(db, settings)
    client = as_role(Role.VIEWER)
    assert "Approve</button>" not in client.get("/admin/approvals").get_data(
        as_text=True
    )
    answer = post_form(
        client,
        f"/admin/approvals/{approval_id}/decide",
        "/admin/",
        {"decision": "approve"},
    )
    assert answer.status_code == 403


def test_admin_sets_a_phase_and_it_is_audited(as_role, db):
    client = as_role(Role.ADMIN)
    answer = post_form(
        client,
        "/admin/settings/phases",
        "/admin/settings/phases",
        {"tenant": "default", "task": "triage", "phase": "suggest"},
    )

    assert answer.status_code == 303
    with db.read_session() as session:
        row = session.scalars(select(RolloutSetting)).one()
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.actor == "admin")
        ).all()
    assert (row.task, row.phase) == ("triage", "suggest")
    assert "setting.rollout_phase" in actions
    bad = post_form(
        client, "/admin/settings/phases", "/admin/", {"phase": "yolo", "task": "*"}
    )
    assert bad.status_code == 422


def test_audit_viewer_filters_and_verifies(as_role, db):
    client = as_role(Role.ADMIN)
    html = client.get("/admin/audit?action=login&outcome=success").get_data(
        as_text=True
    )
    assert "<td>login</td>" in html
    answer = post_form(client, "/admin/audit/verify", "/admin/audit", {})

    assert answer.status_code == 200
    assert "The audit chain is intact." in answer.get_data(as_text=True)
    with db.session() as session:
        session.get(AuditEvent, 1).actor = "mallory"  # type: ignore[union-attr]
    answer = post_form(client, "/admin/audit/verify", "/admin/audit", {})
    assert "does not hold" in answer.get_data(as_text=True)


def test_admin_creates_a_key_shown_once_and_revokes_it(as_role, app, db):
    client = as_role(Role.ADMIN)
    answer = post_form(
        client,
        "/admin/settings/keys",
        "/admin/settings/keys",
        {"name": "soar", "role": "viewer", "scopes": ["incidents"]},
    )
    html = answer.get_data(as_text=True)
    key = html.split('id="new-key">', 1)[1].split("<", 1)[0]

    assert key.startswith("apl_")
    assert key not in client.get("/admin/settings/keys").get_data(as_text=True)
    api = app.test_client()
    auth = {"Authorization": f"Bearer {key}"}
    assert api.get("/admin/incidents", headers=auth).status_code == 200
    with db.read_session() as session:
        key_id = session.scalars(
            select(ApiKey.key_id).where(ApiKey.name == "soar")
        ).one()
    post_form(
        client, f"/admin/settings/keys/{key_id}/revoke", "/admin/settings/keys", {}
    )
    assert api.get("/admin/incidents", headers=auth).status_code == 401


def test_admin_adds_a_user_who_can_sign_in(as_role, app):
    client = as_role(Role.ADMIN)
    answer = post_form(
        client,
        "/admin/settings/users",
        "/admin/settings/users",
        {"username": "dana", "password": "a long enough password", "role": "analyst"},
    )
    assert answer.status_code == 303
    assert "dana" in client.get("/admin/settings/users").get_data(as_text=True)
    assert (
        sign_in(app.test_client(), "dana", "a long enough password").status_code == 303
    )


def test_overview_reports_queue_readiness_and_no_model_honestly(as_role):
    html = as_role(Role.VIEWER).get("/admin/").get_data(as_text=True)

    assert "no live worker reports a model backend" in html
    assert "<svg" in html and "Jobs by state" in html
    assert "no worker seen" in html  # the readiness check's reason
    assert "triage" in html and "read_only" in html


def test_models_page_lists_manifests_and_admin_requests_activation(as_role, db):
    client = as_role(Role.ADMIN)
    html = client.get("/admin/models").get_data(as_text=True)
    name = html.split('aria-label="Activate ', 1)[1].split('"', 1)[0]
    answer = post_form(client, f"/admin/models/{name}/activate", "/admin/models", {})

    assert answer.status_code == 303
    html = client.get("/admin/models").get_data(as_text=True)
    assert "requested" in html
    assert "Step 1 of 3" in html and "Waiting for a worker" in html
    assert 'http-equiv="refresh"' in html  # progress without JavaScript
    analyst = as_role(Role.ANALYST)
    refused = post_form(analyst, f"/admin/models/{name}/activate", "/admin/", {})
    assert refused.status_code == 403


def test_settings_page_groups_settings_and_masks_secrets(as_role):
    html = as_role(Role.ADMIN).get("/admin/settings").get_data(as_text=True)

    for group in ("Policies", "Thresholds", "Sources", "Retention"):
        assert f">{group}</h2>" in html
    assert "APPLIANCE_VAULT_RETENTION_DAYS" in html
    assert "APPLIANCE_AUTOMATE_MIN_CONFIDENCE" in html
    assert "close_false_positive" in html
    assert "test-secret-key-not-for-production" not in html
