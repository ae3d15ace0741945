"""Strict mode (SKYBOUND_AUTH_VERIFY_WITH_GOTRUE): with a Supabase project, each token
is also confirmed with Supabase Auth's get_user. Skybound's own /auth/v1 plays the
GoTrue server; a second Skybound, pointed at it by SUPABASE_URL, checks the tokens."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer
from supabase_auth import AsyncGoTrueClient

from foundation.settings import Settings
from server.app import create_app
from tests.tokens import ANON_KEY

Skybound = Callable[..., Awaitable[TestClient]]


@pytest.fixture
async def gotrue_base(aiohttp_server: Any, settings: Settings) -> str:
    """Skybound's built-in auth, playing the Supabase project's GoTrue."""
    server: TestServer = await aiohttp_server(create_app(settings))
    return str(server.make_url("")).rstrip("/")


@pytest.fixture
async def gotrue(gotrue_base: str) -> AsyncIterator[AsyncGoTrueClient]:
    """The app's sign-in client, against the GoTrue server."""
    client = AsyncGoTrueClient(url=gotrue_base + "/auth/v1", headers={"apikey": ANON_KEY},
                               auto_refresh_token=False)  # fmt: skip
    try:
        yield client
    finally:
        await client.close()


@pytest.fixture
def skybound(aiohttp_client: Any, settings: Settings) -> Skybound:
    """Builds a Skybound with a Supabase project at ``supabase_url``."""

    async def build(supabase_url: str, **overrides: Any) -> TestClient:
        update = {"supabase_url": supabase_url, "supabase_anon_key": ANON_KEY, **overrides}
        configured = settings.model_copy(update=update)
        client: TestClient = await aiohttp_client(create_app(configured))
        return client

    return build


async def signed_in_token(gotrue: AsyncGoTrueClient) -> str:
    response = await gotrue.sign_up({"email": "grace@example.com", "password": "a password"})
    assert response.session is not None
    return response.session.access_token


async def me_status(client: TestClient, token: str) -> int:
    response = await client.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    return response.status


async def test_a_user_signed_out_at_supabase_loses_access_in_strict_mode(
    gotrue: AsyncGoTrueClient, gotrue_base: str, skybound: Skybound
) -> None:
    strict = await skybound(gotrue_base, auth_verify_with_gotrue=True,
                            auth_verify_cache_seconds=0)  # fmt: skip
    lenient = await skybound(gotrue_base)
    token = await signed_in_token(gotrue)
    assert await me_status(strict, token) == 200
    await gotrue.sign_out()
    assert await me_status(strict, token) == 401
    # Without strict mode the signature alone decides, until the token expires.
    assert await me_status(lenient, token) == 200


async def test_a_confirmation_is_trusted_for_the_cache_time(
    gotrue: AsyncGoTrueClient, gotrue_base: str, skybound: Skybound
) -> None:
    strict = await skybound(gotrue_base, auth_verify_with_gotrue=True,
                            auth_verify_cache_seconds=3600)  # fmt: skip
    token = await signed_in_token(gotrue)
    assert await me_status(strict, token) == 200
    await gotrue.sign_out()
    assert await me_status(strict, token) == 200


async def test_strict_mode_fails_closed_when_supabase_auth_cannot_be_reached(
    gotrue: AsyncGoTrueClient, skybound: Skybound
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    strict = await skybound(f"http://127.0.0.1:{closed_port}", auth_verify_with_gotrue=True)
    token = await signed_in_token(gotrue)
    response = await strict.get("/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status == 503
    assert (await response.json())["title"] == "The auth server cannot confirm the token"
