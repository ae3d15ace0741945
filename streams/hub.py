"""The hub: which local clients want which topics, and the fan-out to them.

Publishing never awaits a client. Each event is encoded once per wire format
and the same bytes are written to every subscriber's transport; a transport
whose unsent bytes pass the buffer limit belongs to a client that cannot keep
up, and it is disconnected with a reason (it resumes from its last position),
so one slow reader can neither grow memory without bound nor delay the others.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Protocol

from streams.events import ChangeEvent

log = logging.getLogger(__name__)

# Live events held for a subscriber while its history or snapshot is being sent.
MAX_PENDING_EVENTS = 1000


class Sink(Protocol):
    """A client connection that bytes can be written to without waiting."""

    @property
    def closed(self) -> asyncio.Future[str]: ...

    def buffered(self) -> int: ...

    def write(self, data: bytes) -> None: ...

    def close(self, reason: str) -> None: ...


class Subscription:
    """One topic of one client. Holds live events back until its replay is done."""

    __slots__ = ("encode", "hub", "last_id", "pending", "sink", "topic")

    def __init__(
        self,
        hub: Hub,
        topic: str,
        sink: Sink,
        encode: Callable[[ChangeEvent, str], bytes],
    ) -> None:
        self.hub = hub
        self.topic = topic
        self.sink = sink
        self.encode = encode
        self.last_id = 0
        self.pending: list[ChangeEvent] | None = []

    def offer(self, event: ChangeEvent) -> None:
        # A closed sink waits for its handler to unsubscribe it; it gets nothing more.
        if event.id <= self.last_id or self.sink.closed.done():
            return
        if self.pending is not None:
            if len(self.pending) >= MAX_PENDING_EVENTS:
                self.sink.close("slow_consumer")
                return
            self.pending.append(event)
            return
        self.send(event)

    def send(self, event: ChangeEvent) -> None:
        sink = self.sink
        data = self.encode(event, self.topic)
        if sink.buffered() + len(data) > self.hub.max_buffer_bytes:
            self.hub.slow_disconnects += 1
            sink.close("slow_consumer")
            return
        sink.write(data)
        self.last_id = event.id

    def go_live(self, after_id: int) -> None:
        """Replay is done up to ``after_id``: send what arrived meanwhile, then stream live."""
        self.last_id = max(self.last_id, after_id)
        pending, self.pending = self.pending or [], None
        for event in pending:
            if event.id > self.last_id:
                self.send(event)


class Hub:
    """Topic registry and fan-out for one process."""

    def __init__(self, *, max_buffer_bytes: int = 256 * 1024) -> None:
        self.max_buffer_bytes = max_buffer_bytes
        self._topics: dict[str, set[Subscription]] = {}
        # The last released event id (everything up to it has been published).
        self.cursor = 0
        self.epoch = ""
        self.published = 0
        self.deliveries = 0
        self.slow_disconnects = 0
        self._topic_listeners: list[Callable[[ChangeEvent], None]] = []
        self._cursor_waiters: list[tuple[int, asyncio.Future[None]]] = []

    def subscribe(
        self, topic: str, sink: Sink, encode: Callable[[ChangeEvent, str], bytes]
    ) -> Subscription:
        """Register first, replay after: live events are held until ``go_live``."""
        subscription = Subscription(self, topic, sink, encode)
        self._topics.setdefault(topic, set()).add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._topics.get(subscription.topic)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._topics[subscription.topic]

    def on_publish(self, listener: Callable[[ChangeEvent], None]) -> None:
        """Call ``listener`` for every published event (caches invalidate themselves)."""
        self._topic_listeners.append(listener)

    def publish(self, event: ChangeEvent) -> None:
        for listener in self._topic_listeners:
            listener(event)
        for topic in event.topics:
            subscribers = self._topics.get(topic)
            if subscribers:
                # A copy: a slow consumer's close may unsubscribe during the loop.
                for subscription in tuple(subscribers):
                    subscription.offer(event)
                self.deliveries += len(subscribers)
        self.published += 1
        self.advance(event.id)

    def advance(self, cursor: int) -> None:
        """Everything up to ``cursor`` is published; wake whoever waits for that."""
        if cursor <= self.cursor:
            return
        self.cursor = cursor
        if self._cursor_waiters:
            waiting = []
            for target, future in self._cursor_waiters:
                if target <= cursor:
                    if not future.done():
                        future.set_result(None)
                else:
                    waiting.append((target, future))
            self._cursor_waiters = waiting

    async def wait_for_cursor(self, target: int, within: float) -> bool:
        """Wait until events up to ``target`` are published; False on timeout."""
        if self.cursor >= target:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._cursor_waiters.append((target, future))
        try:
            await asyncio.wait_for(future, within)
        except TimeoutError:
            return False
        return True

    def subscriptions(self) -> Iterator[Subscription]:
        for subscribers in tuple(self._topics.values()):
            yield from tuple(subscribers)

    def subscriber_count(self, topic: str | None = None) -> int:
        if topic is not None:
            return len(self._topics.get(topic, ()))
        return sum(len(s) for s in self._topics.values())

    def topic_count(self) -> int:
        return len(self._topics)
