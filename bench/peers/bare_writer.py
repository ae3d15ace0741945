"""The fan-out ceiling: the least one Python process can do to push a NOTIFY to N sockets.

asyncio with uvloop, no framework. A client sends a request for
``/v1/streams/boards/{IATA}``; it gets ``HTTP/1.1 200 OK`` with an event-stream
body delimited by the connection (no chunking) and its transport joins the
board's set. One asyncpg connection LISTENs on ``board_<IATA>``; each
notification is framed once as an SSE event and the same bytes are written to
every transport with ``transport.write``, from the notification callback
itself. No buffer limit, no heartbeat, no resume: the practical limit, not a
server to copy.

    python bench/peers/bare_writer.py --port 8097 --boards DFW \
        --dsn 'postgresql://postgres@/skybound?host=/path/to/pgdata'
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import Sequence

import asyncpg
import uvloop

STREAM_PREFIX = b"/v1/streams/boards/"
HEADERS = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: text/event-stream\r\n"
    b"Cache-Control: no-cache\r\n"
    b"Connection: close\r\n"
    b"\r\n"
)
READY = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
MAX_REQUEST_BYTES = 8192


class StreamClient(asyncio.Protocol):
    """Reads one request, then only ever gets written to."""

    __slots__ = ("boards", "head", "subscribers", "transport")

    def __init__(self, boards: dict[str, set[asyncio.Transport]]) -> None:
        self.boards = boards
        self.head = b""
        self.subscribers: set[asyncio.Transport] | None = None
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        transport = self.transport
        if self.subscribers is not None or transport is None:
            return  # a streaming client has nothing more to say
        self.head += data
        if b"\r\n\r\n" not in self.head:
            if len(self.head) > MAX_REQUEST_BYTES:
                transport.close()
            return
        parts = self.head.split(b" ", 2)
        path = parts[1] if len(parts) == 3 else b""
        if path == b"/readyz":
            transport.write(READY)
            transport.close()
            return
        subscribers = None
        if path.startswith(STREAM_PREFIX):
            iata = path[len(STREAM_PREFIX) :].split(b"?", 1)[0].decode(errors="replace").upper()
            subscribers = self.boards.get(f"board_{iata}")
        if subscribers is None:
            transport.write(NOT_FOUND)
            transport.close()
            return
        transport.write(HEADERS)
        subscribers.add(transport)
        self.subscribers = subscribers

    def connection_lost(self, exc: Exception | None) -> None:
        if self.subscribers is not None and self.transport is not None:
            self.subscribers.discard(self.transport)


def fan_out(subscribers: set[asyncio.Transport]) -> object:
    def on_notify(_conn: object, _pid: int, _channel: str, payload: str) -> None:
        frame = b"event: flight.gate_changed\ndata: " + payload.encode() + b"\n\n"
        for transport in subscribers:
            transport.write(frame)

    return on_notify


async def serve(host: str, port: int, dsn: str, boards: Sequence[str]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    channels: dict[str, set[asyncio.Transport]] = {f"board_{b.upper()}": set() for b in boards}
    conn = await asyncpg.connect(dsn)
    try:
        for channel, subscribers in channels.items():
            await conn.add_listener(channel, fan_out(subscribers))  # type: ignore[arg-type]
        server = await loop.create_server(
            lambda: StreamClient(channels), host, port, backlog=2048, reuse_address=True
        )
        async with server:
            await stop.wait()
            server.close()
            for subscribers in channels.values():
                for transport in tuple(subscribers):
                    transport.abort()
    finally:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(conn.close(), timeout=5)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True, help="PostgreSQL URL for the LISTEN connection")
    parser.add_argument(
        "--boards", required=True, help="comma-separated airports to serve, e.g. DFW,ORD"
    )
    args = parser.parse_args(argv)
    uvloop.run(serve(args.host, args.port, args.dsn, args.boards.split(",")))


if __name__ == "__main__":
    main()
