"""Streams when one commit releases many events at once (a bulk update): order, topics,
resumable ids and slow consumers, through the real listener and hub."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from api.keys import realtime_key
from foundation.settings import Settings
from server.app import create_app
from streams.events import ChangeEvent
from streams.hub import Hub
from tests.factories import add_flight, add_world
from tests.sse_client import SseEvent, SseReader
from tests.waiting import eventually

JFK_BOARD = "board:JFK:departures"
LHR_BOARD = "board:LHR:departures"
BULK_GATES = (
    "UPDATE flights SET departure_gate = $1 || '-' || id::text WHERE id = ANY($2::bigint[])"
)


@pytest.fixture
async def jfk(db: asyncpg.Connection) -> list[int]:
    """Six legs out of JFK and two out of LHR (returned by ``lhr``), all on the live boards."""
    await add_world(db)
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        await add_flight(db, origin="JFK", destination="LHR", number=n, departure_gate="A1",
                         departure=now + timedelta(minutes=20 * n))
        for n in range(1, 7)
    ]  # fmt: skip


@pytest.fixture
async def lhr(db: asyncpg.Connection, jfk: list[int]) -> list[int]:
    """Two legs out of LHR on its live board."""
    now = datetime.now(UTC).replace(microsecond=0)
    return [
        await add_flight(db, origin="LHR", destination="CDG", number=50 + n, departure_gate="L1",
                         departure=now + timedelta(minutes=30 * n))
        for n in range(1, 3)
    ]  # fmt: skip


@pytest.fixture
def batches(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Sizes of the batches the hub publishes (so a test knows its events came as one)."""
    hub: Hub = client.app[realtime_key].hub
    sizes: list[int] = []
    publish = hub.publish_batch

    def recording(events: Sequence[ChangeEvent]) -> None:
        sizes.append(len(events))
        publish(events)

    monkeypatch.setattr(hub, "publish_batch", recording)
    return sizes


async def bulk_update(db: asyncpg.Connection, *statements: tuple[str, list[int]]) -> None:
    """One transaction of gate changes: one NOTIFY, so the listener releases them together."""
    async with db.transaction():
        for gate, flight_ids in statements:
            await db.execute(BULK_GATES, gate, flight_ids)


async def logged(db: asyncpg.Connection, topic: str) -> list[tuple[str, str]]:
    """(position, gate) of every event of ``topic`` in the change log, in id order."""
    epoch = await db.fetchval("SELECT epoch FROM change_log_state")
    rows = await db.fetch(
        "SELECT id, payload -> 'flight' ->> 'departure_gate' AS gate FROM change_events"
        " WHERE topics @> ARRAY[$1::text] ORDER BY id",
        topic,
    )
    return [(f"{epoch}:{r['id']}", r["gate"]) for r in rows]


def gate(event: SseEvent) -> tuple[str, str]:
    return event.id or "", event.json()["flight"]["departure"]["gate"]


async def open_stream(client: TestClient, path: str, last_id: str | None = None) -> SseReader:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    reader = SseReader(await client.get(path, headers=headers))
    if last_id is None:
        assert (await reader.next()).event == "snapshot"
    return reader


async def test_a_bulk_update_reaches_every_board_client_whole_and_in_id_order(
    client: TestClient, db: asyncpg.Connection, jfk: list[int], batches: list[int]
) -> None:
    readers = [await open_stream(client, "/v1/streams/boards/JFK") for _ in range(3)]
    await bulk_update(db, ("P", jfk), ("Q", jfk), ("R", jfk[:2]))
    expected = await logged(db, JFK_BOARD)
    assert len(expected) == 14
    for reader in readers:
        assert [gate(await reader.next()) for _ in range(14)] == expected
        await reader.expect_silence()
    assert batches == [14]
    # Each flight's versions arrive in order too.
    assert [g for _, g in expected if g.endswith(f"-{jfk[0]}")] == [
        f"P-{jfk[0]}",
        f"Q-{jfk[0]}",
        f"R-{jfk[0]}",
    ]


async def test_subscribers_of_some_of_a_batchs_topics_get_only_those(
    client: TestClient, db: asyncpg.Connection, jfk: list[int], lhr: list[int], batches: list[int]
) -> None:
    flight = await open_stream(client, f"/v1/streams/flights/{jfk[0]}")
    london = await open_stream(client, "/v1/streams/boards/LHR")
    await bulk_update(db, ("P", jfk + lhr), ("Q", [jfk[0], lhr[1]]))
    assert [gate(await flight.next()) for _ in range(2)] == await logged(db, f"flight:{jfk[0]}")
    assert [gate(await london.next()) for _ in range(3)] == await logged(db, LHR_BOARD)
    await flight.expect_silence()
    await london.expect_silence()
    assert batches == [10]


async def test_a_connection_with_several_topics_gets_a_batch_in_publication_order(
    client: TestClient, db: asyncpg.Connection, jfk: list[int], lhr: list[int], batches: list[int]
) -> None:
    topics = [f"flight:{lhr[0]}", JFK_BOARD, f"flight:{jfk[1]}"]
    async with client.ws_connect("/v1/ws") as ws:
        for topic in topics:
            await ws.send_json({"type": "subscribe", "topic": topic})
            assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
            assert (await ws.receive_json(timeout=5))["event"] == "snapshot"
        await bulk_update(db, ("P", lhr + jfk), ("Q", [jfk[1], lhr[0]]))
        epoch = await db.fetchval("SELECT epoch FROM change_log_state")
        rows = await db.fetch("SELECT id, topics FROM change_events ORDER BY id")
        # Per event, one frame for each subscribed topic it carries, in the order it lists them.
        expected = [
            (topic, f"{epoch}:{row['id']}")
            for row in rows
            for topic in row["topics"]
            if topic in topics
        ]
        assert len(expected) == 6 + 2 + 1 + 2
        got = []
        for _ in expected:
            frame = await ws.receive_json(timeout=5)
            got.append((frame["topic"], frame["id"]))
        assert got == expected
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)
    assert batches == [10]


async def test_ids_after_a_batch_resume_exactly_where_a_client_left(
    client: TestClient, db: asyncpg.Connection, jfk: list[int], batches: list[int]
) -> None:
    reader = await open_stream(client, "/v1/streams/boards/JFK")
    await bulk_update(db, ("P", jfk), ("Q", jfk))
    events = [await reader.next() for _ in range(12)]
    assert batches == [12]
    reader.response.close()
    ids = [int((e.id or "").split(":")[1]) for e in events]
    assert ids == sorted(set(ids))
    expected = await logged(db, JFK_BOARD)
    assert [gate(e) for e in events] == expected

    # Left in the middle of the batch: the rest of it, nothing before, nothing twice.
    middle = await open_stream(client, "/v1/streams/boards/JFK", last_id=events[4].id)
    assert [gate(await middle.next()) for _ in range(7)] == expected[5:]
    await middle.expect_silence()
    middle.response.close()

    # Had it all: nothing is replayed, and live events follow.
    caught_up = await open_stream(client, "/v1/streams/boards/JFK", last_id=events[-1].id)
    await caught_up.expect_silence()
    await db.execute("UPDATE flights SET departure_gate = 'Z9' WHERE id = $1", jfk[3])
    assert gate(await caught_up.next()) == (await logged(db, JFK_BOARD))[-1]
    caught_up.response.close()


def _sse_fields(raw: bytes) -> list[tuple[str, str]]:
    """(event type, id) of every event in a raw chunked SSE body, in order."""
    fields = []
    event_id = ""
    for line in raw.decode(errors="replace").split("\n"):
        if match := re.fullmatch(r"id: (.+)", line):
            event_id = match[1]
        elif match := re.fullmatch(r"event: (.+)", line):
            fields.append((match[1], event_id))
            event_id = ""
    return fields


async def test_a_batch_that_overflows_a_stalled_clients_buffer_disconnects_it(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection, jfk: list[int]
) -> None:
    app = create_app(settings.model_copy(update={"stream_buffer_bytes": 16_384}))
    client = await aiohttp_client(app)
    healthy = await open_stream(client, "/v1/streams/boards/JFK")

    # A client that sends its request and never reads, with a tiny receive buffer.
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(stalled, (client.host, client.port))
    await loop.sock_sendall(stalled, b"GET /v1/streams/boards/JFK HTTP/1.1\r\nHost: test\r\n\r\n")
    hub = app[realtime_key].hub
    await eventually(
        lambda: (
            hub.subscriber_count(JFK_BOARD) >= 2
            and all(s.pending is None for s in hub.subscriptions())
        ),
        what="the stalled client going live",
    )
    # Cap the stalled connection's server side as a slow network would (loopback send
    # buffers autotune to megabytes), so its unsent bytes pile up in the transport.
    client_port = stalled.getsockname()[1]
    for subscription in hub.subscriptions():
        server_socket = subscription.sink._transport.get_extra_info("socket")  # type: ignore[attr-defined]
        if server_socket.getpeername()[1] == client_port:
            server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

    # One commit, 48 events of about 1 KB: three times the buffer, released at once.
    await bulk_update(db, *((f"G{n}", jfk) for n in range(8)))
    expected = await logged(db, JFK_BOARD)
    assert len(expected) == 48
    assert [gate(await healthy.next()) for _ in range(48)] == expected
    assert hub.slow_disconnects == 1
    # Its handler unsubscribes it.
    await eventually(
        lambda: hub.subscriber_count(JFK_BOARD) == 1, what="the stalled client leaving"
    )

    # The stalled client got a prefix of the batch, then the farewell, then the end.
    raw = b""
    while chunk := await asyncio.wait_for(loop.sock_recv(stalled, 65536), 10):
        raw += chunk
    stalled.close()
    fields = _sse_fields(raw)
    assert fields[0][0] == "snapshot"
    assert fields[-1] == ("error", "")
    assert b'"code":"slow_consumer"' in raw
    got = [event_id for _, event_id in fields[1:-1]]
    assert 0 < len(got) < 48
    assert got == [position for position, _ in expected[: len(got)]]

    # Resuming from its last id gets exactly the rest of the batch.
    resumed = await open_stream(client, "/v1/streams/boards/JFK", last_id=got[-1])
    rest = [gate(await resumed.next()) for _ in range(48 - len(got))]
    assert rest == expected[len(got) :]
    await resumed.expect_silence()
    resumed.response.close()


async def test_slow_consumer_over_websocket_closes_with_1013_after_a_batch(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection, jfk: list[int]
) -> None:
    app = create_app(settings.model_copy(update={"stream_buffer_bytes": 2048}))
    client = await aiohttp_client(app)
    async with aiohttp.ClientSession() as session:
        ws = await session.ws_connect(client.make_url("/v1/ws"))
        await ws.send_json({"type": "subscribe", "topic": f"flight:{jfk[0]}"})
        assert (await ws.receive_json(timeout=5))["type"] == "subscribed"
        assert (await ws.receive_json(timeout=5))["event"] == "snapshot"
        hub = app[realtime_key].hub
        # The client shares this event loop, so it reads nothing while the batch is written:
        # 200 events of about 1 KB overflow its receive window, the capped send buffer and
        # the 2 KB limit.
        for subscription in hub.subscriptions():
            server_socket = subscription.sink._transport.get_extra_info("socket")  # type: ignore[attr-defined]
            server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        await bulk_update(db, *((f"W{n}", [jfk[0]]) for n in range(200)))
        frames = 0
        while (message := await ws.receive(timeout=10)).type == WSMsgType.TEXT:
            assert message.json()["event"] == "flight.gate_changed"
            frames += 1
        assert message.type == WSMsgType.CLOSE
        assert ws.close_code == 1013
        assert hub.slow_disconnects == 1
        assert 0 < frames < 200
        await ws.close()
