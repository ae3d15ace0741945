"""The hub: which local clients want which topics, and the fan-out to them.

Publishing never awaits a client. Each event is encoded once per wire format
and the same bytes are written to every subscriber's transport; a transport
whose unsent bytes pass the buffer limit belongs to a client that cannot keep
up, and it is disconnected with a reason (it resumes from its last position),
so one slow reader can neither grow memory without bound nor delay the others.

Events released together (one NOTIFY can release a bulk update of hundreds)
are published as a batch: each subscriber gets its share of the batch in one
write, since a write per event per subscriber is a syscall each and dominates
the cost of fan-out. Subscribers of a topic share one concatenation too.

One client can never break a publication for the others: sinks do not raise, and
should one ever do, the hub closes that sink, logs and counts it, and goes on; a
failing ``on_publish`` listener is logged and counted the same way.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Protocol

from streams.events import ChangeEvent

log = logging.getLogger(__name__)

# Live events held for a subscriber while its history or snapshot is being sent.
MAX_PENDING_EVENTS = 1000

Encoder = Callable[[ChangeEvent, str], bytes]


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

    def __init__(self, hub: Hub, topic: str, sink: Sink, encode: Encoder) -> None:
        self.hub = hub
        self.topic = topic
        self.sink = sink
        self.encode = encode
        self.last_id = 0
        self.pending: list[ChangeEvent] | None = []

    def go_live(self, after_id: int) -> None:
        """Replay is done up to ``after_id``: send what arrived meanwhile, then stream live."""
        self.last_id = max(self.last_id, after_id)
        pending, self.pending = self.pending or [], None
        self.hub._deliver_guarded(self.sink, [(self, event) for event in pending])


class Hub:
    """Topic registry and fan-out for one process."""

    def __init__(self, *, max_buffer_bytes: int = 256 * 1024) -> None:
        self.max_buffer_bytes = max_buffer_bytes
        self._topics: dict[str, set[Subscription]] = {}
        # Subscriptions per sink: a sink with several (a WebSocket) needs its topics merged.
        self._sink_subscriptions: dict[Sink, int] = {}
        # The last released event id (everything up to it has been published).
        self.cursor = 0
        self.epoch = ""
        self.published = 0
        # Events written to a subscriber (live, or held during its replay and sent after).
        self.deliveries = 0
        self.slow_disconnects = 0
        # Failures the hub contained: a sink or an on_publish listener that raised.
        self.contained_errors = 0
        self._topic_listeners: list[Callable[[ChangeEvent], None]] = []
        self._cursor_waiters: list[tuple[int, asyncio.Future[None]]] = []

    def subscribe(self, topic: str, sink: Sink, encode: Encoder) -> Subscription:
        """Register first, replay after: live events are held until ``go_live``."""
        subscription = Subscription(self, topic, sink, encode)
        self._topics.setdefault(topic, set()).add(subscription)
        self._sink_subscriptions[sink] = self._sink_subscriptions.get(sink, 0) + 1
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        subscribers = self._topics.get(subscription.topic)
        if subscribers is None or subscription not in subscribers:
            return
        subscribers.remove(subscription)
        if not subscribers:
            del self._topics[subscription.topic]
        sink = subscription.sink
        left = self._sink_subscriptions[sink] - 1
        if left:
            self._sink_subscriptions[sink] = left
        else:
            del self._sink_subscriptions[sink]

    def on_publish(self, listener: Callable[[ChangeEvent], None]) -> None:
        """Call ``listener`` for every published event (caches invalidate themselves)."""
        self._topic_listeners.append(listener)

    def publish(self, event: ChangeEvent) -> None:
        self.publish_batch((event,))

    def publish_batch(self, events: Sequence[ChangeEvent]) -> None:
        """Fan out events released together, in id order: one write per subscriber."""
        if not events:
            return
        for event in events:
            for listener in self._topic_listeners:
                try:
                    listener(event)
                except Exception:
                    self.contained_errors += 1
                    log.exception("an on_publish listener failed", extra={"event_id": event.id})
        by_topic: dict[str, list[ChangeEvent]] = {}
        for event in events:
            for topic in event.topics:
                if topic in self._topics:
                    topic_events = by_topic.setdefault(topic, [])
                    if not topic_events or topic_events[-1] is not event:  # a topic listed twice
                        topic_events.append(event)
        merged: dict[Sink, list[tuple[Subscription, ChangeEvent]]] = {}
        for topic, topic_events in by_topic.items():
            self._fan_out(topic, topic_events, merged)
        for sink, items in merged.items():
            # Publication order: by event, and an event's topics in the order it lists them.
            items.sort(key=lambda item: (item[1].id, item[1].topics.index(item[0].topic)))
            self._deliver_guarded(sink, items)
        self.published += len(events)
        self.advance(events[-1].id)

    def _fan_out(
        self,
        topic: str,
        events: list[ChangeEvent],
        merged: dict[Sink, list[tuple[Subscription, ChangeEvent]]],
    ) -> None:
        """Write ``topic``'s events of a batch to its subscribers.

        A live subscriber that is the only one on its sink and has room gets the batch as
        one shared concatenation; any other case takes the per-event path in ``_deliver``.
        """
        subscribers = self._topics.get(topic)
        if not subscribers:
            return
        limit = self.max_buffer_bytes
        first_id, last_id = events[0].id, events[-1].id
        joined: dict[Encoder, bytes] = {}
        delivered = 0
        # A copy: a slow consumer's close may unsubscribe during the loop.
        for subscription in tuple(subscribers):
            sink = subscription.sink
            if self._sink_subscriptions.get(sink, 0) > 1:
                merged.setdefault(sink, []).extend((subscription, event) for event in events)
                continue
            try:
                if (
                    subscription.pending is None
                    and subscription.last_id < first_id
                    and not sink.closed.done()
                ):
                    encode = subscription.encode
                    data = joined.get(encode)
                    if data is None:
                        data = joined[encode] = b"".join(encode(event, topic) for event in events)
                    if sink.buffered() + len(data) <= limit:
                        sink.write(data)
                        subscription.last_id = last_id
                        delivered += len(events)
                        continue
                self._deliver(sink, [(subscription, event) for event in events])
            except Exception:
                self._contain(sink)
        self.deliveries += delivered

    def _deliver_guarded(
        self, sink: Sink, items: Iterable[tuple[Subscription, ChangeEvent]]
    ) -> None:
        try:
            self._deliver(sink, items)
        except Exception:
            self._contain(sink)

    def _contain(self, sink: Sink) -> None:
        """A sink raised: drop that client (it resumes from its last id), spare the rest."""
        self.contained_errors += 1
        log.exception("a stream client failed during fan-out; disconnecting it")
        try:
            sink.close("internal_error")
        except Exception:
            log.exception("closing a failed stream client failed too")

    def _deliver(self, sink: Sink, items: Iterable[tuple[Subscription, ChangeEvent]]) -> None:
        """Write events to one sink in order, in as few writes as its buffer limit allows.

        Bytes are gathered until the next event would pass the limit counting none of
        them as sent; then they are written, and if the event still does not fit in what
        the transport has left unsent, the client is a slow consumer: it keeps every
        event before that one and is disconnected (it resumes from the last it got).
        """
        if sink.closed.done():
            return
        limit = self.max_buffer_bytes
        unsent = sink.buffered()
        chunks: list[bytes] = []
        size = 0
        slow = False
        for subscription, event in items:
            if event.id <= subscription.last_id:
                continue
            if subscription.pending is not None:
                if len(subscription.pending) >= MAX_PENDING_EVENTS:
                    slow = True  # its replay takes too long
                    break
                subscription.pending.append(event)
                continue
            data = subscription.encode(event, subscription.topic)
            if chunks and unsent + size + len(data) > limit:
                sink.write(b"".join(chunks))
                chunks, size = [], 0
                unsent = sink.buffered()
            if unsent + size + len(data) > limit:
                self.slow_disconnects += 1
                slow = True
                break
            chunks.append(data)
            size += len(data)
            subscription.last_id = event.id
            self.deliveries += 1
        # What fitted goes out before any farewell.
        if chunks:
            sink.write(b"".join(chunks))
        if slow:
            sink.close("slow_consumer")

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
