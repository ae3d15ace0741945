"""Erasure ends the account: no sign-in, no refresh, no old token, ticket or stream,
on any worker; in one transaction, and again without harm."""

from __future__ import annotations

import time
import uuid
from typing import Any

import asyncpg
import jwt
import pytest
from aiohttp import ClientWebSocketResponse
from aiohttp.test_utils import TestClient
from argon2 import PasswordHasher
from argon2.profiles import CHEAPEST

from api.keys import pool_key
from domain.identity.accounts import passwords
from domain.profiles import erase_user_data
from foundation.settings import Settings
from server.app import create_app
from tests.booking_helpers import booking_body, offer_for
from tests.problems import assert_problem
from tests.sse_client import SseReader
from tests.test_gotrue import assert_gotrue_error
from tests.tokens import TEST_JWT_SECRET, access_token
from tests.waiting import eventually

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery"


@pytest.fixture(autouse=True)
def cheap_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2id at its cheapest, for speed."""
    monkeypatch.setattr(passwords, "HASHER", PasswordHasher.from_parameters(CHEAPEST))


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def _sign_up(client: TestClient) -> dict[str, Any]:
    response = await client.post("/auth/v1/signup", json={"email": EMAIL, "password": PASSWORD})
    assert response.status == 200, await response.text()
    session: dict[str, Any] = await response.json()
    return session


async def _ticket(client: TestClient, token: str) -> str:
    response = await client.post("/v1/streams/tickets", headers=_bearer(token))
    assert response.status == 201, await response.text()
    return str((await response.json())["ticket"])


async def _until_event(reader: SseReader, name: str) -> dict[str, Any]:
    """Skip live events (the booking's) until ``name`` arrives."""
    for _ in range(50):
        event = await reader.next(wait=10)
        if event.event == name:
            data: dict[str, Any] = event.json()
            return data
    raise AssertionError(f"no {name} event")


async def _until_frame(ws: ClientWebSocketResponse, kind: str) -> dict[str, Any]:
    for _ in range(50):
        frame: dict[str, Any] = await ws.receive_json(timeout=10)
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


async def test_erasure_ends_sign_in_refresh_tokens_tickets_and_streams(
    client: TestClient, db: asyncpg.Connection, search_world: dict[str, int]
) -> None:
    session = await _sign_up(client)
    token = session["access_token"]
    user_id = uuid.UUID(session["user"]["id"])
    headers = {**_bearer(token), "Idempotency-Key": uuid.uuid4().hex}
    booked = await client.post("/v1/bookings", json=booking_body(await offer_for(client)),
                               headers=headers)  # fmt: skip
    assert booked.status == 201, await booked.text()
    recover = await client.post("/auth/v1/recover", json={"email": EMAIL})
    assert recover.status == 200
    unused_ticket = await _ticket(client, token)
    stream = SseReader(
        await client.get("/v1/streams/me", params={"ticket": await _ticket(client, token)})
    )
    assert (await stream.next()).event == "snapshot"
    ws = await client.ws_connect("/v1/ws")
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=5))["type"] == "authenticated"
    await ws.send_json({"type": "subscribe", "topic": f"user:{user_id}"})
    assert (await ws.receive_json(timeout=5))["type"] == "subscribed"

    await db.execute(
        "INSERT INTO mail_undeliverable (address, reason) VALUES (lower($1), '550')", EMAIL
    )
    assert (await client.delete("/v1/me", headers=_bearer(token))).status == 204

    signed_in = await client.post(
        "/auth/v1/token?grant_type=password", json={"email": EMAIL, "password": PASSWORD}
    )
    await assert_gotrue_error(signed_in, 400, "invalid_credentials")
    refreshed = await client.post(
        "/auth/v1/token?grant_type=refresh_token",
        json={"refresh_token": session["refresh_token"]},
    )
    await assert_gotrue_error(refreshed, 400, "refresh_token_not_found")
    await assert_problem(await client.get("/v1/me", headers=_bearer(token)), 401)
    await assert_gotrue_error(
        await client.get("/auth/v1/user", headers=_bearer(token)), 403, "user_not_found"
    )
    await assert_problem(await client.post("/v1/streams/tickets", headers=_bearer(token)), 401)
    await assert_problem(await client.get("/v1/streams/me", params={"ticket": unused_ticket}), 401)
    assert (await _until_event(stream, "error"))["code"] == "token_revoked"
    assert (await _until_frame(ws, "error"))["code"] == "token_revoked"
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=5))["code"] == "unauthorized"
    await ws.close()

    # Nothing of the account is left to come back with; the profile was not recreated.
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 0
    assert await db.fetchval("SELECT count(*) FROM auth_sessions") == 0
    assert await db.fetchval("SELECT count(*) FROM auth_refresh_tokens") == 0
    assert await db.fetchval("SELECT count(*) FROM auth_recovery_tokens") == 0
    assert await db.fetchval("SELECT count(*) FROM mail_outbox") == 0
    assert await db.fetchval("SELECT count(*) FROM mail_undeliverable") == 0
    assert await db.fetchval("SELECT count(*) FROM stream_tickets") == 0
    profile = await db.fetchrow("SELECT email, erased_at FROM profiles WHERE user_id = $1", user_id)
    assert profile["email"] is None
    assert profile["erased_at"] is not None
    # The address is free again: signing up makes a new, unrelated account.
    again = await _sign_up(client)
    assert again["user"]["id"] != str(user_id)


async def test_another_worker_refuses_the_old_token_and_ends_its_stream(
    aiohttp_client: Any, settings: Settings, client: TestClient
) -> None:
    """The erasure runs on one worker; the other, which has already seen and cached the
    token, refuses it once notified, and ends the private streams it serves."""
    other: TestClient = await aiohttp_client(create_app(settings))  # another worker
    session = await _sign_up(client)
    token = session["access_token"]
    user_id = session["user"]["id"]
    assert (await other.get("/v1/me", headers=_bearer(token))).status == 200
    stream = SseReader(await other.get("/v1/streams/me", headers=_bearer(token)))
    assert (await stream.next()).event == "snapshot"
    ws = await other.ws_connect("/v1/ws")
    await ws.send_json({"type": "auth", "token": token})
    assert (await ws.receive_json(timeout=5))["type"] == "authenticated"
    await ws.send_json({"type": "subscribe", "topic": f"user:{user_id}"})
    assert (await ws.receive_json(timeout=5))["type"] == "subscribed"

    assert (await client.delete("/v1/me", headers=_bearer(token))).status == 204

    async def refused() -> bool:
        return (await other.get("/v1/me", headers=_bearer(token))).status == 401

    await eventually(refused, what="the other worker refusing the erased user's token")
    assert (await _until_event(stream, "error"))["code"] == "token_revoked"
    assert (await _until_frame(ws, "error"))["code"] == "token_revoked"
    await ws.close()


async def test_erasure_without_a_builtin_account_revokes_the_tokens_issued_before_it(
    client: TestClient, db: asyncpg.Connection
) -> None:
    """Users of Supabase Auth have no auth_users row: their data is erased and Skybound
    refuses their tokens from before; a token issued later (a new sign-in) works."""
    user_id = uuid.uuid4()
    old = access_token(user_id, email=EMAIL)
    assert (await client.get("/v1/me", headers=_bearer(old))).status == 200
    assert (await client.delete("/v1/me", headers=_bearer(old))).status == 204
    await assert_problem(await client.get("/v1/me", headers=_bearer(old)), 401)
    claims = {"sub": str(user_id), "aud": "authenticated", "exp": int(time.time()) + 60}
    undated = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256")  # no iat: may be older
    await assert_problem(await client.get("/v1/me", headers=_bearer(undated)), 401)
    later = access_token(user_id, iat=int(time.time()) + 2)
    assert (await client.get("/v1/me", headers=_bearer(later))).status == 200
    assert await db.fetchval("SELECT count(*) FROM token_revocations") == 1


async def test_erasure_is_one_transaction_and_idempotent(
    client: TestClient, db: asyncpg.Connection
) -> None:
    session = await _sign_up(client)
    token = session["access_token"]
    user_id = uuid.UUID(session["user"]["id"])
    assert (await client.patch("/v1/me", json={"given_name": "Ada"},
                               headers=_bearer(token))).status == 200  # fmt: skip
    # A failure after the profile is erased (here: deleting the account) undoes it all.
    await db.execute(
        """CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS
           $$ BEGIN RAISE EXCEPTION 'refused'; END $$;
           CREATE TRIGGER refuse BEFORE DELETE ON auth_users
           FOR EACH ROW EXECUTE FUNCTION refuse()"""
    )
    with pytest.raises(asyncpg.RaiseError):
        await erase_user_data(client.app[pool_key], user_id)
    profile = await db.fetchrow("SELECT * FROM profiles WHERE user_id = $1", user_id)
    assert profile["given_name"] == "Ada"
    assert profile["erased_at"] is None
    assert await db.fetchval("SELECT count(*) FROM token_revocations") == 0
    assert (await client.get("/v1/me", headers=_bearer(token))).status == 200

    await db.execute("DROP TRIGGER refuse ON auth_users")
    await erase_user_data(client.app[pool_key], user_id)
    await erase_user_data(client.app[pool_key], user_id)  # again: nothing to undo, no error
    assert await db.fetchval("SELECT count(*) FROM auth_users") == 0
    profile = await db.fetchrow("SELECT * FROM profiles WHERE user_id = $1", user_id)
    assert profile["given_name"] is None
    await assert_problem(await client.get("/v1/me", headers=_bearer(token)), 401)
