import re
from pathlib import Path

import pytest

from appliance.config import MASK, Settings, load_settings
from appliance.errors import ConfigError

README = Path(__file__).resolve().parent.parent / "README.md"


def test_defaults_apply_without_environment():
    settings = load_settings(environ={})

    assert settings.database_url is None
    assert settings.job_max_attempts == 5
    assert settings.resolved_database_url.endswith("var/appliance.db")


def test_environment_overrides_file_and_is_typed(tmp_path):
    file = tmp_path / "appliance.toml"
    file.write_text('job_max_attempts = 7\nlog_level = "DEBUG"\n')
    environ = {
        "APPLIANCE_SETTINGS_FILE": str(file),
        "APPLIANCE_JOB_MAX_ATTEMPTS": "9",
        "APPLIANCE_POLL_ENABLED": "yes",
    }

    settings = load_settings(environ=environ)

    assert settings.job_max_attempts == 9
    assert settings.log_level == "DEBUG"
    assert settings.poll_enabled is True


def test_blank_value_means_unset():
    settings = load_settings(environ={"APPLIANCE_LOG_LEVEL": "  "})

    assert settings.log_level == "INFO"


@pytest.mark.parametrize(
    ("environ", "fragment"),
    [
        ({"APPLIANCE_NOT_A_SETTING": "1"}, "unknown setting"),
        ({"APPLIANCE_JOB_MAX_ATTEMPTS": "many"}, "must be a int"),
        ({"APPLIANCE_POLL_ENABLED": "maybe"}, "must be a bool"),
    ],
)
def test_bad_settings_are_refused_with_the_variable_named(environ, fragment):
    with pytest.raises(ConfigError, match=fragment):
        load_settings(environ=environ)


def test_unreadable_settings_file_is_a_clear_error(tmp_path):
    file = tmp_path / "broken.toml"
    file.write_text("this is = = not toml")

    with pytest.raises(ConfigError, match="cannot read settings file"):
        load_settings(environ={"APPLIANCE_SETTINGS_FILE": str(file)})


def test_secrets_have_no_default_and_are_masked():
    secrets = [f for f in Settings.declared() if f.metadata["secret"]]
    settings = load_settings({"xdr_api_key": "s3cr3t-key"}, environ={})

    shown = {name: value for name, value, _ in settings.masked()}

    assert secrets and all(f.default is None for f in secrets)
    assert shown["APPLIANCE_XDR_API_KEY"] == MASK
    assert "s3cr3t-key" not in repr(shown)


def test_every_setting_has_help_text():
    assert all(f.metadata["help"].strip() for f in Settings.declared())


def test_every_setting_is_in_the_readme_configuration_table():
    documented = set(
        re.findall(r"^\| `(APPLIANCE_[A-Z0-9_]+)` \|", README.read_text(), re.M)
    )
    declared = {Settings.env_name(f.name) for f in Settings.declared()}

    assert declared - documented == set(), (
        "add these to the README's configuration table"
    )
    assert documented - declared == set(), (
        "the README documents settings that do not exist"
    )
