"""Faults under Supabase-compatible clients (realtime-py) of `skybound serve`: the
listener's connection killed, then PostgreSQL stopped and started, while flights change.
A client that stays joined gets every postgres_changes event; one that leaves and
rejoins with Skybound's replay ``{since}`` gets the rest; none lost, none twice, in
commit order."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
from realtime import AsyncRealtimeClient, RealtimeSubscribeStates

from foundation.database import connect
from foundation.supervisor import end_scoped_task
from tests.e2e.dedicated_postgres import DedicatedPostgres
from tests.e2e.harness import GateWriter, ServerProcess, migrated_world, running_server
from tests.waiting import eventually

ANON_KEY = "e2e-anon-key"
ENV = {"SUPABASE_ANON_KEY": ANON_KEY, "SKYBOUND_REALTIME_TABLES": "flights"}
BATCH = 10


BINDING = {"event": "UPDATE", "schema": "public", "table": "flights", "filter": "origin=eq.JFK"}


class Stays:
    """realtime-py, with one channel bound to flights' UPDATEs from JFK."""

    def __init__(self, server: ServerProcess) -> None:
        url = server.url("/realtime/v1").replace("http://", "ws://")
        self.socket = AsyncRealtimeClient(url, ANON_KEY, auto_reconnect=False)
        self.gates: list[str] = []

    async def join(self) -> None:
        await self.socket.connect()
        channel = self.socket.channel("stays")
        channel.on_postgres_changes(
            "UPDATE",
            lambda change: self.gates.append(change["data"]["record"]["departure_gate"]),
            table="flights",
            filter=BINDING["filter"],
        )
        states: list[Any] = []
        await channel.subscribe(lambda state, error: states.append((state, error)))
        assert states == [(RealtimeSubscribeStates.SUBSCRIBED, None)]

    async def close(self) -> None:
        await self.socket.close()


class Rejoins:
    """A bare Phoenix socket (vsn 1.0.0) with the same binding, which keeps each change's
    ``data.position`` to rejoin from (realtime-py's parser drops that field)."""

    def __init__(self, server: ServerProcess) -> None:
        self.url = server.url(f"/realtime/v1/websocket?apikey={ANON_KEY}&vsn=1.0.0")
        self.gates: list[str] = []
        self.position: str | None = None
        self._session: aiohttp.ClientSession | None = None
        self._reader: asyncio.Task[None] | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None

    async def join(self, since: str | None = None) -> None:
        config: dict[str, Any] = {"postgres_changes": [BINDING], "presence": {"enabled": False}}
        if since is not None:
            config["broadcast"] = {"replay": {"since": since}}
        self._session = aiohttp.ClientSession()
        ws = self._ws = await self._session.ws_connect(self.url)
        join = {"topic": "realtime:rejoins", "event": "phx_join", "payload": {"config": config},
                "ref": "1", "join_ref": "1"}  # fmt: skip
        await ws.send_json(join)
        reply = await asyncio.wait_for(ws.receive_json(), 30)
        assert reply["payload"]["status"] == "ok", reply
        self._reader = asyncio.create_task(self._read(ws))

    async def _read(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        async for frame in ws:
            message = json.loads(frame.data)
            if message["event"] == "postgres_changes":
                data = message["payload"]["data"]
                self.gates.append(data["record"]["departure_gate"])
                self.position = data["position"]

    async def close(self) -> None:
        reader, ws, session = self._reader, self._ws, self._session
        self._reader = self._ws = self._session = None
        if reader is not None:
            await end_scoped_task(reader, "test socket reader")
        if ws is not None:
            await ws.close()
        if session is not None:
            await session.close()


async def _listener_pid(db: asyncpg.Connection) -> int | None:
    return await db.fetchval(
        "SELECT pid FROM pg_stat_activity WHERE application_name = 'skybound-listener'"
        " AND datname = current_database()"
    )


async def test_compat_clients_lose_no_change_across_a_killed_listener_and_a_postgres_restart(
    dedicated_postgres: DedicatedPostgres, tmp_path: Path
) -> None:
    url = dedicated_postgres.url
    world = await migrated_world(url)
    writer = GateWriter(url, world.flights)

    def written() -> list[str]:
        return [f"G{n}" for n in range(writer.written)]

    async with running_server(url, tmp_path / "home", env=ENV) as server:
        stays, leaves = Stays(server), Rejoins(server)
        rejoined: Rejoins | None = None
        try:
            await stays.join()
            await leaves.join()
            await writer.write(BATCH)
            await eventually(lambda: stays.gates == leaves.gates == written(), 30, what="batch 1")

            # The listener's connection killed: it reconnects and catches up.
            db = await connect(url)
            try:
                victim = await _listener_pid(db)
                assert victim is not None
                await db.execute("SELECT pg_terminate_backend($1)", victim)
                await writer.write(BATCH)

                async def replaced() -> bool:
                    return (await _listener_pid(db)) not in (None, victim)

                await eventually(replaced, 60, what="a new listener connection")
            finally:
                await db.close()
            await eventually(lambda: stays.gates == leaves.gates == written(), 60, what="batch 2")

            # One client leaves; PostgreSQL stops and starts; changes go on meanwhile.
            await leaves.close()
            await writer.write(BATCH)
            await asyncio.to_thread(dedicated_postgres.stop_fast)
            await asyncio.to_thread(dedicated_postgres.start_again)
            await writer.write(BATCH)
            await eventually(server.is_ready, 60, what="ready again after the restart")
            await eventually(lambda: stays.gates == written(), 60, what="batch 4 to the stayer")

            # It rejoins from the last position it saw: the rest, once each, in order.
            rejoined = Rejoins(server)
            await rejoined.join(since=leaves.position)
            await writer.write(BATCH)
            await eventually(lambda: stays.gates == written(), 60, what="batch 5 to the stayer")
            await eventually(
                lambda: len(leaves.gates) + len(rejoined.gates) >= writer.written,
                60,
                what="batch 5 to the rejoined client",
            )
            assert leaves.gates + rejoined.gates == written()
            assert stays.gates == written()
            await server.assert_sane()
        finally:
            for client in (stays, leaves, rejoined):
                if client is not None:
                    await client.close()
