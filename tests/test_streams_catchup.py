"""Catch-up is one path: SSE and WebSocket bring a subscriber up to date alike."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient

from api.keys import realtime_key
from streams.events import websocket_text_frame
from streams.sse import http_chunk, sse_event
from tests.factories import add_jfk_departures
from tests.sse_client import SseReader
from tests.waiting import eventually

TOPIC = "board:JFK:departures"
Item = tuple[str, str | None, Any]


async def _mark_the_end(client: TestClient, known: set[object], end: bytes) -> None:
    """Once the new subscriber's catch-up is written and it has gone live, write ``end``
    to it: the transport keeps order, so reading up to ``end`` reads the whole catch-up,
    however slow the machine (and the change log, and so every position, is untouched)."""
    hub = client.app[realtime_key].hub

    def live_sink() -> object | None:
        for subscription in hub.subscriptions():
            if subscription.topic == TOPIC and subscription.sink not in known:
                return subscription.sink if subscription.pending is None else None
        return None

    await eventually(lambda: live_sink() is not None, what="catch-up done")
    live_sink().write(end)  # type: ignore[union-attr]


def _sinks(client: TestClient) -> set[object]:
    return {s.sink for s in client.app[realtime_key].hub.subscriptions()}


async def _sse_catch_up(client: TestClient, since: str | None) -> list[Item]:
    """What an SSE stream resuming from ``since`` gets before live events."""
    headers = {"Last-Event-ID": since} if since else {}
    known = _sinks(client)
    response = await client.get("/v1/streams/boards/JFK", headers=headers)
    await _mark_the_end(client, known, http_chunk(sse_event("{}", event="test.end")))
    reader, items = SseReader(response), []
    try:
        while (event := await reader.next()).event != "test.end":
            items.append((event.event, event.id, event.json()))
    finally:
        response.close()
    return items


async def _ws_catch_up(client: TestClient, since: str | None) -> tuple[str, list[Item]]:
    """The position a WebSocket subscription from ``since`` is told, and what follows it
    before live events."""
    known = _sinks(client)
    async with client.ws_connect("/v1/ws") as ws:
        await ws.send_json({"type": "subscribe", "topic": TOPIC, "since": since})
        subscribed = (await ws.receive(timeout=5)).json()
        assert subscribed["type"] == "subscribed", subscribed
        await _mark_the_end(client, known, websocket_text_frame(b'{"type":"test.end"}'))
        items: list[Item] = []
        while True:
            message = await ws.receive(timeout=5)
            assert message.type == WSMsgType.TEXT, message
            frame = message.json()
            if frame["type"] == "test.end":
                return subscribed["position"], items
            assert frame["type"] == "event", frame
            assert frame["topic"] == TOPIC
            event_id = frame["id"]
            if frame["event"] == "reset":
                # SSE's reset has no id line; a WebSocket frame always carries one.
                assert event_id == subscribed["position"]
                event_id = None
            items.append((frame["event"], event_id, frame["data"]))


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
