"""The process's one LISTEN connection: it turns NOTIFY pokes into released events.

NOTIFY only says "something committed"; the events themselves are read from
the log, from the hub's cursor on, so a missed or collapsed notification costs
nothing. When the connection drops, the listener reconnects with jittered
backoff and catches up from the same cursor: nothing committed meanwhile is
lost. LISTEN needs a session, so this connection never comes from the pool
(a pool resets connections with UNLISTEN, and transaction poolers drop it).

It is the process's only LISTEN connection: other parts of the process register
their channels on it (``add_channel``) with a synchronous callback for each
notification and one for "notifications may have been missed" (the connection
was lost, or is back after a loss), and share its keepalive and reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import asyncpg

from foundation.database import connect
from streams import changelog
from streams.hub import Hub

log = logging.getLogger(__name__)

CHANNEL = "skybound_changes"
ListenerState = Literal["starting", "listening", "reconnecting", "stopped"]


@dataclass(frozen=True, slots=True)
class Channel:
    """Another channel on the listener's connection."""

    name: str
    on_notify: Callable[[str], None]
    """Called synchronously with each notification's payload: flag work, do not do it."""
    on_missed: Callable[[], None]
    """Called when notifications may have been missed: the connection was lost, or is
    back after a loss."""


class ChangeListener:
    def __init__(
        self,
        dsn: str,
        hub: Hub,
        *,
        batch_size: int = 1000,
        keepalive_seconds: float = 10.0,
        max_backoff_seconds: float = 10.0,
        listen_for_changes: bool = True,
        poll_seconds: float | None = None,
    ) -> None:
        self.dsn = dsn
        self.hub = hub
        self.batch_size = batch_size
        self.keepalive_seconds = keepalive_seconds
        self.max_backoff_seconds = max_backoff_seconds
        # False when another wake source (an upstream Supabase Realtime) calls ``wake``:
        # LISTEN is then out of reach, and the log is read every ``poll_seconds`` anyway.
        self.listen_for_changes = listen_for_changes
        self.poll_seconds = poll_seconds
        self.state: ListenerState = "starting"
        self.reconnects = 0
        self._conn: asyncpg.Connection | None = None
        self._poke = asyncio.Event()
        self._lost = asyncio.Event()
        self._channels: dict[str, Channel] = {}
        # Channels LISTENed on the current connection.
        self._active: set[str] = set()

    # Lifecycle --------------------------------------------------------------

    async def start(self) -> None:
        """Connect and position the hub at the newest released event.

        Then ``run`` must be started, under the process's supervisor: it is the loop
        that turns notifications into published events.
        """
        await self._connect()
        state = await changelog.log_state(self._conn_or_raise())
        self.hub.epoch = state.epoch
        self.hub.cursor = await changelog.start_position(self._conn_or_raise())

    async def stop(self) -> None:
        """Close the connection (cancel ``run`` first)."""
        self.state = "stopped"
        await self._close()

    @property
    def listening(self) -> bool:
        """Connected, so every notification sent from now on arrives."""
        conn = self._conn
        return (
            self.state == "listening"
            and conn is not None
            and not conn.is_closed()
            and not self._lost.is_set()
        )

    def add_channel(
        self, name: str, on_notify: Callable[[str], None], on_missed: Callable[[], None]
    ) -> None:
        """Listen on channel ``name`` too, from the pump's next pass (the connection runs
        one statement at a time, and the pump owns it) and after every reconnect."""
        self._channels[name] = Channel(name, on_notify, on_missed)
        self._poke.set()

    def wake(self) -> None:
        """Something may have committed: read the log (an outside wake source's poke)."""
        self._poke.set()

    def listening_on(self, name: str) -> bool:
        """Every notification on channel ``name`` sent from now on arrives."""
        return self.listening and name in self._active

    def _dispatch(self, _conn: object, _pid: object, channel: str, payload: object) -> None:
        registered = self._channels.get(channel)
        if registered is not None:
            registered.on_notify(str(payload))

    def _missed(self) -> None:
        for channel in self._channels.values():
            channel.on_missed()

    # Connection ---------------------------------------------------------------

    def _conn_or_raise(self) -> asyncpg.Connection:
        if self._conn is None:
            raise ConnectionError("listener is not connected")
        return self._conn

    async def _connect(self) -> None:
        conn = await connect(self.dsn, application_name="skybound-listener")
        conn.add_termination_listener(self._on_terminated)
        try:
            if self.listen_for_changes:
                await conn.add_listener(CHANNEL, self._on_notify)
            channels = tuple(self._channels)
            for channel in channels:
                await conn.add_listener(channel, self._dispatch)
        except BaseException:
            conn.terminate()
            raise
        self._active = set(channels)
        self._conn = conn
        self._lost.clear()
        self.state = "listening"
        # Anything committed while we were away is read by the next pass; other
        # channels hear that they may have missed notifications.
        self._poke.set()
        self._missed()

    async def _close(self) -> None:
        conn, self._conn = self._conn, None
        self._active = set()
        if conn is not None:
            self._missed()
        if conn is not None and not conn.is_closed():
            conn.remove_termination_listener(self._on_terminated)
            try:
                await asyncio.wait_for(conn.close(), timeout=2)
            except (TimeoutError, OSError, asyncpg.PostgresError):
                conn.terminate()

    def _connection_lost(self) -> bool:
        return self._lost.is_set() or self._conn is None or self._conn.is_closed()

    def _on_notify(self, *_: object) -> None:
        # Called synchronously by asyncpg: only flag work, never do it here.
        self._poke.set()

    def _on_terminated(self, *_: object) -> None:
        self._lost.set()
        self._active = set()
        self._poke.set()
        self._missed()

    # Main loop ---------------------------------------------------------------

    async def run(self) -> None:
        """Publish released events until cancelled, reconnecting whenever the connection
        is lost. Any other exception leaves the connection closed and propagates to the
        supervisor, which restarts ``run``; the hub's cursor makes the restart lossless."""
        try:
            await self._run()
        except BaseException:
            if self.state != "stopped":
                self.state = "reconnecting"
            await asyncio.shield(self._close())
            raise

    async def _run(self) -> None:
        retry_in = 0.0
        while True:
            if self._conn is None or self._conn.is_closed():
                try:
                    await self._connect()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
                    log.warning("change listener reconnect failed", extra={"error": repr(exc)})
                else:
                    self.reconnects += 1
                    retry_in = 0.0
                    log.info("change listener reconnected", extra={"cursor": self.hub.cursor})
            if self._conn is not None:
                try:
                    await self._pump()
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError,
                        ConnectionError) as exc:  # fmt: skip
                    log.warning("change listener lost its connection", extra={"error": repr(exc)})
                except asyncpg.InternalClientError as exc:
                    # A connection killed mid-statement can leave asyncpg's protocol in
                    # a state it reports this way; on a live connection it is a bug.
                    if not self._connection_lost():
                        raise
                    log.warning("change listener lost its connection", extra={"error": repr(exc)})
                self.state = "reconnecting"
                await self._close()
            # Jittered exponential backoff: a database restart must not be met by
            # every worker of every instance reconnecting in the same millisecond.
            retry_in = min(self.max_backoff_seconds, max(0.1, retry_in * 2))
            await asyncio.sleep(retry_in * random.uniform(0.5, 1.0))

    async def _pump(self) -> None:
        """Publish released events whenever poked, until the connection is lost."""
        conn = self._conn_or_raise()
        withheld_wait = 0.0
        last_keepalive = time.monotonic()
        while True:
            timeout = withheld_wait or min(self.keepalive_seconds, self.poll_seconds or 1e9)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout)
            self._poke.clear()
            if self._lost.is_set() or conn.is_closed():
                raise ConnectionError("listen connection terminated")
            if time.monotonic() - last_keepalive >= self.keepalive_seconds:
                # A half-open TCP connection never reports its death; a query does.
                await asyncio.wait_for(conn.fetchval("SELECT 1"), self.keepalive_seconds)
                last_keepalive = time.monotonic()
            await self._listen_on_new_channels(conn)
            withheld = await self._drain(conn)
            # Events held back by an older open transaction: look again soon, as
            # that transaction's end (if it wrote no events) sends no notification.
            withheld_wait = min(0.2, max(0.005, withheld_wait * 2)) if withheld else 0.0

    async def _listen_on_new_channels(self, conn: asyncpg.Connection) -> None:
        for name, channel in tuple(self._channels.items()):
            if name not in self._active:
                await conn.add_listener(name, self._dispatch)
                self._active.add(name)
                channel.on_missed()  # whatever came before is unknown

    async def _drain(self, conn: asyncpg.Connection) -> bool:
        hub = self.hub
        while True:
            bounds = await changelog.release_bounds(conn, hub.cursor)
            if bounds.released <= hub.cursor:
                return bounds.withheld
            events = await changelog.released_events(
                conn, hub.cursor, bounds.released, hub.epoch, limit=self.batch_size
            )
            # One write per subscriber for the lot: a bulk update releases hundreds at once.
            if events:
                hub.publish_batch(events)
            if events and events[-1].id < bounds.released:
                continue  # more than one batch released; keep going
            hub.advance(bounds.released)
            if not bounds.withheld:
                return False
