"""The wake-up topic: another Skybound whose change listener is woken by this one
(``SKYBOUND_WAKE_SOURCE=supabase-realtime`` pointed at this endpoint) joins the private
channel ``skybound:changes`` with the service-role key, and hears a ``changes``
broadcast whenever this process publishes events, as a Supabase project sends one from
its trigger (migration 0030). It carries only the newest id: the listener reads the
events themselves from the change log."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from adapters.realtime_wake import WAKE_EVENT, WAKE_TOPIC
from streams.events import ChangeEvent

if TYPE_CHECKING:
    from streams.phoenix.session import Channel

__all__ = ["WAKE_TOPIC", "WakeFeed"]


class WakeFeed:
    """The channels joined to the wake-up topic; one broadcast per published batch."""

    def __init__(self) -> None:
        self._channels: set[Channel] = set()
        self._newest = 0
        self._scheduled = False

    def add(self, channel: Channel) -> None:
        self._channels.add(channel)

    def discard(self, channel: Channel) -> None:
        self._channels.discard(channel)

    def on_event(self, event: ChangeEvent) -> None:
        """The hub's publish hook: called for each event, so coalesce to one message."""
        if not self._channels:
            return
        self._newest = max(self._newest, event.id)
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._send)

    def _send(self) -> None:
        self._scheduled = False
        payload = b'{"id":%d}' % self._newest
        for channel in tuple(self._channels):
            channel.deliver_broadcast(WAKE_EVENT, payload, False, None)
