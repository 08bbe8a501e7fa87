"""``appliance enrich`` and ``appliance attack`` commands."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from appliance.config import Settings
from appliance.enrich.commands import attack, enrich

DATA = Path(__file__).resolve().parent.parent / "data"


def env(settings: Settings) -> dict[str, str]:
    return {"APPLIANCE_DATA_DIR": settings.data_dir, "APPLIANCE_LOG_LEVEL": "WARNING"}


def test_import_reports_skipped_rows_and_installs_the_feed(settings: Settings) -> None:
    runner = CliRunner()

    result = runner.invoke(
        enrich,
        ["import", "vulns", str(DATA / "vuln_scan_nessus.csv")],
        env=env(settings),
    )
    looked_up = runner.invoke(
        enrich, ["lookup", "--host", "SQL-PAY-01"], env=env(settings)
    )

    report = json.loads(result.output)
    assert result.exit_code == 0
    assert (report["accepted"], report["skipped"]) == (5, 4)
    assert (
        settings.resolved_data_dir / "enrich" / "vulns" / "vuln_scan_nessus.csv"
    ).is_file()
    context = json.loads(looked_up.output)
    scans = next(s for s in context["sources"] if s["source"] == "vulnerability-scans")
    assert {f["cve"] for f in scans["findings"]} == {"CVE-2021-44228", "CVE-2021-45046"}


def test_import_refuses_a_file_of_the_wrong_kind(settings: Settings) -> None:
    result = CliRunner().invoke(
        enrich, ["import", "vulns", str(DATA / "cmdb_assets.csv")], env=env(settings)
    )

    assert result.exit_code == 1
    assert "no host or CVE column" in result.output
    assert not (settings.resolved_data_dir / "enrich" / "vulns").exists()


def test_attack_import_then_show_old_and_new_ids(settings: Settings) -> None:
    runner = CliRunner()

    imported = runner.invoke(
        attack, ["import", str(DATA / "attack_bundle_v19.json")], env=env(settings)
    )
    old = runner.invoke(attack, ["show", "T1562.001"], env=env(settings))
    unknown = runner.invoke(attack, ["show", "T0000"], env=env(settings))

    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.output)["attack_version"] == "19.0"
    assert json.loads(old.output)["id"] == "T1685"
    assert unknown.exit_code == 1
