"""A revocation made in the database ends a private stream on a running server: the
process's one supervised revocation watch, seen through the real CLI on uvloop."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import asyncpg

from tests.e2e.harness import World, running_server
from tests.tokens import access_token


async def _next_event(response: aiohttp.ClientResponse) -> tuple[str, bytes]:
    """The next SSE event's name and data line."""
    name = b""
    while True:
        line = await asyncio.wait_for(response.content.readline(), 30)
        assert line, "stream ended"
        if line.startswith(b"event: "):
            name = line[7:].strip()
        elif line.startswith(b"data: ") and name:
            return name.decode(), line[6:].strip()


async def test_a_revocation_in_sql_ends_the_private_stream(
    db: asyncpg.Connection, database_url: str, world: World, tmp_path: Path
) -> None:
    async with running_server(database_url, tmp_path / "home") as server:
        samples = await server.metrics()
        up = {labels["task"]: value for labels, value in samples["skybound_task_up"]}
        assert up["revocation-watch"] == 1.0
        token = access_token(world.traveller)
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                server.url("/v1/streams/me"), headers={"Authorization": f"Bearer {token}"}
            ) as response,
        ):
            assert response.status == 200
            assert (await _next_event(response))[0] == "snapshot"
            # As an operator's SQL would: every token issued up to a second from now ends.
            await db.execute(
                "INSERT INTO token_revocations (user_id, revoked_at)"
                " VALUES ($1, now() + interval '1 second')",
                world.traveller,
            )
            name, data = await _next_event(response)
            assert (name, b'"token_revoked"' in data) == ("error", True)
        await server.assert_sane()
