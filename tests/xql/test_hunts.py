import pytest

from appliance.xql.ast import FieldRef, walk
from appliance.xql.builder import HuntSpecError
from appliance.xql.hunts import TEMPLATES, Indicators, build_hunt, suggest_hunts
from appliance.xql.parser import parse
from appliance.xql.validator import validate

SHA256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
MD5 = "098F6BCD4621D373CADE4E832627B4F6"


def _filtered_fields(xql: str) -> set[str]:
    names = set()
    for stage in parse(xql).pipelines[0].stages:
        if stage.name == "filter":
            names |= {
                n.name for e in stage.exprs for n in walk(e) if isinstance(n, FieldRef)
            }
    return names


# (intent, params, fields the filters must use, text the query must hold)
HUNTS = [
    (
        "process_by_name",
        {"name": "powershell.exe"},
        {"event_type", "event_sub_type", "action_process_image_name"},
        'action_process_image_name = "powershell.exe"',
    ),
    (
        "process_by_name",
        {"name": "rundll32.exe", "host": "FIN-WS-042"},
        {"agent_hostname", "action_process_image_name"},
        'agent_hostname = "FIN-WS-042"',
    ),
    ("process_by_hash", {"hash": SHA256}, {"action_process_image_sha256"}, SHA256),
    ("process_by_hash", {"hash": MD5}, {"action_process_image_md5"}, MD5.lower()),
    (
        "process_by_command_line",
        {"fragment": "-EncodedCommand"},
        {"action_process_image_command_line"},
        'contains "-EncodedCommand"',
    ),
    (
        "process_by_command_line",
        {"fragment": 'vssadmin delete shadows /all "q"'},
        {"action_process_image_command_line"},
        '/all \\"q\\""',
    ),
    (
        "process_by_command_line",
        {"fragment": "C:\\Users\\Public\\a.ps1", "host": "ws1"},
        {"agent_hostname", "action_process_image_command_line"},
        '"C:\\\\Users\\\\Public\\\\a.ps1"',
    ),
    (
        "process_by_user",
        {"user": "CORP\\svc_backup"},
        {"actor_effective_username"},
        '"CORP\\\\svc_backup"',
    ),
    (
        "parent_child",
        {"parent": "winword.exe", "child": "cmd.exe"},
        {"actor_process_image_name", "action_process_image_name"},
        'actor_process_image_name = "winword.exe"',
    ),
    (
        "parent_child",
        {"parent": "w3wp.exe", "child": "powershell.exe", "host": "web01"},
        {"agent_hostname", "actor_process_image_name"},
        '"w3wp.exe"',
    ),
    (
        "network_to_ip",
        {"ip": "203.0.113.7"},
        {"event_type", "action_remote_ip"},
        'action_remote_ip = "203.0.113.7"',
    ),
    (
        "network_to_ip",
        {"ip": "198.51.100.0/24"},
        {"action_remote_ip"},
        'action_remote_ip incidr "198.51.100.0/24"',
    ),
    ("network_to_ip", {"ip": "2001:db8::1"}, {"action_remote_ip_v6"}, '"2001:db8::1"'),
    (
        "network_to_domain",
        {"domain": "evil.example.com"},
        {"dst_action_external_hostname"},
        'contains ".evil.example.com"',
    ),
    (
        "dns_lookups",
        {"domain": "Update-Check.NET."},
        {"dns_query_name"},
        'dns_query_name = "update-check.net"',
    ),
    (
        "dns_lookups",
        {"domain": "c2.example", "host": "lt-77"},
        {"agent_hostname", "dns_query_name"},
        '"c2.example"',
    ),
    (
        "logons_by_user",
        {"user": "jdoe"},
        {"action_evtlog_event_id", "action_evtlog_message"},
        "4625",
    ),
    (
        "file_writes_by_hash",
        {"hash": SHA256},
        {"event_sub_type", "action_file_sha256"},
        "ENUM.FILE_WRITE",
    ),
    (
        "file_writes_by_path",
        {"path": "\\AppData\\Roaming\\"},
        {"action_file_path"},
        '"\\\\AppData\\\\Roaming\\\\"',
    ),
    (
        "registry_changes",
        {"key": "\\CurrentVersion\\Run"},
        {"event_type", "action_registry_key_name"},
        "ENUM.REGISTRY_SET_VALUE",
    ),
    (
        "registry_changes",
        {"key": "Image File Execution Options", "host": "dc01"},
        {"agent_hostname", "action_registry_key_name"},
        '"Image File Execution Options"',
    ),
    (
        "host_activity",
        {"host": "srv-db-3"},
        {"agent_hostname"},
        "comp count() as events by event_type, event_sub_type",
    ),
]


@pytest.mark.parametrize(("intent", "params", "fields", "text"), HUNTS)
def test_hunts_validate_and_use_the_right_fields(intent, params, fields, text):
    query = build_hunt(intent, params)

    result = validate(query.xql)
    assert result.valid
    assert result.warnings == []
    assert parse(query.xql).datasets() == ["xdr_data"]
    assert fields <= _filtered_fields(query.xql)
    assert text in query.xql


def test_every_template_is_covered_by_a_hunt():
    assert {intent for intent, *_ in HUNTS} == set(TEMPLATES)


def test_timeframe_and_limit_reach_the_query():
    query = build_hunt("process_by_name", {"name": "a.exe"}, timeframe="30m", limit=50)

    assert "| config timeframe = 30m\n" in query.xql
    assert query.xql.endswith("| limit 50")


@pytest.mark.parametrize(
    ("intent", "params"),
    [
        ("process_by_colour", {"name": "x"}),
        ("process_by_name", {}),
        ("process_by_name", {"name": "x", "colour": "red"}),
        ("process_by_hash", {"hash": "not-a-hash"}),
        ("network_to_ip", {"ip": "evil.example"}),
        ("dns_lookups", {"domain": "a\nb"}),
    ],
)
def test_bad_hunts_are_refused(intent, params):
    with pytest.raises(HuntSpecError):
        build_hunt(intent, params)


def test_suggests_hunts_from_an_incidents_indicators():
    indicators = Indicators(
        hosts=["FIN-WS-042"],
        users=["jdoe"],
        hashes=[SHA256, "garbage"],
        remote_ips=["203.0.113.7"],
        domains=["evil.example.com"],
        process_names=["rundll32.exe"],
    )

    hunts = suggest_hunts(indicators)

    assert 2 <= len(hunts) <= 5
    assert all(validate(h.xql).valid for h in hunts)
    joined = "\n".join(h.xql for h in hunts)
    for indicator in (SHA256, "203.0.113.7", "evil.example.com", "rundll32.exe"):
        assert indicator in joined
    assert len({h.xql for h in hunts}) == len(hunts)


def test_a_host_alone_still_gives_a_hunt_and_nothing_gives_none():
    assert len(suggest_hunts(Indicators(hosts=["ws1"]))) == 1
    assert suggest_hunts(Indicators()) == []


def test_suggestions_respect_the_cap():
    indicators = Indicators(remote_ips=[f"203.0.113.{i}" for i in range(1, 9)])

    assert len(suggest_hunts(indicators, most=3)) == 3
