"""The database side failing under a running server: its LISTEN connection killed, and
PostgreSQL itself stopped and started. Streams stay open across both and lose nothing."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg

from foundation.database import connect
from tests.e2e.clients import events_after, newest_event, start_all, wait_complete
from tests.e2e.dedicated_postgres import DedicatedPostgres
from tests.e2e.harness import (
    BOARD,
    GateWriter,
    World,
    listener_pids,
    migrated_world,
    mixed_subscribers,
    running_server,
)
from tests.e2e.wire import RawConnection, ws_messages, ws_send, ws_upgrade
from tests.waiting import eventually

KILLS = 3


async def test_listener_connection_killed_while_events_flow_loses_nothing(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path
) -> None:
    async with running_server(database_url, tmp_path / "home") as server:
        subscribers = mixed_subscribers(server.port, world, rounds=2)
        writer = GateWriter(database_url, world.flights)
        try:
            await start_all(subscribers)
            writer.start()
            for kill in range(1, KILLS + 1):
                await events_after(db, subscribers, f"before kill {kill}", ahead=10)
                before = await listener_pids(db)
                assert len(before) == 1
                await db.execute("SELECT pg_terminate_backend($1)", before.pop())

                async def reconnected(old: set[int] = before) -> bool:
                    now = await listener_pids(db)
                    return len(now) == 1 and not now & old

                await eventually(reconnected, 60, what=f"a new LISTEN connection after kill {kill}")
                await events_after(db, subscribers, f"after kill {kill}", ahead=10)
            await writer.stop()
            await wait_complete(db, subscribers, through=await newest_event(db))
            # A reconnect is the listener's own business, not a task restart.
            await server.assert_sane()
        finally:
            await writer.stop()
            await asyncio.gather(*(s.drop("rst") for s in subscribers))


async def test_postgres_restart_under_a_running_server_loses_nothing(
    dedicated_postgres: DedicatedPostgres, tmp_path: Path
) -> None:
    url = dedicated_postgres.url
    world = await migrated_world(url)
    async with running_server(url, tmp_path / "home") as server:
        subscribers = mixed_subscribers(server.port, world, rounds=2)
        writer = GateWriter(url, world.flights)
        try:
            await start_all(subscribers)
            await writer.write(10)
            db = await connect(url)
            try:
                await wait_complete(db, subscribers, through=await newest_event(db))
            finally:
                await db.close()

            await asyncio.to_thread(dedicated_postgres.stop_fast)

            async def not_ready() -> bool:
                answer = await server.readiness()
                return answer is not None and answer[0] == 503

            await eventually(not_ready, 30, what="/readyz saying 503 without its database")
            # A request that needs the database is told to come back, not "our bug".
            async with aiohttp.ClientSession() as session:
                flight = server.url(f"/v1/flights/{world.flights[0]}")
                async with session.get(flight) as response:
                    assert response.status == 503
                    assert response.content_type == "application/problem+json"
                    assert int(response.headers["Retry-After"]) >= 1
            await asyncio.to_thread(dedicated_postgres.start_again)
            # Committed before the listener can be back: it must catch up on them.
            await writer.write(10)
            db = await connect(url)
            try:
                await wait_complete(db, subscribers, through=await newest_event(db))
                await writer.write(10)
                await wait_complete(db, subscribers, through=await newest_event(db))
            finally:
                await db.close()
            # The streams stayed open throughout: none had to resume.
            assert [s.name for s in subscribers if s.ends] == []
            await eventually(server.is_ready, 60, what="ready again")
            await server.assert_sane()
        finally:
            await asyncio.gather(*(s.drop("rst") for s in subscribers))


async def test_websocket_subscribe_during_outage_keeps_live_subscriptions(
    dedicated_postgres: DedicatedPostgres, tmp_path: Path
) -> None:
    url = dedicated_postgres.url
    world = await migrated_world(url)
    async with running_server(url, tmp_path / "home") as server:
        conn = await RawConnection.open(server.port)
        try:
            await ws_upgrade(conn, "/v1/ws")
            messages = ws_messages(conn)
            ws_send(conn, {"type": "subscribe", "topic": BOARD})
            assert (await asyncio.wait_for(anext(messages), 30))["type"] == "subscribed"
            assert (await asyncio.wait_for(anext(messages), 30))["event"] == "snapshot"
            await asyncio.to_thread(dedicated_postgres.stop_fast)
            ws_send(conn, {"type": "subscribe", "topic": f"flight:{world.flights[0]}"})
            answer = await asyncio.wait_for(anext(messages), 30)
            assert answer["type"] == "error"
            await asyncio.to_thread(dedicated_postgres.start_again)
            await GateWriter(url, world.flights).write(1)
            # The board subscription lives on: its event arrives on the same connection.
            event = await asyncio.wait_for(anext(messages), 60)
            assert (event["type"], event["topic"]) == ("event", BOARD)
        finally:
            conn.reset()
