import json

from click.testing import CliRunner
from sqlalchemy import text

from appliance.cli import _add_commands, cli
from appliance.db.tables import AuditEvent
from appliance.governance import audit, audit_export


def _write(db, settings, n=4):
    with db.session() as session:
        for i in range(n):
            audit.record(
                session,
                actor="alice",
                action="writeback",
                outcome="attempt",
                target=f"incident:{i}",
                details={"i": i},
                settings=settings,
            )


def _problems(db, settings):
    with db.read_session() as session:
        return audit.verify(session, settings)


def test_intact_chain_verifies(db, settings):
    _write(db, settings)

    assert _problems(db, settings) == []


def test_edited_row_is_found(db, settings):
    _write(db, settings)
    with db.session() as session:
        session.execute(text("UPDATE audit_event SET actor = 'mallory' WHERE id = 2"))

    assert [p.event_id for p in _problems(db, settings)] == [2]


def test_deleted_middle_row_is_found(db, settings):
    _write(db, settings)
    with db.session() as session:
        session.execute(text("DELETE FROM audit_event WHERE id = 2"))

    assert any("missing" in p.reason for p in _problems(db, settings))


def test_deleted_last_rows_are_found(db, settings):
    _write(db, settings)
    with db.session() as session:
        session.execute(text("DELETE FROM audit_event WHERE id >= 3"))

    assert any("deleted" in p.reason for p in _problems(db, settings))


def test_rows_appended_without_the_key_are_found(db, settings):
    _write(db, settings)
    with db.session() as session:
        # A forger who knows the hashing scheme but not the secret key.
        audit.record(session, actor="mallory", action="writeback", outcome="success")

    assert any("signature" in p.reason for p in _problems(db, settings))


def test_moved_anchor_is_found(db, settings):
    _write(db, settings)
    with db.session() as session:
        session.execute(text("DELETE FROM audit_event WHERE id = 4"))
        last = session.get(AuditEvent, 3)
        session.execute(
            text("UPDATE audit_anchor SET last_id = 3, last_hash = :h"),
            {"h": last.row_hash},
        )

    assert any("signature" in p.reason for p in _problems(db, settings))


def test_cli_verify_exits_non_zero_on_tampering(db, settings, monkeypatch):
    _write(db, settings)
    env = {
        "APPLIANCE_DATA_DIR": settings.data_dir,
        "APPLIANCE_SECRET_KEY": settings.secret_key,
    }
    _add_commands()
    runner = CliRunner()

    assert runner.invoke(cli, ["audit", "verify"], env=env).exit_code == 0
    with db.session() as session:
        session.execute(text("DELETE FROM audit_event WHERE id = 4"))
    assert runner.invoke(cli, ["audit", "verify"], env=env).exit_code == 1


def test_export_as_cef_and_json_lines(db, settings):
    _write(db, settings, 2)
    with db.session() as session:
        audit.record(
            session,
            actor="a|b=c",
            action="login",
            outcome="failure",
            details={"note": "x=y\nz"},
            settings=settings,
        )
    with db.read_session() as session:
        events = list(audit_export.events(session, since_id=1))
        cef = [audit_export.cef_line(e, "1.0", "host") for e in events]
        lines = [json.loads(audit_export.jsonl_line(e)) for e in events]

    assert [row["id"] for row in lines] == [2, 3]
    assert (
        cef[1].startswith("<165>1 ")
        and "CEF:0|Appliance|XDR AI Appliance|1.0|login|login failure|7|" in cef[1]
    )
    assert "suser=a|b\\=c" in cef[1] and "\n" not in cef[1]
