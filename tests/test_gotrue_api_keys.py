"""The `apikey` check in front of the built-in auth, as Supabase's gateway does it."""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from domain.identity.api_keys import embedded_anon_key
from foundation.settings import Settings
from server.app import create_app
from server.cli import main
from tests.tokens import ANON_KEY, TEST_JWT_SECRET

SIGN_UP = {"email": "ada@example.com", "password": "long enough"}


async def test_no_or_a_wrong_apikey_is_refused_before_the_auth_server(
    client: TestClient,
) -> None:
    missing = await client.post("/auth/v1/signup", json=SIGN_UP, headers={"apikey": ""})
    assert missing.status == 401
    assert (await missing.json())["error_code"] == "no_api_key"
    wrong = await client.post("/auth/v1/signup", json=SIGN_UP, headers={"apikey": "guess"})
    assert wrong.status == 401
    assert (await wrong.json())["msg"] == "Invalid API key"
    # The embedded anon key, in the header or the query, is let through.
    assert (await client.post("/auth/v1/signup", json=SIGN_UP)).status == 200
    query = await client.post(f"/auth/v1/token?grant_type=password&apikey={ANON_KEY}",
                              json=SIGN_UP, headers={"apikey": ""})  # fmt: skip
    assert query.status == 200


async def test_configured_anon_and_service_role_keys_replace_the_embedded_one(
    aiohttp_client: Any, settings: Settings
) -> None:
    keys = {"supabase_anon_key": "anon-from-the-environment",
            "supabase_service_role_key": "service-role"}  # fmt: skip
    configured = settings.model_copy(update=keys)
    client: TestClient = await aiohttp_client(create_app(configured))
    for key, status in (("anon-from-the-environment", 200), ("service-role", 422),
                        (ANON_KEY, 401)):  # fmt: skip
        response = await client.post("/auth/v1/signup", json=SIGN_UP, headers={"apikey": key})
        assert response.status == status, key


async def test_browser_pages_need_no_apikey(client: TestClient) -> None:
    response = await client.get("/auth/v1/callback", headers={"apikey": ""},
                                allow_redirects=False)  # fmt: skip
    assert response.status == 302


def test_the_cli_prints_the_embedded_anon_key(
    database_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SUPABASE_JWT_SECRET", TEST_JWT_SECRET)
    assert main(["anon-key"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == ANON_KEY == embedded_anon_key(TEST_JWT_SECRET)
