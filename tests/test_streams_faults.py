"""Realtime under faults: lost listener, out-of-order commits, stalled clients, restarts."""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import aiohttp
import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.keys import realtime_key
from foundation.settings import Settings
from server.app import create_app
from tests.factories import add_jfk_departures
from tests.sse_client import SseReader
from tests.waiting import eventually


@pytest.fixture
async def flights(db: asyncpg.Connection) -> list[int]:
    """Five legs out of JFK within the next hours."""
    return await add_jfk_departures(db, 5)


async def _open_board(client: TestClient, last_id: str | None = None) -> SseReader:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    reader = SseReader(await client.get("/v1/streams/boards/JFK", headers=headers))
    if last_id is None:
        assert (await reader.next()).event == "snapshot"
    return reader


async def test_out_of_order_commits_are_released_in_id_order(
    client: TestClient, database_url: str, flights: list[int]
) -> None:
    reader = await _open_board(client)
    early = await asyncpg.connect(database_url)
    late = await asyncpg.connect(database_url)
    try:
        first = early.transaction()
        await first.start()
        # The early transaction takes the smaller event id but does not commit yet.
        await early.execute("UPDATE flights SET departure_gate = 'E1' WHERE id = $1", flights[0])
        await late.execute("UPDATE flights SET departure_gate = 'L2' WHERE id = $1", flights[1])
        ids = await late.fetch("SELECT id FROM change_events ORDER BY id")
        assert len(ids) == 1  # only the committed one is visible
        # The later id is committed, but handing it out would let a client resume past
        # the earlier one: it must be held back.
        await reader.expect_silence(0.5)
        await first.commit()
        got = [await reader.next(), await reader.next()]
        assert [e.json()["flight"]["departure"]["gate"] for e in got] == ["E1", "L2"]
        positions = [int((e.id or "").split(":")[1]) for e in got]
        assert positions[0] < positions[1]
    finally:
        await early.close()
        await late.close()


async def test_resume_across_out_of_order_commit_loses_nothing(
    client: TestClient, database_url: str, flights: list[int]
) -> None:
    reader = SseReader(await client.get("/v1/streams/boards/JFK"))
    snapshot = await reader.next()
    assert snapshot.event == "snapshot"
    early = await asyncpg.connect(database_url)
    late = await asyncpg.connect(database_url)
    try:
        first = early.transaction()
        await first.start()
        await early.execute("UPDATE flights SET departure_gate = 'E1' WHERE id = $1", flights[0])
        await late.execute("UPDATE flights SET departure_gate = 'L2' WHERE id = $1", flights[1])
        await late.execute("UPDATE flights SET departure_gate = 'L3' WHERE id = $1", flights[2])
        await reader.expect_silence(0.3)
        reader.response.close()
        # The client is gone; meanwhile the early transaction commits.
        await first.commit()
    finally:
        await early.close()
        await late.close()
    # Once the server has released everything, the client resumes from its snapshot
    # position: every event arrives, in id order.
    hub = client.app[realtime_key].hub
    newest = await asyncpg.connect(database_url)
    try:
        last_id = await newest.fetchval("SELECT max(id) FROM change_events")
    finally:
        await newest.close()
    await eventually(lambda: hub.cursor >= last_id)
    resumed = await _open_board(client, snapshot.id)
    gates = [(await resumed.next()).json()["flight"]["departure"]["gate"] for _ in range(3)]
    assert gates == ["E1", "L2", "L3"]


async def test_repeatable_read_writer_cannot_be_overtaken(
    client: TestClient, database_url: str, flights: list[int]
) -> None:
    """A REPEATABLE READ transaction's snapshot predates later writers; its events must still
    wait for every transaction that could hold a smaller id."""
    reader = await _open_board(client)
    holder = await asyncpg.connect(database_url)
    writer = await asyncpg.connect(database_url)
    try:
        rr = writer.transaction(isolation="repeatable_read")
        await rr.start()
        await writer.fetchval("SELECT 1")  # the transaction's snapshot is taken here
        hold = holder.transaction()
        await hold.start()
        # A writer that starts after the RR snapshot takes the smaller id and stays open.
        await holder.execute("UPDATE flights SET departure_gate = 'H1' WHERE id = $1", flights[0])
        await writer.execute("UPDATE flights SET departure_gate = 'R2' WHERE id = $1", flights[1])
        await rr.commit()
        await reader.expect_silence(0.5)
        await hold.commit()
        gates = [(await reader.next()).json()["flight"]["departure"]["gate"] for _ in range(2)]
        assert gates == ["H1", "R2"]
    finally:
        await holder.close()
        await writer.close()


async def test_writer_waits_for_a_newer_transaction_holding_a_smaller_id(
    client: TestClient, database_url: str, flights: list[int]
) -> None:
    """A horizon covers transactions newer than the writer itself, also on the writer's
    second event: one that started after the first event took a smaller id than the
    second, and that second event must wait for it. (A horizon of the writer's own xid, or
    one read once per transaction, would hand O3 out before N2.)"""
    reader = await _open_board(client)
    older = await asyncpg.connect(database_url)
    newer = await asyncpg.connect(database_url)
    try:
        first = older.transaction()
        await first.start()
        await older.execute("UPDATE flights SET departure_gate = 'O1' WHERE id = $1", flights[2])
        hold = newer.transaction()
        await hold.start()
        # A newer xid than the writer's, and the smaller of the two ids still to come.
        await newer.execute("UPDATE flights SET departure_gate = 'N2' WHERE id = $1", flights[0])
        await older.execute("UPDATE flights SET departure_gate = 'O3' WHERE id = $1", flights[1])
        await first.commit()
        assert (await reader.next()).json()["flight"]["departure"]["gate"] == "O1"
        await reader.expect_silence(0.5)
        await hold.commit()
        gates = [(await reader.next()).json()["flight"]["departure"]["gate"] for _ in range(2)]
        assert gates == ["N2", "O3"]
    finally:
        await older.close()
        await newer.close()


async def test_rolled_back_event_leaves_a_gap_that_does_not_stall(
    client: TestClient, database_url: str, flights: list[int]
) -> None:
    reader = await _open_board(client)
    conn = await asyncpg.connect(database_url)
    try:
        tx = conn.transaction()
        await tx.start()
        await conn.execute("UPDATE flights SET departure_gate = 'X9' WHERE id = $1", flights[0])
        await tx.rollback()
        await conn.execute("UPDATE flights SET departure_gate = 'OK' WHERE id = $1", flights[1])
    finally:
        await conn.close()
    assert (await reader.next()).json()["flight"]["departure"]["gate"] == "OK"


async def test_listener_killed_mid_stream_loses_nothing(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    reader = await _open_board(client)
    listener = client.app[realtime_key].listener
    killed = await db.fetchval(
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
        " WHERE application_name = 'skybound-listener' AND datname = current_database()"
    )
    assert killed == 1
    # Changes committed while the listener is down must still arrive, in order.
    for n, gate in enumerate(("K1", "K2", "K3")):
        await db.execute("UPDATE flights SET departure_gate = $1 WHERE id = $2", gate, flights[n])
    gates = [(await reader.next(wait=15)).json()["flight"]["departure"]["gate"] for _ in range(3)]
    assert gates == ["K1", "K2", "K3"]
    assert listener.reconnects >= 1
    assert listener.listening
    ready = await client.get("/readyz")
    assert (await ready.json())["checks"]["change_listener"] is True


async def test_readyz_reports_a_listener_that_is_down(
    client: TestClient, db: asyncpg.Connection
) -> None:
    listener = client.app[realtime_key].listener
    listener.max_backoff_seconds = 30  # keep it down long enough to observe
    await db.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'skybound-listener' AND datname = current_database()"
    )
    await eventually(lambda: not listener.listening)
    response = await client.get("/readyz")
    assert response.status == 503
    assert (await response.json())["checks"]["change_listener"] is False


async def test_stalled_client_is_disconnected_and_others_are_unaffected(
    aiohttp_client: Any, settings: Settings, db: asyncpg.Connection, flights: list[int]
) -> None:
    app = create_app(settings.model_copy(update={"stream_buffer_bytes": 16_384}))
    client = await aiohttp_client(app)
    healthy = await _open_board(client)

    # A client that sends its request and never reads: a tiny receive buffer fills fast.
    stalled = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    stalled.setblocking(False)
    loop = asyncio.get_running_loop()
    await loop.sock_connect(stalled, (client.host, client.port))
    await loop.sock_sendall(stalled, b"GET /v1/streams/boards/JFK HTTP/1.1\r\nHost: test\r\n\r\n")
    hub = app[realtime_key].hub
    await eventually(lambda: hub.subscriber_count("board:JFK:departures") == 2)
    # Loopback send buffers autotune to megabytes; cap the stalled connection's server
    # side as a slow network would, so its unsent bytes pile up in the transport.
    client_port = stalled.getsockname()[1]
    for subscription in hub.subscriptions():
        server_socket = subscription.sink._transport.get_extra_info("socket")  # type: ignore[attr-defined]
        if server_socket.getpeername()[1] == client_port:
            server_socket.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)

    updates = 300
    for n in range(updates):
        await db.execute(
            "UPDATE flights SET departure_gate = $1 WHERE id = $2", f"G{n}", flights[n % 5]
        )
    gates = [(await healthy.next()).json()["flight"]["departure"]["gate"] for _ in range(updates)]
    assert gates == [f"G{n}" for n in range(updates)]
    await eventually(lambda: hub.slow_disconnects == 1)
    assert hub.subscriber_count("board:JFK:departures") == 1
    stalled.close()


async def _board_on(server: Any, session: aiohttp.ClientSession, last_id: str | None) -> SseReader:
    headers = {"Last-Event-ID": last_id} if last_id else {}
    response = await session.get(server.make_url("/v1/streams/boards/JFK"), headers=headers)
    return SseReader(response)


async def test_server_restart_resumes_without_loss(
    aiohttp_server: Any, settings: Settings, db: asyncpg.Connection, flights: list[int]
) -> None:
    async with aiohttp.ClientSession() as session:
        first = await aiohttp_server(create_app(settings))
        reader = await _board_on(first, session, None)
        assert (await reader.next()).event == "snapshot"
        await db.execute("UPDATE flights SET departure_gate = 'R1' WHERE id = $1", flights[0])
        last = await reader.next()
        assert last.json()["flight"]["departure"]["gate"] == "R1"

        await first.close()
        # Changes committed while no server runs.
        await db.execute("UPDATE flights SET departure_gate = 'R2' WHERE id = $1", flights[1])
        await db.execute("UPDATE flights SET departure_gate = 'R3' WHERE id = $1", flights[2])

        second = await aiohttp_server(create_app(settings))
        resumed = await _board_on(second, session, last.id)
        gates = [(await resumed.next()).json()["flight"]["departure"]["gate"] for _ in range(2)]
        assert gates == ["R2", "R3"]
        await resumed.expect_silence(0.2)
        resumed.response.close()
        await second.close()


async def test_shutdown_tells_clients_to_retry_and_ends_streams(
    aiohttp_server: Any, settings: Settings, flights: list[int]
) -> None:
    async with aiohttp.ClientSession() as session:
        server = await aiohttp_server(create_app(settings))
        reader = await _board_on(server, session, None)
        assert (await reader.next()).event == "snapshot"
        reader.retry = None
        closing = asyncio.create_task(server.close())
        with pytest.raises(EOFError):
            await reader.next()
        await closing
    # The stream ended with a fresh, jittered reconnection hint.
    assert reader.retry is not None
    assert 1000 <= reader.retry <= 3000
