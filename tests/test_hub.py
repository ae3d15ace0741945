"""The hub on its own: batched fan-out, order, buffer limits and counters, with memory sinks."""

from __future__ import annotations

import asyncio

import orjson

from streams.events import ChangeEvent
from streams.hub import MAX_PENDING_EVENTS, Hub, Subscription

BOARD = "board:JFK:departures"
OTHER_BOARD = "board:LHR:departures"


class MemorySink:
    """A connection that records what was written and when it was closed.

    ``drains``: the transport hands every write to the kernel at once (nothing stays
    unsent); otherwise nothing is ever sent, as for a client that stopped reading.
    """

    def __init__(self, *, drains: bool = False) -> None:
        self.closed: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.drains = drains
        self.writes: list[bytes] = []
        self.log: list[str] = []

    def buffered(self) -> int:
        return 0 if self.drains else sum(len(w) for w in self.writes)

    def write(self, data: bytes) -> None:
        if not self.closed.done():
            self.writes.append(data)
            self.log.append("write")

    def close(self, reason: str) -> None:
        if not self.closed.done():
            self.closed.set_result(reason)
            self.log.append(f"close {reason}")

    @property
    def received(self) -> bytes:
        return b"".join(self.writes)


class CountingEncoder:
    """The SSE wire form, counting how often an event is encoded."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, event: ChangeEvent, topic: str) -> bytes:
        self.calls += 1
        return event.sse_chunk()


def sse(event: ChangeEvent, _topic: str) -> bytes:
    return event.sse_chunk()


def ws(event: ChangeEvent, topic: str) -> bytes:
    return event.ws_frame(topic)


def event(event_id: int, *topics: str, size: int = 0) -> ChangeEvent:
    data = orjson.dumps({"n": event_id, "pad": "x" * size})
    return ChangeEvent(event_id, "flight.gate_changed", topics, f"e:{event_id}", data)


def live(hub: Hub, topic: str, sink: MemorySink, encode: object = sse) -> Subscription:
    subscription = hub.subscribe(topic, sink, encode)  # type: ignore[arg-type]
    subscription.go_live(0)
    return subscription


def sse_bytes(*events: ChangeEvent) -> bytes:
    return b"".join(e.sse_chunk() for e in events)


async def test_a_batch_is_one_write_per_subscriber_encoded_and_joined_once() -> None:
    hub = Hub()
    encode = CountingEncoder()
    sinks = [MemorySink(drains=True) for _ in range(3)]
    for sink in sinks:
        live(hub, BOARD, sink, encode)
    batch = [event(n, BOARD) for n in range(1, 6)]
    hub.publish_batch(batch)
    for sink in sinks:
        assert sink.writes == [sse_bytes(*batch)]
    # Every subscriber got the very same bytes object: nothing per subscriber but the write.
    assert sinks[0].writes[0] is sinks[1].writes[0] is sinks[2].writes[0]
    assert encode.calls == 5
    assert hub.cursor == 5
    assert hub.published == 5


async def test_each_subscriber_gets_only_its_topics_in_id_order() -> None:
    hub = Hub()
    board, other, flight = MemorySink(), MemorySink(), MemorySink()
    live(hub, BOARD, board)
    live(hub, OTHER_BOARD, other)
    live(hub, "flight:7", flight)
    batch = [
        event(1, "flight:7", BOARD),
        event(2, OTHER_BOARD),
        event(3, BOARD),
        event(4, "flight:7", OTHER_BOARD),
        event(5, "flight:8", BOARD),
    ]
    hub.publish_batch(batch)
    assert board.writes == [sse_bytes(batch[0], batch[2], batch[4])]
    assert other.writes == [sse_bytes(batch[1], batch[3])]
    assert flight.writes == [sse_bytes(batch[0], batch[3])]


async def test_a_connection_with_several_topics_gets_one_write_in_publication_order() -> None:
    """A WebSocket carries many topics: frames follow the events' order, and an event on
    two of its topics comes once per topic, in the order the event lists them."""
    hub = Hub()
    sink = MemorySink()
    live(hub, "flight:7", sink, ws)
    live(hub, BOARD, sink, ws)
    batch = [
        event(1, BOARD),
        event(2, "flight:7"),
        event(3, "flight:7", BOARD),
        event(4, "flight:8"),
        event(5, BOARD),
    ]
    hub.publish_batch(batch)
    expected = [(1, BOARD), (2, "flight:7"), (3, "flight:7"), (3, BOARD), (5, BOARD)]
    assert sink.writes == [b"".join(batch[n - 1].ws_frame(topic) for n, topic in expected)]


async def test_batch_over_the_buffer_keeps_what_fits_then_disconnects() -> None:
    hub = Hub(max_buffer_bytes=1000)
    batch = [event(n, BOARD, size=250) for n in range(1, 6)]
    chunk = len(batch[0].sse_chunk())
    assert 3 * chunk <= 1000 < 4 * chunk
    stalled, healthy = MemorySink(), MemorySink(drains=True)
    stalled_sub = live(hub, BOARD, stalled)
    live(hub, BOARD, healthy)
    hub.publish_batch(batch)
    # The stalled client gets the first three in one write, then the farewell.
    assert stalled.log == ["write", "close slow_consumer"]
    assert stalled.received == sse_bytes(*batch[:3])
    assert stalled_sub.last_id == 3
    assert hub.slow_disconnects == 1
    # A client whose transport keeps sending gets everything, in writes within the limit.
    assert healthy.received == sse_bytes(*batch)
    assert [len(w) for w in healthy.writes] == [3 * chunk, 2 * chunk]
    assert hub.deliveries == 3 + 5


async def test_a_single_event_larger_than_the_buffer_disconnects() -> None:
    hub = Hub(max_buffer_bytes=200)
    sink = MemorySink(drains=True)
    live(hub, BOARD, sink)
    hub.publish_batch([event(1, BOARD, size=400)])
    assert sink.log == ["close slow_consumer"]
    assert hub.slow_disconnects == 1
    assert hub.deliveries == 0


async def test_deliveries_count_only_events_written_to_a_subscriber() -> None:
    hub = Hub()
    writing, gone, replaying, ahead = (MemorySink() for _ in range(4))
    live(hub, BOARD, writing)
    live(hub, BOARD, gone)
    gone.close("client_gone")
    held = hub.subscribe(BOARD, replaying, sse)  # still sending its snapshot
    live(hub, BOARD, ahead).last_id = 2  # resumed from a position this process has not reached
    hub.publish_batch([event(1, BOARD), event(2, BOARD)])
    assert writing.writes == [sse_bytes(event(1, BOARD), event(2, BOARD))]
    assert gone.writes == replaying.writes == ahead.writes == []
    assert hub.deliveries == 2
    # Held events are delivered, and counted, when the replay ends; the replay had event 1.
    held.go_live(1)
    assert replaying.writes == [sse_bytes(event(2, BOARD))]
    assert hub.deliveries == 3
    hub.publish(event(3, BOARD))
    assert hub.deliveries == 6
    assert hub.published == 3


async def test_events_held_during_replay_go_out_in_one_write_without_duplicates() -> None:
    hub = Hub()
    sink = MemorySink()
    subscription = hub.subscribe(BOARD, sink, sse)
    hub.publish_batch([event(1, BOARD), event(2, BOARD)])
    hub.publish_batch([event(3, BOARD), event(4, OTHER_BOARD), event(5, BOARD)])
    assert sink.writes == []
    subscription.go_live(2)  # the replay already sent 1 and 2
    assert sink.writes == [sse_bytes(event(3, BOARD), event(5, BOARD))]
    hub.publish_batch([event(6, BOARD)])
    assert sink.received == sse_bytes(event(3, BOARD), event(5, BOARD), event(6, BOARD))


async def test_a_replay_that_takes_too_long_is_a_slow_consumer() -> None:
    hub = Hub()
    sink = MemorySink()
    hub.subscribe(BOARD, sink, sse)
    hub.publish_batch([event(n, BOARD) for n in range(1, MAX_PENDING_EVENTS + 2)])
    assert sink.log == ["close slow_consumer"]


async def test_a_connection_gets_its_live_topics_events_before_a_replay_overflows() -> None:
    hub = Hub()
    sink = MemorySink()
    live(hub, "flight:7", sink, ws)
    hub.subscribe(BOARD, sink, ws)  # still replaying
    hub.publish_batch([event(n, BOARD) for n in range(1, MAX_PENDING_EVENTS + 1)])
    assert sink.writes == []
    first, overflow = MAX_PENDING_EVENTS + 1, MAX_PENDING_EVENTS + 2
    hub.publish_batch([event(first, "flight:7"), event(overflow, BOARD)])
    assert sink.log == ["write", "close slow_consumer"]
    assert sink.writes == [event(first, "flight:7").ws_frame("flight:7")]


async def test_an_event_listing_a_topic_twice_is_delivered_once() -> None:
    hub = Hub()
    sink = MemorySink()
    live(hub, BOARD, sink)
    hub.publish_batch([event(1, BOARD, "flight:7", BOARD), event(2, BOARD)])
    assert sink.writes == [sse_bytes(event(1, BOARD), event(2, BOARD))]


async def test_a_subscription_ahead_of_the_batch_gets_only_newer_events() -> None:
    hub = Hub()
    sink = MemorySink()
    live(hub, BOARD, sink).last_id = 3
    hub.publish_batch([event(n, BOARD) for n in range(1, 6)])
    assert sink.writes == [sse_bytes(event(4, BOARD), event(5, BOARD))]


async def test_unsubscribing_one_topic_of_a_connection_keeps_the_other() -> None:
    hub = Hub()
    sink = MemorySink()
    flight = live(hub, "flight:7", sink, ws)
    live(hub, BOARD, sink, ws)
    hub.unsubscribe(flight)
    hub.unsubscribe(flight)  # a second unsubscribe changes nothing
    hub.publish_batch([event(1, "flight:7", BOARD), event(2, "flight:7")])
    assert sink.writes == [event(1, "flight:7", BOARD).ws_frame(BOARD)]
    assert hub.subscriber_count() == 1


class ExplodingSink(MemorySink):
    """A sink that breaks its promise never to raise."""

    def write(self, data: bytes) -> None:
        raise RuntimeError("boom")


async def test_a_sink_that_raises_is_dropped_and_the_others_still_get_the_batch() -> None:
    hub = Hub()
    before, bad, after = MemorySink(drains=True), ExplodingSink(), MemorySink(drains=True)
    for sink in (before, bad, after):
        live(hub, BOARD, sink)
    first, second = event(1, BOARD), event(2, BOARD)
    hub.publish_batch([first, second])
    assert before.received == after.received == sse_bytes(first, second)
    assert bad.closed.result() == "internal_error"
    assert hub.contained_errors == 1
    assert hub.cursor == 2


async def test_a_raising_sink_with_several_topics_is_contained_too() -> None:
    hub = Hub()
    bad, good = ExplodingSink(), MemorySink(drains=True)
    live(hub, BOARD, bad)
    live(hub, OTHER_BOARD, bad)
    live(hub, BOARD, good)
    hub.publish(event(1, BOARD, OTHER_BOARD))
    assert good.received == sse_bytes(event(1, BOARD, OTHER_BOARD))
    assert bad.closed.result() == "internal_error"
    assert hub.cursor == 1


async def test_a_failing_publish_listener_does_not_stop_the_fan_out() -> None:
    hub = Hub()
    seen: list[int] = []

    def broken(_event: ChangeEvent) -> None:
        raise ValueError("cache bug")

    hub.on_publish(broken)
    hub.on_publish(lambda e: seen.append(e.id))
    sink = MemorySink(drains=True)
    live(hub, BOARD, sink)
    hub.publish(event(1, BOARD))
    assert sink.received == sse_bytes(event(1, BOARD))
    assert seen == [1]
    assert hub.contained_errors == 1
