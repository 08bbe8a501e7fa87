"""Tests of waves, rollouts and benign recurrence."""

from __future__ import annotations

from appliance.correlate.alerts import Alert, normalize_batch
from appliance.correlate.waves import (
    WaveSettings,
    detection_subject,
    find_waves,
    recurring,
)
from tests.fakes.xdr_alerts import xdr_alert

SETTINGS = WaveSettings()


def _alerts(raws: list[dict[str, object]]) -> list[Alert]:
    return normalize_batch(raws, max_alerts=1000).alerts


def test_one_job_recurring_on_one_host_is_benign() -> None:
    job = {
        "user_name": "CORP\\svc_backup",
        "causality_actor_process_image_name": "svchost.exe",
    }
    alerts = _alerts([xdr_alert(hour * 60, **job) for hour in range(0, 48, 8)])

    assert recurring(alerts, SETTINGS) == set(range(len(alerts)))


def test_the_same_rule_by_different_attackers_is_not_recurrence() -> None:
    alerts = _alerts(
        [
            xdr_alert(hour * 60, user_name=f"CORP\\user{hour}")
            for hour in range(0, 48, 8)
        ]
    )

    assert recurring(alerts, SETTINGS) == set()


def _wave(users: list[str], parent: str) -> list[Alert]:
    return _alerts(
        [
            xdr_alert(
                n * 3,
                host_name=f"ws-{n:02d}",
                user_name=f"CORP\\{user}",
                causality_actor_process_image_name=parent,
            )
            for n, user in enumerate(users)
        ]
    )


def test_one_rule_under_one_parent_on_many_hosts_is_a_wave() -> None:
    alerts = _wave([f"user{n}" for n in range(6)], "OUTLOOK.EXE")

    waves = find_waves(alerts, SETTINGS, set())

    assert len(waves) == 1
    assert waves[0].targets == 6 and not waves[0].benign


def test_a_rollout_by_one_service_account_is_benign() -> None:
    alerts = _wave(["svc_deploy"] * 8, "CcmExec.exe")

    waves = find_waves(alerts, SETTINGS, set())

    assert [w.benign for w in waves] == [True]


def test_three_hosts_are_not_yet_a_wave() -> None:
    assert find_waves(_wave(["a", "b", "c"], "OUTLOOK.EXE"), SETTINGS, set()) == []


def test_the_subject_of_a_rule_name_drops_its_hedges_only() -> None:
    assert detection_subject("Possible Native API") == "Native API"
    assert detection_subject("Native API activity detected") == "Native API"
    assert (
        detection_subject("Unusual Process-Injection (LSASS) detected")
        == "Process-Injection (LSASS)"
    )
    # Nothing but hedges: the name is all there is to compare.
    assert detection_subject("Suspicious Activity") == "Suspicious Activity"
