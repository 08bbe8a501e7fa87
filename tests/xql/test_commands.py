import json

from click.testing import CliRunner

from appliance.xql.commands import xql


def test_validate_exits_0_and_warns_on_stderr():
    result = CliRunner().invoke(
        xql, ["validate"], input='dataset = xdr_data | filter agent_hostnme = "x"\n'
    )

    assert result.exit_code == 0
    assert result.stdout == ""
    assert "warning: line 1, column 29: unknown field 'agent_hostnme'" in result.stderr


def test_validate_exits_1_with_line_and_column():
    result = CliRunner().invoke(
        xql, ["validate"], input="dataset = xdr_data\n| filtr x = 1\n"
    )

    assert result.exit_code == 1
    assert result.stderr.startswith("line 2, column 3: unknown stage 'filtr'")


def test_validate_json_report():
    result = CliRunner().invoke(
        xql, ["validate", "--json"], input="dataset = xdr_data | limit (1\n"
    )

    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert report["valid"] is False
    assert report["errors"][0]["line"] == 1


def test_hunt_prints_a_valid_query():
    result = CliRunner().invoke(
        xql,
        [
            "hunt",
            "parent_child",
            "--param",
            "parent=winword.exe",
            "--param",
            "child=cmd.exe",
            "--timeframe",
            "24h",
        ],
    )

    assert result.exit_code == 0
    check = CliRunner().invoke(xql, ["validate"], input=result.stdout)
    assert check.exit_code == 0
    assert 'actor_process_image_name = "winword.exe"' in result.stdout


def test_hunt_refuses_a_bad_parameter():
    result = CliRunner().invoke(xql, ["hunt", "process_by_hash", "--param", "hash=zz"])

    assert result.exit_code == 1
    assert "neither a SHA-256 nor an MD5" in result.stderr


def test_hunt_list_names_every_intent():
    result = CliRunner().invoke(xql, ["hunt", "list"])

    assert "registry_changes" in result.stdout
    assert "dns_lookups" in result.stdout
