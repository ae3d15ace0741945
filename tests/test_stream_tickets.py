"""Stream tickets: single use, short-lived, and the session ends when the token does."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from tests.problems import assert_problem
from tests.sse_client import SseReader
from tests.tokens import access_token


async def _ticket(client: TestClient, user: uuid.UUID, ttl: float = 3600) -> str:
    response = await client.post(
        "/v1/streams/tickets", headers={"Authorization": f"Bearer {access_token(user, ttl=ttl)}"}
    )
    assert response.status == 201
    body = await response.json()
    assert body["ticket"].startswith("st_")
    return str(body["ticket"])


async def test_ticket_needs_a_token(client: TestClient) -> None:
    await assert_problem(await client.post("/v1/streams/tickets"), 401)


async def test_ticket_opens_the_private_stream_once(client: TestClient) -> None:
    user = uuid.uuid4()
    ticket = await _ticket(client, user)
    response = await client.get("/v1/streams/me", params={"ticket": ticket})
    snapshot = await SseReader(response).next()
    assert snapshot.event == "snapshot"
    assert snapshot.json()["user_id"] == str(user)
    response.close()
    # A ticket is single use: a leaked URL cannot be replayed.
    replay = await client.get("/v1/streams/me", params={"ticket": ticket})
    await assert_problem(replay, 401)


async def test_expired_or_unknown_ticket_is_401(client: TestClient, db: asyncpg.Connection) -> None:
    ticket = await _ticket(client, uuid.uuid4())
    await db.execute("UPDATE stream_tickets SET expires_at = now() - interval '1 second'")
    await assert_problem(await client.get("/v1/streams/me", params={"ticket": ticket}), 401)
    await assert_problem(await client.get("/v1/streams/me", params={"ticket": "st_madeup"}), 401)


async def test_ticket_is_stored_only_as_a_hash(client: TestClient, db: asyncpg.Connection) -> None:
    ticket = await _ticket(client, uuid.uuid4())
    stored = await db.fetchval("SELECT ticket_hash FROM stream_tickets")
    assert ticket.encode() not in stored
    assert len(stored) == 32


async def test_stream_ends_with_token_expired_when_the_session_does(
    client: TestClient, db: asyncpg.Connection
) -> None:
    ticket = await _ticket(client, uuid.uuid4())
    # The token behind the ticket ends a second from now. Set here rather than by a token
    # of a short ttl, whose ticket a slow start could outlive before opening the stream.
    await db.execute("UPDATE stream_tickets SET session_expires_at = now() + interval '1 second'")
    reader = SseReader(await client.get("/v1/streams/me", params={"ticket": ticket}))
    events = [await reader.next(wait=10)]
    while events[-1].event != "error":
        events.append(await reader.next(wait=10))
    # The snapshot first, unless the session had already ended when the stream opened.
    assert [event.event for event in events] in (["snapshot", "error"], ["error"])
    assert events[-1].json()["code"] == "token_expired"


async def test_websocket_authenticates_with_a_ticket(client: TestClient) -> None:
    user = uuid.uuid4()
    ticket = await _ticket(client, user)
    async with client.ws_connect(f"/v1/ws?ticket={ticket}") as ws:
        hello = await ws.receive_json(timeout=5)
        assert hello["type"] == "authenticated"
        assert hello["user_id"] == str(user)
        await ws.send_json({"type": "subscribe", "topic": f"user:{user}"})
        assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
    async with client.ws_connect(f"/v1/ws?ticket={ticket}") as ws:
        refused = await ws.receive_json(timeout=5)
        assert refused["code"] == "unauthorized"
        await ws.send_json({"type": "ping"})
        message = await asyncio.wait_for(ws.receive(), 5)
        assert message.type == WSMsgType.TEXT
