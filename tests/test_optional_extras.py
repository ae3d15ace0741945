"""A setting whose optional extra is missing is refused when `skybound serve` starts, with
the install command, instead of killing every worker at start-up."""

from __future__ import annotations

import sys

import pytest

from foundation.extras import missing_extras
from foundation.settings import Settings
from server.cli import main

NOWHERE = "postgresql://skybound@127.0.0.1:1/none"
SUPABASE_STORAGE = {
    "DATABASE_URL": NOWHERE,
    "SKYBOUND_STORAGE_BACKEND": "supabase",
    "SUPABASE_URL": "http://127.0.0.1:1",
    "SUPABASE_SERVICE_ROLE_KEY": "service-role-key",
}


def _environment(monkeypatch: pytest.MonkeyPatch, values: dict[str, str]) -> None:
    for name, value in values.items():
        monkeypatch.setenv(name, value)


def test_serve_refuses_supabase_storage_without_the_supabase_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, SUPABASE_STORAGE)
    monkeypatch.setitem(sys.modules, "storage3", None)  # as if it were not installed
    assert main(["serve"]) == 2
    error = capsys.readouterr().err
    assert "SKYBOUND_STORAGE_BACKEND=supabase needs the 'supabase' extra" in error
    assert "pip install 'skybound[supabase]'" in error


def test_serve_refuses_error_reporting_without_the_observability_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, {"DATABASE_URL": NOWHERE, "SENTRY_DSN": "http://k@127.0.0.1:1/1"})
    monkeypatch.setitem(sys.modules, "sentry_sdk", None)
    assert main(["serve"]) == 2
    assert "pip install 'skybound[observability]'" in capsys.readouterr().err


def test_installed_extras_let_every_such_setting_start() -> None:
    settings = Settings(
        database_url=NOWHERE,
        storage_backend="supabase",
        supabase_url="http://127.0.0.1:1",
        supabase_service_role_key="service-role-key",
        auth_verify_with_gotrue=True,
        sentry_dsn="http://k@127.0.0.1:1/1",
        otel_endpoint="http://127.0.0.1:1",
    )
    assert missing_extras(settings) == []


def test_a_default_configuration_needs_no_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    for module in ("storage3", "supabase_auth", "sentry_sdk", "opentelemetry.sdk"):
        monkeypatch.setitem(sys.modules, module, None)
    assert missing_extras(Settings(database_url=NOWHERE)) == []
