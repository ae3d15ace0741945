"""WebSocket transport: subscribe, resume, private topics, errors and limits."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from foundation.settings import Settings
from server.app import create_app
from tests.factories import add_flight, add_world
from tests.tokens import access_token


@pytest.fixture
async def flights(db: asyncpg.Connection) -> list[int]:
    """Two legs out of JFK on the live board."""
    await add_world(db)
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        await add_flight(db, origin="JFK", destination="LHR", number=n, departure_gate="A1",
                         departure=now + timedelta(hours=n))
        for n in (1, 2)
    ]  # fmt: skip


async def receive(ws: aiohttp.ClientWebSocketResponse, wait: float = 5.0) -> dict[str, Any]:
    message = await ws.receive(timeout=wait)
    assert message.type == WSMsgType.TEXT, message
    return dict(message.json())


async def expect_nothing(ws: aiohttp.ClientWebSocketResponse, wait: float = 0.3) -> None:
    with pytest.raises(asyncio.TimeoutError):
        await ws.receive(timeout=wait)


async def subscribe(
    ws: aiohttp.ClientWebSocketResponse, topic: str, since: str | None = None
) -> dict[str, Any]:
    await ws.send_json({"type": "subscribe", "topic": topic, "since": since})
    subscribed = await receive(ws)
    assert subscribed["type"] == "subscribed", subscribed
    return subscribed


async def test_subscribe_gets_snapshot_then_live_events(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        subscribed = await subscribe(ws, "board:JFK:departures")
        snapshot = await receive(ws)
        assert snapshot["event"] == "snapshot"
        assert snapshot["id"] == subscribed["position"]
        assert [f["id"] for f in snapshot["data"]["flights"]] == flights

        await db.execute("UPDATE flights SET departure_gate = 'B9' WHERE id = $1", flights[0])
        event = await receive(ws)
        assert event["type"] == "event"
        assert event["topic"] == "board:JFK:departures"
        assert event["event"] == "flight.gate_changed"
        assert event["data"]["changes"] == {"departure_gate": ["A1", "B9"]}


async def test_one_connection_many_topics_each_event_tagged(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        await subscribe(ws, "board:JFK:departures")
        await receive(ws)
        await subscribe(ws, f"flight:{flights[0]}")
        await receive(ws)
        await db.execute("UPDATE flights SET status = 'boarding' WHERE id = $1", flights[0])
        got = {(await receive(ws))["topic"] for _ in range(2)}
        assert got == {"board:JFK:departures", f"flight:{flights[0]}"}


async def test_since_replays_missed_events(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        position = (await subscribe(ws, f"flight:{flights[1]}"))["position"]
    for gate in ("C1", "C2"):
        await db.execute("UPDATE flights SET departure_gate = $1 WHERE id = $2", gate, flights[1])
    async with client.ws_connect("/v1/ws") as ws:
        await subscribe(ws, f"flight:{flights[1]}", since=position)
        gates = [(await receive(ws))["data"]["flight"]["departure"]["gate"] for _ in range(2)]
        assert gates == ["C1", "C2"]
        await expect_nothing(ws)


async def test_unsubscribe_stops_delivery(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        await subscribe(ws, "board:JFK:departures")
        await receive(ws)
        await ws.send_json({"type": "unsubscribe", "topic": "board:JFK:departures"})
        assert await receive(ws) == {"type": "unsubscribed", "topic": "board:JFK:departures"}
        await db.execute("UPDATE flights SET departure_gate = 'Q1' WHERE id = $1", flights[0])
        await expect_nothing(ws)


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ("not json", "invalid_message"),
        ("[1, 2]", "invalid_message"),
        ('{"type": "dance"}', "unknown_type"),
        ('{"type": "subscribe"}', "invalid_message"),
        ('{"type": "subscribe", "topic": "weather:JFK"}', "invalid_topic"),
        ('{"type": "subscribe", "topic": "board:QQQ:departures"}', "not_found"),
        ('{"type": "subscribe", "topic": "flight:987654"}', "not_found"),
        ('{"type": "subscribe", "topic": "flight:1", "since": "yesterday"}', "invalid_position"),
        ('{"type": "unsubscribe", "topic": "flight:1"}', "not_subscribed"),
        ('{"type": "auth", "token": "nope"}', "unauthorized"),
    ],
)
async def test_bad_messages_get_an_error_frame_and_the_connection_stays_usable(
    client: TestClient, flights: list[int], message: str, code: str
) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_str(message)
        error = await receive(ws)
        assert error["type"] == "error"
        assert error["code"] == code
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_topic_limit_per_connection(
    aiohttp_client: Any, settings: Settings, flights: list[int]
) -> None:
    client = await aiohttp_client(create_app(settings.model_copy(update={"ws_max_topics": 1})))
    async with client.ws_connect("/v1/ws") as ws:
        await subscribe(ws, f"flight:{flights[0]}")
        await receive(ws)
        await ws.send_json({"type": "subscribe", "topic": f"flight:{flights[1]}"})
        assert (await receive(ws))["code"] == "too_many_topics"


async def test_binary_frame_closes_with_1003(client: TestClient) -> None:
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_bytes(b"\x00\x01")
        message = await ws.receive(timeout=5)
        assert message.type == WSMsgType.CLOSE
        assert ws.close_code == 1003


async def test_oversized_frame_closes_with_1009(aiohttp_client: Any, settings: Settings) -> None:
    app = create_app(settings.model_copy(update={"ws_max_message_bytes": 1024}))
    client = await aiohttp_client(app)
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_str("x" * 4096)
        message = await ws.receive(timeout=5)
        assert message.type == WSMsgType.CLOSE
        assert ws.close_code == 1009


async def test_private_topic_needs_the_owners_token(
    client: TestClient, db: asyncpg.Connection
) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    topic = f"user:{owner}"
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "subscribe", "topic": topic})
        assert (await receive(ws))["code"] == "unauthorized"

        await ws.send_json({"type": "auth", "token": access_token(stranger)})
        assert (await receive(ws))["type"] == "authenticated"
        await ws.send_json({"type": "subscribe", "topic": topic})
        # Another user's topic looks exactly like one that does not exist.
        assert (await receive(ws))["code"] == "not_found"

    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": access_token(owner)})
        assert (await receive(ws))["user_id"] == str(owner)
        await subscribe(ws, topic)
        snapshot = await receive(ws)
        assert snapshot["data"] == {"user_id": str(owner), "bookings": []}
        await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", owner)
        await db.execute(
            "INSERT INTO bookings (record_locator, user_id, total_minor, currency)"
            " VALUES ('ABC123', $1, 45000, 'USD')",
            owner,
        )
        event = await receive(ws)
        assert event["event"] == "booking.created"
        assert event["data"]["booking"]["record_locator"] == "ABC123"


async def test_private_subscriptions_end_when_the_token_expires(client: TestClient) -> None:
    owner = uuid.uuid4()
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "auth", "token": access_token(owner)})
        await receive(ws)
        await subscribe(ws, f"user:{owner}")
        await receive(ws)  # snapshot
        # The connection's next token is past its exp (within the verifier's leeway), so it
        # expires as it is adopted: nothing has to happen before a clock runs out.
        await ws.send_json({"type": "auth", "token": access_token(owner, ttl=-5)})
        assert (await receive(ws))["type"] == "authenticated"
        expired = await receive(ws)
        assert expired == {
            "type": "error",
            "code": "token_expired",
            "message": "Send a fresh token and subscribe again.",
            "topic": f"user:{owner}",
        }
        # The connection itself stays usable.
        await ws.send_json({"type": "ping"})
        assert await receive(ws) == {"type": "pong"}


async def test_shutdown_closes_with_1012(
    aiohttp_server: Any, settings: Settings, flights: list[int]
) -> None:
    server = await aiohttp_server(create_app(settings))
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(server.make_url("/v1/ws"))
        await subscribe(ws, f"flight:{flights[0]}")
        await receive(ws)
        closing = asyncio.create_task(server.close())
        message = await ws.receive(timeout=10)
        assert message.type == WSMsgType.CLOSE
        assert ws.close_code == 1012
        await ws.close()
        await closing
