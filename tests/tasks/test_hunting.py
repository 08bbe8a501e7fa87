"""Fifty hunting questions become valid XQL on the right dataset and fields."""

from __future__ import annotations

import pytest

from appliance.tasks.hunting import HuntQuestionUnclear, generate, summarize
from appliance.xql.validator import validate

SHA = "53fbfad09cef5d5010c8bf03314c0e1dbac5b6f974465f6da0e41a1909da35f4"
MD5 = "9edc8b8fa912a3d810043b9f17ea7a8a"
# (question, intent, a field the query must filter on, a value it must hold)
QUESTIONS = [
    (
        "Which hosts connected to 185.220.101.47?",
        "network_to_ip",
        "action_remote_ip",
        "185.220.101.47",
    ),
    (
        "Show traffic to 45.135.232.18 in the last 24 hours",
        "network_to_ip",
        "action_remote_ip",
        "45.135.232.18",
    ),
    (
        "Any connections to 10.10.2.12 from host IT-ADM-07?",
        "network_to_ip",
        "agent_hostname",
        "IT-ADM-07",
    ),
    (
        "Hosts talking to 203.0.113.0/24 past 3 days",
        "network_to_ip",
        "action_remote_ip",
        "203.0.113.0/24",
    ),
    (
        "Beaconing to 198.51.100.7 last week",
        "network_to_ip",
        "action_remote_ip",
        "198.51.100.7",
    ),
    (
        "Who connected to cdn-update.example-analytics.net?",
        "network_to_domain",
        "dst_action_external_hostname",
        "cdn-update.example-analytics.net",
    ),
    (
        "Connections to evil.example.com in the past 2 days",
        "network_to_domain",
        "dst_action_external_hostname",
        "evil.example.com",
    ),
    (
        "Traffic to bad-domain.xyz from server FS-02",
        "network_to_domain",
        "agent_hostname",
        "FS-02",
    ),
    (
        "Which machines contacted update.badcdn.net today?",
        "network_to_domain",
        "dst_action_external_hostname",
        "update.badcdn.net",
    ),
    (
        "Hosts communicating with c2.attacker.org last 12 hours",
        "network_to_domain",
        "dst_action_external_hostname",
        "c2.attacker.org",
    ),
    (
        "DNS lookups of cdn-update.example-analytics.net",
        "dns_lookups",
        "dns_query_name",
        "cdn-update.example-analytics.net",
    ),
    (
        "Who resolved malware.example.net in the last 7 days?",
        "dns_lookups",
        "dns_query_name",
        "malware.example.net",
    ),
    (
        "DNS queries for phish.example.co",
        "dns_lookups",
        "dns_query_name",
        "phish.example.co",
    ),
    (
        "Lookups of login-microsoftonline.com.example.ru past 1 day",
        "dns_lookups",
        "dns_query_name",
        "login-microsoftonline.com.example.ru",
    ),
    (
        "dns resolve of tracker.example.io on host FIN-WS-023",
        "dns_lookups",
        "agent_hostname",
        "FIN-WS-023",
    ),
    (
        f"Where did the process with hash {SHA} run?",
        "process_by_hash",
        "action_process_image_sha256",
        SHA,
    ),
    (
        f"Processes with sha256 {SHA} last 30 days",
        "process_by_hash",
        "action_process_image_sha256",
        SHA,
    ),
    (f"Executions of {MD5}", "process_by_hash", "action_process_image_md5", MD5),
    (
        f"Files written with hash {SHA}",
        "file_writes_by_hash",
        "action_file_sha256",
        SHA,
    ),
    (
        f"Where was the file {SHA} dropped?",
        "file_writes_by_hash",
        "action_file_sha256",
        SHA,
    ),
    (
        f"Which hosts created a file with hash {MD5}?",
        "file_writes_by_hash",
        "action_file_md5",
        MD5,
    ),
    (
        "Where did procdump64.exe run?",
        "process_by_name",
        "action_process_image_name",
        "procdump64.exe",
    ),
    (
        "Executions of PsExec64.exe in the last 14 days",
        "process_by_name",
        "action_process_image_name",
        "PsExec64.exe",
    ),
    (
        "Did anyone run mimikatz.exe on host IT-ADM-07?",
        "process_by_name",
        "agent_hostname",
        "IT-ADM-07",
    ),
    (
        "Show rundll32.exe executions",
        "process_by_name",
        "action_process_image_name",
        "rundll32.exe",
    ),
    (
        "Find anydesk.exe on endpoint DEV-WS-301",
        "process_by_name",
        "action_process_image_name",
        "anydesk.exe",
    ),
    (
        "Where was vssadmin.exe started last 2 days",
        "process_by_name",
        "action_process_image_name",
        "vssadmin.exe",
    ),
    (
        "Runs of update.ps1",
        "process_by_name",
        "action_process_image_name",
        "update.ps1",
    ),
    (
        "winword.exe spawning powershell.exe",
        "parent_child",
        "actor_process_image_name",
        "winword.exe",
    ),
    (
        "excel.exe starting cmd.exe in the last 30 days",
        "parent_child",
        "action_process_image_name",
        "cmd.exe",
    ),
    (
        "powershell.exe launched by outlook.exe",
        "parent_child",
        "actor_process_image_name",
        "outlook.exe",
    ),
    (
        "services.exe starting PSEXESVC.exe on server FS-02",
        "parent_child",
        "agent_hostname",
        "FS-02",
    ),
    (
        "mshta.exe spawned by chrome.exe",
        "parent_child",
        "actor_process_image_name",
        "chrome.exe",
    ),
    (
        'Processes whose command line contains "-enc"',
        "process_by_command_line",
        "action_process_image_command_line",
        "-enc",
    ),
    (
        'command line with "DownloadString" last 3 days',
        "process_by_command_line",
        "action_process_image_command_line",
        "DownloadString",
    ),
    (
        "cmdline containing 'delete shadows'",
        "process_by_command_line",
        "action_process_image_command_line",
        "delete shadows",
    ),
    (
        'Commands run with "-accepteula -ma" on host IT-ADM-07',
        "process_by_command_line",
        "agent_hostname",
        "IT-ADM-07",
    ),
    (
        "Logons by user svc_backup",
        "logons_by_user",
        "action_evtlog_message",
        "svc_backup",
    ),
    (
        "Failed logins for account jdoe last 24 hours",
        "logons_by_user",
        "action_evtlog_message",
        "jdoe",
    ),
    (
        "Where did user msmith sign in this week? last 7 days",
        "logons_by_user",
        "action_evtlog_message",
        "msmith",
    ),
    (
        "Logon events of username akim",
        "logons_by_user",
        "action_evtlog_message",
        "akim",
    ),
    (
        "What did user svc_backup run?",
        "process_by_user",
        "actor_effective_username",
        "svc_backup",
    ),
    (
        "Processes started by account jdoe on host FIN-WS-023",
        "process_by_user",
        "agent_hostname",
        "FIN-WS-023",
    ),
    (
        "Activity of user ops-automation in the last 2 days",
        "process_by_user",
        "actor_effective_username",
        "ops-automation",
    ),
    (
        "Registry changes under "
        "HKLM\\Software\\Microsoft\\Windows\\CurrentVersion\\Run",
        "registry_changes",
        "action_registry_key_name",
        "CurrentVersion",
    ),
    (
        "Run keys set in HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\RunOnce"
        " on host HR-LT-114",
        "registry_changes",
        "agent_hostname",
        "HR-LT-114",
    ),
    (
        'registry values written under "Services\\WinDefend"',
        "registry_changes",
        "action_registry_key_name",
        "WinDefend",
    ),
    (
        "Files written under C:\\ProgramData\\tools\\ last 5 days",
        "file_writes_by_path",
        "action_file_path",
        "ProgramData",
    ),
    (
        "Which files were dropped in C:\\Users\\Public\\?",
        "file_writes_by_path",
        "action_file_path",
        "Public",
    ),
    (
        "What happened on host HR-LT-114 in the last 24 hours?",
        "host_activity",
        "agent_hostname",
        "HR-LT-114",
    ),
]


def test_fifty_questions() -> None:
    assert len(QUESTIONS) == 50


@pytest.mark.parametrize(("question", "intent", "field", "value"), QUESTIONS)
def test_question_becomes_valid_xql(
    question: str, intent: str, field: str, value: str
) -> None:
    hunt = generate(question)

    assert validate(hunt.xql).valid
    assert hunt.intent == intent
    assert hunt.dataset == "xdr_data"
    assert "dataset = xdr_data" in hunt.xql
    lines = [line for line in hunt.xql.splitlines() if field in line]
    assert lines, f"no stage names {field}"
    assert any(value.lower() in line.lower() for line in lines)


def test_time_frame_is_read_from_the_question() -> None:
    assert generate("connections to 1.2.3.4 in the last 24 hours").timeframe == "24h"
    assert generate("connections to 1.2.3.4 past 3 days").timeframe == "3d"
    assert generate("connections to 1.2.3.4").timeframe == "7d"


def test_injected_quotes_stay_inside_a_literal() -> None:
    hunt = generate('command line with "x\\" | dataset = endpoints | filter 1"')

    assert validate(hunt.xql).valid
    assert hunt.xql.count("| dataset") == 1


def test_question_without_indicator_is_refused() -> None:
    with pytest.raises(HuntQuestionUnclear):
        generate("is everything fine?")


def test_results_are_summarized() -> None:
    rows = [{"agent_hostname": "a"}, {"agent_hostname": "a"}, {"agent_hostname": "b"}]

    assert summarize(rows)["top_agent_hostname"][0] == ("a", 2)
