"""The process's realtime resources (hub, listener, snapshot cache), stream upkeep, and
what readiness and /metrics read of them."""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import dataclass, field

import asyncpg

from foundation.database import RIDE_OUT
from foundation.metrics import GaugeCollector
from streams import changelog
from streams.hub import Hub
from streams.listener import ChangeListener
from streams.positions import Position
from streams.sinks import TransportSink
from streams.snapshots import SnapshotCache
from streams.sse import http_chunk, sse_comment

log = logging.getLogger(__name__)

PING_CHUNK = http_chunk(sse_comment("ping"))
PURGE_LOCK_KEY = 0x5B_0D_0C1E
LISTENER_TASK = "change-listener"
UPKEEP_TASK = "stream-upkeep"
# A healthy listener publishes what the log released within milliseconds.
LAG_GRACE_SECONDS = 1.0


@dataclass
class Realtime:
    hub: Hub
    listener: ChangeListener
    snapshots: SnapshotCache
    retry_ms: int
    sse_sinks: set[TransportSink] = field(default_factory=set)
    ws_sinks: set[TransportSink] = field(default_factory=set)
    closing: bool = False
    # Set with ``closing``: what a stream that waits between writes waits on.
    stopping: asyncio.Event = field(default_factory=asyncio.Event)
    # Released change-log events this process had not yet published, as last measured by
    # the upkeep (every heartbeat): what the lag alert watches.
    lag_events: int = 0

    def jittered_retry(self) -> int:
        """Reconnect hints spread over a window, so a restart is not met by a thundering herd."""
        return int(self.retry_ms * random.uniform(0.5, 1.5))

    def position(self, event_id: int) -> str:
        return str(Position(self.hub.epoch, event_id))

    def sweep(self) -> None:
        """Ping SSE clients and forget the ones that went away."""
        limit = self.hub.max_buffer_bytes
        for sink in tuple(self.sse_sinks):
            if sink.gone:
                sink.close("client_gone")
            elif sink.buffered() + len(PING_CHUNK) <= limit:
                sink.write(PING_CHUNK)
        for sink in tuple(self.ws_sinks):
            if sink.gone:
                sink.close("client_gone")

    def shutdown(self) -> None:
        """Ask every stream client to reconnect (to another instance, or to us after restart)."""
        self.closing = True
        self.stopping.set()
        for sink in tuple(self.sse_sinks) + tuple(self.ws_sinks):
            sink.close("shutdown")


async def upkeep(realtime: Realtime, pool: asyncpg.Pool, heartbeat: float, keep: float) -> None:
    purge_every = max(60.0, heartbeat)
    since_purge = 0.0
    while True:
        await asyncio.sleep(heartbeat)
        realtime.sweep()
        await _measure_lag(realtime, pool)
        since_purge += heartbeat
        if since_purge >= purge_every:
            since_purge = 0.0
            await _purge_once(pool, keep)


async def _measure_lag(realtime: Realtime, pool: asyncpg.Pool) -> None:
    cursor = realtime.hub.cursor
    try:
        released = (await changelog.release_bounds(pool, cursor)).released
    except RIDE_OUT:
        return  # the database is away: the listener's own state tells that story
    realtime.lag_events = max(0, released - cursor)


async def _purge_once(pool: asyncpg.Pool, keep_seconds: float) -> None:
    """Trim the change log; one process of the fleet does it at a time."""
    try:
        async with pool.acquire() as conn, conn.transaction():
            # Transaction-scoped: released at commit or rollback, whatever happens.
            if await conn.fetchval("SELECT pg_try_advisory_xact_lock($1)", PURGE_LOCK_KEY):
                await changelog.purge(conn, keep_for_seconds=int(keep_seconds))
    except RIDE_OUT as exc:
        log.warning("change log purge failed", extra={"error": repr(exc)})


async def listener_lag(
    realtime: Realtime, pool: asyncpg.Pool, *, grace: float, max_events: int
) -> tuple[bool, dict[str, int | bool]]:
    """Readiness of the pipeline: is the hub keeping up with what the log released?

    Released events not yet published are normal for a few milliseconds. The hub gets
    ``grace`` seconds to publish them; a listener that made no progress at all in that
    time is stuck, and one more than ``max_events`` behind cannot keep up.
    """
    hub = realtime.hub
    before = hub.cursor
    released = (await changelog.release_bounds(pool, before)).released
    caught_up = await hub.wait_for_cursor(released, grace)
    lag = max(0, released - hub.cursor)
    progressing = caught_up or hub.cursor > before
    passed = realtime.listener.listening and progressing and lag <= max_events
    return passed, {"events": lag, "released": released, "cursor": hub.cursor,
                    "progressing": progressing}  # fmt: skip


def hub_gauges(realtime: Realtime) -> GaugeCollector:
    hub, listener = realtime.hub, realtime.listener
    return GaugeCollector({
        "skybound_stream_cursor": ("Newest change-log id this process published.",
                                   lambda: hub.cursor),
        "skybound_stream_events_published": ("Change events published by the hub.",
                                             lambda: hub.published),
        "skybound_stream_deliveries": ("Events written to stream clients.",
                                       lambda: hub.deliveries),
        "skybound_stream_subscriptions": ("Topic subscriptions of connected clients.",
                                          hub.subscriber_count),
        "skybound_stream_topics": ("Topics with at least one subscriber.", hub.topic_count),
        "skybound_stream_sse_clients": ("Connected SSE clients.",
                                        lambda: len(realtime.sse_sinks)),
        "skybound_stream_ws_clients": ("Connected WebSocket clients.",
                                       lambda: len(realtime.ws_sinks)),
        "skybound_stream_slow_disconnects": ("Clients disconnected for falling behind.",
                                             lambda: hub.slow_disconnects),
        "skybound_stream_contained_errors": ("Failures of one client or listener that the "
                                             "hub contained.", lambda: hub.contained_errors),
        "skybound_change_listener_reconnects": ("Reconnects of the LISTEN connection.",
                                                lambda: listener.reconnects),
        "skybound_change_listener_up": ("1 while the LISTEN connection listens.",
                                        lambda: 1.0 if listener.listening else 0.0),
        "skybound_change_listener_lag_events": ("Released change-log events not yet "
                                                "published here, at the last upkeep.",
                                                lambda: realtime.lag_events),
    })  # fmt: skip
