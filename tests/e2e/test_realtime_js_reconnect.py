"""Supabase's realtime-js under Node.js across a restart of `skybound serve` on the same
port: it reconnects and rejoins by itself and hears what is committed after the restart;
with Skybound's replay extension it also gets what was committed while it was down,
exactly once and in order."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import asyncpg
import pytest

from tests.e2e.harness import World, running_server
from tests.node_clients import realtime_js_modules
from tests.test_realtime_compat_node import NodeClient

ANON_KEY = "e2e-anon-key"
SCRIPT = Path(__file__).parent.parent / "node" / "realtime_reconnect.cjs"


async def _gate(db: asyncpg.Connection, flight: int, gate: str) -> None:
    await db.execute("UPDATE flights SET departure_gate = $1 WHERE id = $2", gate, flight)


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
async def test_realtime_js_rejoins_after_a_restart_and_replays_what_it_missed(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path, vsn: str
) -> None:
    modules = await asyncio.to_thread(realtime_js_modules)
    flight = world.flights[0]
    env = {"SUPABASE_ANON_KEY": ANON_KEY, "SKYBOUND_REALTIME_TABLES": "flights"}
    async with running_server(database_url, tmp_path / "home", env=env) as server:
        process = await asyncio.create_subprocess_exec(
            "node", str(SCRIPT), server.url("/realtime/v1").replace("http://", "ws://"),
            ANON_KEY, vsn, str(flight),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "NODE_PATH": str(modules)},
        )  # fmt: skip
        node = NodeClient(process)
        try:
            for channel in ("plain", "replaying"):
                joined = await node.until({"kind": "status", "channel": channel})
                assert (joined["status"], joined["error"]) == ("SUBSCRIBED", None)
            await _gate(db, flight, "R1")
            for channel in ("plain", "replaying"):
                await node.until({"kind": "change", "channel": channel, "gate": "R1"})

            assert await server.terminate() == 0
            await node.until({"kind": "closed"})
            await _gate(db, flight, "R2")  # committed while the server is down
            await server.start()
            await server.wait_ready()
            for channel in ("plain", "replaying"):
                await node.until({"kind": "status", "channel": channel, "status": "SUBSCRIBED"})
            await _gate(db, flight, "R3")
            await node.until({"kind": "change", "channel": "plain", "gate": "R3"})
            await _gate(db, flight, "R4")
            await node.until({"kind": "change", "channel": "replaying", "gate": "R4"})
            await node.until({"kind": "change", "channel": "plain", "gate": "R4"})
            # Every change the replaying channel got after R1 (taken above), in order.
            replayed = [
                line["gate"]
                for line in node.seen
                if line["kind"] == "change" and line["channel"] == "replaying"
            ]
            assert replayed == ["R2", "R3"]
        finally:
            if process.returncode is None:
                process.kill()
            await process.wait()
