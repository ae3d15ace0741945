"""The fault suite's own tools: a reset must reach the peer as RST and an orderly close as
FIN, or the disconnect waves would test one kind of departure twice."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest

from tests.e2e.wire import RawConnection, SseParser


@pytest.fixture
async def peer() -> AsyncIterator[tuple[RawConnection, socket.socket]]:
    """A client connection and the accepted socket at its other end, with unread data."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        conn = await RawConnection.open(listener.getsockname()[1])
        accepted, _ = listener.accept()
        with accepted:
            # Unread bytes make a plain close() send RST: FIN must not depend on their absence.
            accepted.sendall(b"x" * 1000)
            accepted.settimeout(5)
            yield conn, accepted
        conn.writer.transport.abort()


async def test_reset_reaches_the_peer_as_rst(peer: tuple[RawConnection, socket.socket]) -> None:
    conn, accepted = peer
    conn.reset()
    await asyncio.sleep(0.05)  # let the loop close the socket
    with pytest.raises(ConnectionResetError):
        await asyncio.to_thread(accepted.recv, 10)


async def test_finish_reaches_the_peer_as_fin(peer: tuple[RawConnection, socket.socket]) -> None:
    conn, accepted = peer
    finishing = asyncio.create_task(conn.finish())
    assert await asyncio.to_thread(accepted.recv, 10) == b""  # end of stream, not a reset
    accepted.shutdown(socket.SHUT_WR)  # our side of the orderly close
    await asyncio.wait_for(finishing, 10)


def test_sse_parser_dispatches_events_split_anywhere() -> None:
    stream = (
        b"retry: 1500\n\n: ping\n\nid: 0badcafe:7\nevent: snapshot\ndata: {}\n\n"
        b"id: 0badcafe:9\r\nevent: flight.gate_changed\r\ndata: {\r\ndata: }\r\n\r\n"
    )
    parser = SseParser()
    events = [event for n in range(len(stream)) for event in parser.feed(stream[n : n + 1])]
    assert events == [("snapshot", "0badcafe:7"), ("flight.gate_changed", "0badcafe:9")]
