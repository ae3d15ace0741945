"""compose.yaml, checked without a Docker engine: it parses, every image is pinned, every
long-running service has a health check, migrations run once before the instances, and
every variable handed to Skybound is a documented setting."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from foundation.settings import Settings

ROOT = Path(__file__).parents[1]
SKYBOUND = ("migrate", "skybound-1", "skybound-2")


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    """compose.yaml with its YAML anchors and merge keys resolved."""
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def _setting_names() -> set[str]:
    """The environment variable of every setting: SKYBOUND_<FIELD> or its alias."""
    names = set()
    for name, field in Settings.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"SKYBOUND_{name.upper()}")
    return names


def _env_file(path: Path) -> dict[str, str]:
    pairs = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, sep, value = line.partition("=")
            assert sep, f"not KEY=value: {line!r}"
            pairs[key.strip()] = value
    return pairs


def test_the_stack_has_its_services(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert set(services) >= {"postgres", "redis", "migrate", "skybound-1", "skybound-2", "nginx"}
    assert services["postgres"]["image"].startswith("postgres:16")


def test_every_image_is_pinned_to_a_version(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if "build" in service:
            continue
        image = service["image"]
        repository, _, tag = image.rpartition(":")
        assert repository, image
        assert re.search(r"\d+\.\d+", tag), f"{name}: {image} is not pinned"


def test_every_long_running_service_checks_its_health(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        if name == "migrate":
            assert service["restart"] == "no"
            continue
        check = service.get("healthcheck", {})
        assert check.get("test"), f"{name} has no health check"
        assert not check.get("disable"), f"{name} has its health check off"
    for name in ("skybound-1", "skybound-2"):
        assert "/healthz" in " ".join(compose["services"][name]["healthcheck"]["test"])


def test_migrations_run_once_before_the_instances(compose: dict[str, Any]) -> None:
    services = compose["services"]
    assert services["migrate"]["command"] == ["skybound", "migrate"]
    for name in ("skybound-1", "skybound-2"):
        service = services[name]
        assert service["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}
        assert service["environment"]["SKYBOUND_AUTO_MIGRATE"] == "false"
        assert service["command"] == ["skybound", "serve"]


def test_instances_stop_after_their_streams_drain(compose: dict[str, Any]) -> None:
    from server.workers import WORKER_STOP_SECONDS

    for name in ("skybound-1", "skybound-2"):
        grace = compose["services"][name]["stop_grace_period"]
        assert int(grace.removesuffix("s")) > WORKER_STOP_SECONDS


def test_data_and_storage_live_in_volumes(compose: dict[str, Any]) -> None:
    assert {"pgdata", "storage"} <= set(compose["volumes"])
    assert "pgdata:/var/lib/postgresql/data" in compose["services"]["postgres"]["volumes"]
    for name in SKYBOUND:
        assert "storage:/var/lib/skybound" in compose["services"][name]["volumes"]


def test_skybound_gets_only_documented_settings(compose: dict[str, Any]) -> None:
    documented = _setting_names()
    for name in SKYBOUND:
        given = set(compose["services"][name]["environment"])
        assert given <= documented, f"{name}: {sorted(given - documented)}"
    example = _env_file(ROOT / ".env.example")
    # POSTGRES_* is the postgres image's own (the file is shared with that service).
    unknown = {key for key in example if not key.startswith("POSTGRES_")} - documented
    assert not unknown, sorted(unknown)


def test_secrets_come_from_the_env_file(compose: dict[str, Any]) -> None:
    example = _env_file(ROOT / ".env.example")
    assert {"DATABASE_URL", "SUPABASE_JWT_SECRET", "POSTGRES_PASSWORD"} <= set(example)
    for name in (*SKYBOUND, "postgres"):
        service = compose["services"][name]
        assert service["env_file"] == ".env"
        inline = " ".join(str(v) for v in service.get("environment", {}).values())
        assert "PASSWORD" not in inline
        assert "SECRET" not in inline
    gitignore = (ROOT / ".gitignore").read_text(encoding="utf-8").split()
    assert ".env" in gitignore


def test_the_example_env_file_makes_valid_settings() -> None:
    example = _env_file(ROOT / ".env.example")
    settings = Settings(**{_field_of(key): value for key, value in example.items()
                           if not key.startswith("POSTGRES_")})  # fmt: skip
    assert settings.database_url is not None
    assert settings.jwt_secret


def _field_of(variable: str) -> str:
    for name, field in Settings.model_fields.items():
        if field.validation_alias == variable or f"SKYBOUND_{name.upper()}" == variable:
            return name
    raise AssertionError(variable)


def test_nginx_serves_the_shipped_proxy_config(compose: dict[str, Any]) -> None:
    nginx = compose["services"]["nginx"]
    mount = "./server/deploy/nginx/skybound.conf:/etc/nginx/conf.d/default.conf:ro"
    assert mount in nginx["volumes"]
    assert all(port.startswith("127.0.0.1:") for port in nginx["ports"])
    upstreams = re.findall(r"server (skybound-\d):8080",
                           (ROOT / "server/deploy/nginx/skybound.conf").read_text())  # fmt: skip
    assert sorted(upstreams) == ["skybound-1", "skybound-2"]


def test_every_reference_resolves(compose: dict[str, Any]) -> None:
    services, volumes = compose["services"], set(compose["volumes"])
    for name, service in services.items():
        assert set(service.get("depends_on", {})) <= set(services), name
        for mount in service.get("volumes", []):
            source = mount.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), f"{name} mounts a missing {source}"
            else:
                assert source in volumes, f"{name} uses an undeclared volume {source}"
