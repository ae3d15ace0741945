"""The ops simulator: flights move through their day by plain UPDATEs, deterministically."""

from __future__ import annotations

import asyncio
import itertools
from collections import Counter
from collections.abc import AsyncIterator, Callable
from datetime import timedelta

import asyncpg
import pytest

from devtools.gates import GateUse, assign_gates, conflicts
from devtools.rotations import assign_rotations, turn_time
from devtools.simulator import BLOCK_TAXI_ALLOWANCE, Fate, SimulatedChange, Simulator, fate_of
from foundation.database import create_pool
from tests.postgres import TestPostgres, with_database
from tests.waiting import eventually

SEED = 3


@pytest.fixture
async def pool(seeded_database_url: str) -> AsyncIterator[asyncpg.Pool]:
    """A pool on a fresh copy of the seeded schedule, its rotations and gates planned as
    the simulator plans them (so the rows a test reads are the ones it moves)."""
    pool = await create_pool(seeded_database_url, min_size=1, max_size=2)
    try:
        await _plan_days(pool)
        yield pool
    finally:
        await pool.close()


async def _plan_days(pool: asyncpg.Pool) -> None:
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    async with pool.acquire() as conn:
        for offset in range(-1, 9):
            day = first.date() + timedelta(days=offset)
            await assign_rotations(conn, day)
            await assign_gates(conn, day)


async def _flight(pool: asyncpg.Pool, wanted: Callable[[Fate], bool]) -> asyncpg.Record:
    """The earliest seeded flight whose fate (under SEED) is ``wanted`` and which is its
    aircraft's first leg (no inbound to pass a delay on)."""
    rows = await pool.fetch(
        """SELECT f.* FROM flights f JOIN flight_rotations r ON r.flight_id = f.id
           WHERE r.previous_flight_id IS NULL ORDER BY f.scheduled_departure, f.id"""
    )
    for row in rows:
        if wanted(fate_of(SEED, row["id"])):
            return row
    raise AssertionError("no seeded flight has that fate")


def _uneventful(fate: Fate) -> bool:
    return not (fate.cancelled or fate.delay or fate.gate_change or fate.diverted)


def _changes_of(changes: list[SimulatedChange], flight_id: int) -> list[SimulatedChange]:
    return [c for c in changes if c.flight_id == flight_id]


async def test_a_flight_due_for_boarding_boards_at_its_gate(pool: asyncpg.Pool) -> None:
    flight = await _flight(pool, _uneventful)
    fate = fate_of(SEED, flight["id"])
    simulator = Simulator(pool, seed=SEED)
    boarding_at = flight["scheduled_departure"] - fate.boarding_lead

    assert _changes_of(await simulator.step(boarding_at - timedelta(minutes=1)), flight["id"]) == []
    changes = _changes_of(await simulator.step(boarding_at + timedelta(minutes=1)), flight["id"])

    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "boarding"
    assert row["departure_gate"] == flight["departure_gate"] is not None
    assert row["actual_departure"] is None
    assert row["version"] == flight["version"] + 1
    assert [(c.status, c.kinds, c.version) for c in changes] == [
        ("boarding", ("boarding",), row["version"])
    ]


async def test_boarding_assigns_a_gate_when_none_was_planned(pool: asyncpg.Pool) -> None:
    flight = await _flight(pool, _uneventful)
    await pool.execute("UPDATE flights SET departure_gate = NULL WHERE id = $1", flight["id"])
    await Simulator(pool, seed=SEED).step(flight["scheduled_departure"])
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "boarding"
    assert row["departure_gate"]


async def test_departure_landing_and_arrival_set_actual_times(pool: asyncpg.Pool) -> None:
    """Off-block and on-block are the departure and arrival; take-off and landing are
    their own times, so an on-time flight leaves the gate on time."""
    flight = await _flight(pool, _uneventful)
    fate = fate_of(SEED, flight["id"])
    simulator = Simulator(pool, seed=SEED)
    off_block = flight["scheduled_departure"] + fate.pushback
    took_off = off_block + fate.taxi_out
    block = flight["scheduled_arrival"] - flight["scheduled_departure"]
    landed = took_off + block - BLOCK_TAXI_ALLOWANCE + fate.block_error
    on_block = landed + fate.taxi_in
    minute = timedelta(minutes=1)

    await simulator.step(off_block - fate.boarding_lead)
    await simulator.step(off_block + minute)
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "departed"
    assert (row["actual_departure"], row["actual_takeoff"]) == (off_block, took_off)
    assert abs(row["actual_departure"] - flight["scheduled_departure"]) <= timedelta(minutes=5)
    assert row["estimated_arrival"] == on_block
    assert row["actual_arrival"] is None
    departed_version = row["version"]

    await simulator.step(landed + minute)
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "landed"
    assert row["actual_landing"] == landed > row["actual_takeoff"]
    assert row["actual_arrival"] is None
    assert row["version"] == departed_version + 1

    await simulator.step(on_block + minute)
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "arrived"
    assert row["actual_arrival"] == on_block > row["actual_landing"]
    assert row["arrival_gate"]
    assert row["baggage_belt"]
    assert row["version"] == departed_version + 2


async def test_a_late_start_catches_a_flight_up_in_one_write(pool: asyncpg.Pool) -> None:
    flight = await _flight(pool, _uneventful)
    changes = await Simulator(pool, seed=SEED, max_writes=5000).step(
        flight["scheduled_arrival"] + timedelta(hours=2)
    )
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "arrived"
    assert row["actual_departure"] < row["actual_arrival"]
    assert row["arrival_gate"]
    assert row["version"] == flight["version"] + 1
    assert [c.kinds for c in _changes_of(changes, flight["id"])] == [("arrived",)]


async def test_a_delay_sets_later_estimated_times_and_postpones_boarding(
    pool: asyncpg.Pool,
) -> None:
    flight = await _flight(pool, lambda f: len(f.estimates) == 1 and not f.cancelled)
    fate = fate_of(SEED, flight["id"])
    simulator = Simulator(pool, seed=SEED)
    departure = flight["scheduled_departure"]

    changes = await simulator.step(departure - fate.announce_lead + timedelta(minutes=1))
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "scheduled"
    assert row["estimated_departure"] == departure + fate.delay > departure
    assert row["estimated_arrival"] == flight["scheduled_arrival"] + fate.delay
    assert row["version"] == flight["version"] + 1
    assert "delayed" in _changes_of(changes, flight["id"])[0].kinds

    # The scheduled boarding time has come, but the delayed flight is not boarding yet.
    await simulator.step(departure - fate.boarding_lead + timedelta(minutes=1))
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "scheduled"
    await simulator.step(departure + fate.delay - fate.boarding_lead + timedelta(minutes=1))
    assert await pool.fetchval("SELECT status FROM flights WHERE id = $1", flight["id"]) == (
        "boarding"
    )


async def test_a_delay_is_announced_then_revised_as_the_departure_nears(
    pool: asyncpg.Pool,
) -> None:
    flight = await _flight(
        pool, lambda f: len(f.estimates) > 1 and not (f.cancelled or f.gate_change)
    )
    fate = fate_of(SEED, flight["id"])
    simulator = Simulator(pool, seed=SEED)
    departure = flight["scheduled_departure"]
    announced = departure - fate.announce_lead + timedelta(minutes=1)
    seen = []
    for minutes in range(0, int(fate.announce_lead.total_seconds() // 60), 5):
        changes = _changes_of(await simulator.step(announced + timedelta(minutes=minutes)),
                              flight["id"])  # fmt: skip
        if changes:
            estimated = await pool.fetchval(
                "SELECT estimated_departure FROM flights WHERE id = $1", flight["id"]
            )
            seen.append((changes[0].kinds[0], estimated - departure))
    assert seen == [
        ("delayed" if i == 0 else "delay_revised", delay) for i, delay in enumerate(fate.estimates)
    ]
    assert seen[-1][1] == fate.delay > seen[0][1]


async def test_a_gate_change_happens_once(pool: asyncpg.Pool) -> None:
    flight = await _flight(pool, lambda f: f.gate_change and not (f.cancelled or f.delay))
    fate = fate_of(SEED, flight["id"])
    simulator = Simulator(pool, seed=SEED)
    announced = flight["scheduled_departure"] - fate.announce_lead + timedelta(minutes=1)

    changes = _changes_of(await simulator.step(announced), flight["id"])
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["departure_gate"] != flight["departure_gate"]
    # Same pier, another gate: 'E59' becomes 'E<n>'.
    digits = "0123456789"
    assert row["departure_gate"].rstrip(digits) == flight["departure_gate"].rstrip(digits)
    assert [c.kinds for c in changes] == [("gate_changed",)]
    assert _changes_of(await simulator.step(announced + timedelta(minutes=5)), flight["id"]) == []
    version = await pool.fetchval("SELECT version FROM flights WHERE id = $1", flight["id"])
    assert version == row["version"]


async def test_a_cancellation_is_final(pool: asyncpg.Pool) -> None:
    flight = await _flight(pool, lambda f: f.cancelled)
    fate = fate_of(SEED, flight["id"])
    simulator = Simulator(pool, seed=SEED)

    await simulator.step(flight["scheduled_departure"] - fate.announce_lead)
    row = await pool.fetchrow("SELECT * FROM flights WHERE id = $1", flight["id"])
    assert row["status"] == "cancelled"
    assert row["actual_departure"] is None

    changes = await simulator.step(flight["scheduled_arrival"] + timedelta(hours=1))
    assert _changes_of(changes, flight["id"]) == []
    version = await pool.fetchval("SELECT version FROM flights WHERE id = $1", flight["id"])
    assert version == row["version"]


async def test_every_write_bumps_the_version_by_one(pool: asyncpg.Pool) -> None:
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    before = dict(await pool.fetch("SELECT id, version FROM flights"))
    changes = await Simulator(pool, seed=SEED, max_writes=5000).step(first + timedelta(hours=4))
    after = dict(await pool.fetch("SELECT id, version FROM flights"))
    assert len(changes) > 20
    assert {c.flight_id: c.version for c in changes} == {
        i: v for i, v in after.items() if v != before[i]
    }
    assert all(after[c.flight_id] == before[c.flight_id] + 1 for c in changes)


async def test_a_second_step_at_the_same_time_writes_nothing(pool: asyncpg.Pool) -> None:
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    simulator = Simulator(pool, seed=SEED, max_writes=5000)
    assert await simulator.step(first + timedelta(hours=6))
    assert await simulator.step(first + timedelta(hours=6)) == []


async def test_writes_are_capped_per_tick_and_the_backlog_drains(pool: asyncpg.Pool) -> None:
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    simulator = Simulator(pool, seed=SEED, max_writes=10)
    now = first + timedelta(hours=6)
    assert len(await simulator.step(now)) == 10
    ticks = 1
    while await simulator.step(now):
        ticks += 1
    assert ticks > 2


async def test_only_the_given_airports_are_simulated(pool: asyncpg.Pool) -> None:
    airport = await pool.fetchval(
        "SELECT origin FROM flights GROUP BY origin ORDER BY count(*) DESC, origin LIMIT 1"
    )
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    changes = await Simulator(pool, seed=SEED, airports=[airport.lower()]).step(
        first + timedelta(hours=12)
    )
    assert changes
    touched = await pool.fetch(
        "SELECT origin, destination FROM flights WHERE id = ANY($1::bigint[])",
        [c.flight_id for c in changes],
    )
    assert all(airport in (r["origin"], r["destination"]) for r in touched)


async def _step_and_read(
    pool: asyncpg.Pool, seed: int
) -> tuple[list[SimulatedChange], list[tuple[object, ...]]]:
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    changes = await Simulator(pool, seed=seed, max_writes=5000).step(first + timedelta(hours=8))
    rows = await pool.fetch(
        "SELECT id, status, version, estimated_departure, estimated_arrival, actual_departure,"
        " actual_arrival, departure_gate, arrival_gate, baggage_belt FROM flights ORDER BY id"
    )
    return changes, [tuple(r) for r in rows]


async def test_a_step_is_deterministic_for_a_fixed_seed(
    pool: asyncpg.Pool, postgres: TestPostgres, seeded_template: str
) -> None:
    other = await postgres.create_database(seeded_template)
    try:
        other_pool = await create_pool(
            with_database(postgres.admin_url, other), min_size=1, max_size=1
        )
        try:
            await _plan_days(other_pool)
            changes, rows = await _step_and_read(pool, seed=SEED)
            assert len(changes) > 20
            assert await _step_and_read(other_pool, seed=SEED) == (changes, rows)
        finally:
            await other_pool.close()
    finally:
        await postgres.drop_database(other)


async def test_another_seed_makes_other_disruptions(pool: asyncpg.Pool) -> None:
    ids = [r["id"] for r in await pool.fetch("SELECT id FROM flights ORDER BY id LIMIT 500")]
    delayed = {seed: {i for i in ids if fate_of(seed, i).delay} for seed in (1, 2)}
    assert delayed[1]
    assert delayed[2]
    assert delayed[1] != delayed[2]
    assert fate_of(1, ids[0]) == fate_of(1, ids[0])


async def test_run_ticks_until_stopped(pool: asyncpg.Pool) -> None:
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    stop = asyncio.Event()
    simulator = Simulator(pool, seed=SEED, speed=3600.0)  # an hour a second
    task = asyncio.create_task(simulator.run(stop, interval=0.05, start=first))

    async def moved() -> bool:
        count = await pool.fetchval("SELECT count(*) FROM flights WHERE status <> 'scheduled'")
        return bool(count > 0)

    await eventually(moved, what="the simulator moving a flight")
    stop.set()
    await asyncio.wait_for(task, timeout=10)


def test_speed_must_be_positive() -> None:
    with pytest.raises(ValueError, match="speed"):
        Simulator(None, speed=0)  # type: ignore[arg-type]


async def test_a_simulated_day_has_rotations_revisions_diversions_and_no_gate_conflicts(
    pool: asyncpg.Pool,
) -> None:
    """Three simulated days in ten-minute ticks, then the day's record is checked as an
    operations analyst would: late inbound aircraft delay their next legs, estimates get
    revised, some flights divert (and fly on from the alternate), no gate holds two
    departures within a turn time, and flights without a delay leave the gate on time."""
    first = await pool.fetchval("SELECT min(scheduled_departure) FROM flights")
    simulator = Simulator(pool, seed=SEED, max_writes=100_000, fetch_limit=100_000)
    kinds: Counter[str] = Counter()
    delayed: set[int] = set()
    knocked_on: set[int] = set()
    for tick in range(3 * 24 * 6):
        for change in await simulator.step(first + timedelta(minutes=10 * tick)):
            kinds.update(change.kinds)
            if "delayed" in change.kinds or "delay_revised" in change.kinds:
                delayed.add(change.flight_id)
            if "knock_on" in change.kinds:
                knocked_on.add(change.flight_id)
    window = (first, first + timedelta(days=3))

    assert kinds["delay_revised"] > 0
    share = len(knocked_on) / len(delayed)
    assert 0.05 < share < 0.8, (len(knocked_on), len(delayed))

    diverted = await pool.fetch(
        """SELECT f.id, f.destination, o.origin AS onward_from, o.destination AS onward_to
           FROM flights f
           JOIN flight_rotations r ON r.previous_flight_id = f.id
           JOIN flights o ON o.id = r.flight_id AND o.flight_number = f.flight_number
           WHERE f.status = 'diverted' AND f.scheduled_departure >= $1
             AND f.scheduled_departure < $2""",
        *window,
    )
    assert diverted
    for row in diverted:
        assert row["onward_from"] == row["destination"]  # from the alternate...
        assert row["onward_to"] != row["destination"]  # ...on to where it was going

    departures = await pool.fetch(
        """SELECT origin, departure_gate, aircraft_type,
                  coalesce(estimated_departure, scheduled_departure) AS at
           FROM flights
           WHERE status <> 'cancelled' AND departure_gate IS NOT NULL
             AND scheduled_departure >= $1 AND scheduled_departure < $2
           ORDER BY origin, departure_gate, at""",
        *window,
    )
    clashes = [
        (a["origin"], a["departure_gate"], a["at"], b["at"])
        for a, b in itertools.pairwise(departures)
        if (a["origin"], a["departure_gate"]) == (b["origin"], b["departure_gate"])
        and conflicts(GateUse(a["departure_gate"], a["at"], turn_time(a["aircraft_type"])),
                      GateUse(b["departure_gate"], b["at"], turn_time(b["aircraft_type"])))
    ]  # fmt: skip
    assert clashes == []

    punctual = await pool.fetch(
        """SELECT actual_departure - scheduled_departure AS late FROM flights
           WHERE estimated_departure IS NULL AND actual_departure IS NOT NULL
             AND scheduled_departure >= $1 AND scheduled_departure < $2""",
        *window,
    )
    assert len(punctual) > 100
    assert all(abs(r["late"]) <= timedelta(minutes=5) for r in punctual)
