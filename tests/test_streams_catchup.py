"""Catch-up is one path: SSE and WebSocket bring a subscriber up to date alike."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from api.keys import realtime_key
from tests.factories import add_jfk_departures
from tests.sse_client import SseReader
from tests.waiting import eventually

TOPIC = "board:JFK:departures"
Item = tuple[str, str | None, Any]


async def _sse_catch_up(client: TestClient, since: str | None) -> list[Item]:
    """What an SSE stream resuming from ``since`` gets before it falls silent."""
    headers = {"Last-Event-ID": since} if since else {}
    response = await client.get("/v1/streams/boards/JFK", headers=headers)
    reader, items = SseReader(response), []
    try:
        while True:
            event = await reader.next(wait=0.3)
            items.append((event.event, event.id, event.json()))
    except TimeoutError:
        return items
    finally:
        response.close()


async def _ws_catch_up(client: TestClient, since: str | None) -> tuple[str, list[Item]]:
    """The position a WebSocket subscription from ``since`` is told, and what follows it."""
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "subscribe", "topic": TOPIC, "since": since})
        subscribed = (await ws.receive(timeout=5)).json()
        assert subscribed["type"] == "subscribed", subscribed
        items: list[Item] = []
        try:
            while True:
                message = await ws.receive(timeout=0.3)
                assert message.type == WSMsgType.TEXT, message
                frame = message.json()
                assert frame["type"] == "event", frame
                assert frame["topic"] == TOPIC
                event_id = frame["id"]
                if frame["event"] == "reset":
                    # SSE's reset has no id line; a WebSocket frame always carries one.
                    assert event_id == subscribed["position"]
                    event_id = None
                items.append((frame["event"], event_id, frame["data"]))
        except TimeoutError:
            return subscribed["position"], items


@pytest.fixture
async def flights(db: asyncpg.Connection) -> list[int]:
    """Three legs on the JFK departures board."""
    return await add_jfk_departures(db, 3)


async def test_a_new_subscriber_gets_the_same_snapshot_on_both_transports(
    client: TestClient, flights: list[int]
) -> None:
    sse = await _sse_catch_up(client, None)
    position, ws = await _ws_catch_up(client, None)
    assert [(event, event_id) for event, event_id, _ in sse] == [("snapshot", position)]
    assert ws == sse


async def test_a_resume_replays_the_same_events_on_both_transports(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    since, _ = await _ws_catch_up(client, None)
    for n, gate in enumerate(("D1", "D2", "D3")):
        await db.execute("UPDATE flights SET departure_gate = $1 WHERE id = $2", gate, flights[n])
    newest = await db.fetchval("SELECT max(id) FROM change_events")
    hub = client.app[realtime_key].hub
    await eventually(lambda: hub.cursor >= newest, what="events published")
    sse = await _sse_catch_up(client, since)
    position, ws = await _ws_catch_up(client, since)
    assert [event for event, _, _ in sse] == ["flight.gate_changed"] * 3
    assert sse[-1][1] == position
    assert ws == sse


@pytest.mark.parametrize(
    ("since", "reason"),
    [("00000000:5", "epoch_changed"), ("{epoch}:1", "position_expired")],
)
async def test_a_reset_and_snapshot_are_the_same_on_both_transports(
    client: TestClient, db: asyncpg.Connection, flights: list[int], since: str, reason: str
) -> None:
    await db.execute("UPDATE change_log_state SET purged_through = 1000")
    since = since.format(epoch=client.app[realtime_key].hub.epoch)
    sse = await _sse_catch_up(client, since)
    position, ws = await _ws_catch_up(client, since)
    assert [(event, event_id) for event, event_id, _ in sse] == [
        ("reset", None),
        ("snapshot", position),
    ]
    assert sse[0][2] == {"reason": reason}
    assert ws == sse


async def test_a_position_ahead_of_the_hub_gets_nothing_before_live_on_both_transports(
    client: TestClient, flights: list[int]
) -> None:
    hub = client.app[realtime_key].hub
    ahead = f"{hub.epoch}:{hub.cursor + 100}"
    assert await _sse_catch_up(client, ahead) == []
    assert await _ws_catch_up(client, ahead) == (ahead, [])


async def test_an_event_published_during_catch_up_follows_the_snapshot_on_both_transports(
    client: TestClient, db: asyncpg.Connection, flights: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    realtime = client.app[realtime_key]
    hub, build_snapshot = realtime.hub, realtime.snapshots.get
    gates = iter(("E1", "E2"))

    async def snapshot_then_an_update(topic: str, build: Any) -> bytes:
        data = await build_snapshot(topic, build)
        # Subscribed before the plan: the hub holds this event until the snapshot is out.
        assert hub.subscriber_count(TOPIC) == 1
        await db.execute(
            "UPDATE flights SET departure_gate = $1 WHERE id = $2", next(gates), flights[0]
        )
        newest = await db.fetchval("SELECT max(id) FROM change_events")
        await eventually(lambda: hub.cursor >= newest, what="event published")
        return data

    monkeypatch.setattr(realtime.snapshots, "get", snapshot_then_an_update)
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "subscribe", "topic": TOPIC})
        assert (await ws.receive(timeout=5)).json()["type"] == "subscribed"
        assert (await ws.receive(timeout=5)).json()["event"] == "snapshot"
        ws_live = (await ws.receive(timeout=5)).json()
    await eventually(lambda: hub.subscriber_count(TOPIC) == 0, what="WebSocket unsubscribed")
    response = await client.get("/v1/streams/boards/JFK")
    reader = SseReader(response)
    assert (await reader.next()).event == "snapshot"
    sse_live = await reader.next()
    response.close()
    assert ws_live["data"]["changes"] == {"departure_gate": ["A1", "E1"]}
    assert sse_live.json()["changes"] == {"departure_gate": ["E1", "E2"]}
    assert ws_live["event"] == sse_live.event == "flight.gate_changed"


async def test_a_websocket_catch_up_that_fails_leaves_no_subscription_behind(
    client: TestClient, flights: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    realtime = client.app[realtime_key]
    subscribed_while_failing = []

    async def broken(topic: str, build: object) -> bytes:
        subscribed_while_failing.append(realtime.hub.subscriber_count(TOPIC))
        raise RuntimeError("snapshot failed")

    monkeypatch.setattr(realtime.snapshots, "get", broken)
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "subscribe", "topic": TOPIC})
        assert (await ws.receive(timeout=5)).json()["type"] == "subscribed"
        assert (await ws.receive(timeout=5)).json()["code"] == "internal_error"
        assert subscribed_while_failing == [1]
        assert realtime.hub.subscriber_count(TOPIC) == 0
        # The topic is free again: subscribing anew is not "already_subscribed".
        monkeypatch.undo()
        await ws.send_json({"type": "subscribe", "topic": TOPIC})
        assert (await ws.receive(timeout=5)).json()["type"] == "subscribed"
        assert (await ws.receive(timeout=5)).json()["event"] == "snapshot"
