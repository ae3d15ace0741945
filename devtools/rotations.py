"""Aircraft rotations: which airframe (tail number) flies each leg, one day at a time.

Schedules (generated or imported) say which aircraft *type* flies a leg, not which
aircraft. Operations need the chain: a late inbound aircraft delays its next departure,
and a cancelled leg leaves its aircraft where it is. For each UTC day this pairs every
departure with an aircraft of the carrier and type that is on the ground at the origin
and turned around in time (the one waiting longest), or brings in a new airframe; the
chains continue from the aircraft's positions at the end of the day before. The result
is written to ``flight_rotations``, so the simulator reads it like any other data.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from devtools.seed.reference import aircraft_by_code

# Minimum ground time between an arrival and the same airframe's next departure.
TURN_MINUTES = {"regional": 30, "narrowbody": 40, "widebody": 75}
DEFAULT_TURN_MINUTES = 45

# Registration prefixes by the carrier's country; others use the ICAO-style "X-".
_REGISTRATION = {"US": "N", "GB": "G-", "NL": "PH-", "AE": "A6-", "SG": "9V-", "IE": "EI-",
                 "MX": "XA-", "BR": "PR-", "AU": "VH-", "CA": "C-", "CH": "HB-", "TR": "TC-",
                 "IN": "VT-", "ZA": "ZS-", "CN": "B-"}  # fmt: skip


def turn_time(aircraft_type: str | None) -> timedelta:
    found = aircraft_by_code().get(aircraft_type or "")
    minutes = TURN_MINUTES.get(found.category, DEFAULT_TURN_MINUTES) if found else None
    return timedelta(minutes=minutes or DEFAULT_TURN_MINUTES)


def registration(country: str, carrier: str, serial: int) -> str:
    """A tail number in the style of the carrier's country: N312SB, G-KA0312."""
    prefix = _REGISTRATION.get(country, "X-")
    if prefix == "N":
        return f"N{serial}{carrier}"
    return f"{prefix}{carrier}{serial:04d}"


@dataclass(order=True)
class _Waiting:
    ready_at: datetime
    tail: str
    last_flight: int


_DAY_FLIGHTS = """
SELECT f.id, f.carrier, f.aircraft_type, f.origin, f.destination, f.scheduled_departure,
       f.scheduled_arrival, a.country
FROM flights f JOIN airlines a ON a.code = f.carrier
WHERE f.scheduled_departure >= $1 AND f.scheduled_departure < $2
  AND NOT EXISTS (SELECT 1 FROM flight_rotations r WHERE r.flight_id = f.id)
ORDER BY f.scheduled_departure, f.id
"""

# Where each airframe was last seen before the day: its latest leg in the two days before.
_POSITIONS = """
SELECT DISTINCT ON (r.tail_number) r.tail_number, r.flight_id, f.carrier, f.aircraft_type,
       f.destination, coalesce(f.actual_arrival, f.scheduled_arrival) AS arrival
FROM flight_rotations r JOIN flights f ON f.id = r.flight_id
WHERE f.scheduled_departure >= $1::timestamptz - interval '2 days'
  AND f.scheduled_departure < $1
ORDER BY r.tail_number, f.scheduled_departure DESC
"""

_SERIALS = "SELECT carrier, max(serial) AS serial FROM airframes GROUP BY carrier"

_NEW_AIRFRAMES = """
INSERT INTO airframes (tail_number, carrier, aircraft_type, serial)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::int[])
"""

_INSERT = """
INSERT INTO flight_rotations (flight_id, tail_number, previous_flight_id)
SELECT * FROM unnest($1::bigint[], $2::text[], $3::bigint[])
ON CONFLICT (flight_id) DO NOTHING
"""


async def assign_rotations(conn: asyncpg.Connection, day: date) -> int:
    """Give every leg departing on UTC ``day`` that has none a tail and its previous leg;
    returns how many legs were assigned."""
    start = datetime.combine(day, time(0), tzinfo=UTC)
    async with conn.transaction():
        # One assigner per day at a time: two simulators must not chain one leg twice.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('flight_rotations'), $1)",
                           day.toordinal())  # fmt: skip
        flights = await conn.fetch(_DAY_FLIGHTS, start, start + timedelta(days=1))
        if not flights:
            return 0
        # (carrier, type, airport) -> airframes on the ground there, first ready first.
        ground: dict[tuple[str, str, str], list[_Waiting]] = defaultdict(list)
        for p in await conn.fetch(_POSITIONS, start):
            key = (p["carrier"], p["aircraft_type"] or "", p["destination"])
            ready = p["arrival"] + turn_time(p["aircraft_type"])
            heapq.heappush(ground[key], _Waiting(ready, p["tail_number"], p["flight_id"]))
        serials = {r["carrier"].strip(): r["serial"] for r in await conn.fetch(_SERIALS)}
        airframes: list[tuple[str, str, str | None, int]] = []
        ids, tails, previous = [], [], []
        for f in flights:
            carrier, kind = f["carrier"], f["aircraft_type"] or ""
            waiting = ground[(carrier, kind, f["origin"])]
            if waiting and waiting[0].ready_at <= f["scheduled_departure"]:
                plane = heapq.heappop(waiting)
                tail, before = plane.tail, plane.last_flight
            else:  # no aircraft of the type there in time: another airframe enters service
                serial = serials[carrier] = serials.get(carrier, 100) + 1
                tail, before = registration(f["country"], carrier, serial), None
                airframes.append((tail, carrier, f["aircraft_type"], serial))
            ids.append(f["id"])
            tails.append(tail)
            previous.append(before)
            ready = f["scheduled_arrival"] + turn_time(kind)
            heapq.heappush(
                ground[(carrier, kind, f["destination"])], _Waiting(ready, tail, f["id"])
            )
        if airframes:
            await conn.execute(
                _NEW_AIRFRAMES, *(list(column) for column in zip(*airframes, strict=True))
            )
        await conn.execute(_INSERT, ids, tails, previous)
    return len(ids)
