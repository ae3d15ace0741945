"""An outside operations system: moves flights through their day with plain SQL.

It plays the airline's ops control and the airports' gate systems: flights
board, push back, take off, land and reach the gate; some are delayed (the
estimate often revised more than once), change gate, are cancelled or divert.
Each leg is flown by an airframe (``rotations.py``), so a late inbound aircraft
delays its next departure and a cancelled one cancels the return unless a spare
covers it. Gates are planned the day before without two departures at a gate
within a turn time (``gates.py``), and a delay that lands a flight on a busy gate
moves it. Times keep their meaning: ``actual_departure``/``actual_arrival`` are
off-block and on-block, take-off and landing are their own columns.

It knows nothing of the server and writes ``UPDATE flights``, one short
statement per flight, guarded by the row's ``version`` so that it never
overwrites a change somebody else made in between (and, for a diversion, the
onward leg from the alternate airport). Whatever captures changes to
``flights`` sees its writes like anyone else's.

What happens to a flight is decided by ``(seed, flight id)`` and the state of
its inbound aircraft, and when it happens by the flight's times, so
``step(now)`` is deterministic: a tick at the same simulated time over the same
rows makes the same writes, however many ticks came before.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import asyncpg

from devtools.gates import GateUse, assign_gates, free_gate
from devtools.rotations import assign_rotations, turn_time

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
DIVERSION_PROBABILITY = 0.004
# Share of delays whose first estimate is revised (once or twice) before departure.
REVISION_PROBABILITY = 0.5
# When the inbound aircraft is cancelled, a spare airframe covers its next leg this often.
SPARE_PROBABILITY = 0.3
# Scheduled block time includes this much taxiing; the rest is airborne.
BLOCK_TAXI_ALLOWANCE = timedelta(minutes=25)
# An inbound aircraft's lateness is known (and passed on) this long before departure.
KNOCK_ON_HORIZON = timedelta(hours=3)
# An aircraft diverted to an alternate flies on to its destination after this long.
ONWARD_AFTER = timedelta(hours=2)

_COLUMNS = """
f.id, f.status, f.version, f.origin, f.destination, f.aircraft_type, f.carrier,
f.flight_number, f.service_date, f.scheduled_departure, f.scheduled_arrival,
f.estimated_departure, f.estimated_arrival, f.actual_departure, f.actual_arrival,
f.actual_takeoff, f.actual_landing, f.departure_gate, f.arrival_terminal, f.arrival_gate,
f.baggage_belt, r.previous_flight_id AS inbound_id, inbound.status AS inbound_status,
coalesce(inbound.actual_arrival, inbound.estimated_arrival, inbound.scheduled_arrival)
    AS inbound_arrival
"""
# Both queries use flights_active_departure_idx: the status lists imply its predicate.
_IN_PROGRESS = f"""
SELECT {_COLUMNS}
FROM flights f
LEFT JOIN flight_rotations r ON r.flight_id = f.id
LEFT JOIN flights inbound ON inbound.id = r.previous_flight_id
WHERE f.status IN ('boarding', 'departed', 'landed')
  AND f.scheduled_departure >= $1 AND f.scheduled_departure < $2
  AND ($3::text[] IS NULL OR f.origin = ANY($3::text[]) OR f.destination = ANY($3::text[]))
ORDER BY f.scheduled_departure, f.id
LIMIT $4
"""

_SCHEDULED = f"""
SELECT {_COLUMNS}
FROM flights f
LEFT JOIN flight_rotations r ON r.flight_id = f.id
LEFT JOIN flights inbound ON inbound.id = r.previous_flight_id
WHERE f.status = 'scheduled'
  AND f.scheduled_departure >= $1 AND f.scheduled_departure < $2
  AND ($3::text[] IS NULL OR f.origin = ANY($3::text[]) OR f.destination = ANY($3::text[]))
ORDER BY f.scheduled_departure, f.id
LIMIT $4
"""

# The version guard makes the write a no-op if the row changed since it was read.
_UPDATE = """
UPDATE flights
SET status = $3, estimated_departure = $4, estimated_arrival = $5, actual_departure = $6,
    actual_arrival = $7, departure_gate = $8, arrival_gate = $9, baggage_belt = $10,
    actual_takeoff = $11, actual_landing = $12, destination = $13
WHERE id = $1 AND version = $2
RETURNING version
"""

# Gates in use at an airport around a departure, by other flights.
_GATES_NEAR = """
SELECT departure_gate, aircraft_type, coalesce(estimated_departure, scheduled_departure) AS at
FROM flights
WHERE origin = $1 AND id <> $2 AND status <> 'cancelled' AND departure_gate IS NOT NULL
  AND scheduled_departure >= $3::timestamptz - interval '6 hours'
  AND scheduled_departure < $3::timestamptz + interval '6 hours'
"""

# The nearest other airport to the destination: where a diverted flight lands.
_ALTERNATE = """
SELECT a.iata FROM airports a, airports d
WHERE d.iata = $1 AND a.iata NOT IN ($1, $2)
ORDER BY (a.latitude - d.latitude) ^ 2
         + ((a.longitude - d.longitude) * cos(radians(d.latitude))) ^ 2,
         a.is_hub DESC, a.iata
LIMIT 1
"""

# The diverted aircraft flies on to where its passengers were going, under the same
# flight number, as a leg of its own in the same rotation.
_ONWARD = """
WITH leg AS (
    INSERT INTO flights (carrier, flight_number, service_date, origin, destination,
                         aircraft_type, scheduled_departure, scheduled_arrival)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
    ON CONFLICT (carrier, flight_number, service_date, origin) DO NOTHING
    RETURNING id
)
INSERT INTO flight_rotations (flight_id, tail_number, previous_flight_id)
SELECT leg.id, r.tail_number, $9 FROM leg JOIN flight_rotations r ON r.flight_id = $9
"""


@dataclass(frozen=True, slots=True)
class SimulatedChange:
    """One write of the simulator: what it did to which flight, and the version it made."""

    flight_id: int
    status: str
    version: int
    # 'delayed', 'delay_revised', 'knock_on', 'gate_changed', 'cancelled', 'diverted',
    # or the new status
    kinds: tuple[str, ...]
    at: datetime  # simulated time of the tick


def _five(minutes: float) -> timedelta:
    """Rounded up to whole five minutes, as delays are announced."""
    return timedelta(minutes=5 * -(-int(minutes) // 5))


@dataclass(frozen=True, slots=True)
class Fate:
    """Everything that will happen to one flight of its own, decided up front."""

    announce_lead: timedelta  # disruptions become known this long before departure
    cancelled: bool
    delay: timedelta  # the flight's own delay, as finally announced
    estimates: tuple[timedelta, ...]  # the delay as announced, first to last (last = delay)
    gate_change: bool
    gate_number: int
    boarding_lead: timedelta
    pushback: timedelta  # off-block minus the (estimated) departure
    taxi_out: timedelta
    block_error: timedelta  # airborne time minus the schedule's
    taxi_in: timedelta
    arrival_gate_number: int
    arrival_pier: str
    belt: int
    spare_aircraft: bool
    diverted: bool

    def announced_delay(self, now: datetime, scheduled_departure: datetime) -> timedelta:
        """The flight's own delay as known at ``now``: the first estimate at the
        announcement, then each revision at even steps until 30 minutes before the
        scheduled departure."""
        first = scheduled_departure - self.announce_lead
        if not self.delay or now < first:
            return timedelta(0)
        steps = len(self.estimates)
        span = (self.announce_lead - timedelta(minutes=30)) / steps
        known = min(steps - 1, int((now - first) / span)) if span > timedelta(0) else steps - 1
        return self.estimates[known]


@lru_cache(maxsize=65536)
def fate_of(seed: int, flight_id: int) -> Fate:
    """What the simulator with ``seed`` does to flight ``flight_id`` (a pure function)."""
    rng = random.Random(f"{seed}:{flight_id}")
    roll = rng.random()
    delay = timedelta(0)
    estimates: tuple[timedelta, ...] = ()
    if CANCEL_PROBABILITY <= roll < CANCEL_PROBABILITY + DELAY_PROBABILITY:
        # Mostly short delays, a few long ones.
        minutes = min(240, 15 + 5 * int(rng.expovariate(1 / 30) / 5))
        delay = timedelta(minutes=minutes)
        estimates = (delay,)
        if rng.random() < REVISION_PROBABILITY:
            first = max(timedelta(minutes=15), _five(minutes * rng.uniform(0.3, 0.7)))
            revisions = rng.choice((1, 1, 2))
            middle = _five((first + delay).total_seconds() / 120)
            estimates = (first, delay) if revisions == 1 else (first, middle, delay)
            estimates = tuple(sorted(set(estimates)))
    return Fate(
        announce_lead=timedelta(minutes=rng.randrange(60, 181, 5)),
        cancelled=roll < CANCEL_PROBABILITY,
        delay=delay,
        estimates=estimates,
        gate_change=rng.random() < GATE_CHANGE_PROBABILITY,
        gate_number=rng.randint(1, 60),
        boarding_lead=timedelta(minutes=rng.choice((30, 35, 40, 45))),
        pushback=timedelta(minutes=rng.choice((-2, -1, 0, 0, 0, 1, 1, 2, 3, 5))),
        taxi_out=timedelta(minutes=rng.randint(8, 20)),
        block_error=timedelta(minutes=rng.randint(-12, 8)),
        taxi_in=timedelta(minutes=rng.randint(3, 12)),
        arrival_gate_number=rng.randint(1, 60),
        arrival_pier=rng.choice("ABCDE"),
        belt=rng.randint(1, 12),
        spare_aircraft=rng.random() < SPARE_PROBABILITY,
        diverted=rng.random() < DIVERSION_PROBABILITY,
    )


@dataclass(frozen=True, slots=True)
class _FlightState:
    status: str
    estimated_departure: datetime | None
    estimated_arrival: datetime | None
    actual_departure: datetime | None
    actual_arrival: datetime | None
    actual_takeoff: datetime | None
    actual_landing: datetime | None
    departure_gate: str | None
    arrival_gate: str | None
    baggage_belt: str | None
    destination: str


def _changed_gate(current: str | None, number: int) -> str:
    """A new gate at the same pier: 'B12' becomes 'B<number>'; '7' becomes '<number>'."""
    pier = (current or "").rstrip("0123456789")
    if not pier:
        number = 1 + number % 12  # small airports have few gates
    return f"{pier}{number}"


@dataclass(frozen=True, slots=True)
class Inbound:
    """The aircraft's previous leg: its status and when it reaches (reached) the gate."""

    status: str | None
    arrival: datetime | None


def _knock_on(row: asyncpg.Record, inbound: Inbound, now: datetime) -> timedelta:
    """How late the inbound aircraft makes this departure, once that is known."""
    arrival = inbound.arrival
    departure: datetime = row["scheduled_departure"]
    if arrival is None or inbound.status == "cancelled":
        return timedelta(0)
    if now < departure - KNOCK_ON_HORIZON:
        return timedelta(0)
    late = arrival + turn_time(row["aircraft_type"]) - departure
    return _five(late.total_seconds() / 60) if late > timedelta(0) else timedelta(0)


def _plan(
    row: asyncpg.Record, fate: Fate, now: datetime, inbound: Inbound | None = None
) -> tuple[_FlightState, list[str]]:
    """The state ``row`` should be in at ``now``, and what changed to get there.
    ``inbound``: the previous leg as this tick left it (else as the row read it)."""
    inbound = inbound or Inbound(row["inbound_status"], row["inbound_arrival"])
    state = _FlightState(
        status=row["status"],
        estimated_departure=row["estimated_departure"],
        estimated_arrival=row["estimated_arrival"],
        actual_departure=row["actual_departure"],
        actual_arrival=row["actual_arrival"],
        actual_takeoff=row["actual_takeoff"],
        actual_landing=row["actual_landing"],
        departure_gate=row["departure_gate"],
        arrival_gate=row["arrival_gate"],
        baggage_belt=row["baggage_belt"],
        destination=row["destination"],
    )
    kinds: list[str] = []
    scheduled_departure: datetime = row["scheduled_departure"]
    block: timedelta = row["scheduled_arrival"] - scheduled_departure

    if state.status == "scheduled":
        announced = now >= scheduled_departure - fate.announce_lead
        if announced and fate.cancelled:
            return replace(state, status="cancelled"), ["cancelled"]
        stranded = inbound.status == "cancelled" and not fate.spare_aircraft
        if stranded and now >= scheduled_departure - KNOCK_ON_HORIZON:
            # No aircraft: the inbound never came, and there is no spare.
            return replace(state, status="cancelled"), ["cancelled"]
        own = fate.announced_delay(now, scheduled_departure)
        knock_on = _knock_on(row, inbound, now)
        wanted = max(own, knock_on)
        current = (
            state.estimated_departure - scheduled_departure
            if state.estimated_departure
            else timedelta(0)
        )
        if wanted > current:
            state = replace(
                state,
                estimated_departure=scheduled_departure + wanted,
                estimated_arrival=row["scheduled_arrival"] + wanted,
            )
            kinds.append("delay_revised" if current else "delayed")
            if knock_on > own:
                kinds.append("knock_on")
        if announced and fate.gate_change:
            gate = _changed_gate(state.departure_gate, fate.gate_number)
            # Once changed, the gate is already the new one: nothing more to do.
            if gate != state.departure_gate and state.departure_gate is not None:
                state = replace(state, departure_gate=gate)
                kinds.append("gate_changed")

    departure = state.estimated_departure or scheduled_departure
    off_block = state.actual_departure or departure + fate.pushback
    takeoff = state.actual_takeoff or off_block + fate.taxi_out
    landing = state.actual_landing or takeoff + block - BLOCK_TAXI_ALLOWANCE + fate.block_error
    on_block = state.actual_arrival or landing + fate.taxi_in
    milestones = (
        ("boarding", departure - fate.boarding_lead),
        ("departed", off_block),
        ("landed", landing),
        ("arrived", on_block),
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
        state = replace(state, actual_departure=off_block, actual_takeoff=takeoff,
                        estimated_arrival=on_block)  # fmt: skip
    if rank >= _RANK["landed"] and state.actual_landing is None:
        if fate.diverted:
            return replace(state, status="diverted", actual_landing=landing), [*kinds, "diverted"]
        state = replace(state, actual_landing=landing)
    if rank >= _RANK["arrived"] and state.actual_arrival is None:
        pier = fate.arrival_pier if row["arrival_terminal"] is not None else ""
        state = replace(
            state,
            actual_arrival=on_block,
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
        self._planned: set[date] = set()

    async def _plan_days(self, conn: asyncpg.Connection, now: datetime) -> list[SimulatedChange]:
        """Rotations and gates of every UTC day the window touches, once per day (both are
        kept in the database, so another simulator or a restart finds them done)."""
        first, last = (now - LOOKBACK).date(), (now + LOOKAHEAD + timedelta(days=1)).date()
        changes = []
        day = first
        while day <= last:
            if day not in self._planned:
                await assign_rotations(conn, day)
                changes += [
                    SimulatedChange(r["id"], r["status"], r["version"], ("gate_changed",), now)
                    for r in await assign_gates(conn, day, self.airports)
                ]
                self._planned.add(day)
            day += timedelta(days=1)
        return changes

    async def _gate_for(
        self, conn: asyncpg.Connection, row: asyncpg.Record, state: _FlightState
    ) -> str | None:
        """The state's gate, or a free one near it when the planned departure would share it
        within a turn time."""
        if state.departure_gate is None or state.status != "scheduled":
            return state.departure_gate
        departure = state.estimated_departure or row["scheduled_departure"]
        nearby = [
            GateUse(r["departure_gate"], r["at"], turn_time(r["aircraft_type"]))
            for r in await conn.fetch(
                _GATES_NEAR, row["origin"], row["id"], row["scheduled_departure"]
            )
        ]
        return free_gate(state.departure_gate, departure, turn_time(row["aircraft_type"]), nearby)

    async def step(self, now: datetime) -> list[SimulatedChange]:
        """One tick at simulated time ``now``: move every flight whose time has come."""
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        window = (now - LOOKBACK, now + LOOKAHEAD, self.airports, self.fetch_limit)
        async with self._pool.acquire() as conn:
            changes = await self._plan_days(conn, now)
            in_progress = await conn.fetch(_IN_PROGRESS, *window)
            rows = [*in_progress, *await conn.fetch(_SCHEDULED, *window)]
            # Legs this tick has planned, so that a departure sees its inbound aircraft as
            # this tick leaves it: one tick passes a delay down the whole rotation.
            planned: dict[int, Inbound] = {}
            for row in rows:
                if len(changes) >= self.max_writes:
                    break
                fate = fate_of(self.seed, row["id"])
                state, kinds = _plan(row, fate, now, planned.get(row["inbound_id"]))
                planned[row["id"]] = Inbound(
                    state.status,
                    state.actual_arrival or state.estimated_arrival or row["scheduled_arrival"],
                )
                if not kinds:
                    continue
                if {"delayed", "delay_revised", "gate_changed"} & set(kinds):
                    gate = await self._gate_for(conn, row, state)
                    if gate != state.departure_gate:
                        state = replace(state, departure_gate=gate)
                        if "gate_changed" not in kinds:
                            kinds.append("gate_changed")
                if state.status == "diverted":
                    alternate = await conn.fetchval(_ALTERNATE, row["destination"], row["origin"])
                    if alternate is None:  # nowhere else to go: it lands where it was going
                        state, kinds = replace(state, status="landed"), ["landed"]
                    else:
                        state = replace(state, destination=alternate)
                version = await self._write(conn, row, state)
                if version is None:
                    continue  # changed under us: the next tick reads it again
                changes.append(SimulatedChange(row["id"], state.status, version, tuple(kinds), now))
        return changes

    async def _write(
        self, conn: asyncpg.Connection, row: asyncpg.Record, state: _FlightState
    ) -> int | None:
        async with conn.transaction():
            version: int | None = await conn.fetchval(
                _UPDATE, row["id"], row["version"], state.status, state.estimated_departure,
                state.estimated_arrival, state.actual_departure, state.actual_arrival,
                state.departure_gate, state.arrival_gate, state.baggage_belt,
                state.actual_takeoff, state.actual_landing, state.destination, timeout=10,
            )  # fmt: skip
            if version is not None and state.status == "diverted" and state.actual_landing:
                onward = state.actual_landing + ONWARD_AFTER
                block = row["scheduled_arrival"] - row["scheduled_departure"]
                await conn.execute(
                    _ONWARD, row["carrier"], row["flight_number"], row["service_date"],
                    state.destination, row["destination"], row["aircraft_type"], onward,
                    onward + max(timedelta(minutes=45), block / 6), row["id"],
                )  # fmt: skip
        return version

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
