"""The soak's clients: what each has received, and its SSE or WebSocket connections.

A *client* is a logical reader that outlives its connections: per topic it keeps
the id of every event it received (in arrival order) and its last position, and
each time it comes back it resumes from there (SSE ``Last-Event-ID``, WebSocket
``since``). So at the end every event of its topics after its first snapshot
must be in its list exactly once and in order, whatever connections it went through.
Parsing is by byte search, not JSON: a load generator process reads tens of
thousands of events a second.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import math
import socket
import struct
import time
from array import array
from collections import Counter
from typing import TYPE_CHECKING, Any

import orjson

from bench.harness.load import Instants
from bench.harness.websocket import upgrade_request, ws_client_frame

if TYPE_CHECKING:
    from bench.soak.loadgen import LoadGenerator

HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 64 * 1024
# A latency lands in bucket round(log(seconds) / log(BUCKET_BASE)): 1% wide.
BUCKET_BASE = 1.01
SSE = "sse"
WS = "ws"


# --- per-minute counters ----------------------------------------------------------------


class Minute:
    """Counters of one minute of the run (by the time things happened here)."""

    __slots__ = (
        "abrupt",
        "connect_failures",
        "connects",
        "deliveries",
        "dup",
        "latency",
        "loop_lag",
        "ooo",
        "orderly",
        "replayed",
        "resets",
        "server_closes",
        "ws_errors",
    )

    def __init__(self) -> None:
        self.deliveries = 0
        self.replayed = 0
        self.dup = 0
        self.ooo = 0
        self.connects = 0
        self.orderly = 0
        self.abrupt = 0
        self.resets = 0
        self.latency: Counter[int] = Counter()
        self.server_closes: Counter[str] = Counter()
        self.connect_failures: Counter[str] = Counter()
        self.ws_errors: Counter[str] = Counter()
        self.loop_lag = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "deliveries": self.deliveries,
            "replayed": self.replayed,
            "dup": self.dup,
            "ooo": self.ooo,
            "connects": self.connects,
            "orderly": self.orderly,
            "abrupt": self.abrupt,
            "resets": self.resets,
            "latency": {str(k): v for k, v in self.latency.items()},
            "server_closes": dict(self.server_closes),
            "connect_failures": dict(self.connect_failures),
            "ws_errors": dict(self.ws_errors),
            "loop_lag": self.loop_lag,
        }


class Clock:
    """Which minute it is, and a cache of parsed event timestamps."""

    def __init__(self) -> None:
        self.t0: float | None = None
        self.minutes = 0
        self.rows: dict[int, Minute] = {}
        # Epoch seconds of the events' timestamps.
        self.instant = Instants()

    def index(self, now: float) -> int:
        if self.t0 is None or now < self.t0:
            return 0
        return min(self.minutes, 1 + int((now - self.t0) // 60))

    def minute(self, now: float | None = None) -> Minute:
        i = self.index(time.time() if now is None else now)
        row = self.rows.get(i)
        if row is None:
            row = self.rows[i] = Minute()
            self.instant.clear()  # one minute's events are enough to keep parsed
        return row


# --- what a client has received ---------------------------------------------------------


class Subscription:
    """One topic of one logical client, across all its connections."""

    __slots__ = ("epoch", "gaps", "ids", "last", "late", "start", "topic")

    def __init__(self, topic: str) -> None:
        self.topic = topic
        self.epoch = ""
        self.start: int | None = None  # position of the first snapshot
        self.last: int | None = None  # the position to resume from
        self.ids = array("q")  # in-order deliveries, ascending
        self.late: list[int] = []  # out-of-order deliveries
        self.gaps: list[tuple[int, int]] = []  # (after, through) skipped by a reset

    def position(self) -> str | None:
        return None if self.last is None else f"{self.epoch}:{self.last}"

    def snapshot(self, position: bytes, row: Minute) -> None:
        epoch, _, number = position.partition(b":")
        at = int(number)
        self.epoch = epoch.decode()
        if self.start is None:
            self.start = at
        elif self.last is not None and at > self.last:
            self.gaps.append((self.last, at))  # a reset: the snapshot replaces these
            row.resets += 1
        if self.last is None or at > self.last:
            self.last = at

    def event(self, event_id: int, at: float | None, opened: float, row: Minute) -> None:
        now = time.time()
        last = self.last
        if last is None or self.start is None:
            row.ooo += 1  # an event before any snapshot: nothing to place it after
            self.late.append(event_id)
            return
        if event_id <= last:
            ids = self.ids
            k = bisect.bisect_left(ids, event_id)
            if (
                event_id <= self.start
                or (k < len(ids) and ids[k] == event_id)
                or (event_id in self.late)
            ):
                row.dup += 1
            else:
                row.ooo += 1
                self.late.append(event_id)
            return
        self.ids.append(event_id)
        self.last = event_id
        row.deliveries += 1
        if at is None:
            return
        if at < opened:
            row.replayed += 1  # written before this connection asked: a catch-up
        else:
            row.latency[round(math.log(max(now - at, 1e-4)) / math.log(BUCKET_BASE))] += 1


# --- connections ------------------------------------------------------------------------


class Connection(asyncio.Protocol):
    """One connection of a client; subclasses parse SSE or WebSocket."""

    def __init__(self, client: Client, ready: asyncio.Future[None]) -> None:
        self.client = client
        self.clock = client.gen.clock
        self.ready = ready
        self.transport: asyncio.Transport | None = None
        self.head = b""
        self.buf = b""
        self.upgraded = False
        self.opened = time.time()
        self.leaving = False
        self.closed_by_server: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.opened = time.time()
        transport.write(self.request())  # type: ignore[attr-defined]

    def request(self) -> bytes:
        raise NotImplementedError

    def data_received(self, data: bytes) -> None:
        if not self.upgraded:
            head = self.head + data
            end = head.find(HEAD_END)
            if end < 0:
                self.head = head
                if len(head) > MAX_HEAD_BYTES:
                    self.fail("no response head")
                return
            status = head[: head.find(b"\r\n")].split(b" ")
            code = status[1].decode(errors="replace") if len(status) > 1 else "?"
            if code != self.expected_status:
                self.fail(f"HTTP {code}")
                return
            self.upgraded = True
            self.head = b""
            self.opening()
            data = head[end + len(HEAD_END) :]
            if not data:
                return
        self.body(data)

    expected_status = "200"

    def opening(self) -> None:
        """Response headers arrived."""

    def body(self, data: bytes) -> None:
        raise NotImplementedError

    def fail(self, reason: str) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(reason))
        if self.transport is not None:
            self.transport.abort()

    def leave(self, abrupt: bool) -> None:
        self.leaving = True
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        if abrupt:
            sock = transport.get_extra_info("socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            transport.abort()
        else:
            self.goodbye(transport)

    def goodbye(self, transport: asyncio.Transport) -> None:
        transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before subscribed"))
        self.client.lost(self, exc)


class SseConnection(Connection):
    def request(self) -> bytes:
        client = self.client
        sub = client.subscriptions[0]
        resume = sub.position()
        lines = [
            f"GET {client.path} HTTP/1.1",
            f"Host: {client.gen.host}:{client.gen.port}",
            "Accept: text/event-stream",
            "Cache-Control: no-cache",
        ]
        if resume is not None:
            lines.append(f"Last-Event-ID: {resume}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode()

    def opening(self) -> None:
        # Resuming clients get no snapshot: the response itself means subscribed.
        if self.client.subscriptions[0].last is not None and not self.ready.done():
            self.ready.set_result(None)

    def body(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        end = buf.rfind(b"\n\n")
        if end < 0:
            self.buf = buf
            return
        self.buf = buf[end + 2 :]
        sub = self.client.subscriptions[0]
        row = self.clock.minute()
        for piece in buf[:end].split(b"\n\n"):
            i = piece.find(b"\nid: ")
            if i < 0:
                if b"event: error" in piece:
                    self.closed_by_server = _sse_error_code(piece)
                continue
            j = piece.find(b"\n", i + 5)
            position = piece[i + 5 : j]
            if piece.startswith(b"event: snapshot", j + 1):
                sub.snapshot(position, row)
                if not self.ready.done():
                    self.ready.set_result(None)
                continue
            at = None
            k = piece.rfind(b'"at":"')
            if k >= 0:
                at = self.clock.instant(piece[k + 6 : piece.find(b'"', k + 6)])
            sub.event(int(position[position.rfind(b":") + 1 :]), at, self.opened, row)


def _sse_error_code(piece: bytes) -> str:
    k = piece.find(b'"code":"')
    if k < 0:
        return "error"
    return piece[k + 8 : piece.find(b'"', k + 8)].decode(errors="replace")


class WsConnection(Connection):
    expected_status = "101"

    def request(self) -> bytes:
        gen = self.client.gen
        return upgrade_request(gen.host, gen.port, "/v1/ws")

    def opening(self) -> None:
        self.waiting = {sub.topic for sub in self.client.subscriptions}
        frames = []
        for sub in self.client.subscriptions:
            message: dict[str, Any] = {"type": "subscribe", "topic": sub.topic}
            resume = sub.position()
            if resume is not None:
                message["since"] = resume
            frames.append(ws_client_frame(orjson.dumps(message)))
        assert self.transport is not None
        self.transport.write(b"".join(frames))

    def body(self, data: bytes) -> None:
        buf = self.buf + data if self.buf else data
        p = 0
        n = len(buf)
        row = self.clock.minute()
        while n - p >= 2:
            opcode = buf[p] & 0x0F
            length = buf[p + 1] & 0x7F
            head = 2
            if length == 126:
                if n - p < 4:
                    break
                length = int.from_bytes(buf[p + 2 : p + 4], "big")
                head = 4
            elif length == 127:
                if n - p < 10:
                    break
                length = int.from_bytes(buf[p + 2 : p + 10], "big")
                head = 10
            if n - p < head + length:
                break
            payload = buf[p + head : p + head + length]
            p += head + length
            if opcode == 0x1:
                self.message(payload, row)
            elif opcode == 0x9 and self.transport is not None:
                self.transport.write(ws_client_frame(payload, 0xA))
            elif opcode == 0x8:
                code = int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
                if not self.leaving:
                    self.closed_by_server = f"close {code}"
                if self.transport is not None:
                    self.transport.close()
                self.buf = b""
                return
        self.buf = buf[p:]

    def message(self, payload: bytes, row: Minute) -> None:
        if payload.startswith(b'{"type":"event","topic":"'):
            t = 25
            t_end = payload.find(b'"', t)
            topic = payload[t:t_end].decode()
            i = payload.find(b'"id":"', t_end) + 6
            i_end = payload.find(b'"', i)
            e = payload.find(b'"event":"', i_end) + 9
            e_end = payload.find(b'"', e)
            sub = self.client.by_topic.get(topic)
            if sub is None:
                row.ws_errors["event for a topic not subscribed"] += 1
                return
            kind = payload[e:e_end]
            if kind == b"snapshot":
                sub.snapshot(payload[i:i_end], row)
                self.subscribed(topic)
            elif kind == b"reset":
                pass  # the snapshot that follows moves the position
            else:
                at = None
                k = payload.rfind(b'"at":"')
                if k >= 0:
                    at = self.clock.instant(payload[k + 6 : payload.find(b'"', k + 6)])
                position = payload[i:i_end]
                sub.event(int(position[position.rfind(b":") + 1 :]), at, self.opened, row)
            return
        message = orjson.loads(payload)
        kind = message.get("type")
        if kind == "subscribed":
            sub = self.client.by_topic.get(message.get("topic", ""))
            if sub is not None and sub.last is not None:
                self.subscribed(sub.topic)  # a resume: no snapshot follows
        elif kind == "error":
            row.ws_errors[str(message.get("code"))] += 1

    def subscribed(self, topic: str) -> None:
        self.waiting.discard(topic)
        if not self.waiting and not self.ready.done():
            self.ready.set_result(None)

    def goodbye(self, transport: asyncio.Transport) -> None:
        # Close frame 1000; the server answers with its own, then we close the socket.
        transport.write(ws_client_frame((1000).to_bytes(2, "big"), 0x8))
        asyncio.get_running_loop().call_later(2.0, transport.abort)


# --- clients ----------------------------------------------------------------------------


class Client:
    """A logical reader: its subscriptions outlive its connections."""

    def __init__(self, gen: LoadGenerator, kind: str, topics: list[str], path: str) -> None:
        self.gen = gen
        self.kind = kind
        self.path = path
        self.subscriptions = [Subscription(t) for t in topics]
        self.by_topic = {s.topic: s for s in self.subscriptions}
        self.conn: Connection | None = None
        self.live = False
        self.coming_back = False

    async def connect(self, within: float) -> str | None:
        """Open a connection and wait until it is subscribed; a failure reason or None."""
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        factory = SseConnection if self.kind == SSE else WsConnection
        deadline = time.monotonic() + within
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(lambda: factory(self, ready), self.gen.host, self.gen.port),
                within,
            )
        except (OSError, TimeoutError) as exc:
            return f"connect: {type(exc).__name__}"
        self.conn = conn
        try:
            await asyncio.wait_for(ready, max(0.1, deadline - time.monotonic()))
        except TimeoutError:
            conn.leaving = True
            if conn.transport is not None:
                conn.transport.abort()
            return "timeout"
        except ConnectionError as exc:
            return str(exc)
        self.live = True
        self.gen.clock.minute().connects += 1
        return None

    def leave(self, abrupt: bool) -> None:
        conn = self.conn
        if conn is None or not self.live:
            return
        self.live = False
        row = self.gen.clock.minute()
        if abrupt:
            row.abrupt += 1
        else:
            row.orderly += 1
        conn.leave(abrupt)

    def lost(self, conn: Connection, exc: Exception | None) -> None:
        if conn is not self.conn:
            return
        self.conn = None
        was_live = self.live
        self.live = False
        if conn.leaving or not was_live:
            return
        # The server ended a stream we did not leave: note why, and come back as a browser would.
        reason = conn.closed_by_server or (type(exc).__name__ if exc else "eof")
        self.gen.clock.minute().server_closes[reason] += 1
        self.gen.come_back(self)
