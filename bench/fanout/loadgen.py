"""The load generator: N SSE or WebSocket clients in one process, steered by the driver
over stdin.

Clients are raw asyncio protocols on uvloop: each reads its response headers,
(WebSocket: sends its ``--send`` message, a subscribe or a Phoenix join), waits for
the stream's ready marker (Skybound's ``snapshot``, the peer's ``: subscribed``,
the compatible endpoint's ``Subscribed to PostgreSQL``; none for the bare writer),
and from then on only looks for the timestamp key every event's JSON carries
(``--at-key``: ``at``, or ``commit_timestamp`` in a ``postgres_changes`` message).
In the latency phase the value is parsed and ``time.time() - at`` recorded per
delivery; in the burst phase events are only counted (``bytes.count``), so the
clients cost as little as possible while the server is pushed to its peak.

WebSocket frames are not parsed one by one, for the same reason: every event is one
text frame, so counting the key counts events. Clients keep the server's heartbeat
quiet as real clients do (``--heartbeat``, a message every ``--heartbeat-seconds``,
spread over the interval), and still answer a server ping (an empty ping frame,
``\\x89\\x00``) with a pong.

    python -m bench.fanout.loadgen --port P --path /v1/streams/boards/DFW --clients N

Commands are JSON lines on stdin; each gets one JSON line back on stdout:

- ``{"cmd": "connect", "timeout": S}``: open the clients (the first alone, then the
  rest with at most ``--concurrency`` handshakes in flight); connect times, failures.
- ``{"cmd": "phase", "mode": "latency" | "burst"}``: reset the per-phase counters.
- ``{"cmd": "wait", "per_client": E, "timeout": S}``: until every open client has E
  events of this phase, or the timeout.
- ``{"cmd": "report", "latencies": PATH}``: this phase's counters; latencies (seconds,
  float64) written to PATH.
- ``{"cmd": "quit"}``: close every client and exit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any

import uvloop

from bench.harness.load import Instants, answer_commands, raise_open_files_limit
from bench.harness.websocket import PONG, upgrade_request, ws_client_frame

PING = b": ping"
# aiohttp's heartbeat: a ping frame with no payload. Event frames cannot hold these two
# bytes (JSON text never has a NUL, and no event is 35,072 bytes long).
WS_PING = b"\x89\x00"
HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 4 * 1024 * 1024
LATENCY = "latency"
BURST = "burst"


class Stats:
    """Counters shared by every client of this process; reset at each phase."""

    def __init__(self, at_key: bytes, websocket: bool) -> None:
        self.at = at_key
        # What a WebSocket client answers a server's ping with; None for SSE.
        self.pong = ws_client_frame(b"", PONG) if websocket else None
        # The longest prefix of the key that can end a read without the key being complete.
        self.at_tail = len(at_key) - 1
        self.mode = LATENCY
        self.events = 0
        self.bytes = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies = array("d")
        self.lost: Counter[str] = Counter()
        self.bad_at = 0
        self.pings = 0
        self.server_pings = 0
        self._instants = Instants()

    def reset(self, mode: str) -> None:
        self.mode = mode
        self.events = 0
        self.bytes = 0
        self.first = self.last = 0.0
        self.latencies = array("d")
        self.lost.clear()
        self.bad_at = 0
        self.pings = 0
        self._instants.clear()

    def instant(self, text: bytes) -> float | None:
        """Epoch seconds of an event's ``at``; one that does not parse is counted."""
        value = self._instants(text)
        if value is None:
            self.bad_at += 1
        return value


class StreamClient(asyncio.Protocol):
    """An SSE stream, or a WebSocket when ``opening`` (its first message) is given."""

    __slots__ = (
        "answered",
        "events",
        "head",
        "live",
        "marker",
        "opening",
        "ready",
        "stats",
        "tail",
        "transport",
    )

    def __init__(
        self,
        stats: Stats,
        marker: bytes | None,
        ready: asyncio.Future[float],
        opening: bytes | None,
    ) -> None:
        self.stats = stats
        self.marker = marker
        self.ready = ready
        self.opening = opening
        self.answered = False
        self.head = b""
        self.tail = b""
        self.live = False
        self.events = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.live:
            self._events(data)
            return
        head = self.head = self.head + data
        if not self.answered:
            end = head.find(HEAD_END)
            if end < 0 or self.ready.done():
                self._check_size()
                return
            status = head.split(b" ", 2)[1] if head.count(b" ", 0, 32) >= 2 else b"?"
            if status != (b"200" if self.opening is None else b"101"):
                self.ready.set_exception(ConnectionError(f"HTTP {status.decode(errors='replace')}"))
                return
            self.answered = True
            if self.opening is not None and self.transport is not None:
                self.transport.write(self.opening)
            head = self.head = head[end + len(HEAD_END) :]
        start = 0
        if self.marker is not None:
            found = head.find(self.marker)
            if found < 0:
                self._check_size()
                return
            start = found + len(self.marker)
        self.head = b""
        self.live = True
        self.ready.set_result(time.perf_counter())
        if start < len(head):
            self._events(head[start:])

    def _check_size(self) -> None:
        if len(self.head) > MAX_HEAD_BYTES and not self.ready.done():
            self.ready.set_exception(ConnectionError("no ready marker in the first 4 MB"))

    def _events(self, data: bytes) -> None:
        stats = self.stats
        stats.bytes += len(data)
        buf = self.tail + data if self.tail else data
        if stats.pong is not None and WS_PING in data and self.transport is not None:
            stats.server_pings += 1
            self.transport.write(stats.pong)
        if stats.mode == BURST:
            found = buf.count(stats.at)
            # Heartbeats are writes too: the driver sets them against the server's syscalls.
            stats.pings += data.count(PING)
            self.tail = buf[-stats.at_tail :]
        else:
            found = self._latencies(buf, time.time())
        if found:
            self.events += found
            stats.events += found
            now = time.time()
            if not stats.first:
                stats.first = now
            stats.last = now

    def _latencies(self, buf: bytes, now: float) -> int:
        stats = self.stats
        key = stats.at
        found = 0
        pos = 0
        while True:
            at = buf.find(key, pos)
            if at < 0:
                self.tail = buf[max(pos, len(buf) - stats.at_tail) :]
                return found
            # "at":"2026-...Z" (Skybound) or "at": "2026-...+00:00" (PostgreSQL's jsonb).
            opening = buf.find(b'"', at + len(key))
            closing = buf.find(b'"', opening + 1) if opening >= 0 else -1
            if closing < 0:
                self.tail = buf[at:]
                return found
            instant = stats.instant(buf[opening + 1 : closing])
            if instant is not None:
                stats.latencies.append(now - instant)
            found += 1
            pos = closing + 1

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.ready.done():
            self.ready.set_exception(ConnectionError("closed before ready"))
        elif self.live:
            self.live = False
            self.stats.lost[type(exc).__name__ if exc else "eof"] += 1


class LoadGenerator:
    def __init__(self, args: argparse.Namespace) -> None:
        self.host: str = args.host
        self.port: int = args.port
        self.clients_wanted: int = args.clients
        self.concurrency: int = args.concurrency
        self.marker: bytes | None = args.ready_marker.encode() if args.ready_marker else None
        websocket = args.send is not None
        self.opening = ws_client_frame(args.send.encode()) if websocket else None
        self.heartbeat = ws_client_frame(args.heartbeat.encode()) if args.heartbeat else None
        self.heartbeat_seconds: int = args.heartbeat_seconds
        if websocket:
            self.request = upgrade_request(args.host, args.port, args.path)
        else:
            self.request = (
                f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
                "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
            ).encode()
        self.stats = Stats(f'"{args.at_key}"'.encode(), websocket)
        self.clients: list[StreamClient] = []
        self.heartbeats_sent = 0

    def open_clients(self) -> list[StreamClient]:
        return [c for c in self.clients if c.live]

    async def keep_alive(self) -> None:
        """Each client sends its heartbeat once per ``heartbeat_seconds``, the clients
        spread over the interval (one slice a second), as independent browsers would."""
        if self.heartbeat is None:
            return
        tick = 0
        while True:
            await asyncio.sleep(1.0)
            slices = self.heartbeat_seconds
            for client in self.clients[tick % slices :: slices]:
                if client.live and client.transport is not None:
                    client.transport.write(self.heartbeat)
                    self.heartbeats_sent += 1
            tick += 1

    async def connect(self, within: float) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        gate = asyncio.Semaphore(self.concurrency)
        started = time.perf_counter()
        deadline = started + within
        ready_at: list[float] = []
        failures: Counter[str] = Counter()

        async def one() -> None:
            async with gate:
                remaining = deadline - time.perf_counter()
                if remaining <= 0:
                    failures["timeout"] += 1
                    return
                ready: asyncio.Future[float] = loop.create_future()
                try:
                    transport, client = await asyncio.wait_for(
                        loop.create_connection(
                            lambda: StreamClient(self.stats, self.marker, ready, self.opening),
                            self.host,
                            self.port,
                        ),
                        remaining,
                    )
                except (OSError, TimeoutError) as exc:
                    failures[f"connect: {type(exc).__name__}"] += 1
                    return
                self.clients.append(client)
                transport.write(self.request)
                try:
                    ready_at.append(
                        await asyncio.wait_for(ready, deadline - time.perf_counter()) - started
                    )
                except TimeoutError:
                    failures["timeout"] += 1
                    transport.abort()
                except ConnectionError as exc:
                    failures[str(exc)] += 1
                    transport.abort()

        # One client alone first: a server that subscribes lazily (broadcaster LISTENs
        # on a channel's first subscriber) is not raced by the rest on that first step.
        await one()
        await asyncio.gather(*(one() for _ in range(self.clients_wanted - 1)))
        ready_at.sort()
        return {
            "connected": len(ready_at),
            "failures": dict(failures),
            "seconds": ready_at[-1] if ready_at else None,
            "median_seconds": ready_at[len(ready_at) // 2] if ready_at else None,
        }

    async def wait(self, per_client: int, within: float) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            behind = sum(1 for c in self.open_clients() if c.events < per_client)
            if not behind or time.monotonic() >= deadline:
                return {"behind": behind}
            await asyncio.sleep(0.02)

    def phase(self, mode: str) -> dict[str, Any]:
        if mode not in (LATENCY, BURST):
            raise ValueError(f"unknown mode {mode!r}")
        self.stats.reset(mode)
        for client in self.clients:
            client.events = 0
            client.tail = b""
        return {"mode": mode}

    def report(self, latencies: str | None) -> dict[str, Any]:
        stats = self.stats
        if latencies:
            with open(latencies, "wb") as out:
                stats.latencies.tofile(out)
        counts = [c.events for c in self.open_clients()]
        return {
            "events": stats.events,
            "bytes": stats.bytes,
            "first": stats.first,
            "last": stats.last,
            "latencies": len(stats.latencies),
            "open": len(counts),
            "min_per_client": min(counts, default=0),
            "max_per_client": max(counts, default=0),
            "lost": dict(stats.lost),
            "bad_at": stats.bad_at,
            "pings": stats.pings,
            "server_pings": stats.server_pings,
            "heartbeats_sent": self.heartbeats_sent,
        }

    def close(self) -> None:
        for client in self.clients:
            if client.transport is not None:
                client.transport.abort()


async def run(args: argparse.Namespace) -> None:
    generator = LoadGenerator(args)
    keep_alive = asyncio.create_task(generator.keep_alive(), name="heartbeats")
    try:
        await answer_commands(
            {
                "connect": lambda c: generator.connect(float(c["timeout"])),
                "phase": lambda c: generator.phase(c["mode"]),
                "wait": lambda c: generator.wait(int(c["per_client"]), float(c["timeout"])),
                "report": lambda c: generator.report(c.get("latencies")),
            }
        )
    finally:
        keep_alive.cancel()
        generator.close()
        with contextlib.suppress(Exception):
            await asyncio.sleep(0.1)  # let the aborts reach the server


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout.loadgen", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--path", required=True)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=100, help="handshakes in flight")
    parser.add_argument("--ready-marker", help="bytes after the headers that mean subscribed")
    parser.add_argument("--at-key", default="at", help="the JSON key of an event's timestamp")
    parser.add_argument(
        "--send", help="WebSocket: the text message each client sends once upgraded"
    )
    parser.add_argument("--heartbeat", help="WebSocket: the text message that keeps it alive")
    parser.add_argument("--heartbeat-seconds", type=int, default=20)
    raise_open_files_limit()
    uvloop.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
