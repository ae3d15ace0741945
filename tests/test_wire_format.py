"""The exact bytes of SSE and WebSocket frames, on their own and on the wire.

Streams are framed by hand (one encoding per event, the same bytes to every client),
so nothing but these tests holds the framing to the specs: SSE as the HTML standard
parses it (checked against aiohttp-sse, whose framing is the reference), WebSocket
frames as RFC 6455 defines them (checked against aiohttp's own frame reader).
"""

from __future__ import annotations

import asyncio
import socket

import asyncpg
import pytest
from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestClient
from aiohttp_sse import EventSourceResponse

from api.keys import realtime_key
from streams.catchup import Framing, catch_up
from streams.events import ChangeEvent, render_data, websocket_text_frame, ws_event_message
from streams.hub import Encoder, Hub
from streams.positions import Position
from streams.realtime import Realtime
from streams.snapshots import SnapshotCache
from streams.sse import http_chunk, sse_comment, sse_event, sse_retry
from streams.sse_stream import SSE_FRAMING
from streams.ws_endpoint import WS_FRAMING
from tests.factories import add_jfk_departures
from tests.waiting import eventually


def test_an_event_is_id_event_and_data_lines_then_a_blank_line() -> None:
    assert sse_event('{"a":1}', event="flight.delayed", event_id="e1:42") == (
        b'id: e1:42\nevent: flight.delayed\ndata: {"a":1}\n\n'
    )


def test_every_line_break_in_data_starts_a_new_data_line() -> None:
    assert sse_event("one\ntwo\r\nthree\rfour") == (
        b"data: one\ndata: two\ndata: three\ndata: four\n\n"
    )


def test_line_breaks_are_stripped_from_id_and_event() -> None:
    assert sse_event("x", event="bad\r\nevent", event_id="1\n2") == (
        b"id: 12\nevent: badevent\ndata: x\n\n"
    )


def test_retry_comment_and_chunk_framing() -> None:
    assert sse_retry(2500) == b"retry: 2500\n\n"
    assert sse_comment("ping\n") == b": ping\n\n"
    assert http_chunk(b"retry: 2500\n\n") == b"d\r\nretry: 2500\n\n\r\n"
    assert http_chunk(b"x" * 255) == b"ff\r\n" + b"x" * 255 + b"\r\n"


def test_a_change_event_is_one_chunk_with_its_position_type_and_data() -> None:
    event = ChangeEvent(7, "flight.gate_changed", ("flight:1",), "ab12:7", b'{"g":"B2"}')
    body = b'id: ab12:7\nevent: flight.gate_changed\ndata: {"g":"B2"}\n\n'
    assert event.sse_chunk() == b"%x\r\n%b\r\n" % (len(body), body)
    assert event.sse_chunk() is event.sse_chunk()  # encoded once


@pytest.mark.parametrize(
    ("data", "event", "event_id"),
    [
        ('{"flight":{"id":1}}', "snapshot", "e:1"),
        ("multi\nline\r\ndata\rhere", None, None),
        ("", "reset", "e:2"),
    ],
)
async def test_sse_framing_matches_aiohttp_sse(
    aiohttp_client: object, data: str, event: str | None, event_id: str | None
) -> None:
    async def reference(request: web.Request) -> web.StreamResponse:
        async with EventSourceResponse(sep="\n") as stream:
            await stream.prepare(request)
            await stream.send(data, id=event_id, event=event)
        return stream

    app = web.Application()
    app.router.add_get("/", reference)
    client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    body = await (await client.get("/")).read()
    assert body == sse_event(data, event=event, event_id=event_id)


def test_websocket_text_frames_use_the_shortest_length_encoding() -> None:
    assert websocket_text_frame(b"hi") == b"\x81\x02hi"
    assert websocket_text_frame(b"x" * 125)[:2] == b"\x81\x7d"
    assert websocket_text_frame(b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert websocket_text_frame(b"x" * 65535)[:4] == b"\x81\x7e\xff\xff"
    big = websocket_text_frame(b"x" * 65536)
    assert big[:10] == b"\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00"
    assert len(big) == 10 + 65536


def test_an_event_message_is_compact_json_with_the_data_inlined() -> None:
    message = ws_event_message("board:JFK:departures", "ab12:7", "flight.delayed", b'{"d":5}')
    assert message == (
        b'{"type":"event","topic":"board:JFK:departures","id":"ab12:7",'
        b'"event":"flight.delayed","data":{"d":5}}'
    )


@pytest.mark.parametrize("size", [10, 126, 70_000])
async def test_aiohttp_reads_our_websocket_frames_back(aiohttp_client: object, size: int) -> None:
    payload = ("é" * size).encode()[:size].decode(errors="ignore").encode()

    async def raw_frames(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        assert request.transport is not None
        request.transport.write(websocket_text_frame(payload))
        await ws.receive()  # until the client closes
        return ws

    app = web.Application()
    app.router.add_get("/", raw_frames)
    client: TestClient = await aiohttp_client(app)  # type: ignore[operator]
    async with client.ws_connect("/") as ws:
        message = await ws.receive(timeout=5)
        assert message.type == WSMsgType.TEXT
        assert message.data.encode() == payload


def _sse(event: ChangeEvent, _topic: str) -> bytes:
    return event.sse_chunk()


def _ws(event: ChangeEvent, topic: str) -> bytes:
    return event.ws_frame(topic)


class _Writes:
    """A connection that records each write."""

    def __init__(self) -> None:
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.writes: list[bytes] = []

    def buffered(self) -> int:
        return 0

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def close(self, reason: str) -> None:
        self.closed.set_result(reason)


async def _catch_up_writes(
    framing: Framing, encode: Encoder, since: Position | None
) -> list[bytes]:
    """What catch-up writes for ``flight:1`` at cursor 7, with event 8 published while the
    snapshot is built."""
    hub = Hub()
    hub.epoch, hub.cursor = "ab12cd34", 7
    realtime = Realtime(hub, None, SnapshotCache(), retry_ms=1000)  # type: ignore[arg-type]
    sink = _Writes()
    subscription = hub.subscribe("flight:1", sink, encode)

    async def snapshot() -> bytes:
        hub.publish(ChangeEvent(8, "flight.delayed", ("flight:1",), "ab12cd34:8", b'{"d":5}'))
        return b'{"id":1}'

    await catch_up(realtime, None, subscription, since, snapshot, framing)
    return sink.writes


async def test_sse_catch_up_is_the_reset_then_the_snapshot_then_what_was_held() -> None:
    writes = await _catch_up_writes(SSE_FRAMING, _sse, Position("00000000", 3))
    assert writes == [
        b'2f\r\nevent: reset\ndata: {"reason":"epoch_changed"}\n\n\r\n',
        b'2f\r\nid: ab12cd34:7\nevent: snapshot\ndata: {"id":1}\n\n\r\n',
        b'34\r\nid: ab12cd34:8\nevent: flight.delayed\ndata: {"d":5}\n\n\r\n',
    ]
    assert await _catch_up_writes(SSE_FRAMING, _sse, None) == writes[1:]


async def test_websocket_catch_up_is_subscribed_then_reset_snapshot_and_what_was_held() -> None:
    writes = await _catch_up_writes(WS_FRAMING, _ws, Position("00000000", 3))
    event = b'{"type":"event","topic":"flight:1","id":"ab12cd34:%b","event":%b,"data":%b}'
    assert writes == [
        websocket_text_frame(b'{"type":"subscribed","topic":"flight:1","position":"ab12cd34:7"}'),
        websocket_text_frame(event % (b"7", b'"reset"', b'{"reason":"epoch_changed"}')),
        websocket_text_frame(event % (b"7", b'"snapshot"', b'{"id":1}')),
        websocket_text_frame(event % (b"8", b'"flight.delayed"', b'{"d":5}')),
    ]
    assert await _catch_up_writes(WS_FRAMING, _ws, None) == [writes[0], *writes[2:]]


async def _read_until(sock: socket.socket, marker: bytes, received: bytes = b"") -> bytes:
    loop = asyncio.get_running_loop()
    while marker not in received:
        chunk = await asyncio.wait_for(loop.run_in_executor(None, sock.recv, 65536), 10)
        assert chunk, "stream ended"
        received += chunk
    return received


async def test_a_live_event_crosses_the_wire_as_exactly_one_chunk(
    client: TestClient, db: asyncpg.Connection
) -> None:
    [flight] = await add_jfk_departures(db, 1)
    realtime = client.app[realtime_key]
    with socket.create_connection(("127.0.0.1", client.port)) as sock:  # type: ignore[arg-type]
        sock.sendall(b"GET /v1/streams/boards/JFK HTTP/1.1\r\nHost: test\r\n\r\n")
        head = await _read_until(sock, b"event: snapshot")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n")
        assert b"Content-Type: text/event-stream\r\n" in head
        assert b"Transfer-Encoding: chunked\r\n" in head
        assert b"X-Accel-Buffering: no\r\n" in head
        await eventually(lambda: realtime.hub.subscriber_count() == 1, what="live")
        await db.execute("UPDATE flights SET departure_gate = 'Q9' WHERE id = $1", flight)
        row = await db.fetchrow(
            "SELECT id, event_type, entity, payload, created_at FROM change_events "
            "ORDER BY id DESC LIMIT 1"
        )
        data = render_data(row["entity"], row["payload"], row["created_at"])
        body = b"id: %b:%d\nevent: %b\ndata: %b\n\n" % (
            realtime.hub.epoch.encode(), row["id"], row["event_type"].encode(), data,
        )  # fmt: skip
        expected = b"%x\r\n%b\r\n" % (len(body), body)
        received = await _read_until(sock, expected, head.split(b"event: snapshot")[1])
        assert received.endswith(expected)  # and nothing after it
