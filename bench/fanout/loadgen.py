"""The load generator: N SSE clients in one process, steered by the driver over stdin.

Clients are raw asyncio protocols on uvloop: each reads its response headers,
waits for the stream's ready marker (Skybound's ``snapshot``, the peer's
``: subscribed``; none for the bare writer), and from then on only looks for
the ``"at"`` key every event's JSON carries. In the latency phase the value is
parsed and ``time.time() - at`` recorded per delivery; in the burst phase
events are only counted (``bytes.count``), so the clients cost as little as
possible while the server is pushed to its peak.

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

from bench.harness.load import Instants, answer_commands

AT = b'"at"'
PING = b": ping"
# The longest prefix of AT that can end a read without AT itself being complete.
AT_TAIL = len(AT) - 1
HEAD_END = b"\r\n\r\n"
MAX_HEAD_BYTES = 4 * 1024 * 1024
LATENCY = "latency"
BURST = "burst"


class Stats:
    """Counters shared by every client of this process; reset at each phase."""

    def __init__(self) -> None:
        self.mode = LATENCY
        self.events = 0
        self.bytes = 0
        self.first = 0.0
        self.last = 0.0
        self.latencies = array("d")
        self.lost: Counter[str] = Counter()
        self.bad_at = 0
        self.pings = 0
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


class SseClient(asyncio.Protocol):
    __slots__ = ("events", "head", "live", "marker", "ready", "stats", "tail", "transport")

    def __init__(self, stats: Stats, marker: bytes | None, ready: asyncio.Future[float]) -> None:
        self.stats = stats
        self.marker = marker
        self.ready = ready
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
        end = head.find(HEAD_END)
        if end < 0 or self.ready.done():
            self._check_size()
            return
        status = head.split(b" ", 2)[1] if head.count(b" ", 0, 32) >= 2 else b"?"
        if status != b"200":
            self.ready.set_exception(ConnectionError(f"HTTP {status.decode(errors='replace')}"))
            return
        start = end + len(HEAD_END)
        if self.marker is not None:
            found = head.find(self.marker, start)
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
        if stats.mode == BURST:
            found = buf.count(AT)
            # Heartbeats are writes too: the driver sets them against the server's syscalls.
            stats.pings += data.count(PING)
            self.tail = buf[-AT_TAIL:]
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
        found = 0
        pos = 0
        while True:
            at = buf.find(AT, pos)
            if at < 0:
                self.tail = buf[max(pos, len(buf) - AT_TAIL) :]
                return found
            # "at":"2026-...Z" (Skybound) or "at": "2026-...+00:00" (PostgreSQL's jsonb).
            opening = buf.find(b'"', at + len(AT))
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
        self.request = (
            f"GET {args.path} HTTP/1.1\r\nHost: {args.host}:{args.port}\r\n"
            "Accept: text/event-stream\r\nCache-Control: no-cache\r\n\r\n"
        ).encode()
        self.stats = Stats()
        self.clients: list[SseClient] = []

    def open_clients(self) -> list[SseClient]:
        return [c for c in self.clients if c.live]

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
                            lambda: SseClient(self.stats, self.marker, ready), self.host, self.port
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
        }

    def close(self) -> None:
        for client in self.clients:
            if client.transport is not None:
                client.transport.abort()


async def run(args: argparse.Namespace) -> None:
    generator = LoadGenerator(args)
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
    uvloop.run(run(parser.parse_args(argv)))


if __name__ == "__main__":
    main()
