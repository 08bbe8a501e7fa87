"""deploy/compose.yaml is valid and uses only real settings and paths."""

from __future__ import annotations

from typing import Any

import compose_spec
import yaml

from tests.deploy.conftest import DEPLOY, undeclared_settings

COMPOSE = DEPLOY / "compose.yaml"


def _compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_compose_file_matches_the_compose_specification() -> None:
    spec = compose_spec.ComposeSpecification.model_validate(_compose())

    assert spec.services is not None
    assert {"postgres", "migrate", "appliance", "worker", "vllm"} <= set(spec.services)


def test_services_use_only_known_keys() -> None:
    known = {
        f.alias or name for name, f in compose_spec.models.Service.model_fields.items()
    }

    for name, service in _compose()["services"].items():
        assert set(service) <= known, (name, set(service) - known)


def test_every_appliance_variable_is_a_declared_setting() -> None:
    assert undeclared_settings(COMPOSE.read_text(encoding="utf-8")) == set()


def test_appliance_services_are_hardened_and_share_the_volumes() -> None:
    services = _compose()["services"]

    for name in ("migrate", "appliance", "worker"):
        service = services[name]
        assert service["read_only"] is True
        assert service["user"].split(":")[0] != "0"
        assert "no-new-privileges:true" in service["security_opt"]
        targets = {v.split(":")[1] for v in service["volumes"]}
        assert targets == {
            "/var/lib/appliance",
            "/var/lib/appliance/models",
            "/var/lib/appliance/retrieval",
        }


def test_services_wait_for_migrations_and_have_health_checks() -> None:
    services = _compose()["services"]

    for name in ("appliance", "worker"):
        condition = services[name]["depends_on"]["migrate"]["condition"]
        assert condition == "service_completed_successfully"
        assert services[name]["healthcheck"]["test"]
    assert services["migrate"]["command"] == ["db", "upgrade"]
    assert "/readyz" in " ".join(services["appliance"]["healthcheck"]["test"])
    assert services["postgres"]["healthcheck"]["test"][1] == "pg_isready"


def test_vllm_runs_only_on_the_gpu_profile_with_a_gpu() -> None:
    vllm = _compose()["services"]["vllm"]

    assert vllm["profiles"] == ["gpu"]
    devices = vllm["deploy"]["resources"]["reservations"]["devices"]
    assert devices[0]["capabilities"] == ["gpu"]


def test_secrets_come_from_files_beside_the_compose_file() -> None:
    compose = _compose()

    for secret in compose["secrets"].values():
        assert secret["file"].startswith("./secrets/")
    assert (DEPLOY / "secrets" / "settings.toml.example").is_file()
    ignored = (DEPLOY / "secrets" / ".gitignore").read_text(encoding="utf-8")
    assert ignored.splitlines()[1:] == ["*", "!.gitignore", "!settings.toml.example"]


def test_settings_example_keys_are_settings() -> None:
    import tomllib

    from tests.deploy.conftest import SETTING_NAMES

    example = tomllib.loads(
        (DEPLOY / "secrets" / "settings.toml.example").read_text(encoding="utf-8")
    )

    assert {f"APPLIANCE_{k.upper()}" for k in example} <= SETTING_NAMES
