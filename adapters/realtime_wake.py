"""An upstream Supabase Realtime as the change listener's wake-up source.

LISTEN needs a session; where only Supabase's transaction pooler is reachable, a
subscription to the project's Realtime tells the listener that something committed
instead. It only wakes: the listener still reads events from the change log by its
cursor, so a wake-up that Realtime drops (it promises no delivery) costs a little
latency, never an event.

The upstream sends a broadcast on the private topic ``skybound:changes`` whenever the
change log grows: on a Supabase project a trigger does it (migration 0030); Skybound's
own compatible endpoint serves the same topic, so one Skybound can wake another.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable
from typing import Any, Literal

from realtime import AsyncRealtimeClient, RealtimeSubscribeStates
from realtime.types import RealtimeChannelOptions
from websockets.exceptions import WebSocketException

log = logging.getLogger(__name__)

WAKE_TOPIC = "skybound:changes"
WAKE_EVENT = "changes"
WakeState = Literal["starting", "subscribed", "reconnecting", "stopped"]


class UpstreamLost(ConnectionError):
    """The upstream socket or channel went away, or refused the join."""


class RealtimeWake:
    """Keeps one subscription to the upstream's wake-up topic and calls ``on_wake`` for
    each broadcast on it, and once after every (re)subscription, since anything
    committed while it was away woke nobody. ``run`` is a supervised task."""

    def __init__(
        self,
        url: str,
        key: str,
        on_wake: Callable[[], None],
        *,
        join_timeout: float = 15.0,
        max_backoff_seconds: float = 10.0,
    ) -> None:
        self.url = url
        self._key = key
        self._on_wake = on_wake
        self.join_timeout = join_timeout
        self.max_backoff_seconds = max_backoff_seconds
        self.state: WakeState = "starting"
        self.subscriptions = 0
        self.wakes = 0

    @property
    def subscribed(self) -> bool:
        return self.state == "subscribed"

    async def run(self) -> None:
        """Subscribe, and subscribe again whenever the upstream is lost, until cancelled.
        Our own loop rather than the client's auto-reconnect, which gives up after a
        few tries and then dies where nobody sees it."""
        retry_in = 0.0
        try:
            while True:
                try:
                    await self._subscription()
                except (OSError, TimeoutError, WebSocketException, UpstreamLost) as exc:
                    log.warning("upstream realtime lost", extra={"error": repr(exc)})
                self.state = "reconnecting"
                # Jittered: a restarted upstream must not be met by every worker at once.
                retry_in = min(self.max_backoff_seconds, max(0.2, retry_in * 2))
                await asyncio.sleep(retry_in * random.uniform(0.5, 1.0))
        finally:
            self.state = "stopped"

    async def _subscription(self) -> None:
        lost = asyncio.Event()
        joined = asyncio.Event()
        errors: list[Exception | None] = []

        def on_state(state: RealtimeSubscribeStates, error: Exception | None) -> None:
            if state == RealtimeSubscribeStates.SUBSCRIBED:
                joined.set()
            else:
                errors.append(error)
                lost.set()

        # websockets' own pings (every 20 s) find a half-open connection and end it, which
        # the client reports as a channel error: ``lost``.
        client = AsyncRealtimeClient(self.url, self._key, auto_reconnect=False, max_retries=1)
        try:
            await asyncio.wait_for(client.connect(), self.join_timeout)
            # No presence: the library substitutes its disabled default when joining.
            options: RealtimeChannelOptions = {
                "config": {"private": True, "broadcast": {"self": False}, "presence": None}
            }
            channel = client.channel(WAKE_TOPIC, options)
            channel.on_broadcast(WAKE_EVENT, self._woken)
            await asyncio.wait_for(channel.subscribe(on_state), self.join_timeout)
            if not joined.is_set():
                raise UpstreamLost(f"join refused: {errors[-1] if errors else 'no reply'}")
            self.state = "subscribed"
            self.subscriptions += 1
            log.info("upstream realtime subscribed", extra={"url": self.url})
            self._on_wake()
            await lost.wait()
            raise UpstreamLost(f"subscription lost: {errors[-1] if errors else 'closed'}")
        finally:
            if self.state == "subscribed":
                self.state = "reconnecting"
            await asyncio.shield(_close(client))

    def _woken(self, _payload: Any) -> None:
        self.wakes += 1
        self._on_wake()


async def _close(client: AsyncRealtimeClient) -> None:
    try:
        await asyncio.wait_for(client.close(), 5)
    except (OSError, TimeoutError, WebSocketException) as exc:
        log.info("upstream realtime close failed", extra={"error": repr(exc)})
