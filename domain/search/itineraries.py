"""Itineraries of one slice: direct legs and connections of up to two stops.

Three indexed range queries fetch the candidate legs (out of the origin on the
local day, into the destination, and for two stops the legs between); the
joins happen here, where the connection rules are plain code: minimum
connection time (the connecting airport's published time for a domestic or
international arrival and departure, else the configured defaults; more when
changing airport within a city), maximum layover, and no airport visited twice.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import asyncpg

from domain.reference import ReferenceData
from domain.times import zone

# Countries of the Schengen area: no passport control between them, so a leg between two
# of them connects like a domestic one at their airports.
SCHENGEN = frozenset({
    "AT", "BE", "BG", "CH", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IS",
    "IT", "LI", "LT", "LU", "LV", "MT", "NL", "NO", "PL", "PT", "RO", "SE", "SI", "SK",
})  # fmt: skip


def leg_status(airport_country: str, other_end_country: str) -> str:
    """'D' when a leg at this airport is domestic for connecting (the same country, or
    both in the Schengen area), else 'I'."""
    if airport_country == other_end_country or (
        airport_country in SCHENGEN and other_end_country in SCHENGEN
    ):
        return "D"
    return "I"


@dataclass(frozen=True, slots=True)
class ConnectionRules:
    """Defaults where an airport publishes no minimum connection times."""

    domestic_minutes: int = 45
    international_minutes: int = 90
    # A connection that changes airport within a city (LHR to LGW) needs ground time too.
    airport_change_minutes: int = 120
    max_layover_minutes: int = 12 * 60


@dataclass(frozen=True, slots=True)
class Leg:
    id: int
    carrier: str
    number: int
    origin: str
    destination: str
    departure: datetime
    arrival: datetime
    aircraft: str | None
    seats: int
    fare_minor: int
    currency: str


@dataclass(frozen=True, slots=True)
class Itinerary:
    legs: tuple[Leg, ...]

    @property
    def departure(self) -> datetime:
        return self.legs[0].departure

    @property
    def arrival(self) -> datetime:
        return self.legs[-1].arrival

    @property
    def minutes(self) -> int:
        return int((self.arrival - self.departure).total_seconds() // 60)

    @property
    def stops(self) -> int:
        return len(self.legs) - 1

    @property
    def seats(self) -> int:
        return min(leg.seats for leg in self.legs)

    @property
    def key(self) -> str:
        return "-".join(str(leg.id) for leg in self.legs)

    def layovers(self) -> list[int]:
        return [
            int((b.departure - a.arrival).total_seconds() // 60)
            for a, b in itertools.pairwise(self.legs)
        ]


_LEG_COLUMNS = """
    f.id, f.carrier, f.flight_number, f.origin, f.destination, f.scheduled_departure,
    f.scheduled_arrival, f.aircraft_type, c.capacity - c.seats_sold AS seats,
    c.base_fare_minor, c.currency
"""

# Bookable legs only: scheduled (not boarding, gone or cancelled), seats for everyone.
_BOOKABLE = "f.status = 'scheduled' AND c.capacity - c.seats_sold >= $5"

# Range scan on flights (origin, scheduled_departure).
_FROM_ORIGIN = f"""
SELECT {_LEG_COLUMNS}
FROM flights f JOIN flight_cabins c ON c.flight_id = f.id AND c.cabin = $4
WHERE f.origin = $1 AND f.scheduled_departure >= $2 AND f.scheduled_departure < $3
  AND {_BOOKABLE}
"""

# Range scan on flights (destination, scheduled_arrival).
_INTO_DESTINATION = f"""
SELECT {_LEG_COLUMNS}
FROM flights f JOIN flight_cabins c ON c.flight_id = f.id AND c.cabin = $4
WHERE f.destination = $1 AND f.scheduled_arrival >= $2 AND f.scheduled_arrival < $3
  AND {_BOOKABLE}
"""

# Index probes on flights (origin, destination, scheduled_departure) per pair.
_BETWEEN = f"""
SELECT {_LEG_COLUMNS}
FROM flights f JOIN flight_cabins c ON c.flight_id = f.id AND c.cabin = $4
WHERE f.origin = ANY($1::char(3)[]) AND f.destination = ANY($6::char(3)[])
  AND f.scheduled_departure >= $2 AND f.scheduled_departure < $3
  AND {_BOOKABLE}
LIMIT 20000
"""


def _leg(row: asyncpg.Record) -> Leg:
    return Leg(
        id=row["id"],
        carrier=row["carrier"].strip(),
        number=row["flight_number"],
        origin=row["origin"],
        destination=row["destination"],
        departure=row["scheduled_departure"],
        arrival=row["scheduled_arrival"],
        aircraft=row["aircraft_type"],
        seats=row["seats"],
        fare_minor=row["base_fare_minor"],
        currency=row["currency"],
    )


def local_day(on: date, time_zone: str) -> tuple[datetime, datetime]:
    """UTC bounds of a local calendar day (23 or 25 hours long on DST days)."""
    tz = zone(time_zone)
    start = datetime.combine(on, time(0), tzinfo=tz)
    end = datetime.combine(on + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(UTC), end.astimezone(UTC)


class _ByOrigin:
    """Legs grouped by origin, each group sorted by departure, for window lookups."""

    def __init__(self, legs: Iterable[Leg]) -> None:
        groups: dict[str, list[Leg]] = {}
        for leg in legs:
            groups.setdefault(leg.origin, []).append(leg)
        self._legs = {
            k: sorted(v, key=lambda leg: (leg.departure, leg.id)) for k, v in groups.items()
        }
        self._times = {k: [leg.departure for leg in v] for k, v in self._legs.items()}

    def origins(self) -> set[str]:
        return set(self._legs)

    def departing(self, airports: Iterable[str], start: datetime, end: datetime) -> list[Leg]:
        found = []
        for airport in airports:
            times = self._times.get(airport)
            if times:
                legs = self._legs[airport]
                found += legs[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]
        return found


class SliceSearch:
    """Finds the itineraries of one slice; each query is one round trip."""

    def __init__(
        self,
        conn: asyncpg.Connection | asyncpg.Pool,
        ref: ReferenceData,
        rules: ConnectionRules,
        *,
        cabin: str,
        seats: int,
    ) -> None:
        self.conn = conn
        self.ref = ref
        self.rules = rules
        self.cabin = cabin
        self.seats = seats
        # The shortest connection any rule allows: candidates within the window after a
        # leg are then checked one by one.
        self._shortest = timedelta(
            minutes=min(rules.domestic_minutes, rules.international_minutes,
                        *ref.connection_minutes.values())
        )  # fmt: skip
        self._longest = timedelta(minutes=rules.max_layover_minutes)
        # A search checks thousands of pairs of legs over a few hundred routes: each
        # route pair's minimum connection is worked out once.
        self._minimums: dict[tuple[str, str, str, str], timedelta] = {}

    def _minimum_connection(self, arriving: Leg, departing: Leg) -> timedelta:
        key = (arriving.origin, arriving.destination, departing.origin, departing.destination)
        found = self._minimums.get(key)
        if found is None:
            found = self._minimums[key] = self._work_out_minimum(arriving, departing)
        return found

    def _work_out_minimum(self, arriving: Leg, departing: Leg) -> timedelta:
        airports = self.ref.airports
        here = airports[arriving.destination].country
        inbound = leg_status(here, airports[arriving.origin].country)
        outbound = leg_status(airports[departing.origin].country,
                              airports[departing.destination].country)  # fmt: skip
        published = self.ref.connection_minutes.get((arriving.destination, inbound, outbound))
        if published is not None:
            minutes = published
        elif inbound == outbound == "D":
            minutes = self.rules.domestic_minutes
        else:
            minutes = self.rules.international_minutes
        if departing.origin != arriving.destination:
            minutes += self.rules.airport_change_minutes
        return timedelta(minutes=minutes)

    def _connects(self, arriving: Leg, departing: Leg) -> bool:
        layover = departing.departure - arriving.arrival
        return self._minimum_connection(arriving, departing) <= layover <= self._longest

    def _window_after(self, leg: Leg) -> tuple[datetime, datetime]:
        return leg.arrival + self._shortest, leg.arrival + self._longest

    async def _fetch(self, query: str, *args: object) -> list[Leg]:
        rows = await self.conn.fetch(query, *args)
        return [_leg(row) for row in rows]

    async def direct_and_one_stop(
        self, origin: str, destination: str, on: date, max_connections: int
    ) -> tuple[list[Itinerary], list[Leg], _ByOrigin | None]:
        start, end = local_day(on, self.ref.airports[origin].time_zone)
        first = await self._fetch(_FROM_ORIGIN, origin, start, end, self.cabin, self.seats)
        found = [Itinerary((leg,)) for leg in first if leg.destination == destination]
        if max_connections < 1:
            return found, first, None
        latest = end + timedelta(minutes=self.rules.max_layover_minutes * max_connections + 36 * 60)
        last = _ByOrigin(
            await self._fetch(_INTO_DESTINATION, destination, start, latest, self.cabin, self.seats)
        )
        for a in first:
            if a.destination == destination:
                continue
            lo, hi = self._window_after(a)
            for b in last.departing(self.ref.same_city(a.destination), lo, hi):
                if b.destination == destination and b.origin != origin and self._connects(a, b):
                    found.append(Itinerary((a, b)))
        return found, first, last

    async def two_stop(
        self, origin: str, destination: str, on: date, first: list[Leg], last: _ByOrigin
    ) -> list[Itinerary]:
        start, end = local_day(on, self.ref.airports[origin].time_zone)
        via_first = {
            code
            for leg in first
            if leg.destination != destination
            for code in self.ref.same_city(leg.destination)
        }
        via_last = last.origins() - {origin}
        via_first.discard(origin)
        if not via_first or not via_last:
            return []
        latest = end + timedelta(minutes=self.rules.max_layover_minutes + 24 * 60)
        middle = _ByOrigin(
            await self._fetch(
                _BETWEEN, sorted(via_first), start, latest, self.cabin, self.seats, sorted(via_last)
            )
        )
        found = []
        for a in first:
            if a.destination == destination:
                continue
            lo, hi = self._window_after(a)
            for m in middle.departing(self.ref.same_city(a.destination), lo, hi):
                if m.destination in (origin, destination, a.origin, a.destination):
                    continue
                if not self._connects(a, m):
                    continue
                lo2, hi2 = self._window_after(m)
                for b in last.departing(self.ref.same_city(m.destination), lo2, hi2):
                    if b.destination != destination or b.origin in (origin, a.destination):
                        continue
                    if self._connects(m, b):
                        found.append(Itinerary((a, m, b)))
        return found
