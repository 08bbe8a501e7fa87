from __future__ import annotations

import pytest

from appliance.privacy.policy import Action
from appliance.privacy.prompt import ScrubbedPrompt
from appliance.privacy.scrubber import REDACTED, Scrubber, build_prompt


def scrub(scrubber: Scrubber, text: str, field: str | None = None) -> str:
    data = {field: text} if field else text
    result = scrubber.scrub(data, scrubber.new_vault())
    return result.data[field] if field else result.data


@pytest.mark.parametrize(
    "text",
    [
        "Technique T1059 and T1059.001 observed",
        "powershell.exe -ExecutionPolicy Bypass -File update.ps1",
        "sha256 8d5aec85593c85ecdc8d5ac601e163a1cc26d877f88c03e9e0e94c9dd4a3",
        "connection to 8.8.8.8 and evil.example.com",
        "C:\\Windows\\System32\\cmd.exe /c whoami",
    ],
)
def test_security_indicators_are_kept(scrubber: Scrubber, text: str) -> None:
    assert scrub(scrubber, text, "actor_process_command_line") == text


@pytest.mark.parametrize(
    ("text", "planted"),
    [
        ("logon by CORP\\jdoe failed", "jdoe"),
        ("dropped C:\\Users\\mjones\\AppData\\x.exe", "mjones"),
        ("read /home/asmith/.ssh/id_rsa", "asmith"),
        ("runas /user:pkumar cmd", "pkumar"),
        ("mail to jane.doe@example.com", "jane.doe@example.com"),
        ("upn jdoe@corp.local logged on", "jdoe@corp.local"),
        ("call +1 415 555 0134 now", "415 555 0134"),
        ("Analyst Maria Garcia escalated", "Maria Garcia"),
        ("card 4111 1111 1111 1111 used", "4111 1111 1111 1111"),
        ("ssn 536-90-4412 on file", "536-90-4412"),
        ("from internal 10.20.30.40", "10.20.30.40"),
    ],
)
def test_personal_data_is_pseudonymized(
    scrubber: Scrubber, text: str, planted: str
) -> None:
    out = scrub(scrubber, text)

    assert planted not in out
    assert out != text


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("mysql -u app -p Sup3rS3cret db", "Sup3rS3cret"),
        ("tool --password=Hunter2! --host x", "Hunter2!"),
        ('curl -H "Authorization: Bearer abc123def456"', "abc123def456"),
        ("Server=db;User Id=sa;Password=P@ss;", "P@ss"),
        ("git clone https://bob:tok3n@git.corp/x", "tok3n"),
        ("net user eve Winter2024! /add", "Winter2024!"),
        ("export KEY=AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ],
)
def test_secrets_on_command_lines_are_redacted(
    scrubber: Scrubber, text: str, secret: str
) -> None:
    out = scrub(scrubber, text, "actor_process_command_line")

    assert secret not in out
    assert REDACTED in out


def test_ssh_port_is_not_a_password(scrubber: Scrubber) -> None:
    assert scrub(scrubber, "ssh -p 22 host", "actor_process_command_line") == (
        "ssh -p 22 host"
    )


def test_fields_are_scrubbed_by_what_they_hold(scrubber: Scrubber) -> None:
    vault = scrubber.new_vault()
    alert = {
        "host_name": "FIN-LAPTOP-7",
        "user_name": "ACME\\rsingh",
        "host_ip": "192.168.4.20",
        "action_remote_ip": "93.184.216.34",
        "actor_process_image_name": "update.ps1",
        "description": "beacon from FIN-LAPTOP-7 by rsingh",
    }

    out = scrubber.scrub(alert, vault).data

    assert out["host_name"].startswith("HOST_")
    assert out["user_name"].startswith("ACME\\USER_")
    assert out["host_ip"].startswith("IP_")
    assert out["action_remote_ip"] == "93.184.216.34"
    assert out["actor_process_image_name"] == "update.ps1"
    assert out["description"] == (
        f"beacon from {out['host_name']} by {out['user_name'].split(chr(92))[1]}"
    )


def test_builtin_accounts_are_kept(scrubber: Scrubber) -> None:
    out = scrubber.scrub({"user_name": "NT AUTHORITY\\SYSTEM"}, scrubber.new_vault())

    assert out.data == {"user_name": "NT AUTHORITY\\SYSTEM"}


def test_admin_policy_overrides_the_default() -> None:
    scrubber = Scrubber.create("HOST_NAME=keep")

    assert scrubber.policy.action("HOST_NAME") is Action.KEEP
    assert scrub(scrubber, "WS-01", "host_name") == "WS-01"


def test_build_prompt_fills_templates_with_scrubbed_data(scrubber: Scrubber) -> None:
    vault = scrubber.new_vault("INC-9")
    prompt = build_prompt(
        scrubber,
        vault,
        [("system", "You are a SOC analyst."), ("user", "Alert: {{ alert }}")],
        {"alert": {"user_name": "kwhite", "name": "Mimikatz {{ x }}"}},
    )

    assert isinstance(prompt, ScrubbedPrompt)
    assert "kwhite" not in prompt.as_openai()[1]["content"]
    assert "{{ x }}" in prompt.as_openai()[1]["content"]
    assert prompt.entities == {"USER_NAME": 1}
    assert prompt.vault_id == vault.vault_id


def test_prompt_cannot_be_made_without_the_scrubber() -> None:
    with pytest.raises(TypeError):
        ScrubbedPrompt((), None, {})
