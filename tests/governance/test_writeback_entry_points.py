"""No code path writes to XDR except the gated outbox sender."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[2] / "appliance"
WRITE_METHODS = {
    "update_incident",
    "add_incident_comment",
    "update_alerts",
    "insert_parsed_alerts",
}
WRITE_CALLS = {
    "incidents/update_incident",
    "alerts/update_alerts",
    "alerts/insert_parsed_alerts",
}
# The client defines the methods; the sandbox serves them; the outbox sender is the
# one caller, and it only sends rows that writeback.py queued after the gate.
ALLOWED = {"xdr/client.py", "xdr/calls.py", "xdr/outbox.py"}


def _writers():
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative in ALLOWED or relative.startswith("xdr/sandbox"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr in WRITE_METHODS:
                    yield relative, node.lineno, node.func.attr
            if isinstance(node, ast.Constant) and node.value in WRITE_CALLS:
                yield relative, node.lineno, node.value


def test_only_the_outbox_sender_calls_xdr_write_methods():
    assert list(_writers()) == []


def test_outbox_rows_are_only_made_by_the_gated_writeback():
    makers = []
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", "") == "OutboxEntry"
            ):
                makers.append(path.relative_to(PACKAGE).as_posix())

    assert set(makers) <= {"xdr/writeback.py"}


def test_the_outbox_sender_consults_the_gate():
    sender = PACKAGE / "xdr" / "writeback.py"
    if not sender.exists():
        return  # the outbox has not landed; nothing can write yet
    tree = ast.parse(sender.read_text(encoding="utf-8"))
    names = {
        n.attr if isinstance(n, ast.Attribute) else getattr(n, "id", "")
        for n in ast.walk(tree)
    }

    assert "authorize" in names
