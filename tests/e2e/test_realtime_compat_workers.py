"""Supabase's Python client against `skybound serve --workers 2`: presence, broadcast and
postgres_changes reach clients on the other worker, through the real CLI on uvloop."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import asyncpg
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

from tests.e2e.harness import ServerProcess, World, listener_pids, running_server
from tests.waiting import eventually

ANON_KEY = "e2e-anon-key"


async def _clients_on_two_workers(
    server: ServerProcess, db: asyncpg.Connection
) -> list[AsyncRealtimeClient]:
    """Connect until two clients are served by different workers (the kernel spreads
    connections over the workers' sockets once both listen); close the rest."""

    async def both_listening() -> bool:
        return len(server.worker_pids()) == 2 and len(await listener_pids(db)) == 2

    await eventually(both_listening, 90, what="two workers, each with its LISTEN connection")
    url = server.url("/realtime/v1").replace("http://", "ws://")
    by_worker: dict[int, AsyncRealtimeClient] = {}
    loop = asyncio.get_running_loop()
    give_up = loop.time() + 60
    while len(by_worker) < 2 and loop.time() < give_up:
        client = AsyncRealtimeClient(url, ANON_KEY, auto_reconnect=False)
        await client.connect()
        assert client._ws_connection is not None
        worker = server.worker_of(client._ws_connection.local_address[1])
        assert worker is not None
        if worker in by_worker:
            await client.close()
            await asyncio.sleep(0.1)  # a worker may still be binding its socket
        else:
            by_worker[worker] = client
    assert len(by_worker) == 2, "every connection went to one worker"
    return list(by_worker.values())


async def _next(queue: asyncio.Queue[Any]) -> Any:
    return await asyncio.wait_for(queue.get(), 30)


async def test_presence_broadcast_and_changes_cross_workers(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path
) -> None:
    env = {"SUPABASE_ANON_KEY": ANON_KEY, "SKYBOUND_REALTIME_TABLES": "flights"}
    async with running_server(database_url, tmp_path / "home", workers=2, env=env) as server:
        first, second = await _clients_on_two_workers(server, db)
        try:
            synced: asyncio.Queue[None] = asyncio.Queue()
            heard: asyncio.Queue[Any] = asyncio.Queue()
            changes: asyncio.Queue[Any] = asyncio.Queue()
            watching = first.channel(
                "gate-crew",
                {"config": {"presence": {"key": "ada", "enabled": True}, "private": False}},
            )
            watching.on_presence_sync(lambda: synced.put_nowait(None))
            watching.on_broadcast("boarding", heard.put_nowait)
            watching.on_postgres_changes(
                "UPDATE", changes.put_nowait, table="flights", filter=f"id=eq.{world.flights[0]}"
            )
            states: list[Any] = []
            await watching.subscribe(lambda state, error: states.append((state, error)))
            assert states == [(RealtimeSubscribeStates.SUBSCRIBED, None)]
            other = second.channel(
                "gate-crew",
                {"config": {"presence": {"key": "bob", "enabled": True},
                            "broadcast": {"ack": True}, "private": False}},
            )  # fmt: skip
            await other.subscribe()
            await other.track({"role": "agent"})
            while "bob" not in watching.presence_state():
                await _next(synced)
            await other.send_broadcast("boarding", {"gate": "B7"})
            assert (await _next(heard))["payload"] == {"gate": "B7"}
            await db.execute(
                "UPDATE flights SET departure_gate = 'B7' WHERE id = $1", world.flights[0]
            )
            change = await _next(changes)
            assert change["data"]["record"]["departure_gate"] == "B7"
            await second.close()  # the other worker's socket dies: its presence leaves
            while "bob" in watching.presence_state():
                await _next(synced)
        finally:
            await first.close()
            await second.close()
        await server.assert_sane()
