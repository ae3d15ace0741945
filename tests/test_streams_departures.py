"""A client that leaves never stops the pipeline: on uvloop, a write to its closed
transport raises, and once that killed the listener and silenced every stream."""

from __future__ import annotations

import asyncio
import socket
import struct

import asyncpg
import pytest
from aiohttp.test_utils import TestClient

from api.keys import realtime_key
from streams.sinks import TransportSink
from tests.factories import add_jfk_departures
from tests.sse_client import SseReader
from tests.waiting import eventually


@pytest.fixture
async def flights(db: asyncpg.Connection) -> list[int]:
    """Three legs out of JFK within the next hours."""
    return await add_jfk_departures(db, 3)


async def _raw_board_stream(port: int) -> socket.socket:
    """A board stream on a plain socket (so it can be reset), read up to its snapshot."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(b"GET /v1/streams/boards/JFK HTTP/1.1\r\nHost: test\r\n\r\n")
    received = b""
    loop = asyncio.get_running_loop()
    while b"event: snapshot" not in received:
        chunk = await loop.run_in_executor(None, sock.recv, 65536)
        assert chunk, "stream ended before its snapshot"
        received += chunk
    return sock


def _leave(sock: socket.socket, how: str) -> None:
    if how == "reset":
        # SO_LINGER 0: close() sends RST instead of FIN.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


@pytest.mark.parametrize("how", ["reset", "orderly close"])
async def test_events_keep_flowing_after_a_client_leaves(
    client: TestClient, db: asyncpg.Connection, flights: list[int], how: str
) -> None:
    realtime = client.app[realtime_key]
    staying = SseReader(await client.get("/v1/streams/boards/JFK"))
    assert (await staying.next()).event == "snapshot"
    leaving = await _raw_board_stream(client.port)  # type: ignore[arg-type]
    await eventually(lambda: len(realtime.sse_sinks) == 2, what="both streams open")
    _leave(leaving, how)
    # The server has seen the client go, but no sweep has found it yet: the next
    # event is written to a closed transport.
    await eventually(
        lambda: any(sink._transport.is_closing() for sink in realtime.sse_sinks),
        what="the server sees the departure",
    )
    await db.execute("UPDATE flights SET departure_gate = 'B7' WHERE id = $1", flights[0])
    await db.execute("UPDATE flights SET departure_gate = 'C9' WHERE id = $1", flights[1])
    gates = [(await staying.next()).json()["flight"]["departure"]["gate"] for _ in range(2)]
    assert gates == ["B7", "C9"]
    # The departed client is gone from the hub, and a new board hears later events.
    await eventually(lambda: len(realtime.sse_sinks) == 1, what="the departed sink dropped")
    newcomer = SseReader(await client.get("/v1/streams/boards/JFK"))
    assert (await newcomer.next()).event == "snapshot"
    await db.execute("UPDATE flights SET departure_gate = 'D2' WHERE id = $1", flights[2])
    assert (await newcomer.next()).json()["flight"]["departure"]["gate"] == "D2"
    assert (await staying.next()).json()["flight"]["departure"]["gate"] == "D2"
    ready = await client.get("/readyz")
    assert ready.status == 200, await ready.text()


async def test_a_websocket_client_that_vanishes_does_not_stop_delivery(
    client: TestClient, db: asyncpg.Connection, flights: list[int]
) -> None:
    realtime = client.app[realtime_key]
    staying = SseReader(await client.get("/v1/streams/boards/JFK"))
    assert (await staying.next()).event == "snapshot"
    ws = await client.ws_connect("/v1/ws")
    await ws.send_json({"type": "subscribe", "topic": "board:JFK:departures"})
    assert (await ws.receive_json())["type"] == "subscribed"
    await eventually(lambda: len(realtime.ws_sinks) == 1, what="websocket registered")
    transport = ws._response.connection.transport  # type: ignore[union-attr]
    assert transport is not None
    transport.abort()
    await eventually(
        lambda: all(sink._transport.is_closing() for sink in realtime.ws_sinks),
        what="the server sees the websocket go",
    )
    await db.execute("UPDATE flights SET departure_gate = 'W1' WHERE id = $1", flights[0])
    assert (await staying.next()).json()["flight"]["departure"]["gate"] == "W1"
    await eventually(lambda: not realtime.ws_sinks, what="the departed websocket dropped")


class _FailingTransport(asyncio.Transport):
    """A transport that has not yet noticed its peer is gone, as uvloop's can be."""

    def is_closing(self) -> bool:
        return False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        raise RuntimeError("unable to perform operation on <TCPTransport closed=True>")

    def get_write_buffer_size(self) -> int:
        raise RuntimeError("the handler is closed")


async def test_a_failing_write_is_a_departed_client_not_an_exception() -> None:
    sink = TransportSink(_FailingTransport(), lambda _reason: b"farewell")
    assert sink.buffered() == 0
    sink.write(b"data: x\n\n")
    assert sink.closed.done()
    assert sink.closed.result() == "client_gone"
    sink.write(b"more")  # and later writes are no-ops


async def test_a_farewell_to_a_departed_client_does_not_raise() -> None:
    sink = TransportSink(_FailingTransport(), lambda _reason: b"farewell")
    sink.close("slow_consumer")
    assert sink.closed.result() == "client_gone"
