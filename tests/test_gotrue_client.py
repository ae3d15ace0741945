"""The official Supabase Python client (supabase-auth) against a running Skybound."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestServer
from supabase_auth import AsyncGoTrueClient
from supabase_auth.errors import AuthApiError, AuthWeakPasswordError

from foundation.settings import Settings
from server.app import create_app
from tests import smtp
from tests.smtp import Mailbox, recovery_code, with_smtp
from tests.test_gotrue_mail import delivered
from tests.tokens import ANON_KEY

smtp_server = smtp.smtp_server  # the fixture, from its helper module

EMAIL = "grace@example.com"
PASSWORD = "first password"


@pytest.fixture
async def auth_url(aiohttp_server: Any, settings: Settings, smtp_server: Mailbox) -> str:
    """/auth/v1 of Skybound served on 127.0.0.1, mailing through the test SMTP server."""
    server: TestServer = await aiohttp_server(create_app(with_smtp(settings, smtp_server)))
    return str(server.make_url("/auth/v1"))


@pytest.fixture
async def gotrue(auth_url: str) -> AsyncIterator[AsyncGoTrueClient]:
    """The client as an app would configure it (anon key header), without background refresh."""
    client = AsyncGoTrueClient(
        url=auth_url,
        headers={"apikey": ANON_KEY, "Authorization": f"Bearer {ANON_KEY}"},
        auto_refresh_token=False,
    )
    try:
        yield client
    finally:
        await client.close()


async def test_sign_up_sign_in_refresh_and_reset_a_password(
    gotrue: AsyncGoTrueClient, smtp_server: Mailbox, db: asyncpg.Connection
) -> None:
    signed_up = await gotrue.sign_up({"email": EMAIL, "password": PASSWORD,
                                      "options": {"data": {"name": "Grace"}}})  # fmt: skip
    assert signed_up.session is not None
    assert signed_up.user is not None
    assert signed_up.user.email == EMAIL
    assert signed_up.user.user_metadata == {"name": "Grace"}
    # Stored with the production argon2id parameters (RFC 9106, low-memory option).
    stored = await db.fetchval("SELECT encrypted_password FROM auth_users")
    assert stored.startswith("$argon2id$v=19$m=65536,t=3,p=4$")

    signed_in = await gotrue.sign_in_with_password({"email": EMAIL, "password": PASSWORD})
    assert signed_in.session is not None
    assert signed_in.session.token_type == "bearer"
    refreshed = await gotrue.refresh_session()
    assert refreshed.session is not None
    assert refreshed.session.refresh_token != signed_in.session.refresh_token
    current = await gotrue.get_user()
    assert current is not None
    assert current.user.id == signed_up.user.id

    await gotrue.reset_password_for_email(EMAIL)
    [message] = await delivered(smtp_server)
    assert message["To"] == EMAIL
    verified = await gotrue.verify_otp(
        {"email": EMAIL, "token": recovery_code(message), "type": "recovery"}
    )
    assert verified.session is not None
    updated = await gotrue.update_user({"password": "second password"})
    assert updated.user.email == EMAIL
    await gotrue.sign_out()
    assert await gotrue.get_session() is None

    again = await gotrue.sign_in_with_password({"email": EMAIL, "password": "second password"})
    assert again.session is not None
    with pytest.raises(AuthApiError) as old:
        await gotrue.sign_in_with_password({"email": EMAIL, "password": PASSWORD})
    assert (old.value.status, old.value.code) == (400, "invalid_credentials")
    assert old.value.message == "Invalid login credentials"


async def test_client_reads_gotrue_errors(gotrue: AsyncGoTrueClient, smtp_server: Mailbox) -> None:
    with pytest.raises(AuthWeakPasswordError) as weak:
        await gotrue.sign_up({"email": EMAIL, "password": "short"})
    assert (weak.value.status, weak.value.code, weak.value.reasons) == (
        422, "weak_password", ["length"],
    )  # fmt: skip
    await gotrue.sign_up({"email": EMAIL, "password": PASSWORD})
    with pytest.raises(AuthApiError) as taken:
        await gotrue.sign_up({"email": EMAIL, "password": PASSWORD})
    assert (taken.value.status, taken.value.code) == (422, "user_already_exists")

    await gotrue.reset_password_for_email(EMAIL)
    code = recovery_code((await delivered(smtp_server))[0])
    await gotrue.verify_otp({"email": EMAIL, "token": code, "type": "recovery"})
    with pytest.raises(AuthApiError) as replay:
        await gotrue.verify_otp({"email": EMAIL, "token": code, "type": "recovery"})
    assert (replay.value.status, replay.value.code) == (403, "otp_expired")

    session = await gotrue.get_session()
    assert session is not None
    await gotrue.refresh_session()
    with pytest.raises(AuthApiError) as reused:
        await gotrue.refresh_session(session.refresh_token)
    assert (reused.value.status, reused.value.code) == (400, "refresh_token_already_used")

    for _ in range(5):
        with pytest.raises(AuthApiError):
            await gotrue.sign_in_with_password({"email": EMAIL, "password": "wrong guess"})
    with pytest.raises(AuthApiError) as throttled:
        await gotrue.sign_in_with_password({"email": EMAIL, "password": PASSWORD})
    assert (throttled.value.status, throttled.value.code) == (429, "over_request_rate_limit")
