"""WebSocket identity: real-sized tokens, and refreshing a session before it expires."""

from __future__ import annotations

import asyncio
import time
import uuid

import jwt
from aiohttp.test_utils import TestClient

from tests.test_streams_ws import receive, subscribe
from tests.tokens import access_token

# What a sign-in issues: metadata, amr and session claims make tokens of 400-700 chars.
CLAIMS = {
    "email": "ada.lovelace@example.com",
    "phone": "",
    "app_metadata": {"provider": "email", "providers": ["email"]},
    "user_metadata": {"email_verified": True, "full_name": "Augusta Ada King, Countess"},
    "aal": "aal1",
    "amr": [{"method": "password", "timestamp": 1764077191}],
    "session_id": str(uuid.uuid4()),
    "is_anonymous": False,
}


def real_token(user: uuid.UUID, ttl: float = 3600) -> str:
    return access_token(user, ttl=ttl, **CLAIMS)


async def test_a_real_sized_token_authenticates(client: TestClient) -> None:
    owner = uuid.uuid4()
    token = real_token(owner)
    assert 400 < len(token) < 8192
    expires_at = jwt.decode(token, options={"verify_signature": False})["exp"]
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": token})
        authenticated = await receive(ws)
        assert (authenticated["type"], authenticated["user_id"]) == ("authenticated", str(owner))
        assert authenticated["expires_at"] == expires_at  # the token's own exp
        await subscribe(ws, f"user:{owner}")


async def test_a_token_over_8_kib_is_refused_and_the_connection_stays_usable(
    client: TestClient,
) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": "x" * 8193})
        error = await receive(ws)
        assert (error["type"], error["code"]) == ("error", "invalid_message")
        await ws.send_json({"type": "subscribe", "topic": "t" * 257})
        assert (await receive(ws))["code"] == "invalid_message"  # topics keep their 256
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_a_fresh_token_before_expiry_keeps_private_subscriptions(
    client: TestClient,
) -> None:
    owner = uuid.uuid4()
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": real_token(owner, ttl=1)})
        first = await receive(ws)
        await subscribe(ws, f"user:{owner}")
        await receive(ws)  # snapshot
        await ws.send_json({"type": "auth", "token": real_token(owner)})
        refreshed = await receive(ws)
        assert refreshed["type"] == "authenticated"
        assert refreshed["user_id"] == str(owner)
        assert refreshed["expires_at"] > first["expires_at"] + 3000
        # Once the old token's expiry has passed (the server's timer and this test share
        # one event loop, so a timer still set for it has fired by now), a ping's answer
        # is the next frame: no token_expired came before it.
        await asyncio.sleep(max(0.0, first["expires_at"] - time.time()) + 0.05)
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}
        await ws.send_json({"type": "unsubscribe", "topic": f"user:{owner}"})
        assert (await receive(ws))["type"] == "unsubscribed"


async def test_a_fresh_token_of_another_user_is_refused(client: TestClient) -> None:
    owner = uuid.uuid4()
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": real_token(owner)})
        await receive(ws)
        await ws.send_json({"type": "auth", "token": real_token(uuid.uuid4())})
        error = await receive(ws)
        assert (error["code"], error["message"]) == (
            "unauthorized",
            "A connection keeps one identity.",
        )
        await subscribe(ws, f"user:{owner}")  # still the first user
