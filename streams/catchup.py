"""Catch-up: how a new subscription gets up to date before live events flow.

A subscriber starting from a position gets exactly the events it missed; one with no
position, or one the log can no longer serve, gets a snapshot (after a ``reset`` with the
reason, if it had a position).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from streams import changelog
from streams.events import ChangeEvent
from streams.positions import Position
from streams.realtime import Realtime

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
