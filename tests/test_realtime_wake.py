"""The wake-up topic ``skybound:changes`` of the compatible endpoint, and the upstream wake
source (adapters/realtime_wake.py) subscribed to it with Supabase's Python client."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from pydantic import ValidationError
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

from adapters.realtime_wake import WAKE_EVENT, WAKE_TOPIC, RealtimeWake
from api.keys import phoenix_key
from foundation.settings import Settings
from foundation.supervisor import end_scoped_task
from streams.hub import Hub
from streams.listener import ChangeListener
from tests.factories import add_flight, add_world
from tests.test_realtime_compat import SOON, anon_key, next_item, socket_url, subscribed
from tests.tokens import access_token
from tests.waiting import eventually


def service_key(client: TestClient) -> str:
    return client.app[phoenix_key].keys.service_role  # type: ignore[index]


PRIVATE: Any = {"config": {"private": True}}


@pytest.mark.parametrize("who", ["anon key", "user token"])
async def test_the_wake_up_topic_is_the_service_roles_only(client: TestClient, who: str) -> None:
    socket = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    try:
        await socket.connect()
        if who == "user token":
            await socket.set_auth(access_token(uuid.uuid4()))
        ((state, error),) = await subscribed(socket.channel(WAKE_TOPIC, PRIVATE))
        assert state == RealtimeSubscribeStates.CHANNEL_ERROR
        denied = "Unauthorized: You do not have permissions to read from this Channel topic: "
        denied += WAKE_TOPIC
        assert denied in str(error)
    finally:
        await socket.close()


async def test_a_commit_wakes_a_service_role_subscriber(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=1, departure=SOON)
    socket = AsyncRealtimeClient(socket_url(client), service_key(client), auto_reconnect=False)
    wakes: asyncio.Queue[Any] = asyncio.Queue()
    try:
        await socket.connect()
        channel = socket.channel(WAKE_TOPIC, PRIVATE)
        channel.on_broadcast(WAKE_EVENT, wakes.put_nowait)
        assert await subscribed(channel) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
        await db.execute("UPDATE flights SET departure_gate = 'W1' WHERE id = $1", flight)
        newest = await db.fetchval("SELECT max(id) FROM change_events")
        wake = await next_item(wakes)
        assert wake["event"] == WAKE_EVENT
        assert wake["payload"] == {"id": newest}
    finally:
        await socket.close()


async def test_the_upstream_wake_source_wakes_on_subscribing_and_on_each_commit(
    client: TestClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=1, departure=SOON)
    woken: list[None] = []
    wake = RealtimeWake(
        socket_url(client).replace("ws://", "http://"),
        service_key(client),
        lambda: woken.append(None),
    )
    task = asyncio.create_task(wake.run())
    try:
        await eventually(lambda: wake.subscribed and bool(woken), what="subscribed and woken")
        assert (wake.subscriptions, wake.wakes) == (1, 0)  # woken once for the subscription
        await db.execute("UPDATE flights SET departure_gate = 'W2' WHERE id = $1", flight)
        await eventually(lambda: wake.wakes == 1, what="woken by the commit")
        assert len(woken) == 2
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    assert wake.state == "stopped"


async def test_an_upstream_that_refuses_the_join_is_retried_not_trusted(
    client: TestClient,
) -> None:
    woken: list[None] = []
    wake = RealtimeWake(socket_url(client), anon_key(client), lambda: woken.append(None))
    task = asyncio.create_task(wake.run())
    try:
        await eventually(lambda: wake.state == "reconnecting", what="the join refused")
        assert not wake.subscribed
        assert woken == []
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_a_listener_without_notifications_still_reads_the_log_at_each_poll(
    database_url: str, db: asyncpg.Connection
) -> None:
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=1, departure=SOON)
    hub = Hub()
    # No wake-up will come, and the keepalive is far off: only the poll reads the log.
    listener = ChangeListener(
        database_url, hub, listen_for_changes=False, poll_seconds=0.1, keepalive_seconds=3600
    )
    await listener.start()
    task = asyncio.create_task(listener.run())
    try:
        await eventually(lambda: listener.listening, what="the listener connected")
        await db.execute("UPDATE flights SET departure_gate = 'P1' WHERE id = $1", flight)
        newest = await db.fetchval("SELECT max(id) FROM change_events")
        await eventually(lambda: hub.cursor >= newest, what="the commit published by a poll")
        assert hub.published >= 1
    finally:
        await end_scoped_task(task, "change listener")
        await listener.stop()


def test_the_upstream_wake_source_needs_a_url_and_the_service_role_key() -> None:
    with pytest.raises(ValidationError, match="SUPABASE_URL or SKYBOUND_WAKE_REALTIME_URL"):
        Settings(wake_source="supabase-realtime", supabase_service_role_key="k")
    with pytest.raises(ValidationError, match="SUPABASE_SERVICE_ROLE_KEY"):
        Settings(wake_source="supabase-realtime", wake_realtime_url="http://127.0.0.1:1")
    with pytest.raises(ValidationError, match="must be an http"):
        Settings(wake_realtime_url="postgresql://127.0.0.1/skybound")
    derived = Settings(
        wake_source="supabase-realtime",
        supabase_url="https://project.example/",
        supabase_service_role_key="k",
    )
    assert derived.effective_wake_realtime_url == "https://project.example/realtime/v1"
