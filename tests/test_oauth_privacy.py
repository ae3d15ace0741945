"""Privacy of accounts made or linked through a provider: the GDPR export shows the
auth account, and erasure unlinks its identities, also while a sign-in is under way."""

from __future__ import annotations

import asyncio
import uuid

import aiohttp
import asyncpg
import pytest
from supabase_auth import AsyncGoTrueClient
from supabase_auth.errors import AuthApiError

from tests.test_gotrue_oauth import (
    auth_url,
    browser,
    callback_prefix,
    follow,
    gotrue,
    provider,
    query_of,
    start,
)
from tests.waiting import eventually

__all__ = ["auth_url", "browser", "gotrue", "provider"]  # fixtures, from their module


async def signed_in(gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession) -> str:
    """Sign in with Google through PKCE; the access token."""
    landed = await follow(browser, await start(gotrue))
    session = (await gotrue.exchange_code_for_session({"auth_code": query_of(landed)["code"]})
               ).session  # fmt: skip
    assert session is not None
    return session.access_token


async def test_the_export_shows_the_account_its_sign_ins_and_identities(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, auth_url: str
) -> None:
    await signed_in(gotrue, browser)
    token = await signed_in(gotrue, browser)
    api = auth_url.removesuffix("/auth/v1")
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"{api}/v1/me/export", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status == 200
        document = await response.json()
    account = document["auth_account"]
    assert account["email"] == "ada@example.com"
    assert account["has_password"] is False
    assert [s["method"] for s in account["sessions"]] == ["oauth", "oauth"]
    [identity] = account["identities"]
    assert (identity["provider"], identity["provider_id"]) == ("google", "google-sub-1")
    assert "encrypted_password" not in str(document)


async def test_erasure_unlinks_the_identity_and_a_new_sign_in_is_a_new_account(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, auth_url: str,
    db: asyncpg.Connection,
) -> None:  # fmt: skip
    token = await signed_in(gotrue, browser)
    first = await db.fetchval("SELECT user_id FROM auth_identities")
    api = auth_url.removesuffix("/auth/v1")
    async with (
        aiohttp.ClientSession() as http,
        http.delete(f"{api}/v1/me", headers={"Authorization": f"Bearer {token}"}) as response,
    ):
        assert response.status == 204
    assert await db.fetchval("SELECT count(*) FROM auth_identities") == 0
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 0
    await signed_in(gotrue, browser)
    again = await db.fetchval("SELECT user_id FROM auth_identities")
    assert again != first


async def _waiting_for_a_lock(db: asyncpg.Connection) -> bool:
    return bool(await db.fetchval(
        "SELECT count(*) FROM pg_stat_activity"
        " WHERE wait_event_type = 'Lock' AND datname = current_database()"
    ))  # fmt: skip


async def test_an_erasure_racing_a_sign_in_leaves_no_link_to_the_erased_account(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, database_url: str,
    db: asyncpg.Connection,
) -> None:  # fmt: skip
    await signed_in(gotrue, browser)
    erased: uuid.UUID = await db.fetchval("SELECT id FROM auth_users")
    at_callback = await follow(browser, await start(gotrue), stop=callback_prefix(gotrue))
    eraser = await asyncpg.connect(database_url)
    try:
        # The erasure has deleted the account, and not committed yet, when the provider
        # sends the browser back: the sign-in waits for it.
        transaction = eraser.transaction()
        await transaction.start()
        await eraser.execute("DELETE FROM auth_users WHERE id = $1", erased)
        callback = asyncio.create_task(follow(browser, at_callback))
        await eventually(lambda: _waiting_for_a_lock(db), what="the sign-in waits")
        await transaction.commit()
        landed = await callback
    finally:
        await eraser.close()
    session = (await gotrue.exchange_code_for_session({"auth_code": query_of(landed)["code"]})
               ).session  # fmt: skip
    assert session is not None
    assert session.user.id != str(erased)
    assert await db.fetchval("SELECT count(*) FROM auth_identities WHERE user_id = $1",
                             erased) == 0  # fmt: skip
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 1


async def test_a_code_issued_before_an_erasure_does_not_redeem_after_it(
    gotrue: AsyncGoTrueClient, browser: aiohttp.ClientSession, db: asyncpg.Connection
) -> None:
    landed = await follow(browser, await start(gotrue))
    await db.execute("DELETE FROM auth_users")  # what an erasure does to the account
    with pytest.raises(AuthApiError) as refused:
        await gotrue.exchange_code_for_session({"auth_code": query_of(landed)["code"]})
    assert (refused.value.status, refused.value.code) == (404, "flow_state_not_found")
