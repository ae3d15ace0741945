"""Supabase's official realtime-js under Node.js, with both serializers: it joins,
hears postgres_changes, broadcasts (as binary frames under 2.0.0) with ack and self,
syncs presence, and its heartbeats are answered."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.keys import phoenix_key
from foundation.settings import Settings
from streams.phoenix.bindings import TABLES
from tests.factories import add_flight, add_world
from tests.node_clients import SCRIPT, realtime_js_modules

SOON = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=3)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The suite's settings with every exposed table's row changes published."""
    return settings.model_copy(update={"realtime_tables": list(TABLES)})


class NodeClient:
    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.seen: list[dict[str, Any]] = []

    async def until(self, wanted: dict[str, Any]) -> dict[str, Any]:
        """The first line not yet taken that has every item of ``wanted`` (read on until
        one comes)."""
        assert self.process.stdout is not None
        loop = asyncio.get_running_loop()
        # Heartbeat lines keep coming, so the bound is on the whole wait, not on a line.
        give_up = loop.time() + 30
        index = 0
        while True:
            while index < len(self.seen):
                message = self.seen[index]
                if all(message.get(k) == v for k, v in wanted.items()):
                    return self.seen.pop(index)
                index += 1
            line = await asyncio.wait_for(
                self.process.stdout.readline(), max(0.1, give_up - loop.time())
            )
            if not line:
                stderr = await self.process.stderr.read() if self.process.stderr else b""
                raise AssertionError(f"realtime-js exited: {stderr.decode()[-2000:]}")
            self.seen.append(json.loads(line))


@pytest.mark.parametrize("vsn", ["1.0.0", "2.0.0"])
async def test_realtime_js_works_unchanged(
    client: TestClient, db: asyncpg.Connection, vsn: str
) -> None:
    modules = await asyncio.to_thread(realtime_js_modules)
    await add_world(db)
    flight = await add_flight(db, origin="JFK", destination="LHR", number=9, departure=SOON)
    url = str(client.make_url("/realtime/v1")).replace("http://", "ws://")
    anon = client.app[phoenix_key].keys.anon  # type: ignore[index]
    process = await asyncio.create_subprocess_exec(
        "node", str(SCRIPT), url, anon, vsn, str(flight),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "NODE_PATH": str(modules)},
    )  # fmt: skip
    node = NodeClient(process)
    try:
        status = await node.until({"kind": "status"})
        assert (status["status"], status["error"]) == ("SUBSCRIBED", None)
        assert (await node.until({"kind": "ack"}))["result"] == "ok"
        assert (await node.until({"kind": "broadcast"}))["payload"] == {"n": 1}  # self
        await node.until({"kind": "presence", "keys": [f"node-{vsn}"]})
        await db.execute("UPDATE flights SET departure_gate = 'N1' WHERE id = $1", flight)
        change = await node.until({"kind": "change"})
        assert (change["type"], change["gate"]) == ("UPDATE", "N1")
        await node.until({"kind": "heartbeat", "status": "ok"})
    finally:
        if process.returncode is None:
            process.kill()
        await process.wait()
