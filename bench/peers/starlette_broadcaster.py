"""The fan-out peer: what a Starlette or FastAPI user would build for live boards.

encode's ``broadcaster`` with its Postgres backend (one asyncpg connection that
LISTENs per channel) hands every NOTIFY to a queue per subscriber, and
``sse-starlette``'s ``EventSourceResponse`` streams each queue to its client.
Events are committed through SQL: a trigger in the bench database sends
``pg_notify('board_<IATA>', json)`` (see ``bench/fanout/database.py``).
Served by uvicorn with uvloop and httptools, one process.

    python bench/peers/starlette_broadcaster.py --port 8098 \
        --dsn 'postgresql://postgres@/skybound?host=/path/to/pgdata'
"""

from __future__ import annotations

import argparse
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from broadcaster import Broadcast
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

# The same interval as Skybound's SSE heartbeat.
PING_SECONDS = 15


def create_app(dsn: str) -> Starlette:
    broadcast = Broadcast(dsn)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await broadcast.connect()
        try:
            yield
        finally:
            await broadcast.disconnect()

    async def board_stream(request: Request) -> EventSourceResponse:
        channel = "board_" + request.path_params["iata"].upper()

        async def events() -> AsyncIterator[dict[str, Any]]:
            async with broadcast.subscribe(channel) as subscriber:
                # Tells the client it is subscribed: events committed from now on reach it.
                yield {"comment": "subscribed"}
                async for event in subscriber:
                    yield {"event": "flight.gate_changed", "data": event.message}

        return EventSourceResponse(events(), ping=PING_SECONDS)

    async def readyz(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/v1/streams/boards/{iata}", board_stream),
            Route("/readyz", readyz),
        ],
        lifespan=lifespan,
    )


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="PostgreSQL URL for broadcaster's LISTEN")
    args = parser.parse_args(argv)
    uvicorn.run(
        create_app(args.dsn),
        host=args.host,
        port=args.port,
        loop="uvloop",
        http="httptools",
        ws="none",
        lifespan="on",
        log_level="warning",
        access_log=False,
        timeout_graceful_shutdown=5,
    )


if __name__ == "__main__":
    main()
