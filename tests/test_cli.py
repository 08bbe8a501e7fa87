import json

from click.testing import CliRunner

from appliance.cli import cli


def _env(settings):
    return {
        "APPLIANCE_DATA_DIR": settings.data_dir,
        "APPLIANCE_XDR_API_KEY": "very-secret-key",
        "APPLIANCE_LOG_LEVEL": "WARNING",
    }


def test_config_show_masks_secrets(settings):
    result = CliRunner().invoke(cli, ["config", "show", "--json"], env=_env(settings))

    shown = json.loads(result.output)
    assert result.exit_code == 0
    assert shown["APPLIANCE_XDR_API_KEY"] == "********"
    assert "very-secret-key" not in result.output


def test_db_upgrade_then_current_and_enqueue(settings):
    runner = CliRunner()
    env = _env(settings)

    assert runner.invoke(cli, ["db", "current"], env=env).exit_code == 1
    assert runner.invoke(cli, ["db", "upgrade"], env=env).exit_code == 0
    assert runner.invoke(cli, ["db", "current"], env=env).exit_code == 0
    first = runner.invoke(
        cli, ["jobs", "enqueue", "system.selftest", "--key", "k1"], env=env
    )
    second = runner.invoke(
        cli, ["jobs", "enqueue", "system.selftest", "--key", "k1"], env=env
    )

    assert json.loads(first.output)["created"] is True
    assert json.loads(second.output) == {
        "job_id": json.loads(first.output)["job_id"],
        "created": False,
    }


def test_enqueue_refuses_a_payload_that_is_not_json(settings):
    result = CliRunner().invoke(
        cli, ["jobs", "enqueue", "x", "--payload", "{nope"], env=_env(settings)
    )

    assert result.exit_code == 2
    assert "not JSON" in result.output
