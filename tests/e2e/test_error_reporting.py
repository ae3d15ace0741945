"""Sentry through the real server: an unexpected error reaches a Sentry endpoint (a local
one the test runs) with the request's route, and nothing personal or secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import orjson
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.e2e.harness import running_server
from tests.tokens import access_token
from tests.waiting import eventually


class SentryIngest:
    """Sentry's envelope endpoint, recording the events it is sent."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        app = web.Application()
        app.router.add_post("/api/{project}/envelope/", self._envelope)
        self.server = TestServer(app, host="127.0.0.1")

    async def _envelope(self, request: web.Request) -> web.Response:
        body = await request.read()  # aiohttp undoes the gzip the SDK sends
        lines = body.split(b"\n")
        for header, payload in zip(lines[1::2], lines[2::2], strict=False):
            if orjson.loads(header).get("type") == "event":
                self.events.append(orjson.loads(payload))
        return web.Response(text="{}")

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.server.port}/1"


async def test_an_unexpected_error_is_reported_scrubbed(
    db: asyncpg.Connection, database_url: str, tmp_path: Path
) -> None:
    ingest = SentryIngest()
    await ingest.server.start_server()
    token = access_token("9f1c2a4e-1111-4222-8333-944455556666")
    try:
        async with running_server(database_url, tmp_path / "home",
                                  env={"SENTRY_DSN": ingest.dsn}) as server:  # fmt: skip
            # An operator's mistake the code does not expect: the table is gone.
            await db.execute("ALTER TABLE airports RENAME TO airports_elsewhere")
            try:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(
                        server.url("/v1/airports/JFK?token=s3cr3t-query-token"),
                        headers={"Authorization": f"Bearer {token}"},
                    ) as response,
                ):
                    assert response.status == 500
            finally:
                await db.execute("ALTER TABLE airports_elsewhere RENAME TO airports")
            await eventually(lambda: bool(ingest.events), 30, what="an event at Sentry")
            assert await server.terminate() == 0
    finally:
        await ingest.server.close()
    event = ingest.events[0]
    text = orjson.dumps(event).decode()
    assert "UndefinedTableError" in text
    assert "/v1/airports/JFK" in text
    for secret in ("s3cr3t-query-token", token, token.split(".")[1]):
        assert secret not in text
