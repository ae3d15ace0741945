"""An outside operations system: moves flights through their day with plain SQL.

It plays the airline's ops control and the airports' gate systems: flights
board, depart, land and reach the gate; some are delayed, change gate or are
cancelled. It knows nothing of the server and writes only ``UPDATE flights``,
one short statement per flight, guarded by the row's ``version`` so that it
never overwrites a change somebody else made in between. Whatever captures
changes to ``flights`` sees its writes like anyone else's.

What happens to a flight is decided by ``(seed, flight id)`` alone, and when
it happens by the flight's times, so ``step(now)`` is deterministic: a tick at
the same simulated time over the same rows makes the same writes, however
many ticks came before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import asyncpg

log = logging.getLogger(__name__)

# Order of the normal life of a flight; cancelled and diverted are final.
_PROGRESS = ("scheduled", "boarding", "departed", "landed", "arrived")
_RANK = {status: rank for rank, status in enumerate(_PROGRESS)}

# A tick looks at unfinished flights departing in this window around now: the
# lookback covers the longest flights plus a long delay, the lookahead the
# earliest announcement of a delay, a gate change or a cancellation.
LOOKBACK = timedelta(hours=30)
LOOKAHEAD = timedelta(hours=3)

CANCEL_PROBABILITY = 0.005
DELAY_PROBABILITY = 0.15
GATE_CHANGE_PROBABILITY = 0.08

# Both queries use flights_active_departure_idx: the status lists imply its predicate.
_IN_PROGRESS = """
SELECT id, status, version, scheduled_departure, scheduled_arrival, estimated_departure,
       estimated_arrival, actual_departure, actual_arrival, departure_gate, arrival_terminal,
       arrival_gate, baggage_belt
FROM flights
WHERE status IN ('boarding', 'departed', 'landed')
  AND scheduled_departure >= $1 AND scheduled_departure < $2
  AND ($3::text[] IS NULL OR origin = ANY($3::text[]) OR destination = ANY($3::text[]))
ORDER BY scheduled_departure, id
LIMIT $4
"""

_SCHEDULED = """
SELECT id, status, version, scheduled_departure, scheduled_arrival, estimated_departure,
       estimated_arrival, actual_departure, actual_arrival, departure_gate, arrival_terminal,
       arrival_gate, baggage_belt
FROM flights
WHERE status = 'scheduled'
  AND scheduled_departure >= $1 AND scheduled_departure < $2
  AND ($3::text[] IS NULL OR origin = ANY($3::text[]) OR destination = ANY($3::text[]))
ORDER BY scheduled_departure, id
LIMIT $4
"""

# The version guard makes the write a no-op if the row changed since it was read.
_UPDATE = """
UPDATE flights
SET status = $3, estimated_departure = $4, estimated_arrival = $5, actual_departure = $6,
    actual_arrival = $7, departure_gate = $8, arrival_gate = $9, baggage_belt = $10
WHERE id = $1 AND version = $2
RETURNING version
"""


@dataclass(frozen=True, slots=True)
class SimulatedChange:
    """One write of the simulator: what it did to which flight, and the version it made."""

    flight_id: int
    status: str
    version: int
    kinds: tuple[str, ...]  # 'delayed', 'gate_changed', 'cancelled', or the new status
    at: datetime  # simulated time of the tick


@dataclass(frozen=True, slots=True)
class Fate:
    """Everything that will happen to one flight, decided up front."""

    announce_lead: timedelta  # disruptions become known this long before departure
    cancelled: bool
    delay: timedelta
    gate_change: bool
    gate_number: int
    boarding_lead: timedelta
    takeoff: timedelta  # actual departure minus the (estimated) departure
    block_error: timedelta  # actual minus scheduled block time
    taxi_in: timedelta
    arrival_gate_number: int
    arrival_pier: str
    belt: int


@lru_cache(maxsize=65536)
def fate_of(seed: int, flight_id: int) -> Fate:
    """What the simulator with ``seed`` does to flight ``flight_id`` (a pure function)."""
    rng = random.Random(f"{seed}:{flight_id}")
    roll = rng.random()
    delay = timedelta(0)
    if CANCEL_PROBABILITY <= roll < CANCEL_PROBABILITY + DELAY_PROBABILITY:
        # Mostly short delays, a few long ones.
        minutes = min(240, 15 + 5 * int(rng.expovariate(1 / 30) / 5))
        delay = timedelta(minutes=minutes)
    return Fate(
        announce_lead=timedelta(minutes=rng.randrange(60, 181, 5)),
        cancelled=roll < CANCEL_PROBABILITY,
        delay=delay,
        gate_change=rng.random() < GATE_CHANGE_PROBABILITY,
        gate_number=rng.randint(1, 60),
        boarding_lead=timedelta(minutes=rng.choice((30, 35, 40, 45))),
        takeoff=timedelta(minutes=rng.randint(-3, 12)),
        block_error=timedelta(minutes=rng.randint(-15, 10)),
        taxi_in=timedelta(minutes=rng.randint(3, 12)),
        arrival_gate_number=rng.randint(1, 60),
        arrival_pier=rng.choice("ABCDE"),
        belt=rng.randint(1, 12),
    )


@dataclass(frozen=True, slots=True)
class _FlightState:
    status: str
    estimated_departure: datetime | None
    estimated_arrival: datetime | None
    actual_departure: datetime | None
    actual_arrival: datetime | None
    departure_gate: str | None
    arrival_gate: str | None
    baggage_belt: str | None


def _changed_gate(current: str | None, number: int) -> str:
    """A new gate at the same pier: 'B12' becomes 'B<number>'; '7' becomes '<number>'."""
    pier = (current or "").rstrip("0123456789")
    if not pier:
        number = 1 + number % 12  # small airports have few gates
    return f"{pier}{number}"


def _plan(row: asyncpg.Record, fate: Fate, now: datetime) -> tuple[_FlightState, list[str]]:
    """The state ``row`` should be in at ``now``, and what changed to get there."""
    state = _FlightState(
        status=row["status"],
        estimated_departure=row["estimated_departure"],
        estimated_arrival=row["estimated_arrival"],
        actual_departure=row["actual_departure"],
        actual_arrival=row["actual_arrival"],
        departure_gate=row["departure_gate"],
        arrival_gate=row["arrival_gate"],
        baggage_belt=row["baggage_belt"],
    )
    kinds: list[str] = []
    scheduled_departure: datetime = row["scheduled_departure"]
    block: timedelta = row["scheduled_arrival"] - scheduled_departure

    if state.status == "scheduled" and now >= scheduled_departure - fate.announce_lead:
        if fate.cancelled:
            return replace(state, status="cancelled"), ["cancelled"]
        if fate.delay and state.estimated_departure is None:
            state = replace(
                state,
                estimated_departure=scheduled_departure + fate.delay,
                estimated_arrival=row["scheduled_arrival"] + fate.delay,
            )
            kinds.append("delayed")
        if fate.gate_change:
            gate = _changed_gate(state.departure_gate, fate.gate_number)
            # Once changed, the gate is already the new one: nothing more to do.
            if gate != state.departure_gate:
                state = replace(state, departure_gate=gate)
                kinds.append("gate_changed")

    departure = state.estimated_departure or scheduled_departure
    took_off = state.actual_departure or departure + fate.takeoff
    landed = state.actual_arrival or took_off + block + fate.block_error
    milestones = (
        ("boarding", departure - fate.boarding_lead),
        ("departed", took_off),
        ("landed", landed),
        ("arrived", landed + fate.taxi_in),
    )
    if state.status not in _RANK:
        return state, kinds  # cancelled or diverted: final
    target = state.status
    for status, at in milestones:
        if now >= at and _RANK[status] > _RANK[target]:
            target = status
    if target == state.status:
        return state, kinds

    rank = _RANK[target]
    if rank >= _RANK["boarding"] and state.departure_gate is None:
        state = replace(state, departure_gate=_changed_gate("A", fate.gate_number))
    if rank >= _RANK["departed"] and state.actual_departure is None:
        state = replace(state, actual_departure=took_off, estimated_arrival=landed)
    if rank >= _RANK["landed"] and state.actual_arrival is None:
        pier = fate.arrival_pier if row["arrival_terminal"] is not None else ""
        state = replace(
            state,
            actual_arrival=landed,
            arrival_gate=state.arrival_gate or f"{pier}{fate.arrival_gate_number}",
            baggage_belt=state.baggage_belt or str(fate.belt),
        )
    kinds.append(target)
    return replace(state, status=target), kinds


class Simulator:
    """Ticks simulated time forward and writes what operations would write."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        seed: int = 0,
        speed: float = 1.0,
        airports: Sequence[str] | None = None,
        fetch_limit: int = 2000,
        max_writes: int = 500,
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._pool = pool
        self.seed = seed
        self.speed = speed
        self.airports = sorted({a.upper() for a in airports}) if airports else None
        self.fetch_limit = fetch_limit
        # Writes per tick: a backlog (say, after a long pause) drains over a few
        # ticks instead of one long burst.
        self.max_writes = max_writes

    async def step(self, now: datetime) -> list[SimulatedChange]:
        """One tick at simulated time ``now``: move every flight whose time has come."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        window = (now - LOOKBACK, now + LOOKAHEAD, self.airports, self.fetch_limit)
        changes: list[SimulatedChange] = []
        async with self._pool.acquire() as conn:
            in_progress = await conn.fetch(_IN_PROGRESS, *window)
            rows = [*in_progress, *await conn.fetch(_SCHEDULED, *window)]
            for row in rows:
                if len(changes) >= self.max_writes:
                    break
                state, kinds = _plan(row, fate_of(self.seed, row["id"]), now)
                if not kinds:
                    continue
                version = await conn.fetchval(
                    _UPDATE,
                    row["id"],
                    row["version"],
                    state.status,
                    state.estimated_departure,
                    state.estimated_arrival,
                    state.actual_departure,
                    state.actual_arrival,
                    state.departure_gate,
                    state.arrival_gate,
                    state.baggage_belt,
                    timeout=10,
                )
                if version is None:
                    continue  # changed under us: the next tick reads it again
                changes.append(SimulatedChange(row["id"], state.status, version, tuple(kinds), now))
        return changes

    async def run(
        self, stop: asyncio.Event, interval: float = 1.0, *, start: datetime | None = None
    ) -> None:
        """Tick every ``interval`` seconds until ``stop`` is set.

        Simulated time starts at ``start`` (default: now) and runs ``speed``
        times as fast as the wall clock.
        """
        origin = start or datetime.now(UTC)
        began = time.monotonic()
        while not stop.is_set():
            now = origin + timedelta(seconds=(time.monotonic() - began) * self.speed)
            try:
                changes = await self.step(now)
            except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError, TimeoutError):
                # The database restarting is not the simulator's end: try again next tick.
                log.warning("simulator tick failed", exc_info=True)
            else:
                if changes:
                    log.info("simulated %d changes", len(changes), extra={"at": now.isoformat()})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)
