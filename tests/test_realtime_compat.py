"""The Supabase-compatible endpoint through Supabase's own Python client (realtime-py)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient
from realtime import AsyncRealtimeChannel, AsyncRealtimeClient, RealtimeSubscribeStates

from api.keys import phoenix_key
from foundation.settings import Settings
from server.app import create_app
from streams.phoenix.bindings import TABLES
from tests.factories import add_flight, add_world
from tests.tokens import access_token

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with every exposed table's row changes published."""
    return settings.model_copy(update={"realtime_tables": list(TABLES)})


def socket_url(client: TestClient) -> str:
    return str(client.make_url("/realtime/v1")).replace("http://", "ws://")


def anon_key(client: TestClient) -> str:
    return client.app[phoenix_key].keys.anon  # type: ignore[index]


@pytest.fixture
async def realtime(client: TestClient) -> AsyncIterator[AsyncRealtimeClient]:
    """realtime-py connected with the anon key."""
    socket = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    await socket.connect()
    yield socket
    await socket.close()


async def subscribed(channel: AsyncRealtimeChannel) -> list[tuple[Any, Any]]:
    """Subscribe and return every state the client reported."""
    states: list[tuple[Any, Any]] = []
    await channel.subscribe(lambda state, error: states.append((state, error)))
    return states


async def next_item(queue: asyncio.Queue[Any], wait: float = 10.0) -> Any:
    return await asyncio.wait_for(queue.get(), wait)


async def test_postgres_changes_arrive_for_a_filtered_binding_only(
    realtime: AsyncRealtimeClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    jfk = await add_flight(db, origin="JFK", destination="LHR", number=1, departure=SOON)
    lhr = await add_flight(db, origin="LHR", destination="JFK", number=2, departure=SOON)
    everything: asyncio.Queue[Any] = asyncio.Queue()
    from_jfk: asyncio.Queue[Any] = asyncio.Queue()
    channel = realtime.channel("board")
    channel.on_postgres_changes("UPDATE", everything.put_nowait, table="flights")
    channel.on_postgres_changes(
        "UPDATE", from_jfk.put_nowait, table="flights", filter="origin=eq.JFK"
    )
    states = await subscribed(channel)
    assert states == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
    await db.execute("UPDATE flights SET departure_gate = 'Z9' WHERE id = $1", lhr)
    await db.execute("UPDATE flights SET departure_gate = 'A1' WHERE id = $1", jfk)
    first, second = await next_item(everything), await next_item(everything)
    assert [first["data"]["record"]["id"], second["data"]["record"]["id"]] == [lhr, jfk]
    change = await next_item(from_jfk)
    data = change["data"]
    assert (data["schema"], data["table"], data["type"]) == ("public", "flights", "UPDATE")
    assert data["record"]["departure_gate"] == "A1"
    assert data["old_record"] == {"id": jfk}  # the key, as Supabase without FULL identity
    assert {"name": "origin", "type": "bpchar"} in data["columns"]
    assert data["errors"] is None
    assert len(change["ids"]) == 2  # both bindings match; the client calls each once
    assert from_jfk.empty()  # the LHR departure matched only the unfiltered binding


async def test_a_filtered_delete_arrives_with_the_old_rows_key(
    realtime: AsyncRealtimeClient, db: asyncpg.Connection
) -> None:
    await add_world(db)
    jfk = await add_flight(db, origin="JFK", destination="LHR", number=1, departure=SOON)
    lhr = await add_flight(db, origin="LHR", destination="JFK", number=2, departure=SOON)
    deleted: asyncio.Queue[Any] = asyncio.Queue()
    channel = realtime.channel("gone")
    channel.on_postgres_changes("DELETE", deleted.put_nowait, table="flights",
                                filter="origin=eq.JFK")  # fmt: skip
    assert await subscribed(channel) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
    await db.execute("DELETE FROM flights WHERE id = $1", lhr)
    await db.execute("DELETE FROM flights WHERE id = $1", jfk)
    data = (await next_item(deleted))["data"]
    # The filter saw the whole old row (origin); the client gets its key.
    assert (data["type"], data["old_record"]) == ("DELETE", {"id": jfk})
    assert "record" not in data
    assert deleted.empty()


async def test_a_replica_identity_full_table_sends_the_whole_old_row(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection
) -> None:
    await add_world(db)
    jfk = await add_flight(db, origin="JFK", destination="LHR", number=1, departure=SOON)
    await db.execute("ALTER TABLE flights REPLICA IDENTITY FULL")
    client = await aiohttp_client(create_app(settings))  # reads the identity at start
    socket = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    await socket.connect()
    try:
        changes: asyncio.Queue[Any] = asyncio.Queue()
        channel = socket.channel("full")
        channel.on_postgres_changes("UPDATE", changes.put_nowait, table="flights")
        assert await subscribed(channel) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
        await db.execute("UPDATE flights SET departure_gate = 'B2' WHERE id = $1", jfk)
        old = (await next_item(changes))["data"]["old_record"]
        assert (old["id"], old["origin"], old["departure_gate"]) == (jfk, "JFK", None)
    finally:
        await socket.close()


async def test_a_join_reply_echoes_each_binding_with_an_id_then_says_subscribed(
    realtime: AsyncRealtimeClient,
) -> None:
    system: list[Any] = []
    channel = realtime.channel("ids")
    channel.on_postgres_changes("INSERT", lambda _: None, table="airports")
    channel.on_system(system.append)
    await subscribed(channel)
    (binding,) = channel.postgres_changes_callbacks
    assert isinstance(binding.id, int)
    assert binding.id > 0
    await asyncio.sleep(0)  # the system message follows the reply in the same write
    assert [(s.extension, s.status, s.message) for s in system] == [
        ("postgres_changes", "ok", "Subscribed to PostgreSQL")
    ]


async def test_broadcast_reaches_others_and_self_only_when_asked(client: TestClient) -> None:
    sender = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    listener = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    try:
        heard: asyncio.Queue[Any] = asyncio.Queue()
        echoed: asyncio.Queue[Any] = asyncio.Queue()
        receiving = listener.channel("room")
        receiving.on_broadcast("hello", heard.put_nowait)
        await subscribed(receiving)
        sending = sender.channel(
            "room", {"config": {"broadcast": {"ack": True, "self": True}, "private": False}}
        )
        sending.on_broadcast("hello", echoed.put_nowait)
        await subscribed(sending)
        await sending.send_broadcast("hello", {"n": 1})
        message = await next_item(heard)
        assert (message["event"], message["payload"]) == ("hello", {"n": 1})
        assert (await next_item(echoed))["payload"] == {"n": 1}
    finally:
        await sender.close()
        await listener.close()


async def test_presence_is_shared_between_two_clients(client: TestClient) -> None:
    first = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    second = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    try:
        synced: asyncio.Queue[None] = asyncio.Queue()
        config = {"config": {"presence": {"key": "ada", "enabled": True}, "private": False}}
        watching = first.channel("lobby", config)  # type: ignore[arg-type]
        watching.on_presence_sync(lambda: synced.put_nowait(None))
        await subscribed(watching)
        other = second.channel(
            "lobby", {"config": {"presence": {"key": "bob", "enabled": True}, "private": False}}
        )
        await subscribed(other)
        await other.track({"status": "online"})
        while "bob" not in watching.presence_state():
            await next_item(synced)
        (meta,) = watching.presence_state()["bob"]
        assert meta["status"] == "online"
        await second.close()  # the socket dies: its presence leaves
        while "bob" in watching.presence_state():
            await next_item(synced)
    finally:
        await first.close()
        await second.close()


async def test_a_bad_apikey_is_refused_at_the_upgrade(client: TestClient) -> None:
    socket = AsyncRealtimeClient(socket_url(client), "not-a-key", auto_reconnect=False,
                                 max_retries=1, initial_backoff=0.01)  # fmt: skip
    with pytest.raises(Exception, match="403"):
        await socket.connect()


async def test_a_bad_token_is_refused_with_supabases_reason(client: TestClient) -> None:
    socket = AsyncRealtimeClient(socket_url(client), anon_key(client), auto_reconnect=False)
    try:
        await socket.connect()
        await socket.set_auth("not.a.jwt")
        states = await subscribed(socket.channel("room"))
        ((state, error),) = states
        assert state == RealtimeSubscribeStates.CHANNEL_ERROR
        assert "MalformedJWT" in str(error)
    finally:
        await socket.close()


async def test_bookings_reach_their_owner_only(client: TestClient, db: asyncpg.Connection) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    for user in (owner, stranger):
        await db.execute("INSERT INTO profiles (user_id) VALUES ($1)", user)
    mine: asyncio.Queue[Any] = asyncio.Queue()
    theirs: asyncio.Queue[Any] = asyncio.Queue()
    sockets = []
    try:
        for user, queue in ((owner, mine), (stranger, theirs)):
            socket = AsyncRealtimeClient(socket_url(client), anon_key(client),
                                         auto_reconnect=False)  # fmt: skip
            sockets.append(socket)
            await socket.connect()
            await socket.set_auth(access_token(user))
            channel = socket.channel("trips")
            channel.on_postgres_changes("*", queue.put_nowait, table="bookings")
            assert await subscribed(channel) == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
        await db.execute(
            "INSERT INTO bookings (record_locator, user_id, total_minor, currency)"
            " VALUES ('QWE123', $1, 100, 'USD')",
            owner,
        )
        change = await next_item(mine)
        assert change["data"]["record"]["record_locator"] == "QWE123"
        # The stranger's next change is its own booking: the owner's never came.
        await db.execute(
            "INSERT INTO bookings (record_locator, user_id, total_minor, currency)"
            " VALUES ('ZXC456', $1, 100, 'USD')",
            stranger,
        )
        assert (await next_item(theirs))["data"]["record"]["record_locator"] == "ZXC456"
    finally:
        for socket in sockets:
            await socket.close()


async def test_http_send_reaches_a_joined_channel(
    client: TestClient, realtime: AsyncRealtimeClient
) -> None:
    heard: asyncio.Queue[Any] = asyncio.Queue()
    channel = realtime.channel("announcements")
    channel.on_broadcast("notice", heard.put_nowait)
    await subscribed(channel)
    await channel.http_send("notice", {"text": "gate change"})  # POST .../api/broadcast/...
    assert (await next_item(heard))["payload"] == {"text": "gate change"}


async def test_the_single_broadcast_api_refuses_without_a_key(client: TestClient) -> None:
    # A session of its own: the suite's client sends the anon key with every request.
    async with (
        aiohttp.ClientSession() as bare,
        bare.post(client.make_url("/realtime/v1/api/broadcast/announcements/events/notice"),
                  json={"text": "hi"}) as response,
    ):  # fmt: skip
        assert response.status == 401
        assert response.content_type == "application/problem+json"
