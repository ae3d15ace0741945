"""Snapshots: the current state a new subscriber starts from, shared by a burst of them.

When a thousand display boards reconnect at once they all want the same board;
one query serves them. A cached snapshot is dropped as soon as an event on its
topic is published, and after a few seconds regardless (a live board's window
moves with the clock). Subscribers register with the hub before asking, so an
event published while a snapshot is being built reaches them as a live event.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

from streams.events import ChangeEvent

Build = Callable[[], Awaitable[bytes]]


class SnapshotCache:
    def __init__(self, *, ttl_seconds: float = 5.0) -> None:
        self.ttl_seconds = ttl_seconds
        self._entries: dict[str, tuple[float, asyncio.Task[bytes]]] = {}
        self.hits = 0
        self.builds = 0

    def invalidate(self, event: ChangeEvent) -> None:
        for topic in event.topics:
            self._entries.pop(topic, None)

    async def get(self, topic: str, build: Build) -> bytes:
        entry = self._entries.get(topic)
        now = time.monotonic()
        if entry is None or now - entry[0] >= self.ttl_seconds:
            # A task of its own: a subscriber leaving mid-build must not cancel it for the rest.
            task = asyncio.ensure_future(build())
            entry = self._entries[topic] = (now, task)
            task.add_done_callback(lambda done: self._forget_failure(topic, done))
            self.builds += 1
        else:
            self.hits += 1
        return await asyncio.shield(entry[1])

    def _forget_failure(self, topic: str, task: asyncio.Task[bytes]) -> None:
        if task.cancelled() or task.exception() is not None:
            entry = self._entries.get(topic)
            if entry is not None and entry[1] is task:
                del self._entries[topic]
