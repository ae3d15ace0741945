"""Catch-up: how a new subscription gets up to date before live events flow, on every
transport alike.

A subscriber starting from a position gets exactly the events it missed; one with no
position, or one the log can no longer serve, gets a snapshot (after a ``reset`` with the
reason, if it had a position). The subscription is registered with the hub before the
plan is made, so an event published meanwhile is held and follows the catch-up: neither
a gap nor a duplicate. A transport supplies only its framing (``Framing``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import asyncpg
import orjson

from streams import changelog
from streams.events import ChangeEvent
from streams.hub import Subscription
from streams.positions import Position
from streams.realtime import Realtime
from streams.topics import Snapshot

# A client this far behind gets a fresh snapshot instead of a long replay.
MAX_REPLAY_EVENTS = 5000


@dataclass(frozen=True, slots=True)
class CatchUp:
    """How a subscriber starting from some position gets up to date."""

    reset_reason: str | None
    snapshot: bool
    live_after: int
    history: list[ChangeEvent]


async def plan_catch_up(
    realtime: Realtime, pool: asyncpg.Pool, topic: str, since: Position | None
) -> CatchUp:
    """A snapshot, a reset plus snapshot, or a replay of exactly the missed events.

    Call after subscribing, so nothing published meanwhile falls in between.
    """
    hub = realtime.hub
    cursor = hub.cursor
    if since is None:
        return CatchUp(None, True, cursor, [])
    if since.epoch != hub.epoch:
        return CatchUp("epoch_changed", True, cursor, [])
    state = await changelog.log_state(pool)
    if since.event_id < state.purged_through:
        return CatchUp("position_expired", True, cursor, [])
    if since.event_id >= cursor:
        # Ahead of this process (another worker released further): live takes over.
        return CatchUp(None, False, since.event_id, [])
    events = await changelog.topic_history(
        pool, topic, since.event_id, cursor, hub.epoch, limit=MAX_REPLAY_EVENTS + 1
    )
    if len(events) > MAX_REPLAY_EVENTS:
        return CatchUp("too_far_behind", True, cursor, [])
    return CatchUp(None, False, cursor, events)


class Framing(Protocol):
    """How a transport frames catch-up for its wire. Replayed events are framed by the
    subscription's own encoder, exactly as live ones."""

    def subscribed(self, topic: str, position: str) -> bytes | None:
        """What tells the client where live delivery starts, before anything else;
        ``None`` for a wire with no such message."""

    def reset(self, topic: str, position: str, data: bytes) -> bytes:
        """A ``reset`` event: the client's position is no longer served."""

    def snapshot(self, topic: str, position: str, data: bytes) -> bytes:
        """A ``snapshot`` event: the topic's current state."""


async def catch_up(
    realtime: Realtime,
    pool: asyncpg.Pool,
    subscription: Subscription,
    since: Position | None,
    snapshot: Snapshot,
    framing: Framing,
) -> None:
    """Write the reset, snapshot or missed events, then hand ``subscription`` to live delivery.

    ``subscription`` is fresh from ``hub.subscribe``: registered before the plan is made,
    so nothing published meanwhile falls in between. Whoever subscribed unsubscribes,
    also when this raises.

    A function of its own so the snapshot text and the replayed events are freed when
    it returns, instead of living in the handler's frame as long as the stream: with
    ten thousand display boards that is most of the memory per connection.
    """
    topic, sink = subscription.topic, subscription.sink
    plan = await plan_catch_up(realtime, pool, topic, since)
    position = realtime.position(plan.live_after)
    subscribed = framing.subscribed(topic, position)
    if subscribed is not None:
        sink.write(subscribed)
    if plan.reset_reason is not None:
        sink.write(framing.reset(topic, position, orjson.dumps({"reason": plan.reset_reason})))
    if plan.snapshot:
        data = await realtime.snapshots.get(topic, snapshot)
        sink.write(framing.snapshot(topic, position, data))
    if plan.history:
        sink.write(b"".join(subscription.encode(event, topic) for event in plan.history))
    subscription.go_live(plan.live_after)
