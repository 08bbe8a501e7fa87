from __future__ import annotations

import json

from click.testing import CliRunner

from appliance.privacy.commands import scrub


def test_scrub_text_with_report() -> None:
    result = CliRunner().invoke(scrub, ["--report"], input="mail ann@example.com now")

    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("mail EMAIL_")
    assert "EMAIL_ADDRESS\tpseudonymize" in result.stderr
    assert "ann@example.com" not in result.stderr


def test_scrub_json() -> None:
    result = CliRunner().invoke(scrub, ["--json"], input='{"user_name": "jdoe"}')

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["user_name"].startswith("USER_")


def test_binary_and_bad_json_are_clear_errors() -> None:
    binary = CliRunner().invoke(scrub, [], input=b"\xff\xfe\x00")
    bad = CliRunner().invoke(scrub, ["--json"], input="{nope")

    assert binary.exit_code == 1 and "not UTF-8" in binary.output
    assert bad.exit_code == 1 and "not JSON" in bad.output
